/* Hostile and broken RTMP clients against the in-process server while a
 * real ffmpeg publisher streams: each bad connection is closed with one log
 * line, and the good publisher never notices. */
#include <gio/gio.h>
#include <string.h>
#include "harness.h"
#include "spacecast/core.h"
#include "spacecast/rtmp.h"
#include "rtmp/rtmp-proto.h"

typedef struct {
  ScRtmpServer *srv;
  guint16 port;
  int publishes, closed;
  volatile gint media;
  gboolean avc_seq, aac_seq;
  gboolean proc_done, proc_ok;
  gboolean thread_done;
  GPtrArray *results;     /* char*: "name: closed" or "name: NOT closed" */
  GPtrArray *peers;       /* local addresses of the bad clients */
  int media_before, media_after;
} Ctx;

static GMutex log_lock;
static GHashTable *closing_lines;   /* peer -> count of "closing:" lines */

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n,
            gpointer data)
{
  for (gsize i = 0; i < n; i++) {
    if (!g_str_equal (fields[i].key, "MESSAGE") || fields[i].length != -1)
      continue;
    /* "rtmp conn N (PEER): closing: why" */
    const char *msg = fields[i].value;
    const char *open = strchr (msg, '(');
    const char *sep = strstr (msg, "): closing: ");
    if (g_str_has_prefix (msg, "rtmp conn ") && open && sep && open < sep) {
      g_autofree char *peer = g_strndup (open + 1, sep - open - 1);
      g_mutex_lock (&log_lock);
      int count = GPOINTER_TO_INT (g_hash_table_lookup (closing_lines, peer));
      g_hash_table_insert (closing_lines, g_steal_pointer (&peer),
                           GINT_TO_POINTER (count + 1));
      g_mutex_unlock (&log_lock);
    }
  }
  if (g_log_writer_default_would_drop (level, NULL) ||
      (level & G_LOG_LEVEL_DEBUG))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n, data);
}

static gboolean
on_publish (ScRtmpConn *conn, const char *app, const char *name,
            gpointer user_data, GError **error)
{
  Ctx *c = user_data;
  c->publishes++;
  if (!g_str_equal (name, "good-key")) {
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "no such stream key");
    return FALSE;
  }
  return TRUE;
}

static void
on_media (ScRtmpConn *conn, ScRtmpMediaType type, guint64 ts,
          const guint8 *data, gsize len, gpointer user_data)
{
  Ctx *c = user_data;
  g_atomic_int_inc (&c->media);
  if (type == SC_RTMP_MEDIA_VIDEO && len >= 2 && data[0] == 0x17 && data[1] == 0)
    c->avc_seq = TRUE;
  if (type == SC_RTMP_MEDIA_AUDIO && len >= 2 && data[0] == 0xaf && data[1] == 0)
    c->aac_seq = TRUE;
}

static void
on_closed (ScRtmpConn *conn, gpointer user_data)
{
  ((Ctx *) user_data)->closed++;
}

static const ScRtmpServerCallbacks callbacks = { on_publish, on_media, on_closed };

/* ---- the bad clients, run on a thread with blocking sockets ---- */

static GSocketConnection *
dial (Ctx *c)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *addr = g_strdup_printf ("127.0.0.1:%u", c->port);
  GSocketConnection *conn =
      g_socket_client_connect_to_host (client, addr, 0, NULL, &error);
  g_assert_no_error (error);
  GSocket *sock = g_socket_connection_get_socket (conn);
  g_socket_set_timeout (sock, 20);
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (sock, NULL);
  GInetSocketAddress *ia = G_INET_SOCKET_ADDRESS (local);
  g_autofree char *host =
      g_inet_address_to_string (g_inet_socket_address_get_address (ia));
  g_ptr_array_add (c->peers, g_strdup_printf ("%s:%u", host,
      g_inet_socket_address_get_port (ia)));
  return conn;
}

static void
send_bytes (GSocketConnection *conn, const void *data, gsize len)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  /* The server may already have hung up: that is fine. */
  g_output_stream_write_all (out, data, len, NULL, NULL, NULL);
}

/* Read and discard until the server closes; FALSE on timeout. */
static gboolean
wait_server_close (GSocketConnection *conn)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  guint8 buf[8192];
  for (;;) {
    g_autoptr (GError) error = NULL;
    gssize n = g_input_stream_read (in, buf, sizeof buf, NULL, &error);
    if (n == 0)
      return TRUE;
    if (n < 0)
      return !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  }
}

