/* Prometheus metrics against the real daemon: with --metrics, GET /metrics
 * on that port is valid exposition text (parsed by prometheus_client, as a
 * Prometheus server would) whose samples say what the test did (HTTP,
 * live streams, spaces and their WebRTC media, RTMP and SRT doors); the API
 * port has no /metrics; without --metrics nothing more listens. */
#include "harness.h"
#include "spacecast/jwt.h"

#include <string.h>

#define WAIT_S 60

static ScHarness *h;
static guint16 metrics_port;
static guint16 srt_port;

/* Debian's python3-prometheus-client is installed for /usr/bin/python3,
 * which a python3 earlier in PATH (a pyenv, say) may not see. */
#define PYTHON "/usr/bin/python3"

/* Checks samples of the exposition in argv[1]: each further argument is
 * NAME|LABEL=VALUE;...|OP|NUMBER with OP one of == > (labels must match
 * exactly).  Prints what failed and exits 1. */
static const char check_script[] =
  "import sys\n"
  "from prometheus_client.parser import text_string_to_metric_families\n"
  "samples = {}\n"
  "for fam in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
  "    for s in fam.samples:\n"
  "        samples[(s.name, frozenset(s.labels.items()))] = s.value\n"
  "bad = []\n"
  "for check in sys.argv[2:]:\n"
  "    name, labels, op, want = check.split('|')\n"
  "    key = (name, frozenset(tuple(l.split('=', 1)) for l in labels.split(';') if l))\n"
  "    got = samples.get(key)\n"
  "    if got is None or not {'==': got == float(want), '>': got > float(want)}[op]:\n"
  "        bad.append('%s: got %s' % (check, got))\n"
  "print('\\n'.join(bad) or 'ok')\n"
  "sys.exit(1 if bad else 0)\n";

static char *
metrics_url (const char *path)
{
  return g_strdup_printf ("http://127.0.0.1:%u%s", metrics_port, path);
}

/* GET (or @method) on the metrics port; the body, the status in *status
 * and the content type in *ctype when not NULL. */
static char *
metrics_fetch (const char *method, const char *path, guint *status, char **ctype)
{
  g_autofree char *url = metrics_url (path);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read (h->session, msg, NULL, &error);
  g_assert_no_error (error);
  *status = soup_message_get_status (msg);
  if (ctype)
    *ctype = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                     "Content-Type"));
  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

/* Scrapes and runs check_script over it with @checks (NULL-terminated). */
static void
assert_samples (const char *const *checks)
{
  guint status;
  g_autofree char *ctype = NULL;
  g_autofree char *text = metrics_fetch ("GET", "/metrics", &status, &ctype);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (ctype, ==, "text/plain; version=0.0.4; charset=utf-8");
  g_autofree char *file = g_build_filename (h->data_dir, "scrape.txt", NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (file, text, -1, &error);
  g_assert_no_error (error);

  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, PYTHON);
  g_ptr_array_add (argv, "-c");
  g_ptr_array_add (argv, (gpointer) check_script);
  g_ptr_array_add (argv, file);
  for (guint i = 0; checks[i]; i++)
    g_ptr_array_add (argv, (gpointer) checks[i]);
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL;
  int rc = sc_harness_run (&out, (const char *const *) argv->pdata);
  if (rc != 0)
    g_test_message ("scrape:\n%s", text);
  g_assert_cmpstr (g_strstrip (out), ==, "ok");
  g_assert_cmpint (rc, ==, 0);
}

static gint
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

/* "80,443": @ports sorted and joined. */
static char *
join_sorted (GArray *ports)
{
  g_array_sort (ports, compare_uint);
  GString *out = g_string_new (NULL);
  for (guint i = 0; i < ports->len; i++)
    g_string_append_printf (out, "%s%u", i ? "," : "", g_array_index (ports, guint, i));
  return g_string_free (out, FALSE);
}

