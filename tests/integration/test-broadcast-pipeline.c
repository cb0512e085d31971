/* The broadcast media pipeline end to end: synthetic participants (solid
 * colours, distinct tones) pushed in as samples, output published over real
 * RTMP to `ffmpeg -listen 1` on 127.0.0.1, then the recorded FLV decoded and
 * checked: tile colours before/after a layout switch and after a participant
 * leaves, AAC audio present and not silent, 2 s keyframes, continuous
 * timestamps, a participant stalling.  Also: background image, reconnect
 * after the server goes away, key refusal (a minimal refusing server), refusal
 * classification.  CPU figures: tests/bench/broadcast-cpu.py. */
#include "spacecast/bcast-pipeline.h"
#include "spacecast/rtmp.h"
#include "harness.h"

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <glib/gstdio.h>
#include <string.h>
#include <stdlib.h>
#include <math.h>

#define OUT_W 640
#define OUT_H 360
#define BG_ARGB 0xff00c000u      /* green */
#define RED_ARGB 0xffff0000u
#define BLUE_ARGB 0xff0000ffu

/* ---- helpers ---------------------------------------------------------------- */

typedef struct {
  ScBcastPipeline *bcast;
  char *id;
  GstElement *video, *audio;
  gint lag_ms;          /* their clock falls behind by this much (atomic) */
} Participant;

/* @s as a participant whose timestamps lag by @pt's lag_ms: a stall that
 * their pipeline never made up for. */
static GstSample *
lagged (Participant *pt, GstSample *s)
{
  gint lag = g_atomic_int_get (&pt->lag_ms);
  GstBuffer *b = gst_sample_get_buffer (s);
  if (lag == 0 || GST_BUFFER_PTS (b) < (GstClockTime) lag * GST_MSECOND)
    return gst_sample_ref (s);
  g_autoptr (GstBuffer) copy = gst_buffer_copy (b);
  GST_BUFFER_PTS (copy) -= (GstClockTime) lag * GST_MSECOND;
  GstSample *out = gst_sample_copy (s);
  gst_sample_set_buffer (out, copy);
  return out;
}

static GstFlowReturn
on_part_video (GstAppSink *sink, gpointer data)
{
  Participant *pt = data;
  g_autoptr (GstSample) s = gst_app_sink_pull_sample (sink);
  if (s) {
    g_autoptr (GstSample) l = lagged (pt, s);
    sc_bcast_pipeline_push_video (pt->bcast, pt->id, l);
  }
  return GST_FLOW_OK;
}

static GstFlowReturn
on_part_audio (GstAppSink *sink, gpointer data)
{
  Participant *pt = data;
  g_autoptr (GstSample) s = gst_app_sink_pull_sample (sink);
  if (s) {
    g_autoptr (GstSample) l = lagged (pt, s);
    sc_bcast_pipeline_push_audio (pt->bcast, pt->id, l);
  }
  return GST_FLOW_OK;
}

static Participant *
participant_start (ScBcastPipeline *bcast, const char *id, guint32 argb, int freq)
{
  Participant *pt = g_new0 (Participant, 1);
  pt->bcast = bcast;
  pt->id = g_strdup (id);
  g_autofree char *vd = g_strdup_printf (
      "videotestsrc pattern=solid-color foreground-color=%u is-live=true"
      " ! video/x-raw,format=I420,width=640,height=360,framerate=30/1"
      " ! appsink name=sink sync=false", argb);
  g_autofree char *ad = g_strdup_printf (
      "audiotestsrc freq=%d is-live=true"
      " ! audio/x-raw,format=S16LE,rate=48000,channels=2 ! appsink name=sink sync=false", freq);
  g_autoptr (GError) error = NULL;
  pt->video = gst_parse_launch (vd, &error);
  g_assert_no_error (error);
  pt->audio = gst_parse_launch (ad, &error);
  g_assert_no_error (error);
  GstAppSinkCallbacks vcb = { .new_sample = on_part_video };
  GstAppSinkCallbacks acb = { .new_sample = on_part_audio };
  g_autoptr (GstElement) vs = gst_bin_get_by_name (GST_BIN (pt->video), "sink");
  g_autoptr (GstElement) as = gst_bin_get_by_name (GST_BIN (pt->audio), "sink");
  gst_app_sink_set_callbacks (GST_APP_SINK (vs), &vcb, pt, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (as), &acb, pt, NULL);
  sc_bcast_pipeline_add_input (bcast, id);
  gst_element_set_state (pt->video, GST_STATE_PLAYING);
  gst_element_set_state (pt->audio, GST_STATE_PLAYING);
  return pt;
}

