/* WHIP publishing into a space against the real daemon: a real publisher
 * (`spacecast publish` as a subprocess) joins, shows up in the participants
 * listing with decoded VP8 and Opus, leaves by DELETE or by vanishing; and
 * every way a join is refused, each leaving the space as it was. */
#include "harness.h"
#include "spacecast/jwt.h"

#include <string.h>

/* Short, so the vanish test does not wait long; real media keeps a
 * connected publisher well inside it. */
#define PARTICIPANT_TIMEOUT_S 5
/* Generous: a loaded 2-core machine runs daemon and publisher side by side. */
#define WAIT_S 60

static ScHarness *h;
static char *kid, *priv;

#define FP "a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:" \
           "32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:A6:85\r\n"

#define VIDEO_SECTION(mid, ssrc)                                     \
  "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"                               \
  "c=IN IP4 0.0.0.0\r\n"                                             \
  "a=setup:actpass\r\n"                                              \
  "a=ice-ufrag:yfRCBRxfOMqSBxNJlHgEkuqWTUdpjeFt\r\n"                 \
  "a=ice-pwd:U5sByyuDQvW8mmuhbIOVNuILMmI5QaEs\r\n"                   \
  "a=rtcp-mux\r\n"                                                   \
  "a=rtcp-rsize\r\n"                                                 \
  "a=sendonly\r\n"                                                   \
  "a=rtpmap:96 VP8/90000\r\n"                                        \
  "a=rtcp-fb:96 nack\r\n"                                            \
  "a=rtcp-fb:96 nack pli\r\n"                                        \
  "a=ssrc:" ssrc " cname:user1920540011@host-3e7e8fa1\r\n"           \
  "a=mid:" mid "\r\n"                                                \
  FP

#define AUDIO_SECTION(mid)                                           \
  "m=audio 0 UDP/TLS/RTP/SAVPF 97\r\n"                               \
  "c=IN IP4 0.0.0.0\r\n"                                             \
  "a=setup:actpass\r\n"                                              \
  "a=ice-ufrag:yfRCBRxfOMqSBxNJlHgEkuqWTUdpjeFt\r\n"                 \
  "a=ice-pwd:U5sByyuDQvW8mmuhbIOVNuILMmI5QaEs\r\n"                   \
  "a=bundle-only\r\n"                                                \
  "a=rtcp-mux\r\n"                                                   \
  "a=sendonly\r\n"                                                   \
  "a=rtpmap:97 OPUS/48000/2\r\n"                                     \
  "a=ssrc:1442301722 cname:user1920540011@host-3e7e8fa1\r\n"         \
  "a=mid:" mid "\r\n"                                                \
  FP

#define SESSION(bundle)                                              \
  "v=0\r\n"                                                          \
  "o=- 1609836520063626870 0 IN IP4 0.0.0.0\r\n"                     \
  "s=-\r\n"                                                          \
  "t=0 0\r\n"                                                        \
  "a=group:BUNDLE " bundle "\r\n"

/* What webrtcbin sends with max-bundle (as `spacecast publish` does). */
static const char good_offer[] =
  SESSION ("video0 audio1") VIDEO_SECTION ("video0", "3245566183") AUDIO_SECTION ("audio1");

/* A second camera in one session: well-formed, but one participant
 * publishes at most one video and one audio track. */
static const char two_video_offer[] =
  SESSION ("video0 audio1 video2") VIDEO_SECTION ("video0", "3245566183")
  AUDIO_SECTION ("audio1") VIDEO_SECTION ("video2", "3245566190");

/* ---- helpers ---------------------------------------------------------- */

static void
assert_idle (const char *space_id)
{
  g_autofree char *session = NULL;
  g_autofree char *status = sc_harness_space_status (h, space_id, &session);
  g_assert_cmpstr (status, ==, "idle");
  g_assert_null (session);
}

/* "connection_id,connection_id,..." in listing order: what "unchanged" means. */
static char *
participants_fingerprint (const char *space_id)
{
  g_autoptr (JsonArray) ps = sc_harness_participants (h, space_id);
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < json_array_get_length (ps); i++) {
    JsonObject *p = json_array_get_object_element (ps, i);
    g_string_append_printf (s, "%s/%s,", json_object_get_string_member (p, "participant_id"),
                            json_object_get_string_member (p, "connection_id"));
  }
  return g_string_free (s, FALSE);
}

