/* Per-track decode chains and taps.  Each webrtcbin src pad gets one chain:
 *   queue ! depay ! [parse] ! decoder ! convert ! capsfilter ! [level] ! appsink
 * and the appsink's samples are fanned out to every tap, so N consumers cost
 * one decode.  Runs on streaming threads; results for the owner go through
 * sc_whip_peer_defer. */
#include "whip-private.h"
#include "spacecast/core.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>
#include <string.h>

#define VIDEO_CAPS "video/x-raw,format=I420"
#define AUDIO_CAPS "audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved"

typedef struct {
  gatomicrefcount rc;
  guint           id;
  ScWhipTapFunc   video_cb;
  ScWhipTapFunc   audio_cb;
  ScWhipRtpFunc   rtp_cb;
  gpointer        user_data;
  GDestroyNotify  notify;
} Tap;

static Tap *
tap_ref (Tap *tap)
{
  g_atomic_ref_count_inc (&tap->rc);
  return tap;
}

static void
tap_unref (gpointer data)
{
  Tap *tap = data;

  if (!g_atomic_ref_count_dec (&tap->rc))
    return;
  if (tap->notify)
    tap->notify (tap->user_data);
  g_free (tap);
}

gboolean
sc_whip_codec_supported (const char *encoding_name)
{
  return g_ascii_strcasecmp (encoding_name, "VP8") == 0 ||
         g_ascii_strcasecmp (encoding_name, "H264") == 0 ||
         g_ascii_strcasecmp (encoding_name, "OPUS") == 0;
}

/* ---- owner notifications ------------------------------------------------- */

typedef struct {
  ScWhipTrackKind kind;
  char codec[16];
  gboolean added;
} TrackEvent;

static void
track_event_on_main (ScWhipPeer *peer, gpointer data)
{
  TrackEvent *ev = data;

  g_signal_emit_by_name (peer, ev->added ? "track-added" : "track-removed",
                         (guint) ev->kind, ev->codec);
}

static void
notify_track (ScWhipPeer *peer, ScWhipTrack *track, gboolean added)
{
  TrackEvent *ev = g_new0 (TrackEvent, 1);

  ev->kind = track->kind;
  g_strlcpy (ev->codec, track->codec, sizeof ev->codec);
  ev->added = added;
  sc_whip_peer_defer (peer, track_event_on_main, ev, g_free);
}

static void
first_frame_on_main (ScWhipPeer *peer, gpointer data)
{
  g_signal_emit_by_name (peer, "first-frame", *(gint64 *) data);
}

/* ---- streaming ----------------------------------------------------------------- */

static GstFlowReturn
on_new_sample (GstAppSink *sink, gpointer user_data)
{
  ScWhipTrack *track = user_data;
  ScWhipPeer *peer = track->peer;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  g_autoptr (GPtrArray) taps = NULL;
  gboolean first = FALSE;

  if (sample == NULL)
    return GST_FLOW_EOS;

  g_mutex_lock (&peer->lock);
  if (track->kind == SC_WHIP_TRACK_VIDEO) {
    GstStructure *s = gst_caps_get_structure (gst_sample_get_caps (sample), 0);

    gst_structure_get_int (s, "width", &track->width);
    gst_structure_get_int (s, "height", &track->height);
    first = track->frames == 0;
  }
  track->frames++;
  /* Snapshot the taps so a callback may add or remove taps. */
  if (peer->taps->len > 0) {
    taps = g_ptr_array_new_full (peer->taps->len, tap_unref);
    for (guint i = 0; i < peer->taps->len; i++)
      g_ptr_array_add (taps, tap_ref (peer->taps->pdata[i]));
  }
  g_mutex_unlock (&peer->lock);

  if (first && g_atomic_int_compare_and_exchange (&peer->first_frame, 0, 1)) {
    gint64 *elapsed = g_new (gint64, 1);

    *elapsed = g_get_monotonic_time () - peer->created_us;
    sc_whip_peer_defer (peer, first_frame_on_main, elapsed, g_free);
  }

  for (guint i = 0; taps != NULL && i < taps->len; i++) {
    Tap *tap = taps->pdata[i];
    ScWhipTapFunc cb = track->kind == SC_WHIP_TRACK_VIDEO ? tap->video_cb
                                                          : tap->audio_cb;
    if (cb != NULL)
      cb (sample, tap->user_data);
  }
  return GST_FLOW_OK;
}