static void
participant_stop (Participant *pt)
{
  gst_element_set_state (pt->video, GST_STATE_NULL);
  gst_element_set_state (pt->audio, GST_STATE_NULL);
  gst_object_unref (pt->video);
  gst_object_unref (pt->audio);
  g_free (pt->id);
  g_free (pt);
}

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (5000);
}

typedef struct {
  GSubprocess *proc;
  char *path;
  char *url;
} RtmpServer;

static RtmpServer *
server_start (const char *dir, const char *name, guint16 port)
{
  RtmpServer *s = g_new0 (RtmpServer, 1);
  s->path = g_build_filename (dir, name, NULL);
  s->url = g_strdup_printf ("rtmp://127.0.0.1:%u/app/key", port);
  g_autoptr (GError) error = NULL;
  s->proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                              &error, "ffmpeg", "-nostdin", "-v", "error", "-y",
                              "-f", "flv", "-listen", "1", "-i", s->url,
                              "-c", "copy", "-f", "flv", s->path, NULL);
  g_assert_no_error (error);
  g_usleep (700 * 1000);   /* let it bind; a missed first connect just retries */
  return s;
}

/* Wait for ffmpeg to finish writing (it exits when the publisher ends). */
static void
server_wait (RtmpServer *s)
{
  for (int i = 0; i < 300 && g_subprocess_get_identifier (s->proc); i++) {
    g_main_context_iteration (NULL, FALSE);
    g_usleep (50 * 1000);
  }
  if (g_subprocess_get_identifier (s->proc)) {
    g_subprocess_send_signal (s->proc, SIGINT);
    g_subprocess_wait (s->proc, NULL, NULL);
  }
}

static void
server_free (RtmpServer *s)
{
  if (g_subprocess_get_identifier (s->proc)) {
    g_subprocess_force_exit (s->proc);
    g_subprocess_wait (s->proc, NULL, NULL);
  }
  g_object_unref (s->proc);
  g_free (s->path);
  g_free (s->url);
  g_free (s);
}

static char *
run_out (const char *const *argv)
{
  char *out = NULL;
  int rc = sc_harness_run (&out, argv);
  g_assert_cmpint (rc, ==, 0);
  return out;
}

typedef struct { double pts; gboolean key; } Frame;

static GArray *
probe_frames (const char *path)
{
  const char *args[] = { "-select_streams", "v:0", "-show_frames",
                         "-show_entries", "frame=pts_time,key_frame", "-of", "csv=p=0", NULL };
  g_autofree char *out = sc_harness_ffprobe (path, args);
  GArray *frames = g_array_new (FALSE, FALSE, sizeof (Frame));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    if (!*lines[i])
      continue;
    /* "key_frame,pts_time" in ffprobe's entry order */
    g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
    if (g_strv_length (f) < 2)
      continue;
    Frame fr = { .key = atoi (f[0]) == 1, .pts = g_ascii_strtod (f[1], NULL) };
    g_array_append_val (frames, fr);
  }
  return frames;
}

/* Video and audio start and end together: a mixer that lost its live
 * pacing races ahead of the other (seen once: 120 s of video for 7 s of
 * audio), and at EOS the audio mixer flushes what it holds at once (seen:
 * the recording ending in 2 s of audio without video). */
