/* WHEP subscribers for tests and benchmarks: a webrtcbin in this process
 * that subscribes the way a browser does (recvonly VP8 + Opus, max-bundle,
 * every candidate in the offer) and counts what it gets. */
#define GST_USE_UNSTABLE_API
#include "harness.h"
#include "spacecast/whip.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <string.h>

static void
on_frame (GstElement *sink, GstBuffer *buf, GstPad *pad, ScHarnessWhep *s)
{
  if (g_atomic_int_add (&s->frames, 1) == 0)
    s->first_frame_us = g_get_monotonic_time ();
  if (s->on_video) {
    g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
    s->on_video (buf, caps, s->on_video_data);
  }
}

static void
on_audio (GstElement *sink, GstBuffer *buf, GstPad *pad, ScHarnessWhep *s)
{
  g_atomic_int_inc (&s->audio_buffers);
}

static void
on_pad_added (GstElement *webrtc, GstPad *pad, ScHarnessWhep *s)
{
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  const char *media = gst_structure_get_string (gst_caps_get_structure (caps, 0), "media");
  gboolean video = g_strcmp0 (media, "video") == 0;
  g_autoptr (GError) error = NULL;
  const char *depay = s->h264 ? "rtph264depay request-keyframe=true ! h264parse"
                              : "rtpvp8depay";
  const char *dec = s->h264 ? "avdec_h264" : "vp8dec";
  g_autofree char *desc = !video ? g_strdup ("fakesink name=sink signal-handoffs=true sync=false")
      : g_strdup_printf ("%s%s%s ! fakesink name=sink signal-handoffs=true sync=false", depay,
                         s->decode ? " ! " : "", s->decode ? dec : "");
  GstElement *bin = gst_parse_bin_from_description (desc, TRUE, &error);
  g_assert_no_error (error);
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (bin), "sink");
  g_signal_connect (sink, "handoff", video ? G_CALLBACK (on_frame) : G_CALLBACK (on_audio), s);
  gst_bin_add (GST_BIN (s->pipeline), bin);
  gst_element_sync_state_with_parent (bin);
  g_autoptr (GstPad) sinkpad = gst_element_get_static_pad (bin, "sink");
  g_assert_cmpint (gst_pad_link (pad, sinkpad), ==, GST_PAD_LINK_OK);
}

static GstStructure *
wait_promise (GstPromise *p)
{
  g_assert_cmpint (gst_promise_wait (p), ==, GST_PROMISE_RESULT_REPLIED);
  const GstStructure *reply = gst_promise_get_reply (p);
  /* set-remote-description replies nothing when it succeeds. */
  g_assert_true (reply == NULL || !gst_structure_has_field (reply, "error"));
  return reply ? gst_structure_copy (reply) : gst_structure_new_empty ("ok");
}