/* The TCP ports @pid listens on (IPv4 and IPv6), sorted: its listening
 * sockets' inodes matched against /proc/net/tcp{,6}. */
static char *
listening_ports (GPid pid)
{
  g_autoptr (GHashTable) inodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *fd_dir = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr (GDir) dir = g_dir_open (fd_dir, 0, NULL);
  g_assert_nonnull (dir);
  const char *name;
  while ((name = g_dir_read_name (dir))) {
    g_autofree char *link = g_build_filename (fd_dir, name, NULL);
    g_autofree char *target = g_file_read_link (link, NULL);
    if (target && g_str_has_prefix (target, "socket:["))
      g_hash_table_add (inodes, g_strndup (target + 8, strlen (target) - 9));
  }
  g_autoptr (GArray) ports = g_array_new (FALSE, FALSE, sizeof (guint));
  const char *tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
  for (guint t = 0; t < G_N_ELEMENTS (tables); t++) {
    g_autofree char *text = NULL;
    if (!g_file_get_contents (tables[t], &text, NULL, NULL))
      continue;
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    for (guint i = 1; lines[i]; i++) {
      /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
      g_auto (GStrv) f = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      g_autoptr (GPtrArray) cols = g_ptr_array_new ();
      for (guint k = 0; f[k]; k++)
        if (*f[k])
          g_ptr_array_add (cols, f[k]);
      if (cols->len < 10 || !g_str_equal (cols->pdata[3], "0A") ||
          !g_hash_table_contains (inodes, cols->pdata[9]))
        continue;
      const char *colon = strrchr (cols->pdata[1], ':');
      guint port = (guint) g_ascii_strtoull (colon + 1, NULL, 16);
      g_array_append_val (ports, port);
    }
  }
  return join_sorted (ports);
}

static char *
expected_ports (guint a, guint b, guint c)
{
  g_autoptr (GArray) ports = g_array_new (FALSE, FALSE, sizeof (guint));
  guint p[] = { a, b, c };
  for (guint i = 0; i < G_N_ELEMENTS (p); i++)
    if (p[i])
      g_array_append_val (ports, p[i]);
  return join_sorted (ports);
}

/* The value of one sample ("name{labels}" exactly as exposed), or -1. */
static double
sample_value (const char *name_and_labels)
{
  guint status;
  g_autofree char *text = metrics_fetch ("GET", "/metrics", &status, NULL);
  g_autofree char *needle = g_strdup_printf ("\n%s ", name_and_labels);
  const char *at = strstr (text, needle);
  return at ? g_ascii_strtod (at + strlen (needle), NULL) : -1;
}

