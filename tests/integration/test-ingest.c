/* Live streams fed by real encoders: ffmpeg and GStreamer's rtmp2sink push
 * to the real daemon over RTMP on 127.0.0.1, and the control API shows what
 * the ingest made of it — who may publish, the active asset, disable,
 * complete, delete, key reset, reconnects and replaced publishers. */
#include "harness.h"

#include <math.h>

/* Generous: this runs on a loaded 2-core machine beside other tests. */
#define WAIT_S 60.0

static char *
create_stream (ScHarness *h, int reconnect_window, char **key)
{
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, reconnect_window);
  *key = g_strdup (json_object_get_string_member_with_default (ls, "stream_key", NULL));
  g_assert_nonnull (*key);
  return g_strdup (json_object_get_string_member (ls, "id"));
}

static char *
stream_path (const char *id, const char *action)
{
  return g_strdup_printf ("/video/v1/live-streams/%s%s%s", id, action ? "/" : "", action ? action : "");
}

static char *
asset_path (const char *id)
{
  return g_strdup_printf ("/video/v1/assets/%s", id);
}

static guint
count_assets (ScHarness *h, const char *stream_id)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/assets?limit=100&live_stream_id=%s", stream_id);
  g_autoptr (ScResponse) r = sc_harness_request (h, "GET", path, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_nonnull (sc_response_data_array (r));
  return json_array_get_length (sc_response_data_array (r));
}

static guint
count_all_assets (ScHarness *h)
{
  g_autoptr (ScResponse) r = sc_harness_request (h, "GET", "/video/v1/assets?limit=100", NULL);
  g_assert_cmpuint (r->status, ==, 200);
  return json_array_get_length (sc_response_data_array (r));
}

static void
put (ScHarness *h, const char *id, const char *action)
{
  g_autofree char *path = stream_path (id, action);
  g_autoptr (ScResponse) r = sc_harness_request (h, "PUT", path, NULL);
  g_assert_cmpuint (r->status, ==, 200);
}

static char *
wait_active_asset (ScHarness *h, const char *id)
{
  g_autofree char *path = stream_path (id, NULL);
  g_assert_true (sc_harness_wait_member (h, path, "status", "active", WAIT_S));
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, path);
  g_assert_true (json_object_has_member (ls, "active_asset_id"));
  return g_strdup (json_object_get_string_member (ls, "active_asset_id"));
}

/* Active, and a first segment recorded: the live playlist lists it. */
static char *
wait_recording (ScHarness *h, const char *id)
{
  char *asset_id = wait_active_asset (h, id);
  g_autofree char *path = stream_path (id, NULL);
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, path);
  g_autofree char *playlist = sc_harness_wait_live_playlist (h, sc_harness_playback_id (ls), 1,
                                                             WAIT_S);
  return asset_id;
}

static gboolean
array_has (JsonArray *a, const char *s)
{
  for (guint i = 0; a && i < json_array_get_length (a); i++)
    if (g_strcmp0 (json_array_get_string_element (a, i), s) == 0)
      return TRUE;
  return FALSE;
}

/* The asset is finalised and ready, no longer live. */
static JsonObject *
wait_ready (ScHarness *h, const char *asset_id)
{
  return sc_harness_wait_asset_ready (h, asset_id, WAIT_S);
}

/* The finalised MP4's duration as ffprobe reads it. */
static double
mp4_duration (ScHarness *h, JsonObject *asset)
{
  g_autofree char *file = sc_harness_download_mp4 (h, sc_harness_playback_id (asset), "probe.mp4");
  return sc_harness_media_duration (file);
}

/* A publisher the daemon refuses gives up with an error, soon. */
static void
assert_refused (ScHarness *h, const char *key)
{
  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (h, key, 10);
  int status = 0;
  g_assert_true (sc_harness_wait_exit (p, WAIT_S, &status));
  g_assert_cmpint (status, !=, 0);
}

