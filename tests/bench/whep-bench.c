/* Benchmark: WHEP forwarding, on the same machine as its subscribers.
 * First, glass to glass between participants: a 1280x720 publisher draws
 * its capture clock over the whole frame, and one subscriber that decodes
 * reads it off each frame (capture -> frame decoded, through the
 * forwarding).  Then a 1280x720 publisher of moving content (PATTERN
 * scrolling 8 px a frame: VP8, in CBR, sends its KBPS of it; not smpte,
 * whose corner of noise costs ~1.9 Mbit/s at any setting) watched by
 * 1 -> N subscribers: for each step the daemon's CPU (from /proc, so the subscribers' own work
 * is not in it) net of the publisher alone, per subscriber, the video each
 * receives (kbit/s) and each new subscriber's POST -> first complete VP8
 * frame (they depayload but do not decode, to keep the machine free).
 *   tests/bench/whep-bench.sh [N=20] [SECONDS=10] [KBPS=1500] [PATTERN=colors]
 * (builds nothing: run `ninja -C build` first). */
#include "harness.h"
#include "spacecast/jwt.h"

#include <stdlib.h>

static const guint steps[] = { 1, 2, 5, 10, 20, 40 };

static gint
by_value (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  guint max = argc > 1 ? (guint) atoi (argv[1]) : 20;
  double secs = argc > 2 ? atof (argv[2]) : 10;
  g_autofree char *kbps = g_strdup (argc > 3 ? argv[3] : "1500");
  g_autofree char *pattern = g_strdup (argc > 4 ? argv[4] : "colors");
  g_autofree char *log = g_build_filename (g_get_tmp_dir (), "whep-bench-daemon.log", NULL);

  gst_init (&argc, &argv);
  const char *args[] = { "--space-max-subscriptions", "0", NULL };
  ScHarness *h = sc_harness_start_logged (args, log);
  g_autofree char *kid = NULL, *priv = NULL;
  sc_harness_create_signing_key (h, &kid, &priv);
  g_autofree char *space = sc_harness_create_space (h);
  g_autoptr (GError) error = NULL;
  g_autofree char *pub = sc_jwt_sign_space_token (priv, kid, space, NULL, "cam", 3600, TRUE,
                                                  &error);
  g_autofree char *watch = sc_jwt_sign_space_token (priv, kid, space, "subscriber", NULL, 3600,
                                                    TRUE, &error);
  g_assert_no_error (error);
  const char *clocked[] = { "--width", "1280", "--height", "720", "--capture-clock", NULL };
  GSubprocess *publisher = sc_harness_whip_publish (h, space, pub, clocked, NULL);
  g_autoptr (JsonObject) p = sc_harness_wait_participants (h, space, 1, 60, 30);
  g_autofree char *path = g_strdup_printf ("/rt/v1/spaces/%s/participants/cam/whep", space);

  ScHarnessClock *c = sc_harness_clock_new ();
  ScHarnessWhep *eye = sc_harness_whep_new (TRUE);
  eye->on_video = sc_harness_clock_on_video;
  eye->on_video_data = c;
  sc_harness_whep_start (h, eye, path, watch);
  sc_harness_whep_wait (eye, 1, 10);
  sc_harness_clock_measure (c, TRUE);
  g_usleep (secs * G_USEC_PER_SEC);
  sc_harness_clock_measure (c, FALSE);
  if (!sc_harness_clock_print (c, "capture -> frame decoded by a subscriber"))
    g_error ("no capture clock could be read off the subscriber's frames");
  sc_harness_whep_free (eye);
  sc_harness_clock_free (c);
  sc_harness_stop_publisher (publisher, FALSE);

  const char *moving[] = { "--width", "1280", "--height", "720", "--video-kbps", kbps,
                           "--video-pattern", pattern, "--video-speed", "8", NULL };
  g_clear_pointer (&p, json_object_unref);
  p = sc_harness_wait_participants (h, space, 0, 0, 30);
  publisher = sc_harness_whip_publish (h, space, pub, moving, NULL);
  p = sc_harness_wait_participants (h, space, 1, 60, 30);

  g_usleep (2 * G_USEC_PER_SEC);
  double base = sc_harness_cpu_share (h, secs);
  g_print ("publisher alone: daemon %.1f %% of one core\n", base * 100);
  g_print ("| subscribers | daemon CPU (%% of one core) | net of the publisher, per subscriber "
           "| POST -> first frame of the new ones (ms, min / median / max) |\n");

  g_autoptr (GPtrArray) subs = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_harness_whep_free);
  for (guint s = 0; s < G_N_ELEMENTS (steps) && steps[s] <= max; s++) {
    g_autoptr (GArray) joins = g_array_new (FALSE, FALSE, sizeof (double));
    while (subs->len < steps[s]) {
      ScHarnessWhep *w = sc_harness_whep_new (FALSE);
      sc_harness_whep_start (h, w, path, watch);
      sc_harness_whep_wait (w, 1, 10);
      double ms = (w->first_frame_us - w->posted_us) / 1000.0;
      g_array_append_val (joins, ms);
      g_ptr_array_add (subs, w);
    }
    g_array_sort (joins, by_value);
    g_usleep (2 * G_USEC_PER_SEC);
    gint before = 0, after = 0;
    gint64 bytes_before = 0, bytes_after = 0;
    for (guint i = 0; i < subs->len; i++) {
      ScHarnessWhep *w = subs->pdata[i];
      before += g_atomic_int_get (&w->frames);
      bytes_before += (gint64) g_atomic_pointer_get (&w->video_bytes);
    }
    double cpu = sc_harness_cpu_share (h, secs);
    for (guint i = 0; i < subs->len; i++) {
      ScHarnessWhep *w = subs->pdata[i];
      after += g_atomic_int_get (&w->frames);
      bytes_after += (gint64) g_atomic_pointer_get (&w->video_bytes);
    }
    double lo = g_array_index (joins, double, 0);
    double hi = g_array_index (joins, double, joins->len - 1);
    g_print ("| %u | %.1f | %.2f %% | %.0f / %.0f / %.0f | (%.1f frames/s, %.0f kbit/s of video "
             "per subscriber)\n",
             subs->len, cpu * 100, (cpu - base) * 100 / subs->len, lo,
             g_array_index (joins, double, joins->len / 2), hi,
             (after - before) / secs / subs->len,
             (bytes_after - bytes_before) * 8 / 1000.0 / secs / subs->len);
  }
  g_ptr_array_set_size (subs, 0);
  sc_harness_stop_publisher (publisher, FALSE);
  sc_harness_free (h);
  return 0;
}
