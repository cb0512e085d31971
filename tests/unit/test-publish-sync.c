/* The sync flash of `spacecast publish --sync-flash`: the video is white and
 * the audio sounds exactly from the same running time, once a second. */
#include "../../src/publish/publish-private.h"

#include <gst/app/gstappsink.h>

#define SECONDS 2.5

typedef struct {
  GArray *white;                /* GstClockTime: PTS of the white frames */
  GstClockTime first_black;     /* of the first frame after a flash */
  GArray *loud;                 /* GstClockTime: first sample of each beep */
  gboolean sounding;
  GstClockTime last_loud;       /* the latest sample of the beep sounding */
} Seen;

static void
pull_video (GstElement *sink, Seen *seen)
{
  g_autoptr (GstSample) s = NULL;
  while ((s = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 0))) {
    GstBuffer *b = gst_sample_get_buffer (s);
    GstMapInfo map;
    g_assert_true (gst_buffer_map (b, &map, GST_MAP_READ));
    /* Luma of the centre pixel, chroma grey. */
    guint8 y = map.data[18 * 64 + 32], u = map.data[64 * 36 + 9 * 32 + 16];
    gst_buffer_unmap (b, &map);
    g_assert_cmpuint (u, ==, 128);
    g_assert_true (y == 235 || y == 16);
    if (y == 235)
      g_array_append_val (seen->white, GST_BUFFER_PTS (b));
    else if (seen->white->len && !GST_CLOCK_TIME_IS_VALID (seen->first_black))
      seen->first_black = GST_BUFFER_PTS (b);
    g_clear_pointer (&s, gst_sample_unref);
  }
}

static void
pull_audio (GstElement *sink, Seen *seen)
{
  g_autoptr (GstSample) s = NULL;
  while ((s = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 0))) {
    GstBuffer *b = gst_sample_get_buffer (s);
    GstMapInfo map;
    g_assert_true (gst_buffer_map (b, &map, GST_MAP_READ));
    const gint16 *pcm = (const gint16 *) map.data;
    for (gsize i = 0; i < map.size / 2; i++) {
      GstClockTime t = GST_BUFFER_PTS (b) + gst_util_uint64_scale_int (i, GST_SECOND, 48000);
      gboolean loud = pcm[i] != 0;
      if (loud && !seen->sounding)
        g_array_append_val (seen->loud, t);
      if (loud)
        seen->last_loud = t;
      /* A sine passes zero now and then: only a run of silence ends it. */
      if (!loud && seen->sounding && t - seen->last_loud > 5 * GST_MSECOND)
        seen->sounding = FALSE;
      else if (loud)
        seen->sounding = TRUE;
    }
    gst_buffer_unmap (b, &map);
    g_clear_pointer (&s, gst_sample_unref);
  }
}

static void
test_flash_and_beep (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipe = gst_parse_launch (
      "videotestsrc is-live=true ! capsfilter name=vcaps"
      "  caps=video/x-raw,format=I420,width=64,height=36,framerate=30/1 ! appsink name=v sync=false"
      " audiotestsrc name=asrc is-live=true samplesperbuffer=700"
      " ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! appsink name=a sync=false", &error);
  g_assert_no_error (error);
  g_autoptr (GstElement) vcaps = gst_bin_get_by_name (GST_BIN (pipe), "vcaps");
  g_autoptr (GstElement) asrc = gst_bin_get_by_name (GST_BIN (pipe), "asrc");
  g_autoptr (GstElement) v = gst_bin_get_by_name (GST_BIN (pipe), "v");
  g_autoptr (GstElement) a = gst_bin_get_by_name (GST_BIN (pipe), "a");
  sc_publish_sync_attach (vcaps, asrc);
  Seen seen = { g_array_new (FALSE, FALSE, sizeof (GstClockTime)), GST_CLOCK_TIME_NONE,
                g_array_new (FALSE, FALSE, sizeof (GstClockTime)), FALSE, 0 };
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  gint64 end = g_get_monotonic_time () + (gint64) (SECONDS * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < end) {
    pull_video (v, &seen);
    pull_audio (a, &seen);
    g_usleep (10 * 1000);
  }
  gst_element_set_state (pipe, GST_STATE_NULL);

  /* Three frames a second from the first: 0, 33, 67 ms past each second. */
  GstClockTime origin = g_array_index (seen.white, GstClockTime, 0);
  g_assert_cmpuint (seen.white->len, >=, 6);
  for (guint i = 0; i < seen.white->len; i++) {
    GstClockTime t = g_array_index (seen.white, GstClockTime, i) - origin;
    g_assert_cmpuint (t % GST_SECOND, <, SC_SYNC_FLASH_MS * GST_MSECOND);
  }
  g_assert_cmpuint (seen.first_black - origin, ==, 100 * GST_MSECOND);
  /* Each beep starts on its flash's instant: on the first sample at or
   * after it.  Not the first second's: audio that came before the first
   * frame was silenced, the instants being unknown then. */
  guint beeps = 0;
  for (guint i = 0; i < seen.loud->len; i++) {
    GstClockTime t = g_array_index (seen.loud, GstClockTime, i);
    g_test_message ("beep at %" GST_TIME_FORMAT, GST_TIME_ARGS (t));
    if (t < origin + GST_SECOND)
      continue;
    g_assert_cmpuint ((t - origin) % GST_SECOND, <=, GST_SECOND / 48000);
    beeps++;
  }
  g_assert_cmpuint (beeps, >=, 1);
  g_array_unref (seen.white);
  g_array_unref (seen.loud);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/publish-sync/flash-and-beep", test_flash_and_beep);
  return g_test_run ();
}
