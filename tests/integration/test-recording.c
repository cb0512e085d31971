/* What a live stream records, checked with ffprobe against what a real
 * encoder sent: live HLS while active, the finalised asset's playlist, MP4
 * and thumbnail, the asset's fields, and a recording that survives the
 * daemon being killed mid-stream. */
#include "harness.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define WAIT_S 60.0

typedef struct {
  char *id;
  char *key;
  char *playback_id;
} Live;

static void
live_clear (Live *l)
{
  g_free (l->id);
  g_free (l->key);
  g_free (l->playback_id);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Live, live_clear)

static void
create_stream (ScHarness *h, int reconnect_window, Live *l)
{
  g_autoptr (JsonObject) d = sc_harness_create_live_stream (h, reconnect_window);
  l->id = g_strdup (json_object_get_string_member (d, "id"));
  l->key = g_strdup (json_object_get_string_member (d, "stream_key"));
  l->playback_id = g_strdup (sc_harness_playback_id (d));
}

static char *
stream_path (Live *l)
{
  return g_strdup_printf ("/video/v1/live-streams/%s", l->id);
}

static char *
tmp_file (ScHarness *h, const char *name)
{
  return g_build_filename (h->data_dir, name, NULL);
}

static void
test_live_and_asset (void)
{
  const double sent = 8.0;       /* the ffmpeg -t value */
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_auto (Live) l = { 0 };
  create_stream (h, 1, &l);
  g_autofree char *m3u8 = g_strdup_printf ("/stream/%s.m3u8", l.playback_id);
  g_autofree char *spath = stream_path (&l);
  guint status;

  g_autofree char *idle_text = sc_harness_get_text (h, m3u8, &status);
  g_assert_cmpuint (status, ==, 412);

  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (h, l.key, sent);
  g_autofree char *live = sc_harness_wait_live_playlist (h, l.playback_id, 1, WAIT_S);
  g_assert_true (g_str_has_prefix (live, "#EXTM3U"));
  g_assert_null (strstr (live, "#EXT-X-ENDLIST"));
  g_auto (GStrv) lines = g_strsplit (live, "\n", -1);
  const char *seg = NULL;
  for (guint i = 0; lines[i] && !seg; i++)
    if (lines[i][0] && lines[i][0] != '#')
      seg = lines[i];
  g_assert_nonnull (seg);
  g_autofree char *seg_path = g_strdup_printf ("/stream/%s", seg);
  g_autofree char *seg_file = tmp_file (h, "live-seg.ts");
  g_assert_cmpuint (sc_harness_download (h, seg_path, seg_file), ==, 200);
  sc_harness_assert_h264_aac (seg_file);

  g_autoptr (JsonObject) ls = sc_harness_get_data (h, spath);
  g_autofree char *asset_id = g_strdup (json_object_get_string_member (ls, "active_asset_id"));
  g_assert_nonnull (asset_id);

  /* The asset being recorded plays as DVR: every segment so far, open. */
  g_autofree char *live_apath = g_strdup_printf ("/video/v1/assets/%s", asset_id);
  g_autoptr (JsonObject) live_asset = sc_harness_get_data (h, live_apath);
  g_assert_true (json_object_get_boolean_member (live_asset, "is_live"));
  const char *live_apid = sc_harness_playback_id (live_asset);
  g_autofree char *dvr_path = g_strdup_printf ("/stream/%s.m3u8", live_apid);
  g_autofree char *dvr = sc_harness_get_text (h, dvr_path, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (g_str_has_prefix (dvr, "#EXTM3U"));
  g_assert_cmpuint (sc_harness_count_lines (dvr, "#EXTINF"), >=, 1);
  g_assert_null (strstr (dvr, "#EXT-X-ENDLIST"));
  g_autofree char *early_mp4 = g_strdup_printf ("/stream/%s/highest.mp4", live_apid);
  g_autofree char *not_yet = sc_harness_get_text (h, early_mp4, &status);
  g_assert_cmpuint (status, ==, 412);

  sc_harness_wait_exit_ok (p, WAIT_S);
  g_assert_true (sc_harness_wait_member (h, spath, "status", "idle", WAIT_S));
  g_autofree char *after = sc_harness_get_text (h, m3u8, &status);
  g_assert_cmpuint (status, ==, 412);

  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (h, asset_id, WAIT_S);
  const char *asset_pid = sc_harness_playback_id (a);

  /* The whole recording, closed. */
  g_autofree char *vod_path = g_strdup_printf ("/stream/%s.m3u8", asset_pid);
  g_autofree char *vod = sc_harness_get_text (h, vod_path, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (strstr (vod, "#EXT-X-ENDLIST"));
  g_assert_cmpuint (sc_harness_count_lines (vod, "#EXTINF"), >=, 3);

  g_autofree char *mp4 = sc_harness_download_mp4 (h, asset_pid, "highest.mp4");
  sc_harness_assert_h264_aac (mp4);
  double mp4_duration = sc_harness_media_duration (mp4);
  g_test_message ("sent %.1f s, MP4 %.3f s, asset %.3f s", sent, mp4_duration,
                  json_object_get_double_member (a, "duration"));
  g_assert_cmpfloat (fabs (mp4_duration - sent), <=, 0.5);

  /* A keyframe every 2 s, as the encoder made them. */
  g_autoptr (GArray) kt = sc_harness_keyframe_times (mp4);
  g_assert_cmpuint (kt->len, >=, 4);
  for (guint i = 1; i < kt->len; i++) {
    double gap = g_array_index (kt, double, i) - g_array_index (kt, double, i - 1);
    g_test_message ("keyframe at %.3f (+%.3f)", g_array_index (kt, double, i), gap);
    g_assert_cmpfloat (fabs (gap - 2.0), <, 0.05);
  }

  /* The asset's own description of it. */
  g_assert_cmpfloat (fabs (json_object_get_double_member (a, "duration") - sent), <=, 0.5);
  g_assert_cmpstr (json_object_get_string_member (a, "aspect_ratio"), ==, "16:9");
  g_assert_cmpstr (json_object_get_string_member (a, "live_stream_id"), ==, l.id);
  JsonArray *tracks = json_object_get_array_member (a, "tracks");
  gboolean video = FALSE, audio = FALSE;
  for (guint i = 0; i < json_array_get_length (tracks); i++) {
    JsonObject *t = json_array_get_object_element (tracks, i);
    const char *type = json_object_get_string_member (t, "type");
    if (g_str_equal (type, "video")) {
      video = TRUE;
      g_assert_cmpint (json_object_get_int_member (t, "max_width"), ==, 640);
      g_assert_cmpint (json_object_get_int_member (t, "max_height"), ==, 360);
      g_assert_cmpfloat (fabs (json_object_get_double_member (t, "max_frame_rate") - 30), <, 0.5);
    } else if (g_str_equal (type, "audio")) {
      audio = TRUE;
      g_assert_cmpint (json_object_get_int_member (t, "max_channels"), ==, 1);
    }
  }
  g_assert_true (video && audio);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (a, "recording_times")), ==, 1);

  /* A thumbnail the width asked for, the height following the picture. */
  g_autofree char *thumb_path = g_strdup_printf ("/image/%s/thumbnail.jpg?time=3&width=320", asset_pid);
  g_autofree char *jpg = tmp_file (h, "thumb.jpg");
  g_assert_cmpuint (sc_harness_download (h, thumb_path, jpg), ==, 200);
  const char *size_args[] = { "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", NULL };
  g_autofree char *size = sc_harness_ffprobe (jpg, size_args);
  g_assert_cmpstr (g_strstrip (size), ==, "mjpeg,320,180");
}

