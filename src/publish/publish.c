/* The WHIP publishing client.  webrtcbin reports on its own threads; every
 * step that touches libsoup or the owner runs on the caller's main context
 * through publish_defer (an idle source, never inline). */
#define GST_USE_UNSTABLE_API
#include "spacecast/publish.h"
#include "publish-private.h"
#include "spacecast/whip.h"
#include "spacecast/core.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <libsoup/soup.h>
#include <string.h>

#define GATHER_TIMEOUT_MS 5000

#define VIDEO_RTP_CAPS "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000"
#define H264_RTP_CAPS "application/x-rtp,media=video,encoding-name=H264,payload=102," \
  "clock-rate=90000,packetization-mode=(string)1"
#define AUDIO_RTP_CAPS "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000"

/* Fixed element graph; user-supplied values are set as properties after
 * parsing, never spliced into the description.  VP8 is rate-controlled
 * as browsers do for WebRTC (CBR), so --video-kbps is what goes on the
 * wire: libvpx's default VBR overshoots it (scrolling checkers asked for
 * 1500 kbit/s: 1710 in VBR, 1450 in CBR). */
#define VIDEO_ENC "queue ! vp8enc name=venc deadline=1 cpu-used=8 end-usage=cbr " \
  "! rtpvp8pay pt=96 ! " VIDEO_RTP_CAPS " ! w. "
#define H264_ENC "queue ! x264enc name=venc tune=zerolatency speed-preset=ultrafast " \
  "! video/x-h264,profile=constrained-baseline ! " \
  "rtph264pay pt=102 config-interval=-1 aggregate-mode=zero-latency ! " H264_RTP_CAPS " ! w. "
#define AUDIO_ENC "queue ! opusenc ! rtpopuspay pt=111 ! " AUDIO_RTP_CAPS " ! w. "
#define TEST_DESC "webrtcbin name=w bundle-policy=max-bundle " \
  "videotestsrc name=vsrc is-live=true ! capsfilter name=vcaps ! videoconvert ! %s" \
  "audiotestsrc name=asrc is-live=true wave=sine ! audioconvert ! audioresample ! " \
  "audio/x-raw,rate=48000,channels=2 ! " AUDIO_ENC
#define FILE_DESC "webrtcbin name=w bundle-policy=max-bundle uridecodebin name=dec " \
  "dec. ! queue ! videoconvert ! videoscale ! videorate ! capsfilter name=vcaps ! " \
  "clocksync ! %s" \
  "dec. ! queue ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! " \
  "clocksync ! " AUDIO_ENC

struct _ScPublish {
  gatomicrefcount rc;
  GMainContext *ctx;
  char         *whip_url;
  char         *token;
  ScPublishEventFunc on_event;
  gpointer      user_data;

  GstElement   *pipeline;
  GstElement   *webrtc;
  GSource      *bus_source;
  GSource      *timer;           /* gathering timeout, then duration */
  guint         duration_s;
  SoupSession  *session;
  GCancellable *cancel;
  char         *location;
  guint         status;
  gboolean      posted;          /* main context only */
  gboolean      stopped;         /* main context only */
  gboolean      finished;
  gint          dead;            /* atomic: media torn down */
  gint          eos_count;       /* atomic: webrtcbin sink pads that saw EOS */
};

static ScPublish *
publish_ref (ScPublish *pub)
{
  g_atomic_ref_count_inc (&pub->rc);
  return pub;
}

static void
publish_unref (ScPublish *pub)
{
  if (!g_atomic_ref_count_dec (&pub->rc))
    return;
  g_clear_pointer (&pub->pipeline, gst_object_unref);
  g_clear_pointer (&pub->webrtc, gst_object_unref);
  g_clear_object (&pub->session);
  g_clear_object (&pub->cancel);
  g_main_context_unref (pub->ctx);
  g_free (pub->whip_url);
  g_free (pub->token);
  g_free (pub->location);
  g_free (pub);
}

