/* Benchmark: the program preview's latency.  One `spacecast publish
 * --capture-clock` participant (640x360; every frame carries its capture
 * time as 8x4 cells) in a 1280x720 "single" broadcast, so the cells fill
 * the output; one WHEP preview viewer in this process (webrtcbin with its
 * default 200 ms jitterbuffer, avdec_h264) reads the clock off each
 * decoded frame.  Prints capture -> preview frame decoded (min / median /
 * p95 / max over the distinct captured frames), POST -> first frame, and
 * the daemon's CPU with and without the viewer (the Opus encode and the
 * packetising it starts); then the same latency as Chromium presents the
 * frames (tests/browser/preview-latency.js), when node, Chromium and
 * puppeteer-core are there.
 *   tests/bench/preview-bench.sh [SECONDS=10]
 * (builds nothing: run `ninja -C build` first). */
#include "harness.h"
#include "spacecast/jwt.h"

#include <stdlib.h>

/* The same seen by Chromium (tests/browser/preview-latency.js): capture ->
 * frame presented by the page, as the console shows it. */
static void
chromium_latency (ScHarness *h, const char *path, const char *token, double secs)
{
  ScBrowser browser = { 0 };
  g_autofree char *missing = sc_harness_browser_find (&browser, "preview-latency.js");
  if (missing) {
    g_print ("capture -> Chromium: not measured (%s)\n", missing);
    return;
  }
  g_autofree char *seconds = g_strdup_printf ("%.0f", secs);
  const char *args[] = { h->base_url, path, token, seconds, NULL };
  g_autoptr (GSubprocess) proc = sc_harness_browser_spawn (&browser, args,
                                                           G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, &error) ||
      g_subprocess_get_exit_status (proc) != 0)
    g_error ("preview-latency.js failed (see its errors above)");
  g_autoptr (JsonNode) root = json_from_string (out, &error);
  g_assert_no_error (error);
  JsonObject *res = json_node_get_object (root);
  JsonArray *ages = json_object_get_array_member (res, "ages");
  ScHarnessClock *c = sc_harness_clock_new ();
  for (guint i = 0; i < json_array_get_length (ages); i++) {
    double ms = json_array_get_double_element (ages, i);
    g_array_append_val (c->ages, ms);
  }
  g_print ("Chromium: POST -> first preview frame presented: %" G_GINT64_FORMAT " ms\n",
           json_object_get_int_member (res, "first_frame_ms"));
  if (!sc_harness_clock_print (c, "capture -> preview frame presented by Chromium"))
    g_error ("no capture clock could be read off Chromium's frames");
  sc_harness_clock_free (c);
  sc_harness_browser_clear (&browser);
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

  ScHarnessClock *c = sc_harness_clock_new ();
  ScHarnessWhep *w = sc_harness_whep_new_h264 (TRUE);
  w->on_video = sc_harness_clock_on_video;
  w->on_video_data = c;
  g_autofree char *path = g_strdup_printf ("/rt/v1/spaces/%s/broadcasts/%s/whep", space, b);
  g_autofree char *token = sc_jwt_sign_space_token (priv, kid, space, "subscriber", NULL, 3600,
                                                    TRUE, &error);
  sc_harness_whep_start (h, w, path, token);
  sc_harness_whep_wait (w, 1, 10);
  double join_ms = (w->first_frame_us - w->posted_us) / 1000.0;
  g_usleep (2 * G_USEC_PER_SEC);
  sc_harness_clock_measure (c, TRUE);
  double cpu = sc_harness_cpu_share (h, secs);
  sc_harness_clock_measure (c, FALSE);
  g_print ("daemon CPU: broadcast alone %.1f %% of one core, with one preview viewer %.1f %%\n",
           base * 100, cpu * 100);
  g_print ("POST -> first preview frame: %.0f ms\n", join_ms);
  if (!sc_harness_clock_print (c, "capture -> preview frame decoded"))
    g_error ("no capture clock could be read off the preview");
  sc_harness_whep_free (w);
  chromium_latency (h, path, token, secs);
  sc_harness_broadcast_action (h, space, b, "stop");
  sc_harness_stop_publisher (publisher, FALSE);
  sc_harness_free (h);
  sc_harness_clock_free (c);
  return 0;
}
