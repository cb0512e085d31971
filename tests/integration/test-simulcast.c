/* Simulcast targets against real third-party RTMP servers: two nginx-rtmp
 * instances (Debian's libnginx-mod-rtmp, each with its own temporary
 * config on loopback) record what spacecast re-pushes from one ffmpeg
 * publish, read back with ffprobe; one application refuses the publish
 * outright, one through an on_publish hook answering 403; one nginx is
 * killed mid-stream and comes back.  srt:// targets push to two
 * srt-live-transmit listeners (srt-tools), one recording what it gets to
 * a file, the other seeing a wrong passphrase.  Plus the API's rules and
 * the Mux Node SDK's simulcast calls (v7 and v15).  One daemon for every
 * case. */
#include "harness.h"

#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>

#define NGINX_MODULE "/usr/lib/nginx/modules/ngx_rtmp_module.so"
#define WAIT_S 20.0

typedef struct {
  char *dir;
  guint16 rtmp_port, http_port;
  GSubprocess *proc;
} Nginx;

typedef struct {
  char *dir;
  guint16 port;
  GSubprocess *proc;
} SrtListener;

#define SRT_PASSPHRASE "simulcast-srt-secret"

static ScHarness *daemon_h;
static char *daemon_log;
static Nginx ngx[2];
static SrtListener srt_rx[2];
static guint16 srt_ingest_port;   /* the daemon's own SRT ingest */

/* srt-live-transmit as a third-party SRT server: a listener that asks for
 * SRT_PASSPHRASE and writes what it receives to out.ts. */
static void
srt_listener_launch (SrtListener *l)
{
  g_autofree char *in = g_strdup_printf ("srt://127.0.0.1:%u?mode=listener&passphrase=%s",
                                         l->port, SRT_PASSPHRASE);
  g_autofree char *out = g_build_filename (l->dir, "out.ts", NULL);
  g_autoptr (GSubprocessLauncher) launcher = sc_harness_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  /* Its only file target is the console. */
  g_subprocess_launcher_set_stdout_file_path (launcher, out);
  g_autoptr (GError) error = NULL;
  l->proc = g_subprocess_launcher_spawn (launcher, &error, "srt-live-transmit", "-q", in,
                                         "file://con", NULL);
  g_assert_no_error (error);
}

static void
srt_listener_start (SrtListener *l)
{
  l->dir = g_dir_make_tmp ("sc-srt-rx-XXXXXX", NULL);
  l->port = sc_harness_free_port ();
  srt_listener_launch (l);
}

/* Gone without a word, as a crashed server or a cut link: the caller can
 * tell only by hearing nothing back. */
static void
srt_listener_kill (SrtListener *l)
{
  g_subprocess_send_signal (l->proc, SIGKILL);
  g_subprocess_wait (l->proc, NULL, NULL);
  g_clear_object (&l->proc);
}

static void
srt_listener_stop (SrtListener *l)
{
  if (l->proc)
    srt_listener_kill (l);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", l->dir);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (l->dir);
}

static char *
srt_target_url (SrtListener *l, const char *streamid, const char *passphrase)
{
  return g_strdup_printf ("srt://127.0.0.1:%u?streamid=%s&passphrase=%s", l->port, streamid,
                          passphrase);
}

static void
nginx_launch (Nginx *n)
{
  g_autofree char *conf = g_build_filename (n->dir, "nginx.conf", NULL);
  g_autoptr (GSubprocessLauncher) l = sc_harness_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr (GError) error = NULL;
  n->proc = g_subprocess_launcher_spawn (l, &error, "nginx", "-p", n->dir, "-c", conf, NULL);
  g_assert_no_error (error);
  /* Ready once it accepts RTMP connections. */
  for (guint i = 0; i < 100; i++) {
    g_autoptr (GSocketClient) c = g_socket_client_new ();
    g_autoptr (GSocketConnection) s = g_socket_client_connect_to_host (c, "127.0.0.1",
                                                                       n->rtmp_port, NULL, NULL);
    if (s)
      return;
    g_usleep (50 * 1000);
  }
  g_error ("nginx on port %u did not start", n->rtmp_port);
}

