/* The RTMP output: a small pipeline of its own (appsrc ×2 → flvmux →
 * rtmp2sink) fed from the mixing pipeline's appsinks.  rtmp2sink has no
 * reconnect, and its errors would otherwise flow back as FLOW_ERROR into
 * the encoders and mixers; here an error only ever kills this throw-away
 * pipeline.  A fresh one per attempt also resends the FLV header and the
 * codec configuration for the new RTMP session. */
#include "bcast-private.h"
#include "spacecast/core.h"
#include "spacecast/rtmp.h"

#include <gst/video/video.h>
#include <string.h>

#define HEALTHY_SESSION_US (10 * G_USEC_PER_SEC)
#define STOP_TIMEOUT (5 * GST_SECOND)
#define EARLY_AUDIO_MAX 128   /* AAC frames, 2.7 s at 48 kHz */

typedef struct {
  ScBcastPipeline *p;
  ScBcastState state;
  char *reason;
  GSource *source;
} StateNote;

static gboolean
notify_state (gpointer data)
{
  StateNote *n = data;
  ScBcastPipeline *p = n->p;
  g_mutex_lock (&p->lock);
  p->pending_notes = g_slist_remove (p->pending_notes, n->source);
  g_mutex_unlock (&p->lock);
  if (p->state_func)
    p->state_func (p, n->state, n->reason, p->state_data);
  return G_SOURCE_REMOVE;
}

static void
state_note_free (gpointer data)
{
  StateNote *n = data;
  g_source_unref (n->source);
  g_free (n->reason);
  g_free (n);
}

void
sc_bcast_cancel_notes (ScBcastPipeline *p)
{
  g_mutex_lock (&p->lock);
  GSList *notes = g_steal_pointer (&p->pending_notes);
  g_mutex_unlock (&p->lock);
  for (GSList *l = notes; l; l = l->next)
    g_source_destroy (l->data);
  g_slist_free (notes);
}

void
sc_bcast_set_state (ScBcastPipeline *p, ScBcastState s, const char *reason)
{
  g_mutex_lock (&p->lock);
  gboolean changed = p->state != s;
  p->state = s;
  g_free (p->reason);
  p->reason = g_strdup (reason);
  g_mutex_unlock (&p->lock);
  if (!changed)
    return;
  if (s == SC_BCAST_FAILED || s == SC_BCAST_RECONNECTING)
    g_message ("bcast: %s: %s", sc_bcast_state_to_string (s), reason ? reason : "");
  /* Always deferred to the owner's context (never re-entrant into the
   * caller), and cancelled if the pipeline is freed first. */
  StateNote *n = g_new0 (StateNote, 1);
  n->p = p;
  n->state = s;
  n->reason = g_strdup (reason);
  n->source = g_idle_source_new ();
  g_source_set_callback (n->source, notify_state, n, state_note_free);
  g_mutex_lock (&p->lock);
  p->pending_notes = g_slist_prepend (p->pending_notes, n->source);
  g_mutex_unlock (&p->lock);
  g_source_attach (n->source, p->ctx);
}

/* ---- appsink side (mixing pipeline streaming threads) ------------------- */

/* Output buffers carry running-time timestamps: x264enc shifts its output
 * by 1000 h and its segment with it, and the output pipeline starts from a
 * plain [0, inf) segment. */
static GstClockTime
to_running_time (const GstSegment *seg, GstClockTime t)
{
  if (!seg || seg->format != GST_FORMAT_TIME || !GST_CLOCK_TIME_IS_VALID (t))
    return t;
  return gst_segment_to_running_time (seg, GST_FORMAT_TIME, t);
}

/* Audio is heard @shift before its running time says (the encoder's
 * priming); NONE for audio that would be heard before the pipeline began. */
static GstClockTime
shifted (GstClockTime t, GstClockTime shift)
{
  return GST_CLOCK_TIME_IS_VALID (t) && t >= shift ? t - shift : GST_CLOCK_TIME_NONE;
}

void
sc_bcast_push_retimed (GstElement *src, GstSample *s, GstClockTime shift)
{
  GstBuffer *b = gst_sample_get_buffer (s);
  const GstSegment *seg = gst_sample_get_segment (s);
  GstCaps *caps = gst_sample_get_caps (s);
  g_autoptr (GstCaps) cur = gst_app_src_get_caps (GST_APP_SRC (src));
  if (caps && (!cur || !gst_caps_is_equal (cur, caps)))
    gst_app_src_set_caps (GST_APP_SRC (src), caps);
  GstBuffer *out = gst_buffer_copy (b);
  GST_BUFFER_PTS (out) = shifted (to_running_time (seg, GST_BUFFER_PTS (b)), shift);
  GST_BUFFER_DTS (out) = shifted (to_running_time (seg, GST_BUFFER_DTS (b)), shift);
  gst_app_src_push_buffer (GST_APP_SRC (src), out);
}

