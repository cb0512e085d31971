/* The HTTP door under abuse, against the real daemon: connections the
 * client closes, fd exhaustion, the connection cap, slow and idle clients,
 * huge bodies before and after credentials, deep JSON, and keep-alive
 * across every kind of answer (204 included) with a raw client and with
 * the Mux Node SDK. */
#include "harness.h"

#include <string.h>

static ScHarness *h;          /* default limits */

#define HEALTHZ "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
#define HEALTHZ_CLOSE "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

#define LIVE_STREAMS "/video/v1/live-streams"
#define JSON_TYPE "Content-Type: application/json\r\n"

/* A request's head as a client writes it: the harness' credentials with
 * @auth, then @headers (whole lines). */
static char *
request_head (ScHarness *d, const char *method, const char *path, gboolean auth,
              const char *headers)
{
  g_autofree char *creds = auth ? sc_harness_basic_auth (d) : NULL;
  return g_strdup_printf ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%s\r\n", method, path,
                          creds ? "Authorization: " : "", creds ? creds : "", creds ? "\r\n" : "",
                          headers);
}

static guint
live_stream_count (ScHarness *d)
{
  g_autoptr (ScResponse) r = sc_harness_request (d, "GET", LIVE_STREAMS "?limit=100", NULL);
  g_assert_cmpuint (r->status, ==, 200);
  return json_array_get_length (sc_response_data_array (r));
}

static void
assert_cpu_low (ScHarness *d)
{
  double before = sc_harness_cpu_seconds (d);
  g_usleep (G_USEC_PER_SEC);
  double used = sc_harness_cpu_seconds (d) - before;
  g_test_message ("daemon CPU over 1 s: %.0f %%", used * 100);
  g_assert_cmpfloat (used, <, 0.05);
}

/* Seconds until the daemon closes @c (end of stream or a reset), or -1
 * after @max_s.  With @trickle, one more byte of the request each second. */
static double
seconds_until_closed (GSocketConnection *c, double max_s, gboolean trickle)
{
  GSocket *sock = g_socket_connection_get_socket (c);
  gint64 start = g_get_monotonic_time ();
  while ((g_get_monotonic_time () - start) < max_s * G_USEC_PER_SEC) {
    if (g_socket_condition_timed_wait (sock, G_IO_IN, G_USEC_PER_SEC, NULL, NULL)) {
      char buf[256];
      gssize n = g_socket_receive (sock, buf, sizeof buf, NULL, NULL);
      /* Never an answer: a cut connection just ends. */
      g_assert_cmpint (n, <=, 0);
      return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
    }
    if (trickle && !sc_harness_send (c, "X"))
      return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  }
  return -1;
}

/* ---- 0: every connection the client closes is released ----------------- */

static void
test_closed_connections_released (void)
{
  guint before = sc_harness_daemon_fds (h);
  for (guint i = 0; i < 500; i++) {
    g_autoptr (GSocketConnection) c = sc_harness_connect (h, 10);
    /* As curl does (keep-alive, then the client closes), and asking for close. */
    g_assert_true (sc_harness_send (c, i % 2 ? HEALTHZ : HEALTHZ_CLOSE));
    g_assert_cmpuint (sc_harness_read_response (c, NULL, NULL), ==, 200);
    g_assert_true (g_io_stream_close (G_IO_STREAM (c), NULL, NULL));
  }
  if (!sc_harness_wait_daemon_fds (h, before, 5))
    g_error ("500 closed connections: the daemon went from %u to %u open fds", before,
             sc_harness_daemon_fds (h));
}

/* ---- 1: fd exhaustion, the cap, slow and idle clients -------------------- */

/* Polls /healthz on fresh connections for up to @timeout_s; the seconds it
 * took, or -1. */
static double
seconds_until_healthy (ScHarness *d, double timeout_s)
{
  gint64 start = g_get_monotonic_time ();
  while ((g_get_monotonic_time () - start) < timeout_s * G_USEC_PER_SEC) {
    g_autoptr (GSocketConnection) c = sc_harness_connect (d, 1);
    if (sc_harness_send (c, HEALTHZ_CLOSE) && sc_harness_read_response (c, NULL, NULL) == 200)
      return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  }
  return -1;
}

/* Waits for a second without CPU use: the daemon's start-up work (the
 * encoder probe, on a thread) needs fds too, and is not under test. */
