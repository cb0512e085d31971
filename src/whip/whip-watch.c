/* A peer's liveness: its no-media watchdog, its pipeline's bus (errors,
 * audio levels, latency) and webrtcbin's connection states.  Everything
 * that ends a peer goes through sc_whip_peer_end. */
#define GST_USE_UNSTABLE_API
#include "whip-private.h"
#include "spacecast/core.h"

#include <gst/webrtc/webrtc.h>
#include <math.h>

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
  return G_SOURCE_CONTINUE;
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
    case GST_MESSAGE_ERROR: {
      g_autoptr (GError) err = NULL;
      g_autofree char *dbg = NULL;
      g_autofree char *text = NULL;

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