/* A decoder plays the encoder's priming before the first sample it was
 * given, and neither RTMP nor FLV can tell it to skip it (MP4's edit list
 * could): so the output sends each audio packet that much earlier, and
 * the flash a camera saw and the beep a microphone heard at one instant
 * are played together. */
static GstClockTime
audio_shift (ScBcastPipeline *p)
{
  return gst_util_uint64_scale (p->encoders->audio->priming, GST_SECOND, SC_BCAST_AUDIO_RATE);
}

static GstClockTime
audio_time (ScBcastPipeline *p, GstSample *s)
{
  return shifted (to_running_time (gst_sample_get_segment (s),
                                   GST_BUFFER_PTS (gst_sample_get_buffer (s))), audio_shift (p));
}

/* Called with the lock, per video frame: closes a rate window each second,
 * so health reads the same whoever asks and however often. */
static void
update_rates (ScBcastPipeline *p)
{
  gint64 now = g_get_monotonic_time ();
  if (p->rate_t0_us && now - p->rate_t0_us < G_USEC_PER_SEC)
    return;
  if (p->rate_t0_us) {
    double secs = (now - p->rate_t0_us) / (double) G_USEC_PER_SEC;
    p->fps_now = (p->frames_out - p->rate_frames0) / secs;
    p->bps_now = (guint64) ((p->bytes_out - p->rate_bytes0) * 8 / secs);
  }
  p->rate_t0_us = now;
  p->rate_frames0 = p->frames_out;
  p->rate_bytes0 = p->bytes_out;
}

/* Called with the lock.  Once the stop is requested, both streams end at
 * that instant: at EOS the audio mixer, no longer held to its deadlines,
 * emits the rest of what it holds at once (seen: 2 s of audio past the
 * last video frame), and the recording would end in audio without video. */
static gboolean
after_stop (ScBcastPipeline *p, GstClockTime t)
{
  return GST_CLOCK_TIME_IS_VALID (p->stop_at) && GST_CLOCK_TIME_IS_VALID (t) && t > p->stop_at;
}

static GstFlowReturn
on_video_sample (GstAppSink *sink, gpointer user_data)
{
  ScBcastPipeline *p = user_data;
  g_autoptr (GstSample) s = gst_app_sink_pull_sample (sink);
  if (!s)
    return GST_FLOW_OK;
  GstBuffer *b = gst_sample_get_buffer (s);
  gboolean key = !GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_DELTA_UNIT);
  GstClockTime t = to_running_time (gst_sample_get_segment (s), GST_BUFFER_PTS (b));
  GstElement *src = NULL, *asrc = NULL;
  GQueue early = G_QUEUE_INIT;
  g_mutex_lock (&p->lock);
  if (p->out_vsrc && (!p->need_keyframe || key) && !after_stop (p, t)) {
    if (p->need_keyframe) {
      p->session_base = t;
      early = p->early_audio;
      g_queue_init (&p->early_audio);
      asrc = p->out_asrc ? gst_object_ref (p->out_asrc) : NULL;
    }
    p->need_keyframe = FALSE;
    src = gst_object_ref (p->out_vsrc);
    p->frames_out++;
    p->bytes_out += gst_buffer_get_size (b);
  } else {
    p->frames_dropped++;
  }
  update_rates (p);
  g_mutex_unlock (&p->lock);
  if (src) {
    sc_bcast_push_retimed (src, s, 0);
    gst_object_unref (src);
  }
  sc_bcast_preview_video (p, s, key);
  /* The audio that came in while the first keyframe was being encoded,
   * from that keyframe on. */
  GstSample *a;
  while ((a = g_queue_pop_head (&early))) {
    GstClockTime at = audio_time (p, a);
    if (asrc && GST_CLOCK_TIME_IS_VALID (at) && at >= t)
      sc_bcast_push_retimed (asrc, a, audio_shift (p));
    gst_sample_unref (a);
  }
  g_clear_object (&asrc);
  return GST_FLOW_OK;   /* never let the output's fate reach the encoder */
}