static void
wait_at_rest (ScHarness *d)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  for (guint quiet = 0; quiet < 4;) {
    double before = sc_harness_cpu_seconds (d);
    g_usleep (G_USEC_PER_SEC / 4);
    quiet = sc_harness_cpu_seconds (d) == before ? quiet + 1 : 0;
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
  }
}

static void
test_fd_exhaustion_recovers (void)
{
  g_autoptr (ScHarness) d = sc_harness_start (NULL);
  wait_at_rest (d);
  guint base = sc_harness_daemon_fds (d), limit = base + 16;
  sc_harness_set_fd_limit (d, limit);

  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < 40; i++)
    g_ptr_array_add (clients, sc_harness_connect (d, 10));
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (sc_harness_daemon_fds (d) < limit) {
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (20 * 1000);
  }
  g_test_message ("out of fds: %u open, limit %u, %u clients", sc_harness_daemon_fds (d), limit,
                  clients->len);
  assert_cpu_low (d);

  g_ptr_array_set_size (clients, 0);
  double took = seconds_until_healthy (d, 10);
  g_test_message ("answering again %.2f s after the clients closed", took);
  g_assert_cmpfloat (took, >=, 0);
  assert_cpu_low (d);
}

static void
test_connection_cap (void)
{
  const char *args[] = { "--http-max-connections=4", NULL };
  g_autoptr (ScHarness) d = sc_harness_start (args);
  /* The harness' own kept-alive connection would count: let it go. */
  soup_session_abort (d->session);

  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < 4; i++) {
    GSocketConnection *c = sc_harness_connect (d, 5);
    g_ptr_array_add (clients, c);
    g_assert_true (sc_harness_send (c, HEALTHZ));
    g_assert_cmpuint (sc_harness_read_response (c, NULL, NULL), ==, 200);
  }
  /* The fifth waits in the backlog, unanswered... */
  g_autoptr (GSocketConnection) fifth = sc_harness_connect (d, 1);
  g_assert_true (sc_harness_send (fifth, HEALTHZ));
  g_assert_cmpuint (sc_harness_read_response (fifth, NULL, NULL), ==, 0);
  /* ...until one of the four goes. */
  g_socket_set_timeout (g_socket_connection_get_socket (fifth), 5);
  g_ptr_array_remove_index (clients, 0);
  g_assert_cmpuint (sc_harness_read_response (fifth, NULL, NULL), ==, 200);
}

static void
test_slow_and_idle_clients (void)
{
  const char *args[] = { "--http-header-timeout=2", "--http-body-timeout=2",
                         "--http-idle-timeout=2", NULL };
  g_autoptr (ScHarness) d = sc_harness_start (args);
  soup_session_abort (d->session);
  guint base = sc_harness_daemon_fds (d);

  /* Slowloris: a header byte a second. */
  g_autoptr (GSocketConnection) slow = sc_harness_connect (d, 5);
  g_assert_true (sc_harness_send (slow, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  double t = seconds_until_closed (slow, 8, TRUE);
  g_test_message ("slow headers cut after %.1f s", t);
  g_assert_cmpfloat (t, >=, 1.5);
  g_assert_cmpfloat (t, <, 5);

  /* Connected, and silent. */
  g_autoptr (GSocketConnection) silent = sc_harness_connect (d, 5);
  t = seconds_until_closed (silent, 8, FALSE);
  g_test_message ("silent connection cut after %.1f s", t);
  g_assert_cmpfloat (t, >=, 1.5);
  g_assert_cmpfloat (t, <, 5);

  /* A body a byte a second, with good credentials: cut, nothing created. */
  g_autofree char *head = request_head (d, "POST", LIVE_STREAMS, TRUE,
                                        JSON_TYPE "Content-Length: 100\r\n");
  g_autoptr (GSocketConnection) body = sc_harness_connect (d, 5);
  g_assert_true (sc_harness_send (body, head));
  g_assert_true (sc_harness_send (body, "{"));
  t = seconds_until_closed (body, 8, TRUE);
  g_test_message ("slow body cut after %.1f s", t);
  g_assert_cmpfloat (t, >=, 1.5);
  g_assert_cmpfloat (t, <, 5);

  /* Kept alive after an answer, then idle. */
  g_autoptr (GSocketConnection) idle = sc_harness_connect (d, 5);
  g_assert_true (sc_harness_send (idle, HEALTHZ));
  g_assert_cmpuint (sc_harness_read_response (idle, NULL, NULL), ==, 200);
  t = seconds_until_closed (idle, 8, FALSE);
  g_test_message ("idle connection closed after %.1f s", t);
  g_assert_cmpfloat (t, >=, 1.5);
  g_assert_cmpfloat (t, <, 5);

  g_assert_true (sc_harness_wait_daemon_fds (d, base, 5));
  g_assert_cmpuint (live_stream_count (d), ==, 0);
}

/* ---- 2: bodies, before and after credentials ----------------------------- */

#define CHUNK (64 * 1024)

/* POSTs @total bytes chunked, stopping when an answer arrives first (as
 * curl does); the status, with the answer's headers and body. */
static guint
chunked_post (ScHarness *d, gboolean auth, gsize total, SoupMessageHeaders **headers, char **body)
{
  g_autofree char *head = request_head (d, "POST", LIVE_STREAMS, auth,
                                        JSON_TYPE "Transfer-Encoding: chunked\r\n");
  g_autoptr (GSocketConnection) c = sc_harness_connect (d, 30);
  GSocket *sock = g_socket_connection_get_socket (c);
  g_autofree char *chunk = g_strdup_printf ("%x\r\n%*s\r\n", CHUNK, CHUNK, "");
  gsize sent = 0;

  g_assert_true (sc_harness_send (c, head));
  while (sent < total && !(g_socket_condition_check (sock, G_IO_IN) & G_IO_IN) &&
         sc_harness_send (c, chunk))
    sent += CHUNK;
  if (sent >= total)
    sc_harness_send (c, "0\r\n\r\n");
  g_test_message ("%s: %zu bytes of body sent before the answer", auth ? "credentials" : "none",
                  sent);
  return sc_harness_read_response (c, headers, body);
}

static void
assert_refused (guint status, SoupMessageHeaders *headers, const char *body,
                guint expected, const char *type)
{
  g_assert_cmpuint (status, ==, expected);
  g_assert_true (soup_message_headers_header_contains (headers, "Connection", "close"));
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, body, -1, NULL));
  JsonObject *e = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)),
                                                 "error");
  g_assert_cmpstr (json_object_get_string_member (e, "type"), ==, type);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (e, "messages")), ==, 1);
}