typedef void (*PublishMainFunc) (ScPublish *pub);

typedef struct {
  ScPublish *pub;
  PublishMainFunc func;
} Deferred;

static gboolean
deferred_dispatch (gpointer data)
{
  Deferred *d = data;

  if (!d->pub->stopped)
    d->func (d->pub);
  return G_SOURCE_REMOVE;
}

static void
deferred_free (gpointer data)
{
  Deferred *d = data;

  publish_unref (d->pub);
  g_free (d);
}

static void
publish_defer (ScPublish *pub, PublishMainFunc func)
{
  Deferred *d;
  GSource *source;

  if (g_atomic_int_get (&pub->dead))
    return;
  d = g_new0 (Deferred, 1);
  d->pub = publish_ref (pub);
  d->func = func;
  source = g_idle_source_new ();
  g_source_set_callback (source, deferred_dispatch, d, deferred_free);
  g_source_attach (source, pub->ctx);
  g_source_unref (source);
}

static void
emit (ScPublish *pub, ScPublishEvent ev, const GError *error)
{
  if (pub->on_event != NULL)
    pub->on_event (pub, ev, error, pub->user_data);
}

/* ---- teardown ------------------------------------------------------------ */

static void
kill_media (ScPublish *pub)
{
  g_atomic_int_set (&pub->dead, 1);
  g_clear_pointer (&pub->timer, g_source_destroy);
  if (pub->bus_source != NULL) {
    g_source_destroy (pub->bus_source);
    g_clear_pointer (&pub->bus_source, g_source_unref);
  }
  g_cancellable_cancel (pub->cancel);
  if (pub->pipeline != NULL)
    gst_element_set_state (pub->pipeline, GST_STATE_NULL);
}

static void
finish (ScPublish *pub)
{
  if (pub->finished)
    return;
  pub->finished = TRUE;
  emit (pub, SC_PUBLISH_EVENT_FINISHED, NULL);
}

static void
on_delete_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ScPublish *pub = user_data;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &error);
  if (body == NULL)
    g_debug ("publish: DELETE failed: %s", error->message);
  finish (pub);
  publish_unref (pub);
}

static void
stop_internal (ScPublish *pub, gboolean send_delete)
{
  g_autoptr (SoupMessage) msg = NULL;

  if (pub->stopped)
    return;
  pub->stopped = TRUE;
  kill_media (pub);
  if (!send_delete || pub->location == NULL) {
    finish (pub);
    return;
  }
  msg = soup_message_new (SOUP_METHOD_DELETE, pub->location);
  if (msg == NULL) {
    finish (pub);
    return;
  }
  if (pub->token != NULL) {
    g_autofree char *auth = g_strdup_printf ("Bearer %s", pub->token);
    soup_message_headers_replace (soup_message_get_request_headers (msg),
                                  "Authorization", auth);
  }
  /* Not pub->cancel: that one was just cancelled with the media. */
  soup_session_send_and_read_async (pub->session, msg, G_PRIORITY_DEFAULT, NULL,
                                    on_delete_done, publish_ref (pub));
}

static void
fail (ScPublish *pub, GError *error)
{
  if (!pub->stopped)
    emit (pub, SC_PUBLISH_EVENT_FAILED, error);
  g_error_free (error);
  stop_internal (pub, TRUE);
}

void
sc_publish_stop (ScPublish *pub)
{
  stop_internal (pub, TRUE);
}

void
sc_publish_abort (ScPublish *pub)
{
  stop_internal (pub, FALSE);
}

void
sc_publish_free (ScPublish *pub)
{
  if (pub == NULL)
    return;
  pub->on_event = NULL;
  kill_media (pub);
  pub->stopped = TRUE;
  publish_unref (pub);
}

const char *
sc_publish_get_location (ScPublish *pub)
{
  return pub->location;
}

