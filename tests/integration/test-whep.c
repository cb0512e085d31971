/* WHEP subscriptions to a participant (POST
 * /rt/v1/spaces/ID/participants/PID/whep): `spacecast publish` publishes,
 * and a webrtcbin in this process subscribes the way a browser would
 * (recvonly audio + video, no trickle), decoding the forwarded VP8; and
 * the program preview of a broadcast, in H.264.  One daemon serves every
 * case. */
#include "harness.h"
#include "spacecast/jwt.h"

#include <gst/gst.h>
#include <string.h>

static ScHarness *h;
static char *kid, *priv;

static char *
sign (const char *space, const char *role, const char *participant)
{
  g_autoptr (GError) error = NULL;
  char *t = sc_jwt_sign_space_token (priv, kid, space, role, participant, 3600, TRUE, &error);
  g_assert_no_error (error);
  return t;
}

typedef struct {
  char *space, *pub_token, *sub_token, *path;
  GSubprocess *publisher;
} Room;

static void
room_open_with (Room *room, const char *const *args)
{
  room->space = sc_harness_create_space (h);
  room->pub_token = sign (room->space, NULL, "ann");
  room->sub_token = sign (room->space, "subscriber", NULL);
  room->path = g_strdup_printf ("/rt/v1/spaces/%s/participants/ann/whep", room->space);
  g_autofree char *loc = NULL;
  room->publisher = sc_harness_whip_publish (h, room->space, room->pub_token, args, &loc);
  g_autoptr (JsonObject) p = sc_harness_wait_participants (h, room->space, 1, 0, 20);
}