static void
nginx_kill (Nginx *n)
{
  g_subprocess_send_signal (n->proc, SIGKILL);
  g_subprocess_wait (n->proc, NULL, NULL);
  g_clear_object (&n->proc);
}

/* Applications: "live" records every stream to rec/KEY.flv, "deny" refuses
 * every publish, "hook" asks an HTTP endpoint that answers 403.  Its HTTP
 * side also takes the daemon's webhooks: each body, one a line, in
 * hooks.log. */
static void
nginx_start (Nginx *n)
{
  n->dir = g_dir_make_tmp ("sc-nginx-XXXXXX", NULL);
  n->rtmp_port = sc_harness_free_port ();
  n->http_port = sc_harness_free_port ();
  g_autofree char *rec = g_build_filename (n->dir, "rec", NULL);
  g_autofree char *tmp = g_build_filename (n->dir, "tmp", NULL);
  g_mkdir (rec, 0755);
  g_mkdir (tmp, 0755);
  g_autofree char *conf = g_strdup_printf (
      "load_module %s;\n"
      "daemon off; master_process off; worker_processes 1;\n"
      "pid %s/nginx.pid; error_log %s/error.log info;\n"
      "events { worker_connections 64; }\n"
      "rtmp { server { listen 127.0.0.1:%u;\n"
      "  application live { live on; record all; record_path %s; record_unique off; }\n"
      "  application deny { live on; deny publish all; }\n"
      "  application hook { live on; on_publish http://127.0.0.1:%u/refuse; }\n"
      "} }\n"
      "http { access_log off; client_body_temp_path %s; proxy_temp_path %s;\n"
      "  fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;\n"
      "  log_format body escape=none '$request_body';\n"
      "  server { listen 127.0.0.1:%u; location / { return 403; }\n"
      "    location = /ok { return 200; }\n"
      "    location = /hook { client_body_buffer_size 1m; access_log %s/hooks.log body;\n"
      "                       proxy_pass http://127.0.0.1:%u/ok; } } }\n",
      NGINX_MODULE, n->dir, n->dir, n->rtmp_port, rec, n->http_port, tmp, tmp, tmp, tmp, tmp,
      n->http_port, n->dir, n->http_port);
  g_autofree char *path = g_build_filename (n->dir, "nginx.conf", NULL);
  g_assert_true (g_file_set_contents (path, conf, -1, NULL));
  nginx_launch (n);
}

static void
nginx_stop (Nginx *n)
{
  if (n->proc)
    nginx_kill (n);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", n->dir);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (n->dir);
}

static char *
nginx_url (Nginx *n, const char *app)
{
  return g_strdup_printf ("rtmp://127.0.0.1:%u/%s", n->rtmp_port, app);
}

static char *
nginx_recording (Nginx *n, const char *key)
{
  return g_strdup_printf ("%s/rec/%s.flv", n->dir, key);
}

/* The webhooks nginx @n received about @target_id so far: "starting,
 * broadcasting, ..." (the type after video.live_stream.simulcast_target.,
 * with error_severity after a colon), checking each one's data. */
static char *
target_events (Nginx *n, const char *stream_id, const char *target_id)
{
  g_autofree char *path = g_build_filename (n->dir, "hooks.log", NULL);
  g_autofree char *text = NULL;
  GString *out = g_string_new (NULL);
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_string_free (out, FALSE);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    if (!*lines[i])
      continue;
    g_autoptr (JsonParser) p = json_parser_new ();
    g_assert_true (json_parser_load_from_data (p, lines[i], -1, NULL));
    JsonObject *ev = json_node_get_object (json_parser_get_root (p));
    const char *type = json_object_get_string_member (ev, "type");
    JsonObject *data = json_object_get_object_member (ev, "data");
    if (!g_str_has_prefix (type, "video.live_stream.simulcast_target.") ||
        g_strcmp0 (json_object_get_string_member (data, "id"), target_id) != 0)
      continue;
    g_assert_cmpstr (json_object_get_string_member (data, "live_stream_id"), ==, stream_id);
    const char *what = type + strlen ("video.live_stream.simulcast_target.");
    if (!g_str_equal (what, "created") && !g_str_equal (what, "deleted"))
      g_assert_cmpstr (json_object_get_string_member (data, "status"), ==, what);
    const char *severity = json_object_get_string_member_with_default (data, "error_severity", NULL);
    g_string_append_printf (out, "%s%s%s%s", out->len ? "," : "", what, severity ? ":" : "",
                            severity ? severity : "");
  }
  return g_string_free (out, FALSE);
}