static void
assert_av_in_step (const char *path, GArray *frames)
{
  const char *args[] = { "-select_streams", "a:0", "-show_packets",
                         "-show_entries", "packet=pts_time", "-of", "csv=p=0", NULL };
  g_autoptr (GArray) audio = sc_harness_ffprobe_times (path, args);
  g_assert_cmpuint (audio->len, >, 0);
  double a0 = g_array_index (audio, double, 0);
  double v0 = g_array_index (frames, Frame, 0).pts;
  double a = g_array_index (audio, double, audio->len - 1);
  double v = g_array_index (frames, Frame, frames->len - 1).pts;
  g_test_message ("first video pts %.3f, first audio pts %.3f", v0, a0);
  g_test_message ("last video pts %.3f, last audio pts %.3f", v, a);
  g_assert_cmpfloat (fabs (v0 - a0), <, 0.1);
  g_assert_cmpfloat (fabs (v - a), <, 0.1);
}

/* The last composited frame's time in what the RTMP server recorded. */
static double
stream_time (const ScBcastHealth *h)
{
  return (h->position - h->session_start) / (double) GST_SECOND;
}

typedef enum { C_OTHER, C_RED, C_BLUE, C_BG } Colour;

static Colour
classify (const guint8 *px)
{
  int r = px[0], g = px[1], b = px[2];
  if (r > 180 && g < 70 && b < 70) return C_RED;
  if (b > 180 && r < 70 && g < 70) return C_BLUE;
  if (g > 140 && r < 70 && b < 70) return C_BG;
  return C_OTHER;
}

/* Every decoded frame scaled to 64x36 RGB: tile centres stay pure colour. */
static GBytes *
decode_small (const char *path)
{
  const char *argv[] = { "ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0",
                         "-vsync", "passthrough", "-vf", "scale=64:36,format=rgb24",
                         "-f", "rawvideo", "-", NULL };
  return sc_harness_run_raw (argv);
}

static double
mean_volume (const char *path)
{
  const char *argv[] = { "sh", "-c", NULL, NULL };
  g_autofree char *cmd = g_strdup_printf (
      "ffmpeg -nostdin -v info -i '%s' -map 0:a:0 -af volumedetect -f null - 2>&1"
      " | sed -n 's/.*mean_volume: \\(-*[0-9.]*\\) dB.*/\\1/p'", path);
  argv[2] = cmd;
  g_autofree char *out = run_out (argv);
  g_assert_true (*out);
  return g_ascii_strtod (out, NULL);
}

static void
make_tile (ScTile *t, const char *id, int x, int y, int w, int h)
{
  memset (t, 0, sizeof *t);
  t->participant_id = (char *) id;
  t->rect = (ScRect) { x, y, w, h };
  t->fit = SC_FIT_COVER;
}

typedef struct {
  GPtrArray *states;
} StateLog;

static void
on_state (ScBcastPipeline *p, ScBcastState state, const char *reason, gpointer data)
{
  StateLog *log = data;
  g_ptr_array_add (log->states, g_strdup_printf ("%s%s%s", sc_bcast_state_to_string (state),
                                                 reason ? ": " : "", reason ? reason : ""));
}

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
  double vol = mean_volume (srv->path);
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

static double
volume_from (const char *path, double from)
{
  const char *argv[] = { "sh", "-c", NULL, NULL };
  g_autofree char *cmd = g_strdup_printf (
      "ffmpeg -nostdin -v info -ss %.2f -i '%s' -map 0:a:0 -af volumedetect -f null - 2>&1"
      " | sed -n 's/.*mean_volume: \\(-*[0-9.]*\\) dB.*/\\1/p'", from, path);
  argv[2] = cmd;
  g_autofree char *out = run_out (argv);
  g_assert_true (*out);
  return g_ascii_strtod (out, NULL);
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
  double before = volume_from (srv->path, 1.0), after = volume_from (srv->path, lag_at + 2.5);
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

/* ---- the output fails: reconnect without touching the mix ----------------- */

static gboolean
log_has (StateLog *log, const char *prefix, guint from)
{
  for (guint i = from; i < log->states->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (log->states, i), prefix))
      return TRUE;
  return FALSE;
}

