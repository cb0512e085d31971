#include "harness.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <unistd.h>

/* A daemon must never outlive a crashed test. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Whether @port is free on loopback for both TCP and UDP (SRT listens on
 * UDP) right now. */
static gboolean
port_is_free (guint16 port)
{
  static const GSocketType types[] = { G_SOCKET_TYPE_STREAM, G_SOCKET_TYPE_DATAGRAM };
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, port);

  for (guint i = 0; i < G_N_ELEMENTS (types); i++) {
    g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, types[i],
                                          G_SOCKET_PROTOCOL_DEFAULT, NULL);
    if (!s || !g_socket_bind (s, addr, types[i] == G_SOCKET_TYPE_STREAM, NULL))
      return FALSE;
  }
  return TRUE;
}

/* A port the daemon will bind later, so nothing may take it meanwhile.
 * Asking the kernel for an ephemeral one (bind to port 0) races with
 * every outgoing connection of the tests running beside this one, which
 * draw their local ports from that same range: pick below the ephemeral
 * range instead, and claim the port against the other test processes
 * with a lock file held until this process exits. */
guint16
sc_harness_free_port (void)
{
  guint lo = 32768, hi = 60999;
  g_autofree char *range = NULL;
  if (g_file_get_contents ("/proc/sys/net/ipv4/ip_local_port_range", &range, NULL, NULL))
    sscanf (range, "%u %u", &lo, &hi);
  g_assert_cmpuint (lo, >, 2048);
  guint first = MAX (1024, lo > 16384 ? lo - 16384 : 1024), count = lo - first;
  g_autofree char *dir = g_build_filename (g_get_tmp_dir (), "spacecast-test-ports", NULL);
  g_mkdir_with_parents (dir, 0777);

  guint start = g_random_int_range (0, count);
  for (guint i = 0; i < count; i++) {
    guint16 port = first + (start + i) % count;
    g_autofree char *name = g_strdup_printf ("%s/%u.lock", dir, port);
    int fd = open (name, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
      continue;
    if (flock (fd, LOCK_EX | LOCK_NB) == 0 && port_is_free (port))
      return port;      /* fd stays open: the claim lasts as long as we do */
    close (fd);
  }
  g_error ("no free loopback port in %u-%u", first, lo - 1);
}

static void
skip_case (gconstpointer why)
{
  g_test_skip (why);
}

void
sc_harness_add_skip (const char *path, const char *why)
{
  g_test_add_data_func (path, why, skip_case);
}

static gboolean
wait_healthy (ScHarness *h)
{
  for (int i = 0; i < 200; i++) {
    g_autoptr (ScResponse) r = sc_harness_raw (h, "GET", "/healthz", NULL, NULL, 0, NULL);
    if (r->status == 200)
      return TRUE;
    /* The identifier goes away once the process has exited. */
    if (h->proc && !g_subprocess_get_identifier (h->proc))
      return FALSE;
    g_usleep (50 * 1000);
  }
  return FALSE;
}

void
sc_harness_launch (ScHarness *h)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  const char *daemon = g_getenv ("SC_DAEMON");

  g_assert_nonnull (daemon);
  g_ptr_array_add (argv, g_strdup (daemon));
  g_ptr_array_add (argv, g_strdup ("serve"));
  g_ptr_array_add (argv, g_strdup_printf ("--http=127.0.0.1:%u", h->http_port));
  g_ptr_array_add (argv, g_strdup_printf ("--rtmp=127.0.0.1:%u", h->rtmp_port));
  g_ptr_array_add (argv, g_strdup_printf ("--data-dir=%s", h->data_dir));
  g_ptr_array_add (argv, g_strdup ("--ice-host=127.0.0.1"));
  if (h->config_path)
    g_ptr_array_add (argv, g_strdup_printf ("--config=%s", h->config_path));
  for (guint i = 0; i < h->extra_args->len; i++)
    g_ptr_array_add (argv, g_strdup (h->extra_args->pdata[i]));
  g_ptr_array_add (argv, NULL);

  /* A critical in the daemon is a bug a test must see: it aborts, and the
   * exit status is checked when the daemon is stopped. */
  g_autoptr (GSubprocessLauncher) l = sc_harness_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  /* What it prints (the demo's banner) goes with its log, not into TAP. */
  g_subprocess_launcher_take_stdout_fd (l, dup (STDERR_FILENO));
  g_subprocess_launcher_setenv (l, "G_DEBUG", "fatal-criticals", TRUE);
  g_subprocess_launcher_setenv (l, "SPACECAST_TOKEN_ID", h->token_id, TRUE);
  g_subprocess_launcher_setenv (l, "SPACECAST_TOKEN_SECRET", h->token_secret, TRUE);
  g_clear_object (&h->proc);
  h->proc = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  if (!wait_healthy (h))
    g_error ("spacecast daemon did not become healthy on port %u", h->http_port);
}

