/* SDP rules of the WHIP engine, pure functions over GstSDPMessage: what an
 * acceptable offer is, whether webrtcbin's answer serves it, and repairs of
 * 1.22 answers. */
#include "whip-private.h"
#include "spacecast/core.h"

#include <string.h>

/* Whether an rtpmap attribute names a codec we decode. */
static gboolean
codec_from_rtpmap (const GstSDPAttribute *a)
{
  const char *sp;
  g_autofree char *name = NULL;

  if (g_strcmp0 (a->key, "rtpmap") != 0 || a->value == NULL ||
      (sp = strchr (a->value, ' ')) == NULL)
    return FALSE;
  name = g_strndup (sp + 1, strcspn (sp + 1, "/"));
  return sc_whip_codec_supported (name);
}

/* WHIP carries one MediaStream: at most one audio and one video m-line, each
 * with a codec we can decode.  Reject anything else before touching
 * webrtcbin so that a bad POST costs nothing. */
gboolean
sc_whip_sdp_check_offer (const GstSDPMessage *offer, gboolean *has_video,
                         gboolean *has_audio, GError **error)
{
  guint n = gst_sdp_message_medias_len (offer);

  *has_video = *has_audio = FALSE;
  if (n == 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "offer has no media");
    return FALSE;
  }
  for (guint i = 0; i < n; i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (offer, i);
    const char *kind = gst_sdp_media_get_media (m);
    gboolean *seen, codec_ok = FALSE;

    if (g_strcmp0 (kind, "video") == 0)
      seen = has_video;
    else if (g_strcmp0 (kind, "audio") == 0)
      seen = has_audio;
    else {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "unsupported m-line '%s'", kind ? kind : "");
      return FALSE;
    }
    if (*seen) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "more than one %s m-line", kind);
      return FALSE;
    }
    *seen = TRUE;
    for (guint j = 0; j < gst_sdp_media_attributes_len (m); j++)
      codec_ok |= codec_from_rtpmap (gst_sdp_media_get_attribute (m, j));
    if (!codec_ok) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "no supported codec offered for %s (VP8, H264, Opus)", kind);
      return FALSE;
    }
  }
  return TRUE;
}

/* The answer must serve every offered m-line with a codec we decode;
 * 1.22 answers an unservable m-line with port 0 instead of failing. */
gboolean
sc_whip_sdp_check_answer (const GstSDPMessage *answer, GError **error)
{
  for (guint i = 0; i < gst_sdp_message_medias_len (answer); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (answer, i);
    gboolean ok = FALSE;

    if (gst_sdp_media_get_port (m) == 0) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "offered %s m-line cannot be received", gst_sdp_media_get_media (m));
      return FALSE;
    }
    for (guint j = 0; j < gst_sdp_media_attributes_len (m); j++)
      ok |= codec_from_rtpmap (gst_sdp_media_get_attribute (m, j));
    if (!ok) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "no supported codec for %s", gst_sdp_media_get_media (m));
      return FALSE;
    }
  }
  return TRUE;
}

static const char *
find_fmtp (const GstSDPMedia *m, const char *pt, guint *index)
{
  gsize len = strlen (pt);

  for (guint j = 0; m != NULL && j < gst_sdp_media_attributes_len (m); j++) {
    const GstSDPAttribute *a = gst_sdp_media_get_attribute (m, j);

    if (g_strcmp0 (a->key, "fmtp") == 0 && a->value != NULL &&
        strncmp (a->value, pt, len) == 0 && a->value[len] == ' ') {
      if (index != NULL)
        *index = j;
      return a->value + len + 1;
    }
  }
  return NULL;
}

/* 1.22 drops H.264 profile-level-id from answers when the offer carries
 * level-asymmetry-allowed (notes §1.2), and strict clients reject that.
 * Put back the offer's value for the chosen payload type. */
void
sc_whip_sdp_restore_h264_profile (GstSDPMessage *answer, const GstSDPMessage *offer)
{
  for (guint i = 0; i < gst_sdp_message_medias_len (answer); i++) {
    GstSDPMedia *m = (GstSDPMedia *) gst_sdp_message_get_media (answer, i);
    const GstSDPMedia *om = i < gst_sdp_message_medias_len (offer)
                            ? gst_sdp_message_get_media (offer, i) : NULL;

    for (guint j = 0; j < gst_sdp_media_attributes_len (m); j++) {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (m, j);
      g_autofree char *pt = NULL;
      g_autofree char *plid = NULL;
      g_autofree char *value = NULL;
      const char *params, *offered, *sp;
      GstSDPAttribute attr;
      guint index = 0;

      if (g_strcmp0 (a->key, "rtpmap") != 0 || a->value == NULL ||
          (sp = strchr (a->value, ' ')) == NULL ||
          g_ascii_strncasecmp (sp + 1, "H264/", 5) != 0)
        continue;
      pt = g_strndup (a->value, sp - a->value);
      params = find_fmtp (m, pt, &index);
      if (params != NULL && strstr (params, "profile-level-id") != NULL)
        continue;
      offered = find_fmtp (om, pt, NULL);
      offered = offered ? strstr (offered, "profile-level-id=") : NULL;
      plid = offered ? g_strndup (offered + 17, strcspn (offered + 17, "; \r\n"))
                     : g_strdup ("42e01f");
      value = params ? g_strdup_printf ("%s %s;profile-level-id=%s", pt, params, plid)
                     : g_strdup_printf ("%s profile-level-id=%s", pt, plid);
      gst_sdp_attribute_set (&attr, "fmtp", value);
      if (params != NULL)
        gst_sdp_media_replace_attribute (m, index, &attr);
      else
        gst_sdp_media_add_attribute (m, "fmtp", value);
      if (params == NULL)
        gst_sdp_attribute_clear (&attr);
      break;
    }
  }
}


guint
sc_whip_sdp_answer_tracks (const GstSDPMessage *answer, ScWhipSendTrack *tracks)
{
  guint n = 0;

  for (guint i = 0; i < gst_sdp_message_medias_len (answer) && n < 2; i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (answer, i);
    const char *pt = gst_sdp_media_formats_len (m) > 0 ? gst_sdp_media_get_format (m, 0) : NULL;
    ScWhipSendTrack t = { 0 };
    const char *fmtp, *plid;

    if (pt == NULL || gst_sdp_media_get_port (m) == 0)
      continue;
    t.kind = g_strcmp0 (gst_sdp_media_get_media (m), "audio") == 0 ? SC_WHIP_TRACK_AUDIO
                                                                   : SC_WHIP_TRACK_VIDEO;
    for (guint j = 0; j < gst_sdp_media_attributes_len (m); j++) {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (m, j);
      gsize len = strlen (pt);

      if (g_strcmp0 (a->key, "rtpmap") == 0 && a->value != NULL &&
          strncmp (a->value, pt, len) == 0 && a->value[len] == ' ') {
        g_strlcpy (t.codec, a->value + len + 1, MIN (sizeof t.codec,
                   strcspn (a->value + len + 1, "/") + 1));
        break;
      }
    }
    for (char *c = t.codec; *c; c++)
      *c = g_ascii_toupper (*c);
    if (!sc_whip_codec_supported (t.codec))
      continue;
    fmtp = find_fmtp (m, pt, NULL);
    plid = fmtp ? strstr (fmtp, "profile-level-id=") : NULL;
    if (plid != NULL)
      g_strlcpy (t.profile_level_id, plid + 17, MIN (sizeof t.profile_level_id,
                 strcspn (plid + 17, "; \r\n") + 1));
    tracks[n++] = t;
  }
  return n;
}