static void
test_reconnect (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-bcast-XXXXXX", &error);
  guint16 port = sc_harness_free_port ();
  RtmpServer *srv1 = server_start (dir, "out1.flv", port);

  ScBcastConfig cfg = { .width = OUT_W, .height = OUT_H, .fps = 30, .rtmp_url = srv1->url,
                        .background_argb = BG_ARGB };
  ScBcastPipeline *b = sc_bcast_pipeline_new (&cfg, &error);
  g_assert_no_error (error);
  StateLog log = { g_ptr_array_new_with_free_func (g_free) };
  sc_bcast_pipeline_set_state_func (b, on_state, &log);
  g_assert_true (sc_bcast_pipeline_start (b, &error));
  Participant *red = participant_start (b, "red", RED_ARGB, 440);
  ScTile tile;
  make_tile (&tile, "red", 0, 0, OUT_W, OUT_H);
  sc_bcast_pipeline_set_tiles (b, &tile, 1, 0);
  spin (3000);

  ScBcastHealth h1, h2;
  sc_bcast_pipeline_get_health (b, &h1);
  g_assert_cmpuint (h1.reconnects, ==, 0);
  /* The server dies; a new one comes up on the same address. */
  g_subprocess_force_exit (srv1->proc);
  g_subprocess_wait (srv1->proc, NULL, NULL);
  guint mark = log.states->len;
  RtmpServer *srv2 = server_start (dir, "out2.flv", port);
  for (int i = 0; i < 600 && !(log_has (&log, "reconnecting", mark) &&
                               log_has (&log, "running", mark)); i++)
    spin (50);
  g_assert_true (log_has (&log, "reconnecting", mark));
  g_assert_true (log_has (&log, "running", mark));
  for (guint i = 0; i < log.states->len; i++)
    g_test_message ("state: %s", (char *) g_ptr_array_index (log.states, i));
  spin (4000);
  sc_bcast_pipeline_get_health (b, &h2);
  g_test_message ("after reconnect: state=%s reconnects=%u frames=%" G_GUINT64_FORMAT
                  " dropped=%" G_GUINT64_FORMAT, sc_bcast_state_to_string (h2.state),
                  h2.reconnects, h2.frames_out, h2.frames_dropped);
  g_assert_cmpint (h2.state, ==, SC_BCAST_RUNNING);
  g_assert_cmpuint (h2.reconnects, >=, 1);
  g_assert_cmpuint (h2.frames_out, >, h1.frames_out + 60);
  /* The mix itself never stopped: output time kept pace across the outage. */
  g_assert_cmpuint (h2.position - h1.position, >, 4 * GST_SECOND);

  sc_bcast_pipeline_stop (b);
  participant_stop (red);
  server_wait (srv2);

  /* The new session starts decodable (keyframe first), with audio. */
  g_autoptr (GArray) frames = probe_frames (srv2->path);
  g_assert_cmpuint (frames->len, >, 60);
  g_assert_true (g_array_index (frames, Frame, 0).key);
  const char *sargs[] = { "-show_entries", "stream=codec_type,codec_name",
                          "-of", "compact=p=0", NULL };
  g_autofree char *streams = sc_harness_ffprobe (srv2->path, sargs);
  g_assert_nonnull (strstr (streams, "codec_name=h264|codec_type=video"));
  g_assert_nonnull (strstr (streams, "codec_name=aac|codec_type=audio"));
  g_autoptr (GBytes) raw = decode_small (srv2->path);
  const guint8 *px = g_bytes_get_data (raw, NULL);
  gsize last = (frames->len - 1) * 64 * 36 * 3;
  g_assert_cmpint (classify (px + last + (18 * 64 + 32) * 3), ==, C_RED);

  sc_bcast_pipeline_free (b);
  g_ptr_array_unref (log.states);
  g_unlink (srv1->path);
  g_unlink (srv2->path);
  server_free (srv1);
  server_free (srv2);
  g_rmdir (dir);
}

