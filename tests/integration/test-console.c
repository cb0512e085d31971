/* The producer console's static files: served without credentials from
 * the binary, with their types, and nothing else under /console/. */
#include "harness.h"
#include "spacecast/jwt.h"

#include <string.h>

static ScHarness *h;
static ScBrowser browser;
static guint16 srt_port;

static ScResponse *
get (const char *path)
{
  return sc_harness_raw (h, "GET", path, NULL, NULL, 0, NULL);
}

static void
assert_file (const char *path, const char *type, const char *needle)
{
  g_autoptr (ScResponse) r = get (path);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (r->headers, NULL), ==, type);
  g_assert_cmpstr (soup_message_headers_get_one (r->headers, "Cache-Control"), ==, "no-cache");
  g_assert_cmpstr (soup_message_headers_get_one (r->headers, "X-Content-Type-Options"), ==, "nosniff");
  gsize len;
  const char *data = g_bytes_get_data (r->body, &len);
  g_autofree char *text = g_strndup (data, len);
  g_assert_nonnull (strstr (text, needle));
}

static void
test_static_files (void)
{
  assert_file ("/console/", "text/html", "<title>spacecast producer console</title>");
  assert_file ("/console", "text/html", "/console/console.js");
  assert_file ("/console/index.html", "text/html", "sessionStorage");
  assert_file ("/console/console.js", "text/javascript", "import");
  assert_file ("/console/api.js", "text/javascript", "Basic");
  assert_file ("/console/console.css", "text/css", ".tiles");
}

static void
test_unknown_refused (void)
{
  const char *paths[] = { "/console/nope.js", "/console/console.gresource.xml",
                          "/console/../healthz.js", "/console/%2e%2e%2fconsole.js",
                          "/console/..%2fsrc%2fconsole%2fconsole.c", "/console/a/console.js",
                          "/console/.js" };
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
    g_autoptr (ScResponse) r = get (paths[i]);
    g_test_message ("%s → %u", paths[i], r->status);
    /* libsoup refuses an encoded '/' (400) before routing; the rest are ours. */
    if (strstr (paths[i], "%2f")) {
      g_assert_cmpuint (r->status, ==, 400);
    } else {
      g_assert_cmpuint (r->status, ==, 404);
      g_assert_cmpstr (sc_response_error_type (r), ==, "not_found");
    }
  }
  /* The API around it, and the ingest address, still want credentials. */
  g_autoptr (ScResponse) api = get ("/video/v1/spaces");
  g_assert_cmpuint (api->status, ==, 401);
  g_autoptr (ScResponse) ingest = get ("/console/ingest.json");
  g_assert_cmpuint (ingest->status, ==, 401);
  g_autoptr (ScResponse) ok = sc_harness_request (h, "GET", "/console/ingest.json", NULL);
  g_assert_cmpuint (ok->status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (sc_response_data (ok), "rtmp_port"), ==,
                   h->rtmp_port);
}

/* Each publisher is one solid colour, so a tile's pixel says whose it is. */
static const char *names[] = { "alice", "bob" };
static const char *colors[] = { "0xdc2828", "0x28c83c" };
static const int rgb[][3] = { { 220, 40, 40 }, { 40, 200, 60 } };

