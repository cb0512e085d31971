/* Test harness, the daemon as a process: its pid, fds, threads, CPU and
 * memory, its log, fd limits, raw HTTP/1.1 on one connection, parallel
 * requests, fuzz seeds, and the browser tests' tools. */
#include "harness.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* ---- the daemon's process and raw HTTP ----------------------------------- */


GPid
sc_harness_pid (ScHarness *h)
{
  const char *id = g_subprocess_get_identifier (h->proc);
  g_assert_nonnull (id);
  return (GPid) g_ascii_strtoll (id, NULL, 10);
}

guint
sc_harness_daemon_fds (ScHarness *h)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", sc_harness_pid (h));
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (path, 0, &error);
  g_assert_no_error (error);
  guint n = 0;
  while (g_dir_read_name (dir))
    n++;
  return n;
}

guint
sc_harness_daemon_threads (ScHarness *h)
{
  return (guint) sc_harness_status_field (h, "Threads");
}

typedef struct {
  ScHarness *h;
  SoupSession *session;
  const char *method, *url, *content_type, *body;
  GPtrArray *responses;
  guint pending;
  guint peak_fds, peak_threads;
} Parallel;

typedef struct {
  Parallel *par;
  guint index;
  const char *authorization;
  SoupMessage *msg;
} ParallelOne;

static void
parallel_sample (Parallel *par)
{
  /* The daemon may have died under the load: that is for the caller to see. */
  if (!g_subprocess_get_identifier (par->h->proc))
    return;
  par->peak_fds = MAX (par->peak_fds, sc_harness_daemon_fds (par->h));
  par->peak_threads = MAX (par->peak_threads, sc_harness_daemon_threads (par->h));
}

static gboolean
parallel_tick (gpointer data)
{
  parallel_sample (data);
  return G_SOURCE_CONTINUE;
}

static void parallel_done (GObject *source, GAsyncResult *res, gpointer data);

static void
parallel_send (ParallelOne *one)
{
  Parallel *par = one->par;
  g_clear_object (&one->msg);
  one->msg = soup_message_new (par->method, par->url);
  g_assert_nonnull (one->msg);
  if (par->body) {
    g_autoptr (GBytes) b = g_bytes_new (par->body, strlen (par->body));
    soup_message_set_request_body_from_bytes (one->msg, par->content_type, b);
  }
  if (one->authorization)
    soup_message_headers_replace (soup_message_get_request_headers (one->msg),
                                  "Authorization", one->authorization);
  soup_session_send_and_read_async (par->session, one->msg, G_PRIORITY_DEFAULT, NULL,
                                    parallel_done, one);
}

static void
parallel_done (GObject *source, GAsyncResult *res, gpointer data)
{
  ParallelOne *one = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), res,
                                                               &error);
  ScResponse *r = g_new0 (ScResponse, 1);
  if (error) {
    g_test_message ("parallel request %u failed: %s", one->index, error->message);
    r->body = g_bytes_new (NULL, 0);
  } else {
    r->body = g_steal_pointer (&body);
    r->status = soup_message_get_status (one->msg);
    r->headers = soup_message_headers_ref (soup_message_get_response_headers (one->msg));
    gsize len;
    const char *text = g_bytes_get_data (r->body, &len);
    g_autoptr (JsonParser) p = json_parser_new ();
    if (len > 0 && json_parser_load_from_data (p, text, (gssize) len, NULL))
      r->json = json_node_copy (json_parser_get_root (p));
  }
  g_ptr_array_index (one->par->responses, one->index) = r;
  one->par->pending--;
  g_object_unref (one->msg);
  g_free (one);
}