/* Viewers' key frame requests, coalesced (whip.h): a flag any thread may
 * set, read here where the pad's own thread keeps the time of the last one. */
#define KEYFRAME_INTERVAL_US (500 * 1000)

void
sc_whip_peer_request_keyframe (ScWhipPeer *peer)
{
  g_return_if_fail (SC_IS_WHIP_PEER (peer));
  g_atomic_int_set (&peer->want_keyframe, 1);
}

static void
maybe_request_keyframe (ScWhipTrack *track)
{
  ScWhipPeer *peer = track->peer;
  gint64 now;

  if (track->kind != SC_WHIP_TRACK_VIDEO || !g_atomic_int_get (&peer->want_keyframe))
    return;
  now = g_get_monotonic_time ();
  if (now - track->last_key_us < KEYFRAME_INTERVAL_US ||
      !g_atomic_int_compare_and_exchange (&peer->want_keyframe, 1, 0))
    return;
  track->last_key_us = now;
  /* No ssrc or payload in the event: webrtcbin's demuxers fill in the
   * publisher's own, and its rtpsession turns it into a PLI or FIR. */
  gst_pad_send_event (track->pad,
      gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}

void
sc_whip_tracks_forward (ScWhipTrack *track, GstBuffer *buf)
{
  ScWhipPeer *peer = track->peer;

  /* Under the lock, so that once sc_whip_peer_remove_tap returns no
   * callback runs; a callback only queues a copy, it never blocks. */
  g_mutex_lock (&peer->lock);
  for (guint i = 0; peer->taps != NULL && i < peer->taps->len; i++) {
    Tap *tap = peer->taps->pdata[i];
    if (tap->rtp_cb != NULL)
      tap->rtp_cb (track->kind, buf, tap->user_data);
  }
  g_mutex_unlock (&peer->lock);
}

static gboolean
forward_one (GstBuffer **buf, guint idx, gpointer user_data)
{
  sc_whip_tracks_forward (user_data, *buf);
  return TRUE;
}

static GstPadProbeReturn
on_rtp (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  ScWhipTrack *track = user_data;

  sc_whip_peer_touch_media (track->peer);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    gst_buffer_list_foreach (GST_PAD_PROBE_INFO_BUFFER_LIST (info), forward_one, track);
  else
    sc_whip_tracks_forward (track, GST_PAD_PROBE_INFO_BUFFER (info));
  maybe_request_keyframe (track);
  return GST_PAD_PROBE_OK;
}

static GstElement *
make (GPtrArray *chain, const char *factory)
{
  GstElement *e = gst_element_factory_make (factory, NULL);

  if (e != NULL)
    g_ptr_array_add (chain, e);
  return e;
}

/* Returns the elements in link order, or NULL for an unknown codec or a
 * missing plugin (the pad then goes to a fakesink). */
static GPtrArray *
build_chain (ScWhipTrack *track)
{
  g_autoptr (GPtrArray) chain = g_ptr_array_new ();
  GstElement *e = NULL;
  gboolean ok = TRUE;
  g_autoptr (GstCaps) caps = NULL;
  GstAppSinkCallbacks cbs = { .new_sample = on_new_sample };

  ok &= make (chain, "queue") != NULL;
  if (g_str_equal (track->codec, "VP8")) {
    if ((e = make (chain, "rtpvp8depay")))
      g_object_set (e, "request-keyframe", TRUE, "wait-for-keyframe", TRUE, NULL);
    ok &= e != NULL && make (chain, "vp8dec") != NULL;
  } else if (g_str_equal (track->codec, "H264")) {
    if ((e = make (chain, "rtph264depay")))
      g_object_set (e, "request-keyframe", TRUE, "wait-for-keyframe", TRUE, NULL);
    ok &= e != NULL && make (chain, "h264parse") != NULL &&
          make (chain, "avdec_h264") != NULL;
  } else if (g_str_equal (track->codec, "OPUS")) {
    ok &= make (chain, "rtpopusdepay") != NULL && make (chain, "opusdec") != NULL;
  } else {
    ok = FALSE;
  }

  if (ok && track->kind == SC_WHIP_TRACK_VIDEO) {
    ok &= make (chain, "videoconvert") != NULL;
    caps = gst_caps_from_string (VIDEO_CAPS);
  } else if (ok) {
    ok &= make (chain, "audioconvert") != NULL && make (chain, "audioresample") != NULL;
    caps = gst_caps_from_string (AUDIO_CAPS);
  }
  if (ok && (e = make (chain, "capsfilter")))
    g_object_set (e, "caps", caps, NULL);
  ok &= e != NULL;
  if (ok && track->kind == SC_WHIP_TRACK_AUDIO) {
    if ((e = make (chain, "level")))
      g_object_set (e, "interval", (guint64) 100 * GST_MSECOND,
                    "post-messages", TRUE, NULL);
    ok &= e != NULL;
  }
  if (ok && (e = make (chain, "appsink"))) {
    /* Consumers retime themselves; never let a sink block decoding. */
    g_object_set (e, "sync", FALSE, "async", FALSE, "max-buffers", 2,
                  "drop", TRUE, "enable-last-sample", FALSE, NULL);
    gst_app_sink_set_callbacks (GST_APP_SINK (e), &cbs, track, NULL);
  }
  ok &= e != NULL;

  if (!ok) {
    for (guint i = 0; i < chain->len; i++)
      gst_object_unref (gst_object_ref_sink (chain->pdata[i]));
    return NULL;
  }
  return g_steal_pointer (&chain);
}

static gboolean
link_chain (ScWhipPeer *peer, GstPad *pad, GPtrArray *chain)
{
  g_autoptr (GstPad) sinkpad = NULL;

  for (guint i = 0; i < chain->len; i++)
    gst_bin_add (GST_BIN (peer->pipeline), chain->pdata[i]);
  for (guint i = 0; i + 1 < chain->len; i++)
    if (!gst_element_link (chain->pdata[i], chain->pdata[i + 1]))
      return FALSE;
  for (guint i = chain->len; i > 0; i--)
    gst_element_sync_state_with_parent (chain->pdata[i - 1]);
  sinkpad = gst_element_get_static_pad (chain->pdata[0], "sink");
  return gst_pad_link (pad, sinkpad) == GST_PAD_LINK_OK;
}

static void
link_fakesink (ScWhipPeer *peer, GstPad *pad)
{
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr (GstPad) sinkpad = NULL;

  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (peer->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, sinkpad);
}

void
sc_whip_tracks_pad_added (GstElement *webrtc, GstPad *pad, ScWhipPeer *peer)
{
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GPtrArray) chain = NULL;
  const GstStructure *s;
  const char *media, *enc;
  ScWhipTrack *track;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC || g_atomic_int_get (&peer->closed))
    return;
  caps = gst_pad_get_current_caps (pad);
  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  s = gst_caps_get_structure (caps, 0);
  media = gst_structure_get_string (s, "media");
  enc = gst_structure_get_string (s, "encoding-name");

  track = g_new0 (ScWhipTrack, 1);
  track->peer = peer;
  track->pad = pad;
  track->kind = g_strcmp0 (media, "audio") == 0 ? SC_WHIP_TRACK_AUDIO
                                                : SC_WHIP_TRACK_VIDEO;
  g_strlcpy (track->codec, enc ? enc : "unknown", sizeof track->codec);
  for (char *c = track->codec; *c; c++)
    *c = g_ascii_toupper (*c);

  g_mutex_lock (&peer->lock);
  g_ptr_array_add (peer->tracks, track);
  g_mutex_unlock (&peer->lock);

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     on_rtp, track, NULL);
  chain = build_chain (track);
  if (chain == NULL) {
    g_debug ("whip peer %s: no decoder for %s, discarding", peer->label, track->codec);
    link_fakesink (peer, pad);
  } else if (!link_chain (peer, pad, chain)) {
    sc_whip_peer_end (peer, SC_WHIP_END_PIPELINE_ERROR, "cannot link decode chain");
    return;
  }
  notify_track (peer, track, TRUE);
}

