/* What one token, or many joins at once, can make the daemon spend, and
 * the order of the WHIP door's checks, against the real daemon: admission
 * (one session per token without participant_id, joins answered at once,
 * participants per space, fd headroom under a low RLIMIT_NOFILE), the
 * token checked before the space is looked up, token lifetime, malformed
 * offers, and the ICE servers advertised in Link headers. */
#include "harness.h"
#include "spacecast/jwt.h"

#include <string.h>

#define WAIT_S 60
#define MAX_PENDING 2
#define MAX_PARTICIPANTS 3
/* Long enough that no session of a test ends by itself before it is
 * deleted: these publishers never send media. */
#define PARTICIPANT_TIMEOUT "--participant-timeout=120"

/* A daemon and a signing key of its own. */
typedef struct {
  ScHarness *h;
  char *kid, *priv;
} Door;

static Door *shared;

#define FP "a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:" \
           "32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:A6:85\r\n"

/* What webrtcbin sends with max-bundle; @RTPMAP is its video rtpmap. */
#define OFFER(RTPMAP)                                                \
  "v=0\r\n"                                                          \
  "o=- 1609836520063626870 0 IN IP4 0.0.0.0\r\n"                     \
  "s=-\r\n"                                                          \
  "t=0 0\r\n"                                                        \
  "a=group:BUNDLE video0 audio1\r\n"                                 \
  "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"                               \
  "c=IN IP4 0.0.0.0\r\n"                                             \
  "a=setup:actpass\r\n"                                              \
  "a=ice-ufrag:yfRCBRxfOMqSBxNJlHgEkuqWTUdpjeFt\r\n"                 \
  "a=ice-pwd:U5sByyuDQvW8mmuhbIOVNuILMmI5QaEs\r\n"                   \
  "a=rtcp-mux\r\n"                                                   \
  "a=sendonly\r\n"                                                   \
  RTPMAP                                                             \
  "a=mid:video0\r\n"                                                 \
  FP                                                                 \
  "m=audio 0 UDP/TLS/RTP/SAVPF 97\r\n"                               \
  "c=IN IP4 0.0.0.0\r\n"                                             \
  "a=setup:actpass\r\n"                                              \
  "a=ice-ufrag:yfRCBRxfOMqSBxNJlHgEkuqWTUdpjeFt\r\n"                 \
  "a=ice-pwd:U5sByyuDQvW8mmuhbIOVNuILMmI5QaEs\r\n"                   \
  "a=bundle-only\r\n"                                                \
  "a=rtcp-mux\r\n"                                                   \
  "a=sendonly\r\n"                                                   \
  "a=rtpmap:97 OPUS/48000/2\r\n"                                     \
  "a=mid:audio1\r\n"                                                 \
  FP

static const char offer[] = OFFER ("a=rtpmap:96 VP8/90000\r\n");

/* ---- helpers ---------------------------------------------------------- */

/* With @nofile, under that RLIMIT_NOFILE. */
static Door *
door_start (const char *const *args, guint nofile)
{
  Door *d = g_new0 (Door, 1);
  d->h = sc_harness_start (args);
  if (nofile)
    sc_harness_set_fd_limit (d->h, nofile);
  sc_harness_create_signing_key (d->h, &d->kid, &d->priv);
  return d;
}

static void
door_free (Door *d)
{
  sc_harness_free (d->h);
  g_free (d->kid);
  g_free (d->priv);
  g_free (d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Door, door_free)

static char *
bearer_for (Door *d, const char *space_id, const char *role, const char *participant_id)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *t = sc_jwt_sign_space_token (d->priv, d->kid, space_id, role, participant_id,
                                                3600, TRUE, &error);
  g_assert_no_error (error);
  return g_strconcat ("Bearer ", t, NULL);
}

static ScResponse *
post (ScHarness *d, const char *space_id, const char *authorization, const char *body)
{
  g_autofree char *path = g_strdup_printf ("/rt/v1/spaces/%s/whip", space_id);
  return sc_harness_raw (d, "POST", path, "application/sdp", body, strlen (body),
                         authorization);
}

/* A refusal as a user sees it: the status, a Mux-shaped error of @type
 * whose message says @part, no session. */
