/* Faults, with the real daemon on loopback, checked by what a user sees
 * through the API and in the recordings:
 *   - the daemon is killed (-9) while a broadcast runs, then started again;
 *   - an encoder's RTMP connection drops (through a TCP proxy) and the
 *     encoder comes back within the live stream's reconnect window;
 *   - a broadcast's own RTMP connection is cut (ss -K) mid-show;
 *   - a participant's network stalls (its publisher SIGSTOPped) for 3 s;
 *   - the data dir's disk fills up (a small tmpfs) while recording. */
#define _GNU_SOURCE   /* unshare */
#include "harness.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#define RED  0xFF0000
#define BLUE 0x0000FF
#define WAIT_S 60.0

/* ---- a space with solid-colour participants and a broadcast -------------- */

typedef struct {
  ScHarness *h;
  char *space_id, *key_id, *private_key;
  char *live_stream_id, *broadcast_id, *path;
  GSubprocess *pubs[2];
} Show;

static GSubprocess *
join (Show *s, guint i, const char *pid, guint32 rgb)
{
  g_autofree char *token = sc_harness_sign (s->h, s->space_id, s->key_id, s->private_key, pid);
  g_autofree char *color = g_strdup_printf ("0x%06X", rgb);
  const char *args[] = { "--color", color, "--freq", i ? "660" : "440", NULL };
  g_autofree char *location = NULL;
  GSubprocess *p = sc_harness_whip_publish (s->h, s->space_id, token, args, &location);
  g_autoptr (JsonObject) first = sc_harness_wait_participants (s->h, s->space_id, i + 1, 0, WAIT_S);
  return p;
}

/* Red then blue (join order fixes the gallery order), a 720p gallery
 * broadcast to a new live stream, started and running. */
static void
show_start (Show *s, ScHarness *h, int reconnect_window)
{
  s->h = h;
  sc_harness_create_signing_key (h, &s->key_id, &s->private_key);
  s->space_id = sc_harness_create_space (h);
  s->pubs[0] = join (s, 0, "red", RED);
  s->pubs[1] = join (s, 1, "blue", BLUE);
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, reconnect_window);
  s->live_stream_id = g_strdup (json_object_get_string_member (ls, "id"));
  s->broadcast_id = sc_harness_create_broadcast (h, s->space_id, s->live_stream_id, "gallery");
  s->path = g_strdup_printf ("/video/v1/spaces/%s/broadcasts/%s", s->space_id, s->broadcast_id);
  g_assert_cmpuint (sc_harness_broadcast_action (h, s->space_id, s->broadcast_id, "start"), ==, 200);
  g_autoptr (JsonObject) b = sc_harness_wait_broadcast_running (h, s->space_id, s->broadcast_id,
                                                                WAIT_S);
  g_autofree char *ls_path = g_strdup_printf ("/video/v1/live-streams/%s", s->live_stream_id);
  g_assert_true (sc_harness_wait_member (h, ls_path, "status", "active", WAIT_S));
}

static void
show_clear (Show *s)
{
  for (guint i = 0; i < G_N_ELEMENTS (s->pubs); i++)
    if (s->pubs[i])
      sc_harness_stop_publisher (s->pubs[i], TRUE);
  g_free (s->space_id);
  g_free (s->key_id);
  g_free (s->private_key);
  g_free (s->live_stream_id);
  g_free (s->broadcast_id);
  g_free (s->path);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Show, show_clear)

static JsonObject *
get_live_stream (ScHarness *h, const char *id)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s", id);
  JsonObject *ls = sc_harness_get_data (h, path);
  g_assert_nonnull (ls);
  return ls;
}

static char *
active_asset (ScHarness *h, const char *live_stream_id)
{
  g_autoptr (JsonObject) ls = get_live_stream (h, live_stream_id);
  g_assert_true (json_object_has_member (ls, "active_asset_id"));
  return g_strdup (json_object_get_string_member (ls, "active_asset_id"));
}

/* The live stream was recorded into exactly @asset_id. */
static void
assert_only_asset (ScHarness *h, const char *live_stream_id, const char *asset_id)
{
  g_autoptr (JsonObject) ls = get_live_stream (h, live_stream_id);
  JsonArray *recent = json_object_get_array_member (ls, "recent_asset_ids");
  g_assert_cmpuint (json_array_get_length (recent), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (recent, 0), ==, asset_id);
}