guint
sc_publish_get_status (ScPublish *pub)
{
  return pub->status;
}

/* ---- negotiation ------------------------------------------------------------ */

static void
on_answer_applied (ScPublish *pub)
{
  emit (pub, SC_PUBLISH_EVENT_PUBLISHING, NULL);
}

static void
on_answer_failed (ScPublish *pub)
{
  fail (pub, g_error_new (SC_ERROR, SC_ERROR_INTERNAL,
                          "the WHIP answer was rejected by webrtcbin"));
}

static void
on_remote_set (GstPromise *promise, gpointer user_data)
{
  ScPublish *pub = user_data;
  GstPromiseResult res = gst_promise_wait (promise);
  const GstStructure *reply = res == GST_PROMISE_RESULT_REPLIED
                              ? gst_promise_get_reply (promise) : NULL;
  gboolean ok = res == GST_PROMISE_RESULT_REPLIED &&
                (reply == NULL || !gst_structure_has_field (reply, "error"));

  gst_promise_unref (promise);
  publish_defer (pub, ok ? on_answer_applied : on_answer_failed);
  publish_unref (pub);
}

static gboolean
duration_elapsed (gpointer user_data)
{
  ScPublish *pub = user_data;

  pub->timer = NULL;
  sc_publish_stop (pub);
  return G_SOURCE_REMOVE;
}

static void
on_post_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ScPublish *pub = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), res);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GstSDPMessage) sdp = NULL;
  const char *loc;
  gsize len = 0;
  const char *data;
  g_autofree char *text = NULL;
  GstWebRTCSessionDescription *answer;
  GstPromise *promise;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &error);
  if (pub->stopped)
    goto out;
  if (body == NULL) {
    fail (pub, g_error_new (SC_ERROR, SC_ERROR_UNAVAILABLE,
                            "POST %s failed: %s", pub->whip_url, error->message));
    goto out;
  }
  data = g_bytes_get_data (body, &len);
  text = g_strndup (data ? data : "", len);
  pub->status = soup_message_get_status (msg);
  if (pub->status != SOUP_STATUS_CREATED) {
    fail (pub, g_error_new (SC_ERROR, SC_ERROR_UNAVAILABLE,
                            "WHIP endpoint answered %u %s: %s", pub->status,
                            soup_message_get_reason_phrase (msg), text));
    goto out;
  }
  loc = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Location");
  if (loc != NULL)
    pub->location = g_uri_resolve_relative (pub->whip_url, loc, G_URI_FLAGS_NONE, NULL);
  if (gst_sdp_message_new_from_text (text, &sdp) != GST_SDP_OK ||
      gst_sdp_message_medias_len (sdp) == 0) {
    fail (pub, g_error_new (SC_ERROR, SC_ERROR_INTERNAL,
                            "WHIP endpoint answered 201 without a valid SDP"));
    goto out;
  }
  answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER,
                                               g_steal_pointer (&sdp));
  promise = gst_promise_new_with_change_func (on_remote_set, publish_ref (pub), NULL);
  g_signal_emit_by_name (pub->webrtc, "set-remote-description", answer, promise);
  gst_webrtc_session_description_free (answer);
  if (pub->duration_s > 0) {
    pub->timer = g_timeout_source_new_seconds (pub->duration_s);
    g_source_set_callback (pub->timer, duration_elapsed, pub, NULL);
    g_source_attach (pub->timer, pub->ctx);
    g_source_unref (pub->timer);
  }
out:
  publish_unref (pub);
}

