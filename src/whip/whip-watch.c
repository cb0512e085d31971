/* A peer's liveness and health: its no-media watchdog, which also asks
 * webrtcbin for its RTP statistics, its pipeline's bus (errors, decode
 * errors, audio levels, latency) and webrtcbin's connection states.
 * Everything that ends a peer goes through sc_whip_peer_end. */
#define GST_USE_UNSTABLE_API
#include "whip-private.h"
#include "spacecast/core.h"

#include <gst/webrtc/webrtc.h>
#include <math.h>

/* Watchdog ticks (500 ms) between two statistics requests. */
#define STATS_TICKS 4

ScWhipMediaBox *
sc_whip_media_box_new (void)
{
  ScWhipMediaBox *box = g_atomic_rc_box_new0 (ScWhipMediaBox);
  g_mutex_init (&box->lock);
  return box;
}

static void
media_box_clear (ScWhipMediaBox *box)
{
  g_mutex_clear (&box->lock);
}

void
sc_whip_media_box_release (gpointer box)
{
  g_atomic_rc_box_release_full (box, (GDestroyNotify) media_box_clear);
}

static gboolean
add_inbound (GQuark field, const GValue *value, gpointer user_data)
{
  ScWhipMediaStats *sum = user_data;
  gint type;
  guint64 received = 0;
  gint64 lost = 0;
  guint nacks = 0, plis = 0, firs = 0;

  if (!GST_VALUE_HOLDS_STRUCTURE (value))
    return TRUE;
  const GstStructure *s = gst_value_get_structure (value);
  if (!gst_structure_get_enum (s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type) ||
      type != GST_WEBRTC_STATS_INBOUND_RTP)
    return TRUE;
  gst_structure_get_uint64 (s, "packets-received", &received);
  gst_structure_get_int64 (s, "packets-lost", &lost);
  gst_structure_get_uint (s, "nack-count", &nacks);
  gst_structure_get_uint (s, "pli-count", &plis);
  gst_structure_get_uint (s, "fir-count", &firs);
  sum->packets_received += received;
  sum->packets_lost += (guint64) MAX (lost, 0);
  sum->nacks_sent += nacks;
  sum->keyframe_requests += (guint64) plis + firs;
  return TRUE;
}

/* webrtcbin's thread.  The counts only grow: a track whose source is gone
 * from the statistics keeps what it had. */
static void
on_stats (GstPromise *promise, gpointer user_data)
{
  ScWhipMediaBox *box = user_data;
  ScWhipMediaStats sum = { 0 };

  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED)
    return;
  const GstStructure *reply = gst_promise_get_reply (promise);
  if (reply != NULL)
    gst_structure_foreach (reply, add_inbound, &sum);
  g_mutex_lock (&box->lock);
  box->stats.packets_received = MAX (box->stats.packets_received, sum.packets_received);
  box->stats.packets_lost = MAX (box->stats.packets_lost, sum.packets_lost);
  box->stats.nacks_sent = MAX (box->stats.nacks_sent, sum.nacks_sent);
  box->stats.keyframe_requests = MAX (box->stats.keyframe_requests, sum.keyframe_requests);
  g_mutex_unlock (&box->lock);
}

static void
request_stats (ScWhipPeer *peer)
{
  GstPromise *promise = gst_promise_new_with_change_func (
      on_stats, g_atomic_rc_box_acquire (peer->media), sc_whip_media_box_release);
  g_signal_emit_by_name (peer->webrtc, "get-stats", NULL, promise);
  gst_promise_unref (promise);
}

void
sc_whip_peer_get_media_stats (ScWhipPeer *peer, ScWhipMediaStats *stats)
{
  g_return_if_fail (SC_IS_WHIP_PEER (peer));
  g_mutex_lock (&peer->media->lock);
  *stats = peer->media->stats;
  g_mutex_unlock (&peer->media->lock);
}