static void
assert_refused (ScResponse *r, guint status, const char *type, const char *part)
{
  g_autofree char *text = sc_response_error_text (r);
  if (r->status != status)
    g_error ("expected %u, got %u: %s", status, r->status, text);
  g_assert_cmpstr (sc_response_error_type (r), ==, type);
  if (part && !strstr (text, part))
    g_error ("message \"%s\" does not say \"%s\"", text, part);
  g_assert_null (soup_message_headers_get_one (r->headers, "Location"));
}

static void
assert_retry_after (ScResponse *r)
{
  const char *v = soup_message_headers_get_one (r->headers, "Retry-After");
  g_assert_nonnull (v);
  g_assert_cmpuint (g_ascii_strtoull (v, NULL, 10), >, 0);
}

static void
delete_session (ScHarness *d, ScResponse *created)
{
  const char *location = soup_message_headers_get_one (created->headers, "Location");
  g_assert_nonnull (location);
  g_autoptr (ScResponse) del = sc_harness_raw (d, "DELETE", location, NULL, NULL, 0, NULL);
  g_assert_cmpuint (del->status, ==, 200);
}

static guint
count_status (GPtrArray *responses, guint status)
{
  guint n = 0;
  for (guint i = 0; i < responses->len; i++)
    n += ((ScResponse *) responses->pdata[i])->status == status;
  return n;
}

static void
assert_healthy (ScHarness *d)
{
  g_autoptr (ScResponse) r = sc_harness_raw (d, "GET", "/healthz", NULL, NULL, 0, NULL);
  g_assert_cmpuint (r->status, ==, 200);
}

/* A real publisher joins @d and decodes media: the daemon still serves. */
static void
assert_normal_join (Door *door, const char *participant_id)
{
  ScHarness *d = door->h;
  g_autofree char *space = sc_harness_create_space (d);
  g_autofree char *bearer = bearer_for (door, space, NULL, participant_id);
  g_autofree char *location = NULL;
  GSubprocess *pub = sc_harness_whip_publish (d, space, bearer + 7, NULL, &location);
  g_autoptr (JsonObject) p = sc_harness_wait_participants (d, space, 1, 5, WAIT_S);
  g_assert_cmpstr (json_object_get_string_member (p, "participant_id"), ==, participant_id);
  sc_harness_stop_publisher (pub, FALSE);
  sc_harness_wait_participants (d, space, 0, 0, WAIT_S);
}

/* ---- tests ------------------------------------------------------------ */

/* Without a valid token nobody learns whether a space id exists. */
static void
test_token_before_space (void)
{
  Door *door = shared;
  ScHarness *h = door->h;
  g_autofree char *real = sc_harness_create_space (h);
  g_autofree char *for_real = bearer_for (door, real, NULL, "ann");
  g_autofree char *for_ghost = bearer_for (door, "no-such-space", NULL, "ann");
  g_autofree char *sub_ghost = bearer_for (door, "no-such-space", "subscriber", "ann");

  g_autoptr (ScResponse) none = post (h, "no-such-space", NULL, offer);
  assert_refused (none, 401, "unauthorized", "Bearer");
  g_autoptr (ScResponse) garbage = post (h, "no-such-space", "Bearer x.y.z", offer);
  assert_refused (garbage, 401, "unauthorized", "malformed");
  g_autoptr (ScResponse) other = post (h, "no-such-space", for_real, offer);
  assert_refused (other, 401, "unauthorized", "wrong space");
  g_autoptr (ScResponse) sub = post (h, "no-such-space", sub_ghost, offer);
  assert_refused (sub, 403, "forbidden", "subscriber");
  /* A token signed for that very id: its holder may learn it is gone. */
  g_autoptr (ScResponse) ghost = post (h, "no-such-space", for_ghost, offer);
  assert_refused (ghost, 404, "not_found", NULL);
}