static void
wait_events (Nginx *n, const char *stream_id, const char *target_id, const char *want)
{
  for (guint i = 0; i < 200; i++) {
    g_autofree char *got = target_events (n, stream_id, target_id);
    if (g_str_equal (got, want))
      return;
    if (i == 199)
      g_error ("webhooks of target %s: \"%s\", expected \"%s\"", target_id, got, want);
    g_usleep (50 * 1000);
  }
}

static char *
target_body (Nginx *n, const char *app, const char *key)
{
  g_autofree char *url = nginx_url (n, app);
  return g_strdup_printf ("{\"url\":\"%s\",\"stream_key\":\"%s\",\"passthrough\":\"%s\"}", url,
                          key, app);
}

static char *
add_target (const char *stream_id, Nginx *n, const char *app, const char *key)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s/simulcast-targets",
                                           stream_id);
  g_autofree char *body = target_body (n, app, key);
  g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "POST", path, body);
  g_assert_cmpuint (r->status, ==, 201);
  JsonObject *t = sc_response_data (r);
  g_assert_cmpstr (json_object_get_string_member (t, "status"), ==, "idle");
  g_assert_cmpstr (json_object_get_string_member (t, "stream_key"), ==, key);
  g_assert_cmpstr (json_object_get_string_member (t, "passthrough"), ==, app);
  return g_strdup (json_object_get_string_member (t, "id"));
}

static char *
target_path (const char *stream_id, const char *target_id)
{
  return g_strdup_printf ("/video/v1/live-streams/%s/simulcast-targets/%s", stream_id,
                          target_id);
}

static void
wait_target (const char *stream_id, const char *target_id, const char *status,
             const char *severity)
{
  g_autofree char *path = target_path (stream_id, target_id);
  if (!sc_harness_wait_member (daemon_h, path, "status", status, WAIT_S))
    g_error ("simulcast target %s did not become %s", target_id, status);
  g_autoptr (JsonObject) t = sc_harness_get_data (daemon_h, path);
  g_assert_cmpstr (json_object_get_string_member_with_default (t, "error_severity", NULL), ==,
                   severity);
}

static char *
new_key (const char *what)
{
  g_autofree char *r = g_uuid_string_random ();
  return g_strdup_printf ("%s-%.8s", what, r);
}

/* What nginx recorded: H.264 640x360 and AAC, lasting about @seconds. */
static void
assert_received (const char *file, double seconds, double tolerance)
{
  g_assert_true (g_file_test (file, G_FILE_TEST_EXISTS));
  sc_harness_assert_h264_aac (file);
  const char *args[] = { "-select_streams", "v:0", "-show_entries", "stream=width,height",
                         "-of", "csv=p=0", NULL };
  g_autofree char *size = sc_harness_ffprobe (file, args);
  g_assert_cmpstr (g_strstrip (size), ==, "640,360");
  double d = sc_harness_media_duration (file);
  if (fabs (d - seconds) > tolerance)
    g_error ("%s lasts %.2f s, expected %.2f ± %.1f", file, d, seconds, tolerance);
  /* It starts decodable: a keyframe at its very beginning. */
  g_autoptr (GArray) keys = sc_harness_keyframe_times (file);
  g_assert_cmpuint (keys->len, >, 0);
  g_assert_cmpfloat (g_array_index (keys, double, 0), <, 0.1);
}

