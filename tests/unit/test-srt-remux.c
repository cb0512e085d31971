/* The SRT reader's media path on files: MPEG-TS from ffmpeg comes out as
 * the FLV tag bodies an RTMP encoder sends (sequence headers first, AVCC
 * video with keyframes, raw AAC), and what is not MPEG-TS is refused. */
#include "harness.h"
#include "spacecast/srt.h"

#include <libavutil/error.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  guint video, frames, audio, keyframes;
  gboolean video_header_first, audio_header_first;
  guint64 last_video_ts;
  FILE *f;                      /* the input, or */
  int garbage_left;             /* bytes of 0x55 still to read */
} Tags;

static int
read_file (gpointer user_data, guint8 *buf, int size)
{
  size_t n = fread (buf, 1, (size_t) size, ((Tags *) user_data)->f);
  return n > 0 ? (int) n : AVERROR_EOF;
}

static void
on_tag (int type, guint64 ts, const guint8 *d, gsize len, gpointer user_data)
{
  Tags *t = user_data;
  g_assert_cmpuint (len, >=, 2);
  if (type == 9) {
    g_assert_cmpint (d[0] & 0x0f, ==, 7);            /* AVC */
    if (t->video == 0)
      t->video_header_first = d[1] == 0 && len > 5 + 7 && d[5] == 1;
    t->frames += d[1] == 1;
    t->keyframes += d[1] == 1 && (d[0] >> 4) == 1;
    t->last_video_ts = ts;
    t->video++;
  } else {
    g_assert_cmpint (type, ==, 8);
    g_assert_cmpint (d[0] >> 4, ==, 10);             /* AAC */
    if (t->audio == 0)
      t->audio_header_first = d[1] == 0 && len >= 4;
    t->audio++;
  }
}

static void
test_h264_aac (void)
{
  g_autofree char *dir = g_dir_make_tmp ("srt-remux-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "in.ts", NULL);
  const char *argv[] = {
    "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2",
    "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p",
    "-c:a", "aac", "-f", "mpegts", path, NULL };
  g_assert_cmpint (sc_harness_run (NULL, argv), ==, 0);

  Tags t = { 0 };
  g_autoptr (GError) error = NULL;
  t.f = fopen (path, "rb");
  g_assert_nonnull (t.f);
  gboolean ok = sc_srt_remux (read_file, on_tag, &t, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  fclose (t.f);
  g_assert_true (t.video_header_first);
  g_assert_true (t.audio_header_first);
  g_assert_cmpuint (t.frames, ==, 60);
  g_assert_cmpuint (t.keyframes, ==, 2);
  g_assert_cmpuint (t.audio, >, 90);                 /* 2 s of 1024-sample frames */
  g_assert_cmpuint (t.last_video_ts, >, 1900);
  g_unlink (path);
  g_rmdir (dir);
}

static int
read_garbage (gpointer user_data, guint8 *buf, int size)
{
  int *left = &((Tags *) user_data)->garbage_left;
  if (*left <= 0)
    return AVERROR_EOF;
  int n = MIN (size, *left);
  memset (buf, 0x55, (size_t) n);
  *left -= n;
  return n;
}

static void
test_not_ts (void)
{
  Tags t = { .garbage_left = 64 * 1024 };
  g_autoptr (GError) error = NULL;
  g_assert_false (sc_srt_remux (read_garbage, on_tag, &t, &error));
  g_assert_nonnull (error);
  g_assert_cmpuint (t.video + t.audio, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/srt-remux/h264-aac", test_h264_aac);
  g_test_add_func ("/srt-remux/not-ts", test_not_ts);
  return g_test_run ();
}