static GSocketConnection *
dial_handshaken (Ctx *c)
{
  GSocketConnection *conn = dial (c);
  guint8 c0c1[1 + SC_RTMP_HANDSHAKE_SIZE] = { 3 };
  send_bytes (conn, c0c1, sizeof c0c1);
  guint8 s[1 + 2 * SC_RTMP_HANDSHAKE_SIZE];
  gsize got = 0;
  g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (conn)),
                           s, sizeof s, &got, NULL, NULL);
  g_assert_cmpuint (got, ==, sizeof s);
  g_assert_cmpuint (s[0], ==, 3);
  send_bytes (conn, s + 1, SC_RTMP_HANDSHAKE_SIZE);    /* C2 = S1 */
  return conn;
}

static void
send_message (GSocketConnection *conn, guint8 type, guint32 stream_id,
              const guint8 *payload, gsize len)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  sc_rtmp_write_message (out, 128, 3, type, stream_id, 0, payload, len);
  send_bytes (conn, out->data, out->len);
}

static void
record (Ctx *c, const char *name, GSocketConnection *conn)
{
  gboolean closed = wait_server_close (conn);
  g_ptr_array_add (c->results, g_strdup_printf ("%s: %s", name,
      closed ? "closed" : "NOT closed"));
  g_object_unref (conn);
}

static void
send_command (GSocketConnection *conn, guint32 stream_id, ScAmfValue **vals)
{
  g_autoptr (GByteArray) body = g_byte_array_new ();
  for (; *vals; vals++) {
    sc_amf_encode (body, *vals);
    sc_amf_free (*vals);
  }
  send_message (conn, 20, stream_id, body->data, body->len);
}

