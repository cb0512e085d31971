/* The broadcast's mix end to end: synthetic participants (solid colours,
 * distinct tones) pushed in as samples, output published over real RTMP to
 * `ffmpeg -listen 1` on 127.0.0.1, then the recorded FLV decoded and
 * checked: tile colours before/after a layout switch and after a participant
 * leaves, AAC audio present and not silent, 2 s keyframes, continuous
 * timestamps; a participant that lags or fails; background image;
 * placeholder, label and transition.  The output's failures are
 * test-broadcast-output.c.  CPU figures: tests/bench/broadcast-cpu.py. */
#include "bcast-helpers.h"

#include <gst/app/gstappsink.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* ---- layout switch, removal, audio, keyframes, timestamps ----------------- */

static void
test_layout_switch (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-bcast-XXXXXX", &error);
  guint16 port = sc_harness_free_port ();
  RtmpServer *srv = server_start (dir, "out.flv", port);

  ScBcastConfig cfg = { .width = OUT_W, .height = OUT_H, .fps = 30, .rtmp_url = srv->url,
                        .background_argb = BG_ARGB };
  ScBcastPipeline *b = sc_bcast_pipeline_new (&cfg, &error);
  g_assert_no_error (error);
  StateLog log = { g_ptr_array_new_with_free_func (g_free) };
  sc_bcast_pipeline_set_state_func (b, on_state, &log);
  g_assert_true (sc_bcast_pipeline_start (b, &error));
  g_assert_no_error (error);

  Participant *red = participant_start (b, "red", RED_ARGB, 440);
  Participant *blue = participant_start (b, "blue", BLUE_ARGB, 880);
  ScTile tiles[2];
  make_tile (&tiles[0], "red", 0, 0, OUT_W / 2, OUT_H);
  make_tile (&tiles[1], "blue", OUT_W / 2, 0, OUT_W / 2, OUT_H);
  sc_bcast_pipeline_set_tiles (b, tiles, 2, 0);
  spin (4000);

  /* The switch is measured on the recording's timeline, which starts once
   * the RTMP session has sent its first keyframe (slower under ASan). */
  ScBcastHealth h;
  sc_bcast_pipeline_get_health (b, &h);
  for (int i = 0; i < 100 && !GST_CLOCK_TIME_IS_VALID (h.session_start); i++) {
    spin (100);
    sc_bcast_pipeline_get_health (b, &h);
  }
  make_tile (&tiles[0], "blue", 0, 0, OUT_W / 2, OUT_H);
  make_tile (&tiles[1], "red", OUT_W / 2, 0, OUT_W / 2, OUT_H);
  sc_bcast_pipeline_set_tiles (b, tiles, 2, 0);
  /* On the recording's timeline, whose zero is the session's first keyframe. */
  g_assert_true (GST_CLOCK_TIME_IS_VALID (h.session_start));
  double switch1 = stream_time (&h);
  spin (1500);
  /* The frame the pipeline says carried the new layout: the next one, or
   * the one after if a frame was being composited while we called. */
  ScBcastHealth h_switch;
  sc_bcast_pipeline_get_health (b, &h_switch);
  g_assert_true (GST_CLOCK_TIME_IS_VALID (h_switch.layout_at));
  double layout_at = (h_switch.layout_at - h.session_start) / (double) GST_SECOND;
  g_assert_cmpfloat (layout_at, >, switch1);
  g_assert_cmpfloat (layout_at, <, switch1 + 2.5 / 30);
  /* red's video stalls for 1.5 s: the mix goes on with its last frame, and
   * when it resumes its timestamps are re-anchored to our clock */
  gst_element_set_state (red->video, GST_STATE_PAUSED);
  spin (1500);
  gst_element_set_state (red->video, GST_STATE_PLAYING);
  spin (1000);

  /* blue leaves without a new layout: its tile falls back to background */
  sc_bcast_pipeline_get_health (b, &h);
  double switch2 = stream_time (&h);
  participant_stop (blue);
  sc_bcast_pipeline_remove_input (b, "blue");
  spin (3000);

  sc_bcast_pipeline_get_health (b, &h);
  g_test_message ("health: state=%s enc=%s/%s fps=%.1f bitrate=%" G_GUINT64_FORMAT
                  " frames=%" G_GUINT64_FORMAT " dropped=%" G_GUINT64_FORMAT " reconnects=%u",
                  sc_bcast_state_to_string (h.state), h.video_encoder, h.audio_encoder,
                  h.output_fps, h.bitrate_bps, h.frames_out, h.frames_dropped, h.reconnects);
  g_assert_cmpint (h.state, ==, SC_BCAST_RUNNING);
  g_assert_cmpstr (h.video_encoder, ==, "x264enc");
  g_assert_cmpuint (h.frames_out, >, 200);
  g_assert_cmpuint (h.bitrate_bps, >, 0);
  sc_bcast_pipeline_stop (b);
  participant_stop (red);
  server_wait (srv);
  sc_bcast_pipeline_get_health (b, &h);
  g_assert_cmpint (h.state, ==, SC_BCAST_STOPPED);
  spin (100);
  g_assert_cmpuint (log.states->len, >=, 1);
  g_assert_cmpstr (g_ptr_array_index (log.states, 0), ==, "running");

  /* Streams */
  const char *sargs[] = { "-show_entries",
                          "stream=codec_type,codec_name,profile,width,height,sample_rate,channels",
                          "-of", "compact=p=0", NULL };
  g_autofree char *streams = sc_harness_ffprobe (srv->path, sargs);
  g_test_message ("streams: %s", streams);
  g_assert_nonnull (strstr (streams, "codec_name=h264|profile=Main|codec_type=video|width=640|height=360"));
  g_assert_nonnull (strstr (streams, "codec_name=aac|profile=LC|codec_type=audio|sample_rate=48000|channels=2"));
  double vol = mean_volume (srv->path, 0);
  g_test_message ("audio mean volume %.1f dB", vol);
  g_assert_cmpfloat (vol, >, -40.0);

  /* Keyframes every 2 s, timestamps continuous (no gap > 1 frame, no reset) */
  g_autoptr (GArray) frames = probe_frames (srv->path);
  g_assert_cmpuint (frames->len, >, 250);
  assert_av_in_step (srv->path, frames);
  double last_key = -1;
  guint n_keys = 0;
  for (guint i = 0; i < frames->len; i++) {
    Frame *f = &g_array_index (frames, Frame, i);
    if (i > 0) {
      double d = f->pts - g_array_index (frames, Frame, i - 1).pts;
      if (d <= 0 || d > 1.5 / 30)
        g_error ("timestamp gap %.3f s at frame %u (pts %.3f)", d, i, f->pts);
    }
    if (f->key) {
      g_test_message ("keyframe at %.3f", f->pts);
      if (last_key >= 0)
        g_assert_cmpfloat (fabs (f->pts - last_key - 2.0), <, 0.01);
      last_key = f->pts;
      n_keys++;
    }
  }
  g_assert_cmpuint (n_keys, >=, 5);

  /* Pixels: left tile centre (16,18), right tile centre (48,18) of 64x36 */
  g_autoptr (GBytes) raw = decode_small (srv->path);
  gsize size;
  const guint8 *px = g_bytes_get_data (raw, &size);
  const gsize fsz = 64 * 36 * 3;
  g_assert_cmpuint (size / fsz, ==, frames->len);
  double first_pts = g_array_index (frames, Frame, 0).pts;
  g_test_message ("first output pts %.3f, switch at %.3f, removal at %.3f",
                  first_pts, switch1, switch2);
  int switch_frames = -1;
  double switch_pts = -1;
  guint checked[3] = { 0, 0, 0 };
  for (guint i = 0; i < frames->len; i++) {
    double t = g_array_index (frames, Frame, i).pts;
    Colour l = classify (px + i * fsz + (18 * 64 + 16) * 3);
    Colour r = classify (px + i * fsz + (18 * 64 + 48) * 3);
    if (t > switch1 - 1.5 && t < switch1 - 0.1) {
      if (l != C_RED || r != C_BLUE)
        g_error ("frame at %.3f: expected red|blue before the switch, got %d|%d", t, l, r);
      checked[0]++;
    } else if (t > switch1 && t < switch2) {
      if (switch_frames < 0 && l == C_BLUE && r == C_RED) {
        switch_frames = (int) lround ((t - switch1) * 30);
        switch_pts = t;
      }
      /* the switch is atomic: never one tile swapped and the other not */
      g_assert_false (l == r);
      if (t > switch1 + 0.2) {
        if (l != C_BLUE || r != C_RED)
          g_error ("frame at %.3f: expected blue|red after the switch, got %d|%d", t, l, r);
        checked[1]++;
      }
    } else if (t > switch2 + 1.0) {
      if (l != C_BG || r != C_RED)
        g_error ("frame at %.3f: expected background|red after removal, got %d|%d", t, l, r);
      checked[2]++;
    }
  }
  g_test_message ("set_tiles -> new layout: %d output frames (at %.3f, pipeline says %.3f)",
                  switch_frames, switch_pts, layout_at);
  g_assert_cmpuint (checked[0], >, 20);
  g_assert_cmpuint (checked[1], >, 60);
  g_assert_cmpuint (checked[2], >, 30);
  /* What the viewer sees switches on exactly the frame the pipeline names. */
  g_assert_cmpfloat (fabs (switch_pts - layout_at), <, 0.5 / 30);

  sc_bcast_pipeline_free (b);
  g_ptr_array_unref (log.states);
  g_unlink (srv->path);
  server_free (srv);
  g_rmdir (dir);
}