GPtrArray *
sc_harness_parallel_raw (ScHarness *h, guint n, const char *method, const char *path,
                         const char *content_type, const char *body,
                         const char *const *authorizations, guint *peak_fds,
                         guint *peak_threads)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);
  g_autoptr (SoupSession) session = soup_session_new_with_options (
      "timeout", 60, "max-conns", (int) n + 1, "max-conns-per-host", (int) n + 1, NULL);
  g_autofree char *url = g_strconcat (h->base_url, path, NULL);
  Parallel par = { h, session, method, url, content_type, body,
                   g_ptr_array_new_full (n, (GDestroyNotify) sc_response_free), n, 0, 0 };

  g_ptr_array_set_size (par.responses, n);
  parallel_sample (&par);
  for (guint i = 0; i < n; i++) {
    ParallelOne *one = g_new0 (ParallelOne, 1);
    one->par = &par;
    one->index = i;
    one->authorization = authorizations ? authorizations[i] : NULL;
    parallel_send (one);
  }
  GSource *tick = g_timeout_source_new (20);
  g_source_set_callback (tick, parallel_tick, &par, NULL);
  g_source_attach (tick, ctx);
  while (par.pending > 0)
    g_main_context_iteration (ctx, TRUE);
  g_source_destroy (tick);
  g_source_unref (tick);
  parallel_sample (&par);
  g_main_context_pop_thread_default (ctx);
  if (peak_fds)
    *peak_fds = par.peak_fds;
  if (peak_threads)
    *peak_threads = par.peak_threads;
  return par.responses;
}

gboolean
sc_harness_wait_daemon_fds (ScHarness *h, guint count, double timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  while (sc_harness_daemon_fds (h) > count) {
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    g_usleep (20 * 1000);
  }
  return TRUE;
}

static char *
proc_file (ScHarness *h, const char *name)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/%s", sc_harness_pid (h), name);
  g_autoptr (GError) error = NULL;
  char *text = NULL;
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

guint64
sc_harness_status_field (ScHarness *h, const char *field)
{
  g_autofree char *text = proc_file (h, "status");
  g_autofree char *key = g_strconcat ("\n", field, ":", NULL);
  const char *at = strstr (text, key);
  g_assert_nonnull (at);
  return g_ascii_strtoull (at + strlen (key), NULL, 10);
}

double
sc_harness_cpu_seconds (ScHarness *h)
{
  g_autofree char *text = proc_file (h, "stat");
  /* The command name in parentheses may hold spaces: count after it.  The
   * fields after ")" start at the 3rd; utime and stime are the 14th, 15th. */
  g_auto (GStrv) f = g_strsplit (strrchr (text, ')') + 2, " ", -1);
  g_assert_cmpuint (g_strv_length (f), >, 12);
  guint64 ticks = g_ascii_strtoull (f[11], NULL, 10) + g_ascii_strtoull (f[12], NULL, 10);
  return (double) ticks / (double) sysconf (_SC_CLK_TCK);
}

void
sc_harness_set_fd_limit (ScHarness *h, guint nofile)
{
  g_autofree char *pid = g_strdup_printf ("%d", sc_harness_pid (h));
  g_autofree char *limit = g_strdup_printf ("--nofile=%u:%u", nofile, nofile);
  const char *argv[] = { "prlimit", "--pid", pid, limit, NULL };
  g_autofree char *out = NULL;
  if (sc_harness_run (&out, argv) != 0)
    g_error ("prlimit failed: %s", out);
}

GSocketConnection *
sc_harness_connect (ScHarness *h, guint timeout_s)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  g_socket_client_set_timeout (client, timeout_s);
  GSocketConnection *c = g_socket_client_connect_to_host (client, "127.0.0.1", h->http_port,
                                                          NULL, &error);
  g_assert_no_error (error);
  return c;
}

gboolean
sc_harness_send (GSocketConnection *c, const char *request)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (c));
  return g_output_stream_write_all (out, request, strlen (request), NULL, NULL, NULL);
}