static void
assert_asset (const char *stream_id, double seconds, double tolerance)
{
  g_autofree char *spath = g_strdup_printf ("/video/v1/live-streams/%s", stream_id);
  g_assert_true (sc_harness_wait_member (daemon_h, spath, "status", "idle", WAIT_S));
  g_autoptr (JsonObject) ls = sc_harness_get_data (daemon_h, spath);
  JsonArray *recent = json_object_get_array_member (ls, "recent_asset_ids");
  const char *asset_id = json_array_get_string_element (recent, json_array_get_length (recent) - 1);
  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (daemon_h, asset_id, WAIT_S);
  double d = json_object_get_double_member (a, "duration");
  if (fabs (d - seconds) > tolerance)
    g_error ("asset %s lasts %.2f s, expected %.2f ± %.1f", asset_id, d, seconds, tolerance);
}

static void
test_api (void)
{
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (daemon_h, 0);
  const char *id = json_object_get_string_member (ls, "id");
  g_autofree char *base = g_strdup_printf ("/video/v1/live-streams/%s/simulcast-targets", id);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (ls, "simulcast_targets")),
                    ==, 0);

  static const char *const bad[][2] = {
    { "{\"stream_key\":\"k\"}", "url is required" },
    { "{\"url\":\"http://127.0.0.1/app\",\"stream_key\":\"k\"}", "rtmp://, rtmps:// or srt://" },
    { "{\"url\":\"srt://127.0.0.1?streamid=k\"}", "with a port" },
    { "{\"url\":\"srt://127.0.0.1:9000?streamid=k&latency=9\"}", "latency" },
    { "{\"url\":\"srt://127.0.0.1:9000?passphrase=short\"}", "10 to 79" },
    { "{\"url\":\"srt://127.0.0.1:9000?streamid=k\",\"stream_key\":\"k\"}", "no stream_key" },
    { "{\"url\":\"rtmp://127.0.0.1\",\"stream_key\":\"k\"}", "application" },
    { "{\"url\":\"rtmp://127.0.0.1/app\"}", "stream_key is required" },
    { "{\"url\":\"rtmp://127.0.0.1/app\",\"stream_key\":\"k\",\"colour\":\"red\"}", "colour" },
    { "{\"url\":7,\"stream_key\":\"k\"}", "url must be a string" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "POST", base, bad[i][0]);
    g_assert_cmpuint (r->status, ==, 400);
    g_assert_cmpstr (sc_response_error_type (r), ==, "invalid_parameters");
    g_autofree char *text = sc_response_error_text (r);
    if (!strstr (text, bad[i][1]))
      g_error ("%s: \"%s\" does not say \"%s\"", bad[i][0], text, bad[i][1]);
  }
  {
    g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "POST",
        "/video/v1/live-streams/nope/simulcast-targets",
        "{\"url\":\"rtmp://127.0.0.1/app\",\"stream_key\":\"k\"}");
    g_assert_cmpuint (r->status, ==, 404);
  }

  /* Six, then no more; each one shows in the live stream. */
  char *ids[6];
  for (guint i = 0; i < 6; i++) {
    g_autofree char *key = g_strdup_printf ("key%u", i);
    ids[i] = add_target (id, &ngx[0], "live", key);
  }
  {
    g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "POST", base,
        "{\"url\":\"rtmp://127.0.0.1/app\",\"stream_key\":\"seventh\"}");
    g_assert_cmpuint (r->status, ==, 400);
    g_autofree char *text = sc_response_error_text (r);
    g_assert_nonnull (strstr (text, "6 simulcast targets"));
  }
  g_autofree char *spath = g_strdup_printf ("/video/v1/live-streams/%s", id);
  g_autoptr (JsonObject) full = sc_harness_get_data (daemon_h, spath);
  JsonArray *targets = json_object_get_array_member (full, "simulcast_targets");
  g_assert_cmpuint (json_array_get_length (targets), ==, 6);
  JsonObject *first = json_array_get_object_element (targets, 0);
  g_assert_cmpstr (json_object_get_string_member (first, "id"), ==, ids[0]);
  g_assert_cmpstr (json_object_get_string_member (first, "status"), ==, "idle");
  g_assert_cmpstr (json_object_get_string_member (first, "stream_key"), ==, "key0");

  g_autofree char *tpath = target_path (id, ids[2]);
  g_autoptr (JsonObject) got = sc_harness_get_data (daemon_h, tpath);
  g_assert_cmpstr (json_object_get_string_member (got, "stream_key"), ==, "key2");
  {
    g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "DELETE", tpath, NULL);
    g_assert_cmpuint (r->status, ==, 204);
  }
  {
    g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "GET", tpath, NULL);
    g_assert_cmpuint (r->status, ==, 404);
    g_assert_cmpstr (sc_response_error_type (r), ==, "not_found");
  }
  {
    g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "DELETE", tpath, NULL);
    g_assert_cmpuint (r->status, ==, 404);
  }
  g_autoptr (JsonObject) after = sc_harness_get_data (daemon_h, spath);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (after, "simulcast_targets")),
                    ==, 5);
  for (guint i = 0; i < 6; i++)
    g_free (ids[i]);

  /* On create: seven are refused, and a bad one names its place. */
  GString *seven = g_string_new ("{\"simulcast_targets\":[");
  for (guint i = 0; i < 7; i++)
    g_string_append_printf (seven, "%s{\"url\":\"rtmp://127.0.0.1/app\",\"stream_key\":\"k%u\"}",
                            i ? "," : "", i);
  g_string_append (seven, "]}");
  {
    g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "POST", "/video/v1/live-streams",
                                                   seven->str);
    g_assert_cmpuint (r->status, ==, 400);
  }
  g_string_free (seven, TRUE);
  {
    g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "POST", "/video/v1/live-streams",
        "{\"simulcast_targets\":[{\"url\":\"rtmp://127.0.0.1/app\",\"stream_key\":\"k\"},"
        "{\"url\":\"ftp://x/y\",\"stream_key\":\"k\"}]}");
    g_assert_cmpuint (r->status, ==, 400);
    g_autofree char *text = sc_response_error_text (r);
    g_assert_nonnull (strstr (text, "simulcast_targets[1]"));
  }
}

