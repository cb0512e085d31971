/* Validation rules of the API resources, without a server. */
#include "spacecast/core.h"
#include "spacecast/model.h"

#include <string.h>

static JsonObject *
obj (const char *json)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, json, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

static void
expect_invalid (JsonObject *(*fn) (JsonObject *, gint64, GError **), const char *json,
                const char *needle)
{
  g_autoptr (JsonObject) req = obj (json);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = fn (req, 1, &error);
  g_assert_null (doc);
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  if (!g_strrstr (error->message, needle))
    g_error ("%s: message \"%s\" does not mention \"%s\"", json, error->message, needle);
}

static void
test_live_stream_defaults (void)
{
  g_autoptr (JsonObject) req = obj ("{}");
  g_autoptr (JsonObject) doc = sc_model_live_stream_new (req, 1700000000, NULL);
  g_assert_nonnull (doc);
  g_assert_cmpstr (json_object_get_string_member (doc, "status"), ==, "idle");
  g_assert_cmpstr (json_object_get_string_member (doc, "created_at"), ==, "1700000000");
  g_assert_cmpint (json_object_get_int_member (doc, "reconnect_window"), ==, 60);
  g_assert_cmpint (json_object_get_int_member (doc, "max_continuous_duration"), ==, 43200);
  g_assert_cmpstr (json_object_get_string_member (doc, "latency_mode"), ==, "standard");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (doc, "playback_ids")), ==, 0);
  g_assert_cmpuint (strlen (json_object_get_string_member (doc, "stream_key")), >=, 22);
}

static void
test_live_stream_policies (void)
{
  g_autoptr (JsonObject) req = obj ("{\"playback_policy\":\"public\",\"reconnect_window\":12.5,"
                                    "\"latency_mode\":\"low\",\"passthrough\":\"x\"}");
  g_autoptr (JsonObject) doc = sc_model_live_stream_new (req, 1, NULL);
  JsonArray *pids = json_object_get_array_member (doc, "playback_ids");
  g_assert_cmpuint (json_array_get_length (pids), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (pids, 0), "policy"),
                   ==, "public");
  g_assert_cmpfloat (json_object_get_double_member (doc, "reconnect_window"), ==, 12.5);
  g_assert_cmpstr (json_object_get_string_member (doc, "latency_mode"), ==, "low");
}

static void
test_live_stream_invalid (void)
{
  expect_invalid (sc_model_live_stream_new, "{\"reconnect_window\":1801}", "reconnect_window");
  expect_invalid (sc_model_live_stream_new, "{\"reconnect_window\":-1}", "reconnect_window");
  expect_invalid (sc_model_live_stream_new, "{\"reconnect_window\":\"60\"}", "reconnect_window");
  expect_invalid (sc_model_live_stream_new, "{\"max_continuous_duration\":59}", "max_continuous_duration");
  expect_invalid (sc_model_live_stream_new, "{\"max_continuous_duration\":43201}", "max_continuous_duration");
  expect_invalid (sc_model_live_stream_new, "{\"latency_mode\":\"fast\"}", "latency_mode");
  expect_invalid (sc_model_live_stream_new, "{\"playback_policies\":[\"private\"]}", "playback_policies");
  expect_invalid (sc_model_live_stream_new, "{\"playback_policies\":5}", "playback_policies");
  expect_invalid (sc_model_live_stream_new, "{\"test\":\"yes\"}", "test");
  expect_invalid (sc_model_live_stream_new, "{\"audio_only\":1}", "audio_only");
  expect_invalid (sc_model_live_stream_new, "{\"bogus\":1}", "bogus");
  expect_invalid (sc_model_live_stream_new, "{\"new_asset_settings\":[]}", "new_asset_settings");
  expect_invalid (sc_model_live_stream_new, "{\"new_asset_settings\":{\"playback_policies\":[\"x\"]}}",
                  "new_asset_settings");
  expect_invalid (sc_model_live_stream_new, "{\"simulcast_targets\":[{\"url\":\"rtmp://x\"}]}",
                  "simulcast_targets");
  g_autofree char *long_pt = g_strdup_printf ("{\"passthrough\":\"%0256d\"}", 0);
  expect_invalid (sc_model_live_stream_new, long_pt, "passthrough");
}

