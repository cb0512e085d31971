/* The RTMP door of the real daemon under attack on 127.0.0.1: idle
 * connections that exhaust its fds, more connections than it admits,
 * clients that never publish, messages built to eat memory, and what its
 * log says about stream keys.  After each, a real encoder must still get
 * in and the control API must still answer. */
#define _GNU_SOURCE
#include "harness.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "rtmp/rtmp-proto.h"

#define FD_LIMIT 1024
/* Recovery bounds; generous for a loaded 2-core machine. */
#define RECOVER_S 10.0

static char *
create_stream (ScHarness *h, char **key)
{
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, 0);
  *key = g_strdup (json_object_get_string_member (ls, "stream_key"));
  return g_strdup (json_object_get_string_member (ls, "id"));
}

static char *
stream_path (const char *id)
{
  return g_strdup_printf ("/video/v1/live-streams/%s", id);
}

/* The daemon answers HTTP, and a real encoder is accepted as a publisher. */
static void
assert_serving (ScHarness *h, const char *id, const char *key)
{
  g_autoptr (ScResponse) health = sc_harness_raw (h, "GET", "/healthz", NULL, NULL, 0, NULL);
  g_assert_cmpuint (health->status, ==, 200);
  GSubprocess *p = sc_harness_ffmpeg_publish (h, key, 60);
  g_autofree char *path = stream_path (id);
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (sc_harness_wait_member (h, path, "status", "active", RECOVER_S));
  g_test_message ("publish accepted %.1f s after ffmpeg started",
                  (g_get_monotonic_time () - t0) / 1e6);
  sc_harness_stop_publisher (p, TRUE);
  g_assert_true (sc_harness_wait_member (h, path, "status", "idle", RECOVER_S));
}

static GSocket *
tcp_connect (ScHarness *h, gboolean blocking)
{
  g_autoptr (GError) error = NULL;
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                             G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, h->rtmp_port);
  g_socket_set_blocking (s, blocking);
  if (!g_socket_connect (s, addr, NULL, &error))
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
  return s;
}

static guint16
local_port (GSocket *s)
{
  g_autoptr (GSocketAddress) a = g_socket_get_local_address (s, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a));
}

/* TRUE once the server hangs up (end of stream or reset) within @timeout_s;
 * whatever it sends before is discarded. */
static gboolean
server_closed (GSocket *s, double timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  g_socket_set_blocking (s, TRUE);
  for (;;) {
    gint64 left = deadline - g_get_monotonic_time ();
    if (left <= 0 || !g_socket_condition_timed_wait (s, G_IO_IN, left, NULL, NULL))
      return FALSE;
    guint8 buf[4096];
    g_autoptr (GError) error = NULL;
    gssize n = g_socket_receive (s, (gchar *) buf, sizeof buf, NULL, &error);
    if (n <= 0)
      return TRUE;
  }
}

/* FALSE once the server has hung up. */
static gboolean
send_all (GSocket *s, const guint8 *d, gsize len)
{
  while (len > 0) {
    gssize n = g_socket_send (s, (const gchar *) d, len, NULL, NULL);
    if (n <= 0)
      return FALSE;
    d += n;
    len -= n;
  }
  return TRUE;
}

static GSocket *
dial_handshaken (ScHarness *h)
{
  GSocket *s = tcp_connect (h, TRUE);
  g_socket_set_timeout (s, 20);
  guint8 c0c1[1 + SC_RTMP_HANDSHAKE_SIZE] = { 3 };
  g_assert_true (send_all (s, c0c1, sizeof c0c1));
  guint8 s012[1 + 2 * SC_RTMP_HANDSHAKE_SIZE];
  gsize got = 0;
  while (got < sizeof s012) {
    gssize n = g_socket_receive (s, (gchar *) s012 + got, sizeof s012 - got, NULL, NULL);
    g_assert_cmpint (n, >, 0);
    got += n;
  }
  g_assert_true (send_all (s, s012 + 1, SC_RTMP_HANDSHAKE_SIZE));   /* C2 = S1 */
  return s;
}

/* The server may hang up at once on what follows, so failures to send are
 * left to server_closed() to judge. */
static void
send_set_chunk_size (GSocket *s, guint32 size)
{
  guint8 b[4] = { size >> 24, size >> 16, size >> 8, size };
  g_autoptr (GByteArray) w = g_byte_array_new ();
  sc_rtmp_write_message (w, 128, 2, 1, 0, 0, b, 4);
  send_all (s, w->data, w->len);
}

