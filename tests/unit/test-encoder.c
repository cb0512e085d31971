/* Encoder fragments: parsing, placeholder rendering, and the runtime probe
 * on this machine (software only: x264enc expected, no NVENC/VA/QSV). */
#include "spacecast/encoder.h"
#include "spacecast/core.h"

#include <gst/gst.h>
#include <glib/gstdio.h>
#include <string.h>

static void
test_fragments_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) frags = sc_encoder_fragments_load (SC_PIPELINES_DIR, &error);
  g_assert_no_error (error);
  const char *expect[] = { "nvh264enc", "vah264enc", "vaapih264enc", "qsvh264enc",
                           "v4l2h264enc", "x264enc", "openh264enc", "avenc_aac", "voaacenc" };
  g_assert_cmpuint (frags->len, ==, G_N_ELEMENTS (expect));
  gboolean seen_software = FALSE;
  for (guint i = 0; i < frags->len; i++) {
    ScEncoderFragment *f = frags->pdata[i];
    /* hardware strictly before software */
    if (!f->hardware)
      seen_software = TRUE;
    else
      g_assert_false (seen_software);
    g_assert_nonnull (f->factories);
    g_assert_true (g_strv_contains ((const char *const *) f->factories, f->name));
    ScEncoderSettings s = { .width = 1920, .height = 1080, .fps = 30 };
    g_autofree char *r = sc_encoder_fragment_render (f, &s, &error);
    g_assert_no_error (error);
    g_assert_null (strchr (r, '{'));
    if (!strcmp (f->name, "x264enc")) {
      g_assert_cmpint (f->kind, ==, SC_ENCODER_VIDEO);
      g_assert_nonnull (strstr (r, "bitrate=4500 "));
      g_assert_nonnull (strstr (r, "key-int-max=60 "));
      g_assert_nonnull (strstr (r, "bframes=0"));
      g_assert_nonnull (strstr (r, "profile=main"));
    } else if (!strcmp (f->name, "openh264enc")) {
      g_assert_nonnull (strstr (r, "bitrate=4500000 "));   /* bit/s */
      g_assert_nonnull (strstr (r, "gop-size=60 "));
    } else if (!strcmp (f->name, "avenc_aac")) {
      g_assert_cmpint (f->kind, ==, SC_ENCODER_AUDIO);
      g_assert_nonnull (strstr (r, "bitrate=128000"));
      g_assert_nonnull (strstr (r, "rate=48000"));
      g_assert_cmpuint (f->priming, ==, 1024);   /* one AAC frame */
    } else if (!strcmp (f->name, "nvh264enc")) {
      g_assert_true (f->hardware);
      g_assert_nonnull (strstr (r, "gop-size=60 "));
    }
  }
  g_assert_cmpstr (((ScEncoderFragment *) frags->pdata[0])->name, ==, "nvh264enc");
}