/* Seconds of complete segments in the asset's DVR playlist. */
static double
recorded_so_far (ScHarness *h, const char *asset_id)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/assets/%s", asset_id);
  g_autoptr (JsonObject) a = sc_harness_get_data (h, path);
  g_autofree char *m3u8 = g_strdup_printf ("/stream/%s.m3u8", sc_harness_playback_id (a));
  guint status;
  g_autofree char *text = sc_harness_get_text (h, m3u8, &status);
  double total = 0;
  if (status != 200)
    return 0;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "#EXTINF:"))
      total += g_ascii_strtod (lines[i] + 8, NULL);
  return total;
}

static void
wait_recorded (ScHarness *h, const char *asset_id, double seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (WAIT_S * G_USEC_PER_SEC);
  while (recorded_so_far (h, asset_id) < seconds) {
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (200 * 1000);
  }
}

/* ---- what the recording holds -------------------------------------------- */

/* The whole file decodes without a single error. */
static void
assert_decodes (const char *file)
{
  g_autofree char *out = NULL;
  const char *argv[] = { "ffmpeg", "-nostdin", "-v", "error", "-i", file, "-f", "null", "-", NULL };
  g_assert_cmpint (sc_harness_run (&out, argv), ==, 0);
  if (*g_strstrip (out))
    g_error ("%s does not decode cleanly: %s", file, out);
}

/* The largest step between consecutive video dts, and where it is. */
static double
max_video_gap (const char *file, double *at)
{
  const char *args[] = { "-select_streams", "v:0", "-show_entries", "packet=dts_time",
                         "-of", "csv=p=0", NULL };
  g_autoptr (GArray) t = sc_harness_ffprobe_times (file, args);
  double gap = 0;
  g_assert_cmpuint (t->len, >, 30);
  for (guint i = 1; i < t->len; i++) {
    double d = g_array_index (t, double, i) - g_array_index (t, double, i - 1);
    if (d > gap) {
      gap = d;
      *at = g_array_index (t, double, i);
    }
  }
  return gap;
}

static void
assert_continuous (const char *file)
{
  double at = 0, gap = max_video_gap (file, &at);
  g_test_message ("%s: largest video dts step %.3f s at %.2f s", file, gap, at);
  g_assert_cmpfloat (gap, <, 0.15);
}

/* The colour at (x, y) of a 1280x720 recording at time t, as 0xRRGGBB. */
static guint32
pixel_at (const char *file, double t, int x, int y)
{
  g_autofree char *ts = g_strdup_printf ("%.2f", t);
  const char *argv[] = { "ffmpeg", "-nostdin", "-v", "error", "-ss", ts, "-i", file,
                         "-frames:v", "1", "-vf", "scale=128:72,format=rgb24",
                         "-f", "rawvideo", "-", NULL };
  g_autoptr (GBytes) frame = sc_harness_run_raw (argv);
  g_assert_cmpuint (g_bytes_get_size (frame), ==, 128 * 72 * 3);
  const guint8 *px = (const guint8 *) g_bytes_get_data (frame, NULL)
      + ((y * 72 / 720) * 128 + x * 128 / 1280) * 3;
  return (guint32) px[0] << 16 | px[1] << 8 | px[2];
}

/* Within what an encoder does to a flat colour. */
static gboolean
near (guint32 a, guint32 b)
{
  for (int shift = 0; shift <= 16; shift += 8)
    if (ABS ((int) ((a >> shift) & 0xff) - (int) ((b >> shift) & 0xff)) > 60)
      return FALSE;
  return TRUE;
}

/* Names of the files under @dir (recursively) that end in @suffix. */
static void
find_suffix (const char *dir, const char *suffix, GPtrArray *found)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_DIR))
      find_suffix (path, suffix, found);
    else if (g_str_has_suffix (name, suffix))
      g_ptr_array_add (found, g_steal_pointer (&path));
  }
}

static void
assert_nothing_half_written (const char *data_dir)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  static const char *const dirs[] = { "assets", "live" };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++) {
    g_autofree char *dir = g_build_filename (data_dir, dirs[i], NULL);
    find_suffix (dir, ".part", parts);
  }
  for (guint i = 0; i < parts->len; i++)
    g_test_message ("left behind: %s", (char *) parts->pdata[i]);
  g_assert_cmpuint (parts->len, ==, 0);
}

/* ---- the daemon is killed while a broadcast runs ------------------------- */