static void
test_scrape (void)
{
  /* Two live streams created, the listing read three times, one stream
   * read by id: the counters are per route pattern, never per path. */
  g_autoptr (JsonObject) ls1 = sc_harness_create_live_stream (h, 60);
  g_autoptr (JsonObject) ls2 = sc_harness_create_live_stream (h, 60);
  const char *id1 = json_object_get_string_member (ls1, "id");
  const char *id2 = json_object_get_string_member (ls2, "id");
  for (guint i = 0; i < 3; i++) {
    g_autoptr (ScResponse) r = sc_harness_request (h, "GET", "/video/v1/live-streams", NULL);
    g_assert_cmpuint (r->status, ==, 200);
  }
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s", id1);
  g_autoptr (ScResponse) one = sc_harness_request (h, "GET", path, NULL);
  g_assert_cmpuint (one->status, ==, 200);
  g_autofree char *disable = g_strdup_printf ("/video/v1/live-streams/%s/disable", id2);
  g_autoptr (ScResponse) off = sc_harness_request (h, "PUT", disable, NULL);
  g_assert_cmpuint (off->status, ==, 200);

  /* A publisher in a space. */
  g_autofree char *kid = NULL, *priv = NULL;
  sc_harness_create_signing_key (h, &kid, &priv);
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *empty_space = sc_harness_create_space (h);
  g_autoptr (GError) error = NULL;
  g_autofree char *token = sc_jwt_sign_space_token (priv, kid, space, NULL, "alice", 3600, TRUE,
                                                    &error);
  g_assert_no_error (error);
  g_autofree char *location = NULL;
  GSubprocess *pub = sc_harness_whip_publish (h, space, token, NULL, &location);
  g_autoptr (JsonObject) p = sc_harness_wait_participants (h, space, 1, 0, WAIT_S);

  g_autofree char *idle1 = g_strdup_printf ("spacecast_live_stream_status|live_stream_id=%s;status=idle|==|1", id1);
  g_autofree char *active1 = g_strdup_printf ("spacecast_live_stream_status|live_stream_id=%s;status=active|==|0", id1);
  g_autofree char *disabled2 = g_strdup_printf ("spacecast_live_stream_status|live_stream_id=%s;status=disabled|==|1", id2);
  g_autofree char *idle2 = g_strdup_printf ("spacecast_live_stream_status|live_stream_id=%s;status=idle|==|0", id2);
  g_autofree char *joined = g_strdup_printf ("spacecast_space_participants|space_id=%s|==|1", space);
  g_autofree char *nobody = g_strdup_printf ("spacecast_space_participants|space_id=%s|==|0", empty_space);
  const char *checks[] = {
    "spacecast_http_requests_total|method=POST;route=/video/v1/live-streams;code=201|==|2",
    "spacecast_http_requests_total|method=GET;route=/video/v1/live-streams;code=200|==|3",
    "spacecast_http_requests_total|method=GET;route=/video/v1/live-streams/*;code=200|==|1",
    "spacecast_http_requests_total|method=PUT;route=/video/v1/live-streams/*/disable;code=200|==|1",
    "spacecast_http_requests_total|method=POST;route=/rt/v1/spaces/*/whip;code=201|==|1",
    "spacecast_http_request_duration_seconds_count|method=POST;route=/video/v1/live-streams|==|2",
    "spacecast_http_request_duration_seconds_bucket|method=POST;route=/video/v1/live-streams;le=+Inf|==|2",
    idle1, active1, disabled2, idle2, joined, nobody,
    "spacecast_http_connections_accepted_total||>|0",
    "spacecast_webhook_queue_depth||==|0",
    "spacecast_webhook_deliveries_total||==|0",
    "process_open_fds||>|0",
    "process_threads||>|1",
    "process_resident_memory_bytes||>|1000000",
    NULL,
  };
  assert_samples (checks);

  /* The publisher's media, from webrtcbin's statistics (read every 2 s). */
  g_autofree char *received = g_strdup_printf ("spacecast_space_rtp_packets_received_total{space_id=\"%s\"}", space);
  gint64 end = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (sample_value (received) <= 0 && g_get_monotonic_time () < end)
    g_usleep (100 * 1000);
  double packets = sample_value (received);
  g_test_message ("space %s: %.0f RTP packets received", space, packets);
  g_assert_cmpfloat (packets, >, 0);
  const char *families[] = {
    "spacecast_space_rtp_packets_received_total", "spacecast_space_rtp_packets_lost_total",
    "spacecast_space_rtp_nacks_sent_total", "spacecast_space_keyframe_requests_total",
    "spacecast_space_decode_errors_total", NULL,
  };
  g_autoptr (GPtrArray) media = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; families[i]; i++) {
    g_ptr_array_add (media, g_strdup_printf ("%s|space_id=%s|==|0", families[i], empty_space));
    g_ptr_array_add (media, g_strdup_printf ("%s|space_id=%s|>|-1", families[i], space));
  }
  g_ptr_array_add (media, NULL);
  assert_samples ((const char *const *) media->pdata);

  sc_harness_stop_publisher (pub, FALSE);
  g_autoptr (JsonObject) gone = sc_harness_wait_participants (h, space, 0, 0, WAIT_S);
  g_autofree char *left = g_strdup_printf ("spacecast_space_participants|space_id=%s|==|0", space);
  assert_samples ((const char *[]) { left, NULL });
  /* Counters: what the leaver brought stays with the space. */
  g_assert_cmpfloat (sample_value (received), >=, packets);
}