/* rtmp2sink's FLV is recorded as well as ffmpeg's. */
static void
test_gstreamer_recording (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_auto (Live) l = { 0 };
  create_stream (h, 1, &l);
  g_autofree char *spath = stream_path (&l);

  g_autoptr (GSubprocess) p = sc_harness_gst_publish (h, l.key, 6);
  g_autofree char *live = sc_harness_wait_live_playlist (h, l.playback_id, 1, WAIT_S);
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, spath);
  g_autofree char *asset_id = g_strdup (json_object_get_string_member (ls, "active_asset_id"));
  sc_harness_wait_exit_ok (p, WAIT_S);
  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (h, asset_id, WAIT_S);
  double duration = json_object_get_double_member (a, "duration");
  g_test_message ("rtmp2sink: 6 s sent, %.3f s recorded", duration);
  g_assert_cmpfloat (fabs (duration - 6.0), <=, 0.5);
  g_autofree char *mp4 = sc_harness_download_mp4 (h, sc_harness_playback_id (a), "gst.mp4");
  sc_harness_assert_h264_aac (mp4);
}

static void
test_crash_safety (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_auto (Live) l = { 0 };
  create_stream (h, 60, &l);
  g_autofree char *spath = stream_path (&l);

  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (h, l.key, 60);
  /* Three complete 2 s segments: at least 6 s of media on disk. */
  g_autofree char *live = sc_harness_wait_live_playlist (h, l.playback_id, 3, WAIT_S);
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, spath);
  g_autofree char *asset_id = g_strdup (json_object_get_string_member (ls, "active_asset_id"));
  g_assert_nonnull (asset_id);

  sc_harness_kill9 (h);
  g_subprocess_force_exit (p);
  g_assert_true (sc_harness_wait_exit (p, WAIT_S, NULL));
  sc_harness_launch (h);

  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (h, asset_id, WAIT_S);
  double duration = json_object_get_double_member (a, "duration");
  g_test_message ("recovered %.3f s after kill -9", duration);
  g_assert_cmpfloat (duration, >=, 4.0);
  g_autoptr (JsonObject) after = sc_harness_get_data (h, spath);
  g_assert_cmpstr (json_object_get_string_member (after, "status"), ==, "idle");
  g_assert_false (json_object_has_member (after, "active_asset_id"));

  /* The recovered MP4 plays. */
  g_autofree char *mp4 = sc_harness_download_mp4 (h, sc_harness_playback_id (a), "recovered.mp4");
  sc_harness_assert_h264_aac (mp4);

  /* Deleting the asset takes its media with it. */
  g_autofree char *dir = g_build_filename (h->data_dir, "assets", asset_id, NULL);
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  g_autofree char *apath = g_strdup_printf ("/video/v1/assets/%s", asset_id);
  g_autoptr (ScResponse) r = sc_harness_request (h, "DELETE", apath, NULL);
  g_assert_cmpuint (r->status, ==, 204);
  g_autoptr (ScResponse) gone = sc_harness_request (h, "GET", apath, NULL);
  g_assert_cmpuint (gone->status, ==, 404);
  /* The files go on the committed video.asset.deleted, in the main-loop
   * turn after the DELETE: before the daemon answers anything else. */
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  g_autofree char *mp4_path = g_strdup_printf ("/stream/%s/highest.mp4",
                                               sc_harness_playback_id (a));
  guint status;
  g_autofree char *mp4_after = sc_harness_get_text (h, mp4_path, &status);
  g_assert_cmpuint (status, ==, 404);
}