static ScHarnessWhep *
whep_new (gboolean decode, gboolean h264)
{
  ScHarnessWhep *s = g_new0 (ScHarnessWhep, 1);
  s->decode = decode;
  s->h264 = h264;
  g_autoptr (GError) error = NULL;
  s->pipeline = gst_pipeline_new (NULL);
  s->webrtc = gst_element_factory_make ("webrtcbin", NULL);
  g_object_set (s->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
  gst_bin_add (GST_BIN (s->pipeline), s->webrtc);
  g_assert_true (sc_whip_configure_ice (s->webrtc, "127.0.0.1", 0, 0, &error));
  g_signal_connect (s->webrtc, "pad-added", G_CALLBACK (on_pad_added), s);
  g_assert_cmpint (gst_element_set_state (s->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  const char *caps[] = {
    h264 ? "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=108,"
           "packetization-mode=(string)1,level-asymmetry-allowed=(string)1,profile-level-id=(string)42e01f;"
           "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=123,"
           "packetization-mode=(string)1,level-asymmetry-allowed=(string)1,profile-level-id=(string)4d001f"
         : "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96",
    "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,encoding-params=(string)2,payload=111" };
  for (guint i = 0; i < G_N_ELEMENTS (caps); i++) {
    g_autoptr (GstCaps) c = gst_caps_from_string (caps[i]);
    GstWebRTCRTPTransceiver *t = NULL;
    g_signal_emit_by_name (s->webrtc, "add-transceiver",
                           GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, c, &t);
    g_clear_object (&t);
  }
  return s;
}

ScHarnessWhep *
sc_harness_whep_new (gboolean decode)
{
  return whep_new (decode, FALSE);
}

ScHarnessWhep *
sc_harness_whep_new_h264 (gboolean decode)
{
  return whep_new (decode, TRUE);
}

char *
sc_harness_whep_offer (ScHarnessWhep *s)
{
  GstPromise *p = gst_promise_new ();
  g_signal_emit_by_name (s->webrtc, "create-offer", NULL, p);
  g_autoptr (GstStructure) reply = wait_promise (p);
  gst_promise_unref (p);
  GstWebRTCSessionDescription *offer = NULL;
  gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
  g_assert_nonnull (offer);
  g_signal_emit_by_name (s->webrtc, "set-local-description", offer, NULL);
  gst_webrtc_session_description_free (offer);
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  GstWebRTCICEGatheringState st;
  do {
    g_usleep (20 * 1000);
    g_object_get (s->webrtc, "ice-gathering-state", &st, NULL);
  } while (st != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && g_get_monotonic_time () < deadline);
  g_autoptr (GstWebRTCSessionDescription) local = NULL;
  g_object_get (s->webrtc, "local-description", &local, NULL);
  return gst_sdp_message_as_text (local->sdp);
}

ScResponse *
sc_harness_whep_post (ScHarness *h, const char *path, const char *token, const char *ctype,
                      const char *sdp)
{
  g_autofree char *auth = token ? g_strdup_printf ("Bearer %s", token) : NULL;
  return sc_harness_raw (h, "POST", path, ctype, sdp, strlen (sdp), auth);
}

void
sc_harness_whep_report_often (ScHarnessWhep *s)
{
  g_autoptr (GstIterator) it =
      gst_bin_iterate_all_by_element_factory_name (GST_BIN (s->webrtc), "rtpbin");
  GValue v = G_VALUE_INIT;
  g_assert_cmpint (gst_iterator_next (it, &v), ==, GST_ITERATOR_OK);
  g_autoptr (GObject) session = NULL;
  g_signal_emit_by_name (g_value_get_object (&v), "get-internal-session", 0, &session);
  g_assert_nonnull (session);
  g_object_set (session, "rtcp-min-interval", (guint64) GST_SECOND, NULL);
  g_value_unset (&v);
}

void
sc_harness_whep_start (ScHarness *h, ScHarnessWhep *s, const char *path, const char *token)
{
  g_autofree char *offer = sc_harness_whep_offer (s);
  s->posted_us = g_get_monotonic_time ();
  g_autoptr (ScResponse) r = sc_harness_whep_post (h, path, token, "application/sdp", offer);
  if (r->status != 201)
    g_error ("WHEP POST answered %u: %s", r->status, sc_response_error_text (r));
  const char *loc = soup_message_headers_get_one (r->headers, "Location");
  g_assert_nonnull (loc);
  g_assert_true (g_str_has_prefix (loc, path));
  s->location = g_strdup (loc);
  gsize len;
  const char *body = g_bytes_get_data (r->body, &len);
  g_autofree char *text = g_strndup (body, len);
  /* Only what the publisher sends, and sent by us. */
  g_assert_nonnull (strstr (text, "a=sendonly"));
  g_assert_nonnull (strstr (text, s->h264 ? "H264/90000" : "VP8/90000"));
  g_assert_nonnull (strstr (text, "a=ssrc:"));
  GstSDPMessage *sdp = NULL;
  g_assert_cmpint (gst_sdp_message_new_from_text (text, &sdp), ==, GST_SDP_OK);
  GstWebRTCSessionDescription *answer =
      gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
  GstPromise *p = gst_promise_new ();
  g_signal_emit_by_name (s->webrtc, "set-remote-description", answer, p);
  g_autoptr (GstStructure) reply = wait_promise (p);
  gst_promise_unref (p);
  gst_webrtc_session_description_free (answer);
}

void
sc_harness_whep_free (ScHarnessWhep *s)
{
  gst_element_set_state (s->pipeline, GST_STATE_NULL);
  gst_object_unref (s->pipeline);
  g_free (s->location);
  g_free (s);
}

void
sc_harness_whep_wait (ScHarnessWhep *s, gint n, double timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  while (g_atomic_int_get (&s->frames) < n || g_atomic_int_get (&s->audio_buffers) == 0) {
    if (g_get_monotonic_time () > deadline)
      g_error ("subscriber decoded %d video frames and %d audio packets in %.0f s, wanted %d",
               g_atomic_int_get (&s->frames), g_atomic_int_get (&s->audio_buffers),
               timeout_s, n);
    g_usleep (20 * 1000);
  }
}

guint
sc_harness_whep_delete (ScHarness *h, const char *location, const char *token)
{
  g_autofree char *auth = g_strdup_printf ("Bearer %s", token);
  g_autoptr (ScResponse) r = sc_harness_raw (h, "DELETE", location, NULL, NULL, 0, auth);
  return r->status;
}

