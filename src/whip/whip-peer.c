/* The WHIP peer: lifecycle and SDP negotiation.  webrtcbin answers promises
 * and notifies on its own threads; every result is handed to the owner's
 * GMainContext through sc_whip_peer_defer (an idle source, so it never runs
 * inline on a streaming thread even when nobody iterates that context). */
#define GST_USE_UNSTABLE_API
#include "whip-private.h"
#include "spacecast/core.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <string.h>

G_DEFINE_TYPE (ScWhipPeer, sc_whip_peer, G_TYPE_OBJECT)

enum { SIG_TRACK_ADDED, SIG_TRACK_REMOVED, SIG_FIRST_FRAME, SIG_AUDIO_LEVEL,
       SIG_ENDED, N_SIGNALS };
static guint signals[N_SIGNALS];

#define DEFAULT_NO_MEDIA_S 10
#define DEFAULT_GATHER_MS  5000

/* ---- main-context hand-off ------------------------------------------- */

typedef struct {
  ScWhipPeer        *peer;
  ScWhipPeerMainFunc func;
  gpointer           data;
  GDestroyNotify     free_data;
} Deferred;

static gboolean
deferred_dispatch (gpointer user_data)
{
  Deferred *d = user_data;

  if (!g_atomic_int_get (&d->peer->closed))
    d->func (d->peer, d->data);
  return G_SOURCE_REMOVE;
}

static void
deferred_free (gpointer user_data)
{
  Deferred *d = user_data;

  if (d->free_data)
    d->free_data (d->data);
  g_object_unref (d->peer);
  g_free (d);
}

void
sc_whip_peer_defer (ScWhipPeer *peer, ScWhipPeerMainFunc func, gpointer data,
                    GDestroyNotify free_data)
{
  Deferred *d;
  GSource *source;

  if (g_atomic_int_get (&peer->closed)) {
    if (free_data)
      free_data (data);
    return;
  }
  d = g_new0 (Deferred, 1);
  d->peer = g_object_ref (peer);
  d->func = func;
  d->data = data;
  d->free_data = free_data;
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, deferred_dispatch, d, deferred_free);
  g_source_attach (source, peer->ctx);
  g_source_unref (source);
}

void
sc_whip_peer_touch_media (ScWhipPeer *peer)
{
  gint ds = (gint) ((g_get_monotonic_time () - peer->created_us) / 100000);

  g_atomic_int_set (&peer->last_media_ds, ds);
}

/* ---- ending ------------------------------------------------------------ */

typedef struct {
  ScWhipEndReason reason;
  char *message;
} EndInfo;

static void
end_info_free (gpointer data)
{
  EndInfo *e = data;

  g_free (e->message);
  g_free (e);
}

static void negotiation_fail (ScWhipPeer *peer, GError *error);

static void
end_on_main (ScWhipPeer *peer, gpointer data)
{
  EndInfo *e = data;

  if (peer->task != NULL) {
    /* Still negotiating: this is a failure of the POST, not an ended peer. */
    negotiation_fail (peer, g_error_new (SC_ERROR, SC_ERROR_INTERNAL,
                                         "%s", e->message));
    return;
  }
  if (peer->ended)
    return;
  peer->ended = TRUE;
  g_clear_pointer (&peer->watchdog, g_source_destroy);
  g_signal_emit (peer, signals[SIG_ENDED], 0, (guint) e->reason, e->message);
}

void
sc_whip_peer_end (ScWhipPeer *peer, ScWhipEndReason reason, const char *message)
{
  EndInfo *e = g_new0 (EndInfo, 1);

  e->reason = reason;
  e->message = g_strdup (message);
  sc_whip_peer_defer (peer, end_on_main, e, end_info_free);
}

/* ---- negotiation ------------------------------------------------------- */

static void
negotiation_fail (ScWhipPeer *peer, GError *error)
{
  GTask *task = g_steal_pointer (&peer->task);

  g_clear_pointer (&peer->gather_timeout, g_source_destroy);
  if (task == NULL) {
    g_error_free (error);
    return;
  }
  g_task_return_error (task, error);
  g_object_unref (task);
  sc_whip_peer_close (peer);
  g_object_unref (peer);   /* the negotiation's ref */
}