ScHarness *
sc_harness_start (const char *const *extra_args)
{
  ScHarness *h = g_new0 (ScHarness, 1);
  g_autoptr (GError) error = NULL;

  h->data_dir = g_dir_make_tmp ("spacecast-test-XXXXXX", &error);
  g_assert_no_error (error);
  h->http_port = sc_harness_free_port ();
  h->rtmp_port = sc_harness_free_port ();
  h->base_url = g_strdup_printf ("http://127.0.0.1:%u", h->http_port);
  h->token_id = g_strdup ("test-token-id");
  h->token_secret = g_strdup ("test-token-secret-0123456789");
  h->extra_args = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; extra_args && extra_args[i]; i++)
    g_ptr_array_add (h->extra_args, g_strdup (extra_args[i]));
  h->session = soup_session_new_with_options ("timeout", 60, NULL);
  sc_harness_launch (h);
  return h;
}

/* SIGTERM must end the daemon cleanly, with status 0, in bounded time
 * (running broadcasts drain for at most a few seconds each). */
static void
stop_process (ScHarness *h, gboolean crash)
{
  if (!h->proc)
    return;
  if (crash) {
    g_subprocess_force_exit (h->proc);
    g_subprocess_wait (h->proc, NULL, NULL);
    g_clear_object (&h->proc);
    return;
  }
  g_subprocess_send_signal (h->proc, SIGTERM);
  int status = 0;
  if (!sc_harness_wait_exit (h->proc, 60, &status))
    g_error ("spacecast daemon did not exit within 60 s of SIGTERM");
  if (g_subprocess_get_if_signaled (h->proc))
    g_error ("spacecast daemon died of signal %d on SIGTERM",
             g_subprocess_get_term_sig (h->proc));
  if (status != 0)
    g_error ("spacecast daemon exited with status %d on SIGTERM", status);
  g_clear_object (&h->proc);
}

void
sc_harness_restart (ScHarness *h)
{
  stop_process (h, FALSE);
  sc_harness_launch (h);
}

void
sc_harness_kill9 (ScHarness *h)
{
  stop_process (h, TRUE);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  if (dir) {
    const char *name;
    while ((name = g_dir_read_name (dir))) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  }
  g_rmdir (path);
}

void
sc_harness_free (ScHarness *h)
{
  if (!h)
    return;
  stop_process (h, FALSE);
  if (h->data_dir && !g_getenv ("SC_KEEP_DATA"))
    remove_tree (h->data_dir);
  g_free (h->data_dir);
  g_free (h->config_path);
  g_free (h->base_url);
  g_free (h->token_id);
  g_free (h->token_secret);
  g_ptr_array_unref (h->extra_args);
  g_clear_object (&h->session);
  g_free (h);
}

ScResponse *
sc_harness_raw (ScHarness *h, const char *method, const char *path,
                const char *content_type, const char *body, gsize body_len,
                const char *authorization)
{
  g_autofree char *url = g_strconcat (h->base_url, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GError) error = NULL;
  ScResponse *r = g_new0 (ScResponse, 1);

  g_assert_nonnull (msg);
  if (body) {
    g_autoptr (GBytes) b = g_bytes_new (body, body_len);
    soup_message_set_request_body_from_bytes (msg, content_type, b);
  }
  if (authorization)
    soup_message_headers_replace (soup_message_get_request_headers (msg),
                                  "Authorization", authorization);
  r->body = soup_session_send_and_read (h->session, msg, NULL, &error);
  if (error) {
    r->status = 0;
    r->body = g_bytes_new (NULL, 0);
    return r;
  }
  r->status = soup_message_get_status (msg);
  r->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  gsize len;
  const char *data = g_bytes_get_data (r->body, &len);
  if (len > 0) {
    g_autoptr (JsonParser) p = json_parser_new ();
    if (json_parser_load_from_data (p, data, (gssize) len, NULL))
      r->json = json_node_copy (json_parser_get_root (p));
  }
  return r;
}