/* What an SRT listener recorded: the same H.264 640x360 and AAC in
 * MPEG-TS, lasting about @seconds, decodable from its start. */
static void
assert_received_ts (const char *file, double seconds, double tolerance)
{
  g_assert_true (g_file_test (file, G_FILE_TEST_EXISTS));
  sc_harness_assert_h264_aac (file);
  const char *args[] = { "-select_streams", "v:0", "-show_entries", "stream=width,height",
                         "-of", "csv=p=0", NULL };
  g_autofree char *size = sc_harness_ffprobe (file, args);
  /* Listed under the program and again on its own: the same stream. */
  g_auto (GStrv) sizes = g_strsplit (g_strstrip (size), "\n", 2);
  g_assert_cmpstr (sizes[0], ==, "640,360");
  const char *fmt[] = { "-show_entries", "format=format_name", "-of", "csv=p=0", NULL };
  g_autofree char *format = sc_harness_ffprobe (file, fmt);
  g_assert_cmpstr (g_strstrip (format), ==, "mpegts");
  double d = sc_harness_media_duration (file);
  if (fabs (d - seconds) > tolerance)
    g_error ("%s lasts %.2f s, expected %.2f ± %.1f", file, d, seconds, tolerance);
  g_autoptr (GArray) keys = sc_harness_keyframe_times (file);
  g_assert_cmpuint (keys->len, >, 0);
}

static char *
add_srt_target (const char *stream_id, const char *url)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s/simulcast-targets",
                                           stream_id);
  g_autofree char *body = g_strdup_printf ("{\"url\":\"%s\",\"passthrough\":\"srt\"}", url);
  g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "POST", path, body);
  g_assert_cmpuint (r->status, ==, 201);
  JsonObject *t = sc_response_data (r);
  g_assert_cmpstr (json_object_get_string_member (t, "status"), ==, "idle");
  g_assert_cmpstr (json_object_get_string_member (t, "url"), ==, url);
  g_assert_false (json_object_has_member (t, "stream_key"));
  return g_strdup (json_object_get_string_member (t, "id"));
}

/* One publish, six targets: two nginx applications that record it, one
 * that denies the publish, one whose on_publish hook answers 403, an SRT
 * listener that records it and one that sees a wrong passphrase. */