static void
test_huge_bodies (void)
{
  guint streams = live_stream_count (h);
  guint64 rss = sc_harness_status_field (h, "VmRSS");

  for (int auth = 0; auth <= 1; auth++) {
    g_autoptr (SoupMessageHeaders) headers = NULL;
    g_autofree char *body = NULL;
    guint status = chunked_post (h, auth, 300 * 1024 * 1024, &headers, &body);
    assert_refused (status, headers, body, auth ? 413 : 401,
                    auth ? "payload_too_large" : "unauthorized");
  }
  /* Announced too large: refused before a byte of it is sent. */
  g_autofree char *length = g_strdup_printf (JSON_TYPE "Content-Length: %d\r\n",
                                             300 * 1024 * 1024);
  g_autofree char *big = request_head (h, "POST", LIVE_STREAMS, TRUE, length);
  g_autoptr (GSocketConnection) c = sc_harness_connect (h, 10);
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autofree char *body = NULL;
  g_assert_true (sc_harness_send (c, big));
  guint status = sc_harness_read_response (c, &headers, &body);
  assert_refused (status, headers, body, 413, "payload_too_large");

  guint64 peak = sc_harness_status_field (h, "VmHWM");
  g_test_message ("RSS %" G_GUINT64_FORMAT " kB before, peak %" G_GUINT64_FORMAT " kB after",
                  rss, peak);
  g_assert_cmpuint (peak, <, rss + 50 * 1024);
  g_assert_cmpuint (live_stream_count (h), ==, streams);
  g_autoptr (ScResponse) ok = sc_harness_request (h, "POST", LIVE_STREAMS, "{}");
  g_assert_cmpuint (ok->status, ==, 201);
}

/* ---- 3: JSON nesting ----------------------------------------------------- */

static void
test_deep_json (void)
{
  guint depth = 200000;
  g_autofree char *deep = g_malloc (2 * depth + 1);
  memset (deep, '[', depth);
  memset (deep + depth, ']', depth);
  deep[2 * depth] = '\0';
  g_autoptr (ScResponse) r = sc_harness_request (h, "POST", LIVE_STREAMS, deep);
  g_assert_cmpuint (r->status, ==, 400);
  g_assert_cmpstr (sc_response_error_type (r), ==, "invalid_parameters");
  g_autofree char *text = sc_response_error_text (r);
  g_assert_nonnull (strstr (text, "deeper than 64"));

  /* Brackets inside strings are text, not nesting. */
  g_autofree char *brackets = g_strnfill (100, '[');
  g_autofree char *body = g_strdup_printf ("{\"passthrough\":\"\\\"%s\"}", brackets);
  g_autoptr (ScResponse) ok = sc_harness_request (h, "POST", LIVE_STREAMS, body);
  g_assert_cmpuint (ok->status, ==, 201);
  g_autoptr (ScResponse) health = sc_harness_raw (h, "GET", "/healthz", NULL, NULL, 0, NULL);
  g_assert_cmpuint (health->status, ==, 200);
}