static void
test_token_lifetime (void)
{
  Door *door = shared;
  ScHarness *h = door->h;
  g_autofree char *space = sc_harness_create_space (h);
  g_autoptr (GError) error = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *hdr = g_strdup_printf ("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                                          door->kid);
  g_autofree char *claims = g_strdup_printf (
      "{\"sub\":\"%s\",\"aud\":\"rt\",\"participant_id\":\"methuselah\",\"iat\":%"
      G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT "}", space, now,
      now + G_GINT64_CONSTANT (3650) * 86400);
  g_autofree char *decade = sc_jwt_sign_rs256 (door->priv, hdr, claims, &error);
  g_assert_no_error (error);
  g_autofree char *bearer = g_strconcat ("Bearer ", decade, NULL);

  g_autoptr (ScResponse) r = post (h, space, bearer, offer);
  assert_refused (r, 401, "unauthorized", "lives too long");
  g_assert_nonnull (strstr (sc_response_error_text (r), "at most 604800 s"));
  g_autoptr (JsonArray) ps = sc_harness_participants (h, space);
  g_assert_cmpuint (json_array_get_length (ps), ==, 0);
}

/* a=rtpmap:96 with no codec read past the end of a split (a crash under
 * ASan); now a 400 that names the line, and the daemon serves on. */
static void
test_malformed_rtpmap (void)
{
  Door *door = shared;
  ScHarness *h = door->h;
  static const char no_codec[] = OFFER ("a=rtpmap:96\r\n");
  static const char no_clock[] = OFFER ("a=rtpmap:96 VP8\r\n");
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *bearer = bearer_for (door, space, NULL, "bob");

  g_autoptr (ScResponse) r = post (h, space, bearer, no_codec);
  assert_refused (r, 400, "invalid_parameters",
                  "m-line 0 (video, mid \"video0\") has a malformed a=rtpmap:96");
  g_autoptr (ScResponse) r2 = post (h, space, bearer, no_clock);
  assert_refused (r2, 400, "invalid_parameters", "a=rtpmap:96 \"VP8\"");
  assert_healthy (h);
  g_autoptr (JsonArray) ps = sc_harness_participants (h, space);
  g_assert_cmpuint (json_array_get_length (ps), ==, 0);
}

/* One token without participant_id, 100 POSTs at once: one session. */
static void
test_one_token_flood (void)
{
  Door *door = shared;
  ScHarness *h = door->h;
  enum { N = 100 };
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *bearer = bearer_for (door, space, NULL, NULL);
  const char *auths[N];
  for (guint i = 0; i < N; i++)
    auths[i] = bearer;
  g_autofree char *path = g_strdup_printf ("/rt/v1/spaces/%s/whip", space);

  guint fds0 = sc_harness_daemon_fds (h), threads0 = sc_harness_daemon_threads (h);
  guint peak_fds = 0, peak_threads = 0;
  g_autoptr (GPtrArray) rs = sc_harness_parallel_raw (h, N, "POST", path, "application/sdp",
                                                      offer, auths, &peak_fds, &peak_threads);
  g_test_message ("100 parallel POSTs, one token: %u created, %u conflict, %u busy; "
                  "daemon fds %u -> peak %u, threads %u -> peak %u",
                  count_status (rs, 201), count_status (rs, 409), count_status (rs, 429),
                  fds0, peak_fds, threads0, peak_threads);

  ScResponse *created = NULL;
  for (guint i = 0; i < N; i++) {
    ScResponse *r = rs->pdata[i];
    if (r->status == 201) {
      g_assert_null (created);
      created = r;
    } else if (r->status == 409) {
      assert_refused (r, 409, "conflict", "one session at a time");
    } else {
      assert_refused (r, 429, "too_many_requests", NULL);
      assert_retry_after (r);
    }
  }
  g_assert_nonnull (created);
  /* One pipeline's worth over the 100 connections themselves. */
  g_assert_cmpuint (peak_fds, <=, fds0 + N + 40);
  g_assert_cmpuint (peak_threads, <=, threads0 + 40);

  g_autoptr (JsonArray) ps = sc_harness_participants (h, space);
  g_assert_cmpuint (json_array_get_length (ps), ==, 1);
  JsonObject *p = json_array_get_object_element (ps, 0);
  const char *location = soup_message_headers_get_one (created->headers, "Location");
  g_assert_true (g_str_has_suffix (location, json_object_get_string_member (p, "connection_id")));
  delete_session (h, created);

  /* The token's session is over: the same token joins again. */
  g_autoptr (ScResponse) again = post (h, space, bearer, offer);
  g_assert_cmpuint (again->status, ==, 201);
  delete_session (h, again);
  assert_normal_join (door, "after-flood");
}

/* A UDP socket on loopback that never answers: as the daemon's STUN
 * server it holds every join in ICE gathering until the gather timeout
 * (seconds), so joins are "being answered" long enough to count. */
static GSocket *
silent_udp (guint16 *port)
{
  g_autoptr (GError) error = NULL;
  GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (sock, any, TRUE, &error));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (sock, &error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return sock;
}

/* Distinct participants: at most MAX_PENDING joins answered at once, at
 * most MAX_PARTICIPANTS in a space; both 429 with Retry-After, and the
 * refused change nothing. */
static void
test_caps (void)
{
  enum { N = 6 };
  guint16 stun_port;
  g_autoptr (GSocket) stun = silent_udp (&stun_port);
  g_autofree char *stun_arg = g_strdup_printf ("--stun-server=stun://127.0.0.1:%u", stun_port);
  g_autofree char *pending = g_strdup_printf ("--whip-max-pending-joins=%d", MAX_PENDING);
  g_autofree char *per_space = g_strdup_printf ("--space-max-participants=%d", MAX_PARTICIPANTS);
  g_autoptr (Door) door = door_start (
      (const char *[]) { PARTICIPANT_TIMEOUT, stun_arg, pending, per_space, NULL }, 0);
  ScHarness *d = door->h;

  g_autofree char *space = sc_harness_create_space (d);
  g_autofree char *path = g_strdup_printf ("/rt/v1/spaces/%s/whip", space);
  char *auths[N + 1] = { NULL };
  for (guint i = 0; i < N; i++) {
    g_autofree char *pid = g_strdup_printf ("p%u", i);
    auths[i] = bearer_for (door, space, NULL, pid);
  }
  g_autoptr (GPtrArray) rs = sc_harness_parallel_raw (d, N, "POST", path, "application/sdp",
                                                      offer, (const char *const *) auths,
                                                      NULL, NULL);
  g_autoptr (GPtrArray) created = g_ptr_array_new ();
  for (guint i = 0; i < N; i++) {
    ScResponse *r = rs->pdata[i];
    if (r->status == 201) {
      g_ptr_array_add (created, r);
      continue;
    }
    assert_refused (r, 429, "too_many_requests", "whip_max_pending_joins");
    assert_retry_after (r);
  }
  g_assert_cmpuint (created->len, ==, MAX_PENDING);
  g_autoptr (JsonArray) ps = sc_harness_participants (d, space);
  g_assert_cmpuint (json_array_get_length (ps), ==, MAX_PENDING);

  /* One at a time now: the space fills up, then refuses. */
  g_autofree char *third = bearer_for (door, space, NULL, "third");
  g_autoptr (ScResponse) r3 = post (d, space, third, offer);
  g_assert_cmpuint (r3->status, ==, 201);
  g_autofree char *fourth = bearer_for (door, space, NULL, "fourth");
  g_autoptr (ScResponse) full = post (d, space, fourth, offer);
  assert_refused (full, 429, "too_many_requests", "space is full");
  assert_retry_after (full);
  g_autoptr (JsonArray) ps3 = sc_harness_participants (d, space);
  g_assert_cmpuint (json_array_get_length (ps3), ==, MAX_PARTICIPANTS);
  /* Another space is not full. */
  g_autofree char *other = sc_harness_create_space (d);
  g_autofree char *elsewhere = bearer_for (door, other, NULL, "fourth");
  g_autoptr (ScResponse) r_other = post (d, other, elsewhere, offer);
  g_assert_cmpuint (r_other->status, ==, 201);
  delete_session (d, r_other);

  /* Someone leaves: there is room again. */
  delete_session (d, r3);
  g_autoptr (ScResponse) r4 = post (d, space, fourth, offer);
  g_assert_cmpuint (r4->status, ==, 201);
  delete_session (d, r4);
  for (guint i = 0; i < created->len; i++)
    delete_session (d, created->pdata[i]);
  g_autoptr (JsonArray) none = sc_harness_participants (d, space);
  g_assert_cmpuint (json_array_get_length (none), ==, 0);
  for (guint i = 0; i < N; i++)
    g_free (auths[i]);
}

/* RLIMIT_NOFILE 256, soft and hard, and caps that would allow everyone:
 * only the fd headroom stands between 60 joins and GLib aborting on a
 * GWakeup it cannot create. */
static void
test_low_fd_limit (void)
{
  enum { N = 60, NOFILE = 256 };
  g_autoptr (Door) door = door_start (
      (const char *[]) { PARTICIPANT_TIMEOUT, "--whip-max-pending-joins=100",
                         "--space-max-participants=100", NULL }, NOFILE);
  ScHarness *d = door->h;

  g_autofree char *space = sc_harness_create_space (d);
  g_autofree char *path = g_strdup_printf ("/rt/v1/spaces/%s/whip", space);
  char *auths[N + 1] = { NULL };
  for (guint i = 0; i < N; i++) {
    g_autofree char *pid = g_strdup_printf ("p%u", i);
    auths[i] = bearer_for (door, space, NULL, pid);
  }
  guint fds0 = sc_harness_daemon_fds (d), peak_fds = 0, peak_threads = 0;
  g_autoptr (GPtrArray) rs = sc_harness_parallel_raw (d, N, "POST", path, "application/sdp",
                                                      offer, (const char *const *) auths,
                                                      &peak_fds, &peak_threads);
  g_test_message ("%u parallel joins under %u fds: %u created, %u refused 503; daemon fds "
                  "%u -> peak %u, threads peak %u", N, NOFILE, count_status (rs, 201),
                  count_status (rs, 503), fds0, peak_fds, peak_threads);
  assert_healthy (d);
  g_assert_cmpuint (peak_fds, <, NOFILE);
  g_assert_cmpuint (count_status (rs, 201), >, 0);
  g_assert_cmpuint (count_status (rs, 503), >, 0);
  for (guint i = 0; i < N; i++) {
    ScResponse *r = rs->pdata[i];
    if (r->status == 201) {
      delete_session (d, r);
    } else {
      assert_refused (r, 503, "service_unavailable", "near its limit of open files");
      assert_retry_after (r);
    }
  }
  /* Closed pipelines give their fds back on a worker thread. */
  for (int i = 0; i < 100 && sc_harness_daemon_fds (d) > fds0 + 8; i++)
    g_usleep (100 * 1000);
  assert_normal_join (door, "after-the-rush");
  for (guint i = 0; i < N; i++)
    g_free (auths[i]);
}

/* The ICE servers a client is told about carry a port even when the
 * configured URI has none: the scheme's default. */
static void
test_ice_links (void)
{
  g_autoptr (Door) door = door_start (
      (const char *[]) { "--stun-server=stun://127.0.0.1",
                         "--turn-server=turns://user:secret@127.0.0.1", NULL }, 0);
  ScHarness *d = door->h;
  g_autofree char *space = sc_harness_create_space (d);
  g_autofree char *path = g_strdup_printf ("/rt/v1/spaces/%s/whip", space);
  g_autoptr (ScResponse) r = sc_harness_raw (d, "OPTIONS", path, NULL, NULL, 0, NULL);
  g_assert_cmpuint (r->status, ==, 204);
  const char *links = soup_message_headers_get_list (r->headers, "Link");
  g_assert_nonnull (links);
  g_test_message ("Link: %s", links);
  g_assert_nonnull (strstr (links, "<stun:127.0.0.1:3478>; rel=\"ice-server\""));
  g_assert_nonnull (strstr (links, "<turns:127.0.0.1:5349>; rel=\"ice-server\"; "
                                   "username=\"user\"; credential=\"secret\""));
  g_assert_null (strstr (links, ":-1"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  shared = door_start ((const char *[]) { PARTICIPANT_TIMEOUT, NULL }, 0);

  g_test_add_func ("/whip-limits/token-before-space", test_token_before_space);
  g_test_add_func ("/whip-limits/token-lifetime", test_token_lifetime);
  g_test_add_func ("/whip-limits/malformed-rtpmap", test_malformed_rtpmap);
  g_test_add_func ("/whip-limits/one-token-flood", test_one_token_flood);
  g_test_add_func ("/whip-limits/ice-links", test_ice_links);
  g_test_add_func ("/whip-limits/caps", test_caps);
  g_test_add_func ("/whip-limits/low-fd-limit", test_low_fd_limit);
  int rc = g_test_run ();
  door_free (shared);
  return rc;
}