void
sc_whip_tracks_pad_removed (GstElement *webrtc, GstPad *pad, ScWhipPeer *peer)
{
  ScWhipTrack *found = NULL;

  g_mutex_lock (&peer->lock);
  for (guint i = 0; i < peer->tracks->len; i++) {
    ScWhipTrack *t = peer->tracks->pdata[i];
    if (t->pad == pad)
      found = t;
  }
  if (found != NULL)
    found->pad = NULL;
  g_mutex_unlock (&peer->lock);
  if (found != NULL)
    notify_track (peer, found, FALSE);
}

/* ---- taps and stats ---------------------------------------------------------- */

static guint
insert_tap (ScWhipPeer *peer, Tap *tap, gpointer user_data, GDestroyNotify notify)
{
  g_atomic_ref_count_init (&tap->rc);
  tap->user_data = user_data;
  tap->notify = notify;
  g_mutex_lock (&peer->lock);
  tap->id = ++peer->next_tap_id;
  g_ptr_array_add (peer->taps, tap);
  g_mutex_unlock (&peer->lock);
  return tap->id;
}

guint
sc_whip_peer_add_tap (ScWhipPeer *peer, ScWhipTapFunc video_cb,
                      ScWhipTapFunc audio_cb, gpointer user_data,
                      GDestroyNotify notify)
{
  Tap *tap;

  g_return_val_if_fail (SC_IS_WHIP_PEER (peer), 0);
  tap = g_new0 (Tap, 1);
  tap->video_cb = video_cb;
  tap->audio_cb = audio_cb;
  return insert_tap (peer, tap, user_data, notify);
}