/* ---- background image, nobody in the space --------------------------------- */

typedef struct {
  char *id;
  char *reason;
} Failure;

static void
on_input_failed (ScBcastPipeline *p, const char *id, const char *reason, gpointer data)
{
  Failure *f = data;
  g_free (f->id);
  g_free (f->reason);
  f->id = g_strdup (id);
  f->reason = g_strdup (reason);
}

/* A participant pushing media its branch cannot take (Bayer): its branch
 * fails, the owner is told which participant, the mix goes on with red. */
static void
test_input_failed (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-bcast-XXXXXX", &error);
  RtmpServer *srv = server_start (dir, "out.flv", sc_harness_free_port ());
  ScBcastConfig cfg = { .width = OUT_W, .height = OUT_H, .fps = 30, .rtmp_url = srv->url,
                        .background_argb = BG_ARGB };
  ScBcastPipeline *b = sc_bcast_pipeline_new (&cfg, &error);
  g_assert_no_error (error);
  Failure failure = { 0 };
  sc_bcast_pipeline_set_input_failed_func (b, on_input_failed, &failure);
  g_assert_true (sc_bcast_pipeline_start (b, &error));
  Participant *red = participant_start (b, "red", RED_ARGB, 440);
  sc_bcast_pipeline_add_input (b, "bad");
  ScTile tiles[2];
  make_tile (&tiles[0], "red", 0, 0, OUT_W / 2, OUT_H);
  make_tile (&tiles[1], "bad", OUT_W / 2, 0, OUT_W / 2, OUT_H);
  sc_bcast_pipeline_set_tiles (b, tiles, 2, 0);
  spin (1000);

  g_autoptr (GstCaps) caps = gst_caps_from_string (
      "video/x-bayer,format=bggr,width=64,height=36,framerate=30/1");
  for (int i = 0; i < 10 && !failure.id; i++) {
    g_autoptr (GstBuffer) buf = gst_buffer_new_allocate (NULL, 64 * 36, NULL);
    gst_buffer_memset (buf, 0, 0x80, 64 * 36);
    GST_BUFFER_PTS (buf) = i * GST_SECOND / 30;
    g_autoptr (GstSample) s = gst_sample_new (buf, caps, NULL, NULL);
    sc_bcast_pipeline_push_video (b, "bad", s);
    spin (100);
  }
  for (int i = 0; i < 50 && !failure.id; i++)
    spin (100);
  g_test_message ("input failed: %s: %s", failure.id, failure.reason);
  g_assert_cmpstr (failure.id, ==, "bad");
  ScBcastHealth h1, h2;
  sc_bcast_pipeline_get_health (b, &h1);
  spin (1500);
  sc_bcast_pipeline_get_health (b, &h2);
  g_assert_cmpint (h2.state, ==, SC_BCAST_RUNNING);
  g_assert_cmpuint (h2.frames_out, >, h1.frames_out + 30);
  /* Pushing to the failed participant is harmless. */
  g_autoptr (GstBuffer) more = gst_buffer_new_allocate (NULL, 64 * 36, NULL);
  g_autoptr (GstSample) ms = gst_sample_new (more, caps, NULL, NULL);
  GST_BUFFER_PTS (more) = GST_SECOND;
  sc_bcast_pipeline_push_video (b, "bad", ms);

  sc_bcast_pipeline_stop (b);
  participant_stop (red);
  server_wait (srv);
  g_autoptr (GArray) frames = probe_frames (srv->path);
  g_assert_cmpuint (frames->len, >, 60);
  sc_bcast_pipeline_free (b);
  g_free (failure.id);
  g_free (failure.reason);
  g_unlink (srv->path);
  server_free (srv);
  g_rmdir (dir);
}