static void
test_live_stream_patch (void)
{
  g_autoptr (JsonObject) req = obj ("{\"passthrough\":\"a\"}");
  g_autoptr (JsonObject) doc = sc_model_live_stream_new (req, 1, NULL);
  g_autoptr (GError) error = NULL;

  g_autoptr (JsonObject) p1 = obj ("{\"reconnect_window\":30,\"latency_mode\":\"reduced\"}");
  g_assert_true (sc_model_live_stream_patch (doc, p1, &error));
  g_assert_cmpint (json_object_get_int_member (doc, "reconnect_window"), ==, 30);

  /* A bad field anywhere changes nothing. */
  g_autoptr (JsonObject) p2 = obj ("{\"reconnect_window\":10,\"max_continuous_duration\":5}");
  g_assert_false (sc_model_live_stream_patch (doc, p2, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (json_object_get_int_member (doc, "reconnect_window"), ==, 30);

  g_autoptr (JsonObject) p3 = obj ("{\"stream_key\":\"mine\"}");
  g_assert_false (sc_model_live_stream_patch (doc, p3, &error));
  g_assert_nonnull (g_strrstr (error->message, "stream_key"));
  g_clear_error (&error);

  g_autoptr (JsonObject) p4 = obj ("{\"passthrough\":\"\"}");
  g_assert_true (sc_model_live_stream_patch (doc, p4, &error));
  g_assert_false (json_object_has_member (doc, "passthrough"));
}

static void
test_simulcast_targets (void)
{
  g_autoptr (JsonObject) req = obj ("{\"simulcast_targets\":[{\"url\":\"rtmps://live.example.com:443/app/\","
                                    "\"stream_key\":\"k?x=1\",\"passthrough\":\"yt\"}]}");
  g_autoptr (JsonObject) doc = sc_model_live_stream_new (req, 1, NULL);
  JsonArray *targets = json_object_get_array_member (doc, "simulcast_targets");
  g_assert_cmpuint (json_array_get_length (targets), ==, 1);
  JsonObject *t = json_array_get_object_element (targets, 0);
  g_assert_cmpstr (json_object_get_string_member (t, "status"), ==, "idle");
  g_assert_cmpstr (json_object_get_string_member (t, "stream_key"), ==, "k?x=1");
  g_assert_cmpstr (json_object_get_string_member (t, "passthrough"), ==, "yt");
  g_assert_false (json_object_has_member (t, "error_severity"));
  g_assert_true (sc_model_simulcast_target_find (doc, json_object_get_string_member (t, "id"), NULL) == t);
  g_assert_null (sc_model_simulcast_target_find (doc, "nope", NULL));

  g_assert_true (sc_model_simulcast_target_set_status (t, "errored", "fatal"));
  g_assert_cmpstr (json_object_get_string_member (t, "error_severity"), ==, "fatal");
  g_assert_false (sc_model_simulcast_target_set_status (t, "errored", "fatal"));
  g_assert_true (sc_model_simulcast_target_set_status (t, "idle", NULL));
  g_assert_false (json_object_has_member (t, "error_severity"));

  g_autoptr (JsonObject) none = obj ("{}");
  g_autoptr (JsonObject) plain = sc_model_live_stream_new (none, 1, NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (plain, "simulcast_targets")), ==, 0);

  g_autoptr (GUri) uri = g_uri_parse ("rtmp://h/live2/sub/", G_URI_FLAGS_NONE, NULL);
  g_autofree char *app = sc_model_simulcast_url_app (uri);
  g_assert_cmpstr (app, ==, "live2/sub");

  static const char *const bad[][2] = {
    { "{\"simulcast_targets\":{}}", "must be an array" },
    { "{\"simulcast_targets\":[1]}", "simulcast_targets[0] must be an object" },
    { "{\"simulcast_targets\":[{\"stream_key\":\"k\"}]}", "url is required" },
    { "{\"simulcast_targets\":[{\"url\":\"http://h/app\",\"stream_key\":\"k\"}]}", "rtmp://, rtmps:// or srt://" },
    { "{\"simulcast_targets\":[{\"url\":\"srt://h\"}]}", "with a port" },
    { "{\"simulcast_targets\":[{\"url\":\"srt://h:1234/live\"}]}", "no path" },
    { "{\"simulcast_targets\":[{\"url\":\"srt://h:1234?mode=listener\"}]}", "not \"mode\"" },
    { "{\"simulcast_targets\":[{\"url\":\"srt://h:1234?passphrase=123456789\"}]}", "10 to 79" },
    { "{\"simulcast_targets\":[{\"url\":\"srt://h:1234\",\"stream_key\":\"k\"}]}", "no stream_key" },
    { "{\"simulcast_targets\":[{\"url\":\"rtmp://h\",\"stream_key\":\"k\"}]}", "application" },
    { "{\"simulcast_targets\":[{\"url\":\"rtmp://u:p@h/app\",\"stream_key\":\"k\"}]}", "credentials" },
    { "{\"simulcast_targets\":[{\"url\":\"rtmp://h/app\"}]}", "stream_key is required" },
    { "{\"simulcast_targets\":[{\"url\":\"rtmp://h/app\",\"stream_key\":\"a b\"}]}", "spaces" },
    { "{\"simulcast_targets\":[{\"url\":\"rtmp://h/app\",\"stream_key\":\"k\",\"x\":1}]}", "x" },
    { "{\"simulcast_targets\":[{\"url\":\"rtmp://h/app\",\"stream_key\":5}]}", "stream_key must be a string" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    expect_invalid (sc_model_live_stream_new, bad[i][0], bad[i][1]);
  GString *seven = g_string_new ("{\"simulcast_targets\":[");
  for (guint i = 0; i < 7; i++)
    g_string_append_printf (seven, "%s{\"url\":\"rtmp://h/app\",\"stream_key\":\"k%u\"}", i ? "," : "", i);
  g_string_append (seven, "]}");
  expect_invalid (sc_model_live_stream_new, seven->str, "at most 6");
  g_string_free (seven, TRUE);
}

/* Mux's SRT target: one URL, its stream id and passphrase in the query,
 * percent-encoded; the log sees it without them. */
static void
test_simulcast_srt_url (void)
{
  const char *url = "srt://live.example.com:6001?streamid=k%26ey&passphrase=0123456789%3D";
  g_autofree char *body = g_strdup_printf ("{\"simulcast_targets\":[{\"url\":\"%s\"}]}", url);
  g_autoptr (JsonObject) req = obj (body);
  g_autoptr (JsonObject) doc = sc_model_live_stream_new (req, 1, NULL);
  JsonObject *t = json_array_get_object_element (json_object_get_array_member (doc,
                                                 "simulcast_targets"), 0);
  g_assert_cmpstr (json_object_get_string_member (t, "url"), ==, url);
  g_assert_false (json_object_has_member (t, "stream_key"));

  g_autoptr (ScModelSrtUrl) u = sc_model_simulcast_srt_url_parse (url, NULL);
  g_assert_cmpstr (u->host, ==, "live.example.com");
  g_assert_cmpint (u->port, ==, 6001);
  g_assert_cmpstr (u->streamid, ==, "k&ey");
  g_assert_cmpstr (u->passphrase, ==, "0123456789=");
  g_autofree char *shown = sc_model_simulcast_url_public (url);
  g_assert_cmpstr (shown, ==, "srt://live.example.com:6001");
  g_autofree char *upper = sc_model_simulcast_url_public ("SrT://h:1?passphrase=0123456789");
  g_assert_cmpstr (upper, ==, "srt://h:1");
  g_autofree char *rtmp = sc_model_simulcast_url_public ("rtmp://h/app");
  g_assert_cmpstr (rtmp, ==, "rtmp://h/app");

  g_autoptr (ScModelSrtUrl) bare = sc_model_simulcast_srt_url_parse ("srt://10.0.0.1:9000", NULL);
  g_assert_null (bare->streamid);
  g_assert_null (bare->passphrase);
}

static void
test_space_and_broadcast (void)
{
  g_autoptr (JsonObject) req = obj ("{\"type\":\"server\",\"passthrough\":\"p\"}");
  g_autoptr (JsonObject) space = sc_model_space_new (req, 5, NULL);
  g_assert_cmpstr (json_object_get_string_member (space, "status"), ==, "idle");
  expect_invalid (sc_model_space_new, "{\"type\":\"peer\"}", "type");
  expect_invalid (sc_model_space_new, "{\"broadcasts\":{}}", "broadcasts");

  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) b1 = obj ("{\"live_stream_id\":\"L\"}");
  g_autoptr (JsonObject) b = sc_model_broadcast_new (b1, "S", &error);
  g_assert_cmpstr (json_object_get_string_member (b, "layout"), ==, "gallery");
  g_assert_cmpstr (json_object_get_string_member (b, "resolution"), ==, "1920x1080");
  g_autoptr (JsonNode) rendered = sc_model_render (b);
  g_assert_false (json_object_has_member (json_node_get_object (rendered), "_space_id"));

  const char *bad[][2] = {
    { "{}", "live_stream_id" },
    { "{\"live_stream_id\":\"L\",\"layout\":\"mosaic\"}", "layout" },
    { "{\"live_stream_id\":\"L\",\"resolution\":\"640x480\"}", "resolution" },
    { "{\"live_stream_id\":\"L\",\"layout_options\":3}", "layout_options" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (JsonObject) r = obj (bad[i][0]);
    g_autoptr (JsonObject) none = sc_model_broadcast_new (r, "S", &error);
    g_assert_null (none);
    g_assert_nonnull (g_strrstr (error->message, bad[i][1]));
    g_clear_error (&error);
  }
}

static void
test_pagination (void)
{
  guint limit, offset;
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_model_parse_pagination (NULL, NULL, &limit, &offset, NULL));
  g_assert_cmpuint (limit, ==, 25);
  g_assert_cmpuint (offset, ==, 0);
  g_assert_true (sc_model_parse_pagination ("10", "3", &limit, &offset, NULL));
  g_assert_cmpuint (offset, ==, 20);
  g_assert_false (sc_model_parse_pagination ("101", NULL, &limit, &offset, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (sc_model_parse_pagination ("0", NULL, &limit, &offset, &error));
  g_clear_error (&error);
  g_assert_false (sc_model_parse_pagination (NULL, "0", &limit, &offset, &error));
  g_clear_error (&error);
  g_assert_false (sc_model_parse_pagination ("ten", NULL, &limit, &offset, &error));
}

static void
test_asset_from_live_stream (void)
{
  g_autoptr (JsonObject) req = obj ("{\"new_asset_settings\":{\"playback_policies\":[\"signed\"],"
                                    "\"passthrough\":\"rec\"}}");
  g_autoptr (JsonObject) ls = sc_model_live_stream_new (req, 1, NULL);
  g_autoptr (JsonObject) a = sc_model_asset_new_live (ls, 2);
  g_assert_cmpstr (json_object_get_string_member (a, "status"), ==, "preparing");
  g_assert_true (json_object_get_boolean_member (a, "is_live"));
  g_assert_cmpstr (json_object_get_string_member (a, "live_stream_id"), ==,
                   json_object_get_string_member (ls, "id"));
  g_assert_cmpstr (json_object_get_string_member (a, "passthrough"), ==, "rec");
  JsonArray *pids = json_object_get_array_member (a, "playback_ids");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (pids, 0), "policy"),
                   ==, "signed");
}

static const char *
recording_policy (const char *live_stream_request)
{
  g_autoptr (JsonObject) req = obj (live_stream_request);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) ls = sc_model_live_stream_new (req, 1, &error);
  g_assert_no_error (error);
  g_autoptr (JsonObject) a = sc_model_asset_new_live (ls, 2);
  JsonArray *pids = json_object_get_array_member (a, "playback_ids");
  g_assert_cmpuint (json_array_get_length (pids), ==, 1);
  return g_intern_string (json_object_get_string_member (json_array_get_object_element (pids, 0),
                                                         "policy"));
}

/* A recording is no more open than its stream unless the stream's asset
 * settings say so, in either spelling. */
static void
test_recording_policy (void)
{
  g_assert_cmpstr (recording_policy ("{\"playback_policies\":[\"signed\"]}"), ==, "signed");
  g_assert_cmpstr (recording_policy ("{\"playback_policies\":[\"signed\",\"public\"]}"), ==, "public");
  g_assert_cmpstr (recording_policy ("{\"playback_policies\":[\"public\"]}"), ==, "public");
  g_assert_cmpstr (recording_policy ("{}"), ==, "public");
  g_assert_cmpstr (recording_policy ("{\"playback_policies\":[\"public\"],"
                                     "\"new_asset_settings\":{\"playback_policy\":\"signed\"}}"),
                   ==, "signed");
  g_assert_cmpstr (recording_policy ("{\"playback_policies\":[\"signed\"],"
                                     "\"new_asset_settings\":{\"playback_policies\":[\"public\"]}}"),
                   ==, "public");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model/live-stream/defaults", test_live_stream_defaults);
  g_test_add_func ("/model/live-stream/policies", test_live_stream_policies);
  g_test_add_func ("/model/live-stream/invalid", test_live_stream_invalid);
  g_test_add_func ("/model/live-stream/patch", test_live_stream_patch);
  g_test_add_func ("/model/live-stream/simulcast-targets", test_simulcast_targets);
  g_test_add_func ("/model/live-stream/simulcast-srt-url", test_simulcast_srt_url);
  g_test_add_func ("/model/space-and-broadcast", test_space_and_broadcast);
  g_test_add_func ("/model/pagination", test_pagination);
  g_test_add_func ("/model/asset-from-live-stream", test_asset_from_live_stream);
  g_test_add_func ("/model/recording-policy", test_recording_policy);
  return g_test_run ();
}
