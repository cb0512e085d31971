/* The RTMP server in-process, fed by real encoders (ffmpeg, GStreamer's
 * rtmp2sink) running as subprocesses against 127.0.0.1. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include "harness.h"
#include "spacecast/core.h"
#include "spacecast/rtmp.h"

typedef struct {
  GMainLoop *loop;
  ScRtmpServer *srv;
  guint16 port;
  ScRtmpConn *conn;
  int publishes, accepted, closed, media;
  gboolean avc_seq, aac_seq;
  int keyframes, video_frames, audio_frames, data_msgs;
  gboolean have_video_ts, have_audio_ts;
  guint64 first_video_ts, last_video_ts, last_audio_ts;
  gboolean ts_backwards;
  gboolean proc_done;
  gboolean proc_ok;
  int close_after_media;        /* >0: sc_rtmp_conn_close after that many */
  gboolean closed_in_close;
} Ctx;

static gboolean
on_publish (ScRtmpConn *conn, const char *app, const char *name,
            gpointer user_data, GError **error)
{
  Ctx *c = user_data;
  c->publishes++;
  g_assert_cmpstr (app, ==, "app");
  if (!g_str_equal (name, "good-key")) {
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "no such stream key");
    return FALSE;
  }
  g_assert_cmpstr (sc_rtmp_conn_get_peer (conn), !=, NULL);
  g_assert_true (g_str_has_prefix (sc_rtmp_conn_get_peer (conn), "127.0.0.1:"));
  sc_rtmp_conn_set_user_data (conn, c);
  c->accepted++;
  c->conn = conn;
  return TRUE;
}

static void
on_media (ScRtmpConn *conn, ScRtmpMediaType type, guint64 ts,
          const guint8 *data, gsize len, gpointer user_data)
{
  Ctx *c = user_data;
  g_assert_true (conn == c->conn);
  g_assert_true (sc_rtmp_conn_get_user_data (conn) == c);
  c->media++;
  if (type == SC_RTMP_MEDIA_VIDEO && len >= 5 && (data[0] & 0x0f) == 7) {
    if (data[1] == 0 && data[0] == 0x17)
      c->avc_seq = TRUE;
    else if (data[1] == 1) {
      c->video_frames++;
      if ((data[0] >> 4) == 1)
        c->keyframes++;
      if (c->have_video_ts && ts < c->last_video_ts)
        c->ts_backwards = TRUE;
      if (!c->have_video_ts)
        c->first_video_ts = ts;
      c->have_video_ts = TRUE;
      c->last_video_ts = ts;
    }
  } else if (type == SC_RTMP_MEDIA_AUDIO && len >= 2 && (data[0] >> 4) == 10) {
    if (data[1] == 0 && data[0] == 0xaf)
      c->aac_seq = TRUE;
    else if (data[1] == 1) {
      c->audio_frames++;
      if (c->have_audio_ts && ts < c->last_audio_ts)
        c->ts_backwards = TRUE;
      c->have_audio_ts = TRUE;
      c->last_audio_ts = ts;
    }
  } else if (type == SC_RTMP_MEDIA_DATA) {
    c->data_msgs++;
  }
  if (c->close_after_media > 0 && c->media == c->close_after_media) {
    int before = c->closed;
    sc_rtmp_conn_close (conn, "test drops the encoder");
    c->closed_in_close = c->closed == before + 1;
    /* The conn must stay usable until this callback returns. */
    g_assert_cmpstr (sc_rtmp_conn_get_peer (conn), !=, NULL);
    sc_rtmp_conn_close (conn, "twice is harmless");
  }
}

static void
on_closed (ScRtmpConn *conn, gpointer user_data)
{
  Ctx *c = user_data;
  g_assert_true (conn == c->conn);
  c->closed++;
}

static const ScRtmpServerCallbacks callbacks = { on_publish, on_media, on_closed };

static Ctx *
ctx_new (void)
{
  Ctx *c = g_new0 (Ctx, 1);
  c->loop = g_main_loop_new (NULL, FALSE);
  c->srv = sc_rtmp_server_new (&callbacks, c);
  c->port = sc_harness_free_port ();
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_rtmp_server_listen (c->srv, "127.0.0.1", c->port, &error));
  g_assert_no_error (error);
  return c;
}

