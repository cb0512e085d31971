/* The capture clock: each frame carries the wall-clock millisecond at which
 * it was captured as a grid of black and white cells, so whoever decodes
 * the frame downstream (a broadcast's output, a recording) can tell how old
 * it is.  Big cells survive scaling, compositing and lossy encoding. */
#include "publish-private.h"

static void
fill (GstVideoFrame *f, guint plane, int x0, int y0, int x1, int y1, guint8 v)
{
  guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (f, plane);
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE (f, plane);
  for (int y = y0; y < y1; y++)
    memset (data + (gsize) y * stride + x0, v, x1 - x0);
}

void
sc_publish_clock_draw (GstVideoFrame *f, guint32 ms)
{
  int w = GST_VIDEO_FRAME_WIDTH (f), h = GST_VIDEO_FRAME_HEIGHT (f);
  for (int bit = 0; bit < SC_CLOCK_BITS; bit++) {
    int col = bit % SC_CLOCK_COLS, row = bit / SC_CLOCK_COLS;
    /* Even cell edges keep I420 chroma aligned with luma. */
    int x0 = (col * w / SC_CLOCK_COLS) & ~1, x1 = ((col + 1) * w / SC_CLOCK_COLS) & ~1;
    int y0 = (row * h / SC_CLOCK_ROWS) & ~1, y1 = ((row + 1) * h / SC_CLOCK_ROWS) & ~1;
    fill (f, 0, x0, y0, x1, y1, (ms >> (SC_CLOCK_BITS - 1 - bit)) & 1 ? 235 : 16);
    fill (f, 1, x0 / 2, y0 / 2, x1 / 2, y1 / 2, 128);
    fill (f, 2, x0 / 2, y0 / 2, x1 / 2, y1 / 2, 128);
  }
}

static GstPadProbeReturn
stamp (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstVideoInfo *vinfo = user_data;
  /* Read the clock as the source hands the frame over: this is capture. */
  guint32 ms = (guint32) (g_get_real_time () / 1000);
  GstBuffer *buf = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  GST_PAD_PROBE_INFO_DATA (info) = buf;
  if (GST_VIDEO_INFO_FORMAT (vinfo) == GST_VIDEO_FORMAT_UNKNOWN) {
    g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
    if (!caps || !gst_video_info_from_caps (vinfo, caps))
      return GST_PAD_PROBE_OK;
  }
  GstVideoFrame f;
  if (gst_video_frame_map (&f, vinfo, buf, GST_MAP_WRITE)) {
    sc_publish_clock_draw (&f, ms);
    gst_video_frame_unmap (&f);
  }
  return GST_PAD_PROBE_OK;
}

void
sc_publish_clock_attach (GstElement *raw_video)
{
  g_autoptr (GstPad) pad = gst_element_get_static_pad (raw_video, "src");
  GstVideoInfo *vinfo = g_new0 (GstVideoInfo, 1);
  gst_video_info_init (vinfo);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, stamp, vinfo, g_free);
}