static void
test_kill9_broadcast (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_auto (Show) s = { 0 };
  show_start (&s, h, 60);
  gint64 t_running = g_get_monotonic_time ();
  g_autofree char *asset_id = active_asset (h, s.live_stream_id);
  /* Mid-segment: three complete 2 s segments and part of the next. */
  wait_recorded (h, asset_id, 6.0);
  g_usleep (G_USEC_PER_SEC);
  double complete = recorded_so_far (h, asset_id);
  sc_harness_kill9 (h);
  double sent = (g_get_monotonic_time () - t_running) / 1e6;
  /* Their sessions died with the daemon. */
  for (guint i = 0; i < G_N_ELEMENTS (s.pubs); i++)
    sc_harness_stop_publisher (g_steal_pointer (&s.pubs[i]), TRUE);
  sc_harness_launch (h);

  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (h, asset_id, WAIT_S);
  double duration = json_object_get_double_member (a, "duration");
  g_test_message ("broadcast ran %.2f s (%.2f s in complete segments at the kill), "
                  "recovered %.2f s", sent, complete, duration);
  g_assert_cmpfloat (duration, >=, complete - 0.1);
  g_assert_cmpfloat (duration, >=, sent - 2 * 2.0 - 1.0);
  g_assert_cmpfloat (duration, <=, sent + 0.5);
  g_autofree char *mp4 = sc_harness_download_mp4 (h, sc_harness_playback_id (a), "recovered.mp4");
  sc_harness_assert_h264_aac (mp4);
  g_assert_cmpfloat (fabs (sc_harness_media_duration (mp4) - duration), <, 0.2);
  assert_decodes (mp4);

  /* Nothing claims to be running any more. */
  g_autoptr (JsonObject) b = sc_harness_get_data (h, s.path);
  g_assert_cmpstr (json_object_get_string_member (b, "status"), ==, "idle");
  g_assert_cmpstr (json_object_get_string_member (b, "idle_reason"), ==,
                   "spacecast stopped unexpectedly while it was running");
  g_assert_false (json_object_has_member (b, "health"));
  g_autoptr (JsonObject) ls = get_live_stream (h, s.live_stream_id);
  g_assert_cmpstr (json_object_get_string_member (ls, "status"), ==, "idle");
  g_assert_false (json_object_has_member (ls, "active_asset_id"));
  assert_only_asset (h, s.live_stream_id, asset_id);
  assert_nothing_half_written (h->data_dir);
}

/* ---- an encoder's connection drops, through a TCP proxy ------------------ */

/* Forwards every connection to 127.0.0.1:@port, on a thread of its own (the
 * test's waits block this one); drop() cuts every connection at once. */
typedef struct {
  guint16 upstream, port;
  GMainContext *ctx;
  GMainLoop *loop;
  GSocketService *service;
  GThread *thread;
  GMutex lock;
  GPtrArray *sockets;           /* GSocket, both ends of every connection */
  gint accepted;                /* atomic */
} Proxy;

static void
spliced (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_io_stream_splice_finish (res, NULL);
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
  Proxy *px = data;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) up = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                                       px->upstream, NULL, &error);
  g_assert_no_error (error);
  g_mutex_lock (&px->lock);
  g_ptr_array_add (px->sockets, g_object_ref (g_socket_connection_get_socket (conn)));
  g_ptr_array_add (px->sockets, g_object_ref (g_socket_connection_get_socket (up)));
  g_atomic_int_inc (&px->accepted);
  g_mutex_unlock (&px->lock);
  g_io_stream_splice_async (G_IO_STREAM (conn), G_IO_STREAM (up),
                            G_IO_STREAM_SPLICE_CLOSE_STREAM1 | G_IO_STREAM_SPLICE_CLOSE_STREAM2,
                            G_PRIORITY_DEFAULT, NULL, spliced, NULL);
  return TRUE;
}

static gpointer
proxy_thread (gpointer data)
{
  Proxy *px = data;
  g_main_context_push_thread_default (px->ctx);
  g_main_loop_run (px->loop);
  g_main_context_pop_thread_default (px->ctx);
  return NULL;
}