static void
test_refusal_classification (void)
{
  /* The errors rtmp2sink 1.22 posts (gstrtmp2sink.c connect_task_done). */
  g_autoptr (GError) badname = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED,
      "Failed to connect: publish denied; stream already exists: {code: 'NetStream.Publish.BadName'}");
  g_autoptr (GError) denied = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED,
      "Not authorized to connect: publish denied: {code: 'NetStream.Publish.Denied'}");
  g_autoptr (GError) unauthorized = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED,
      "Failed to connect: 'publish' cmd failed: onStatus: { \"level\": \"error\", "
      "\"code\": \"NetStream.Publish.Unauthorized\", \"description\": \"live stream is disabled\" }");
  g_autoptr (GError) refused = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
      "Connection refused: Could not connect to 127.0.0.1: Connection refused");
  g_autoptr (GError) closed = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE,
      "Connection error: connection closed remotely");
  g_assert_true (sc_rtmp_push_error_is_refusal (badname));
  g_assert_true (sc_rtmp_push_error_is_refusal (denied));
  g_assert_true (sc_rtmp_push_error_is_refusal (unauthorized));
  g_assert_false (sc_rtmp_push_error_is_refusal (refused));
  g_assert_false (sc_rtmp_push_error_is_refusal (closed));
  g_assert_false (sc_rtmp_push_error_is_refusal (NULL));
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

/* ---- a server that refuses the stream key --------------------------------- */

/* Just enough RTMP server to refuse a publish the way real ingests do:
 * handshake, connect → success, createStream → 1, publish → onStatus error
 * NetStream.Publish.BadName.  Counts the connections it accepted. */
typedef struct {
  GSocket *listener;
  guint16 port;
  gint accepted;
  GThread *thread;
} Refuser;

static gboolean
read_exact (GSocket *s, guint8 *buf, gsize n)
{
  while (n > 0) {
    gssize r = g_socket_receive (s, (char *) buf, n, NULL, NULL);
    if (r <= 0)
      return FALSE;
    buf += r;
    n -= r;
  }
  return TRUE;
}

static void
amf_str (GByteArray *b, const char *v)
{
  guint8 h[3] = { 0x02, strlen (v) >> 8, strlen (v) & 0xff };
  g_byte_array_append (b, h, 3);
  g_byte_array_append (b, (const guint8 *) v, strlen (v));
}

static void
amf_num (GByteArray *b, double v)
{
  guint64 bits;
  memcpy (&bits, &v, 8);
  bits = GUINT64_TO_BE (bits);
  guint8 t = 0x00;
  g_byte_array_append (b, &t, 1);
  g_byte_array_append (b, (const guint8 *) &bits, 8);
}

static void
amf_null (GByteArray *b)
{
  guint8 t = 0x05;
  g_byte_array_append (b, &t, 1);
}

static void
amf_status (GByteArray *b, const char *level, const char *code)
{
  guint8 t = 0x03, end[3] = { 0, 0, 9 };
  const char *kv[] = { "level", level, "code", code, "description", "refused by test" };
  g_byte_array_append (b, &t, 1);
  for (int i = 0; i < 6; i += 2) {
    guint8 kl[2] = { 0, strlen (kv[i]) };
    g_byte_array_append (b, kl, 2);
    g_byte_array_append (b, (const guint8 *) kv[i], strlen (kv[i]));
    amf_str (b, kv[i + 1]);
  }
  g_byte_array_append (b, end, 3);
}

static void
send_msg (GSocket *s, guint8 csid, guint8 type, guint32 stream, GByteArray *payload)
{
  guint8 h[12] = { csid, 0, 0, 0, payload->len >> 16, payload->len >> 8, payload->len,
                   type, stream, stream >> 8, stream >> 16, stream >> 24 };
  g_socket_send (s, (const char *) h, 12, NULL, NULL);
  g_socket_send (s, (const char *) payload->data, payload->len, NULL, NULL);
}