static void
post_offer (ScPublish *pub)
{
  g_autoptr (GstWebRTCSessionDescription) local = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  char *text;

  if (pub->posted)
    return;
  pub->posted = TRUE;
  g_clear_pointer (&pub->timer, g_source_destroy);
  g_object_get (pub->webrtc, "local-description", &local, NULL);
  if (local == NULL) {
    fail (pub, g_error_new (SC_ERROR, SC_ERROR_INTERNAL, "no local offer"));
    return;
  }
  text = gst_sdp_message_as_text (local->sdp);
  body = g_bytes_new_take (text, strlen (text));
  msg = soup_message_new (SOUP_METHOD_POST, pub->whip_url);
  soup_message_set_request_body_from_bytes (msg, "application/sdp", body);
  if (pub->token != NULL) {
    g_autofree char *auth = g_strdup_printf ("Bearer %s", pub->token);
    soup_message_headers_replace (soup_message_get_request_headers (msg),
                                  "Authorization", auth);
  }
  soup_session_send_and_read_async (pub->session, msg, G_PRIORITY_DEFAULT,
                                    pub->cancel, on_post_done, publish_ref (pub));
}

static gboolean
gather_timeout_cb (gpointer user_data)
{
  ScPublish *pub = user_data;

  /* 1.22 may never reach COMPLETE (notes §1.1): send what we have. */
  pub->timer = NULL;
  post_offer (pub);
  return G_SOURCE_REMOVE;
}

static void
on_gathering_state (GstElement *webrtc, GParamSpec *pspec, ScPublish *pub)
{
  GstWebRTCICEGatheringState st;

  g_object_get (webrtc, "ice-gathering-state", &st, NULL);
  if (st == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    publish_defer (pub, post_offer);
}

static void
offer_failed (ScPublish *pub)
{
  fail (pub, g_error_new (SC_ERROR, SC_ERROR_INTERNAL, "cannot create an offer"));
}

static void
on_offer_created (GstPromise *promise, gpointer user_data)
{
  ScPublish *pub = user_data;
  GstWebRTCSessionDescription *offer = NULL;

  if (gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED)
    gst_structure_get (gst_promise_get_reply (promise), "offer",
                       GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  gst_promise_unref (promise);
  if (offer == NULL) {
    publish_defer (pub, offer_failed);
  } else {
    g_signal_emit_by_name (pub->webrtc, "set-local-description", offer, NULL);
    gst_webrtc_session_description_free (offer);
  }
  publish_unref (pub);
}

static gboolean
bus_message (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  ScPublish *pub = user_data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) err = NULL;

    gst_message_parse_error (msg, &err, NULL);
    fail (pub, g_error_new (SC_ERROR, SC_ERROR_INTERNAL, "media pipeline: %s",
                            err->message));
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
    sc_publish_stop (pub);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_LATENCY) {
    /* webrtcbin's RTP session, linked once the answer is in, learns the
     * pipeline's latency only from this: without it every packet has no
     * send time, and the sender reports' RTP times run at twice the clock
     * (the receiver then drops them and cannot lip-sync audio to video). */
    gst_bin_recalculate_latency (GST_BIN (pub->pipeline));
  }
  return G_SOURCE_CONTINUE;
}

static void
file_ended (ScPublish *pub)
{
  sc_publish_stop (pub);
}

static gboolean
count_flowing (GstElement *webrtc, GstPad *pad, gpointer user_data)
{
  if (gst_pad_has_current_caps (pad))
    (*(gint *) user_data)++;
  return TRUE;
}

/* webrtcbin swallows EOS (its sinks never post it), so the end of a file
 * is seen here: once every branch that carried media has ended. */
static GstPadProbeReturn
on_sink_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  ScPublish *pub = user_data;
  gint flowing = 0;

  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  gst_element_foreach_sink_pad (pub->webrtc, count_flowing, &flowing);
  if (g_atomic_int_add (&pub->eos_count, 1) + 1 >= flowing)
    publish_defer (pub, file_ended);
  return GST_PAD_PROBE_OK;
}

/* ---- setup -------------------------------------------------------------------- */