static Proxy *
proxy_new (guint16 upstream)
{
  Proxy *px = g_new0 (Proxy, 1);
  g_autoptr (GError) error = NULL;
  px->upstream = upstream;
  px->ctx = g_main_context_new ();
  px->loop = g_main_loop_new (px->ctx, FALSE);
  px->sockets = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_init (&px->lock);
  /* The service's sources go to the thread-default context when it starts. */
  g_main_context_push_thread_default (px->ctx);
  px->service = g_socket_service_new ();
  px->port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (px->service), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (px->service, "incoming", G_CALLBACK (on_incoming), px);
  g_socket_service_start (px->service);
  g_main_context_pop_thread_default (px->ctx);
  px->thread = g_thread_new ("proxy", proxy_thread, px);
  return px;
}

/* Both ends of every connection shut down, as a network that went away:
 * each side sees its peer close. */
static void
proxy_drop (Proxy *px)
{
  g_mutex_lock (&px->lock);
  for (guint i = 0; i < px->sockets->len; i++)
    g_socket_shutdown (px->sockets->pdata[i], TRUE, TRUE, NULL);
  g_ptr_array_set_size (px->sockets, 0);
  g_mutex_unlock (&px->lock);
}

static void
proxy_free (Proxy *px)
{
  proxy_drop (px);
  g_main_loop_quit (px->loop);
  g_thread_join (px->thread);
  g_socket_service_stop (px->service);
  g_socket_listener_close (G_SOCKET_LISTENER (px->service));
  g_object_unref (px->service);
  g_main_loop_unref (px->loop);
  g_main_context_unref (px->ctx);
  g_ptr_array_unref (px->sockets);
  g_mutex_clear (&px->lock);
  g_free (px);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Proxy, proxy_free)

/* ffmpeg as sc_harness_ffmpeg_publish runs it, into @port instead. */
static GSubprocess *
ffmpeg_publish_via (guint16 port, const char *key, int seconds)
{
  g_autofree char *t = g_strdup_printf ("%d", seconds);
  g_autofree char *url = g_strdup_printf ("rtmp://127.0.0.1:%u/app/%s", port, key);
  const char *argv[] = {
    "ffmpeg", "-hide_banner", "-loglevel", "fatal", "-nostdin", "-re",
    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-t", t, "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-keyint_min", "60",
    "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", url, NULL
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) l = sc_harness_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  GSubprocess *p = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  return p;
}

static void
assert_two_sessions (JsonObject *asset)
{
  JsonArray *times = json_object_get_array_member (asset, "recording_times");
  g_assert_cmpuint (json_array_get_length (times), ==, 2);
  for (guint i = 0; i < 2; i++) {
    JsonObject *t = json_array_get_object_element (times, i);
    g_test_message ("recording_times[%u]: %s, %.2f s", i,
                    json_object_get_string_member (t, "started_at"),
                    json_object_get_double_member (t, "duration"));
    g_assert_cmpfloat (json_object_get_double_member (t, "duration"), >, 1.0);
  }
}

static void
test_encoder_reconnect (void)
{
  const int second = 6;
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autoptr (Proxy) px = proxy_new (h->rtmp_port);
  g_autoptr (JsonObject) created = sc_harness_create_live_stream (h, 10);
  const char *ls = json_object_get_string_member (created, "id");
  const char *key = json_object_get_string_member (created, "stream_key");

  g_autoptr (GSubprocess) p1 = ffmpeg_publish_via (px->port, key, 60);
  g_autofree char *live = sc_harness_wait_live_playlist (h, sc_harness_playback_id (created), 2,
                                                         WAIT_S);
  g_autofree char *asset_id = active_asset (h, ls);
  proxy_drop (px);
  /* The encoder finds its connection gone and gives up, as encoders do. */
  int status = 0;
  g_assert_true (sc_harness_wait_exit (p1, 20, &status));
  g_test_message ("first encoder exited with %d after the drop", status);
  g_autoptr (JsonObject) between = get_live_stream (h, ls);
  g_assert_cmpstr (json_object_get_string_member (between, "status"), ==, "active");

  /* It comes back within the window: the same asset goes on. */
  g_autoptr (GSubprocess) p2 = ffmpeg_publish_via (px->port, key, second);
  sc_harness_wait_exit_ok (p2, WAIT_S);
  g_assert_cmpint (g_atomic_int_get (&px->accepted), ==, 2);
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s", ls);
  g_assert_true (sc_harness_wait_member (h, path, "status", "idle", WAIT_S));
  assert_only_asset (h, ls, asset_id);
  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (h, asset_id, WAIT_S);
  assert_two_sessions (a);
  g_autofree char *mp4 = sc_harness_download_mp4 (h, sc_harness_playback_id (a), "joined.mp4");
  sc_harness_assert_h264_aac (mp4);
  assert_decodes (mp4);
  assert_continuous (mp4);
  g_assert_cmpfloat (json_object_get_double_member (a, "duration"), >=, 4.0 + second - 0.5);
}