static gpointer
bad_clients (gpointer data)
{
  Ctx *c = data;
  c->media_before = g_atomic_int_get (&c->media);
  GSocketConnection *conn;

  conn = dial (c);
  guint8 junk[4096];
  for (gsize i = 0; i < sizeof junk; i++)
    junk[i] = g_random_int_range (0, 256);
  send_bytes (conn, junk, sizeof junk);
  record (c, "random bytes", conn);

  conn = dial (c);
  guint8 partial[200] = { 3 };
  send_bytes (conn, partial, sizeof partial);
  g_socket_shutdown (g_socket_connection_get_socket (conn), FALSE, TRUE, NULL);
  record (c, "truncated handshake", conn);

  conn = dial_handshaken (c);
  guint8 zero[4] = { 0, 0, 0, 0 };
  send_message (conn, 1, 0, zero, 4);
  record (c, "chunk size 0", conn);

  conn = dial_handshaken (c);
  guint8 huge[4] = { 0x7f, 0xff, 0xff, 0xff };
  send_message (conn, 1, 0, huge, 4);
  record (c, "huge chunk size", conn);

  conn = dial_handshaken (c);
  /* "connect", 1, then an object whose property value is cut short */
  static const guint8 bad_amf[] = { 0x02, 0x00, 0x07, 'c', 'o', 'n', 'n', 'e',
    'c', 't', 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x03, 0x00, 0x03, 'a', 'p',
    'p', 0x02, 0x00, 0x40, 'x' };
  send_message (conn, 20, 0, bad_amf, sizeof bad_amf);
  record (c, "bad AMF connect", conn);

  conn = dial_handshaken (c);
  ScAmfValue *publish[] = { sc_amf_string ("publish"), sc_amf_number (5),
    sc_amf_null (), sc_amf_string ("good-key"), sc_amf_string ("live"), NULL };
  send_command (conn, 1, publish);
  record (c, "publish before connect", conn);

  conn = dial_handshaken (c);
  /* A message header claiming more than the message size limit. */
  static const guint8 oversize[] = { 0x04, 0, 0, 0, 0xff, 0xff, 0xff, 9,
    1, 0, 0, 0 };
  send_bytes (conn, oversize, sizeof oversize);
  record (c, "oversized message", conn);

  /* A publisher that goes quiet after being accepted. */
  conn = dial_handshaken (c);
  ScAmfValue *app = sc_amf_object ();
  sc_amf_set (app, "app", sc_amf_string ("app"));
  ScAmfValue *connect[] = { sc_amf_string ("connect"), sc_amf_number (1),
    app, NULL };
  send_command (conn, 0, connect);
  ScAmfValue *create[] = { sc_amf_string ("createStream"), sc_amf_number (2),
    sc_amf_null (), NULL };
  send_command (conn, 0, create);
  ScAmfValue *publish2[] = { sc_amf_string ("publish"), sc_amf_number (3),
    sc_amf_null (), sc_amf_string ("good-key"), sc_amf_string ("live"), NULL };
  send_command (conn, 1, publish2);
  record (c, "stalled publisher", conn);

  /* Idle after the handshake: the publish deadline closes it. */
  conn = dial_handshaken (c);
  record (c, "silent", conn);

  g_usleep (G_USEC_PER_SEC / 2);
  c->media_after = g_atomic_int_get (&c->media);
  g_atomic_int_set (&c->thread_done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

static void
on_proc_exit (GObject *src, GAsyncResult *res, gpointer data)
{
  Ctx *c = data;
  c->proc_ok = g_subprocess_wait_check_finish (G_SUBPROCESS (src), res, NULL);
  c->proc_done = TRUE;
}

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_garbage (void)
{
  Ctx *c = g_new0 (Ctx, 1);
  c->results = g_ptr_array_new_with_free_func (g_free);
  c->peers = g_ptr_array_new_with_free_func (g_free);
  c->srv = sc_rtmp_server_new (&callbacks, c);
  sc_rtmp_server_set_publish_timeout (c->srv, 3000);
  sc_rtmp_server_set_idle_timeout (c->srv, 5000);
  c->port = sc_harness_free_port ();
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_rtmp_server_listen (c->srv, "127.0.0.1", c->port, &error));

  g_autofree char *cmd = g_strdup_printf (
      "ffmpeg -hide_banner -loglevel error -nostdin -re "
      "-f lavfi -i testsrc2=size=320x240:rate=30 "
      "-f lavfi -i sine=frequency=440:sample_rate=48000 -t 15 "
      "-c:v libx264 -g 60 -pix_fmt yuv420p -c:a aac -f flv "
      "rtmp://127.0.0.1:%u/app/good-key", c->port);
  g_auto (GStrv) argv = g_strsplit (cmd, " ", -1);
  g_autoptr (GSubprocess) proc = g_subprocess_newv ((const char *const *) argv,
      G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_subprocess_wait_check_async (proc, NULL, on_proc_exit, c);

  gboolean expired = FALSE;
  guint deadline = g_timeout_add_seconds (180, on_deadline, &expired);
  while (g_atomic_int_get (&c->media) == 0 && !c->proc_done && !expired)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (g_atomic_int_get (&c->media), >, 0);

  GThread *t = g_thread_new ("bad-clients", bad_clients, c);
  while (!(g_atomic_int_get (&c->thread_done) && c->proc_done) && !expired)
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (t);
  g_assert_false (expired);
  g_source_remove (deadline);

  for (guint i = 0; i < c->results->len; i++) {
    g_test_message ("%s", (char *) c->results->pdata[i]);
    g_assert_true (g_str_has_suffix (c->results->pdata[i], ": closed"));
  }
  g_assert_cmpuint (c->results->len, ==, 9);
  /* One log line per bad connection, naming it. */
  g_mutex_lock (&log_lock);
  for (guint i = 0; i < c->peers->len; i++)
    g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (closing_lines,
        c->peers->pdata[i])), ==, 1);
  g_mutex_unlock (&log_lock);

  /* The good publisher never noticed. */
  g_assert_cmpint (c->media_after, >, c->media_before);
  g_assert_true (c->proc_ok);
  g_assert_true (c->avc_seq);
  g_assert_true (c->aac_seq);
  g_assert_cmpint (c->publishes, ==, 2);   /* ffmpeg and the stalled one */
  /* closed fires for the stalled publisher and once the server sees the
   * end of the good one. */
  expired = FALSE;
  deadline = g_timeout_add_seconds (10, on_deadline, &expired);
  while (c->closed < 2 && !expired)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (c->closed, ==, 2);
  if (!expired)
    g_source_remove (deadline);

  sc_rtmp_server_free (c->srv);
  g_ptr_array_unref (c->results);
  g_ptr_array_unref (c->peers);
  g_free (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  closing_lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);
  g_test_add_func ("/rtmp-garbage/bad-clients-beside-a-publisher", test_garbage);
  return g_test_run ();
}