static void
fail_on_main (ScWhipPeer *peer, gpointer data)
{
  negotiation_fail (peer, g_error_copy (data));
}

static void
fail_from_thread (ScWhipPeer *peer, ScErrorCode code, const char *what,
                  const GError *cause)
{
  GError *e = g_error_new (SC_ERROR, code, "%s%s%s", what,
                           cause ? ": " : "", cause ? cause->message : "");

  sc_whip_peer_defer (peer, fail_on_main, e, (GDestroyNotify) g_error_free);
}

static void
finish_negotiation (ScWhipPeer *peer, gpointer data)
{
  g_autoptr (GstWebRTCSessionDescription) local = NULL;
  g_autoptr (GError) error = NULL;
  GTask *task;
  char *text;

  if (peer->task == NULL)
    return;
  g_clear_pointer (&peer->gather_timeout, g_source_destroy);
  if (g_task_return_error_if_cancelled (peer->task)) {
    g_clear_object (&peer->task);
    sc_whip_peer_close (peer);
    g_object_unref (peer);   /* the negotiation's ref */
    return;
  }
  g_object_get (peer->webrtc, "local-description", &local, NULL);
  if (local == NULL) {
    negotiation_fail (peer, g_error_new (SC_ERROR, SC_ERROR_INTERNAL,
                                         "no local description after answering"));
    return;
  }
  if (!peer->viewer && !sc_whip_sdp_check_answer (local->sdp, &error)) {
    negotiation_fail (peer, g_steal_pointer (&error));
    return;
  }
  if (!peer->viewer)
    peer->n_published = sc_whip_sdp_answer_tracks (local->sdp, peer->published);
  {
    g_autoptr (GstSDPMessage) answer = NULL;

    gst_sdp_message_copy (local->sdp, &answer);
    sc_whip_sdp_restore_h264_profile (answer, peer->offer);
    text = gst_sdp_message_as_text (answer);
  }
  task = g_steal_pointer (&peer->task);

  sc_whip_peer_touch_media (peer);   /* the no-media clock starts now */
  peer->watchdog = g_timeout_source_new (500);
  g_source_set_callback (peer->watchdog, sc_whip_peer_watchdog_tick, peer, NULL);
  g_source_attach (peer->watchdog, peer->ctx);
  g_source_unref (peer->watchdog);

  g_task_set_task_data (task, text, g_free);
  /* The negotiation's ref passes to the result. */
  g_task_return_pointer (task, peer, g_object_unref);
  g_object_unref (task);
}

static gboolean
gather_timeout_cb (gpointer user_data)
{
  ScWhipPeer *peer = user_data;

  g_debug ("whip peer %s: ICE gathering did not complete, answering anyway",
           peer->label);
  peer->gather_timeout = NULL;
  finish_negotiation (peer, NULL);
  return G_SOURCE_REMOVE;
}