/* Internal members ("_...") never reach API clients, at any depth. */
static void
assert_no_private (JsonNode *n)
{
  if (JSON_NODE_HOLDS_OBJECT (n)) {
    g_autoptr (GList) members = json_object_get_members (json_node_get_object (n));
    for (GList *l = members; l; l = l->next) {
      g_assert_cmpint (((const char *) l->data)[0], !=, '_');
      assert_no_private (json_object_get_member (json_node_get_object (n), l->data));
    }
  } else if (JSON_NODE_HOLDS_ARRAY (n)) {
    JsonArray *a = json_node_get_array (n);
    for (guint i = 0; i < json_array_get_length (a); i++)
      assert_no_private (json_array_get_element (a, i));
  }
}

static void
test_accept_and_refuse (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, 1, &key);
  g_autofree char *path = stream_path (id, NULL);

  /* An unknown key: refused, and nothing is created. */
  assert_refused (h, "no-such-stream-key");
  g_assert_cmpuint (count_all_assets (h), ==, 0);
  g_autoptr (JsonObject) before = sc_harness_get_data (h, path);
  g_assert_cmpstr (json_object_get_string_member (before, "status"), ==, "idle");

  /* The stream's key, through rtmp2sink this time. */
  g_autoptr (GSubprocess) p = sc_harness_gst_publish (h, key, 5);
  g_autofree char *asset_id = wait_active_asset (h, id);
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, path);
  g_assert_true (array_has (json_object_get_array_member (ls, "recent_asset_ids"), asset_id));
  g_autofree char *apath = asset_path (asset_id);
  g_autoptr (JsonObject) a = sc_harness_get_data (h, apath);
  g_assert_nonnull (a);
  g_assert_true (json_object_get_boolean_member (a, "is_live"));
  g_assert_cmpstr (json_object_get_string_member (a, "live_stream_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (a, "status"), ==, "preparing");
  /* Once media flows the live asset has its recording_times entry. */
  gint64 deadline = g_get_monotonic_time () + (gint64) (WAIT_S * G_USEC_PER_SEC);
  for (;;) {
    g_autoptr (ScResponse) r = sc_harness_request (h, "GET", apath, NULL);
    g_assert_cmpuint (r->status, ==, 200);
    assert_no_private (r->json);
    JsonArray *times = json_object_get_array_member (sc_response_data (r), "recording_times");
    if (times && json_array_get_length (times) == 1)
      break;
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (100 * 1000);
  }

  sc_harness_wait_exit_ok (p, WAIT_S);
  g_autoptr (JsonObject) done = wait_ready (h, asset_id);
  g_autoptr (ScResponse) listed = sc_harness_request (h, "GET", "/video/v1/assets", NULL);
  assert_no_private (listed->json);
  g_assert_true (sc_harness_wait_member (h, path, "status", "idle", WAIT_S));
  g_assert_true (sc_harness_wait_member (h, path, "active_asset_id", NULL, WAIT_S));
  g_assert_cmpuint (count_assets (h, id), ==, 1);
}

static void
test_disable_enable (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, 60, &key);
  g_autofree char *path = stream_path (id, NULL);

  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (h, key, 30);
  g_autofree char *asset_id = wait_recording (h, id);
  gint64 t0 = g_get_monotonic_time ();
  put (h, id, "disable");
  /* Dropped within about a second; the bound is loose for a loaded machine,
   * far below the 30 s it would otherwise run. */
  g_assert_true (sc_harness_wait_exit (p, 15, NULL));
  g_test_message ("encoder dropped %.2f s after disable",
                  (g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC);
  g_autoptr (JsonObject) a = wait_ready (h, asset_id);
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, path);
  g_assert_cmpstr (json_object_get_string_member (ls, "status"), ==, "disabled");
  g_assert_false (json_object_has_member (ls, "active_asset_id"));

  /* Disabled: the right key is refused too, and nothing new is recorded. */
  assert_refused (h, key);
  g_assert_cmpuint (count_assets (h, id), ==, 1);

  put (h, id, "enable");
  g_assert_true (sc_harness_wait_member (h, path, "status", "idle", WAIT_S));
  g_autoptr (GSubprocess) p2 = sc_harness_ffmpeg_publish (h, key, 3);
  g_autofree char *asset2 = wait_active_asset (h, id);
  g_assert_cmpstr (asset2, !=, asset_id);
  sc_harness_wait_exit_ok (p2, WAIT_S);
}

