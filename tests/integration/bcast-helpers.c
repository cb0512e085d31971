#include "bcast-helpers.h"

#include <gst/app/gstappsink.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

Participant *
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

void
participant_stop (Participant *pt)
{
  gst_element_set_state (pt->video, GST_STATE_NULL);
  gst_element_set_state (pt->audio, GST_STATE_NULL);
  gst_object_unref (pt->video);
  gst_object_unref (pt->audio);
  g_free (pt->id);
  g_free (pt);
}

void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (5000);
}


RtmpServer *
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
void
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

void
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

char *
run_out (const char *const *argv)
{
  char *out = NULL;
  int rc = sc_harness_run (&out, argv);
  g_assert_cmpint (rc, ==, 0);
  return out;
}


GArray *
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
void
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
double
stream_time (const ScBcastHealth *h)
{
  return (h->position - h->session_start) / (double) GST_SECOND;
}


Colour
classify (const guint8 *px)
{
  int r = px[0], g = px[1], b = px[2];
  if (r > 180 && g < 70 && b < 70) return C_RED;
  if (b > 180 && r < 70 && g < 70) return C_BLUE;
  if (g > 140 && r < 70 && b < 70) return C_BG;
  return C_OTHER;
}

/* Every decoded frame scaled to 64x36 RGB: tile centres stay pure colour. */
GBytes *
decode_small (const char *path)
{
  const char *argv[] = { "ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0",
                         "-vsync", "passthrough", "-vf", "scale=64:36,format=rgb24",
                         "-f", "rawvideo", "-", NULL };
  return sc_harness_run_raw (argv);
}

double
mean_volume (const char *path, double from)
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

void
make_tile (ScTile *t, const char *id, int x, int y, int w, int h)
{
  memset (t, 0, sizeof *t);
  t->participant_id = (char *) id;
  t->rect = (ScRect) { x, y, w, h };
  t->fit = SC_FIT_COVER;
}


void
on_state (ScBcastPipeline *p, ScBcastState state, const char *reason, gpointer data)
{
  StateLog *log = data;
  g_ptr_array_add (log->states, g_strdup_printf ("%s%s%s", sc_bcast_state_to_string (state),
                                                 reason ? ": " : "", reason ? reason : ""));
}

gboolean
log_has (StateLog *log, const char *prefix, guint from)
{
  for (guint i = from; i < log->states->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (log->states, i), prefix))
      return TRUE;
  return FALSE;
}


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

void
bcast_test_init (int *argc, char ***argv)
{
  gst_init (argc, argv);
  g_test_init (argc, argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK);
  g_log_set_writer_func (log_writer, NULL, NULL);
}
