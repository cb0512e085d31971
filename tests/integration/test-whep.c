/* WHEP subscriptions to a participant (POST
 * /rt/v1/spaces/ID/participants/PID/whep): `spacecast publish` publishes,
 * and a webrtcbin in this process subscribes the way a browser would
 * (recvonly audio + video, no trickle), decoding the forwarded VP8.  One
 * daemon serves every case. */
#define GST_USE_UNSTABLE_API
#include "harness.h"
#include "spacecast/jwt.h"
#include "spacecast/whip.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <string.h>

static ScHarness *h;
static char *kid, *priv;

typedef struct {
  GstElement *pipeline, *webrtc;
  gint frames;                 /* decoded video frames, atomic */
  gint audio_buffers;          /* received audio packets, atomic */
  gint64 posted_us;            /* when the offer went out */
  gint64 first_frame_us;       /* atomic-ish: set once by the streaming thread */
  char *location;
} Sub;

static char *
sign (const char *space, const char *role, const char *participant)
{
  g_autoptr (GError) error = NULL;
  char *t = sc_jwt_sign_space_token (priv, kid, space, role, participant, 3600, TRUE, &error);
  g_assert_no_error (error);
  return t;
}

static void
on_frame (GstElement *sink, GstBuffer *buf, GstPad *pad, Sub *s)
{
  if (g_atomic_int_add (&s->frames, 1) == 0)
    s->first_frame_us = g_get_monotonic_time ();
}

static void
on_audio (GstElement *sink, GstBuffer *buf, GstPad *pad, Sub *s)
{
  g_atomic_int_inc (&s->audio_buffers);
}