static void
test_push (void)
{
  const double sent = 8.0;
  g_autofree char *key_a = new_key ("a"), *key_b = new_key ("b");
  g_autofree char *key_deny = new_key ("deny"), *key_hook = new_key ("hook");
  g_autofree char *url_a = nginx_url (&ngx[0], "live"), *url_b = nginx_url (&ngx[1], "live");
  g_autofree char *body = g_strdup_printf (
      "{\"playback_policies\":[\"public\"],\"reconnect_window\":0,"
      "\"simulcast_targets\":[{\"url\":\"%s\",\"stream_key\":\"%s\"},"
      "{\"url\":\"%s\",\"stream_key\":\"%s\",\"passthrough\":\"b\"}]}",
      url_a, key_a, url_b, key_b);
  g_autoptr (ScResponse) created = sc_harness_request (daemon_h, "POST", "/video/v1/live-streams",
                                                       body);
  g_assert_cmpuint (created->status, ==, 201);
  JsonObject *ls = sc_response_data (created);
  const char *id = json_object_get_string_member (ls, "id");
  JsonArray *targets = json_object_get_array_member (ls, "simulcast_targets");
  g_assert_cmpuint (json_array_get_length (targets), ==, 2);
  const char *ta = json_object_get_string_member (json_array_get_object_element (targets, 0), "id");
  const char *tb = json_object_get_string_member (json_array_get_object_element (targets, 1), "id");
  g_autofree char *tdeny = add_target (id, &ngx[1], "deny", key_deny);
  g_autofree char *thook = add_target (id, &ngx[1], "hook", key_hook);
  g_autofree char *sid = new_key ("srt"), *wrong = g_strdup ("not-the-passphrase");
  g_autofree char *srt_ok = srt_target_url (&srt_rx[0], sid, SRT_PASSPHRASE);
  g_autofree char *srt_bad = srt_target_url (&srt_rx[1], sid, wrong);
  g_autofree char *tsrt = add_srt_target (id, srt_ok);
  g_autofree char *tsrt_bad = add_srt_target (id, srt_bad);

  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (daemon_h,
                                                         json_object_get_string_member (ls, "stream_key"),
                                                         sent);
  wait_target (id, ta, "broadcasting", NULL);
  wait_target (id, tb, "broadcasting", NULL);
  wait_target (id, tdeny, "errored", "fatal");
  wait_target (id, thook, "errored", "fatal");
  wait_target (id, tsrt, "broadcasting", NULL);
  wait_target (id, tsrt_bad, "errored", "fatal");

  /* Only while idle, as Mux. */
  g_autofree char *spath = g_strdup_printf ("/video/v1/live-streams/%s", id);
  g_assert_true (sc_harness_wait_member (daemon_h, spath, "status", "active", WAIT_S));
  g_autofree char *base = g_strdup_printf ("%s/simulcast-targets", spath);
  g_autofree char *extra = target_body (&ngx[0], "live", "late");
  g_autoptr (ScResponse) add = sc_harness_request (daemon_h, "POST", base, extra);
  g_assert_cmpuint (add->status, ==, 409);
  g_assert_cmpstr (sc_response_error_type (add), ==, "conflict");
  g_autofree char *pa = target_path (id, ta);
  g_autoptr (ScResponse) del = sc_harness_request (daemon_h, "DELETE", pa, NULL);
  g_assert_cmpuint (del->status, ==, 409);

  sc_harness_wait_exit_ok (p, sent + WAIT_S);
  wait_target (id, ta, "idle", NULL);
  wait_target (id, tb, "idle", NULL);
  wait_target (id, tdeny, "idle", NULL);
  wait_target (id, tsrt, "idle", NULL);
  wait_target (id, tsrt_bad, "idle", NULL);

  g_autofree char *rec_a = nginx_recording (&ngx[0], key_a);
  g_autofree char *rec_b = nginx_recording (&ngx[1], key_b);
  assert_received (rec_a, sent, 1.0);
  assert_received (rec_b, sent, 1.0);
  g_autofree char *rec_deny = nginx_recording (&ngx[1], key_deny);
  g_assert_false (g_file_test (rec_deny, G_FILE_TEST_EXISTS));
  g_autofree char *rec_srt = g_build_filename (srt_rx[0].dir, "out.ts", NULL);
  assert_received_ts (rec_srt, sent, 1.0);
  g_autofree char *rec_srt_bad = g_build_filename (srt_rx[1].dir, "out.ts", NULL);
  GStatBuf st;
  g_assert_true (g_stat (rec_srt_bad, &st) != 0 || st.st_size == 0);
  assert_asset (id, sent, 1.0);

  /* Each transition was a webhook, in order; a target added by POST
   * announced itself. */
  wait_events (&ngx[0], id, ta, "starting,broadcasting,idle");
  wait_events (&ngx[0], id, tdeny, "created,starting,errored:fatal,idle");
  wait_events (&ngx[0], id, thook, "created,starting,errored:fatal,idle");
  wait_events (&ngx[0], id, tsrt, "created,starting,broadcasting,idle");
  wait_events (&ngx[0], id, tsrt_bad, "created,starting,errored:fatal,idle");

  /* The keys were never written in spacecast's log. */
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (daemon_log, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, tdeny));
  const char *keys[] = { key_a, key_b, key_deny, key_hook, sid, SRT_PASSPHRASE, wrong };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (strstr (log, keys[i]))
      g_error ("stream key %s is in the log", keys[i]);
}