static void
room_open (Room *room)
{
  /* Key frames 30 s apart: a subscriber sees a picture soon only if its
   * key frame request reached the publisher. */
  const char *const args[] = { "--keyframe-interval", "900", NULL };
  room_open_with (room, args);
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

/* Subscribers that join mid-GOP see a picture at once: their key frame
 * requests reach the publisher.  Without them the first picture would wait
 * for the publisher's next key frame, up to 30 s away; how soon it comes
 * (a few hundred ms) is a figure for the benchmark, not a bound here. */
static void
test_subscribe (void)
{
  Room room = { 0 };
  room_open (&room);
  for (guint i = 0; i < 3; i++) {
    ScHarnessWhep *s = sc_harness_whep_new (TRUE);
    sc_harness_whep_start (h, s, room.path, i == 1 ? room.pub_token : room.sub_token);
    sc_harness_whep_wait (s, 30, 10);
    double ms = (s->first_frame_us - s->posted_us) / 1000.0;
    g_test_message ("subscriber %u: first decoded frame %.0f ms after its POST", i, ms);
    g_assert_cmpfloat (ms, <, 10000);
    g_assert_cmpuint (sc_harness_whep_delete (h, s->location, room.sub_token), ==, 200);
    g_assert_cmpuint (sc_harness_whep_delete (h, s->location, room.sub_token), ==, 404);
    sc_harness_whep_free (s);
    /* Later in the publisher's GOP each time. */
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
  ScHarnessWhep *s = sc_harness_whep_new (TRUE);
  sc_harness_whep_start (h, s, room.path, room.sub_token);
  sc_harness_whep_report_often (s);
  sc_harness_whep_wait (s, 10, 10);
  /* Past the viewers' no-RTCP timeout (8 s at least, whatever
   * --participant-timeout says). */
  g_usleep (9 * G_USEC_PER_SEC);
  gint before = g_atomic_int_get (&s->frames);
  g_usleep (500 * 1000);
  g_assert_cmpint (g_atomic_int_get (&s->frames), >, before);

  sc_harness_stop_publisher (g_steal_pointer (&room.publisher), FALSE);
  g_autoptr (JsonObject) none = sc_harness_wait_participants (h, room.space, 0, 0, 10);
  g_assert_cmpuint (sc_harness_whep_delete (h, s->location, room.sub_token), ==, 404);
  ScHarnessWhep *late = sc_harness_whep_new (TRUE);
  g_autofree char *offer = sc_harness_whep_offer (late);
  g_autoptr (ScResponse) r = sc_harness_whep_post (h, room.path, room.sub_token,
                                                   "application/sdp", offer);
  g_assert_cmpuint (r->status, ==, 404);
  sc_harness_whep_free (late);
  sc_harness_whep_free (s);
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
  ScHarnessWhep *s = sc_harness_whep_new (TRUE);
  g_autofree char *offer = sc_harness_whep_offer (s);

  g_autoptr (ScResponse) r1 = sc_harness_whep_post (h, room.path, NULL, "application/sdp", offer);
  assert_refused (r1, 401, "space JWT");
  g_autofree char *other = sc_harness_create_space (h);
  g_autofree char *stranger = sign (other, "subscriber", NULL);
  g_autoptr (ScResponse) r2 = sc_harness_whep_post (h, room.path, stranger, "application/sdp",
                                                    offer);
  g_assert_cmpuint (r2->status, ==, 401);
  g_autofree char *nobody = g_strdup_printf ("/rt/v1/spaces/%s/participants/bob/whep", room.space);
  g_autoptr (ScResponse) r3 = sc_harness_whep_post (h, nobody, room.sub_token,
                                                    "application/sdp", offer);
  assert_refused (r3, 404, "participant bob is not connected");
  g_autoptr (ScResponse) r4 = sc_harness_whep_post (h, room.path, room.sub_token,
                                                    "text/plain", offer);
  assert_refused (r4, 415, "application/sdp");
  g_autoptr (GString) sendonly = g_string_new (offer);
  g_string_replace (sendonly, "a=recvonly", "a=sendonly", 0);
  g_autoptr (ScResponse) r5 = sc_harness_whep_post (h, room.path, room.sub_token, "application/sdp",
                                          sendonly->str);
  assert_refused (r5, 400, "a viewer must receive");
  /* A subscriber's token still cannot publish. */
  g_autofree char *whip = g_strdup_printf ("/rt/v1/spaces/%s/whip", room.space);
  g_autoptr (ScResponse) r6 = sc_harness_whep_post (h, whip, room.sub_token,
                                                    "application/sdp", offer);
  assert_refused (r6, 403, "only publishers may publish");

  /* --space-max-subscriptions 2 */
  ScHarnessWhep *a = sc_harness_whep_new (TRUE), *b = sc_harness_whep_new (TRUE);
  sc_harness_whep_start (h, a, room.path, room.sub_token);
  sc_harness_whep_start (h, b, room.path, room.sub_token);
  g_autoptr (ScResponse) r7 = sc_harness_whep_post (h, room.path, room.sub_token,
                                                    "application/sdp", offer);
  assert_refused (r7, 429, "space_max_subscriptions");
  g_assert_nonnull (soup_message_headers_get_one (r7->headers, "Retry-After"));
  g_assert_cmpuint (sc_harness_whep_delete (h, a->location, room.sub_token), ==, 200);
  ScHarnessWhep *c = sc_harness_whep_new (TRUE);
  sc_harness_whep_start (h, c, room.path, room.sub_token);
  sc_harness_whep_wait (c, 5, 10);
  sc_harness_whep_wait (b, 5, 10);
  sc_harness_whep_free (c);

  /* The preflight a browser sends first. */
  g_autoptr (ScResponse) r8 = sc_harness_raw (h, "OPTIONS", room.path, NULL, NULL, 0, NULL);
  g_assert_cmpuint (r8->status, ==, 204);
  g_assert_cmpstr (soup_message_headers_get_one (r8->headers, "Access-Control-Allow-Origin"),
                   ==, "*");
  g_assert_nonnull (strstr (soup_message_headers_get_one (r8->headers,
                                                          "Access-Control-Allow-Methods"), "POST"));
  sc_harness_whep_free (a);
  sc_harness_whep_free (b);
  sc_harness_whep_free (s);
  room_close (&room);
}

/* The program preview (POST /rt/v1/spaces/ID/broadcasts/BID/whep): the
 * broadcast's own H.264 and its mix in Opus play in a viewer that offers
 * H.264 as Chromium does; refusals, the viewer cap (1 here), DELETE, and a
 * broadcast that stops ends its sessions. */
static void
test_preview (void)
{
  Room room = { 0 };
  room_open (&room);
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, 0);
  g_autofree char *b = sc_harness_create_broadcast (h, room.space,
                                                    json_object_get_string_member (ls, "id"),
                                                    "gallery");
  g_autofree char *path = g_strdup_printf ("/rt/v1/spaces/%s/broadcasts/%s/whep", room.space, b);
  g_autofree char *basic = sc_harness_basic_auth (h);
  ScHarnessWhep *s = sc_harness_whep_new_h264 (TRUE);
  g_autofree char *offer = sc_harness_whep_offer (s);

  g_autoptr (ScResponse) r1 = sc_harness_whep_post (h, path, NULL, "application/sdp", offer);
  assert_refused (r1, 401, "Basic");
  g_autoptr (ScResponse) r2 = sc_harness_whep_post (h, path, room.sub_token, "application/sdp",
                                                    offer);
  assert_refused (r2, 409, "is not running");
  g_autofree char *nobody = g_strdup_printf ("/rt/v1/spaces/%s/broadcasts/nope/whep", room.space);
  g_autoptr (ScResponse) r3 = sc_harness_raw (h, "POST", nobody, "application/sdp", offer,
                                              strlen (offer), basic);
  assert_refused (r3, 404, "nope");

  g_assert_cmpuint (sc_harness_broadcast_action (h, room.space, b, "start"), ==, 200);
  g_autoptr (JsonObject) running = sc_harness_wait_broadcast_running (h, room.space, b, 20);
  g_autoptr (ScResponse) r4 = sc_harness_whep_post (h, path, room.sub_token, "text/plain", offer);
  assert_refused (r4, 415, "application/sdp");
  /* The program is H.264 only: a VP8 offer cannot receive it. */
  ScHarnessWhep *vp8 = sc_harness_whep_new (FALSE);
  g_autofree char *vp8_offer = sc_harness_whep_offer (vp8);
  g_autoptr (ScResponse) r8 = sc_harness_whep_post (h, path, room.sub_token, "application/sdp",
                                                    vp8_offer);
  assert_refused (r8, 422, "H264");
  sc_harness_whep_free (vp8);
  /* Nor an H.264 offer whose every payload type is baseline: the
   * program is Main (pipelines/x264enc.pipeline). */
  g_autofree char *baseline = g_strdup (offer);
  for (char *p = baseline; (p = strstr (p, "profile-level-id=4d")) != NULL; )
    memcpy (p + 17, "42", 2);
  g_autoptr (ScResponse) r9 = sc_harness_whep_post (h, path, room.sub_token, "application/sdp",
                                                    baseline);
  assert_refused (r9, 422, "profile-level-id 4d");

  /* A subscriber token watches; it decodes the broadcast's H.264 and
   * receives Opus. */
  ScHarnessWhep *a = sc_harness_whep_new_h264 (TRUE);
  sc_harness_whep_start (h, a, path, room.sub_token);
  sc_harness_whep_wait (a, 10, 10);
  g_test_message ("preview: first frame %.0f ms after the POST",
                  (a->first_frame_us - a->posted_us) / 1000.0);
  /* --broadcast-preview-max-viewers 1 */
  g_autoptr (ScResponse) r5 = sc_harness_raw (h, "POST", path, "application/sdp", offer,
                                              strlen (offer), basic);
  assert_refused (r5, 429, "broadcast_preview_max_viewers");
  g_assert_nonnull (soup_message_headers_get_one (r5->headers, "Retry-After"));
  g_assert_cmpuint (sc_harness_whep_delete (h, a->location, room.sub_token), ==, 200);
  g_assert_cmpuint (sc_harness_whep_delete (h, a->location, room.sub_token), ==, 404);

  /* API credentials watch too, once there is room again. */
  g_autoptr (ScResponse) r6 = sc_harness_raw (h, "POST", path, "application/sdp", offer,
                                              strlen (offer), basic);
  g_assert_cmpuint (r6->status, ==, 201);
  const char *loc = soup_message_headers_get_one (r6->headers, "Location");
  g_assert_true (g_str_has_prefix (loc, path));
  gsize len;
  const char *body = g_bytes_get_data (r6->body, &len);
  g_autofree char *answer = g_strndup (body, len);
  g_assert_nonnull (strstr (answer, "H264/90000"));
  g_assert_nonnull (strstr (answer, "OPUS/48000"));
  /* x264enc's Main profile (pipelines/x264enc.pipeline) answers on the
   * offer's Main payload type, with that type's profile-level-id. */
  g_assert_nonnull (strstr (answer, "profile-level-id=4d001f"));
  g_autoptr (ScResponse) r7 = sc_harness_raw (h, "OPTIONS", loc, NULL, NULL, 0, NULL);
  g_assert_cmpuint (r7->status, ==, 204);
  g_assert_cmpstr (soup_message_headers_get_one (r7->headers, "Access-Control-Allow-Origin"),
                   ==, "*");

  /* A stopped broadcast ends its viewers' sessions. */
  g_assert_cmpuint (sc_harness_broadcast_action (h, room.space, b, "stop"), ==, 200);
  g_assert_cmpuint (sc_harness_whep_delete (h, loc, room.sub_token), ==, 404);
  sc_harness_whep_free (a);
  sc_harness_whep_free (s);
  room_close (&room);
}

static void
slow_frame (GstBuffer *frame, GstCaps *caps, gpointer data)
{
  g_usleep (200 * 1000);
}

static guint
fresh_frames (ScHarnessClock *c)
{
  g_mutex_lock (&c->lock);
  guint n = c->ages->len;
  g_mutex_unlock (&c->lock);
  return n;
}

/* Over 3 s: the distinct captured frames that reached the program
 * preview (the broadcast's live content, not the compositor repeating
 * its last frame) and the fast subscriber, and the broadcast's fps. */
typedef struct { guint preview, fast; double fps; } Window;

static Window
measure (ScHarnessClock *pc, ScHarnessClock *fc, const char *space, const char *b,
         const char *what)
{
  Window w;
  guint p0 = fresh_frames (pc), f0 = fresh_frames (fc);
  g_usleep (3 * G_USEC_PER_SEC);
  w.preview = fresh_frames (pc) - p0;
  w.fast = fresh_frames (fc) - f0;
  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s/broadcasts/%s", space, b);
  g_autoptr (JsonObject) o = sc_harness_get_data (h, path);
  /* A daemon whose main loop waits on a viewer answers nothing. */
  g_assert_nonnull (o);
  JsonObject *health = json_object_get_object_member (o, "health");
  w.fps = json_object_get_double_member (health, "output_fps");
  g_test_message ("%s: over 3 s, %u fresh frames in the preview, %u at the fast subscriber, "
                  "broadcast %.1f fps",
                  what, w.preview, w.fast, w.fps);
  return w;
}

/* A subscriber that cannot keep up never holds back the publisher, the
 * broadcast or the other subscribers: one that never completes ICE/DTLS
 * (webrtcbin holds its sink pads until DTLS is up, so its queue fills),
 * then one that takes 200 ms over each frame (its socket overflows, it
 * asks for retransmissions and key frames).  Measured against a window
 * before either, so that a loaded machine moves both alike. */
static void
test_slow_subscriber (void)
{
  Room room = { 0 };
  const char *const args[] = { "--width", "640", "--height", "360", "--capture-clock", NULL };
  room_open_with (&room, args);
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, 0);
  g_autofree char *b = sc_harness_create_broadcast (h, room.space,
                                                    json_object_get_string_member (ls, "id"),
                                                    "gallery");
  g_assert_cmpuint (sc_harness_broadcast_action (h, room.space, b, "start"), ==, 200);
  g_autoptr (JsonObject) running = sc_harness_wait_broadcast_running (h, room.space, b, 20);
  g_autofree char *ppath = g_strdup_printf ("/rt/v1/spaces/%s/broadcasts/%s/whep", room.space, b);

  ScHarnessClock *pc = sc_harness_clock_new (), *fc = sc_harness_clock_new ();
  ScHarnessWhep *preview = sc_harness_whep_new_h264 (TRUE), *fast = sc_harness_whep_new (TRUE);
  preview->on_video = sc_harness_clock_on_video;
  preview->on_video_data = pc;
  fast->on_video = sc_harness_clock_on_video;
  fast->on_video_data = fc;
  sc_harness_whep_start (h, preview, ppath, room.sub_token);
  sc_harness_whep_start (h, fast, room.path, room.sub_token);
  sc_harness_whep_wait (preview, 10, 10);
  sc_harness_whep_wait (fast, 10, 10);
  sc_harness_clock_measure (pc, TRUE);
  sc_harness_clock_measure (fc, TRUE);
  Window base = measure (pc, fc, room.space, b, "no slow subscriber");
  /* The clock must be readable for the comparison to mean anything. */
  g_assert_cmpuint (base.preview, >=, 30);
  g_assert_cmpuint (base.fast, >=, 30);

  ScHarnessWhep *stalled = sc_harness_whep_new (TRUE);
  g_autofree char *offer = sc_harness_whep_offer (stalled);
  g_autoptr (ScResponse) r = sc_harness_whep_post (h, room.path, room.sub_token,
                                                   "application/sdp", offer);
  g_assert_cmpuint (r->status, ==, 201);
  Window w1 = measure (pc, fc, room.space, b, "a subscriber stalled before DTLS");
  g_assert_cmpuint (sc_harness_whep_delete (h, soup_message_headers_get_one (r->headers,
                                                                             "Location"),
                                            room.sub_token), ==, 200);

  ScHarnessWhep *slow = sc_harness_whep_new (TRUE);
  slow->on_video = slow_frame;
  sc_harness_whep_start (h, slow, room.path, room.sub_token);
  sc_harness_whep_wait (slow, 2, 10);
  Window w2 = measure (pc, fc, room.space, b, "a subscriber at 5 frames/s");
  g_assert_cmpuint (sc_harness_whep_delete (h, slow->location, room.sub_token), ==, 200);

  const Window *ws[] = { &w1, &w2 };
  for (guint i = 0; i < G_N_ELEMENTS (ws); i++) {
    g_assert_cmpuint (ws[i]->preview * 2, >=, base.preview);
    g_assert_cmpuint (ws[i]->fast * 2, >=, base.fast);
    g_assert_cmpfloat (ws[i]->fps * 2, >=, base.fps);
  }
  g_assert_cmpuint (sc_harness_broadcast_action (h, room.space, b, "stop"), ==, 200);
  sc_harness_whep_free (slow);
  sc_harness_whep_free (stalled);
  sc_harness_whep_free (fast);
  sc_harness_whep_free (preview);
  sc_harness_clock_free (pc);
  sc_harness_clock_free (fc);
  room_close (&room);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  const char *args[] = { "--participant-timeout", "2", "--space-max-subscriptions", "2",
                         "--broadcast-preview-max-viewers", "1", NULL };
  h = sc_harness_start (args);
  sc_harness_create_signing_key (h, &kid, &priv);
  g_test_add_func ("/whep/subscribe", test_subscribe);
  g_test_add_func ("/whep/publisher-leaves", test_publisher_leaves);
  g_test_add_func ("/whep/refusals", test_refusals);
  g_test_add_func ("/whep/preview", test_preview);
  g_test_add_func ("/whep/slow-subscriber", test_slow_subscriber);
  int rc = g_test_run ();
  sc_harness_free (h);
  g_free (kid);
  g_free (priv);
  return rc;
}