static void
on_gathering_state (GstElement *webrtc, GParamSpec *pspec, ScWhipPeer *peer)
{
  GstWebRTCICEGatheringState st;

  g_object_get (webrtc, "ice-gathering-state", &st, NULL);
  if (st == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    sc_whip_peer_defer (peer, finish_negotiation, NULL, NULL);
}

static const GError *
promise_error (GstPromise *promise, GstPromiseResult res)
{
  const GstStructure *reply;
  const GValue *v;

  if (res != GST_PROMISE_RESULT_REPLIED)
    return NULL;
  reply = gst_promise_get_reply (promise);
  if (reply == NULL || !gst_structure_has_field (reply, "error"))
    return NULL;
  v = gst_structure_get_value (reply, "error");
  return G_VALUE_HOLDS (v, G_TYPE_ERROR) ? g_value_get_boxed (v) : NULL;
}

static void
on_answer_created (GstPromise *promise, gpointer user_data)
{
  ScWhipPeer *peer = user_data;
  GstPromiseResult res = gst_promise_wait (promise);
  const GError *err = promise_error (promise, res);
  GstWebRTCSessionDescription *answer = NULL;

  if (res == GST_PROMISE_RESULT_REPLIED && err == NULL)
    gst_structure_get (gst_promise_get_reply (promise), "answer",
                       GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
  gst_promise_unref (promise);
  if (answer == NULL) {
    fail_from_thread (peer, SC_ERROR_INVALID, "cannot answer the offer", err);
    return;
  }
  /* Before set-local-description: that creates the sink pads, whose
   * handler needs the payload types. */
  if (peer->viewer) {
    g_autoptr (GError) why = NULL;

    if (!sc_whip_forward_take_answer (peer, answer->sdp, &why)) {
      sc_whip_peer_defer (peer, fail_on_main, g_steal_pointer (&why),
                          (GDestroyNotify) g_error_free);
      gst_webrtc_session_description_free (answer);
      return;
    }
  }
  /* Gathering starts here; on_gathering_state picks up the end of it. */
  g_signal_emit_by_name (peer->webrtc, "set-local-description", answer, NULL);
  gst_webrtc_session_description_free (answer);
}

static void
on_remote_set (GstPromise *promise, gpointer user_data)
{
  ScWhipPeer *peer = user_data;
  GstPromiseResult res = gst_promise_wait (promise);
  const GError *err = promise_error (promise, res);

  if (res != GST_PROMISE_RESULT_REPLIED || err != NULL) {
    fail_from_thread (peer, SC_ERROR_INVALID, "offer rejected", err);
    gst_promise_unref (promise);
    return;
  }
  gst_promise_unref (promise);
  promise = gst_promise_new_with_change_func (on_answer_created, peer, NULL);
  g_signal_emit_by_name (peer->webrtc, "create-answer", NULL, promise);
}

static void
add_recv_transceiver (GstElement *webrtc, const char *caps_str)
{
  g_autoptr (GstCaps) caps = gst_caps_from_string (caps_str);
  GstWebRTCRTPTransceiver *trans = NULL;

  g_signal_emit_by_name (webrtc, "add-transceiver",
                         GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &trans);
  if (trans != NULL) {
    g_object_set (trans, "do-nack", TRUE, NULL);
    gst_object_unref (trans);
  }
}

static gboolean
build_pipeline (ScWhipPeer *peer, const ScWhipConfig *cfg, GError **error)
{
  g_autoptr (GstClock) clock = gst_system_clock_obtain ();
  g_autoptr (GstBus) bus = NULL;
  g_autofree char *name = g_strdup_printf ("whip-%s", peer->label);

  peer->pipeline = gst_pipeline_new (name);
  peer->webrtc = gst_element_factory_make ("webrtcbin", NULL);
  if (peer->webrtc == NULL) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "webrtcbin is not available");
    return FALSE;
  }
  gst_object_ref_sink (peer->pipeline);
  gst_bin_add (GST_BIN (peer->pipeline), peer->webrtc);
  gst_object_ref (peer->webrtc);
  /* One clock for every pipeline so running times compare (see whip.h);
   * the shared system clock is monotonic by default. */
  gst_pipeline_use_clock (GST_PIPELINE (peer->pipeline), clock);

  g_object_set (peer->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
  if (cfg->stun_server != NULL && *cfg->stun_server != '\0')
    g_object_set (peer->webrtc, "stun-server", cfg->stun_server, NULL);
  if (cfg->turn_server != NULL && *cfg->turn_server != '\0')
    g_object_set (peer->webrtc, "turn-server", cfg->turn_server, NULL);
  if (!sc_whip_configure_ice (peer->webrtc, cfg->ice_host, cfg->udp_port_min,
                              cfg->udp_port_max, error))
    return FALSE;

  g_signal_connect (peer->webrtc, "pad-added",
                    peer->viewer ? G_CALLBACK (sc_whip_forward_pad_added)
                                 : G_CALLBACK (sc_whip_tracks_pad_added), peer);
  if (peer->viewer)
    sc_whip_forward_watch_rtcp (peer);
  g_signal_connect (peer->webrtc, "pad-removed",
                    G_CALLBACK (sc_whip_tracks_pad_removed), peer);
  g_signal_connect (peer->webrtc, "notify::ice-gathering-state",
                    G_CALLBACK (on_gathering_state), peer);
  g_signal_connect (peer->webrtc, "notify::ice-connection-state",
                    G_CALLBACK (sc_whip_peer_connection_state), peer);
  g_signal_connect (peer->webrtc, "notify::connection-state",
                    G_CALLBACK (sc_whip_peer_connection_state), peer);

  bus = gst_pipeline_get_bus (GST_PIPELINE (peer->pipeline));
  peer->bus_source = gst_bus_create_watch (bus);
  g_source_set_callback (peer->bus_source, (GSourceFunc) (void (*) (void)) sc_whip_peer_bus_message,
                         peer, NULL);
  g_source_attach (peer->bus_source, peer->ctx);
  return TRUE;
}

/* Parses and checks @offer_sdp; NULL (with @task returned) when bad. */
static GstSDPMessage *
parse_offer (GTask *task, const char *offer_sdp, gboolean *has_video, gboolean *has_audio)
{
  g_autoptr (GstSDPMessage) sdp = NULL;
  g_autoptr (GError) error = NULL;

  /* A peer must be closed, not just dropped: cancellation is checked by
   * finish_negotiation instead of by GTask. */
  g_task_set_check_cancellable (task, FALSE);
  if (offer_sdp == NULL || *offer_sdp == '\0' ||
      gst_sdp_message_new_from_text (offer_sdp, &sdp) != GST_SDP_OK ||
      gst_sdp_message_medias_len (sdp) == 0 ||
      gst_sdp_message_get_version (sdp) == NULL) {
    g_task_return_new_error (task, SC_ERROR, SC_ERROR_INVALID, "offer is not valid SDP");
    return NULL;
  }
  if (!sc_whip_sdp_check_offer (sdp, has_video, has_audio, &error)) {
    g_task_return_error (task, g_steal_pointer (&error));
    return NULL;
  }
  return g_steal_pointer (&sdp);
}

static ScWhipPeer *
peer_new (const ScWhipConfig *cfg, const char *label)
{
  ScWhipPeer *peer = g_object_new (SC_TYPE_WHIP_PEER, NULL);

  peer->label = g_strdup (label ? label : "peer");
  peer->no_media_timeout_s = cfg->no_media_timeout_s ? cfg->no_media_timeout_s
                                                     : DEFAULT_NO_MEDIA_S;
  peer->gather_timeout_ms = cfg->gather_timeout_ms ? cfg->gather_timeout_ms
                                                   : DEFAULT_GATHER_MS;
  return peer;
}

/* Builds @peer's pipeline, lets @add_transceivers prepare webrtcbin and
 * answers @sdp; the task completes in finish_negotiation. */
static void
negotiate (ScWhipPeer *peer, const ScWhipConfig *cfg, GstSDPMessage *sdp, GTask *task,
           void (*add_transceivers) (ScWhipPeer *peer, gpointer data), gpointer data)
{
  g_autoptr (GError) error = NULL;
  GstWebRTCSessionDescription *offer;
  GstPromise *promise;

  if (!build_pipeline (peer, cfg, &error)) {
    g_task_return_error (task, g_steal_pointer (&error));
    sc_whip_peer_close (peer);
    gst_sdp_message_free (sdp);
    return;
  }
  if (peer->viewer) {
    /* Forwarded timestamps are running times of the source's pipeline. */
    gst_element_set_start_time (peer->pipeline, GST_CLOCK_TIME_NONE);
    gst_element_set_base_time (peer->pipeline, peer->base_time);
  }
  /* webrtcbin must be running before negotiation (notes §1.1). */
  if (gst_element_set_state (peer->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_task_return_new_error (task, SC_ERROR, SC_ERROR_INTERNAL,
                             "cannot start the WHIP pipeline");
    sc_whip_peer_close (peer);
    gst_sdp_message_free (sdp);
    return;
  }
  add_transceivers (peer, data);

  peer->task = g_object_ref (task);
  peer->gather_timeout = g_timeout_source_new (peer->gather_timeout_ms);
  g_source_set_callback (peer->gather_timeout, gather_timeout_cb, peer, NULL);
  g_source_attach (peer->gather_timeout, peer->ctx);
  g_source_unref (peer->gather_timeout);

  gst_sdp_message_copy (sdp, &peer->offer);
  offer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  promise = gst_promise_new_with_change_func (on_remote_set, peer, NULL);
  g_signal_emit_by_name (peer->webrtc, "set-remote-description", offer, promise);
  gst_webrtc_session_description_free (offer);
  /* This ref belongs to the negotiation: finish_negotiation or
   * negotiation_fail drops it. */
  g_object_ref (peer);
}

typedef struct {
  gboolean has_video, has_audio;
} RecvMedia;

static void
add_recv_transceivers (ScWhipPeer *peer, gpointer data)
{
  RecvMedia *media = data;

  if (media->has_video)
    add_recv_transceiver (peer->webrtc,
                          "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000;"
                          "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000");
  if (media->has_audio)
    add_recv_transceiver (peer->webrtc,
                          "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000");
}

void
sc_whip_peer_new_async (const ScWhipConfig *cfg, const char *participant_label,
                        const char *offer_sdp, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (ScWhipPeer) peer = NULL;
  GstSDPMessage *sdp;
  RecvMedia media;

  g_task_set_source_tag (task, sc_whip_peer_new_async);
  sdp = parse_offer (task, offer_sdp, &media.has_video, &media.has_audio);
  if (sdp == NULL)
    return;
  peer = peer_new (cfg, participant_label);
  negotiate (peer, cfg, sdp, task, add_recv_transceivers, &media);
}

static void
add_send_transceivers (ScWhipPeer *peer, gpointer data)
{
  sc_whip_forward_add_transceivers (peer);
}

void
sc_whip_viewer_new_async (const ScWhipConfig *cfg, const char *label, const char *offer_sdp,
                          const ScWhipSendTrack *tracks, guint n_tracks,
                          GstClockTime base_time, ScWhipKeyframeFunc keyframe_cb,
                          gpointer keyframe_data, GDestroyNotify keyframe_notify,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (ScWhipPeer) peer = NULL;
  GstSDPMessage *sdp;
  gboolean has_video, has_audio;

  g_task_set_source_tag (task, sc_whip_peer_new_async);
  peer = peer_new (cfg, label);
  peer->viewer = TRUE;
  peer->base_time = base_time;
  /* Owned from here on, whatever happens to the offer. */
  peer->keyframe_cb = keyframe_cb;
  peer->keyframe_data = keyframe_data;
  peer->keyframe_notify = keyframe_notify;
  sdp = parse_offer (task, offer_sdp, &has_video, &has_audio);
  if (sdp == NULL) {
    sc_whip_peer_close (peer);
    return;
  }
  for (guint i = 0; i < n_tracks; i++) {
    ScWhipSendSlot *slot = &peer->send[tracks[i].kind];

    slot->present = TRUE;
    slot->info = tracks[i];
    slot->ssrc = g_random_int ();
    slot->pt = slot->mline = -1;
  }
  negotiate (peer, cfg, sdp, task, add_send_transceivers, NULL);
}

ScWhipPeer *
sc_whip_peer_new_finish (GAsyncResult *result, char **answer_sdp, GError **error)
{
  ScWhipPeer *peer;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  peer = g_task_propagate_pointer (G_TASK (result), error);
  if (peer == NULL)
    return NULL;
  if (answer_sdp != NULL)
    *answer_sdp = g_strdup (g_task_get_task_data (G_TASK (result)));
  return peer;
}

/* ---- teardown ------------------------------------------------------------ */

static void
stop_in_thread (GTask *task, gpointer source, gpointer task_data,
                GCancellable *cancellable)
{
  /* A viewer's appsrcs are live and take frames as buffer lists. */
  sc_core_pipeline_stop (GST_ELEMENT (task_data));
  g_task_return_boolean (task, TRUE);
}

void
sc_whip_peer_close (ScWhipPeer *peer)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (SC_IS_WHIP_PEER (peer));
  if (!g_atomic_int_compare_and_exchange (&peer->closed, 0, 1))
    return;
  g_clear_pointer (&peer->watchdog, g_source_destroy);
  g_clear_pointer (&peer->gather_timeout, g_source_destroy);
  if (peer->bus_source != NULL) {
    g_source_destroy (peer->bus_source);
    g_clear_pointer (&peer->bus_source, g_source_unref);
  }
  /* Tearing webrtcbin down removes its pads; the handlers must not run on a
   * peer that may be finalized by then (it froze the main loop). */
  if (peer->webrtc != NULL)
    g_signal_handlers_disconnect_by_data (peer->webrtc, peer);
  if (peer->pipeline == NULL)
    return;
  /* The task keeps the peer (and so its tracks) alive until the streaming
   * threads are joined by the NULL transition. */
  task = g_task_new (peer, NULL, NULL, NULL);
  g_task_set_task_data (task, gst_object_ref (peer->pipeline), gst_object_unref);
  g_task_run_in_thread (task, stop_in_thread);
}

/* ---- GObject -------------------------------------------------------------- */

static void
sc_whip_peer_finalize (GObject *object)
{
  ScWhipPeer *peer = SC_WHIP_PEER (object);

  if (!g_atomic_int_get (&peer->closed)) {
    g_warning ("whip peer %s finalized without sc_whip_peer_close", peer->label);
    g_atomic_int_set (&peer->closed, 1);
    g_clear_pointer (&peer->watchdog, g_source_destroy);
    if (peer->bus_source != NULL) {
      g_source_destroy (peer->bus_source);
      g_clear_pointer (&peer->bus_source, g_source_unref);
    }
  }
  if (peer->pipeline != NULL)
    gst_element_set_state (peer->pipeline, GST_STATE_NULL);
  /* Disposing webrtcbin removes its pads: keep pad-removed off a dying peer. */
  if (peer->webrtc != NULL)
    g_signal_handlers_disconnect_by_data (peer->webrtc, peer);
  g_clear_object (&peer->task);
  g_clear_pointer (&peer->offer, gst_sdp_message_free);
  sc_whip_tracks_free_taps (peer);
  sc_whip_forward_clear (peer);
  g_ptr_array_unref (peer->tracks);
  g_clear_pointer (&peer->webrtc, gst_object_unref);
  g_clear_pointer (&peer->pipeline, gst_object_unref);
  g_main_context_unref (peer->ctx);
  g_mutex_clear (&peer->lock);
  sc_whip_media_box_release (peer->media);
  g_free (peer->label);
  G_OBJECT_CLASS (sc_whip_peer_parent_class)->finalize (object);
}

static void
sc_whip_peer_init (ScWhipPeer *peer)
{
  peer->ctx = g_main_context_ref_thread_default ();
  peer->created_us = g_get_monotonic_time ();
  peer->audio_level = -127;
  peer->media = sc_whip_media_box_new ();
  g_mutex_init (&peer->lock);
  peer->taps = g_ptr_array_new ();
  peer->tracks = g_ptr_array_new_with_free_func (g_free);
}

static void
sc_whip_peer_class_init (ScWhipPeerClass *klass)
{
  GObjectClass *oclass = G_OBJECT_CLASS (klass);

  oclass->finalize = sc_whip_peer_finalize;
  signals[SIG_TRACK_ADDED] = g_signal_new ("track-added", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
  signals[SIG_TRACK_REMOVED] = g_signal_new ("track-removed", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
  signals[SIG_FIRST_FRAME] = g_signal_new ("first-frame", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[SIG_AUDIO_LEVEL] = g_signal_new ("audio-level", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_DOUBLE);
  signals[SIG_ENDED] = g_signal_new ("ended", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
}

const char *
sc_whip_peer_get_label (ScWhipPeer *peer)
{
  return peer->label;
}

GstClockTime
sc_whip_peer_get_base_time (ScWhipPeer *peer)
{
  return gst_element_get_base_time (peer->pipeline);
}

guint
sc_whip_peer_get_send_tracks (ScWhipPeer *peer, ScWhipSendTrack *tracks)
{
  g_return_val_if_fail (SC_IS_WHIP_PEER (peer), 0);
  memcpy (tracks, peer->published, peer->n_published * sizeof *tracks);
  return peer->n_published;
}

gdouble
sc_whip_peer_get_audio_level (ScWhipPeer *peer)
{
  gdouble v;

  g_mutex_lock (&peer->lock);
  v = peer->audio_level;
  g_mutex_unlock (&peer->lock);
  return v;
}
