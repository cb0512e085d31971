/* The sync flash: once a second the video turns white (black otherwise) and
 * the audio beeps (silent otherwise), both for SC_SYNC_FLASH_MS from the
 * same instant of the pipeline's running time.  The instants are those of
 * every 30th video frame from the first; audio samples are kept or zeroed
 * by their own timestamps against them, so a flash and its beep start on
 * the same running time whatever the buffer sizes.  The A/V offset
 * downstream (tests/bench/av-sync.py) is then beep onset - flash onset. */
#include "publish-private.h"

#include <gst/audio/audio.h>

typedef struct {
  gatomicrefcount rc;
  GMutex lock;
  GstClockTime origin;          /* the first video frame's PTS; NONE before */
  GstVideoInfo vinfo;           /* streaming thread of each pad only */
  GstAudioInfo ainfo;
} SyncFlash;

static SyncFlash *
sync_ref (SyncFlash *s)
{
  g_atomic_ref_count_inc (&s->rc);
  return s;
}

static void
sync_unref (gpointer data)
{
  SyncFlash *s = data;
  if (!g_atomic_ref_count_dec (&s->rc))
    return;
  g_mutex_clear (&s->lock);
  g_free (s);
}

static GstClockTime
get_origin (SyncFlash *s)
{
  g_mutex_lock (&s->lock);
  GstClockTime o = s->origin;
  g_mutex_unlock (&s->lock);
  return o;
}

/* Within a flash: the first SC_SYNC_FLASH_MS of each second from origin. */
static gboolean
in_flash (GstClockTime origin, GstClockTime t)
{
  return GST_CLOCK_TIME_IS_VALID (origin) && t >= origin &&
         (t - origin) % GST_SECOND < SC_SYNC_FLASH_MS * GST_MSECOND;
}

static GstBuffer *
writable_buffer (GstPadProbeInfo *info)
{
  GstBuffer *buf = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  GST_PAD_PROBE_INFO_DATA (info) = buf;
  return buf;
}

static GstPadProbeReturn
on_video (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  SyncFlash *s = user_data;
  GstBuffer *buf = writable_buffer (info);
  GstClockTime pts = GST_BUFFER_PTS (buf);
  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return GST_PAD_PROBE_OK;
  if (GST_VIDEO_INFO_FORMAT (&s->vinfo) == GST_VIDEO_FORMAT_UNKNOWN) {
    g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
    if (!caps || !gst_video_info_from_caps (&s->vinfo, caps))
      return GST_PAD_PROBE_OK;
  }
  g_mutex_lock (&s->lock);
  if (!GST_CLOCK_TIME_IS_VALID (s->origin))
    s->origin = pts;
  GstClockTime origin = s->origin;
  g_mutex_unlock (&s->lock);

  GstVideoFrame f;
  if (!gst_video_frame_map (&f, &s->vinfo, buf, GST_MAP_WRITE))
    return GST_PAD_PROBE_OK;
  /* I420 (the caps ask for it): studio-range white or black, no colour. */
  guint8 luma = in_flash (origin, pts) ? 235 : 16;
  for (guint plane = 0; plane < 3; plane++) {
    guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (&f, plane);
    int stride = GST_VIDEO_FRAME_PLANE_STRIDE (&f, plane);
    int w = GST_VIDEO_FRAME_COMP_WIDTH (&f, plane), h = GST_VIDEO_FRAME_COMP_HEIGHT (&f, plane);
    for (int y = 0; y < h; y++)
      memset (data + (gsize) y * stride, plane ? 128 : luma, w);
  }
  gst_video_frame_unmap (&f);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
on_audio (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  SyncFlash *s = user_data;
  GstBuffer *buf = writable_buffer (info);
  GstClockTime pts = GST_BUFFER_PTS (buf);
  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return GST_PAD_PROBE_OK;
  if (GST_AUDIO_INFO_FORMAT (&s->ainfo) == GST_AUDIO_FORMAT_UNKNOWN) {
    g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
    if (!caps || !gst_audio_info_from_caps (&s->ainfo, caps))
      return GST_PAD_PROBE_OK;
  }
  GstClockTime origin = get_origin (s);
  int bpf = GST_AUDIO_INFO_BPF (&s->ainfo), rate = GST_AUDIO_INFO_RATE (&s->ainfo);
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_WRITE))
    return GST_PAD_PROBE_OK;
  /* Zero is silence in every signed and float format audiotestsrc makes. */
  for (gsize i = 0; i < map.size / bpf; i++)
    if (!in_flash (origin, pts + gst_util_uint64_scale_int (i, GST_SECOND, rate)))
      memset (map.data + i * bpf, 0, bpf);
  gst_buffer_unmap (buf, &map);
  return GST_PAD_PROBE_OK;
}

void
sc_publish_sync_attach (GstElement *raw_video, GstElement *audio_src)
{
  SyncFlash *s = g_new0 (SyncFlash, 1);
  g_atomic_ref_count_init (&s->rc);
  g_mutex_init (&s->lock);
  s->origin = GST_CLOCK_TIME_NONE;
  gst_video_info_init (&s->vinfo);
  gst_audio_info_init (&s->ainfo);
  g_autoptr (GstPad) vpad = gst_element_get_static_pad (raw_video, "src");
  g_autoptr (GstPad) apad = gst_element_get_static_pad (audio_src, "src");
  gst_pad_add_probe (vpad, GST_PAD_PROBE_TYPE_BUFFER, on_video, sync_ref (s), sync_unref);
  gst_pad_add_probe (apad, GST_PAD_PROBE_TYPE_BUFFER, on_audio, s, sync_unref);
}