/* One buffered reader per connection, so nothing read ahead is lost. */
static GDataInputStream *
response_reader (GSocketConnection *c)
{
  GDataInputStream *in = g_object_get_data (G_OBJECT (c), "sc-harness-reader");
  if (!in) {
    in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (c)));
    g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
    g_object_set_data_full (G_OBJECT (c), "sc-harness-reader", in, g_object_unref);
  }
  return in;
}

guint
sc_harness_read_response (GSocketConnection *c, SoupMessageHeaders **headers, char **body)
{
  GDataInputStream *in = response_reader (c);
  g_autoptr (GString) head = g_string_new (NULL);
  for (;;) {
    gsize len;
    g_autofree char *line = g_data_input_stream_read_line (in, &len, NULL, NULL);
    if (!line)
      return 0;
    if (len == 0)
      break;
    g_string_append_printf (head, "%s\r\n", line);
  }
  SoupMessageHeaders *h = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  guint status = 0;
  if (!soup_headers_parse_response (head->str, (int) head->len, h, NULL, &status, NULL))
    g_error ("not an HTTP response: %s", head->str);
  goffset length = soup_message_headers_get_content_length (h);
  g_autofree char *data = g_malloc (length + 1);
  gsize got = 0;
  if (!g_input_stream_read_all (G_INPUT_STREAM (in), data, length, &got, NULL, NULL) ||
      got != (gsize) length)
    status = 0;
  data[got] = '\0';
  if (headers)
    *headers = soup_message_headers_ref (h);
  if (body)
    *body = g_steal_pointer (&data);
  soup_message_headers_unref (h);
  return status;
}

char *
sc_harness_mux_node_script (const char *script, char **node)
{
  const char *src = g_getenv ("SC_SOURCE_ROOT");
  g_autofree char *sdk = g_build_filename (src, "tests", "browser", "node_modules", "@mux",
                                           "mux-node", "package.json", NULL);
  *node = g_find_program_in_path ("node");
  if (!*node) {
    g_test_skip ("node is not installed (apt-get install nodejs npm)");
    return NULL;
  }
  if (!g_file_test (sdk, G_FILE_TEST_EXISTS)) {
    g_test_skip ("@mux/mux-node is not installed (cd tests/browser && npm ci)");
    g_clear_pointer (node, g_free);
    return NULL;
  }
  return g_build_filename (src, "tests", "browser", script, NULL);
}

char *
sc_harness_basic_auth (ScHarness *h)
{
  g_autofree char *creds = g_strdup_printf ("%s:%s", h->token_id, h->token_secret);
  g_autofree char *b64 = g_base64_encode ((const guchar *) creds, strlen (creds));
  return g_strconcat ("Basic ", b64, NULL);
}

/* ---- the daemon's log, CPU share; fuzz seeds ----------------------------- */


/* The log of the last daemon started logged, for a failing test to show:
 * in CI a test's stderr is all that is left of a one-off failure. */
static char logged_path[4096];

static void
write_all (int fd, const char *buf, ssize_t len)
{
  while (len > 0) {
    ssize_t n = write (fd, buf, (size_t) len);
    if (n <= 0)
      return;
    buf += n;
    len -= n;
  }
}

/* A failed assertion or g_error ends the test with SIGABRT or SIGTRAP:
 * before it does, the last part of the daemon's log goes to stderr.
 * Async-signal-safe calls only. */
static void
on_fatal_signal (int sig)
{
  static const char head[] = "\n---- the end of the daemon's log ----\n";
  static const char tail[] = "---- (daemon log ends) ----\n";
  char buf[4096];
  int fd = open (logged_path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    off_t size = lseek (fd, 0, SEEK_END);
    lseek (fd, size > 16384 ? size - 16384 : 0, SEEK_SET);
    write_all (STDERR_FILENO, head, sizeof head - 1);
    ssize_t n;
    while ((n = read (fd, buf, sizeof buf)) > 0)
      write_all (STDERR_FILENO, buf, n);
    write_all (STDERR_FILENO, tail, sizeof tail - 1);
    close (fd);
  }
  signal (sig, SIG_DFL);
  raise (sig);
}