static char *
token_for (const char *space_id, const char *role, const char *participant_id)
{
  g_autoptr (GError) error = NULL;
  char *t = sc_jwt_sign_space_token (priv, kid, space_id, role, participant_id, 3600, TRUE,
                                     &error);
  g_assert_no_error (error);
  return t;
}

static char *
whip_path (const char *space_id)
{
  return g_strdup_printf ("/rt/v1/spaces/%s/whip", space_id);
}

static ScResponse *
whip_post (const char *space_id, const char *token, const char *ctype, const char *offer)
{
  g_autofree char *path = whip_path (space_id);
  g_autofree char *auth = token ? g_strconcat ("Bearer ", token, NULL) : NULL;
  return sc_harness_raw (h, "POST", path, ctype, offer, strlen (offer), auth);
}

static char *
b64url (const char *text)
{
  char *s = g_base64_encode ((const guchar *) text, strlen (text));
  g_strdelimit (s, "+", '-');
  g_strdelimit (s, "/", '_');
  char *eq = strchr (s, '=');
  if (eq)
    *eq = '\0';
  return s;
}

static char *
claims_json (const char *space_id, gint64 exp)
{
  return g_strdup_printf ("{\"sub\":\"%s\",\"aud\":\"rt\",\"exp\":%" G_GINT64_FORMAT
                          ",\"kid\":\"%s\"}", space_id, exp, kid);
}

/* ---- tests ------------------------------------------------------------ */

static void
assert_listed (JsonObject *p, const char *participant_id, const char *connection_id)
{
  g_assert_cmpstr (json_object_get_string_member (p, "participant_id"), ==, participant_id);
  g_assert_cmpstr (json_object_get_string_member (p, "connection_id"), ==, connection_id);
  g_assert_cmpstr (json_object_get_string_member (p, "role"), ==, "publisher");
  JsonObject *v = sc_harness_find_track (p, "video"), *a = sc_harness_find_track (p, "audio");
  g_assert_nonnull (v);
  g_assert_nonnull (a);
  g_assert_cmpstr (json_object_get_string_member (v, "codec"), ==, "VP8");
  g_assert_cmpstr (json_object_get_string_member (a, "codec"), ==, "OPUS");
  g_assert_cmpint (json_object_get_int_member (v, "width"), ==, 640);
  g_assert_cmpint (json_object_get_int_member (v, "height"), ==, 360);
}

static void
test_join_and_leave (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *token = token_for (space, NULL, "alice");
  g_autofree char *location = NULL;
  assert_idle (space);

  GSubprocess *pub = sc_harness_whip_publish (h, space, token, NULL, &location);
  g_autofree char *prefix = g_strdup_printf ("/rt/v1/spaces/%s/whip/", space);
  g_assert_true (g_str_has_prefix (location, prefix));
  const char *connection_id = location + strlen (prefix);

  g_autoptr (JsonObject) p = sc_harness_wait_participants (h, space, 1, 10, WAIT_S);
  assert_listed (p, "alice", connection_id);
  /* Media keeps flowing: the decoded counts grow. */
  g_autoptr (JsonObject) later =
      sc_harness_wait_participants (h, space, 1, sc_harness_frames_decoded (p, "video") + 30, WAIT_S);
  g_assert_cmpint (sc_harness_frames_decoded (later, "audio"), >,
                   sc_harness_frames_decoded (p, "audio"));

  g_autofree char *session1 = NULL;
  g_autofree char *status = sc_harness_space_status (h, space, &session1);
  g_assert_cmpstr (status, ==, "active");
  g_assert_nonnull (session1);

  /* The same participant again while connected. */
  g_autofree char *before = participants_fingerprint (space);
  g_autoptr (ScResponse) dup = whip_post (space, token, "application/sdp", good_offer);
  g_assert_cmpuint (dup->status, ==, 409);
  g_autofree char *dup_text = sc_response_error_text (dup);
  g_assert_nonnull (strstr (dup_text, "alice"));
  g_autofree char *after = participants_fingerprint (space);
  g_assert_cmpstr (after, ==, before);

  /* An active space cannot be deleted. */
  g_autofree char *space_path = g_strdup_printf ("/video/v1/spaces/%s", space);
  g_autoptr (ScResponse) busy = sc_harness_request (h, "DELETE", space_path, NULL);
  g_assert_cmpuint (busy->status, ==, 409);

  /* Leave by DELETE on the Location. */
  g_autoptr (ScResponse) del = sc_harness_raw (h, "DELETE", location, NULL, NULL, 0, NULL);
  g_assert_cmpuint (del->status, ==, 200);
  g_autoptr (JsonArray) none = sc_harness_participants (h, space);
  g_assert_cmpuint (json_array_get_length (none), ==, 0);
  assert_idle (space);
  g_autoptr (ScResponse) del2 = sc_harness_raw (h, "DELETE", location, NULL, NULL, 0, NULL);
  g_assert_cmpuint (del2->status, ==, 404);
  sc_harness_stop_publisher (pub, TRUE);

  /* Joining again (the same participant id is free now) opens a new session. */
  g_autofree char *location2 = NULL;
  pub = sc_harness_whip_publish (h, space, token, NULL, &location2);
  g_assert_cmpstr (location2, !=, location);
  g_autoptr (JsonObject) p2 = sc_harness_wait_participants (h, space, 1, 10, WAIT_S);
  assert_listed (p2, "alice", location2 + strlen (prefix));
  g_autofree char *session2 = NULL;
  g_autofree char *status2 = sc_harness_space_status (h, space, &session2);
  g_assert_cmpstr (status2, ==, "active");
  g_assert_nonnull (session2);
  g_assert_cmpstr (session2, !=, session1);

  /* A publisher told to stop DELETEs its session itself. */
  sc_harness_stop_publisher (pub, FALSE);
  sc_harness_wait_participants (h, space, 0, 0, WAIT_S);
  assert_idle (space);
  g_autoptr (ScResponse) gone = sc_harness_raw (h, "DELETE", location2, NULL, NULL, 0, NULL);
  g_assert_cmpuint (gone->status, ==, 404);

  g_autoptr (ScResponse) deleted = sc_harness_request (h, "DELETE", space_path, NULL);
  g_assert_cmpuint (deleted->status, ==, 204);
  g_autoptr (ScResponse) missing = sc_harness_request (h, "GET", space_path, NULL);
  g_assert_cmpuint (missing->status, ==, 404);
}