static void
ctx_free (Ctx *c)
{
  sc_rtmp_server_free (c->srv);
  g_main_loop_unref (c->loop);
  g_free (c);
}

static void
on_proc_exit (GObject *src, GAsyncResult *res, gpointer data)
{
  Ctx *c = data;
  g_autoptr (GError) error = NULL;
  c->proc_ok = g_subprocess_wait_check_finish (G_SUBPROCESS (src), res, &error);
  c->proc_done = TRUE;
}

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterate the main loop until *flag or the deadline; TRUE if *flag. */
static gboolean
run_until (gboolean *flag, guint seconds)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add_seconds (seconds, on_deadline, &expired);
  while (!*flag && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  return *flag;
}

static GSubprocess *
spawn (Ctx *c, char **argv)
{
  g_autoptr (GError) error = NULL;
  GSubprocess *p = g_subprocess_newv ((const char *const *) argv,
                                      G_SUBPROCESS_FLAGS_STDIN_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_wait_check_async (p, NULL, on_proc_exit, c);
  return p;
}

static char **
ffmpeg_argv_scheme (const char *scheme, guint16 port, const char *key,
                    int seconds)
{
  g_autofree char *cmd = g_strdup_printf (
      "ffmpeg -hide_banner -loglevel error -nostdin -re "
      "-f lavfi -i testsrc2=size=320x240:rate=30 "
      "-f lavfi -i sine=frequency=440:sample_rate=48000 -t %d "
      "-c:v libx264 -g 60 -pix_fmt yuv420p -c:a aac -f flv "
      "%s://127.0.0.1:%u/app/%s", seconds, scheme, port, key);
  return g_strsplit (cmd, " ", -1);
}

static char **
ffmpeg_argv (guint16 port, const char *key, int seconds)
{
  return ffmpeg_argv_scheme ("rtmp", port, key, seconds);
}

static void
wait_closed (Ctx *c)
{
  /* The server notices the end shortly after the encoder exits. */
  gboolean expired = FALSE;
  guint id = g_timeout_add_seconds (10, on_deadline, &expired);
  while (c->closed == 0 && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
}

static void
check_media (Ctx *c, double seconds)
{
  g_assert_cmpint (c->publishes, ==, 1);
  g_assert_cmpint (c->accepted, ==, 1);
  g_assert_true (c->avc_seq);
  g_assert_true (c->aac_seq);
  g_assert_cmpint (c->keyframes, >=, 1);
  g_assert_cmpint (c->video_frames, >=, 60);
  g_assert_cmpint (c->audio_frames, >=, 50);
  g_assert_false (c->ts_backwards);
  double span = (c->last_video_ts - c->first_video_ts) / 1000.0;
  g_test_message ("video: %d frames (%d key) over %.3f s; audio: %d frames",
                  c->video_frames, c->keyframes, span, c->audio_frames);
  g_assert_cmpfloat (span, >, seconds - 0.5);
  g_assert_cmpfloat (span, <, seconds + 0.5);
  g_assert_cmpint (c->closed, ==, 1);
}

static void
test_ffmpeg (void)
{
  Ctx *c = ctx_new ();
  g_auto (GStrv) argv = ffmpeg_argv (c->port, "good-key", 3);
  g_autoptr (GSubprocess) p = spawn (c, argv);
  g_assert_true (run_until (&c->proc_done, 120));
  g_assert_true (c->proc_ok);
  wait_closed (c);
  g_assert_true (c->data_msgs >= 1);     /* @setDataFrame onMetaData */
  check_media (c, 3.0);
  ctx_free (c);
}

static void
test_gstreamer (void)
{
  g_autofree char *gst = g_find_program_in_path ("gst-launch-1.0");
  if (!gst) {
    g_test_skip ("gst-launch-1.0 not installed");
    return;
  }
  Ctx *c = ctx_new ();
  g_autofree char *cmd = g_strdup_printf (
      "gst-launch-1.0 -q videotestsrc num-buffers=90 is-live=true ! "
      "video/x-raw,framerate=30/1 ! x264enc key-int-max=60 ! h264parse ! "
      "flvmux name=m streamable=true ! "
      "rtmp2sink location=rtmp://127.0.0.1:%u/app/good-key "
      "audiotestsrc num-buffers=140 is-live=true ! avenc_aac ! aacparse ! m.",
      c->port);
  g_auto (GStrv) argv = g_strsplit (cmd, " ", -1);
  g_autoptr (GSubprocess) p = spawn (c, argv);
  g_assert_true (run_until (&c->proc_done, 120));
  g_assert_true (c->proc_ok);
  wait_closed (c);
  check_media (c, 3.0);
  ctx_free (c);
}

/* RTMPS with a throwaway self-signed certificate (ffmpeg does not verify
 * by default). */
static void
test_rtmps (void)
{
  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ())) {
    g_test_skip ("no GIO TLS backend (glib-networking)");
    return;
  }
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  if (!openssl) {
    g_test_skip ("openssl CLI not installed");
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-rtmps-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *cert_path = g_build_filename (dir, "cert.pem", NULL);
  g_autofree char *key_path = g_build_filename (dir, "key.pem", NULL);
  const char *gen[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048",
    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", key_path,
    "-out", cert_path, NULL };
  g_assert_cmpint (sc_harness_run (NULL, gen), ==, 0);
  g_autoptr (GTlsCertificate) cert =
      g_tls_certificate_new_from_files (cert_path, key_path, &error);
  g_assert_no_error (error);

  Ctx *c = g_new0 (Ctx, 1);
  c->loop = g_main_loop_new (NULL, FALSE);
  c->srv = sc_rtmp_server_new (&callbacks, c);
  c->port = sc_harness_free_port ();
  g_assert_true (sc_rtmp_server_listen_tls (c->srv, "127.0.0.1", c->port,
                                            cert, &error));
  g_assert_no_error (error);
  g_auto (GStrv) argv = ffmpeg_argv_scheme ("rtmps", c->port, "good-key", 3);
  g_autoptr (GSubprocess) p = spawn (c, argv);
  g_assert_true (run_until (&c->proc_done, 120));
  g_assert_true (c->proc_ok);
  wait_closed (c);
  check_media (c, 3.0);
  ctx_free (c);
  g_unlink (cert_path);
  g_unlink (key_path);
  g_rmdir (dir);
}

static void
test_refused (void)
{
  Ctx *c = ctx_new ();
  g_auto (GStrv) argv = ffmpeg_argv (c->port, "bad-key?token=x", 3);
  g_autoptr (GSubprocess) p = spawn (c, argv);
  g_assert_true (run_until (&c->proc_done, 60));
  g_assert_false (c->proc_ok);
  g_assert_cmpint (c->publishes, ==, 1);
  g_assert_cmpint (c->accepted, ==, 0);
  g_assert_cmpint (c->media, ==, 0);
  g_assert_cmpint (c->closed, ==, 0);
  ctx_free (c);
}

static void
test_conn_close (void)
{
  Ctx *c = ctx_new ();
  c->close_after_media = 60;
  g_auto (GStrv) argv = ffmpeg_argv (c->port, "good-key", 30);
  g_autoptr (GSubprocess) p = spawn (c, argv);
  run_until (&c->closed_in_close, 60);
  g_assert_true (c->closed_in_close);
  g_assert_cmpint (c->closed, ==, 1);
  int media_at_close = c->media;
  /* Generous on a loaded machine; ffmpeg notices the broken pipe at its
   * next write, within a frame or two. */
  g_assert_true (run_until (&c->proc_done, 15));
  g_assert_false (c->proc_ok);
  g_assert_cmpint (c->media, ==, media_at_close);
  g_assert_cmpint (c->closed, ==, 1);
  ScRtmpServerStats st;
  sc_rtmp_server_get_stats (c->srv, &st);
  g_assert_cmpuint (st.open, ==, 0);
  g_assert_cmpuint (st.publishing, ==, 0);
  g_assert_cmpuint (st.accepted, ==, 1);
  ctx_free (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rtmp-server/ffmpeg", test_ffmpeg);
  g_test_add_func ("/rtmp-server/gstreamer-rtmp2sink", test_gstreamer);
  g_test_add_func ("/rtmp-server/rtmps-ffmpeg", test_rtmps);
  g_test_add_func ("/rtmp-server/refused-key", test_refused);
  g_test_add_func ("/rtmp-server/conn-close", test_conn_close);
  return g_test_run ();
}