/* A clean shutdown mid-recording keeps the recording too. */
static void
test_restart (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_auto (Live) l = { 0 };
  create_stream (h, 60, &l);
  g_autofree char *spath = stream_path (&l);

  g_autoptr (GSubprocess) p = sc_harness_ffmpeg_publish (h, l.key, 60);
  g_autofree char *live = sc_harness_wait_live_playlist (h, l.playback_id, 2, WAIT_S);
  g_autoptr (JsonObject) ls = sc_harness_get_data (h, spath);
  g_autofree char *asset_id = g_strdup (json_object_get_string_member (ls, "active_asset_id"));
  g_assert_nonnull (asset_id);

  sc_harness_restart (h);
  g_assert_true (sc_harness_wait_exit (p, WAIT_S, NULL));
  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (h, asset_id, WAIT_S);
  g_assert_cmpfloat (json_object_get_double_member (a, "duration"), >=, 2.0);
  g_autoptr (JsonObject) after = sc_harness_get_data (h, spath);
  g_assert_cmpstr (json_object_get_string_member (after, "status"), ==, "idle");
  g_assert_false (json_object_has_member (after, "active_asset_id"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *ffmpeg = g_find_program_in_path ("ffmpeg");
  g_autofree char *gst = g_find_program_in_path ("gst-launch-1.0");
  if (!ffmpeg || !gst) {
    sc_harness_add_skip ("/recording/tools", "ffmpeg, ffprobe and gst-launch-1.0 are needed");
    return g_test_run ();
  }
  g_test_add_func ("/recording/live-and-asset", test_live_and_asset);
  g_test_add_func ("/recording/gstreamer", test_gstreamer_recording);
  g_test_add_func ("/recording/crash-safety", test_crash_safety);
  g_test_add_func ("/recording/restart", test_restart);
  return g_test_run ();
}