static void
test_vanish (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *token = token_for (space, "publisher", NULL);
  g_autofree char *location = NULL;
  GSubprocess *pub = sc_harness_whip_publish (h, space, token, NULL, &location);
  g_autoptr (JsonObject) p = sc_harness_wait_participants (h, space, 1, 10, WAIT_S);
  /* No participant_id in the token: the daemon made one up. */
  g_assert_cmpuint (strlen (json_object_get_string_member (p, "participant_id")), >, 0);

  /* kill -9: no DELETE, no DTLS close; only the missing media tells. */
  sc_harness_stop_publisher (pub, TRUE);
  gint64 killed = g_get_monotonic_time ();
  sc_harness_wait_participants (h, space, 0, 0, PARTICIPANT_TIMEOUT_S + 20);
  g_test_message ("vanished publisher removed after %.1f s (timeout %d s)",
                  (g_get_monotonic_time () - killed) / 1e6, PARTICIPANT_TIMEOUT_S);
  assert_idle (space);
  g_autoptr (ScResponse) del = sc_harness_raw (h, "DELETE", location, NULL, NULL, 0, NULL);
  g_assert_cmpuint (del->status, ==, 404);
}

typedef struct {
  const char *what;
  const char *space;         /* NULL: the test space */
  const char *authorization; /* full header, NULL for none */
  const char *ctype;
  const char *offer;
  guint status;
  const char *message_part;  /* in the error text, or NULL */
} Refusal;

static void
check_refusal (const char *space, const Refusal *c)
{
  g_autofree char *before = participants_fingerprint (space);
  g_autofree char *path = whip_path (c->space ? c->space : space);
  g_autoptr (ScResponse) r = sc_harness_raw (h, "POST", path, c->ctype, c->offer,
                                             strlen (c->offer), c->authorization);
  g_test_message ("%s: %u", c->what, r->status);
  if (r->status != c->status)
    g_error ("%s: expected %u, got %u: %.*s", c->what, c->status, r->status,
             (int) g_bytes_get_size (r->body), (const char *) g_bytes_get_data (r->body, NULL));
  g_autofree char *text = sc_response_error_text (r);
  g_assert_cmpuint (strlen (text), >, 0);
  if (c->message_part && !strstr (text, c->message_part))
    g_error ("%s: message \"%s\" does not say \"%s\"", c->what, text, c->message_part);
  g_assert_null (soup_message_headers_get_one (r->headers, "Location"));
  /* Browsers must be able to read the refusal too. */
  g_assert_cmpstr (soup_message_headers_get_one (r->headers, "Access-Control-Allow-Origin"),
                   ==, "*");
  g_autofree char *after = participants_fingerprint (space);
  g_assert_cmpstr (after, ==, before);
}