/* A broadcast is a WHIP participant in, RTMP into our own ingest out: its
 * families and the ingest's move while media does, and a refused publish
 * is counted. */
static void
test_media_moves (void)
{
  g_autofree char *kid = NULL, *priv = NULL;
  sc_harness_create_signing_key (h, &kid, &priv);
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *token = sc_harness_sign (h, space, kid, priv, "bob");
  GSubprocess *pub = sc_harness_whip_publish (h, space, token, NULL, NULL);
  g_autoptr (JsonObject) p = sc_harness_wait_participants (h, space, 1, 0, WAIT_S);
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, 0);
  const char *ls_id = json_object_get_string_member (ls, "id");
  g_autofree char *b = sc_harness_create_broadcast (h, space, ls_id, "gallery");
  double refused_before = sample_value ("spacecast_rtmp_publishes_refused_total");
  g_assert_cmpuint (sc_harness_broadcast_action (h, space, b, "start"), ==, 200);
  g_autoptr (JsonObject) running = sc_harness_wait_broadcast_running (h, space, b, WAIT_S);

  g_autofree char *frames = g_strdup_printf ("spacecast_broadcast_frames_out_total{broadcast_id=\"%s\"}", b);
  g_autofree char *bytes = g_strdup_printf ("spacecast_live_stream_ingest_bytes_total{live_stream_id=\"%s\"}", ls_id);
  /* The broadcast's first frames may still be on their way to the ingest. */
  gint64 end = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (sample_value (bytes) <= 0 && g_get_monotonic_time () < end)
    g_usleep (100 * 1000);
  double frames1 = sample_value (frames), bytes1 = sample_value (bytes);
  g_usleep (G_USEC_PER_SEC);
  double frames2 = sample_value (frames), bytes2 = sample_value (bytes);
  g_test_message ("frames out %.0f → %.0f, ingest bytes %.0f → %.0f", frames1, frames2, bytes1, bytes2);
  g_assert_cmpfloat (frames1, >, 0);
  g_assert_cmpfloat (frames2, >, frames1);
  g_assert_cmpfloat (bytes1, >, 0);
  g_assert_cmpfloat (bytes2, >, bytes1);

  /* The output closes its first rate window a second after its first
   * frame; until then its fps reads 0. */
  g_autofree char *fps_sample = g_strdup_printf ("spacecast_broadcast_output_fps{broadcast_id=\"%s\"}", b);
  while (sample_value (fps_sample) <= 0 && g_get_monotonic_time () < end)
    g_usleep (100 * 1000);
  g_autofree char *fps = g_strdup_printf ("spacecast_broadcast_output_fps|broadcast_id=%s|>|0", b);
  g_autofree char *errors = g_strdup_printf ("spacecast_live_stream_media_errors_total|live_stream_id=%s|==|0", ls_id);
  assert_samples ((const char *[]) {
    fps, errors,
    "spacecast_rtmp_connections_open||==|1",
    "spacecast_rtmp_connections_publishing||==|1",
    "spacecast_rtmp_connections_accepted_total||>|0",
    "spacecast_rtmp_connections_refused_total||==|0",
    NULL });

  /* An encoder with a key nobody has. */
  GSubprocess *stranger = sc_harness_ffmpeg_publish (h, "no-such-key", 2);
  int st;
  g_assert_true (sc_harness_wait_exit (stranger, WAIT_S, &st));
  g_object_unref (stranger);
  g_assert_cmpfloat (sample_value ("spacecast_rtmp_publishes_refused_total"), ==, refused_before + 1);

  g_assert_cmpuint (sc_harness_broadcast_action (h, space, b, "stop"), ==, 200);
  sc_harness_stop_publisher (pub, FALSE);
  g_autoptr (JsonObject) gone = sc_harness_wait_participants (h, space, 0, 0, WAIT_S);
}