ScResponse *
sc_harness_request (ScHarness *h, const char *method, const char *path, const char *body)
{
  g_autofree char *creds = g_strdup_printf ("%s:%s", h->token_id, h->token_secret);
  g_autofree char *b64 = g_base64_encode ((const guchar *) creds, strlen (creds));
  g_autofree char *auth = g_strconcat ("Basic ", b64, NULL);
  return sc_harness_raw (h, method, path, "application/json",
                         body, body ? strlen (body) : 0, auth);
}

void
sc_response_free (ScResponse *r)
{
  if (!r)
    return;
  g_clear_pointer (&r->json, json_node_unref);
  g_clear_pointer (&r->body, g_bytes_unref);
  g_clear_pointer (&r->headers, soup_message_headers_unref);
  g_free (r);
}

JsonObject *
sc_response_data (ScResponse *r)
{
  if (!r->json || !JSON_NODE_HOLDS_OBJECT (r->json))
    return NULL;
  JsonObject *root = json_node_get_object (r->json);
  JsonNode *d = json_object_get_member (root, "data");
  return d && JSON_NODE_HOLDS_OBJECT (d) ? json_node_get_object (d) : NULL;
}

JsonArray *
sc_response_data_array (ScResponse *r)
{
  if (!r->json || !JSON_NODE_HOLDS_OBJECT (r->json))
    return NULL;
  JsonNode *d = json_object_get_member (json_node_get_object (r->json), "data");
  return d && JSON_NODE_HOLDS_ARRAY (d) ? json_node_get_array (d) : NULL;
}

const char *
sc_response_str (ScResponse *r, const char *member)
{
  JsonObject *d = sc_response_data (r);
  if (!d || !json_object_has_member (d, member))
    return NULL;
  JsonNode *n = json_object_get_member (d, member);
  return JSON_NODE_HOLDS_VALUE (n) ? json_node_get_string (n) : NULL;
}

const char *
sc_response_error_type (ScResponse *r)
{
  if (!r->json || !JSON_NODE_HOLDS_OBJECT (r->json))
    return NULL;
  JsonObject *root = json_node_get_object (r->json);
  if (!json_object_has_member (root, "error"))
    return NULL;
  JsonObject *e = json_object_get_object_member (root, "error");
  return e && json_object_has_member (e, "type") ? json_object_get_string_member (e, "type") : NULL;
}

char *
sc_response_error_text (ScResponse *r)
{
  GString *s = g_string_new (NULL);
  if (r->json && JSON_NODE_HOLDS_OBJECT (r->json)) {
    JsonObject *root = json_node_get_object (r->json);
    if (json_object_has_member (root, "error")) {
      JsonObject *e = json_object_get_object_member (root, "error");
      JsonArray *m = json_object_has_member (e, "messages")
          ? json_object_get_array_member (e, "messages") : NULL;
      for (guint i = 0; m && i < json_array_get_length (m); i++)
        g_string_append_printf (s, "%s%s", i ? "; " : "", json_array_get_string_element (m, i));
    }
  }
  return g_string_free (s, FALSE);
}

int
sc_harness_run (char **out, const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv,
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error);
  g_assert_no_error (error);
  g_autofree char *stdout_buf = NULL;
  g_subprocess_communicate_utf8 (p, NULL, NULL, &stdout_buf, NULL, &error);
  g_assert_no_error (error);
  if (out)
    *out = g_steal_pointer (&stdout_buf);
  return g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p) : -1;
}

/* Helper processes (publishers, ffmpeg) are not under the test's
 * G_DEBUG=fatal-criticals: rtmp2sink 1.22 logs a harmless CRITICAL against
 * ffmpeg's RTMP server.  The daemon gets it back (sc_harness_launch). */
GSubprocessLauncher *
sc_harness_launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *l = g_subprocess_launcher_new (flags);
  g_subprocess_launcher_set_child_setup (l, die_with_parent, NULL, NULL);
  g_subprocess_launcher_unsetenv (l, "G_DEBUG");
  return l;
}

static GSubprocess *
spawn_publisher (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) l = sc_harness_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  GSubprocess *p = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  return p;
}

static GSubprocess *
ffmpeg_publish (const char *format, const char *url, double seconds)
{
  g_autofree char *t = g_strdup_printf ("%.3f", seconds);
  const char *argv[] = {
    "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-t", t, "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-keyint_min", "60",
    "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", format, url, NULL
  };
  return spawn_publisher (argv);
}