static void
test_reset_stream_key (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autofree char *old_key = NULL;
  g_autofree char *id = create_stream (h, 1, &old_key);
  g_autofree char *reset = stream_path (id, "reset-stream-key");
  g_autoptr (ScResponse) r = sc_harness_request (h, "POST", reset, NULL);
  g_assert_cmpuint (r->status, ==, 201);
  const char *new_key = sc_response_str (r, "stream_key");
  g_assert_nonnull (new_key);
  g_assert_cmpstr (new_key, !=, old_key);

  assert_refused (h, old_key);
  g_assert_cmpuint (count_all_assets (h), ==, 0);

  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (h, new_key, 3);
  g_autofree char *asset_id = wait_active_asset (h, id);
  sc_harness_wait_exit_ok (p, WAIT_S);
  g_autoptr (JsonObject) a = wait_ready (h, asset_id);
}

static void
publish_and_wait (ScHarness *h, const char *key, double seconds)
{
  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (h, key, seconds);
  sc_harness_wait_exit_ok (p, WAIT_S);
}

static void
test_reconnect_within_window (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, 10, &key);

  publish_and_wait (h, key, 3);
  publish_and_wait (h, key, 3);
  g_assert_cmpuint (count_assets (h, id), ==, 1);
  g_autofree char *path = stream_path (id, NULL);
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, path);
  JsonArray *recent = json_object_get_array_member (ls, "recent_asset_ids");
  g_assert_cmpuint (json_array_get_length (recent), ==, 1);

  /* The window expires, and the one asset holds both sessions. */
  g_autoptr (JsonObject) a = wait_ready (h, json_array_get_string_element (recent, 0));
  JsonArray *times = json_object_get_array_member (a, "recording_times");
  g_assert_cmpuint (json_array_get_length (times), ==, 2);
  double duration = json_object_get_double_member (a, "duration");
  g_test_message ("two 3 s sessions recorded as %.2f s", duration);
  g_assert_cmpfloat (duration, >, 5.0);
  g_assert_cmpfloat (duration, <, 7.5);
  /* The second encoder's timestamps start again from 0: the MP4 carries
   * on after the first session instead of overlapping it. */
  double mp4 = mp4_duration (h, a);
  g_test_message ("MP4: %.3f s", mp4);
  g_assert_cmpfloat (fabs (mp4 - duration), <, 0.5);
  g_assert_true (sc_harness_wait_member (h, path, "status", "idle", WAIT_S));
}

static void
test_reconnect_after_window (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, 1, &key);
  g_autofree char *path = stream_path (id, NULL);

  publish_and_wait (h, key, 3);
  g_assert_true (sc_harness_wait_member (h, path, "status", "idle", WAIT_S));
  g_usleep (4 * G_USEC_PER_SEC);   /* well past the 1 s window */
  publish_and_wait (h, key, 3);
  g_assert_true (sc_harness_wait_member (h, path, "status", "idle", WAIT_S));

  g_assert_cmpuint (count_assets (h, id), ==, 2);
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, path);
  JsonArray *recent = json_object_get_array_member (ls, "recent_asset_ids");
  g_assert_cmpuint (json_array_get_length (recent), ==, 2);
  for (guint i = 0; i < 2; i++) {
    g_autoptr (JsonObject) a = wait_ready (h, json_array_get_string_element (recent, i));
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (a, "recording_times")), ==, 1);
  }
}