static GSubprocess *
publisher (const char *space, const char *kid, const char *priv, guint i)
{
  const char *name = names[i];
  const char *args[] = { "--color", colors[i], NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *token = sc_jwt_sign_space_token (priv, kid, space, NULL, name, 3600, TRUE,
                                                    &error);
  g_assert_no_error (error);
  g_autofree char *location = NULL;
  return sc_harness_whip_publish (h, space, token, args, &location);
}

/* The whole show from the page; console.js says what it saw, the API and
 * the screenshots say whether it happened. */
static void
test_show (void)
{
  g_autofree char *kid = NULL, *priv = NULL;
  sc_harness_create_signing_key (h, &kid, &priv);
  g_autofree char *space = sc_harness_create_space (h);
  g_autoptr (GSubprocess) alice = publisher (space, kid, priv, 0);
  g_autoptr (GSubprocess) bob = publisher (space, kid, priv, 1);
  g_autoptr (JsonObject) joined = sc_harness_wait_participants (h, space, 2, 0, 20);

  const char *shots = g_getenv ("SC_BUILD_ROOT") ? g_getenv ("SC_BUILD_ROOT") : ".";
  g_autofree char *shot_dir = g_build_filename (shots, "console-screenshots", NULL);
  const char *args[] = { h->base_url, h->token_id, h->token_secret, space, shot_dir, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) browser_proc =
      sc_harness_browser_spawn (&browser, args, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GDataInputStream) out =
      g_data_input_stream_new (g_subprocess_get_stdout_pipe (browser_proc));
  g_autoptr (GSubprocess) encoder = NULL;
  g_autofree char *result = NULL;
  while (!result) {
    g_autofree char *line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
    g_assert_no_error (error);
    if (!line)
      break;
    if (g_str_has_prefix (line, "PUBLISH "))
      encoder = sc_harness_ffmpeg_publish (h, line + strlen ("PUBLISH "), 12);
    else if (g_str_has_prefix (line, "RESULT "))
      result = g_strdup (line + strlen ("RESULT "));
  }
  g_assert_true (g_subprocess_wait (browser_proc, NULL, &error));
  if (!result || g_subprocess_get_exit_status (browser_proc) != 0)
    g_error ("console.js failed (see its errors above)");
  if (encoder)
    g_subprocess_force_exit (encoder);

  g_autoptr (JsonNode) root = json_from_string (result, &error);
  g_assert_no_error (error);
  JsonObject *res = json_node_get_object (root);
  g_test_message ("console.js: %s", result);
  g_assert_nonnull (strstr (json_object_get_string_member (res, "wrong_credentials_error"), "401"));
  g_assert_false (json_object_get_boolean_member (res, "signed_in_after_wrong"));
  g_assert_cmpstr (json_object_get_string_member (res, "connection"), ==, "connected");
  g_assert_cmpstr (json_object_get_string_member (res, "space_listed_status"), ==, "active");

  JsonObject *tiles = json_object_get_object_member (res, "tiles");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    JsonObject *t = json_object_get_object_member (tiles, names[i]);
    g_assert_nonnull (t);
    g_assert_cmpint (json_object_get_int_member (t, "frames"), >=, 5);
    g_assert_true (json_object_get_boolean_member (t, "muted"));
    /* The meter moved off its floor: the publisher's sine is measured. */
    g_assert_cmpfloat (json_object_get_double_member (t, "audio_level"), >, -60);
    JsonArray *px = json_object_get_array_member (t, "pixel");
    for (guint c = 0; c < 3; c++) {
      gint64 v = json_array_get_int_element (px, c);
      if (ABS (v - rgb[i][c]) > 48)
        g_error ("%s's tile has channel %u = %" G_GINT64_FORMAT ", expected about %d",
                 names[i], c, v, rgb[i][c]);
    }
  }

  /* The tile click was a PATCH: the stored broadcast says so. */
  g_autofree char *bpath = g_strdup_printf ("/video/v1/spaces/%s/broadcasts/%s", space,
                                            json_object_get_string_member (res, "broadcast_id"));
  g_autoptr (JsonObject) bc = sc_harness_get_data (h, bpath);
  g_assert_cmpstr (json_object_get_string_member (bc, "layout"), ==, "spotlight");
  JsonObject *opts = json_object_get_object_member (bc, "layout_options");
  g_assert_cmpstr (json_object_get_string_member (opts, "participant_id"), ==,
                   json_object_get_string_member (res, "spotlit"));
  /* The program preview (WHEP of the broadcast) showed the gallery, then
   * followed the spotlight (console.js waited for both pictures). */
  JsonObject *before = json_object_get_object_member (res, "program_before");
  JsonObject *after = json_object_get_object_member (res, "program_after");
  g_assert_cmpint (json_object_get_int_member (before, "width"), ==, 1920);
  g_assert_cmpint (json_object_get_int_member (before, "height"), ==, 1080);
  const char *spotlit = json_object_get_string_member (res, "spotlit");
  const char *other = g_str_equal (spotlit, names[0]) ? names[1] : names[0];
  JsonObject *sb = json_object_get_object_member (before, "shares");
  JsonObject *sa = json_object_get_object_member (after, "shares");
  g_test_message ("program preview: %s %.2f / %s %.2f of the picture in the gallery, "
                  "%.2f / %.2f %d ms after the spotlight click", spotlit,
                  json_object_get_double_member (sb, spotlit), other,
                  json_object_get_double_member (sb, other),
                  json_object_get_double_member (sa, spotlit),
                  json_object_get_double_member (sa, other),
                  (int) json_object_get_int_member (res, "program_switch_ms"));
  g_assert_cmpfloat (json_object_get_double_member (sb, other), >=, 0.15);
  /* In the right places: the gallery's halves are the two participants,
   * the spotlight's main tile (the left four fifths) the one clicked and
   * its strip (the right fifth) the other. */
  JsonObject *ab = json_object_get_object_member (before, "at");
  JsonObject *aa = json_object_get_object_member (after, "at");
  g_assert_false (json_object_get_null_member (ab, "left"));
  g_assert_false (json_object_get_null_member (ab, "right"));
  g_assert_cmpstr (json_object_get_string_member (ab, "left"), !=,
                   json_object_get_string_member (ab, "right"));
  g_assert_false (json_object_get_null_member (aa, "main"));
  g_assert_cmpstr (json_object_get_string_member (aa, "main"), ==, spotlit);
  g_assert_false (json_object_get_null_member (aa, "strip"));
  g_assert_cmpstr (json_object_get_string_member (aa, "strip"), ==, other);
  g_assert_cmpfloat (json_object_get_double_member (sa, spotlit), >=,
                     3 * json_object_get_double_member (sa, other));
  /* Labels were switched on after the spotlight, which they kept, and the
   * tiles dragged into a new order, which the PATCH stored. */
  g_assert_true (json_object_get_boolean_member (opts, "labels"));
  JsonArray *want = json_object_get_array_member (res, "order");
  JsonArray *stored = json_object_get_array_member (opts, "order");
  g_assert_nonnull (stored);
  g_assert_cmpuint (json_array_get_length (stored), ==, 2);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpstr (json_array_get_string_element (stored, i), ==,
                     json_array_get_string_element (want, i));
  /* the second tile went before the first */
  JsonArray *was = json_object_get_array_member (res, "order_before");
  g_assert_cmpstr (json_array_get_string_element (want, 0), ==,
                   json_array_get_string_element (was, 1));
  g_assert_cmpstr (json_array_get_string_element (want, 1), ==,
                   json_array_get_string_element (was, 0));

  /* The page's live stream took the encoder's push. */
  g_assert_cmpstr (json_object_get_string_member (res, "status_before"), ==, "idle");
  g_autofree char *rtmp = g_strdup_printf ("rtmp://127.0.0.1:%u/app", h->rtmp_port);
  g_assert_cmpstr (json_object_get_string_member (res, "rtmp_url"), ==, rtmp);
  g_autofree char *lpath = g_strdup_printf ("/video/v1/live-streams/%s",
                                            json_object_get_string_member (res, "live_stream_id"));
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, lpath);
  g_assert_nonnull (ls);
  /* Its key, reset from the page, is the stored one; the SRT URL the page
   * showed before the reset held the key and passphrase as Mux writes them. */
  const char *key = json_object_get_string_member (res, "key_after_reset");
  g_assert_cmpstr (key, ==, json_object_get_string_member (ls, "stream_key"));
  g_assert_cmpstr (key, !=, json_object_get_string_member (res, "key_before_reset"));
  g_autofree char *srt = g_strdup_printf ("srt://127.0.0.1:%u?streamid=%s&passphrase=",
                                          srt_port, json_object_get_string_member (res, "key_before_reset"));
  const char *srt_url = json_object_get_string_member (res, "srt_url");
  g_assert_true (g_str_has_prefix (srt_url, srt));
  g_assert_cmpuint (strlen (srt_url), >=, strlen (srt) + 10);   /* a passphrase: 10-79 chars */
  g_assert_cmpstr (json_object_get_string_member (ls, "status"), ==, "disabled");
  /* The page played that recording (its MP4, decoded by Chromium) and then
   * deleted it: it is gone. */
  JsonObject *played = json_object_get_object_member (res, "played");
  g_assert_nonnull (played);
  g_assert_cmpfloat (json_object_get_double_member (played, "time"), >, 0.5);
  g_assert_cmpint (json_object_get_int_member (played, "width"), >, 0);
  g_autofree char *apath = g_strdup_printf ("/video/v1/assets/%s",
                                            json_object_get_string_member (res, "deleted_asset"));
  g_autoptr (ScResponse) gone = sc_harness_request (h, "GET", apath, NULL);
  g_assert_cmpuint (gone->status, ==, 404);

  const char *views[] = { "signin", "spaces", "space", "live-streams", "assets", "tablet" };
  for (guint i = 0; i < G_N_ELEMENTS (views); i++) {
    g_autofree char *name = g_strdup_printf ("console-%s.png", views[i]);
    g_autofree char *file = g_build_filename (shot_dir, name, NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (file, &data, &len, NULL));
    g_assert_cmpuint (len, >, 1000);
    g_assert_cmpint (memcmp (data, "\x89PNG", 4), ==, 0);
  }
  sc_harness_stop_publisher (g_steal_pointer (&alice), FALSE);
  sc_harness_stop_publisher (g_steal_pointer (&bob), FALSE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  srt_port = sc_harness_free_port ();
  g_autofree char *srt_arg = g_strdup_printf ("--srt=127.0.0.1:%u", srt_port);
  const char *const serve_args[] = { srt_arg, NULL };
  h = sc_harness_start (serve_args);
  g_test_add_func ("/console/static-files", test_static_files);
  g_test_add_func ("/console/unknown-refused", test_unknown_refused);
  g_autofree char *missing = sc_harness_browser_find (&browser, "console.js");
  if (missing)
    sc_harness_add_skip ("/console/show", missing);
  else
    g_test_add_func ("/console/show", test_show);
  int rc = g_test_run ();
  sc_harness_free (h);
  sc_harness_browser_clear (&browser);
  return rc;
}