static void
test_render_defaults_and_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScEncoderFragment) f = sc_encoder_fragment_parse (
      "# name: t\n# kind: video\n# hardware: no\n# priority: 5\n"
      "x264enc bitrate={bitrate_kbps} key-int-max={gop_frames}\n  ! video/x-h264\n",
      "fallback", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (f->name, ==, "t");
  g_assert_cmpint (f->priority, ==, 5);
  g_assert_cmpuint (f->priming, ==, 0);
  g_assert_cmpstrv (f->factories, ((const char *[]) { "x264enc", NULL }));

  ScEncoderSettings s720 = { .width = 1280, .height = 720, .fps = 30 };
  g_autofree char *r = sc_encoder_fragment_render (f, &s720, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (r, ==, "x264enc bitrate=3000 key-int-max=60 ! video/x-h264");

  ScEncoderSettings custom = { .width = 1280, .height = 720, .fps = 25, .video_kbps = 2500 };
  g_autofree char *r2 = sc_encoder_fragment_render (f, &custom, &error);
  g_assert_cmpstr (r2, ==, "x264enc bitrate=2500 key-int-max=50 ! video/x-h264");

  for (guint i = 0; i < 3; i++) {
    const char *priming[] = { "-1", "12x", "" };
    g_autofree char *text = g_strdup_printf ("# kind: audio\n# priming: %s\nvoaacenc\n", priming[i]);
    g_autoptr (ScEncoderFragment) neg = sc_encoder_fragment_parse (text, "neg", &error);
    g_assert_null (neg);
    g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "priming"));
    g_clear_error (&error);
  }

  g_autoptr (ScEncoderFragment) bad = sc_encoder_fragment_parse (
      "# kind: video\nx264enc bitrate={bitrate_mbps}\n", "bad", &error);
  g_assert_no_error (error);
  g_autofree char *r3 = sc_encoder_fragment_render (bad, &s720, &error);
  g_assert_null (r3);
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "bitrate_mbps"));
  g_clear_error (&error);

  g_assert_null (sc_encoder_fragment_parse ("# kind: sound\nfoo\n", "x", &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (sc_encoder_fragment_parse ("# kind: video\n", "x", &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
}

static void
test_probe_default (void)
{
  g_autoptr (GError) error = NULL;
  sc_encoder_probe_clear_cache ();
  g_autoptr (ScEncoderChoice) c = sc_encoder_probe (NULL, NULL, &error);
  g_assert_no_error (error);
  /* This machine has no GPU encoder: every hardware one is skipped with a reason. */
  g_assert_cmpstr (c->video->name, ==, "x264enc");
  g_assert_cmpstr (c->audio->name, ==, "avenc_aac");
  const char *why = sc_encoder_choice_skip_reason (c, "nvh264enc");
  g_assert_nonnull (why);
  g_assert_true (g_str_has_prefix (why, "not installed") || g_str_has_prefix (why, "failed"));
  g_assert_nonnull (sc_encoder_choice_skip_reason (c, "vah264enc"));
  /* Software encoders after the winner are not tried at all. */
  g_assert_null (sc_encoder_choice_skip_reason (c, "openh264enc"));

  /* Cached: the second call is an equal copy. */
  g_autoptr (ScEncoderChoice) c2 = sc_encoder_probe (NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c2->video->name, ==, "x264enc");
  g_assert_cmpuint (c2->skipped->len, ==, c->skipped->len);
}

static void
test_probe_forced (void)
{
  g_autoptr (GError) error = NULL;
  if (gst_element_factory_find ("nvh264enc")) {
    g_test_skip ("nvh264enc exists here; the absent-encoder case cannot be shown");
    return;
  }
  /* Forcing an absent encoder fails with the reason... */
  g_autoptr (ScEncoderChoice) bad = sc_encoder_probe (NULL, "nvh264enc", &error);
  g_assert_null (bad);
  g_assert_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "nvh264enc"));
  g_assert_nonnull (strstr (error->message, "not installed"));
  g_clear_error (&error);

  /* ...a name with no fragment is invalid... */
  g_assert_null (sc_encoder_probe (NULL, "no-such-encoder", &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_clear_error (&error);

  /* ...and forcing a working one uses it. */
  g_autoptr (ScEncoderChoice) oh = sc_encoder_probe (NULL, "openh264enc", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (oh->video->name, ==, "openh264enc");
  g_assert_cmpstr (oh->audio->name, ==, "avenc_aac");
}

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (p, text, -1, &error);
  g_assert_no_error (error);
}

static void
copy_fragment (const char *dir, const char *name)
{
  g_autofree char *src = g_build_filename (SC_PIPELINES_DIR, name, NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (src, &text, NULL, NULL));
  write_file (dir, name, text);
}

static void
test_probe_broken_fragment (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-enc-XXXXXX", &error);
  g_assert_no_error (error);
  /* Factories exist, but x264 cannot make 4:4:4 baseline: it fails only once
   * caps are negotiated at run time.  Listed first as "hardware". */
  write_file (dir, "broken-runtime.pipeline",
              "# name: broken-runtime\n# kind: video\n# hardware: yes\n# priority: 999\n"
              "videoconvert ! video/x-raw,format=Y444 ! x264enc ! video/x-h264,profile=baseline\n");
  /* A fragment whose description does not even parse. */
  write_file (dir, "broken-parse.pipeline",
              "# name: broken-parse\n# kind: video\n# hardware: yes\n# priority: 998\n"
              "x264enc no-such-property=3 ! video/x-h264\n");
  write_file (dir, "gone.pipeline",
              "# name: gone\n# kind: audio\n# hardware: yes\n# priority: 1\n"
              "scnonexistentaacenc ! audio/mpeg\n");
  copy_fragment (dir, "x264enc.pipeline");
  copy_fragment (dir, "voaacenc.pipeline");

  g_setenv ("SPACECAST_PIPELINES_DIR", dir, TRUE);
  g_assert_cmpstr (sc_encoder_pipelines_dir (), ==, dir);
  g_autoptr (ScEncoderChoice) c = sc_encoder_probe (NULL, NULL, &error);
  g_unsetenv ("SPACECAST_PIPELINES_DIR");
  g_assert_no_error (error);
  g_assert_cmpstr (c->video->name, ==, "x264enc");
  g_assert_cmpstr (c->audio->name, ==, "voaacenc");
  g_assert_cmpuint (c->skipped->len, ==, 3);
  g_assert_cmpstr (((ScEncoderSkip *) c->skipped->pdata[0])->name, ==, "broken-runtime");
  const char *r1 = sc_encoder_choice_skip_reason (c, "broken-runtime");
  const char *r2 = sc_encoder_choice_skip_reason (c, "broken-parse");
  const char *r3 = sc_encoder_choice_skip_reason (c, "gone");
  g_test_message ("broken-runtime: %s", r1);
  g_test_message ("broken-parse: %s", r2);
  g_test_message ("gone: %s", r3);
  g_assert_true (g_str_has_prefix (r1, "failed: "));
  g_assert_true (g_str_has_prefix (r2, "failed: "));
  g_assert_nonnull (strstr (r2, "no-such-property"));
  g_assert_true (g_str_has_prefix (r3, "not installed"));
  g_assert_nonnull (strstr (r3, "scnonexistentaacenc"));

  /* Forcing the broken one is an error carrying the run-time reason. */
  g_autoptr (ScEncoderChoice) f = sc_encoder_probe (dir, "broken-runtime", &error);
  g_assert_null (f);
  g_assert_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "failed: "));
  g_clear_error (&error);

  /* A probe not run yet is started on a worker and reported not ready;
   * it becomes ready without anyone waiting on it. */
  g_assert_false (sc_encoder_probe_ready (dir, "x264enc"));
  for (int i = 0; i < 300 && !sc_encoder_probe_ready (dir, "x264enc"); i++)
    g_usleep (20 * 1000);
  g_assert_true (sc_encoder_probe_ready (dir, "x264enc"));
  g_assert_true (sc_encoder_probe_ready (dir, "broken-runtime"));

  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *e;
  while ((e = g_dir_read_name (d))) {
    g_autofree char *p = g_build_filename (dir, e, NULL);
    g_unlink (p);
  }
  g_rmdir (dir);

  /* The failure was remembered: with the fragments gone, a second probe
   * still answers from the first (a new one would find no fragment). */
  g_autoptr (ScEncoderChoice) again = sc_encoder_probe (dir, "broken-runtime", &error);
  g_assert_null (again);
  g_assert_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE);
  g_autoptr (ScEncoderChoice) fast = sc_encoder_probe (dir, "x264enc", NULL);
  g_assert_cmpstr (fast->video->name, ==, "x264enc");
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/encoder/fragments-parse", test_fragments_parse);
  g_test_add_func ("/encoder/render", test_render_defaults_and_errors);
  g_test_add_func ("/encoder/probe-default", test_probe_default);
  g_test_add_func ("/encoder/probe-forced", test_probe_forced);
  g_test_add_func ("/encoder/probe-broken-fragment", test_probe_broken_fragment);
  return g_test_run ();
}
