/* An srt:// target: libsrt as a caller, connecting without blocking (the
 * owner polls the socket's state, so the main loop never waits on a
 * handshake), and a GStreamer tail that turns the target's FLV tags back
 * into elementary streams (flvdemux, h264parse for Annex B) and muxes them
 * into MPEG-TS for the socket: the same H.264 and AAC, no decode, no
 * encode.  Like src/srt, no SRT protocol of our own: libsrt does it. */
#include "simulcast-private.h"
#include "spacecast/core.h"

#include <gio/gio.h>
#include <gst/app/gstappsink.h>
#include <srt/srt.h>
#include <string.h>

/* Seven TS packets: what one SRT live-mode message carries by default. */
#define TS_CHUNK (7 * 188)
/* A send that waits longer drops its chunk: a target that takes less than
 * the encoder sends gets holes rather than holding the pipeline. */
#define SEND_TIMEOUT_MS 1000
#define CONNECT_TIMEOUT_MS 3000

struct _ScSimulcastSrt {
  guint refs;                 /* the owner, and a lookup in flight */
  char *host, *streamid, *passphrase;
  guint16 port;
  GCancellable *cancel;
  SRTSOCKET sock;
  char *error;                /* resolving or creating the socket failed */
  gint sent;                  /* atomic */
};

static void
srt_unref (ScSimulcastSrt *o)
{
  if (--o->refs)
    return;
  if (o->sock != SRT_INVALID_SOCK)
    srt_close (o->sock);
  g_object_unref (o->cancel);
  g_free (o->host);
  g_free (o->streamid);
  g_free (o->passphrase);
  g_free (o->error);
  g_free (o);
}

static void
start_connect (ScSimulcastSrt *o, GInetAddress *addr)
{
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (addr, o->port);
  struct sockaddr_storage ss;
  gsize len = g_socket_address_get_native_size (sa);
  if (!g_socket_address_to_native (sa, &ss, sizeof ss, NULL)) {
    o->error = g_strdup ("cannot use the target's address");
    return;
  }
  int no = 0, yes = 1, send_timeout = SEND_TIMEOUT_MS, connect_timeout = CONNECT_TIMEOUT_MS;
  o->sock = srt_create_socket ();
  gboolean ok = o->sock != SRT_INVALID_SOCK &&
      srt_setsockflag (o->sock, SRTO_RCVSYN, &no, sizeof no) != SRT_ERROR &&
      srt_setsockflag (o->sock, SRTO_SNDSYN, &yes, sizeof yes) != SRT_ERROR &&
      srt_setsockflag (o->sock, SRTO_SNDTIMEO, &send_timeout, sizeof send_timeout) != SRT_ERROR &&
      srt_setsockflag (o->sock, SRTO_CONNTIMEO, &connect_timeout,
                       sizeof connect_timeout) != SRT_ERROR &&
      (!o->streamid || srt_setsockflag (o->sock, SRTO_STREAMID, o->streamid,
                                        strlen (o->streamid)) != SRT_ERROR) &&
      (!o->passphrase || srt_setsockflag (o->sock, SRTO_PASSPHRASE, o->passphrase,
                                          strlen (o->passphrase)) != SRT_ERROR) &&
      srt_connect (o->sock, (struct sockaddr *) &ss, len) != SRT_ERROR;
  if (!ok)
    o->error = g_strdup_printf ("cannot connect: %s", srt_getlasterror_str ());
}

static void
on_resolved (GObject *resolver, GAsyncResult *res, gpointer data)
{
  ScSimulcastSrt *o = data;
  g_autoptr (GError) error = NULL;
  GList *addrs = g_resolver_lookup_by_name_finish (G_RESOLVER (resolver), res, &error);
  if (!g_cancellable_is_cancelled (o->cancel)) {
    if (addrs)
      start_connect (o, addrs->data);
    else
      o->error = g_strdup_printf ("cannot resolve %s: %s", o->host, error->message);
  }
  g_resolver_free_addresses (addrs);
  srt_unref (o);
}

ScSimulcastSrt *
sc_simulcast_srt_new (const ScModelSrtUrl *url)
{
  ScSimulcastSrt *o = g_new0 (ScSimulcastSrt, 1);
  o->refs = 2;
  o->sock = SRT_INVALID_SOCK;
  o->host = g_strdup (url->host);
  o->port = url->port;
  o->streamid = g_strdup (url->streamid);
  o->passphrase = g_strdup (url->passphrase);
  o->cancel = g_cancellable_new ();
  g_autoptr (GResolver) resolver = g_resolver_get_default ();
  g_resolver_lookup_by_name_async (resolver, o->host, o->cancel, on_resolved, o);
  return o;
}

/* Refusals worth no retry for this asset: the listener checked the
 * credentials and said no. */
static gboolean
is_refusal (int reason)
{
  return reason == SRT_REJ_BADSECRET || reason == SRT_REJ_UNSECURE ||
      reason == SRT_REJC_PREDEFINED + 401 || reason == SRT_REJC_PREDEFINED + 403 ||
      reason == SRT_REJC_PREDEFINED + 404;
}