/* ---- 4: keep-alive across every kind of answer --------------------------- */

static char *
exchange (GSocketConnection *c, const char *method, const char *path, gboolean auth,
          const char *body, guint expected)
{
  g_autofree char *length = body ? g_strdup_printf (JSON_TYPE "Content-Length: %zu\r\n",
                                                    strlen (body)) : NULL;
  g_autofree char *head = request_head (h, method, path, auth, length ? length : "");
  g_autoptr (SoupMessageHeaders) headers = NULL;
  char *answer = NULL;
  g_assert_true (sc_harness_send (c, head) && (!body || sc_harness_send (c, body)));
  guint status = sc_harness_read_response (c, &headers, &answer);
  if (status != expected)
    g_error ("%s %s on the kept-alive connection: %u, expected %u", method, path, status, expected);
  g_assert_false (soup_message_headers_header_contains (headers, "Connection", "close"));
  return answer;
}

static char *
data_id (const char *answer)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, answer, -1, NULL));
  JsonObject *d = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)),
                                                 "data");
  return g_strdup (json_object_get_string_member (d, "id"));
}

static void
test_keep_alive_every_answer (void)
{
  g_autoptr (GSocketConnection) c = sc_harness_connect (h, 10);
  g_autofree char *created = exchange (c, "POST", LIVE_STREAMS, TRUE, "{}", 201);
  g_autofree char *id = data_id (created);
  g_autofree char *path = g_strdup_printf (LIVE_STREAMS "/%s", id);
  g_free (exchange (c, "GET", path, TRUE, NULL, 200));
  g_free (exchange (c, "GET", path, FALSE, NULL, 401));
  g_free (exchange (c, "DELETE", path, TRUE, NULL, 204));
  g_free (exchange (c, "GET", path, TRUE, NULL, 404));
  g_autofree char *key = exchange (c, "POST", "/system/v1/signing-keys", TRUE, NULL, 201);
  g_autofree char *kid = data_id (key);
  g_autofree char *key_path = g_strdup_printf ("/system/v1/signing-keys/%s", kid);
  g_free (exchange (c, "DELETE", key_path, TRUE, NULL, 204));
  g_free (exchange (c, "OPTIONS", "/rt/v1/spaces/any/whip", FALSE, NULL, 204));
  g_free (exchange (c, "POST", LIVE_STREAMS, TRUE, "{\"latency_mode\":7}", 400));
  g_free (exchange (c, "PATCH", "/healthz", FALSE, NULL, 405));
  g_free (exchange (c, "GET", "/stream/nope.m3u8", FALSE, NULL, 404));
  g_free (exchange (c, "GET", "/healthz", FALSE, NULL, 200));
}

static void
test_mux_node_keep_alive (void)
{
  g_autofree char *node = NULL;
  g_autofree char *script = sc_harness_mux_node_script ("mux-keepalive.js", &node);
  if (!script)
    return;
  const char *argv[] = { node, script, h->base_url, h->token_id, h->token_secret, NULL };
  g_autofree char *out = NULL;
  int status = sc_harness_run (&out, argv);
  g_test_message ("%s", out);
  g_assert_cmpint (status, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  h = sc_harness_start (NULL);
  g_test_add_func ("/http-limits/closed-connections-released", test_closed_connections_released);
  g_test_add_func ("/http-limits/fd-exhaustion-recovers", test_fd_exhaustion_recovers);
  g_test_add_func ("/http-limits/connection-cap", test_connection_cap);
  g_test_add_func ("/http-limits/slow-and-idle-clients", test_slow_and_idle_clients);
  g_test_add_func ("/http-limits/huge-bodies", test_huge_bodies);
  g_test_add_func ("/http-limits/deep-json", test_deep_json);
  g_test_add_func ("/http-limits/keep-alive-every-answer", test_keep_alive_every_answer);
  g_test_add_func ("/http-limits/mux-node-keep-alive", test_mux_node_keep_alive);
  int rc = g_test_run ();
  sc_harness_free (h);
  return rc;
}