static gboolean
set_sendonly (GstElement *webrtc, GstPad *pad, gpointer user_data)
{
  ScPublish *pub = user_data;
  g_autoptr (GstWebRTCRTPTransceiver) trans = NULL;
  g_autoptr (GstCaps) peer_caps = NULL;
  g_autoptr (GstPad) peer = gst_pad_get_peer (pad);

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_sink_event, pub, NULL);
  g_object_get (pad, "transceiver", &trans, NULL);
  if (trans == NULL || peer == NULL)
    return TRUE;
  /* Preferences make the offer independent of whether media flows yet. */
  peer_caps = gst_pad_query_caps (peer, NULL);
  g_object_set (trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                "codec-preferences", peer_caps, NULL);
  return TRUE;
}

static gboolean
set_enum_by_nick (GObject *obj, const char *prop, const char *nick)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (obj), prop);
  GEnumValue *v;

  if (pspec == NULL || !G_IS_PARAM_SPEC_ENUM (pspec))
    return FALSE;
  v = g_enum_get_value_by_nick (G_PARAM_SPEC_ENUM (pspec)->enum_class, nick);
  if (v == NULL)
    return FALSE;
  g_object_set (obj, prop, v->value, NULL);
  return TRUE;
}

static gboolean
build_pipeline (ScPublish *pub, const ScPublishOptions *opts, GError **error)
{
  g_autoptr (GError) perr = NULL;
  g_autoptr (GstElement) vcaps = NULL;
  g_autoptr (GstCaps) caps = NULL;
  gint w = opts->width > 0 ? opts->width : 640;
  gint h = opts->height > 0 ? opts->height : 360;

  g_autofree char *desc = NULL;
  const char *venc = VIDEO_ENC;
  gboolean h264 = opts->video_codec != NULL && g_ascii_strcasecmp (opts->video_codec, "h264") == 0;

  if (h264)
    venc = H264_ENC;
  else if (opts->video_codec != NULL && g_ascii_strcasecmp (opts->video_codec, "vp8") != 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "unsupported video codec '%s'",
                 opts->video_codec);
    return FALSE;
  }
  desc = g_strdup_printf (opts->file ? FILE_DESC : TEST_DESC, venc);
  pub->pipeline = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &perr);
  if (pub->pipeline == NULL) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "cannot build the media pipeline: %s",
                 perr ? perr->message : "unknown");
    return FALSE;
  }
  gst_object_ref_sink (pub->pipeline);
  pub->webrtc = gst_bin_get_by_name (GST_BIN (pub->pipeline), "w");
  vcaps = gst_bin_get_by_name (GST_BIN (pub->pipeline), "vcaps");
  caps = gst_caps_new_simple ("video/x-raw", "width", G_TYPE_INT, w,
                              "height", G_TYPE_INT, h,
                              "framerate", GST_TYPE_FRACTION, 30, 1, NULL);
  if (opts->capture_clock && opts->sync_flash) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "the capture clock and the sync flash both paint every frame: pick one");
    return FALSE;
  }
  if (opts->sync_flash && opts->file) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "the sync flash replaces the test sources, "
                 "not a file");
    return FALSE;
  }
  if (opts->capture_clock || opts->sync_flash)
    gst_caps_set_simple (caps, "format", G_TYPE_STRING, "I420", NULL);
  if (opts->capture_clock)
    sc_publish_clock_attach (vcaps);
  g_object_set (vcaps, "caps", caps, NULL);
  g_autoptr (GstElement) venc_el = gst_bin_get_by_name (GST_BIN (pub->pipeline), "venc");
  guint kbps = opts->video_kbps ? opts->video_kbps : 800;
  g_object_set (venc_el, h264 ? "key-int-max" : "keyframe-max-dist",
                opts->keyframe_frames ? opts->keyframe_frames : 60, NULL);
  if (h264)
    g_object_set (venc_el, "bitrate", kbps, NULL);
  else
    g_object_set (venc_el, "target-bitrate", (gint) (kbps * 1000), NULL);

  if (opts->file != NULL) {
    g_autoptr (GstElement) dec = gst_bin_get_by_name (GST_BIN (pub->pipeline), "dec");
    g_autofree char *uri = strstr (opts->file, "://") ? g_strdup (opts->file)
                         : gst_filename_to_uri (opts->file, NULL);

    if (uri == NULL) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "bad file '%s'", opts->file);
      return FALSE;
    }
    g_object_set (dec, "uri", uri, NULL);
  } else {
    g_autoptr (GstElement) vsrc = gst_bin_get_by_name (GST_BIN (pub->pipeline), "vsrc");
    g_autoptr (GstElement) asrc = gst_bin_get_by_name (GST_BIN (pub->pipeline), "asrc");
    const char *pattern = opts->video_pattern ? opts->video_pattern : "ball";

    if (opts->has_color) {
      g_object_set (vsrc, "foreground-color", 0xff000000u | (opts->color & 0xffffff), NULL);
      pattern = "solid-color";
    }
    if (!set_enum_by_nick (G_OBJECT (vsrc), "pattern", pattern)) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "unknown video pattern '%s'", pattern);
      return FALSE;
    }
    g_object_set (vsrc, "horizontal-speed", opts->video_speed, NULL);
    g_object_set (asrc, "freq", opts->freq > 0 ? opts->freq : 440.0, NULL);
    if (opts->sync_flash)
      sc_publish_sync_attach (vcaps, asrc);
  }

  if (!sc_whip_configure_ice (pub->webrtc, opts->ice_host, 0, 0, error))
    return FALSE;
  gst_element_foreach_sink_pad (pub->webrtc, set_sendonly, pub);
  g_signal_connect (pub->webrtc, "notify::ice-gathering-state",
                    G_CALLBACK (on_gathering_state), pub);
  return TRUE;
}