static gpointer
refuser_thread (gpointer data)
{
  Refuser *r = data;
  g_autoptr (GSocket) c = g_socket_accept (r->listener, NULL, NULL);
  if (!c)
    return NULL;
  g_atomic_int_inc (&r->accepted);
  guint8 c01[1537], s012[1 + 1536 * 2] = { 3 }, c2[1536];
  if (!read_exact (c, c01, sizeof c01))
    return NULL;
  memcpy (s012 + 1 + 1536, c01 + 1, 1536);     /* S2 echoes C1 */
  g_socket_send (c, (const char *) s012, sizeof s012, NULL, NULL);
  if (!read_exact (c, c2, sizeof c2))
    return NULL;
  /* Our chunks fit in one piece once the client knows our chunk size. */
  g_autoptr (GByteArray) cs = g_byte_array_new ();
  guint8 size[4] = { 0, 0, 0x10, 0 };
  g_byte_array_append (cs, size, 4);
  send_msg (c, 2, 1, 0, cs);

  guint32 in_chunk = 128;
  struct { guint32 len, type, stream; GByteArray *buf; } st[64] = { { 0 } };
  for (;;) {
    guint8 bh;
    if (!read_exact (c, &bh, 1))
      break;
    guint fmt = bh >> 6, id = bh & 0x3f;
    if (id < 2 || id >= 64)
      break;     /* the client only uses small chunk stream ids */
    guint8 mh[11];
    gsize mlen = fmt == 0 ? 11 : fmt == 1 ? 7 : fmt == 2 ? 3 : 0;
    if (!read_exact (c, mh, mlen))
      break;
    if (fmt <= 1) {
      st[id].len = (mh[3] << 16) | (mh[4] << 8) | mh[5];
      st[id].type = mh[6];
    }
    if (fmt == 0)
      st[id].stream = mh[7] | (mh[8] << 8) | (mh[9] << 16) | ((guint32) mh[10] << 24);
    if (mlen && mh[0] == 0xff && mh[1] == 0xff && mh[2] == 0xff) {
      guint8 ext[4];
      if (!read_exact (c, ext, 4))
        break;
    }
    if (!st[id].buf)
      st[id].buf = g_byte_array_new ();
    guint32 want = MIN (in_chunk, st[id].len - st[id].buf->len);
    guint8 tmp[65536];
    if (!read_exact (c, tmp, want))
      break;
    g_byte_array_append (st[id].buf, tmp, want);
    if (st[id].buf->len < st[id].len)
      continue;
    GByteArray *m = st[id].buf;
    st[id].buf = NULL;
    if (st[id].type == 1 && m->len >= 4) {
      in_chunk = ((m->data[0] & 0x7f) << 24) | (m->data[1] << 16) | (m->data[2] << 8) | m->data[3];
      in_chunk = MIN (in_chunk, sizeof tmp);
    } else if (st[id].type == 20 && m->len > 3 && m->data[0] == 0x02) {
      guint n = (m->data[1] << 8) | m->data[2];
      g_autofree char *name = g_strndup ((const char *) m->data + 3, MIN (n, m->len - 3));
      double txn = 0;
      if (m->len >= 3 + n + 9 && m->data[3 + n] == 0x00) {
        guint64 bits;
        memcpy (&bits, m->data + 3 + n + 1, 8);
        bits = GUINT64_FROM_BE (bits);
        memcpy (&txn, &bits, 8);
      }
      g_autoptr (GByteArray) out = g_byte_array_new ();
      if (!strcmp (name, "connect")) {
        amf_str (out, "_result"); amf_num (out, txn); amf_null (out);
        amf_status (out, "status", "NetConnection.Connect.Success");
        send_msg (c, 3, 20, 0, out);
      } else if (!strcmp (name, "createStream")) {
        amf_str (out, "_result"); amf_num (out, txn); amf_null (out); amf_num (out, 1);
        send_msg (c, 3, 20, 0, out);
      } else if (!strcmp (name, "publish")) {
        amf_str (out, "onStatus"); amf_num (out, 0); amf_null (out);
        amf_status (out, "error", "NetStream.Publish.BadName");
        send_msg (c, 5, 20, 1, out);
        g_byte_array_unref (m);
        break;     /* and hang up, as ingest servers do */
      }
    }
    g_byte_array_unref (m);
  }
  for (int i = 0; i < 64; i++)
    if (st[i].buf)
      g_byte_array_unref (st[i].buf);
  return NULL;
}