/* ---- a broadcast's own RTMP connection is cut ----------------------------- */

static gint64
health_int (JsonObject *b, const char *member)
{
  return json_object_get_int_member (json_object_get_object_member (b, "health"), member);
}

static void
test_broadcast_reconnect (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_auto (Show) s = { 0 };
  show_start (&s, h, 30);
  g_autofree char *asset_id = active_asset (h, s.live_stream_id);
  wait_recorded (h, asset_id, 4.0);

  /* No way to route the broadcast through a proxy (it always publishes to
   * this daemon's own RTMP address), so the kernel cuts it instead. */
  g_autofree char *out = NULL;
  g_autofree char *dport = g_strdup_printf ("%u", h->rtmp_port);
  g_autofree char *ss_path = g_find_program_in_path ("ss");
  const char *ss[] = { "ss", "-K", "-t", "dst", "127.0.0.1", "dport", "=", dport, NULL };
  if (!ss_path || sc_harness_run (&out, ss) != 0 || !strstr (out, "ESTAB")) {
    g_test_skip_printf ("cannot cut a TCP connection here (ss -K: %s)", out ? out : "no ss");
    return;
  }
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  for (;;) {
    g_autoptr (JsonObject) b = sc_harness_get_data (h, s.path);
    if (health_int (b, "reconnects") >= 1 &&
        g_str_equal (json_object_get_string_member (json_object_get_object_member (b, "health"),
                                                    "state"), "running"))
      break;
    if (g_get_monotonic_time () > deadline) {
      if (health_int (b, "reconnects") == 0)
        g_test_skip_printf ("ss -K did not cut the connection: %s", out);
      else
        g_error ("broadcast did not reconnect within 30 s");
      return;
    }
    g_usleep (100 * 1000);
  }
  g_usleep (4 * G_USEC_PER_SEC);
  /* Once: the new connection holds. */
  g_autoptr (JsonObject) after = sc_harness_get_data (h, s.path);
  g_assert_cmpint (health_int (after, "reconnects"), ==, 1);
  g_autoptr (JsonObject) ls = get_live_stream (h, s.live_stream_id);
  g_assert_cmpstr (json_object_get_string_member (ls, "status"), ==, "active");
  g_assert_cmpuint (sc_harness_broadcast_action (h, s.space_id, s.broadcast_id, "stop"), ==, 200);
  assert_only_asset (h, s.live_stream_id, asset_id);
  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (h, asset_id, WAIT_S);
  assert_two_sessions (a);
  g_autofree char *mp4 = sc_harness_download_mp4 (h, sc_harness_playback_id (a), "rejoined.mp4");
  assert_decodes (mp4);
  assert_continuous (mp4);
  double d = json_object_get_double_member (a, "duration");
  g_assert_true (near (pixel_at (mp4, d - 1.0, 320, 360), RED));
  g_assert_true (near (pixel_at (mp4, d - 1.0, 960, 360), BLUE));
}

/* ---- a participant's network stalls -------------------------------------- */

