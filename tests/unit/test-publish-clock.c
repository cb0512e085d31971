/* The capture clock drawn by `spacecast publish --capture-clock`: what a
 * latency benchmark reads back out of a decoded frame. */
#include "../../src/publish/publish-private.h"

static guint32
read_back (GstVideoFrame *f)
{
  int w = GST_VIDEO_FRAME_WIDTH (f), h = GST_VIDEO_FRAME_HEIGHT (f);
  const guint8 *y = GST_VIDEO_FRAME_PLANE_DATA (f, 0);
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE (f, 0);
  guint32 v = 0;
  for (int bit = 0; bit < SC_CLOCK_BITS; bit++) {
    int col = bit % SC_CLOCK_COLS, row = bit / SC_CLOCK_COLS;
    int cx = (2 * col + 1) * w / (2 * SC_CLOCK_COLS), cy = (2 * row + 1) * h / (2 * SC_CLOCK_ROWS);
    v = (v << 1) | (y[cy * stride + cx] > 128);
  }
  return v;
}

static void
test_round_trip (gconstpointer data)
{
  const int *size = data;
  static const guint32 values[] = { 0, 1, 0x80000000u, 0xdeadbeefu, 0xffffffffu, 1732406400u };
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, size[0], size[1]);
  g_autoptr (GstBuffer) buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  gst_buffer_memset (buf, 0, 77, GST_VIDEO_INFO_SIZE (&info));
  for (guint i = 0; i < G_N_ELEMENTS (values); i++) {
    GstVideoFrame f;
    g_assert_true (gst_video_frame_map (&f, &info, buf, GST_MAP_READWRITE));
    sc_publish_clock_draw (&f, values[i]);
    g_assert_cmphex (read_back (&f), ==, values[i]);
    /* Grey cells: no colour left from the pattern under them. */
    const guint8 *u = GST_VIDEO_FRAME_PLANE_DATA (&f, 1);
    g_assert_cmpuint (u[GST_VIDEO_FRAME_PLANE_STRIDE (&f, 1) * 3 + 5], ==, 128);
    gst_video_frame_unmap (&f);
  }
}

int
main (int argc, char **argv)
{
  static const int sizes[][2] = { { 640, 360 }, { 320, 180 }, { 1280, 720 }, { 642, 362 } };
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    g_autofree char *name = g_strdup_printf ("/publish-clock/round-trip/%dx%d", sizes[i][0], sizes[i][1]);
    g_test_add_data_func (name, sizes[i], test_round_trip);
  }
  return g_test_run ();
}
