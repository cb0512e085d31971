/* Recorder, finalise and thumbnails on real media: the ffmpeg CLI makes an
 * FLV file (H.264 with a 2 s GOP + AAC), whose tags are exactly the RTMP
 * message bodies an encoder would send; the tests feed them to the recorder
 * and check the result with ffprobe and by reading the files. */
#include "spacecast/record.h"
#include "spacecast/core.h"
#include "harness.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int type;
  guint64 ts;
  GBytes *data;
} Tag;

static char *media_dir;
static char *av_flv, *audio_flv, *video_flv;

static void
tag_clear (gpointer p)
{
  g_bytes_unref (((Tag *) p)->data);
}

/* FLV: 9-byte header, then PreviousTagSize + tag, repeated. */
static GArray *
read_flv (const char *path)
{
  g_autofree char *buf = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &buf, &len, NULL));
  g_assert_cmpuint (len, >, 13);
  g_assert_true (memcmp (buf, "FLV", 3) == 0);

  GArray *tags = g_array_new (FALSE, TRUE, sizeof (Tag));
  g_array_set_clear_func (tags, tag_clear);
  const guint8 *p = (const guint8 *) buf;
  gsize off = 9 + 4;
  while (off + 11 <= len) {
    int type = p[off] & 0x1f;
    gsize size = (p[off + 1] << 16) | (p[off + 2] << 8) | p[off + 3];
    guint64 ts = (p[off + 4] << 16) | (p[off + 5] << 8) | p[off + 6] | ((guint64) p[off + 7] << 24);
    if (off + 11 + size > len)
      break;
    if (type == SC_FLV_TAG_AUDIO || type == SC_FLV_TAG_VIDEO) {
      Tag t = { type, ts, g_bytes_new (p + off + 11, size) };
      g_array_append_val (tags, t);
    }
    off += 11 + size + 4;
  }
  return tags;
}

/* Push tags with ts in [from_ms, to_ms), plus every sequence header, on a
 * clock that starts at at_ms. */
static void
feed_at (ScRecorder *r, GArray *tags, guint64 from_ms, guint64 to_ms, guint64 at_ms)
{
  for (guint i = 0; i < tags->len; i++) {
    Tag *t = &g_array_index (tags, Tag, i);
    gsize len;
    const guint8 *d = g_bytes_get_data (t->data, &len);
    gboolean header = len > 1 && d[1] == 0;
    if (!header && (t->ts < from_ms || t->ts >= to_ms))
      continue;
    g_autoptr (GError) error = NULL;
    guint64 ts = at_ms + (header ? 0 : t->ts - from_ms);
    gboolean ok = sc_recorder_push (r, t->type, ts, d, len, &error);
    g_assert_no_error (error);
    g_assert_true (ok);
  }
}

/* As a new encoder would: its clock starts at zero. */
static void
feed (ScRecorder *r, GArray *tags, guint64 from_ms, guint64 to_ms)
{
  feed_at (r, tags, from_ms, to_ms, 0);
}

static char *
run (const char *const *argv)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", argv[0], err);
  return g_steal_pointer (&out);
}

static JsonObject *
ffprobe (const char *path, JsonParser **parser_out)
{
  const char *argv[] = { "ffprobe", "-v", "error", "-show_streams", "-show_format",
                         "-of", "json", path, NULL };
  g_autofree char *out = run (argv);
  JsonParser *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  *parser_out = parser;
  return json_node_get_object (json_parser_get_root (parser));
}

/* Keyframe times of the video stream, from the container's packet flags. */
static GArray *
keyframes (const char *path)
{
  const char *argv[] = { "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                         "packet=pts_time,flags", "-of", "csv=p=0", path, NULL };
  g_autofree char *out = run (argv);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  GArray *keys = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], ",", 2);
    if (f[0] && f[1] && strchr (f[1], 'K')) {
      double t = g_ascii_strtod (f[0], NULL);
      g_array_append_val (keys, t);
    }
  }
  return keys;
}