/* nginx B and the SRT listener die mid-stream: A and the recording go on
 * untouched, and B's and the SRT target reconnect once theirs is back.  A
 * fourth target pushes to an SRT ingest (the daemon's own, shaped as
 * Mux's) with a stream id it does not know: rejected in the handshake
 * (1404), fatal. */
static void
test_target_dies (void)
{
  const double sent = 16.0;
  g_autofree char *key_a = new_key ("a"), *key_b = new_key ("b");
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (daemon_h, 0);
  const char *id = json_object_get_string_member (ls, "id");
  g_autofree char *ta = add_target (id, &ngx[0], "live", key_a);
  g_autofree char *tb = add_target (id, &ngx[1], "live", key_b);
  g_autofree char *sid = new_key ("srt");
  g_autofree char *srt = srt_target_url (&srt_rx[0], sid, SRT_PASSPHRASE);
  g_autofree char *tsrt = add_srt_target (id, srt);
  g_autofree char *unknown = new_key ("unknown");
  g_autofree char *srt_unknown = g_strdup_printf ("srt://127.0.0.1:%u?streamid=%s&passphrase=%s",
                                                  srt_ingest_port, unknown, SRT_PASSPHRASE);
  g_autofree char *tunknown = add_srt_target (id, srt_unknown);

  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (daemon_h,
                                                         json_object_get_string_member (ls, "stream_key"),
                                                         sent);
  wait_target (id, ta, "broadcasting", NULL);
  wait_target (id, tb, "broadcasting", NULL);
  wait_target (id, tsrt, "broadcasting", NULL);
  wait_target (id, tunknown, "errored", "fatal");
  g_usleep (2 * G_USEC_PER_SEC);
  nginx_kill (&ngx[1]);
  srt_listener_kill (&srt_rx[0]);
  wait_target (id, tb, "errored", "normal");
  g_autofree char *pa = target_path (id, ta);
  g_autoptr (JsonObject) a = sc_harness_get_data (daemon_h, pa);
  g_assert_cmpstr (json_object_get_string_member (a, "status"), ==, "broadcasting");
  /* Its first retry, a second later, finds nothing listening: still
   * errored, still worth trying. */
  g_usleep (2200 * 1000);
  g_autofree char *pb = target_path (id, tb);
  g_autoptr (JsonObject) b = sc_harness_get_data (daemon_h, pb);
  g_assert_cmpstr (json_object_get_string_member (b, "status"), ==, "errored");
  g_assert_cmpstr (json_object_get_string_member (b, "error_severity"), ==, "normal");
  nginx_launch (&ngx[1]);
  wait_target (id, tb, "broadcasting", NULL);
  g_autoptr (JsonObject) a2 = sc_harness_get_data (daemon_h, pa);
  g_assert_cmpstr (json_object_get_string_member (a2, "status"), ==, "broadcasting");
  /* SRT says a silent peer is gone after its idle timeout (5 s). */
  wait_target (id, tsrt, "errored", "normal");
  srt_listener_launch (&srt_rx[0]);
  wait_target (id, tsrt, "broadcasting", NULL);

  sc_harness_wait_exit_ok (p, sent + WAIT_S);
  wait_target (id, tb, "idle", NULL);
  g_autofree char *rec_a = nginx_recording (&ngx[0], key_a);
  assert_received (rec_a, sent, 1.0);
  assert_asset (id, sent, 1.0);
  /* What B got after it came back: decodable from its first frame. */
  g_autofree char *rec_b = nginx_recording (&ngx[1], key_b);
  sc_harness_assert_h264_aac (rec_b);
  g_assert_cmpfloat (sc_harness_media_duration (rec_b), >, 2.0);
  wait_target (id, tsrt, "idle", NULL);
  g_autofree char *rec_srt = g_build_filename (srt_rx[0].dir, "out.ts", NULL);
  sc_harness_assert_h264_aac (rec_srt);
  g_assert_cmpfloat (sc_harness_media_duration (rec_srt), >, 1.0);
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (daemon_log, &log, NULL, NULL));
  g_assert_null (strstr (log, unknown));
}