static void
test_key_refused (void)
{
  g_autoptr (GError) error = NULL;
  Refuser r = { 0 };
  r.listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (r.listener, any, TRUE, &error));
  g_assert_true (g_socket_listen (r.listener, &error));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (r.listener, &error);
  r.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  r.thread = g_thread_new ("refuser", refuser_thread, &r);

  g_autofree char *url = g_strdup_printf ("rtmp://127.0.0.1:%u/app/wrong-key", r.port);
  ScBcastConfig cfg = { .width = OUT_W, .height = OUT_H, .fps = 30, .rtmp_url = url };
  ScBcastPipeline *b = sc_bcast_pipeline_new (&cfg, &error);
  g_assert_no_error (error);
  StateLog log = { g_ptr_array_new_with_free_func (g_free) };
  sc_bcast_pipeline_set_state_func (b, on_state, &log);
  g_assert_true (sc_bcast_pipeline_start (b, &error));
  ScBcastHealth h;
  for (int i = 0; i < 400; i++) {
    spin (50);
    sc_bcast_pipeline_get_health (b, &h);
    if (h.state == SC_BCAST_FAILED)
      break;
  }
  g_test_message ("refused: %s", h.reason);
  g_assert_cmpint (h.state, ==, SC_BCAST_FAILED);
  g_assert_nonnull (strstr (h.reason, "publish denied"));
  g_assert_nonnull (strstr (h.reason, "NetStream.Publish.BadName"));
  /* Given up at once: no retry, no reconnect counted, the owner told. */
  spin (2500);
  sc_bcast_pipeline_get_health (b, &h);
  g_assert_cmpint (h.state, ==, SC_BCAST_FAILED);
  g_assert_cmpuint (h.reconnects, ==, 0);
  g_assert_cmpint (g_atomic_int_get (&r.accepted), ==, 1);
  g_assert_true (log_has (&log, "failed: ", 0));
  g_assert_false (log_has (&log, "reconnecting", 0));

  sc_bcast_pipeline_free (b);
  g_socket_close (r.listener, NULL);
  g_thread_join (r.thread);
  g_object_unref (r.listener);
  g_ptr_array_unref (log.states);
}

/* ---- cost of a 720p, 4-participant mix (measured, not asserted) ------------ */

/* rtmp2sink 1.22 (create_stream_done) trips a g_return_if_fail on the
 * createStream reply of ffmpeg's RTMP server; harmless (the publish goes
 * on), but fatal under G_DEBUG=fatal-criticals.  Criticals stay fatal here,
 * except that one. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  GLogWriterOutput r = g_log_writer_default (level, fields, n_fields, data);
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
    for (gsize i = 0; i < n_fields; i++)
      if (!strcmp (fields[i].key, "MESSAGE") && fields[i].length < 0 &&
          strstr (fields[i].value, "gst_amf_node_get_type: assertion"))
        return r;
    g_abort ();
  }
  return r;
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK);
  g_log_set_writer_func (log_writer, NULL, NULL);
  g_test_add_func ("/broadcast-pipeline/layout-switch", test_layout_switch);
  g_test_add_func ("/broadcast-pipeline/placeholder-transition", test_placeholder_transition);
  g_test_add_func ("/broadcast-pipeline/background-image", test_background_image);
  g_test_add_func ("/broadcast-pipeline/lagging-participant", test_lagging_participant);
  g_test_add_func ("/broadcast-pipeline/input-failed", test_input_failed);
  g_test_add_func ("/broadcast-pipeline/reconnect", test_reconnect);
  g_test_add_func ("/broadcast-pipeline/refusal-classification", test_refusal_classification);
  g_test_add_func ("/broadcast-pipeline/key-refused", test_key_refused);
  return g_test_run ();
}