/* A participant whose clock falls behind ours for good (a stall their
 * pipeline never made up for) is heard and seen again within a second or
 * two, not dropped by the mixers as late forever. */
static void
test_lagging_participant (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-bcast-XXXXXX", &error);
  RtmpServer *srv = server_start (dir, "out.flv", sc_harness_free_port ());
  ScBcastConfig cfg = { .width = OUT_W, .height = OUT_H, .fps = 30, .rtmp_url = srv->url,
                        .background_argb = BG_ARGB };
  ScBcastPipeline *b = sc_bcast_pipeline_new (&cfg, &error);
  g_assert_no_error (error);
  g_assert_true (sc_bcast_pipeline_start (b, &error));
  Participant *red = participant_start (b, "red", RED_ARGB, 440);
  ScTile tile;
  make_tile (&tile, "red", 0, 0, OUT_W, OUT_H);
  sc_bcast_pipeline_set_tiles (b, &tile, 1, 0);
  spin (3000);
  ScBcastHealth h;
  sc_bcast_pipeline_get_health (b, &h);
  double lag_at = stream_time (&h);
  g_atomic_int_set (&red->lag_ms, 400);
  spin (4000);
  sc_bcast_pipeline_stop (b);
  participant_stop (red);
  server_wait (srv);
  double before = mean_volume (srv->path, 1.0), after = mean_volume (srv->path, lag_at + 2.5);
  g_test_message ("red's tone: %.1f dB before the lag, %.1f dB from 2.5 s after it", before, after);
  g_assert_cmpfloat (before, >, -30);
  g_assert_cmpfloat (after, >, -30);
  g_autoptr (GArray) frames = probe_frames (srv->path);
  g_autoptr (GBytes) raw = decode_small (srv->path);
  const guint8 *px = g_bytes_get_data (raw, NULL);
  g_assert_cmpint (classify (px + (frames->len - 10) * 64 * 36 * 3 + (18 * 64 + 32) * 3), ==, C_RED);
  sc_bcast_pipeline_free (b);
  g_unlink (srv->path);
  server_free (srv);
  g_rmdir (dir);
}