guint
sc_whip_peer_add_rtp_tap (ScWhipPeer *peer, ScWhipRtpFunc cb, gpointer user_data,
                          GDestroyNotify notify)
{
  Tap *tap;

  g_return_val_if_fail (SC_IS_WHIP_PEER (peer), 0);
  tap = g_new0 (Tap, 1);
  tap->rtp_cb = cb;
  return insert_tap (peer, tap, user_data, notify);
}

void
sc_whip_peer_remove_tap (ScWhipPeer *peer, guint tap_id)
{
  Tap *found = NULL;

  g_return_if_fail (SC_IS_WHIP_PEER (peer));
  g_mutex_lock (&peer->lock);
  for (guint i = 0; i < peer->taps->len; i++) {
    Tap *tap = peer->taps->pdata[i];
    if (tap->id == tap_id) {
      found = g_ptr_array_steal_index (peer->taps, i);
      break;
    }
  }
  g_mutex_unlock (&peer->lock);
  /* A dispatch in flight may still hold it: notify runs after that call. */
  if (found != NULL)
    tap_unref (found);
}

void
sc_whip_tracks_free_taps (ScWhipPeer *peer)
{
  g_ptr_array_set_free_func (peer->taps, tap_unref);
  g_clear_pointer (&peer->taps, g_ptr_array_unref);
}

GArray *
sc_whip_peer_get_stats (ScWhipPeer *peer)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (ScWhipTrackStats));

  g_return_val_if_fail (SC_IS_WHIP_PEER (peer), out);
  g_mutex_lock (&peer->lock);
  for (guint i = 0; i < peer->tracks->len; i++) {
    ScWhipTrack *t = peer->tracks->pdata[i];
    ScWhipTrackStats st = { 0 };

    st.kind = t->kind;
    g_strlcpy (st.codec, t->codec, sizeof st.codec);
    st.frames = t->frames;
    st.width = t->width;
    st.height = t->height;
    g_array_append_val (out, st);
  }
  g_mutex_unlock (&peer->lock);
  return out;
}