GSubprocess *
sc_harness_ffmpeg_publish (ScHarness *h, const char *key, double seconds)
{
  g_autofree char *url = g_strdup_printf ("rtmp://127.0.0.1:%u/app/%s", h->rtmp_port, key);
  return ffmpeg_publish ("flv", url, seconds);
}

GSubprocess *
sc_harness_ffmpeg_publish_srt (const char *url, double seconds)
{
  return ffmpeg_publish ("mpegts", url, seconds);
}

GSubprocess *
sc_harness_gst_publish (ScHarness *h, const char *key, int seconds)
{
  g_autofree char *cmd = g_strdup_printf (
      "gst-launch-1.0 -q videotestsrc num-buffers=%d is-live=true ! "
      "video/x-raw,width=640,height=360,framerate=30/1 ! x264enc key-int-max=60 speed-preset=veryfast ! "
      "h264parse ! flvmux name=m streamable=true ! "
      "rtmp2sink location=rtmp://127.0.0.1:%u/app/%s "
      "audiotestsrc num-buffers=%d is-live=true samplesperbuffer=1024 ! "
      "audio/x-raw,rate=48000 ! avenc_aac ! aacparse ! m.",
      seconds * 30, h->rtmp_port, key, seconds * 48000 / 1024);
  g_auto (GStrv) argv = g_strsplit (cmd, " ", -1);
  return spawn_publisher ((const char *const *) argv);
}

gboolean
sc_harness_wait_exit (GSubprocess *p, double timeout_s, int *status)
{
  /* GSubprocess reaps its child from GLib's worker thread, so polling the
   * identifier needs no main loop here. */
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  while (g_subprocess_get_identifier (p)) {
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    g_usleep (20 * 1000);
  }
  g_subprocess_wait (p, NULL, NULL);
  if (status)
    *status = g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p) : -1;
  return TRUE;
}

JsonObject *
sc_harness_get_data (ScHarness *h, const char *path)
{
  g_autoptr (ScResponse) r = sc_harness_request (h, "GET", path, NULL);
  JsonObject *d = r->status == 200 ? sc_response_data (r) : NULL;
  return d ? json_object_ref (d) : NULL;
}

gboolean
sc_harness_wait_member (ScHarness *h, const char *path, const char *member,
                        const char *value, double timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  for (;;) {
    g_autoptr (JsonObject) d = sc_harness_get_data (h, path);
    if (d) {
      JsonNode *n = json_object_get_member (d, member);
      const char *s = n && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_string (n) : NULL;
      if (value ? g_strcmp0 (s, value) == 0 : n == NULL || JSON_NODE_HOLDS_NULL (n))
        return TRUE;
    }
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    g_usleep (100 * 1000);
  }
}

guint
sc_harness_download (ScHarness *h, const char *path, const char *file)
{
  g_autoptr (ScResponse) r = sc_harness_raw (h, "GET", path, NULL, NULL, 0, NULL);
  gsize len;
  const char *data = g_bytes_get_data (r->body, &len);
  g_autoptr (GError) error = NULL;
  if (r->status == 200) {
    g_file_set_contents (file, data ? data : "", (gssize) len, &error);
    g_assert_no_error (error);
  }
  return r->status;
}

char *
sc_harness_get_text (ScHarness *h, const char *path, guint *status)
{
  g_autoptr (ScResponse) r = sc_harness_raw (h, "GET", path, NULL, NULL, 0, NULL);
  *status = r->status;
  return g_strndup (g_bytes_get_data (r->body, NULL), g_bytes_get_size (r->body));
}

guint
sc_harness_count_lines (const char *text, const char *prefix)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0;
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], prefix))
      n++;
  return n;
}

void
sc_harness_wait_exit_ok (GSubprocess *p, double timeout_s)
{
  int status = -1;
  g_assert_true (sc_harness_wait_exit (p, timeout_s, &status));
  g_assert_cmpint (status, ==, 0);
}

/* ---- live streams and their recordings ----------------------------------- */

JsonObject *
sc_harness_create_live_stream (ScHarness *h, int reconnect_window)
{
  g_autofree char *body = g_strdup_printf (
      "{\"playback_policies\":[\"public\"],"
      "\"new_asset_settings\":{\"playback_policies\":[\"public\"]},"
      "\"reconnect_window\":%d}", reconnect_window);
  g_autoptr (ScResponse) r = sc_harness_request (h, "POST", "/video/v1/live-streams", body);
  g_assert_cmpuint (r->status, ==, 201);
  return json_object_ref (sc_response_data (r));
}

