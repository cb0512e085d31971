/* What an error of rtmp2sink, pushing to another RTMP server, means. */
#include "spacecast/rtmp.h"

#include <gst/gst.h>
#include <string.h>

gboolean
sc_rtmp_push_error_is_refusal (const GError *e)
{
  if (!e)
    return FALSE;
  if (g_error_matches (e, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED))
    return TRUE;
  /* rtmp2sink 1.22 reports NetStream.Publish.BadName as RESOURCE/FAILED
   * "Failed to connect: publish denied; stream already exists: {...}" and
   * NetStream.Publish.Denied as RESOURCE/NOT_AUTHORIZED "Not authorized to
   * connect: publish denied: {...}"; a refused connect command carries the
   * server's NetConnection.Connect.Rejected in the dump; our own ingest says
   * NetStream.Publish.Unauthorized for a disabled stream. */
  static const char *const marks[] = {
    "publish denied", "NetStream.Publish.BadName", "NetStream.Publish.Denied",
    "NetStream.Publish.Unauthorized",
    "NetConnection.Connect.Rejected",
  };
  for (guint i = 0; i < G_N_ELEMENTS (marks); i++)
    if (e->message && strstr (e->message, marks[i]))
      return TRUE;
  return FALSE;
}