/* The SRT door: a caller with a key nobody has is refused in the
 * handshake, one with the right key and passphrase publishes. */
static void
test_srt (void)
{
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, 0);
  const char *id = json_object_get_string_member (ls, "id");
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s", id);
  g_autofree char *stranger_url = g_strdup_printf ("srt://127.0.0.1:%u?streamid=no-such-key", srt_port);
  g_autoptr (GSubprocess) stranger = sc_harness_ffmpeg_publish_srt (stranger_url, 2);
  g_assert_true (sc_harness_wait_exit (stranger, WAIT_S, NULL));

  g_autofree char *url = g_strdup_printf ("srt://127.0.0.1:%u?streamid=%s&passphrase=%s", srt_port,
                                          json_object_get_string_member (ls, "stream_key"),
                                          json_object_get_string_member (ls, "srt_passphrase"));
  g_autoptr (GSubprocess) pub = sc_harness_ffmpeg_publish_srt (url, 3);
  g_assert_true (sc_harness_wait_member (h, path, "status", "active", WAIT_S));
  assert_samples ((const char *[]) {
    "spacecast_srt_connections_open||==|1",
    "spacecast_srt_connections_publishing||==|1",
    "spacecast_srt_connections_accepted_total||==|1",
    "spacecast_srt_connections_refused_total|reason=unknown_key|>|0",
    "spacecast_srt_connections_refused_total|reason=disabled|==|0",
    "spacecast_srt_connections_refused_total|reason=limit|==|0",
    "spacecast_srt_connections_refused_total|reason=error|==|0",
    NULL });
  sc_harness_wait_exit_ok (pub, WAIT_S);
  g_assert_true (sc_harness_wait_member (h, path, "status", "idle", WAIT_S));
  assert_samples ((const char *[]) {
    "spacecast_srt_connections_open||==|0",
    "spacecast_srt_connections_publishing||==|0",
    NULL });
}

/* /metrics lives on its own port only; that port serves nothing else. */
static void
test_ports (void)
{
  guint status;
  g_autofree char *api = sc_harness_get_text (h, "/metrics", &status);
  g_assert_cmpuint (status, ==, 404);
  g_autofree char *other = metrics_fetch ("GET", "/video/v1/live-streams", &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  g_autofree char *post = metrics_fetch ("POST", "/metrics", &status, NULL);
  g_assert_cmpuint (status, ==, 405);

  g_autofree char *want = expected_ports (h->http_port, h->rtmp_port, metrics_port);
  g_autofree char *got = listening_ports (sc_harness_pid (h));
  g_assert_cmpstr (got, ==, want);
}

/* Off by default: the daemon listens on its API and RTMP ports only. */
static void
test_off (void)
{
  g_autoptr (ScHarness) plain = sc_harness_start (NULL);
  g_autofree char *want = expected_ports (plain->http_port, plain->rtmp_port, 0);
  g_autofree char *got = listening_ports (sc_harness_pid (plain));
  g_assert_cmpstr (got, ==, want);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  metrics_port = sc_harness_free_port ();
  srt_port = sc_harness_free_port ();
  g_autofree char *arg = g_strdup_printf ("--metrics=127.0.0.1:%u", metrics_port);
  g_autofree char *srt = g_strdup_printf ("127.0.0.1:%u", srt_port);
  h = sc_harness_start ((const char *[]) { arg, "--srt", srt, NULL });

  g_test_add_func ("/metrics/scrape", test_scrape);
  g_test_add_func ("/metrics/media-moves", test_media_moves);
  g_test_add_func ("/metrics/srt", test_srt);
  g_test_add_func ("/metrics/ports", test_ports);
  g_test_add_func ("/metrics/off", test_off);
  int rc = g_test_run ();
  sc_harness_free (h);
  return rc;
}