const char *
sc_harness_playback_id (JsonObject *resource)
{
  JsonArray *pids = json_object_get_array_member (resource, "playback_ids");
  return json_object_get_string_member (json_array_get_object_element (pids, 0), "id");
}

char *
sc_harness_wait_live_playlist (ScHarness *h, const char *playback_id, guint segments,
                               double timeout_s)
{
  g_autofree char *m3u8 = g_strdup_printf ("/stream/%s.m3u8", playback_id);
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  for (;;) {
    guint status;
    char *text = sc_harness_get_text (h, m3u8, &status);
    if (status == 200 && sc_harness_count_lines (text, "#EXTINF") >= segments)
      return text;
    g_free (text);
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (100 * 1000);
  }
}

JsonObject *
sc_harness_wait_asset_ready (ScHarness *h, const char *asset_id, double timeout_s)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/assets/%s", asset_id);
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  JsonObject *a;
  while ((a = sc_harness_get_data (h, path)) &&
         g_str_equal (json_object_get_string_member (a, "status"), "preparing")) {
    json_object_unref (a);
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (100 * 1000);
  }
  g_assert_nonnull (a);
  g_assert_cmpstr (json_object_get_string_member (a, "status"), ==, "ready");
  g_assert_false (json_object_get_boolean_member (a, "is_live"));
  return a;
}

char *
sc_harness_download_mp4 (ScHarness *h, const char *playback_id, const char *name)
{
  g_autofree char *path = g_strdup_printf ("/stream/%s/highest.mp4", playback_id);
  char *file = g_build_filename (h->data_dir, name, NULL);
  g_assert_cmpuint (sc_harness_download (h, path, file), ==, 200);
  return file;
}

/* ---- media probes -------------------------------------------------------- */

char *
sc_harness_ffprobe (const char *file, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) "ffprobe");
  g_ptr_array_add (argv, (gpointer) "-v");
  g_ptr_array_add (argv, (gpointer) "error");
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, (gpointer) file);
  g_ptr_array_add (argv, NULL);
  char *out = NULL;
  int status = sc_harness_run (&out, (const char *const *) argv->pdata);
  if (status != 0)
    g_error ("ffprobe %s failed: %s", file, out);
  return out;
}

double
sc_harness_media_duration (const char *file)
{
  const char *args[] = { "-show_entries", "format=duration", "-of", "csv=p=0", NULL };
  g_autofree char *out = sc_harness_ffprobe (file, args);
  return g_ascii_strtod (out, NULL);
}

GArray *
sc_harness_ffprobe_times (const char *file, const char *const *args)
{
  g_autofree char *out = sc_harness_ffprobe (file, args);
  GArray *times = g_array_new (FALSE, FALSE, sizeof (double));
  /* csv may add trailing commas and blank lines (side data): one number a line. */
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    char *end = NULL;
    double v = g_ascii_strtod (lines[i], &end);
    if (end != lines[i])
      g_array_append_val (times, v);
  }
  return times;
}

GArray *
sc_harness_keyframe_times (const char *file)
{
  const char *args[] = { "-select_streams", "v:0", "-skip_frame", "nokey",
                         "-show_entries", "frame=pts_time", "-of", "csv=p=0", NULL };
  return sc_harness_ffprobe_times (file, args);
}

/* "h264,video\naac,audio\n" and the like, in stream order. */
void
sc_harness_assert_h264_aac (const char *file)
{
  const char *args[] = { "-show_entries", "stream=codec_name,codec_type", "-of", "csv=p=0", NULL };
  g_autofree char *out = sc_harness_ffprobe (file, args);
  g_test_message ("%s: %s", file, out);
  g_assert_nonnull (strstr (out, "h264,video"));
  g_assert_nonnull (strstr (out, "aac,audio"));
}

