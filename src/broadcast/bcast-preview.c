/* The program preview: a small pipeline beside the mixing one, fed with
 * the encoded H.264 from the video appsink and the mixed raw audio from a
 * probe before the AAC encoder, that packetises the video (no second video
 * encode) and encodes the audio once to Opus for every preview viewer:
 *   appsrc(H.264) ! h264parse ! rtph264pay config-interval=-1 ! appsink
 *   appsrc(S16LE) ! opusenc ! rtpopuspay ! appsink
 * It exists only while a tap is attached.  Both appsrcs are leaky and the
 * appsinks never sync, so the preview can only ever drop its own data. */
#include "bcast-private.h"
#include "spacecast/core.h"

#include <gst/video/video.h>
#include <string.h>

#define KEYFRAME_WINDOW_US (500 * 1000)

typedef struct {
  guint id;
  ScBcastRtpFunc func;
  gpointer data;
  GDestroyNotify notify;
} PreviewTap;

static void
tap_free (PreviewTap *t)
{
  if (t->notify)
    t->notify (t->data);
  g_free (t);
}

/* ---- the mixing pipeline's side (its streaming threads) ----------------- */

static GstPadProbeReturn
on_mixed_audio (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  ScBcastPipeline *p = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstElement *src = NULL;

  g_mutex_lock (&p->lock);
  if (p->pv_asrc)
    src = gst_object_ref (p->pv_asrc);
  g_mutex_unlock (&p->lock);
  if (!src)
    return GST_PAD_PROBE_OK;
  GstBuffer *out = gst_buffer_copy (buf);   /* shares the memory */
  g_autoptr (GstEvent) seg_event = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (seg_event) {
    const GstSegment *seg;
    gst_event_parse_segment (seg_event, &seg);
    if (seg->format == GST_FORMAT_TIME && GST_BUFFER_PTS_IS_VALID (buf))
      GST_BUFFER_PTS (out) = gst_segment_to_running_time (seg, GST_FORMAT_TIME,
                                                          GST_BUFFER_PTS (buf));
  }
  GST_BUFFER_DTS (out) = GST_CLOCK_TIME_NONE;
  gst_app_src_push_buffer (GST_APP_SRC (src), out);
  gst_object_unref (src);
  return GST_PAD_PROBE_OK;
}

void
sc_bcast_preview_init (ScBcastPipeline *p)
{
  g_mutex_init (&p->pv_lock);
  p->pv_taps = g_ptr_array_new ();
  g_autoptr (GstElement) aq = gst_bin_get_by_name (GST_BIN (p->pipeline), "aq");
  g_autoptr (GstPad) pad = gst_element_get_static_pad (aq, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_mixed_audio, p, NULL);
}

/* avcC: version, then profile_idc, constraint flags, level_idc: the
 * profile-level-id of RFC 6184. */
static void
read_profile (ScBcastPipeline *p, GstCaps *caps)
{
  const GValue *v = caps ? gst_structure_get_value (gst_caps_get_structure (caps, 0),
                                                    "codec_data") : NULL;
  GstBuffer *cd = v && G_VALUE_HOLDS (v, GST_TYPE_BUFFER) ? gst_value_get_buffer (v) : NULL;
  guint8 b[4];
  if (!cd || gst_buffer_extract (cd, 0, b, 4) != 4)
    return;
  g_mutex_lock (&p->lock);
  g_snprintf (p->h264_plid, sizeof p->h264_plid, "%02x%02x%02x", b[1], b[2], b[3]);
  g_mutex_unlock (&p->lock);
}

void
sc_bcast_preview_video (ScBcastPipeline *p, GstSample *s, gboolean key)
{
  GstElement *src = NULL;

  if (!p->h264_plid[0])
    read_profile (p, gst_sample_get_caps (s));
  g_mutex_lock (&p->lock);
  if (p->pv_vsrc && (key || !p->pv_need_key)) {
    p->pv_need_key = FALSE;
    src = gst_object_ref (p->pv_vsrc);
  }
  g_mutex_unlock (&p->lock);
  if (src) {
    sc_bcast_push_retimed (src, s, 0);
    gst_object_unref (src);
  }

  /* Viewers that join, or lose a packet, all ask: one key frame per window
   * serves them all and keeps the RTMP output's GOPs mostly regular. */
  gint64 now = g_get_monotonic_time ();
  if (g_atomic_int_get (&p->pv_want_key) && now - p->pv_last_key_us >= KEYFRAME_WINDOW_US) {
    g_atomic_int_set (&p->pv_want_key, 0);
    p->pv_last_key_us = now;
    g_autoptr (GstPad) pad = gst_element_get_static_pad (p->vsink, "sink");
    gst_pad_push_event (pad, gst_video_event_new_upstream_force_key_unit (
        GST_CLOCK_TIME_NONE, TRUE, 0));
  }
}

void
sc_bcast_pipeline_request_keyframe (ScBcastPipeline *p)
{
  g_atomic_int_set (&p->pv_want_key, 1);
}

gboolean
sc_bcast_pipeline_get_h264_profile (ScBcastPipeline *p, char out[8])
{
  g_mutex_lock (&p->lock);
  g_strlcpy (out, p->h264_plid, 8);
  g_mutex_unlock (&p->lock);
  return out[0] != '\0';
}

GstClockTime
sc_bcast_pipeline_get_base_time (ScBcastPipeline *p)
{
  return gst_element_get_base_time (p->pipeline);
}

/* ---- the preview pipeline ------------------------------------------------ */