static GstFlowReturn
on_audio_sample (GstAppSink *sink, gpointer user_data)
{
  ScBcastPipeline *p = user_data;
  g_autoptr (GstSample) s = gst_app_sink_pull_sample (sink);
  if (!s)
    return GST_FLOW_OK;
  GstElement *src = NULL;
  GstClockTime t = audio_time (p, s);
  g_mutex_lock (&p->lock);
  /* Audio starts with video at the session's first keyframe, not before
   * it: the stream the server sees starts decodable, and its timeline
   * starts on that keyframe, the zero of what flvmux sends.  Audio encodes
   * faster, so it is held (bounded) until that keyframe comes out.  It is
   * held between sessions too: the keyframe a session asks for is a frame
   * that was already on its way to the encoder when the session began (by
   * as much as the encoder lags: seen 213 ms on a busy machine), and the
   * audio of that instant, which came out before the session, must still
   * be there for it. */
  if ((p->need_keyframe || !p->out_asrc) && !after_stop (p, t)) {
    g_queue_push_tail (&p->early_audio, gst_sample_ref (s));
    while (p->early_audio.length > EARLY_AUDIO_MAX)
      gst_sample_unref (g_queue_pop_head (&p->early_audio));
  } else if (p->out_asrc && !after_stop (p, t) &&
             GST_CLOCK_TIME_IS_VALID (t) && t >= p->session_base) {
    src = gst_object_ref (p->out_asrc);
    p->bytes_out += gst_buffer_get_size (gst_sample_get_buffer (s));
  }
  g_mutex_unlock (&p->lock);
  if (src) {
    sc_bcast_push_retimed (src, s, audio_shift (p));
    gst_object_unref (src);
  }
  return GST_FLOW_OK;
}

static void
forward_eos (ScBcastPipeline *p, gboolean video)
{
  g_mutex_lock (&p->lock);
  GstElement *src = video ? p->out_vsrc : p->out_asrc;
  if (src)
    gst_object_ref (src);
  g_mutex_unlock (&p->lock);
  if (src) {
    gst_app_src_end_of_stream (GST_APP_SRC (src));
    gst_object_unref (src);
  }
}

static void
on_video_eos (GstAppSink *sink, gpointer user_data)
{
  forward_eos (user_data, TRUE);
}

static void
on_audio_eos (GstAppSink *sink, gpointer user_data)
{
  forward_eos (user_data, FALSE);
}

void
sc_bcast_output_attach_sinks (ScBcastPipeline *p)
{
  GstAppSinkCallbacks vcb = { .eos = on_video_eos, .new_sample = on_video_sample };
  GstAppSinkCallbacks acb = { .eos = on_audio_eos, .new_sample = on_audio_sample };
  gst_app_sink_set_callbacks (GST_APP_SINK (p->vsink), &vcb, p, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (p->asink), &acb, p, NULL);
}

/* ---- the output pipeline (owner's context) ------------------------------ */

static gboolean retry_cb (gpointer user_data);

static gboolean
on_out_bus (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  ScBcastPipeline *p = user_data;
  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ERROR || p->stopping)
    return G_SOURCE_CONTINUE;

  g_autoptr (GError) e = NULL;
  g_autofree char *dbg = NULL;
  gst_message_parse_error (msg, &e, &dbg);
  g_autofree char *why = g_strdup_printf ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
                                          e->message);
  gboolean refused = sc_rtmp_push_error_is_refusal (e);
  gint64 age = g_get_monotonic_time () - p->session_started_us;
  /* Destroys this very source: return REMOVE below, after the last use. */
  sc_bcast_output_teardown (p);
  if (refused) {
    sc_bcast_set_state (p, SC_BCAST_FAILED, why);
    return G_SOURCE_REMOVE;
  }
  if (age > HEALTHY_SESSION_US)
    p->backoff_s = 1;
  g_mutex_lock (&p->lock);
  p->reconnects++;
  g_mutex_unlock (&p->lock);
  g_autofree char *note = g_strdup_printf ("%s (retry in %u s)", why, p->backoff_s);
  sc_bcast_set_state (p, SC_BCAST_RECONNECTING, note);
  p->retry_source = g_timeout_source_new_seconds (p->backoff_s);
  g_source_set_callback (p->retry_source, retry_cb, p, NULL);
  g_source_attach (p->retry_source, p->ctx);
  p->backoff_s = MIN (p->backoff_s * 2, p->backoff_max_s);
  return G_SOURCE_REMOVE;
}

static gboolean
retry_cb (gpointer user_data)
{
  ScBcastPipeline *p = user_data;
  g_clear_pointer (&p->retry_source, g_source_unref);
  g_autoptr (GError) error = NULL;
  if (sc_bcast_output_start (p, &error)) {
    sc_bcast_set_state (p, SC_BCAST_RUNNING, NULL);
  } else {
    sc_bcast_set_state (p, SC_BCAST_FAILED, error->message);
  }
  return G_SOURCE_REMOVE;
}