static void
test_refusals (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *other = sc_harness_create_space (h);
  g_autoptr (GError) error = NULL;

  /* A connected publisher, so "nothing changed" means something. */
  g_autofree char *pub_token = token_for (space, NULL, "bob");
  g_autofree char *location = NULL;
  GSubprocess *pub = sc_harness_whip_publish (h, space, pub_token, NULL, &location);
  g_autoptr (JsonObject) bob = sc_harness_wait_participants (h, space, 1, 5, WAIT_S);
  g_autofree char *session = NULL;
  g_autofree char *st = sc_harness_space_status (h, space, &session);
  g_assert_cmpstr (st, ==, "active");

  g_autofree char *good = token_for (space, NULL, "carol");
  g_autofree char *bearer = g_strconcat ("Bearer ", good, NULL);
  g_autofree char *sub = token_for (space, "subscriber", "dave");
  g_autofree char *bearer_sub = g_strconcat ("Bearer ", sub, NULL);
  g_autofree char *wrong_space = token_for (other, NULL, "erin");
  g_autofree char *bearer_wrong = g_strconcat ("Bearer ", wrong_space, NULL);
  g_autofree char *unknown_tok = token_for ("no-such-space", NULL, NULL);
  g_autofree char *bearer_unknown = g_strconcat ("Bearer ", unknown_tok, NULL);

  /* Expired an hour ago, well beyond the clock-skew leeway. */
  g_autofree char *hdr = g_strdup_printf ("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
  g_autofree char *exp_claims = claims_json (space, g_get_real_time () / G_USEC_PER_SEC - 3600);
  g_autofree char *expired = sc_jwt_sign_rs256 (priv, hdr, exp_claims, &error);
  g_assert_no_error (error);
  g_autofree char *bearer_expired = g_strconcat ("Bearer ", expired, NULL);

  /* Unsigned and HMAC tokens with otherwise valid claims. */
  g_autofree char *claims = claims_json (space, g_get_real_time () / G_USEC_PER_SEC + 3600);
  g_autofree char *claims64 = b64url (claims);
  g_autofree char *none_hdr = g_strdup_printf ("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
  g_autofree char *none_hdr64 = b64url (none_hdr);
  g_autofree char *bearer_none = g_strdup_printf ("Bearer %s.%s.", none_hdr64, claims64);
  g_autofree char *hs_hdr = g_strdup_printf ("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
  g_autofree char *hs_hdr64 = b64url (hs_hdr);
  g_autofree char *hs_input = g_strdup_printf ("%s.%s", hs_hdr64, claims64);
  /* The classic confusion attack: HMAC keyed with public material. */
  g_autofree char *hs_sig = g_compute_hmac_for_string (G_CHECKSUM_SHA256, (const guchar *) kid,
                                                       strlen (kid), hs_input, -1);
  g_autofree char *hs_sig64 = b64url (hs_sig);
  g_autofree char *bearer_hs = g_strdup_printf ("Bearer %s.%s", hs_input, hs_sig64);

  /* A key that signed the token and was deleted afterwards. */
  g_autoptr (ScResponse) k2 = sc_harness_request (h, "POST", "/system/v1/signing-keys", NULL);
  g_assert_cmpuint (k2->status, ==, 201);
  g_autofree char *deleted_token = sc_jwt_sign_space_token (
      sc_response_str (k2, "private_key"), sc_response_str (k2, "id"), space, NULL, "frank",
      3600, TRUE, &error);
  g_assert_no_error (error);
  g_autofree char *k2_path = g_strdup_printf ("/system/v1/signing-keys/%s",
                                              sc_response_str (k2, "id"));
  g_autoptr (ScResponse) k2_del = sc_harness_request (h, "DELETE", k2_path, NULL);
  g_assert_cmpuint (k2_del->status, ==, 204);
  g_autofree char *bearer_deleted = g_strconcat ("Bearer ", deleted_token, NULL);

  const char *sdp = "application/sdp";
  const Refusal cases[] = {
    { "unknown space", "no-such-space", bearer_unknown, sdp, good_offer, 404, NULL },
    { "no credentials", NULL, NULL, sdp, good_offer, 401, "Bearer" },
    { "Basic credentials", NULL, "Basic dGVzdDp0ZXN0", sdp, good_offer, 401, "Bearer" },
    { "garbage bearer", NULL, "Bearer garbage", sdp, good_offer, 401, "malformed" },
    { "empty bearer", NULL, "Bearer ", sdp, good_offer, 401, NULL },
    { "expired token", NULL, bearer_expired, sdp, good_offer, 401, "expired" },
    { "token for another space", NULL, bearer_wrong, sdp, good_offer, 401, "wrong space" },
    { "deleted signing key", NULL, bearer_deleted, sdp, good_offer, 401, "deleted" },
    { "alg none", NULL, bearer_none, sdp, good_offer, 401, "none" },
    { "alg HS256", NULL, bearer_hs, sdp, good_offer, 401, "HS256" },
    { "subscriber role", NULL, bearer_sub, sdp, good_offer, 403, "subscriber" },
    { "same participant as bob", NULL, NULL, sdp, good_offer, 409, "bob" },
    { "garbage SDP", NULL, bearer, sdp, "this is not an SDP offer\r\n", 400, NULL },
    { "two video m-lines", NULL, bearer, sdp, two_video_offer, 422, NULL },
    { "JSON content type", NULL, bearer, "application/json", "{\"sdp\":\"v=0\"}", 415,
      "application/sdp" },
  };
  g_autofree char *bearer_bob = g_strconcat ("Bearer ", pub_token, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    Refusal c = cases[i];
    if (c.status == 409)
      c.authorization = bearer_bob;
    check_refusal (space, &c);
  }

  g_autofree char *session_after = NULL;
  g_autofree char *st_after = sc_harness_space_status (h, space, &session_after);
  g_assert_cmpstr (st_after, ==, "active");
  g_assert_cmpstr (session_after, ==, session);
  g_autoptr (JsonArray) others = sc_harness_participants (h, other);
  g_assert_cmpuint (json_array_get_length (others), ==, 0);
  assert_idle (other);
  g_autoptr (JsonObject) still =
      sc_harness_wait_participants (h, space, 1, sc_harness_frames_decoded (bob, "video"), WAIT_S);
  g_assert_cmpstr (json_object_get_string_member (still, "connection_id"), ==,
                   json_object_get_string_member (bob, "connection_id"));

  sc_harness_stop_publisher (pub, FALSE);
  sc_harness_wait_participants (h, space, 0, 0, WAIT_S);
  assert_idle (space);
}

static void
test_options (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *path = whip_path (space);
  g_autoptr (ScResponse) r = sc_harness_raw (h, "OPTIONS", path, NULL, NULL, 0, NULL);
  g_assert_cmpuint (r->status, ==, 204);
  const char *accept = soup_message_headers_get_one (r->headers, "Accept-Post");
  g_assert_nonnull (accept);
  g_assert_nonnull (strstr (accept, "application/sdp"));
  const char *expose = soup_message_headers_get_list (r->headers, "Access-Control-Expose-Headers");
  g_assert_nonnull (expose);
  g_assert_true (soup_header_contains (expose, "Location"));
  g_assert_cmpstr (soup_message_headers_get_one (r->headers, "Access-Control-Allow-Origin"),
                   ==, "*");
  const char *methods = soup_message_headers_get_list (r->headers, "Access-Control-Allow-Methods");
  g_assert_true (soup_header_contains (methods, "POST"));
  g_assert_true (soup_header_contains (methods, "DELETE"));
  const char *allow = soup_message_headers_get_list (r->headers, "Access-Control-Allow-Headers");
  g_assert_true (soup_header_contains (allow, "Authorization"));
  g_assert_true (soup_header_contains (allow, "Content-Type"));
  assert_idle (space);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *timeout = g_strdup_printf ("--participant-timeout=%d", PARTICIPANT_TIMEOUT_S);
  h = sc_harness_start ((const char *[]) { timeout, NULL });

  sc_harness_create_signing_key (h, &kid, &priv);

  g_test_add_func ("/whip/options", test_options);
  g_test_add_func ("/whip/refusals", test_refusals);
  g_test_add_func ("/whip/join-and-leave", test_join_and_leave);
  g_test_add_func ("/whip/vanish", test_vanish);
  int rc = g_test_run ();
  sc_harness_free (h);
  g_free (kid);
  g_free (priv);
  return rc;
}