static GstFlowReturn
on_rtp (GstAppSink *sink, gpointer user_data)
{
  ScBcastPipeline *p = user_data;
  g_autoptr (GstSample) s = gst_app_sink_pull_sample (sink);
  gboolean video = g_str_equal (GST_OBJECT_NAME (sink), "vout");
  GstBuffer *buf = s ? gst_sample_get_buffer (s) : NULL;
  if (!buf)
    return GST_FLOW_OK;
  g_mutex_lock (&p->pv_lock);
  for (guint i = 0; i < p->pv_taps->len; i++) {
    PreviewTap *t = p->pv_taps->pdata[i];
    t->func (video, buf, t->data);
  }
  g_mutex_unlock (&p->pv_lock);
  return GST_FLOW_OK;
}

static gboolean
on_preview_bus (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) e = NULL;
    gst_message_parse_error (msg, &e, NULL);
    /* Only the preview suffers: the broadcast goes on. */
    g_message ("bcast: program preview: %s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
               e->message);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
preview_start (ScBcastPipeline *p, GError **error)
{
  /* mtu 1200: what browsers send, and room for SRTP and TURN headers. */
  static const char desc[] =
      "appsrc name=v format=time is-live=true do-timestamp=false block=false"
      "  max-bytes=4000000 leaky-type=downstream"
      " ! h264parse ! rtph264pay config-interval=-1 aggregate-mode=zero-latency mtu=1200 pt=96"
      " ! appsink name=vout sync=false async=false"
      " appsrc name=a format=time is-live=true do-timestamp=false block=false"
      "  max-bytes=1000000 leaky-type=downstream"
      "  caps=audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved"
      " ! audioconvert ! opusenc ! rtpopuspay mtu=1200 pt=111"
      " ! appsink name=aout sync=false async=false";
  g_autoptr (GError) perr = NULL;
  GstElement *pipe = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &perr);
  if (!pipe) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL,
                 "broadcast: could not build the program preview: %s", perr->message);
    return FALSE;
  }
  GstAppSinkCallbacks cb = { .new_sample = on_rtp };
  const char *sinks[] = { "vout", "aout" };
  for (guint i = 0; i < G_N_ELEMENTS (sinks); i++) {
    g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipe), sinks[i]);
    gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, p, NULL);
  }
  g_autoptr (GstBus) bus = gst_element_get_bus (pipe);
  p->pv_watch = gst_bus_create_watch (bus);
  g_source_set_callback (p->pv_watch, G_SOURCE_FUNC (on_preview_bus), p, NULL);
  g_source_attach (p->pv_watch, p->ctx);
  if (gst_element_set_state (pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_source_destroy (p->pv_watch);
    g_clear_pointer (&p->pv_watch, g_source_unref);
    gst_element_set_state (pipe, GST_STATE_NULL);
    gst_object_unref (pipe);
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "broadcast: the program preview did not start");
    return FALSE;
  }
  g_mutex_lock (&p->lock);
  p->pv_pipe = pipe;
  p->pv_vsrc = gst_bin_get_by_name (GST_BIN (pipe), "v");
  p->pv_asrc = gst_bin_get_by_name (GST_BIN (pipe), "a");
  p->pv_need_key = TRUE;
  g_mutex_unlock (&p->lock);
  /* The first viewer's queue holds this key frame until its DTLS is up,
   * so it sees a picture without waiting for its own request's window. */
  sc_bcast_pipeline_request_keyframe (p);
  g_message ("bcast: program preview started (H.264 profile-level-id %s)",
             p->h264_plid[0] ? p->h264_plid : "not known yet");
  return TRUE;
}

static void
preview_stop (ScBcastPipeline *p)
{
  g_mutex_lock (&p->lock);
  GstElement *pipe = g_steal_pointer (&p->pv_pipe);
  GstElement *v = g_steal_pointer (&p->pv_vsrc);
  GstElement *a = g_steal_pointer (&p->pv_asrc);
  g_mutex_unlock (&p->lock);
  if (p->pv_watch) {
    g_source_destroy (p->pv_watch);
    g_clear_pointer (&p->pv_watch, g_source_unref);
  }
  g_clear_object (&v);
  g_clear_object (&a);
  if (pipe) {
    gst_element_set_state (pipe, GST_STATE_NULL);
    gst_object_unref (pipe);
    g_message ("bcast: program preview stopped: nobody watches");
  }
}

guint
sc_bcast_pipeline_add_preview (ScBcastPipeline *p, ScBcastRtpFunc func, gpointer user_data,
                               GDestroyNotify notify, GError **error)
{
  if (!p->pv_pipe && !preview_start (p, error))
    return 0;
  PreviewTap *t = g_new0 (PreviewTap, 1);
  t->id = ++p->pv_next_id;
  t->func = func;
  t->data = user_data;
  t->notify = notify;
  g_mutex_lock (&p->pv_lock);
  g_ptr_array_add (p->pv_taps, t);
  g_mutex_unlock (&p->pv_lock);
  return t->id;
}

void
sc_bcast_pipeline_remove_preview (ScBcastPipeline *p, guint id)
{
  PreviewTap *found = NULL;
  g_mutex_lock (&p->pv_lock);
  for (guint i = 0; i < p->pv_taps->len && !found; i++)
    if (((PreviewTap *) p->pv_taps->pdata[i])->id == id)
      found = g_ptr_array_steal_index (p->pv_taps, i);
  gboolean last = p->pv_taps->len == 0;
  g_mutex_unlock (&p->pv_lock);
  if (found)
    tap_free (found);
  if (found && last)
    preview_stop (p);
}

void
sc_bcast_preview_clear (ScBcastPipeline *p)
{
  preview_stop (p);
  for (guint i = 0; i < p->pv_taps->len; i++)
    tap_free (p->pv_taps->pdata[i]);
  g_ptr_array_unref (p->pv_taps);
  g_mutex_clear (&p->pv_lock);
}