static void
test_complete (void)
{
  const char *args[] = { "--complete-hold=3", NULL };
  g_autoptr (ScHarness) h = sc_harness_start (args);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, 60, &key);
  g_autofree char *path = stream_path (id, NULL);

  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (h, key, 30);
  gint64 start = g_get_monotonic_time ();
  g_autofree char *asset_id = wait_recording (h, id);
  g_usleep (4 * G_USEC_PER_SEC);     /* some media to record */
  gint64 t_complete = g_get_monotonic_time ();
  put (h, id, "complete");

  /* Finalised at once, while the encoder is still held on. */
  g_autoptr (JsonObject) a = wait_ready (h, asset_id);
  g_assert_true (sc_harness_wait_exit (p, 30, NULL));
  double held = (g_get_monotonic_time () - t_complete) / (double) G_USEC_PER_SEC;
  g_test_message ("encoder dropped %.2f s after complete", held);
  /* Never before the hold; only an upper bound would depend on load. */
  g_assert_cmpfloat (held, >=, 2.5);

  /* Only what came before complete is in the asset. */
  double before = (t_complete - start) / (double) G_USEC_PER_SEC;
  double duration = json_object_get_double_member (a, "duration");
  g_test_message ("%.2f s published before complete, %.2f s recorded", before, duration);
  g_assert_cmpfloat (duration, >, 2.0);
  g_assert_cmpfloat (duration, <, before + 0.5);
  g_autofree char *apath = asset_path (asset_id);
  g_autoptr (JsonObject) again = sc_harness_get_data (h, apath);
  g_assert_cmpfloat (json_object_get_double_member (again, "duration"), ==, duration);

  g_autoptr (JsonObject) ls = sc_harness_get_data (h, path);
  g_assert_cmpstr (json_object_get_string_member (ls, "status"), ==, "idle");
  g_assert_false (json_object_has_member (ls, "active_asset_id"));
  g_assert_cmpuint (count_assets (h, id), ==, 1);
}

static void
test_delete_active (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, 60, &key);
  g_autofree char *path = stream_path (id, NULL);

  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (h, key, 30);
  g_autofree char *asset_id = wait_recording (h, id);
  g_autoptr (ScResponse) r = sc_harness_request (h, "DELETE", path, NULL);
  g_assert_cmpuint (r->status, ==, 204);
  g_assert_true (sc_harness_wait_exit (p, 15, NULL));
  g_autoptr (JsonObject) a = wait_ready (h, asset_id);
  g_autoptr (ScResponse) gone = sc_harness_request (h, "GET", path, NULL);
  g_assert_cmpuint (gone->status, ==, 404);
  /* The key went with the stream. */
  assert_refused (h, key);
}

static void
test_second_publisher_replaces (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, 5, &key);
  g_autofree char *path = stream_path (id, NULL);

  g_autoptr (GSubprocess) first = sc_harness_ffmpeg_publish (h, key, 30);
  gint64 start = g_get_monotonic_time ();
  g_autofree char *asset_id = wait_recording (h, id);
  g_autoptr (GSubprocess) second = sc_harness_ffmpeg_publish (h, key, 8);
  g_assert_true (sc_harness_wait_exit (first, 20, NULL));
  /* The newcomer carries on: the stream stays active on the same asset. */
  g_assert_null (g_subprocess_get_identifier (first));
  g_assert_nonnull (g_subprocess_get_identifier (second));
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, path);
  g_assert_cmpstr (json_object_get_string_member (ls, "status"), ==, "active");
  g_assert_cmpstr (json_object_get_string_member (ls, "active_asset_id"), ==, asset_id);
  sc_harness_wait_exit_ok (second, WAIT_S);
  double published = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  g_assert_cmpuint (count_assets (h, id), ==, 1);
  g_autoptr (JsonObject) a = wait_ready (h, asset_id);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (a, "recording_times")), ==, 2);
  double duration = json_object_get_double_member (a, "duration");
  double mp4 = mp4_duration (h, a);
  g_test_message ("%.2f s published, %.2f s recorded, MP4 %.2f s", published, duration, mp4);
  g_assert_cmpfloat (duration, >=, 8.0 - 0.5);
  g_assert_cmpfloat (duration, <, published + 0.5);
  g_assert_cmpfloat (fabs (mp4 - duration), <, 0.5);
}

/* complete's hold: a new publish while the old encoder drains replaces it
 * and starts a new asset. */