static char *
read_text (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static guint
count (const char *text, const char *needle)
{
  guint n = 0;
  for (const char *p = text; (p = strstr (p, needle)); p += strlen (needle))
    n++;
  return n;
}

static char *
new_dir (const char *name)
{
  char *dir = g_build_filename (media_dir, name, NULL);
  return dir;
}

/* Durations of the EXTINF lines, checking each URI exists in dir. */
static GArray *
playlist_segments (const char *dir, const char *text)
{
  GArray *d = g_array_new (FALSE, FALSE, sizeof (double));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "#EXTM3U");
  const char *t = strstr (text, "#EXT-X-TARGETDURATION:");
  g_assert_nonnull (t);
  int target = atoi (t + 22);
  for (guint i = 0; lines[i]; i++) {
    if (!g_str_has_prefix (lines[i], "#EXTINF:"))
      continue;
    double v = g_ascii_strtod (lines[i] + 8, NULL);
    /* RFC 8216 4.3.3.1: EXTINF rounded must not exceed the target. */
    g_assert_cmpint ((int) (v + 0.5), <=, target);
    g_array_append_val (d, v);
    g_assert_nonnull (lines[i + 1]);
    g_assert_false (lines[i + 1][0] == '#');
    g_autofree char *seg = g_build_filename (dir, lines[i + 1], NULL);
    g_assert_true (g_file_test (seg, G_FILE_TEST_IS_REGULAR));
  }
  return d;
}

/* A real HLS client (FFmpeg's hls demuxer) plays the playlist through
 * without complaint and finds about the expected duration of video. */