static void
on_pad_added (GstElement *webrtc, GstPad *pad, Sub *s)
{
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  const char *media = gst_structure_get_string (gst_caps_get_structure (caps, 0), "media");
  gboolean video = g_strcmp0 (media, "video") == 0;
  g_autoptr (GError) error = NULL;
  GstElement *bin = gst_parse_bin_from_description (
      video ? "rtpvp8depay ! vp8dec ! fakesink name=sink signal-handoffs=true sync=false"
            : "fakesink name=sink signal-handoffs=true sync=false", TRUE, &error);
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

/* A recvonly offer with every candidate gathered, as a browser sends it. */
static Sub *
sub_new (void)
{
  Sub *s = g_new0 (Sub, 1);
  g_autoptr (GError) error = NULL;
  s->pipeline = gst_pipeline_new (NULL);
  s->webrtc = gst_element_factory_make ("webrtcbin", NULL);
  g_object_set (s->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
  gst_bin_add (GST_BIN (s->pipeline), s->webrtc);
  g_assert_true (sc_whip_configure_ice (s->webrtc, "127.0.0.1", 0, 0, &error));
  g_signal_connect (s->webrtc, "pad-added", G_CALLBACK (on_pad_added), s);
  g_assert_cmpint (gst_element_set_state (s->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  const char *caps[] = { "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96",
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

static char *
sub_offer (Sub *s)
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

static ScResponse *
post_offer (const char *path, const char *token, const char *ctype, const char *sdp)
{
  g_autofree char *auth = token ? g_strdup_printf ("Bearer %s", token) : NULL;
  return sc_harness_raw (h, "POST", path, ctype, sdp, strlen (sdp), auth);
}

/* Receiver reports every second, as browsers send them (GStreamer's
 * default is RFC 3550's 5 s). */
static void
sub_report_often (Sub *s)
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

/* Subscribes @s: asserts the 201 and applies the answer. */
static void
sub_start (Sub *s, const char *path, const char *token)
{
  g_autofree char *offer = sub_offer (s);
  s->posted_us = g_get_monotonic_time ();
  g_autoptr (ScResponse) r = post_offer (path, token, "application/sdp", offer);
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
  g_assert_nonnull (strstr (text, "VP8/90000"));
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

static void
sub_free (Sub *s)
{
  gst_element_set_state (s->pipeline, GST_STATE_NULL);
  gst_object_unref (s->pipeline);
  g_free (s->location);
  g_free (s);
}

static void
wait_frames (Sub *s, gint n, double timeout_s)
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

static guint
delete_session (const char *location, const char *token)
{
  g_autofree char *auth = g_strdup_printf ("Bearer %s", token);
  g_autoptr (ScResponse) r = sc_harness_raw (h, "DELETE", location, NULL, NULL, 0, auth);
  return r->status;
}

typedef struct {
  char *space, *pub_token, *sub_token, *path;
  GSubprocess *publisher;
} Room;

static void
room_open (Room *room)
{
  room->space = sc_harness_create_space (h);
  room->pub_token = sign (room->space, NULL, "ann");
  room->sub_token = sign (room->space, "subscriber", NULL);
  room->path = g_strdup_printf ("/rt/v1/spaces/%s/participants/ann/whep", room->space);
  g_autofree char *loc = NULL;
  room->publisher = sc_harness_whip_publish (h, room->space, room->pub_token, NULL, &loc);
  g_autoptr (JsonObject) p = sc_harness_wait_participants (h, room->space, 1, 0, 20);
}

static void
room_close (Room *room)
{
  if (room->publisher)
    sc_harness_stop_publisher (room->publisher, FALSE);
  g_free (room->space);
  g_free (room->pub_token);
  g_free (room->sub_token);
  g_free (room->path);
}

/* Subscribers that join mid-GOP (the publisher's key frames are 2 s apart)
 * see a picture at once: their key frame requests reach the publisher. */
static void
test_subscribe (void)
{
  Room room = { 0 };
  room_open (&room);
  for (guint i = 0; i < 3; i++) {
    Sub *s = sub_new ();
    sub_start (s, room.path, i == 1 ? room.pub_token : room.sub_token);
    wait_frames (s, 30, 10);
    double ms = (s->first_frame_us - s->posted_us) / 1000.0;
    g_test_message ("subscriber %u: first decoded frame %.0f ms after its POST", i, ms);
    g_assert_cmpfloat (ms, <, 1000);
    g_assert_cmpuint (delete_session (s->location, room.sub_token), ==, 200);
    g_assert_cmpuint (delete_session (s->location, room.sub_token), ==, 404);
    sub_free (s);
    /* A little later in the publisher's GOP each time. */
    g_usleep (450 * 1000);
  }
  room_close (&room);
}

/* A subscriber's RTCP keeps its session alive past the no-media timeout
 * (a viewer sends no media);
 * when the publisher leaves, its subscriptions end. */
static void
test_publisher_leaves (void)
{
  Room room = { 0 };
  room_open (&room);
  Sub *s = sub_new ();
  sub_start (s, room.path, room.sub_token);
  sub_report_often (s);
  wait_frames (s, 10, 10);
  /* Past the viewers' no-RTCP timeout (8 s at least, whatever
   * --participant-timeout says). */
  g_usleep (9 * G_USEC_PER_SEC);
  gint before = g_atomic_int_get (&s->frames);
  g_usleep (500 * 1000);
  g_assert_cmpint (g_atomic_int_get (&s->frames), >, before);

  sc_harness_stop_publisher (g_steal_pointer (&room.publisher), FALSE);
  g_autoptr (JsonObject) none = sc_harness_wait_participants (h, room.space, 0, 0, 10);
  g_assert_cmpuint (delete_session (s->location, room.sub_token), ==, 404);
  Sub *late = sub_new ();
  g_autofree char *offer = sub_offer (late);
  g_autoptr (ScResponse) r = post_offer (room.path, room.sub_token, "application/sdp", offer);
  g_assert_cmpuint (r->status, ==, 404);
  sub_free (late);
  sub_free (s);
  room_close (&room);
}

static void
assert_refused (ScResponse *r, guint status, const char *needle)
{
  g_autofree char *text = sc_response_error_text (r);
  g_test_message ("%u: %s", r->status, text);
  g_assert_cmpuint (r->status, ==, status);
  g_assert_nonnull (strstr (text, needle));
}

/* Bad requests say what is wrong and cost nothing; the cap answers 429. */
static void
test_refusals (void)
{
  Room room = { 0 };
  room_open (&room);
  Sub *s = sub_new ();
  g_autofree char *offer = sub_offer (s);

  g_autoptr (ScResponse) r1 = post_offer (room.path, NULL, "application/sdp", offer);
  assert_refused (r1, 401, "space JWT");
  g_autofree char *other = sc_harness_create_space (h);
  g_autofree char *stranger = sign (other, "subscriber", NULL);
  g_autoptr (ScResponse) r2 = post_offer (room.path, stranger, "application/sdp", offer);
  g_assert_cmpuint (r2->status, ==, 401);
  g_autofree char *nobody = g_strdup_printf ("/rt/v1/spaces/%s/participants/bob/whep", room.space);
  g_autoptr (ScResponse) r3 = post_offer (nobody, room.sub_token, "application/sdp", offer);
  assert_refused (r3, 404, "participant bob is not connected");
  g_autoptr (ScResponse) r4 = post_offer (room.path, room.sub_token, "text/plain", offer);
  assert_refused (r4, 415, "application/sdp");
  g_autoptr (GString) sendonly = g_string_new (offer);
  g_string_replace (sendonly, "a=recvonly", "a=sendonly", 0);
  g_autoptr (ScResponse) r5 = post_offer (room.path, room.sub_token, "application/sdp",
                                          sendonly->str);
  assert_refused (r5, 400, "a viewer must receive");
  /* A subscriber's token still cannot publish. */
  g_autofree char *whip = g_strdup_printf ("/rt/v1/spaces/%s/whip", room.space);
  g_autoptr (ScResponse) r6 = post_offer (whip, room.sub_token, "application/sdp", offer);
  assert_refused (r6, 403, "only publishers may publish");

  /* --space-max-subscriptions 2 */
  Sub *a = sub_new (), *b = sub_new ();
  sub_start (a, room.path, room.sub_token);
  sub_start (b, room.path, room.sub_token);
  g_autoptr (ScResponse) r7 = post_offer (room.path, room.sub_token, "application/sdp", offer);
  assert_refused (r7, 429, "space_max_subscriptions");
  g_assert_nonnull (soup_message_headers_get_one (r7->headers, "Retry-After"));
  g_assert_cmpuint (delete_session (a->location, room.sub_token), ==, 200);
  Sub *c = sub_new ();
  sub_start (c, room.path, room.sub_token);
  wait_frames (c, 5, 10);
  wait_frames (b, 5, 10);
  sub_free (c);

  /* The preflight a browser sends first. */
  g_autoptr (ScResponse) r8 = sc_harness_raw (h, "OPTIONS", room.path, NULL, NULL, 0, NULL);
  g_assert_cmpuint (r8->status, ==, 204);
  g_assert_cmpstr (soup_message_headers_get_one (r8->headers, "Access-Control-Allow-Origin"), ==, "*");
  g_assert_nonnull (strstr (soup_message_headers_get_one (r8->headers,
                                                          "Access-Control-Allow-Methods"), "POST"));
  sub_free (a);
  sub_free (b);
  sub_free (s);
  room_close (&room);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  const char *args[] = { "--participant-timeout", "2", "--space-max-subscriptions", "2", NULL };
  h = sc_harness_start (args);
  sc_harness_create_signing_key (h, &kid, &priv);
  g_test_add_func ("/whep/subscribe", test_subscribe);
  g_test_add_func ("/whep/publisher-leaves", test_publisher_leaves);
  g_test_add_func ("/whep/refusals", test_refusals);
  int rc = g_test_run ();
  sc_harness_free (h);
  g_free (kid);
  g_free (priv);
  return rc;
}