gboolean
sc_bcast_output_start (ScBcastPipeline *p, GError **error)
{
  g_autofree char *loc = g_strescape (p->rtmp_url, NULL);
  /* Not live: flvmux interleaves by timestamp, waiting for both streams,
   * which the always-on mixers guarantee.  Bounded leaky appsrcs keep a
   * stuck TCP connection from growing memory. */
  g_autofree char *desc = g_strdup_printf (
      "appsrc name=v format=time is-live=false block=false max-bytes=16000000"
      "  leaky-type=downstream ! queue ! mux.video"
      " appsrc name=a format=time is-live=false block=false max-bytes=2000000"
      "  leaky-type=downstream ! queue ! mux.audio"
      " flvmux name=mux streamable=true"
      " ! rtmp2sink name=rtmp location=\"%s\" sync=false async=false", loc);
  g_autoptr (GError) perr = NULL;
  GstElement *pipe = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &perr);
  if (!pipe) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL,
                 "broadcast: could not build the RTMP output: %s", perr->message);
    return FALSE;
  }
  g_autoptr (GstBus) bus = gst_element_get_bus (pipe);
  GSource *watch = gst_bus_create_watch (bus);
  g_source_set_callback (watch, G_SOURCE_FUNC (on_out_bus), p, NULL);
  g_source_attach (watch, p->ctx);

  if (gst_element_set_state (pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_source_destroy (watch);
    g_source_unref (watch);
    gst_element_set_state (pipe, GST_STATE_NULL);
    gst_object_unref (pipe);
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL,
                 "broadcast: the RTMP output did not start");
    return FALSE;
  }
  g_mutex_lock (&p->lock);
  p->out_pipe = pipe;
  p->out_watch = watch;
  p->out_vsrc = gst_bin_get_by_name (GST_BIN (pipe), "v");
  p->out_asrc = gst_bin_get_by_name (GST_BIN (pipe), "a");
  p->need_keyframe = TRUE;
  p->session_started_us = g_get_monotonic_time ();
  gboolean encoding = p->frames_out + p->frames_dropped > 0;
  g_mutex_unlock (&p->lock);

  /* A later session must begin with SPS/PPS and an IDR, not wait up to a
   * whole GOP: ask the encoder (through h264parse) for one now.  Not the
   * first: the encoder's first frame is an IDR anyway, and a request that
   * lands a frame late puts a second IDR 33 ms after it and shifts every
   * keyframe after it off the 2 s grid. */
  if (encoding) {
    g_autoptr (GstPad) pad = gst_element_get_static_pad (p->vsink, "sink");
    gst_pad_push_event (pad, gst_video_event_new_upstream_force_key_unit (
        GST_CLOCK_TIME_NONE, TRUE, 0));
  }
  return TRUE;
}

void
sc_bcast_output_teardown (ScBcastPipeline *p)
{
  if (p->retry_source) {
    g_source_destroy (p->retry_source);
    g_clear_pointer (&p->retry_source, g_source_unref);
  }
  g_mutex_lock (&p->lock);
  GstElement *pipe = g_steal_pointer (&p->out_pipe);
  GstElement *v = g_steal_pointer (&p->out_vsrc);
  GstElement *a = g_steal_pointer (&p->out_asrc);
  GSource *watch = g_steal_pointer (&p->out_watch);
  g_mutex_unlock (&p->lock);
  if (watch) {
    g_source_destroy (watch);
    g_source_unref (watch);
  }
  g_clear_object (&v);
  g_clear_object (&a);
  if (pipe) {
    gst_element_set_state (pipe, GST_STATE_NULL);
    gst_object_unref (pipe);
  }
}

GstElement *
sc_bcast_output_begin_drain (ScBcastPipeline *p)
{
  if (p->retry_source) {
    g_source_destroy (p->retry_source);
    g_clear_pointer (&p->retry_source, g_source_unref);
  }
  /* Without a watch the bus queues the messages for the drain wait, which
   * may run on another thread while this one goes on dispatching. */
  g_mutex_lock (&p->lock);
  GSource *watch = g_steal_pointer (&p->out_watch);
  GstElement *pipe = p->out_pipe ? gst_object_ref (p->out_pipe) : NULL;
  g_mutex_unlock (&p->lock);
  if (watch) {
    g_source_destroy (watch);
    g_source_unref (watch);
  }
  return pipe;
}

void
sc_bcast_output_drain (GstElement *out_pipe)
{
  if (!out_pipe)
    return;
  /* EOS at the sink means the stop commands went out. */
  g_autoptr (GstBus) bus = gst_element_get_bus (out_pipe);
  g_autoptr (GstMessage) msg = gst_bus_timed_pop_filtered (
      bus, STOP_TIMEOUT, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (!msg)
    g_warning ("bcast: output did not drain within %u s", (guint) (STOP_TIMEOUT / GST_SECOND));
}