static void
check_plays (const char *dir, double expect_s)
{
  g_autofree char *pl = g_build_filename (dir, "index.m3u8", NULL);
  const char *argv[] = { "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", pl,
                         "-map", "0:v:0", "-f", "framemd5", "-", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (err, ==, "");
  guint frames = 0;
  for (const char *p = out; (p = strchr (p, '\n')); p++)
    if (p[1] != '#' && p[1] != '\0')
      frames++;
  g_assert_cmpfloat (fabs (frames / 30.0 - expect_s), <, 0.5);
}

static void
check_segment_starts_with_keyframe (const char *path)
{
  const char *argv[] = { "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                         "packet=flags", "-read_intervals", "%+#1", "-of", "csv=p=0", path, NULL };
  g_autofree char *out = run (argv);
  g_assert_nonnull (strchr (out, 'K'));
}

static ScRecorder *
record (const char *asset_dir, const char *live_dir, GArray *tags, guint64 to_ms)
{
  g_autoptr (GError) error = NULL;
  ScRecorder *r = sc_recorder_new (asset_dir, live_dir, &error);
  g_assert_no_error (error);
  feed (r, tags, 0, to_ms);
  return r;
}

static void
test_segments_and_playlists (void)
{
  g_autoptr (GArray) tags = read_flv (av_flv);
  g_autofree char *asset = new_dir ("seg-asset");
  g_autofree char *live = new_dir ("seg-live");
  g_autoptr (GError) error = NULL;
  g_autoptr (ScRecorder) r = record (asset, live, tags, 100000);

  /* While live: an EVENT playlist without ENDLIST, a sliding live one. */
  g_autofree char *during = read_text (asset, "index.m3u8");
  g_assert_nonnull (strstr (during, "#EXT-X-PLAYLIST-TYPE:EVENT"));
  g_assert_null (strstr (during, "#EXT-X-ENDLIST"));
  g_autofree char *live_during = read_text (live, "index.m3u8");
  g_assert_null (strstr (live_during, "#EXT-X-ENDLIST"));

  g_assert_true (sc_recorder_close (r, &error));
  g_assert_no_error (error);

  /* 14 s with a 2 s GOP: seven ~2 s segments, each on a keyframe. */
  g_autofree char *pl = read_text (asset, "index.m3u8");
  g_autoptr (GArray) d = playlist_segments (asset, pl);
  g_assert_cmpuint (d->len, ==, 7);
  g_assert_cmpuint (sc_recorder_n_segments (r), ==, 7);
  double total = 0;
  for (guint i = 0; i < d->len; i++) {
    double v = g_array_index (d, double, i);
    g_assert_cmpfloat (v, >, 1.9);
    g_assert_cmpfloat (v, <, 2.1);
    total += v;
    g_autofree char *name = g_strdup_printf ("seg_%05u.ts", i);
    g_autofree char *seg = g_build_filename (asset, name, NULL);
    check_segment_starts_with_keyframe (seg);
  }
  g_assert_cmpfloat (fabs (total - 14.0), <, 0.2);
  g_assert_cmpfloat (fabs (sc_recorder_duration (r) - total), <, 0.01);
  g_assert_nonnull (strstr (pl, "#EXT-X-TARGETDURATION:2\n"));
  g_assert_nonnull (strstr (pl, "#EXT-X-ENDLIST"));
  g_assert_cmpuint (count (pl, "#EXT-X-DISCONTINUITY\n"), ==, 0);
  check_plays (asset, 14.0);

  /* Live: the last five, sequence numbered, ended. */
  g_autofree char *lp = read_text (live, "index.m3u8");
  g_autoptr (GArray) ld = playlist_segments (live, lp);
  g_assert_cmpuint (ld->len, ==, 5);
  g_assert_nonnull (strstr (lp, "#EXT-X-MEDIA-SEQUENCE:2\n"));
  g_assert_nonnull (strstr (lp, "seg_6.ts"));
  g_assert_nonnull (strstr (lp, "#EXT-X-ENDLIST"));
  check_plays (live, 10.0);

  /* The next asset on the same live stream continues the sequence. */
  g_autofree char *asset2 = new_dir ("seg-asset2");
  /* 4.5 s: keyframes at 0, 2, 4 make three segments. */
  g_autoptr (ScRecorder) r2 = record (asset2, live, tags, 4500);
  g_assert_true (sc_recorder_close (r2, &error));
  g_autofree char *lp2 = read_text (live, "index.m3u8");
  g_autoptr (GArray) ld2 = playlist_segments (live, lp2);
  g_assert_cmpuint (ld2->len, ==, 5);
  g_assert_nonnull (strstr (lp2, "#EXT-X-MEDIA-SEQUENCE:5\n"));
  g_assert_nonnull (strstr (lp2, "seg_6.ts\n#EXT-X-DISCONTINUITY\n#EXTINF"));
  g_assert_nonnull (strstr (lp2, "seg_9.ts"));
  /* Files that left the window are kept a little (3) for slow players, then go. */
  g_autofree char *gone = g_build_filename (live, "seg_1.ts", NULL);
  g_assert_false (g_file_test (gone, G_FILE_TEST_EXISTS));
  g_autofree char *kept = g_build_filename (live, "seg_2.ts", NULL);
  g_assert_true (g_file_test (kept, G_FILE_TEST_EXISTS));
}

static void
check_mp4 (const char *mp4, double expect_duration, ScAssetMedia *m)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *root = ffprobe (mp4, &parser);
  JsonArray *streams = json_object_get_array_member (root, "streams");
  gboolean h264 = FALSE, aac = FALSE;
  for (guint i = 0; i < json_array_get_length (streams); i++) {
    const char *c = json_object_get_string_member (json_array_get_object_element (streams, i),
                                                   "codec_name");
    h264 |= g_str_equal (c, "h264");
    aac |= g_str_equal (c, "aac");
  }
  g_assert_true (h264);
  g_assert_true (aac);
  JsonObject *format = json_object_get_object_member (root, "format");
  double dur = g_ascii_strtod (json_object_get_string_member (format, "duration"), NULL);
  g_assert_cmpfloat (fabs (dur - expect_duration), <, 0.5);
  g_assert_cmpfloat (fabs (m->duration - dur), <, 0.1);

  /* Faststart: moov before mdat among the top-level boxes. */
  g_autofree char *buf = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (mp4, &buf, &len, NULL));
  gsize off = 0;
  int moov = -1, mdat = -1, n = 0;
  while (off + 8 <= len) {
    const guint8 *b = (const guint8 *) buf + off;
    guint64 size = ((guint64) b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
    if (size == 1 && off + 16 <= len)
      size = GUINT64_FROM_BE (*(guint64 *) (b + 8));
    if (memcmp (b + 4, "moov", 4) == 0) moov = n;
    if (memcmp (b + 4, "mdat", 4) == 0) mdat = n;
    if (size < 8)
      break;
    off += size;
    n++;
  }
  g_assert_cmpint (moov, >=, 0);
  g_assert_cmpint (mdat, >, moov);

  /* The source's 2 s GOP survives the remux. */
  g_autoptr (GArray) keys = keyframes (mp4);
  g_assert_cmpuint (keys->len, ==, (guint) (expect_duration / 2.0 + 0.5));
  for (guint i = 0; i < keys->len; i++)
    g_assert_cmpfloat (fabs (g_array_index (keys, double, i) - 2.0 * i), <, 0.1);
}

static void
test_finalise (void)
{
  g_autoptr (GArray) tags = read_flv (av_flv);
  g_autofree char *asset = new_dir ("fin-asset");
  g_autoptr (GError) error = NULL;
  g_autoptr (ScRecorder) r = record (asset, NULL, tags, 100000);
  g_assert_true (sc_recorder_close (r, &error));

  ScAssetMedia m;
  g_assert_true (sc_record_finalise (asset, &m, &error));
  g_assert_no_error (error);
  g_autofree char *mp4 = g_build_filename (asset, "highest.mp4", NULL);
  check_mp4 (mp4, 14.0, &m);

  g_assert_true (m.has_video);
  g_assert_true (m.has_audio);
  g_assert_cmpstr (m.video_codec, ==, "h264");
  g_assert_cmpstr (m.audio_codec, ==, "aac");
  g_assert_cmpint (m.max_width, ==, 640);
  g_assert_cmpint (m.max_height, ==, 360);
  g_assert_cmpfloat (fabs (m.max_frame_rate - 30), <, 0.01);
  g_assert_cmpint (m.max_channels, ==, 2);
  g_assert_cmpstr (m.aspect_ratio, ==, "16:9");
  g_assert_cmpstr (m.resolution_tier, ==, "720p");
  g_assert_cmpuint (m.recording_times->len, ==, 1);
  ScRecordingTime *t = &g_array_index (m.recording_times, ScRecordingTime, 0);
  g_assert_cmpfloat (fabs (t->duration - 14.0), <, 0.2);
  g_assert_cmpfloat (fabs (t->started_at - g_get_real_time () / 1e6), <, 600);
  sc_asset_media_clear (&m);

  /* Finalising again is harmless (same result). */
  g_assert_true (sc_record_finalise (asset, &m, &error));
  g_assert_cmpfloat (fabs (m.duration - 14.0), <, 0.5);
  sc_asset_media_clear (&m);
}

/* Across a join every video frame stays on the first connection's 30 fps
 * grid (within ms rounding): on 1/30 s ticks, as ffmpeg rescales them, no
 * two frames share one. */
static void
check_frame_grid (const char *mp4)
{
  const char *args[] = { "-select_streams", "v:0", "-show_entries", "packet=dts_time",
                         "-of", "csv=p=0", NULL };
  g_autoptr (GArray) t = sc_harness_ffprobe_times (mp4, args);
  g_assert_cmpuint (t->len, >, 300);
  for (guint i = 0; i < t->len; i++) {
    double ticks = (g_array_index (t, double, i) - g_array_index (t, double, 0)) * 30;
    if (fabs (ticks - round (ticks)) > 0.07)
      g_error ("%s: frame %u at %.3f s is off the 30 fps grid", mp4, i,
               g_array_index (t, double, i));
  }
}

static void
test_reconnect (void)
{
  g_autoptr (GArray) tags = read_flv (av_flv);
  g_autofree char *asset = new_dir ("rec-asset");
  g_autofree char *live = new_dir ("rec-live");
  g_autoptr (GError) error = NULL;
  g_autoptr (ScRecorder) r = record (asset, live, tags, 6000);
  sc_recorder_new_connection (r);
  /* The second encoder's clock starts at 0 again. */
  feed (r, tags, 6000, 12000);
  g_assert_true (sc_recorder_close (r, &error));

  g_autofree char *pl = read_text (asset, "index.m3u8");
  g_autoptr (GArray) d = playlist_segments (asset, pl);
  g_assert_cmpuint (d->len, ==, 6);
  g_assert_cmpuint (count (pl, "#EXT-X-DISCONTINUITY\n"), ==, 1);
  g_assert_nonnull (strstr (pl, "seg_00002.ts\n#EXT-X-DISCONTINUITY\n#EXTINF"));
  g_autofree char *lp = read_text (live, "index.m3u8");
  g_assert_cmpuint (count (lp, "#EXT-X-DISCONTINUITY\n"), ==, 1);
  check_plays (asset, 12.0);

  ScAssetMedia m;
  g_assert_true (sc_record_finalise (asset, &m, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (m.recording_times->len, ==, 2);
  for (guint i = 0; i < 2; i++) {
    ScRecordingTime *t = &g_array_index (m.recording_times, ScRecordingTime, i);
    g_assert_cmpfloat (fabs (t->duration - 6.0), <, 0.2);
  }
  g_assert_cmpfloat (g_array_index (m.recording_times, ScRecordingTime, 1).started_at, >=,
                     g_array_index (m.recording_times, ScRecordingTime, 0).started_at);
  g_autofree char *mp4 = g_build_filename (asset, "highest.mp4", NULL);
  /* Continuous across the reconnect: keyframes still every 2 s. */
  check_mp4 (mp4, 12.0, &m);
  check_frame_grid (mp4);
  sc_asset_media_clear (&m);
}

static void
test_crash (void)
{
  g_autoptr (GArray) tags = read_flv (av_flv);
  g_autofree char *asset = new_dir ("crash-asset");
  g_autoptr (GError) error = NULL;
  ScRecorder *r = record (asset, NULL, tags, 9000);
  /* Four complete segments, the fifth in progress. */
  g_assert_cmpuint (sc_recorder_n_segments (r), ==, 4);
  sc_recorder_free (r);   /* no close: as if the daemon had been killed */

  g_autofree char *part = g_build_filename (asset, "seg_00004.ts.part", NULL);
  g_assert_true (g_file_test (part, G_FILE_TEST_EXISTS));
  g_autofree char *before = read_text (asset, "index.m3u8");
  g_assert_null (strstr (before, "#EXT-X-ENDLIST"));

  ScAssetMedia m;
  g_assert_true (sc_record_finalise (asset, &m, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (m.duration - 8.0), <, 0.5);
  g_assert_true (m.has_video && m.has_audio);
  g_autofree char *after = read_text (asset, "index.m3u8");
  g_assert_nonnull (strstr (after, "#EXT-X-ENDLIST"));
  g_assert_null (strstr (after, ".part"));
  sc_asset_media_clear (&m);
}

static void
test_resume_after_crash (void)
{
  /* The daemon dies mid-recording, comes back, the encoder reconnects within
   * the window: a new recorder on the same asset dir continues it. */
  g_autoptr (GArray) tags = read_flv (av_flv);
  g_autofree char *asset = new_dir ("resume-asset");
  g_autoptr (GError) error = NULL;
  ScRecorder *r = record (asset, NULL, tags, 9000);
  sc_recorder_free (r);

  g_autoptr (ScRecorder) r2 = record (asset, NULL, tags, 4500);
  g_assert_true (sc_recorder_close (r2, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sc_recorder_n_segments (r2), ==, 7);

  g_autofree char *pl = read_text (asset, "index.m3u8");
  g_autoptr (GArray) d = playlist_segments (asset, pl);
  g_assert_cmpuint (d->len, ==, 7);
  g_assert_cmpuint (count (pl, "#EXT-X-DISCONTINUITY\n"), ==, 1);
  g_assert_nonnull (strstr (pl, "seg_00003.ts\n#EXT-X-DISCONTINUITY\n#EXTINF"));

  ScAssetMedia m;
  g_assert_true (sc_record_finalise (asset, &m, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (m.duration - 12.5), <, 0.5);
  g_assert_cmpuint (m.recording_times->len, ==, 2);
  sc_asset_media_clear (&m);
}

static void
test_thumbnail (void)
{
  g_autoptr (GArray) tags = read_flv (av_flv);
  g_autofree char *asset = new_dir ("thumb-asset");
  g_autoptr (GError) error = NULL;
  g_autoptr (ScRecorder) r = record (asset, NULL, tags, 100000);
  g_assert_true (sc_recorder_close (r, &error));
  ScAssetMedia m;
  g_assert_true (sc_record_finalise (asset, &m, &error));
  sc_asset_media_clear (&m);
  g_autofree char *mp4 = g_build_filename (asset, "highest.mp4", NULL);

  struct { double t; int w, expect_w, expect_h; } cases[] = {
    { 3.0, 320, 320, 180 }, { 0, 0, 640, 360 }, { 11.5, 200, 200, 112 },
  };
  GBytes *first = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GBytes) jpeg = sc_record_thumbnail (mp4, cases[i].t, cases[i].w, &error);
    g_assert_no_error (error);
    gsize len;
    const guint8 *d = g_bytes_get_data (jpeg, &len);
    g_assert_cmpuint (len, >, 100);
    g_assert_cmpint (d[0], ==, 0xff);
    g_assert_cmpint (d[1], ==, 0xd8);

    g_autofree char *path = g_strdup_printf ("%s/thumb%u.jpg", asset, i);
    g_assert_true (g_file_set_contents (path, (const char *) d, len, NULL));
    g_autoptr (JsonParser) parser = NULL;
    JsonObject *root = ffprobe (path, &parser);
    JsonObject *st = json_array_get_object_element (json_object_get_array_member (root, "streams"), 0);
    g_assert_cmpstr (json_object_get_string_member (st, "codec_name"), ==, "mjpeg");
    g_assert_cmpint (json_object_get_int_member (st, "width"), ==, cases[i].expect_w);
    g_assert_cmpint (json_object_get_int_member (st, "height"), ==, cases[i].expect_h);
    if (i == 0)
      first = g_bytes_ref (jpeg);
  }
  /* Seeking works: another time gives another picture at the same size. */
  g_autoptr (GBytes) later = sc_record_thumbnail (mp4, 9.0, 320, &error);
  g_assert_nonnull (later);
  g_assert_false (g_bytes_equal (first, later));
  g_bytes_unref (first);

  /* Past the end: the last frame. */
  g_autoptr (GBytes) end = sc_record_thumbnail (mp4, 1000, 160, &error);
  g_assert_no_error (error);
  g_assert_nonnull (end);

  g_autoptr (GBytes) none = sc_record_thumbnail ("/nonexistent.mp4", 0, 100, &error);
  g_assert_null (none);
  g_assert_error (error, SC_ERROR, SC_ERROR_NOT_FOUND);
}

static void
test_audio_only (void)
{
  g_autoptr (GArray) tags = read_flv (audio_flv);
  g_autofree char *asset = new_dir ("audio-asset");
  g_autoptr (GError) error = NULL;
  g_autoptr (ScRecorder) r = record (asset, NULL, tags, 100000);
  g_assert_true (sc_recorder_close (r, &error));
  g_assert_no_error (error);
  g_autofree char *pl = read_text (asset, "index.m3u8");
  g_autoptr (GArray) d = playlist_segments (asset, pl);
  g_assert_cmpuint (d->len, ==, 4);   /* 8 s in ~2 s pieces */

  ScAssetMedia m;
  g_assert_true (sc_record_finalise (asset, &m, &error));
  g_assert_no_error (error);
  g_assert_false (m.has_video);
  g_assert_true (m.has_audio);
  g_assert_cmpstr (m.resolution_tier, ==, "audio-only");
  g_assert_null (m.aspect_ratio);
  g_assert_cmpfloat (fabs (m.duration - 8.0), <, 0.5);

  g_autofree char *mp4 = g_build_filename (asset, "highest.mp4", NULL);
  g_autoptr (GBytes) thumb = sc_record_thumbnail (mp4, 1, 100, &error);
  g_assert_null (thumb);
  g_assert_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE);
  sc_asset_media_clear (&m);
}

static void
test_garbage (void)
{
  g_autofree char *asset = new_dir ("garbage-asset");
  g_autoptr (GError) error = NULL;
  g_autoptr (ScRecorder) r = sc_recorder_new (asset, NULL, &error);
  g_assert_no_error (error);

  static const guint8 sorenson[] = { 0x12, 0x00, 0x00, 0x01 };
  g_assert_false (sc_recorder_push (r, 9, 0, sorenson, sizeof sorenson, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED_TYPE);
  g_clear_error (&error);

  static const guint8 nalu_first[] = { 0x17, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x65 };
  g_assert_false (sc_recorder_push (r, 9, 0, nalu_first, sizeof nalu_first, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_clear_error (&error);

  static const guint8 bad_avcc[] = { 0x17, 0x00, 0, 0, 0, 0x01, 0x42, 0xff, 0xff, 0xff, 0xff, 0xff };
  g_assert_false (sc_recorder_push (r, 9, 0, bad_avcc, sizeof bad_avcc, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  static const guint8 mp3[] = { 0x2f, 0xff, 0xfb, 0x90 };
  g_assert_false (sc_recorder_push (r, 8, 0, mp3, sizeof mp3, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED_TYPE);
  g_clear_error (&error);

  static const guint8 bad_asc[] = { 0xaf, 0x00, 0xff };
  g_assert_false (sc_recorder_push (r, 8, 0, bad_asc, sizeof bad_asc, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_false (sc_recorder_push (r, 18, 0, mp3, sizeof mp3, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (sc_recorder_push (r, 9, 0, NULL, 0, &error));
  g_clear_error (&error);

  g_assert_true (sc_recorder_close (r, &error));
  g_assert_no_error (error);
  ScAssetMedia m;
  g_assert_false (sc_record_finalise (asset, &m, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE);
  g_assert_nonnull (strstr (error->message, "no media"));
  g_clear_error (&error);

  /* Segments that are not media at all. */
  g_autofree char *junk_dir = new_dir ("junk-asset");
  g_assert_cmpint (g_mkdir_with_parents (junk_dir, 0755), ==, 0);
  g_autofree char *seg = g_build_filename (junk_dir, "seg_00000.ts", NULL);
  g_autofree char *noise = g_malloc (4096);
  for (guint i = 0; i < 4096; i++)
    noise[i] = g_random_int ();
  g_assert_true (g_file_set_contents (seg, noise, 4096, NULL));
  g_autofree char *json = g_build_filename (junk_dir, "recording.json", NULL);
  g_assert_true (g_file_set_contents (json,
      "{\"connections\":[1.0],\"segments\":[{\"uri\":\"seg_00000.ts\",\"duration\":2.0,"
      "\"connection\":0},{\"uri\":\"../../etc/passwd\",\"duration\":2.0}]}", -1, NULL));
  g_assert_false (sc_record_finalise (junk_dir, &m, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE);
  g_clear_error (&error);

  /* No dir at all. */
  g_autofree char *nothing = new_dir ("never-recorded");
  g_assert_false (sc_record_finalise (nothing, &m, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE);
}

static void
test_video_only (void)
{
  /* Only a video header ever comes: the recorder stops waiting for audio. */
  g_autoptr (GArray) tags = read_flv (video_flv);
  g_autofree char *asset = new_dir ("video-asset");
  g_autoptr (GError) error = NULL;
  g_autoptr (ScRecorder) r = record (asset, NULL, tags, 100000);
  g_assert_true (sc_recorder_close (r, &error));
  g_assert_cmpuint (sc_recorder_n_segments (r), ==, 3);

  ScAssetMedia m;
  g_assert_true (sc_record_finalise (asset, &m, &error));
  g_assert_no_error (error);
  g_assert_true (m.has_video);
  g_assert_false (m.has_audio);
  g_assert_cmpint (m.max_width, ==, 320);
  g_assert_cmpstr (m.aspect_ratio, ==, "4:3");
  g_assert_cmpfloat (fabs (m.max_frame_rate - 10), <, 0.01);
  g_assert_cmpfloat (fabs (m.duration - 6.0), <, 0.5);
  sc_asset_media_clear (&m);
}

static void
test_clock_jump (void)
{
  /* Same connection, but the encoder's clock goes back to zero at 6 s. */
  g_autoptr (GArray) tags = read_flv (av_flv);
  g_autofree char *asset = new_dir ("jump-asset");
  g_autoptr (GError) error = NULL;
  g_autoptr (ScRecorder) r = record (asset, NULL, tags, 6000);
  feed (r, tags, 6000, 12000);
  g_assert_true (sc_recorder_close (r, &error));

  g_autofree char *pl = read_text (asset, "index.m3u8");
  g_assert_cmpuint (count (pl, "#EXT-X-DISCONTINUITY\n"), ==, 1);
  ScAssetMedia m;
  g_assert_true (sc_record_finalise (asset, &m, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (m.recording_times->len, ==, 1);
  g_autofree char *mp4 = g_build_filename (asset, "highest.mp4", NULL);
  check_mp4 (mp4, 12.0, &m);
  sc_asset_media_clear (&m);
}

static void
test_parameter_change (void)
{
  /* The encoder switches to 320x240 at 5 s without reconnecting. */
  g_autoptr (GArray) av = read_flv (av_flv);
  g_autoptr (GArray) v = read_flv (video_flv);
  g_autofree char *asset = new_dir ("change-asset");
  g_autoptr (GError) error = NULL;
  g_autoptr (ScRecorder) r = record (asset, NULL, av, 5000);
  feed_at (r, v, 0, 100000, 5000);
  g_assert_true (sc_recorder_close (r, &error));

  g_autofree char *pl = read_text (asset, "index.m3u8");
  g_autoptr (GArray) d = playlist_segments (asset, pl);
  /* 0-2, 2-4, then 4-5 cut early by the new parameters, then 3 x 2 s. */
  g_assert_cmpuint (d->len, ==, 6);
  g_assert_cmpfloat (fabs (g_array_index (d, double, 2) - 1.0), <, 0.1);
  g_assert_cmpuint (count (pl, "#EXT-X-DISCONTINUITY\n"), ==, 1);
  g_assert_nonnull (strstr (pl, "seg_00002.ts\n#EXT-X-DISCONTINUITY\n#EXTINF"));
  g_autofree char *seg = g_build_filename (asset, "seg_00003.ts", NULL);
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *root = ffprobe (seg, &parser);
  JsonObject *st = json_array_get_object_element (json_object_get_array_member (root, "streams"), 0);
  g_assert_cmpint (json_object_get_int_member (st, "width"), ==, 320);

  ScAssetMedia m;
  g_assert_true (sc_record_finalise (asset, &m, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (m.duration - 11.0), <, 0.5);
  sc_asset_media_clear (&m);
}

static void
make_media (void)
{
  media_dir = g_dir_make_tmp ("sc-record-XXXXXX", NULL);
  g_assert_nonnull (media_dir);
  av_flv = g_build_filename (media_dir, "av.flv", NULL);
  audio_flv = g_build_filename (media_dir, "a.flv", NULL);
  const char *av[] = { "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                       "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
                       "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                       "-t", "14", "-c:v", "libx264", "-preset", "veryfast",
                       "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
                       "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-b:a", "96k",
                       "-f", "flv", av_flv, NULL };
  g_free (run (av));
  const char *a[] = { "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                      "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                      "-t", "8", "-c:a", "aac", "-ac", "2", "-f", "flv", audio_flv, NULL };
  g_free (run (a));
  video_flv = g_build_filename (media_dir, "v.flv", NULL);
  const char *v[] = { "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                      "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10",
                      "-t", "6", "-c:v", "libx264", "-preset", "veryfast",
                      "-g", "20", "-keyint_min", "20", "-sc_threshold", "0",
                      "-pix_fmt", "yuv420p", "-f", "flv", video_flv, NULL };
  g_free (run (v));
}

static void
remove_tree (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name (d))) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
    g_dir_close (d);
  }
  g_remove (path);
}

static void
skip_no_ffmpeg (void)
{
  g_test_skip ("ffmpeg/ffprobe CLI not installed");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  sc_record_setup_logging ();
  g_autofree char *ffmpeg = g_find_program_in_path ("ffmpeg");
  g_autofree char *ffprobe_bin = g_find_program_in_path ("ffprobe");
  if (ffmpeg == NULL || ffprobe_bin == NULL) {
    g_test_add_func ("/record/no-ffmpeg", skip_no_ffmpeg);
    return g_test_run ();
  }
  make_media ();
  g_test_add_func ("/record/segments-playlists", test_segments_and_playlists);
  g_test_add_func ("/record/finalise", test_finalise);
  g_test_add_func ("/record/reconnect", test_reconnect);
  g_test_add_func ("/record/crash", test_crash);
  g_test_add_func ("/record/resume-after-crash", test_resume_after_crash);
  g_test_add_func ("/record/thumbnail", test_thumbnail);
  g_test_add_func ("/record/audio-only", test_audio_only);
  g_test_add_func ("/record/garbage", test_garbage);
  g_test_add_func ("/record/video-only", test_video_only);
  g_test_add_func ("/record/clock-jump", test_clock_jump);
  g_test_add_func ("/record/parameter-change", test_parameter_change);
  int ret = g_test_run ();
  if (!g_getenv ("SC_KEEP")) remove_tree (media_dir);
  return ret;
}
