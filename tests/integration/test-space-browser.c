/* Three real browsers' worth of participants meet in a space: headless
 * Chromium opens samples/web/space.html (from disk, so WHIP, WHEP and the
 * events stream all go cross-origin) four times, driven by
 * tests/browser/space.js: three pages publish a solid-colour camera and the
 * fake microphone, the fourth watches with a subscriber token.  Every page
 * must show the others' colours and receive their audio through the
 * daemon's forwarding; a page that leaves disappears from the others. */
#include "harness.h"
#include "spacecast/jwt.h"

#include <string.h>

static const char *const names[] = { "red", "green", "blue" };
static const int rgb[][3] = { { 220, 40, 40 }, { 40, 200, 60 }, { 40, 60, 220 } };

static ScHarness *h;
static char *kid, *priv;
static ScBrowser browser;
static char *page_url;

static char *
sign (const char *space, const char *role, const char *participant)
{
  g_autoptr (GError) error = NULL;
  char *token = sc_jwt_sign_space_token (priv, kid, space, role, participant, 3600, TRUE, &error);
  g_assert_no_error (error);
  return token;
}

/* The centre pixel of @peer's tile is @peer's colour, give or take what
 * VP8 and two colour conversions do to it. */
static void
assert_tile (JsonObject *seen, const char *viewer, guint peer)
{
  JsonObject *tiles = json_object_get_object_member (seen, "tiles");
  JsonObject *audio = json_object_get_object_member (seen, "audio_bytes");
  g_assert_true (json_object_has_member (tiles, names[peer]));
  JsonArray *px = json_object_get_array_member (tiles, names[peer]);
  gint64 bytes = json_object_get_int_member (audio, names[peer]);
  g_test_message ("%s sees %s as rgb(%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                  "), %" G_GINT64_FORMAT " audio bytes", viewer, names[peer],
                  json_array_get_int_element (px, 0), json_array_get_int_element (px, 1),
                  json_array_get_int_element (px, 2), bytes);
  for (guint c = 0; c < 3; c++) {
    gint64 v = json_array_get_int_element (px, c);
    if (ABS (v - rgb[peer][c]) > 48)
      g_error ("%s's tile of %s has channel %u = %" G_GINT64_FORMAT ", expected about %d",
               viewer, names[peer], c, v, rgb[peer][c]);
  }
  g_assert_cmpint (bytes, >, 0);
}

static void
test_three_and_a_watcher (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (page_url));
  g_ptr_array_add (argv, g_strdup (h->base_url));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *token = sign (space, NULL, names[i]);
    g_ptr_array_add (argv, g_strdup_printf ("%s=%s", names[i], token));
  }
  g_ptr_array_add (argv, sign (space, "subscriber", "watcher"));
  g_ptr_array_add (argv, NULL);

  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) browser_proc = sc_harness_browser_spawn (
      &browser, (const char *const *) argv->pdata, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (browser_proc, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (browser_proc) != 0)
    g_error ("space.js failed (see its errors above)");

  g_autoptr (JsonNode) root = json_from_string (out, &error);
  g_assert_no_error (error);
  JsonObject *res = json_node_get_object (root);
  JsonObject *pages = json_object_get_object_member (res, "pages");
  for (guint v = 0; v < G_N_ELEMENTS (names); v++) {
    JsonObject *seen = json_object_get_object_member (pages, names[v]);
    g_assert_cmpuint (json_object_get_size (json_object_get_object_member (seen, "tiles")), ==, 2);
    for (guint p = 0; p < G_N_ELEMENTS (names); p++)
      if (p != v)
        assert_tile (seen, names[v], p);
  }
  JsonObject *watcher = json_object_get_object_member (res, "watcher");
  for (guint p = 0; p < G_N_ELEMENTS (names); p++)
    assert_tile (watcher, "watcher", p);
  g_assert_cmpint (json_object_get_int_member (res, "watcher_whip_status"), ==, 403);

  JsonObject *leave = json_object_get_object_member (res, "leave_ms");
  for (guint v = 0; v < 2; v++) {
    gint64 ms = json_object_get_int_member (leave, names[v]);
    g_test_message ("blue left; gone from %s's page after %" G_GINT64_FORMAT " ms", names[v], ms);
    g_assert_cmpint (ms, <, 2000);
  }
  /* The pages left when the browser closed (pagehide DELETEs): nobody
   * stays behind, and no subscription keeps a publisher alive. */
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (TRUE) {
    g_autoptr (JsonArray) ps = sc_harness_participants (h, space);
    if (json_array_get_length (ps) == 0)
      break;
    if (g_get_monotonic_time () > deadline)
      g_error ("%u participants still in the space after the browser closed",
               json_array_get_length (ps));
    g_usleep (100 * 1000);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *missing = sc_harness_browser_find (&browser, "space.js");
  page_url = sc_harness_sample_page ("space.html");
  if (missing) {
    sc_harness_add_skip ("/space-browser/three-and-a-watcher", missing);
    return g_test_run ();
  }
  const char *args[] = { "--participant-timeout", "3", NULL };
  h = sc_harness_start (args);
  sc_harness_create_signing_key (h, &kid, &priv);

  g_test_add_func ("/space-browser/three-and-a-watcher", test_three_and_a_watcher);
  int rc = g_test_run ();
  sc_harness_free (h);
  g_free (kid);
  g_free (priv);
  sc_harness_browser_clear (&browser);
  g_free (page_url);
  return rc;
}