ScSimulcastSrtState
sc_simulcast_srt_state (ScSimulcastSrt *o, char **why)
{
  if (o->error) {
    if (why)
      *why = g_strdup (o->error);
    return SC_SIMULCAST_SRT_FAILED;
  }
  if (o->sock == SRT_INVALID_SOCK)
    return SC_SIMULCAST_SRT_CONNECTING;
  SRT_SOCKSTATUS st = srt_getsockstate (o->sock);
  if (st == SRTS_CONNECTED)
    return SC_SIMULCAST_SRT_CONNECTED;
  if (st == SRTS_INIT || st == SRTS_OPENED || st == SRTS_CONNECTING)
    return SC_SIMULCAST_SRT_CONNECTING;
  int reason = srt_getrejectreason (o->sock);
  if (why) {
    if (reason >= SRT_REJC_PREDEFINED)
      *why = g_strdup_printf ("the listener rejected the connection (%d)", reason);
    else
      *why = g_strdup_printf ("connection failed: %s", srt_rejectreason_str (reason));
  }
  return is_refusal (reason) ? SC_SIMULCAST_SRT_REFUSED : SC_SIMULCAST_SRT_FAILED;
}

static GstFlowReturn
on_sample (GstAppSink *sink, gpointer data)
{
  ScSimulcastSrt *o = data;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstMapInfo map;
  if (!buf || !gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_FLOW_OK;
  GstFlowReturn ret = GST_FLOW_OK;
  for (gsize pos = 0; pos < map.size; pos += TS_CHUNK) {
    int n = (int) MIN (TS_CHUNK, map.size - pos);
    if (srt_sendmsg2 (o->sock, (const char *) map.data + pos, n, NULL) != SRT_ERROR) {
      g_atomic_int_set (&o->sent, 1);
      continue;
    }
    if (srt_getlasterror (NULL) == SRT_EASYNCSND)
      continue;
    GST_ELEMENT_ERROR (sink, RESOURCE, WRITE, ("SRT connection lost: %s",
                       srt_getlasterror_str ()), (NULL));
    ret = GST_FLOW_ERROR;
    break;
  }
  gst_buffer_unmap (buf, &map);
  return ret;
}

/* flvdemux makes its pads as the first tags come: the target is sent the
 * sequence headers first, so both exist before the first frame. */
static void
on_pad_added (GstElement *demux, GstPad *pad, gpointer data)
{
  GstBin *bin = data;
  gboolean video = g_str_equal (GST_PAD_NAME (pad), "video");
  if (!video && !g_str_equal (GST_PAD_NAME (pad), "audio"))
    return;
  g_autoptr (GstElement) mux = gst_bin_get_by_name (bin, "mux");
  GstElement *queue = gst_element_factory_make ("queue", NULL);
  GstElement *parse = video ? gst_element_factory_make ("h264parse", NULL) : NULL;
  if (!queue || (video && !parse)) {
    GST_ELEMENT_ERROR (demux, CORE, MISSING_PLUGIN, ("queue or h264parse is missing"), (NULL));
    g_clear_object (&queue);
    g_clear_object (&parse);
    return;
  }
  gst_bin_add (bin, queue);
  GstElement *last = queue;
  if (parse) {
    gst_bin_add (bin, parse);
    gst_element_link (queue, parse);
    last = parse;
  }
  g_autoptr (GstPad) sink = gst_element_get_static_pad (queue, "sink");
  if (!gst_element_link (last, mux) || gst_pad_link (pad, sink) != GST_PAD_LINK_OK) {
    GST_ELEMENT_ERROR (demux, CORE, NEGOTIATION, ("cannot mux the %s into MPEG-TS",
                       video ? "video" : "audio"), (NULL));
    return;
  }
  if (parse)
    gst_element_sync_state_with_parent (parse);
  gst_element_sync_state_with_parent (queue);
}

GstElement *
sc_simulcast_srt_bin (ScSimulcastSrt *o)
{
  GstElement *bin = gst_bin_new (NULL);
  GstElement *demux = gst_element_factory_make ("flvdemux", NULL);
  GstElement *mux = gst_element_factory_make ("mpegtsmux", "mux");
  GstElement *sink = gst_element_factory_make ("appsink", NULL);
  if (!demux || !mux || !sink) {
    g_clear_object (&demux);
    g_clear_object (&mux);
    g_clear_object (&sink);
    gst_object_unref (bin);
    return NULL;
  }
  /* Aligned to what one SRT message carries. */
  g_object_set (mux, "alignment", 7, NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, "max-buffers", 64, NULL);
  GstAppSinkCallbacks cb = { .new_sample = on_sample };
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, o, NULL);
  gst_bin_add_many (GST_BIN (bin), demux, mux, sink, NULL);
  gst_element_link (mux, sink);
  g_signal_connect (demux, "pad-added", G_CALLBACK (on_pad_added), bin);
  g_autoptr (GstPad) pad = gst_element_get_static_pad (demux, "sink");
  gst_element_add_pad (bin, gst_ghost_pad_new ("sink", pad));
  return bin;
}

gboolean
sc_simulcast_srt_sent (ScSimulcastSrt *o)
{
  return g_atomic_int_get (&o->sent);
}

void
sc_simulcast_srt_free (ScSimulcastSrt *o)
{
  if (!o)
    return;
  g_cancellable_cancel (o->cancel);
  srt_unref (o);
}