ScHarness *
sc_harness_start_logged (const char *const *extra_args, const char *log_path)
{
  g_strlcpy (logged_path, log_path, sizeof logged_path);
  signal (SIGABRT, on_fatal_signal);
  signal (SIGTRAP, on_fatal_signal);
  /* The daemon inherits the test's stderr: point that at the file while it
   * is spawned, so that its whole log lands there and nowhere else. */
  int fd = g_open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  fflush (stderr);
  int saved = dup (STDERR_FILENO);
  g_assert_cmpint (saved, >=, 0);
  g_assert_cmpint (dup2 (fd, STDERR_FILENO), ==, STDERR_FILENO);
  close (fd);
  ScHarness *h = sc_harness_start (extra_args);
  fflush (stderr);
  g_assert_cmpint (dup2 (saved, STDERR_FILENO), ==, STDERR_FILENO);
  close (saved);
  return h;
}

double
sc_harness_cpu_share (ScHarness *h, double seconds)
{
  double before = sc_harness_cpu_seconds (h);
  gint64 t0 = g_get_monotonic_time ();
  g_usleep ((gulong) (seconds * G_USEC_PER_SEC));
  double after = sc_harness_cpu_seconds (h);
  return (after - before) / ((g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC);
}

void
sc_harness_fuzz_seed (const char *fuzzer, const guint8 *data, gsize len)
{
  const char *dir = g_getenv ("SC_FUZZ_SEEDS");
  if (!dir)
    return;
  len = MIN (len, SC_HARNESS_FUZZ_SEED_MAX);
  g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA1, data, len);
  g_autofree char *sub = g_build_filename (dir, fuzzer, NULL);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0755), ==, 0);
  g_autofree char *path = g_build_filename (sub, sum, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, (const char *) data, (gssize) len, &error);
  g_assert_no_error (error);
}

/* ---- the browser tests' tools -------------------------------------------- */

char *
sc_harness_browser_find (ScBrowser *b, const char *script)
{
  const char *src = g_getenv ("SC_SOURCE_ROOT");
  g_autofree char *modules = g_build_filename (src, "tests", "browser", "node_modules",
                                               "puppeteer-core", "package.json", NULL);
  b->chromium = g_strdup (g_getenv ("CHROMIUM") ? g_getenv ("CHROMIUM") : "/usr/bin/chromium");
  b->node = g_find_program_in_path ("node");
  b->script = g_build_filename (src, "tests", "browser", script, NULL);
  if (!g_file_test (b->chromium, G_FILE_TEST_IS_EXECUTABLE))
    return g_strdup_printf ("%s is not installed (apt-get install chromium)", b->chromium);
  if (!b->node)
    return g_strdup ("node is not installed (apt-get install nodejs npm)");
  if (!g_file_test (modules, G_FILE_TEST_EXISTS))
    return g_strdup ("puppeteer-core is not installed (cd tests/browser && npm ci)");
  return NULL;
}

GSubprocess *
sc_harness_browser_spawn (const ScBrowser *b, const char *const *args, GSubprocessFlags flags)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, b->node);
  g_ptr_array_add (argv, b->script);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) l = sc_harness_launcher_new (flags);
  g_subprocess_launcher_setenv (l, "CHROMIUM", b->chromium, TRUE);
  GSubprocess *p = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  return p;
}

void
sc_harness_browser_clear (ScBrowser *b)
{
  g_clear_pointer (&b->node, g_free);
  g_clear_pointer (&b->chromium, g_free);
  g_clear_pointer (&b->script, g_free);
}

char *
sc_harness_sample_page (const char *name)
{
  g_autofree char *page = g_build_filename (g_getenv ("SC_SOURCE_ROOT"), "samples", "web",
                                            name, NULL);
  g_assert_true (g_file_test (page, G_FILE_TEST_EXISTS));
  return g_filename_to_uri (page, NULL, NULL);
}
