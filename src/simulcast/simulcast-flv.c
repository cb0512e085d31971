/* What one target is sent, message by message: pure, no I/O. */
#include "spacecast/simulcast.h"
#include "simulcast-private.h"

#include <string.h>

/* AMF0 string "@setDataFrame": RTMP publishers wrap onMetaData in it; an
 * FLV tag (what rtmp2sink reads) carries onMetaData alone. */
static const guint8 set_data_frame[] = { 0x02, 0x00, 0x0d, '@', 's', 'e', 't', 'D', 'a', 't',
                                         'a', 'F', 'r', 'a', 'm', 'e' };
static const guint8 on_metadata[] = { 0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't', 'a', 'D',
                                      'a', 't', 'a' };

typedef enum { MSG_OTHER, MSG_META, MSG_VIDEO_CONFIG, MSG_AUDIO_CONFIG, MSG_KEYFRAME,
               MSG_FRAME } MsgKind;

static gboolean
has_prefix (const guint8 *data, gsize len, const guint8 *prefix, gsize n)
{
  return len >= n && memcmp (data, prefix, n) == 0;
}

static MsgKind
classify (ScRtmpMediaType type, const guint8 *data, gsize len, gsize *meta_offset)
{
  switch (type) {
  case SC_RTMP_MEDIA_DATA: {
    gsize off = has_prefix (data, len, set_data_frame, sizeof set_data_frame)
        ? sizeof set_data_frame : 0;
    if (!has_prefix (data + off, len - off, on_metadata, sizeof on_metadata))
      return MSG_OTHER;
    if (meta_offset)
      *meta_offset = off;
    return MSG_META;
  }
  case SC_RTMP_MEDIA_VIDEO:
    if (len < 2)
      return MSG_OTHER;
    /* codec 7 is AVC: packet type 0 its configuration, 1 a frame, 2 the
     * end of the sequence; a frame type 5 is a command, not a picture. */
    if ((data[0] & 0x0f) == 7 && data[1] == 0)
      return MSG_VIDEO_CONFIG;
    if ((data[0] >> 4) == 5 || ((data[0] & 0x0f) == 7 && data[1] != 1))
      return MSG_OTHER;
    return (data[0] >> 4) == 1 ? MSG_KEYFRAME : MSG_FRAME;
  case SC_RTMP_MEDIA_AUDIO:
    if (len < 1)
      return MSG_OTHER;
    /* sound format 10 is AAC: packet type 0 its AudioSpecificConfig. */
    if ((data[0] >> 4) == 10 && len < 2)
      return MSG_OTHER;
    if ((data[0] >> 4) == 10 && data[1] == 0)
      return MSG_AUDIO_CONFIG;
    return MSG_FRAME;
  }
  return MSG_OTHER;
}

static void
keep (GBytes **slot, const guint8 *data, gsize len)
{
  g_clear_pointer (slot, g_bytes_unref);
  *slot = g_bytes_new (data, len);
}

void
sc_simulcast_headers_update (ScSimulcastHeaders *h, ScRtmpMediaType type, const guint8 *data,
                             gsize len)
{
  gsize off = 0;
  switch (classify (type, data, len, &off)) {
  case MSG_META:
    keep (&h->meta, data + off, len - off);
    break;
  case MSG_VIDEO_CONFIG:
    keep (&h->video_config, data, len);
    break;
  case MSG_AUDIO_CONFIG:
    keep (&h->audio_config, data, len);
    break;
  default:
    break;
  }
}

void
sc_simulcast_headers_clear (ScSimulcastHeaders *h)
{
  g_clear_pointer (&h->meta, g_bytes_unref);
  g_clear_pointer (&h->video_config, g_bytes_unref);
  g_clear_pointer (&h->audio_config, g_bytes_unref);
}

GBytes *
sc_simulcast_flv_tag (ScRtmpMediaType type, guint64 ts, const guint8 *data, gsize len)
{
  g_return_val_if_fail (len < (1 << 24), NULL);
  gsize total = 11 + len + 4;
  guint8 *b = g_malloc (total);
  guint32 ts32 = (guint32) ts;
  b[0] = (guint8) type;
  b[1] = len >> 16;
  b[2] = len >> 8;
  b[3] = len;
  b[4] = ts32 >> 16;
  b[5] = ts32 >> 8;
  b[6] = ts32;
  b[7] = ts32 >> 24;
  b[8] = b[9] = b[10] = 0;
  if (len)
    memcpy (b + 11, data, len);
  guint32 prev = 11 + len;
  b[11 + len] = prev >> 24;
  b[12 + len] = prev >> 16;
  b[13 + len] = prev >> 8;
  b[14 + len] = prev;
  return g_bytes_new_take (b, total);
}

static void
add_kept (GPtrArray *out, ScRtmpMediaType type, GBytes *kept, guint64 at)
{
  if (!kept)
    return;
  gsize n;
  const guint8 *d = g_bytes_get_data (kept, &n);
  g_ptr_array_add (out, sc_simulcast_flv_tag (type, at, d, n));
}

GPtrArray *
sc_simulcast_gate (ScSimulcastGate *g, const ScSimulcastHeaders *h, ScRtmpMediaType type,
                   guint64 ts, const guint8 *data, gsize len)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gsize off = 0;
  MsgKind kind = classify (type, data, len, &off);

  if (kind == MSG_OTHER)
    return out;
  if (!g->started || g->resync) {
    /* A decoder can start only here: parameters first, then the picture. */
    if (kind != MSG_KEYFRAME || !h->video_config || (g->started && ts < g->base_ms))
      return out;
    if (!g->started)
      g->base_ms = ts;
    g->started = TRUE;
    g->resync = FALSE;
    guint64 at = ts - g->base_ms;
    add_kept (out, SC_RTMP_MEDIA_DATA, h->meta, at);
    add_kept (out, SC_RTMP_MEDIA_VIDEO, h->video_config, at);
    add_kept (out, SC_RTMP_MEDIA_AUDIO, h->audio_config, at);
    g_ptr_array_add (out, sc_simulcast_flv_tag (type, at, data, len));
    return out;
  }
  /* Audio interleaved a little before the first keyframe belongs to no
   * picture the target has: it would only put its timeline below zero. */
  if (ts < g->base_ms) {
    if (kind == MSG_FRAME)
      return out;
    ts = g->base_ms;
  }
  g_ptr_array_add (out, sc_simulcast_flv_tag (type, ts - g->base_ms, data + off, len - off));
  return out;
}

GBytes *
sc_simulcast_flv_header (void)
{
  /* "FLV", version 1, audio and video, header size 9, then the size of
   * the tag before the first: none. */
  static const guint8 header[] = { 'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0 };
  return g_bytes_new_static (header, sizeof header);
}