GBytes *
sc_harness_run_raw (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  GBytes *out = NULL;
  g_subprocess_communicate (p, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  return out;
}

/* ---- spaces, signing keys and WHIP publishers ---------------------------- */

void
sc_harness_create_signing_key (ScHarness *h, char **id, char **private_key)
{
  g_autoptr (ScResponse) r = sc_harness_request (h, "POST", "/system/v1/signing-keys", NULL);
  g_assert_cmpuint (r->status, ==, 201);
  *id = g_strdup (sc_response_str (r, "id"));
  *private_key = g_strdup (sc_response_str (r, "private_key"));
}

char *
sc_harness_create_space (ScHarness *h)
{
  g_autoptr (ScResponse) r = sc_harness_request (h, "POST", "/video/v1/spaces", "{}");
  g_assert_cmpuint (r->status, ==, 201);
  return g_strdup (sc_response_str (r, "id"));
}

char *
sc_harness_space_status (ScHarness *h, const char *space_id, char **active_session_id)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s", space_id);
  g_autoptr (ScResponse) r = sc_harness_request (h, "GET", path, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  JsonObject *s = sc_response_data (r);
  if (active_session_id)
    *active_session_id = json_object_has_member (s, "active_session_id")
        ? g_strdup (json_object_get_string_member (s, "active_session_id")) : NULL;
  return g_strdup (json_object_get_string_member (s, "status"));
}

JsonArray *
sc_harness_participants (ScHarness *h, const char *space_id)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s/participants", space_id);
  g_autoptr (ScResponse) r = sc_harness_request (h, "GET", path, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  return json_array_ref (sc_response_data_array (r));
}

JsonObject *
sc_harness_find_track (JsonObject *participant, const char *type)
{
  JsonArray *tracks = json_object_get_array_member (participant, "tracks");
  for (guint i = 0; i < json_array_get_length (tracks); i++) {
    JsonObject *t = json_array_get_object_element (tracks, i);
    if (g_str_equal (json_object_get_string_member (t, "type"), type))
      return t;
  }
  return NULL;
}

gint64
sc_harness_frames_decoded (JsonObject *participant, const char *type)
{
  JsonObject *t = sc_harness_find_track (participant, type);
  return t ? json_object_get_int_member (t, "frames_decoded") : -1;
}

JsonObject *
sc_harness_wait_participants (ScHarness *h, const char *space_id, guint count,
                              gint64 min_frames, double timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  while (TRUE) {
    g_autoptr (JsonArray) ps = sc_harness_participants (h, space_id);
    guint n = json_array_get_length (ps);
    if (n == count) {
      if (count == 0)
        return NULL;
      JsonObject *p = json_array_get_object_element (ps, 0);
      if (min_frames <= 0 || (sc_harness_frames_decoded (p, "video") > min_frames &&
                              sc_harness_frames_decoded (p, "audio") > min_frames))
        return json_object_ref (p);
    }
    if (g_get_monotonic_time () > deadline)
      g_error ("space %s: still %u participants (wanted %u with > %" G_GINT64_FORMAT
               " frames) after %.0f s", space_id, n, count, min_frames, timeout_s);
    g_usleep (200 * 1000);
  }
}

GSubprocess *
sc_harness_whip_publish (ScHarness *h, const char *space_id, const char *token,
                         const char *const *extra_args, char **location)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *url = g_strdup_printf ("%s/rt/v1/spaces/%s/whip", h->base_url, space_id);
  const char *const base[] = { g_getenv ("SC_DAEMON"), "publish", "--whip", url,
                               "--token", token, "--ice-host", "127.0.0.1" };
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (base); i++)
    g_ptr_array_add (argv, (gpointer) base[i]);
  for (guint i = 0; extra_args && extra_args[i]; i++)
    g_ptr_array_add (argv, (gpointer) extra_args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GSubprocessLauncher) l = sc_harness_launcher_new (
      location ? G_SUBPROCESS_FLAGS_STDOUT_PIPE : G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  GSubprocess *p = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  if (!location)
    return p;

  g_autoptr (GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  g_autofree char *line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, &error);
  g_assert_no_error (error);
  if (!line || !g_str_has_prefix (line, "publishing; session "))
    g_error ("publisher did not start publishing: %s", line ? line : "(exited)");
  const char *abs = line + strlen ("publishing; session ");
  g_assert_true (g_str_has_prefix (abs, h->base_url));
  *location = g_strdup (abs + strlen (h->base_url));
  return p;
}

void
sc_harness_stop_publisher (GSubprocess *p, gboolean crash)
{
  if (crash)
    g_subprocess_force_exit (p);
  else
    g_subprocess_send_signal (p, SIGTERM);
  g_assert_true (g_subprocess_wait (p, NULL, NULL));
  g_object_unref (p);
}

void
sc_harness_stop (ScHarness *h)
{
  stop_process (h, FALSE);
}
