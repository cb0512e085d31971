/* Benchmark: the program preview's latency.  One `spacecast publish
 * --capture-clock` participant (640x360; every frame carries its capture
 * time as 8x4 cells) in a 1280x720 "single" broadcast, so the cells fill
 * the output; one WHEP preview viewer in this process (webrtcbin with its
 * default 200 ms jitterbuffer, avdec_h264) reads the clock off each
 * decoded frame.  Prints capture -> preview frame decoded (min / median /
 * p95 / max over the distinct captured frames), POST -> first frame, and
 * the daemon's CPU with and without the viewer (the Opus encode and the
 * packetising it starts).
 *   tests/bench/preview-bench.sh [SECONDS=10]
 * (builds nothing: run `ninja -C build` first). */
#include "harness.h"
#include "spacecast/jwt.h"

#include <gst/video/video.h>
#include <stdlib.h>

#define COLS 8
#define ROWS 4

typedef struct {
  GMutex lock;
  GArray *lat;                  /* double ms, one per distinct clock */
  guint32 last_clock;
  gboolean measuring;
} Clock;

static void
read_clock (GstBuffer *buf, GstCaps *caps, gpointer data)
{
  Clock *c = data;
  GstVideoInfo info;
  GstVideoFrame f;
  guint32 now = (guint32) (g_get_real_time () / 1000), v = 0;
  if (!caps || !gst_video_info_from_caps (&info, caps) ||
      !gst_video_frame_map (&f, &info, buf, GST_MAP_READ))
    return;
  const guint8 *y = GST_VIDEO_FRAME_PLANE_DATA (&f, 0);
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0);
  for (int bit = 0; bit < COLS * ROWS; bit++) {
    int col = bit % COLS, row = bit / COLS;
    int px = (2 * col + 1) * info.width / (2 * COLS), py = (2 * row + 1) * info.height / (2 * ROWS);
    v = (v << 1) | (y[py * stride + px] > 128);
  }
  gst_video_frame_unmap (&f);
  guint32 age = now - v;
  g_mutex_lock (&c->lock);
  /* A repeated frame (the compositor repeats when nothing is new) counts
   * once, at its first appearance; unreadable cells give absurd ages. */
  if (c->measuring && v != c->last_clock && age < 10000) {
    double ms = age;
    g_array_append_val (c->lat, ms);
  }
  c->last_clock = v;
  g_mutex_unlock (&c->lock);
}

static gint
by_value (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  double secs = argc > 1 ? atof (argv[1]) : 10;
  g_autofree char *log = g_build_filename (g_get_tmp_dir (), "preview-bench-daemon.log", NULL);

  gst_init (&argc, &argv);
  ScHarness *h = sc_harness_start_logged (NULL, log);
  g_autofree char *kid = NULL, *priv = NULL;
  sc_harness_create_signing_key (h, &kid, &priv);
  g_autofree char *space = sc_harness_create_space (h);
  g_autoptr (GError) error = NULL;
  g_autofree char *pub = sc_jwt_sign_space_token (priv, kid, space, NULL, "cam", 3600, TRUE,
                                                  &error);
  g_assert_no_error (error);
  const char *pargs[] = { "--width", "640", "--height", "360", "--capture-clock", NULL };
  g_autofree char *loc = NULL;
  GSubprocess *publisher = sc_harness_whip_publish (h, space, pub, pargs, &loc);
  g_autoptr (JsonObject) p = sc_harness_wait_participants (h, space, 1, 60, 30);
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, 0);
  g_autofree char *b = sc_harness_create_broadcast (h, space, json_object_get_string_member (ls, "id"),
                                                    "single");
  g_assert_cmpuint (sc_harness_broadcast_action (h, space, b, "start"), ==, 200);
  g_autoptr (JsonObject) running = sc_harness_wait_broadcast_running (h, space, b, 30);
  g_usleep (2 * G_USEC_PER_SEC);
  double base = sc_harness_cpu_share (h, secs);

  Clock c = { .lat = g_array_new (FALSE, FALSE, sizeof (double)) };
  g_mutex_init (&c.lock);
  ScHarnessWhep *w = sc_harness_whep_new_h264 (TRUE);
  w->on_video = read_clock;
  w->on_video_data = &c;
  g_autofree char *path = g_strdup_printf ("/rt/v1/spaces/%s/broadcasts/%s/whep", space, b);
  g_autofree char *token = sc_jwt_sign_space_token (priv, kid, space, "subscriber", NULL, 3600,
                                                    TRUE, &error);
  sc_harness_whep_start (h, w, path, token);
  sc_harness_whep_wait (w, 1, 10);
  double join_ms = (w->first_frame_us - w->posted_us) / 1000.0;
  g_usleep (2 * G_USEC_PER_SEC);
  g_mutex_lock (&c.lock);
  c.measuring = TRUE;
  g_mutex_unlock (&c.lock);
  double cpu = sc_harness_cpu_share (h, secs);
  g_mutex_lock (&c.lock);
  c.measuring = FALSE;
  g_array_sort (c.lat, by_value);
  guint n = c.lat->len;
  g_mutex_unlock (&c.lock);
  if (n == 0)
    g_error ("no capture clock could be read off the preview");
  g_print ("daemon CPU: broadcast alone %.1f %% of one core, with one preview viewer %.1f %%\n",
           base * 100, cpu * 100);
  g_print ("POST -> first preview frame: %.0f ms\n", join_ms);
  g_print ("capture -> preview frame decoded (%u frames, ms): min %.0f median %.0f p95 %.0f "
           "max %.0f\n", n, g_array_index (c.lat, double, 0), g_array_index (c.lat, double, n / 2),
           g_array_index (c.lat, double, MIN (n - 1, n * 95 / 100)),
           g_array_index (c.lat, double, n - 1));
  sc_harness_whep_free (w);
  sc_harness_broadcast_action (h, space, b, "stop");
  sc_harness_stop_publisher (publisher, FALSE);
  sc_harness_free (h);
  g_array_unref (c.lat);
  return 0;
}