/* Mux's Node SDKs v15 and v7, unmodified: create with targets, add
 * (rtmp:// and srt://), retrieve and delete a target, a bad url. */
static void
test_mux_sdk (void)
{
  g_autofree char *node = NULL;
  g_autofree char *script = sc_harness_mux_node_script ("mux-simulcast.js", &node);
  if (!script)
    return;
  g_autofree char *url = nginx_url (&ngx[0], "live");
  g_autofree char *srt = srt_target_url (&srt_rx[0], "sdk", SRT_PASSPHRASE);
  g_autofree char *out = NULL;
  const char *argv[] = { node, script, daemon_h->base_url, daemon_h->token_id,
                         daemon_h->token_secret, url, srt, NULL };
  int status = sc_harness_run (&out, argv);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpuint (sc_harness_count_lines (out, "ok v15 "), ==, 6);
  g_assert_cmpuint (sc_harness_count_lines (out, "ok v7 "), ==, 6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *nginx = g_find_program_in_path ("nginx");
  g_autofree char *transmit = g_find_program_in_path ("srt-live-transmit");
  if (!g_file_test (NGINX_MODULE, G_FILE_TEST_EXISTS) || !nginx || !transmit) {
    sc_harness_add_skip ("/simulcast", "nginx with libnginx-mod-rtmp, or srt-live-transmit "
                         "(srt-tools), is not installed");
    return g_test_run ();
  }
  g_autofree char *dir = g_dir_make_tmp ("sc-simulcast-XXXXXX", NULL);
  daemon_log = g_build_filename (dir, "daemon.log", NULL);
  nginx_start (&ngx[0]);
  nginx_start (&ngx[1]);
  srt_listener_start (&srt_rx[0]);
  srt_listener_start (&srt_rx[1]);
  g_autofree char *hook = g_strdup_printf ("--webhook-url=http://127.0.0.1:%u/hook",
                                           ngx[0].http_port);
  srt_ingest_port = sc_harness_free_port ();
  g_autofree char *srt = g_strdup_printf ("--srt=127.0.0.1:%u", srt_ingest_port);
  const char *args[] = { hook, "--webhook-secret=whsec_simulcast", "--webhook-retry-initial=1",
                         srt, NULL };
  daemon_h = sc_harness_start_logged (args, daemon_log);
  g_test_add_func ("/simulcast/api", test_api);
  g_test_add_func ("/simulcast/push", test_push);
  g_test_add_func ("/simulcast/target-dies", test_target_dies);
  g_test_add_func ("/simulcast/mux-sdk", test_mux_sdk);
  int ret = g_test_run ();
  sc_harness_free (daemon_h);
  nginx_stop (&ngx[0]);
  nginx_stop (&ngx[1]);
  srt_listener_stop (&srt_rx[0]);
  srt_listener_stop (&srt_rx[1]);
  g_unlink (daemon_log);
  g_rmdir (dir);
  g_free (daemon_log);
  return ret;
}