static void
send_connect (GSocket *s)
{
  g_autoptr (GByteArray) body = g_byte_array_new ();
  g_autoptr (ScAmfValue) name = sc_amf_string ("connect");
  g_autoptr (ScAmfValue) txid = sc_amf_number (1);
  g_autoptr (ScAmfValue) cmd = sc_amf_object ();
  sc_amf_set (cmd, "app", sc_amf_string ("app"));
  sc_amf_encode (body, name);
  sc_amf_encode (body, txid);
  sc_amf_encode (body, cmd);
  g_autoptr (GByteArray) w = g_byte_array_new ();
  sc_rtmp_write_message (w, 128, 3, 20, 0, 0, body->data, body->len);
  g_assert_true (send_all (s, w->data, w->len));
}

static char *
read_log (const char *path)
{
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static char *
tmp_log_path (void)
{
  g_autoptr (GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("spacecast-log-XXXXXX", &path, &error);
  g_assert_no_error (error);
  close (fd);
  return path;
}

/* The log lines that contain @needle, joined; to show in test messages. */
static char *
grep_log (const char *log, const char *needle, guint *count)
{
  g_auto (GStrv) lines = g_strsplit (log, "\n", -1);
  GString *out = g_string_new (NULL);
  *count = 0;
  for (guint i = 0; lines[i]; i++)
    if (strstr (lines[i], needle)) {
      g_string_append_printf (out, "%s\n", lines[i]);
      (*count)++;
    }
  return g_string_free (out, FALSE);
}

static void
test_fd_exhaustion (void)
{
  const char *args[] = { "--rtmp-max-connections=100000", "--rtmp-max-unpublished=100000",
                         "--rtmp-handshake-timeout=120", NULL };
  g_autofree char *log_path = tmp_log_path ();
  g_autoptr (ScHarness) h = sc_harness_start_logged (args, log_path);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, &key);
  struct rlimit rl = { FD_LIMIT, FD_LIMIT };
  g_assert_cmpint (prlimit (sc_harness_pid (h), RLIMIT_NOFILE, &rl, NULL), ==, 0);
  guint baseline = sc_harness_daemon_fds (h);

  /* In batches the daemon takes before the next: a burst would overflow
   * the listen backlog, and the dropped SYNs all retry in step. */
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  while (clients->len < FD_LIMIT - 1 && sc_harness_daemon_fds (h) < FD_LIMIT) {
    for (guint i = 0; i < 8 && clients->len < FD_LIMIT - 1; i++)
      g_ptr_array_add (clients, tcp_connect (h, FALSE));
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    while (sc_harness_daemon_fds (h) + 2 < MIN (FD_LIMIT, baseline + clients->len) &&
           g_get_monotonic_time () < deadline)
      g_usleep (1000);
  }
  g_test_message ("%u connections open", clients->len);
  g_assert_cmpuint (sc_harness_daemon_fds (h), ==, FD_LIMIT);
  /* A few seconds out of fds: every accept the daemon tries fails. */
  g_usleep (3 * G_USEC_PER_SEC);
  double cpu_exhausted = sc_harness_cpu_share (h, 1.0);

  g_ptr_array_set_size (clients, 0);
  gint64 t0 = g_get_monotonic_time ();
  gint64 deadline = t0 + (gint64) (RECOVER_S * G_USEC_PER_SEC);
  guint fds;
  while ((fds = sc_harness_daemon_fds (h)) > baseline + 4 && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  g_test_message ("fds: %u before, %u at exhaustion, %u %.2f s after the clients closed "
                  "(CPU %.0f %% while exhausted)", baseline, FD_LIMIT, fds,
                  (g_get_monotonic_time () - t0) / 1e6, cpu_exhausted * 100);
  g_assert_cmpuint (fds, <=, baseline + 4);
  double cpu = sc_harness_cpu_share (h, 1.0);
  g_test_message ("CPU after recovery: %.1f %%", cpu * 100);
  g_assert_cmpfloat (cpu, <, 0.05);
  assert_serving (h, id, key);

  /* One line when accepting starts failing and one when it works again,
   * not one per attempt. */
  g_autofree char *log = read_log (log_path);
  guint failed, again;
  g_autofree char *failed_lines = grep_log (log, "cannot accept", &failed);
  g_autofree char *again_lines = grep_log (log, "accepting connections again", &again);
  g_test_message ("%s%s", failed_lines, again_lines);
  g_assert_cmpuint (failed, ==, 1);
  g_assert_cmpuint (again, ==, 1);
  g_unlink (log_path);
}

static void
test_connection_caps (void)
{
  const char *args[] = { "--rtmp-max-connections=3", "--rtmp-max-unpublished=2",
                         "--rtmp-handshake-timeout=120", NULL };
  g_autoptr (ScHarness) h = sc_harness_start (args);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, &key);

  /* Two idle connections fill the room for connections not publishing. */
  g_autoptr (GSocket) a = tcp_connect (h, TRUE);
  g_autoptr (GSocket) b = tcp_connect (h, TRUE);
  g_autoptr (GSocket) c = tcp_connect (h, TRUE);
  g_assert_true (server_closed (c, 5.0));
  g_assert_false (server_closed (a, 0.5));
  g_assert_false (server_closed (b, 0.5));

  /* With one of them gone (the daemon has let go of it), an encoder gets
   * in and publishes... */
  guint fds = sc_harness_daemon_fds (h);
  g_socket_close (a, NULL);
  gint64 deadline = g_get_monotonic_time () + (gint64) (RECOVER_S * G_USEC_PER_SEC);
  while (sc_harness_daemon_fds (h) >= fds && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
  GSubprocess *p = sc_harness_ffmpeg_publish (h, key, 60);
  g_autofree char *path = stream_path (id);
  g_assert_true (sc_harness_wait_member (h, path, "status", "active", RECOVER_S));
  /* ... so one more idle connection fits under both limits, and then the
   * total is reached. */
  g_autoptr (GSocket) d = tcp_connect (h, TRUE);
  g_assert_false (server_closed (d, 1.0));
  g_autoptr (GSocket) e = tcp_connect (h, TRUE);
  g_assert_true (server_closed (e, 5.0));
  g_assert_false (server_closed (b, 0.1));
  g_assert_false (server_closed (d, 0.1));
  sc_harness_stop_publisher (p, TRUE);
}

static void
test_handshake_timeout (void)
{
  const char *args[] = { "--rtmp-handshake-timeout=2", NULL };
  g_autoptr (ScHarness) h = sc_harness_start (args);
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (GSocket) silent = tcp_connect (h, TRUE);
  g_autoptr (GSocket) connected = dial_handshaken (h);
  send_connect (connected);
  g_assert_false (server_closed (silent, 1.0));
  /* Well before the built-in 10 s: the configured limit is what counts. */
  g_assert_true (server_closed (silent, 5.0));
  g_assert_true (server_closed (connected, 1.0));
  g_test_message ("both closed %.1f s after connecting", (g_get_monotonic_time () - t0) / 1e6);
}

/* Neither now nor at any time since @rss0_kb was the daemon's RSS 50 MB
 * above it. */
static void
assert_rss_within (ScHarness *h, guint64 rss0_kb, const char *after)
{
  guint64 rss = sc_harness_status_field (h, "VmRSS"), peak = sc_harness_status_field (h, "VmHWM");
  g_test_message ("after %s: RSS %+.1f MB, peak %+.1f MB", after,
                  ((double) rss - rss0_kb) / 1024, ((double) peak - rss0_kb) / 1024);
  g_assert_cmpuint (MAX (rss, peak), <, rss0_kb + 50 * 1024);
}

/* A command of @len AMF0 nulls (as many values) in chunks of @chunk; the
 * client's port. */
static guint16
send_amf_bomb (ScHarness *h, gsize len, guint chunk, const guint8 *nulls)
{
  g_autoptr (GSocket) s = dial_handshaken (h);
  if (chunk != 128)
    send_set_chunk_size (s, chunk);
  g_autoptr (GByteArray) w = g_byte_array_new ();
  sc_rtmp_write_message (w, chunk, 3, 20, 0, 0, nulls, len);
  send_all (s, w->data, w->len);
  g_assert_true (server_closed (s, RECOVER_S));
  return local_port (s);
}

/* Commands of AMF0 nulls (8 M values; 64 K within the size allowed before
 * publishing), then as many connections as the daemon admits before
 * publishing: half of them sending an 8 MiB chunk, half holding all the
 * partial messages allowed and most of one more chunk. */
static void
test_memory (void)
{
  g_autofree char *log_path = tmp_log_path ();
  g_autoptr (ScHarness) h = sc_harness_start_logged (NULL, log_path);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, &key);
  /* The steady state: everything a publish needs is loaded. */
  assert_serving (h, id, key);
  guint64 rss0 = sc_harness_status_field (h, "VmRSS");
  const gsize big = 8 * 1024 * 1024;
  g_autofree guint8 *payload = g_malloc (big);
  memset (payload, SC_AMF_NULL, big);

  guint16 bomb_port = send_amf_bomb (h, big, 128, payload);
  assert_rss_within (h, rss0, "an 8 MiB AMF0 command");
  send_amf_bomb (h, 64 * 1024, 4096, payload);
  assert_rss_within (h, rss0, "a 64 KiB AMF0 command");
  g_autoptr (GByteArray) w = g_byte_array_new ();

  const gsize chunk = 32 * 1024, header = 12;
  g_autoptr (GPtrArray) hogs = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < 16; i++) {
    GSocket *s = dial_handshaken (h);
    g_ptr_array_add (hogs, s);
    if (i % 2 == 0) {
      send_set_chunk_size (s, big);
      g_byte_array_set_size (w, 0);
      sc_rtmp_write_message (w, big, 6, 9, 1, 0, payload, big);
      send_all (s, w->data, w->len - 1);
      continue;
    }
    send_set_chunk_size (s, chunk);
    for (guint csid = 4; csid < 9; csid++) {
      g_byte_array_set_size (w, 0);
      sc_rtmp_write_message (w, chunk, csid, 9, 1, 0, payload, 2 * chunk);
      g_assert_true (send_all (s, w->data, header + chunk - (csid == 8)));
    }
  }
  for (guint i = 0; i < hogs->len; i += 2)
    g_assert_true (server_closed (hogs->pdata[i], RECOVER_S));
  for (guint i = 1; i < hogs->len; i += 2)
    g_assert_false (server_closed (hogs->pdata[i], 0.1));
  assert_rss_within (h, rss0, "16 connections with big chunks or all the partial messages allowed");
  g_ptr_array_set_size (hogs, 0);
  assert_serving (h, id, key);

  /* The bomb's close is logged once, naming the connection. */
  g_autofree char *log = read_log (log_path);
  g_autofree char *peer = g_strdup_printf ("127.0.0.1:%u", bomb_port);
  guint n;
  g_autofree char *lines = grep_log (log, peer, &n);
  g_test_message ("%s", lines);
  g_assert_cmpuint (n, ==, 1);
  g_assert_nonnull (strstr (lines, "rtmp conn "));
  g_assert_nonnull (strstr (lines, "closing: message of 8388608 bytes exceeds"));
  g_unlink (log_path);
}