static void
test_background_image (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-bcast-XXXXXX", &error);
  g_autofree char *png = g_build_filename (dir, "bg.png", NULL);
  const char *mk[] = { "ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                       "color=c=magenta:s=320x180", "-frames:v", "1", png, NULL };
  g_free (run_out (mk));
  guint16 port = sc_harness_free_port ();
  RtmpServer *srv = server_start (dir, "out.flv", port);
  ScBcastConfig cfg = { .width = OUT_W, .height = OUT_H, .fps = 30, .rtmp_url = srv->url,
                        .background_argb = BG_ARGB, .background_image = png };
  ScBcastPipeline *b = sc_bcast_pipeline_new (&cfg, &error);
  g_assert_no_error (error);
  g_assert_true (sc_bcast_pipeline_start (b, &error));
  sc_bcast_pipeline_set_tiles (b, NULL, 0, 0);
  spin (3000);
  sc_bcast_pipeline_stop (b);
  server_wait (srv);

  g_autoptr (GArray) frames = probe_frames (srv->path);
  g_assert_cmpuint (frames->len, >, 45);
  assert_av_in_step (srv->path, frames);
  g_autoptr (GBytes) raw = decode_small (srv->path);
  const guint8 *px = g_bytes_get_data (raw, NULL);
  /* the image, scaled to the whole frame, over the colour */
  const guint8 *c = px + (frames->len - 10) * 64 * 36 * 3 + (18 * 64 + 32) * 3;
  g_test_message ("background pixel %u,%u,%u", c[0], c[1], c[2]);
  g_assert_true (c[0] > 180 && c[1] < 80 && c[2] > 180);
  const guint8 *k = px + (frames->len - 10) * 64 * 36 * 3 + (1 * 64 + 1) * 3;
  g_assert_true (k[0] > 180 && k[1] < 80 && k[2] > 180);

  sc_bcast_pipeline_free (b);
  g_unlink (srv->path);
  g_unlink (png);
  server_free (srv);
  g_rmdir (dir);
}

/* ---- contain, placeholder, label, animated transition ---------------------- */

static guint
count_white (const char *path, double at, int x, int y, int w, int h)
{
  g_autofree char *ss = g_strdup_printf ("%.3f", at);
  g_autofree char *vf = g_strdup_printf ("crop=%d:%d:%d:%d,format=rgb24", w, h, x, y);
  const char *argv[] = { "ffmpeg", "-nostdin", "-v", "error", "-ss", ss, "-i", path,
                         "-frames:v", "1", "-vf", vf, "-f", "rawvideo", "-", NULL };
  g_autoptr (GBytes) out = sc_harness_run_raw (argv);
  gsize n;
  const guint8 *px = g_bytes_get_data (out, &n);
  g_assert_cmpuint (n, ==, (gsize) w * h * 3);
  guint white = 0;
  for (gsize i = 0; i < n; i += 3)
    white += px[i] > 180 && px[i + 1] > 180 && px[i + 2] > 180;
  return white;
}

static void
test_placeholder_transition (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-bcast-XXXXXX", &error);
  guint16 port = sc_harness_free_port ();
  RtmpServer *srv = server_start (dir, "out.flv", port);
  ScBcastConfig cfg = { .width = OUT_W, .height = OUT_H, .fps = 30, .rtmp_url = srv->url,
                        .background_argb = BG_ARGB, .placeholder_argb = 0xffffff00 };
  ScBcastPipeline *b = sc_bcast_pipeline_new (&cfg, &error);
  g_assert_no_error (error);
  g_assert_true (sc_bcast_pipeline_start (b, &error));
  Participant *red = participant_start (b, "red", RED_ARGB, 440);

  /* red: left half, fit=contain (letterboxed 320x180), labelled;
   * "ghost" has no video: a placeholder on the right half. */
  ScTile tiles[2];
  make_tile (&tiles[0], "red", 0, 0, OUT_W / 2, OUT_H);
  tiles[0].fit = SC_FIT_CONTAIN;
  tiles[0].label = (char *) "Red";
  make_tile (&tiles[1], "ghost", OUT_W / 2, 0, OUT_W / 2, OUT_H);
  tiles[1].placeholder = TRUE;
  sc_bcast_pipeline_set_tiles (b, tiles, 2, 0);
  spin (3000);

  /* red moves to the right half (cover, no label) over 1 s; ghost goes. */
  ScBcastHealth h;
  sc_bcast_pipeline_get_health (b, &h);
  double move = stream_time (&h);
  make_tile (&tiles[0], "red", OUT_W / 2, 0, OUT_W / 2, OUT_H);
  sc_bcast_pipeline_set_tiles (b, tiles, 1, 1000);
  spin (3500);
  sc_bcast_pipeline_stop (b);
  participant_stop (red);
  server_wait (srv);

  g_autoptr (GArray) frames = probe_frames (srv->path);
  assert_av_in_step (srv->path, frames);
  g_autoptr (GBytes) raw = decode_small (srv->path);
  const guint8 *px = g_bytes_get_data (raw, NULL);
  const gsize fsz = 64 * 36 * 3;
  guint before = 0, after = 0, between = 0;
  int prev_centre = -1;
  for (guint i = 0; i < frames->len; i++) {
    double t = g_array_index (frames, Frame, i).pts;
    const guint8 *f = px + i * fsz;
#define AT(x, y) classify (f + ((y) * 64 + (x)) * 3)
    if (t > move - 1.5 && t < move - 0.1) {
      g_assert_cmpint (AT (16, 18), ==, C_RED);     /* contain: picture centre */
      g_assert_cmpint (AT (16, 3), ==, C_BG);       /* letterbox bar */
      const guint8 *ph = f + (3 * 64 + 48) * 3;     /* placeholder, off its label */
      g_assert_true (ph[0] > 180 && ph[1] > 180 && ph[2] < 80);
      before++;
    } else if (t > move && t < move + 1.2) {
      /* the red tile slides right: its left edge only ever moves right */
      int edge = -1;
      for (int x = 0; x < 64 && edge < 0; x++)
        if (AT (x, 18) == C_RED)
          edge = x;
      g_assert_cmpint (edge, >=, 0);
      g_assert_cmpint (edge, >=, prev_centre);
      prev_centre = edge;
      between += edge > 2 && edge < 30;
    } else if (t > move + 1.3) {
      g_assert_cmpint (AT (16, 18), ==, C_BG);
      g_assert_cmpint (AT (48, 18), ==, C_RED);
      g_assert_cmpint (AT (48, 3), ==, C_RED);      /* cover: no bars */
      after++;
    }
#undef AT
  }
  g_test_message ("frames before/during/after the move: %u/%u/%u", before, between, after);
  g_assert_cmpuint (before, >, 20);
  g_assert_cmpuint (between, >, 10);    /* really animated, not a jump */
  g_assert_cmpuint (after, >, 30);

  /* The label is drawn at the bottom-left of the red picture (y 90..270),
   * and gone once the tile has no label. */
  guint with_label = count_white (srv->path, move - 1.0, 0, 230, 160, 40);
  guint without = count_white (srv->path, move + 2.0, 320, 310, 160, 40);
  g_test_message ("label pixels: %u with, %u without", with_label, without);
  g_assert_cmpuint (with_label, >, 20);
  g_assert_cmpuint (without, <, 5);

  sc_bcast_pipeline_free (b);
  if (!g_getenv ("SC_TEST_KEEP")) {
    g_unlink (srv->path);
    g_rmdir (dir);
  }
  server_free (srv);
}

int
main (int argc, char **argv)
{
  bcast_test_init (&argc, &argv);
  g_test_add_func ("/broadcast-pipeline/layout-switch", test_layout_switch);
  g_test_add_func ("/broadcast-pipeline/placeholder-transition", test_placeholder_transition);
  g_test_add_func ("/broadcast-pipeline/background-image", test_background_image);
  g_test_add_func ("/broadcast-pipeline/lagging-participant", test_lagging_participant);
  g_test_add_func ("/broadcast-pipeline/input-failed", test_input_failed);
  return g_test_run ();
}