ScPublish *
sc_publish_start (const ScPublishOptions *opts, GError **error)
{
  ScPublish *pub;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GUri) uri = NULL;
  GstPromise *promise;

  if (opts->whip_url == NULL ||
      (uri = g_uri_parse (opts->whip_url, G_URI_FLAGS_NONE, NULL)) == NULL ||
      (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 &&
       g_strcmp0 (g_uri_get_scheme (uri), "https") != 0)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "a http(s) WHIP URL is required");
    return NULL;
  }
  if (!gst_is_initialized ())
    gst_init (NULL, NULL);

  pub = g_new0 (ScPublish, 1);
  g_atomic_ref_count_init (&pub->rc);
  pub->ctx = g_main_context_ref_thread_default ();
  pub->whip_url = g_strdup (opts->whip_url);
  pub->token = g_strdup (opts->token);
  pub->on_event = opts->on_event;
  pub->user_data = opts->user_data;
  pub->duration_s = opts->duration_s;
  pub->cancel = g_cancellable_new ();
  pub->session = soup_session_new ();
  if (!build_pipeline (pub, opts, error)) {
    sc_publish_free (pub);
    return NULL;
  }

  bus = gst_pipeline_get_bus (GST_PIPELINE (pub->pipeline));
  pub->bus_source = gst_bus_create_watch (bus);
  g_source_set_callback (pub->bus_source, (GSourceFunc) (void (*) (void)) bus_message,
                         pub, NULL);
  g_source_attach (pub->bus_source, pub->ctx);

  if (gst_element_set_state (pub->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "cannot start the media pipeline");
    sc_publish_free (pub);
    return NULL;
  }
  pub->timer = g_timeout_source_new (GATHER_TIMEOUT_MS);
  g_source_set_callback (pub->timer, gather_timeout_cb, pub, NULL);
  g_source_attach (pub->timer, pub->ctx);
  g_source_unref (pub->timer);

  promise = gst_promise_new_with_change_func (on_offer_created, publish_ref (pub), NULL);
  g_signal_emit_by_name (pub->webrtc, "create-offer", NULL, promise);
  return pub;
}