gboolean
sc_whip_peer_watchdog_tick (gpointer user_data)
{
  ScWhipPeer *peer = user_data;
  gint now_ds = (gint) ((g_get_monotonic_time () - peer->created_us) / 100000);
  gint idle_ds = now_ds - g_atomic_int_get (&peer->last_media_ds);

  if (idle_ds >= (gint) peer->no_media_timeout_s * 10) {
    g_autofree char *msg = g_strdup_printf (peer->viewer ? "no RTCP from the viewer for %u s"
                                                         : "no media for %u s",
                                            peer->no_media_timeout_s);
    peer->watchdog = NULL;
    sc_whip_peer_end (peer, SC_WHIP_END_NO_MEDIA, msg);
    return G_SOURCE_REMOVE;
  }
  if (!peer->viewer && ++peer->ticks % STATS_TICKS == 0)
    request_stats (peer);
  return G_SOURCE_CONTINUE;
}

/* Decoders say so of a frame they cannot decode (GST_*_DECODER_ERROR):
 * as a warning while under their max-errors, as the error beyond. */
static void
count_decode_error (ScWhipPeer *peer, GstMessage *msg)
{
  g_autoptr (GError) err = NULL;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
    gst_message_parse_warning (msg, &err, NULL);
  else
    gst_message_parse_error (msg, &err, NULL);
  if (!g_error_matches (err, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE))
    return;
  g_mutex_lock (&peer->media->lock);
  peer->media->stats.decode_errors++;
  g_mutex_unlock (&peer->media->lock);
}

/* ---- bus and connection state ----------------------------------------- */

static gdouble
level_message_rms (const GstStructure *s)
{
  const GValue *v = gst_structure_get_value (s, "rms");
  gdouble sum = 0;
  guint n;

  if (v == NULL || !G_VALUE_HOLDS_BOXED (v))
    return -127;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GValueArray *arr = g_value_get_boxed (v);
  n = arr ? arr->n_values : 0;
  for (guint i = 0; i < n; i++)
    sum += pow (10.0, g_value_get_double (g_value_array_get_nth (arr, i)) / 10.0);
  G_GNUC_END_IGNORE_DEPRECATIONS
  if (n == 0 || sum <= 0)
    return -127;
  /* Mean power across channels, back in dB. */
  return MAX (-127.0, 10.0 * log10 (sum / n));
}

gboolean
sc_whip_peer_bus_message (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  ScWhipPeer *peer = user_data;

  if (g_atomic_int_get (&peer->closed))
    return G_SOURCE_CONTINUE;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_WARNING:
      count_decode_error (peer, msg);
      break;
    case GST_MESSAGE_ERROR: {
      g_autoptr (GError) err = NULL;
      g_autofree char *dbg = NULL;
      g_autofree char *text = NULL;

      count_decode_error (peer, msg);
      gst_message_parse_error (msg, &err, &dbg);
      text = g_strdup_printf ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
                              err->message);
      g_debug ("whip peer %s: pipeline error %s (%s)", peer->label, text, dbg);
      sc_whip_peer_end (peer, SC_WHIP_END_PIPELINE_ERROR, text);
      break;
    }
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *s = gst_message_get_structure (msg);

      if (s != NULL && gst_structure_has_name (s, "level")) {
        gdouble db = level_message_rms (s);

        g_mutex_lock (&peer->lock);
        peer->audio_level = db;
        g_mutex_unlock (&peer->lock);
        if (peer->task == NULL && !peer->ended)
          g_signal_emit_by_name (peer, "audio-level", db);
      }
      break;
    }
    case GST_MESSAGE_LATENCY:
      gst_bin_recalculate_latency (GST_BIN (peer->pipeline));
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

void
sc_whip_peer_connection_state (GstElement *webrtc, GParamSpec *pspec, ScWhipPeer *peer)
{
  if (g_str_equal (pspec->name, "ice-connection-state")) {
    GstWebRTCICEConnectionState st;

    g_object_get (webrtc, "ice-connection-state", &st, NULL);
    if (st == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
      sc_whip_peer_end (peer, SC_WHIP_END_ICE_FAILED, "ICE failed");
  } else {
    GstWebRTCPeerConnectionState st;

    g_object_get (webrtc, "connection-state", &st, NULL);
    /* A new viewer wants a picture now, not at the next periodic key frame. */
    if (st == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && peer->keyframe_cb != NULL)
      peer->keyframe_cb (peer->keyframe_data);
    if (st == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
      sc_whip_peer_end (peer, SC_WHIP_END_CONNECTION_FAILED,
                        "peer connection (DTLS) failed");
  }
}
