/* A real browser publishes into a space: headless Chromium, with its fake
 * camera and microphone, runs samples/web/publish.html (opened from disk,
 * so WHIP goes cross-origin through the daemon's CORS answers), driven by
 * tests/browser/publish.js (puppeteer-core).  The daemon must decode its
 * VP8 and Opus, and the page's Stop must end the session. */
#include "harness.h"
#include "spacecast/jwt.h"

#include <string.h>

#define WAIT_S 90

static ScHarness *h;
static char *kid, *priv;
static ScBrowser browser;
static char *page_url;

/* The browser's participant once it has decoded > 30 video frames and
 * some audio. */
static JsonObject *
wait_decoding (const char *space_id)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (TRUE) {
    g_autoptr (JsonArray) ps = sc_harness_participants (h, space_id);
    if (json_array_get_length (ps) == 1) {
      JsonObject *p = json_array_get_object_element (ps, 0);
      JsonObject *v = sc_harness_find_track (p, "video"), *a = sc_harness_find_track (p, "audio");
      if (v && a && json_object_get_int_member (v, "frames_decoded") > 30 &&
          json_object_get_int_member (a, "frames_decoded") > 0)
        return json_object_ref (p);
    }
    if (g_get_monotonic_time () > deadline)
      g_error ("space %s: the browser's media was not decoded within %d s", space_id, WAIT_S);
    g_usleep (250 * 1000);
  }
}

static GSubprocess *
spawn_browser (const char *space_id, const char *token, GSubprocessFlags flags)
{
  g_autofree char *whip = g_strdup_printf ("%s/rt/v1/spaces/%s/whip", h->base_url, space_id);
  const char *args[] = { page_url, whip, token, NULL };
  return sc_harness_browser_spawn (&browser, args, flags);
}

static char *
read_line (GDataInputStream *in)
{
  g_autoptr (GError) error = NULL;
  char *line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, &error);
  g_assert_no_error (error);
  return line;
}

static void
test_publish_and_stop (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autoptr (GError) error = NULL;
  g_autofree char *token = sc_jwt_sign_space_token (priv, kid, space, NULL, "browser-ann",
                                                    3600, TRUE, &error);
  g_assert_no_error (error);

  g_autoptr (GSubprocess) browser = spawn_browser (space, token,
      G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GDataInputStream) out =
      g_data_input_stream_new (g_subprocess_get_stdout_pipe (browser));
  g_autofree char *first = read_line (out);
  if (g_strcmp0 (first, "publishing") != 0)
    g_error ("the page did not publish (see its errors above): %s", first ? first : "(exited)");

  g_autoptr (JsonObject) p = wait_decoding (space);
  g_assert_cmpstr (json_object_get_string_member (p, "participant_id"), ==, "browser-ann");
  g_assert_cmpstr (json_object_get_string_member (p, "role"), ==, "publisher");
  JsonObject *v = sc_harness_find_track (p, "video"), *a = sc_harness_find_track (p, "audio");
  g_assert_cmpstr (json_object_get_string_member (v, "codec"), ==, "VP8");
  g_assert_cmpstr (json_object_get_string_member (a, "codec"), ==, "OPUS");
  g_assert_cmpint (json_object_get_int_member (v, "width"), >, 0);
  g_assert_cmpint (json_object_get_int_member (v, "height"), >, 0);
  g_test_message ("browser video %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                  " video and %" G_GINT64_FORMAT " audio frames decoded",
                  json_object_get_int_member (v, "width"), json_object_get_int_member (v, "height"),
                  json_object_get_int_member (v, "frames_decoded"),
                  json_object_get_int_member (a, "frames_decoded"));
  g_autofree char *session = NULL;
  g_autofree char *status = sc_harness_space_status (h, space, &session);
  g_assert_cmpstr (status, ==, "active");
  g_assert_nonnull (session);

  /* The page's Stop button DELETEs the session (after a CORS preflight). */
  GOutputStream *in = g_subprocess_get_stdin_pipe (browser);
  g_assert_true (g_output_stream_write_all (in, "stop\n", 5, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *second = read_line (out);
  g_assert_cmpstr (second, ==, "stopped");
  g_assert_true (g_subprocess_wait (browser, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (browser), ==, 0);

  g_autoptr (JsonArray) left = sc_harness_participants (h, space);
  g_assert_cmpuint (json_array_get_length (left), ==, 0);
  g_autofree char *session2 = NULL;
  g_autofree char *status2 = sc_harness_space_status (h, space, &session2);
  g_assert_cmpstr (status2, ==, "idle");
  g_assert_null (session2);
}

/* A refused join reaches the page as the daemon's own error message. */
static void
test_refused (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autoptr (GError) error = NULL;
  g_autofree char *token = sc_jwt_sign_space_token (priv, kid, space, "subscriber", NULL,
                                                    3600, TRUE, &error);
  g_assert_no_error (error);
  g_autoptr (GSubprocess) browser = spawn_browser (space, token,
      G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
      G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autofree char *output = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (browser, NULL, NULL, &output, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("%s", output);
  g_assert_cmpint (g_subprocess_get_exit_status (browser), ==, 1);
  g_assert_null (strstr (output, "publishing\n"));
  g_assert_nonnull (strstr (output, "403"));
  g_assert_nonnull (strstr (output, "only publishers may publish"));
  g_autoptr (JsonArray) none = sc_harness_participants (h, space);
  g_assert_cmpuint (json_array_get_length (none), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *missing = sc_harness_browser_find (&browser, "publish.js");
  page_url = sc_harness_sample_page ("publish.html");
  if (missing) {
    sc_harness_add_skip ("/browser/publish-and-stop", missing);
    sc_harness_add_skip ("/browser/refused", missing);
    return g_test_run ();
  }
  h = sc_harness_start (NULL);
  sc_harness_create_signing_key (h, &kid, &priv);

  g_test_add_func ("/browser/publish-and-stop", test_publish_and_stop);
  g_test_add_func ("/browser/refused", test_refused);
  int rc = g_test_run ();
  sc_harness_free (h);
  g_free (kid);
  g_free (priv);
  sc_harness_browser_clear (&browser);
  g_free (page_url);
  return rc;
}