static void
test_participant_stall (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_auto (Show) s = { 0 };
  show_start (&s, h, 30);
  gint64 t0 = g_get_monotonic_time ();
  g_autofree char *asset_id = active_asset (h, s.live_stream_id);
  g_usleep (3 * G_USEC_PER_SEC);

  g_subprocess_send_signal (s.pubs[0], SIGSTOP);
  gint64 stalled = g_get_monotonic_time ();
  double min_fps = 1000;
  for (int i = 0; i < 6; i++) {
    g_usleep (500 * 1000);
    g_autoptr (JsonObject) b = sc_harness_get_data (h, s.path);
    JsonObject *hl = json_object_get_object_member (b, "health");
    double fps = json_object_get_double_member (hl, "output_fps");
    g_test_message ("stalled %.1f s: %s, %.1f fps, %" G_GINT64_FORMAT " frames",
                    (g_get_monotonic_time () - stalled) / 1e6,
                    json_object_get_string_member (hl, "state"), fps,
                    json_object_get_int_member (hl, "frames_out"));
    g_assert_cmpstr (json_object_get_string_member (hl, "state"), ==, "running");
    min_fps = MIN (min_fps, fps);
  }
  g_subprocess_send_signal (s.pubs[0], SIGCONT);
  double stall_mid = (stalled - t0) / 1e6 + 1.5, resumed = (g_get_monotonic_time () - t0) / 1e6;
  g_usleep (5 * G_USEC_PER_SEC);
  /* Red is still a participant, with media again. */
  g_autoptr (JsonObject) red = sc_harness_wait_participants (h, s.space_id, 2, 0, 1);
  g_assert_cmpuint (sc_harness_broadcast_action (h, s.space_id, s.broadcast_id, "stop"), ==, 200);
  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (h, asset_id, WAIT_S);
  g_autofree char *mp4 = sc_harness_download_mp4 (h, sc_harness_playback_id (a), "stall.mp4");
  /* ~30: the one-second window in which the compositor stops waiting for
   * red reads a few frames short. */
  g_test_message ("output fps while red was stalled: at least %.1f", min_fps);
  g_assert_cmpfloat (min_fps, >=, 20);
  assert_continuous (mp4);
  /* Red's tile holds its last frame (or the placeholder), blue goes on. */
  guint32 during = pixel_at (mp4, stall_mid, 320, 360);
  g_test_message ("red's tile during the stall: #%06X", during);
  g_assert_true (near (during, RED) || near (during, 0x333333));
  g_assert_true (near (pixel_at (mp4, stall_mid, 960, 360), BLUE));
  g_assert_true (near (pixel_at (mp4, resumed + 3.0, 320, 360), RED));
}

/* ---- the disk fills up ---------------------------------------------------- */

static char *
file_checksum (const char *file)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (file, &data, &len, &error));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

/* A file that leaves @keep bytes free on @dir's file system. */
static void
fill_disk (const char *dir, guint64 keep)
{
  struct statvfs st;
  g_assert_cmpint (statvfs (dir, &st), ==, 0);
  guint64 free_bytes = (guint64) st.f_bavail * st.f_frsize;
  g_assert_cmpuint (free_bytes, >, keep);
  g_autofree char *filler = g_build_filename (dir, "filler", NULL);
  g_autofree char *zeros = g_malloc0 (free_bytes - keep);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (filler, zeros, (gssize) (free_bytes - keep), &error));
}

static char *
object_text (JsonObject *o)
{
  g_autoptr (JsonNode) n = json_node_init_object (json_node_alloc (), o);
  return json_to_string (n, FALSE);
}

static JsonObject *
wait_asset_errors (ScHarness *h, const char *asset_id, double timeout_s)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/assets/%s", asset_id);
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  for (;;) {
    g_autoptr (JsonObject) a = sc_harness_get_data (h, path);
    if (a && json_object_has_member (a, "errors"))
      return json_object_ref (json_object_get_object_member (a, "errors"));
    if (g_get_monotonic_time () > deadline)
      g_error ("asset %s never reported an error", asset_id);
    g_usleep (200 * 1000);
  }
}