static void
test_no_key_in_logs (void)
{
  const char *args[] = { "--log-level=debug", NULL };
  g_autofree char *log_path = tmp_log_path ();
  ScHarness *h = sc_harness_start_logged (args, log_path);
  g_autofree char *key = NULL, *disabled_key = NULL;
  g_autofree char *id = create_stream (h, &key);
  g_autofree char *disabled_id = create_stream (h, &disabled_key);
  g_autofree char *unknown_key = g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());

  assert_serving (h, id, key);
  g_autofree char *disable = g_strdup_printf ("/video/v1/live-streams/%s/disable", disabled_id);
  g_autoptr (ScResponse) r = sc_harness_request (h, "PUT", disable, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  const char *refused[] = { disabled_key, unknown_key };
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++) {
    GSubprocess *p = sc_harness_ffmpeg_publish (h, refused[i], 5);
    int status = 0;
    g_assert_true (sc_harness_wait_exit (p, 60, &status));
    g_assert_cmpint (status, !=, 0);
    g_object_unref (p);
  }
  sc_harness_free (h);

  /* No key reaches the log... */
  g_autofree char *log = read_log (log_path);
  g_assert_null (strstr (log, key));
  g_assert_null (strstr (log, disabled_key));
  g_assert_null (strstr (log, unknown_key));
  /* ... though the publishes are there, named by live stream and
   * connection. */
  guint n;
  g_autofree char *rtmp_lines = grep_log (log, "rtmp conn ", &n);
  g_test_message ("%s", rtmp_lines);
  g_assert_cmpuint (n, >=, 3);
  g_autofree char *live = g_strdup_printf ("live stream %s", id);
  g_assert_nonnull (strstr (log, live));
  g_assert_nonnull (strstr (log, "refused"));
  g_unlink (log_path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The clients below need more fds than the daemon is left with. */
  struct rlimit rl;
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &rl), ==, 0);
  rl.rlim_cur = rl.rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &rl), ==, 0);
  g_test_add_func ("/rtmp-limits/fd-exhaustion", test_fd_exhaustion);
  g_test_add_func ("/rtmp-limits/connection-caps", test_connection_caps);
  g_test_add_func ("/rtmp-limits/handshake-timeout", test_handshake_timeout);
  g_test_add_func ("/rtmp-limits/memory", test_memory);
  g_test_add_func ("/rtmp-limits/no-key-in-logs", test_no_key_in_logs);
  return g_test_run ();
}
