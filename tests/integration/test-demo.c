/* `spacecast serve --demo`, what README's first steps promise a newcomer: a
 * space with three participants publishing, a gallery broadcast into a live
 * stream whose HLS plays, and a layout switch that the running broadcast
 * takes — all seen through the API, as the newcomer would. */
#include "harness.h"

#include <string.h>

/* The demo's space (the only one): its id, once it lists an active
 * broadcast; the broadcast in *broadcast. */
static char *
wait_demo_space (ScHarness *h, JsonObject **broadcast, double timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < deadline) {
    g_autoptr (ScResponse) r = sc_harness_request (h, "GET", "/video/v1/spaces", NULL);
    g_assert_cmpuint (r->status, ==, 200);
    JsonArray *spaces = sc_response_data_array (r);
    if (json_array_get_length (spaces) == 1) {
      JsonObject *space = json_array_get_object_element (spaces, 0);
      JsonArray *bs = json_object_get_array_member (space, "broadcasts");
      if (bs && json_array_get_length (bs) == 1) {
        JsonObject *b = json_array_get_object_element (bs, 0);
        if (!g_strcmp0 (json_object_get_string_member (b, "status"), "active")) {
          *broadcast = json_object_ref (b);
          return g_strdup (json_object_get_string_member (space, "id"));
        }
      }
    }
    g_usleep (200 * 1000);
  }
  g_error ("no demo space with an active broadcast after %.0f s", timeout_s);
}

static void
test_demo (void)
{
  const char *args[] = { "--demo", NULL };
  ScHarness *h = sc_harness_start (args);
  g_autoptr (JsonObject) b = NULL;
  g_autofree char *space = wait_demo_space (h, &b, 60);
  const char *bid = json_object_get_string_member (b, "id");
  g_assert_cmpstr (json_object_get_string_member (b, "layout"), ==, "gallery");

  /* three participants, decoding media */
  g_autoptr (JsonObject) first = sc_harness_wait_participants (h, space, 3, 30, 30);

  /* the live stream it feeds is live, and its HLS lists segments */
  g_autofree char *ls_path = g_strdup_printf ("/video/v1/live-streams/%s",
                                              json_object_get_string_member (b, "live_stream_id"));
  g_assert_true (sc_harness_wait_member (h, ls_path, "status", "active", 30));
  g_autoptr (ScResponse) ls = sc_harness_request (h, "GET", ls_path, NULL);
  g_autofree char *playlist = sc_harness_wait_live_playlist (
      h, sc_harness_playback_id (sc_response_data (ls)), 2, 60);
  g_assert_nonnull (strstr (playlist, "#EXTINF"));

  /* the switch the demo prints */
  g_autofree char *bpath = g_strdup_printf ("/video/v1/spaces/%s/broadcasts/%s", space, bid);
  g_autoptr (ScResponse) patch = sc_harness_request (
      h, "PATCH", bpath, "{\"layout\":\"spotlight\",\"layout_options\":{\"participant_id\":\"blue\"}}");
  g_assert_cmpuint (patch->status, ==, 200);
  g_assert_cmpstr (sc_response_str (patch, "layout"), ==, "spotlight");

  /* still running, still three participants, a few seconds on */
  g_usleep (5 * G_USEC_PER_SEC);
  g_autoptr (ScResponse) after = sc_harness_request (h, "GET", bpath, NULL);
  g_assert_cmpuint (after->status, ==, 200);
  g_assert_cmpstr (sc_response_str (after, "status"), ==, "active");
  g_autoptr (JsonArray) ps = sc_harness_participants (h, space);
  g_assert_cmpuint (json_array_get_length (ps), ==, 3);
  sc_harness_free (h);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/demo/newcomer", test_demo);
  return g_test_run ();
}