static void
test_disk_full (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autofree char *disk = g_build_filename (h->data_dir, "disk", NULL);
  g_assert_cmpint (g_mkdir (disk, 0700), ==, 0);
  /* A mount namespace of this test's own: the tmpfs goes away with it, even
   * when the test dies half-way. */
  if (unshare (CLONE_NEWNS) != 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount ("tmpfs", disk, "tmpfs", 0, "size=8m") != 0) {
    g_test_skip_printf ("cannot mount a small tmpfs for the data dir: %s", g_strerror (errno));
    return;
  }
  g_ptr_array_add (h->extra_args, g_strdup_printf ("--data-dir=%s", disk));
  sc_harness_restart (h);

  /* A recording finalised before the disk fills. */
  g_autoptr (JsonObject) first = sc_harness_create_live_stream (h, 1);
  g_autoptr (GSubprocess) p1 = sc_harness_ffmpeg_publish (
      h, json_object_get_string_member (first, "stream_key"), 4);
  sc_harness_wait_exit_ok (p1, WAIT_S);
  g_autoptr (JsonObject) ls1 = get_live_stream (h, json_object_get_string_member (first, "id"));
  JsonArray *recent = json_object_get_array_member (ls1, "recent_asset_ids");
  g_autoptr (JsonObject) a1 = sc_harness_wait_asset_ready (
      h, json_array_get_string_element (recent, 0), WAIT_S);
  g_autofree char *mp4_before = sc_harness_download_mp4 (h, sc_harness_playback_id (a1), "1.mp4");
  g_autofree char *sum_before = file_checksum (mp4_before);

  /* Room for about two segments of the next one. */
  fill_disk (disk, 500 * 1024);
  g_autoptr (JsonObject) second = sc_harness_create_live_stream (h, 2);
  const char *ls2 = json_object_get_string_member (second, "id");
  g_autoptr (GSubprocess) p2 = sc_harness_ffmpeg_publish (
      h, json_object_get_string_member (second, "stream_key"), 16);
  g_autofree char *ls2_path = g_strdup_printf ("/video/v1/live-streams/%s", ls2);
  g_assert_true (sc_harness_wait_member (h, ls2_path, "status", "active", WAIT_S));
  g_autofree char *asset_id = active_asset (h, ls2);
  /* The user sees it while it happens, and the daemon serves on. */
  g_autoptr (JsonObject) errors = wait_asset_errors (h, asset_id, 20);
  g_autofree char *text = object_text (errors);
  g_test_message ("asset errors while the disk is full: %s", text);
  g_assert_nonnull (strstr (text, "No space left on device"));
  g_autoptr (ScResponse) health = sc_harness_raw (h, "GET", "/healthz", NULL, NULL, 0, NULL);
  g_assert_cmpuint (health->status, ==, 200);
  g_autoptr (JsonObject) live = get_live_stream (h, ls2);
  g_assert_cmpstr (json_object_get_string_member (live, "status"), ==, "active");

  /* Space comes back before the show ends: what was recorded is kept. */
  g_autofree char *filler = g_build_filename (disk, "filler", NULL);
  g_assert_cmpint (g_unlink (filler), ==, 0);
  sc_harness_wait_exit_ok (p2, WAIT_S);
  g_assert_true (sc_harness_wait_member (h, ls2_path, "status", "idle", WAIT_S));
  g_autofree char *apath = g_strdup_printf ("/video/v1/assets/%s", asset_id);
  g_autoptr (JsonObject) a2 = NULL;
  gint64 deadline = g_get_monotonic_time () + (gint64) (WAIT_S * G_USEC_PER_SEC);
  while (!(a2 = sc_harness_get_data (h, apath)) ||
         json_object_get_boolean_member (a2, "is_live")) {
    g_clear_pointer (&a2, json_object_unref);
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (200 * 1000);
  }
  g_autofree char *a2_text = object_text (a2);
  g_test_message ("the asset once finalised: %s", a2_text);
  g_assert_cmpstr (json_object_get_string_member (a2, "status"), ==, "ready");
  g_assert_true (json_object_has_member (a2, "errors"));
  assert_only_asset (h, ls2, asset_id);
  /* Less than was sent (what could not be written is missing), the rest
   * one continuous recording. */
  double d2 = json_object_get_double_member (a2, "duration");
  g_assert_cmpfloat (d2, >, 4.0);
  g_assert_cmpfloat (d2, <, 16.0 - 1.0);
  g_autofree char *mp4_2 = sc_harness_download_mp4 (h, sc_harness_playback_id (a2), "2.mp4");
  assert_decodes (mp4_2);
  assert_continuous (mp4_2);
  assert_nothing_half_written (disk);

  /* What was finalised before is untouched and plays. */
  g_autoptr (JsonObject) a1_after = sc_harness_wait_asset_ready (
      h, json_object_get_string_member (a1, "id"), WAIT_S);
  g_autofree char *mp4_after = sc_harness_download_mp4 (h, sc_harness_playback_id (a1), "1b.mp4");
  g_autofree char *sum_after = file_checksum (mp4_after);
  g_assert_cmpstr (sum_after, ==, sum_before);
  assert_decodes (mp4_after);

  sc_harness_stop (h);
  g_assert_cmpint (umount (disk), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/faults/kill9-broadcast", test_kill9_broadcast);
  g_test_add_func ("/faults/encoder-reconnect", test_encoder_reconnect);
  g_test_add_func ("/faults/broadcast-reconnect", test_broadcast_reconnect);
  g_test_add_func ("/faults/participant-stall", test_participant_stall);
  g_test_add_func ("/faults/disk-full", test_disk_full);
  return g_test_run ();
}