static void
test_publish_while_draining (void)
{
  const char *args[] = { "--complete-hold=20", NULL };
  g_autoptr (ScHarness) h = sc_harness_start (args);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, 1, &key);

  g_autoptr (GSubprocess) first = sc_harness_ffmpeg_publish (h, key, 60);
  g_autofree char *asset1 = wait_recording (h, id);
  put (h, id, "complete");
  g_autoptr (JsonObject) a1 = wait_ready (h, asset1);
  g_assert_nonnull (g_subprocess_get_identifier (first));   /* held for 20 s */

  g_autoptr (GSubprocess) second = sc_harness_ffmpeg_publish (h, key, 4);
  g_assert_true (sc_harness_wait_exit (first, 15, NULL));
  g_autofree char *asset2 = wait_active_asset (h, id);
  g_assert_cmpstr (asset2, !=, asset1);
  sc_harness_wait_exit_ok (second, WAIT_S);
  g_autoptr (JsonObject) a2 = wait_ready (h, asset2);
  g_assert_cmpuint (count_assets (h, id), ==, 2);
  /* The first asset is left as it was finalised. */
  g_autofree char *path1 = asset_path (asset1);
  g_autoptr (JsonObject) again = sc_harness_get_data (h, path1);
  g_assert_cmpstr (json_object_get_string_member (again, "status"), ==, "ready");
  g_assert_cmpfloat (json_object_get_double_member (again, "duration"), ==,
                     json_object_get_double_member (a1, "duration"));
}

/* As Mux does, a session already connected keeps running through a key
 * reset; only later publishes need the new key. */
static void
test_reset_key_while_publishing (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, 1, &key);
  g_autofree char *reset = stream_path (id, "reset-stream-key");

  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (h, key, 6);
  g_autofree char *asset_id = wait_recording (h, id);
  g_autoptr (ScResponse) r = sc_harness_request (h, "POST", reset, NULL);
  g_assert_cmpuint (r->status, ==, 201);
  sc_harness_wait_exit_ok (p, WAIT_S);
  g_autoptr (JsonObject) a = wait_ready (h, asset_id);
  g_assert_cmpfloat (fabs (json_object_get_double_member (a, "duration") - 6.0), <=, 0.5);
  assert_refused (h, key);
  g_assert_cmpuint (count_assets (h, id), ==, 1);
}

/* No encoder, but the asset is still open for a reconnect: disable closes
 * it at once instead of waiting out the window. */
static void
test_disable_in_reconnect_window (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autofree char *key = NULL;
  g_autofree char *id = create_stream (h, 600, &key);
  g_autofree char *path = stream_path (id, NULL);

  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (h, key, 3);
  g_autofree char *asset_id = wait_active_asset (h, id);
  sc_harness_wait_exit_ok (p, WAIT_S);
  g_autofree char *apath = asset_path (asset_id);
  g_autoptr (JsonObject) open = sc_harness_get_data (h, apath);
  g_assert_cmpstr (json_object_get_string_member (open, "status"), ==, "preparing");

  put (h, id, "disable");
  g_autoptr (JsonObject) a = wait_ready (h, asset_id);
  g_assert_cmpfloat (fabs (json_object_get_double_member (a, "duration") - 3.0), <=, 0.5);
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, path);
  g_assert_cmpstr (json_object_get_string_member (ls, "status"), ==, "disabled");
  g_assert_false (json_object_has_member (ls, "active_asset_id"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *ffmpeg = g_find_program_in_path ("ffmpeg");
  g_autofree char *gst = g_find_program_in_path ("gst-launch-1.0");
  if (!ffmpeg || !gst) {
    sc_harness_add_skip ("/ingest/tools", "ffmpeg and gst-launch-1.0 are needed");
    return g_test_run ();
  }
  g_test_add_func ("/ingest/accept-and-refuse", test_accept_and_refuse);
  g_test_add_func ("/ingest/disable-enable", test_disable_enable);
  g_test_add_func ("/ingest/reset-stream-key", test_reset_stream_key);
  g_test_add_func ("/ingest/reconnect-within-window", test_reconnect_within_window);
  g_test_add_func ("/ingest/reconnect-after-window", test_reconnect_after_window);
  g_test_add_func ("/ingest/complete", test_complete);
  g_test_add_func ("/ingest/delete-active", test_delete_active);
  g_test_add_func ("/ingest/second-publisher-replaces", test_second_publisher_replaces);
  g_test_add_func ("/ingest/publish-while-draining", test_publish_while_draining);
  g_test_add_func ("/ingest/reset-key-while-publishing", test_reset_key_while_publishing);
  g_test_add_func ("/ingest/disable-in-reconnect-window", test_disable_in_reconnect_window);
  return g_test_run ();
}
