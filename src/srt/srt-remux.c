/* MPEG-TS in, FLV tag bodies out.  libavformat's mpegts demuxer reads the
 * caller's stream; its FLV muxer does what RTMP encoders do (Annex B to
 * AVCC with an AVCDecoderConfigurationRecord, ADTS to raw AAC with an
 * AudioSpecificConfig through its automatic aac_adtstoasc), so the
 * recorder gets exactly what an RTMP publisher would have sent it.  The
 * muxer writes into memory, where the tags are cut out as they complete. */
#include "spacecast/srt.h"
#include "spacecast/core.h"

#include <libavformat/avformat.h>

#define IN_BUFFER (64 * 1024)
#define OUT_BUFFER (64 * 1024)
#define FLV_TAG_HEADER 11
#define FLV_PREV_SIZE 4

typedef struct {
  ScSrtReadFunc read;
  ScSrtTagFunc tag;
  gpointer user_data;
  GByteArray *flv;        /* muxer output not yet cut into tags */
  gboolean header_done;   /* the FLV file header was skipped */
} Remux;

static int
on_read (void *opaque, uint8_t *buf, int size)
{
  Remux *r = opaque;
  return r->read (r->user_data, buf, size);
}

/* Cut the complete tags at the front of the muxer's output. */
static int
on_write (void *opaque, uint8_t *buf, int size)
{
  Remux *r = opaque;
  g_byte_array_append (r->flv, buf, size);
  const guint8 *d = r->flv->data;
  gsize len = r->flv->len, pos = 0;

  if (!r->header_done) {
    if (len < 9)
      return size;
    gsize offset = ((gsize) d[5] << 24) | (d[6] << 16) | (d[7] << 8) | d[8];
    if (len < offset + FLV_PREV_SIZE)
      return size;
    pos = offset + FLV_PREV_SIZE;
    r->header_done = TRUE;
  }
  while (len - pos >= FLV_TAG_HEADER) {
    const guint8 *t = d + pos;
    gsize body = ((gsize) t[1] << 16) | (t[2] << 8) | t[3];
    if (len - pos < FLV_TAG_HEADER + body + FLV_PREV_SIZE)
      break;
    int type = t[0] & 0x1f;
    guint64 ts = ((guint64) t[7] << 24) | (t[4] << 16) | (t[5] << 8) | t[6];
    /* The muxer writes an empty AAC sequence header when the stream has no
     * AudioSpecificConfig yet; the real one follows with the first frame. */
    gboolean empty_header = type == 8 && body <= 2;
    if ((type == 8 || type == 9) && !empty_header)
      r->tag (type, ts, t + FLV_TAG_HEADER, body, r->user_data);
    pos += FLV_TAG_HEADER + body + FLV_PREV_SIZE;
  }
  g_byte_array_remove_range (r->flv, 0, pos);
  return size;
}

static void
set_av_error (GError **error, int averr, const char *what)
{
  char text[AV_ERROR_MAX_STRING_SIZE] = "";
  av_strerror (averr, text, sizeof text);
  g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "%s: %s", what, text);
}

static void
free_io (AVIOContext **pb)
{
  if (*pb)
    av_freep (&(*pb)->buffer);
  avio_context_free (pb);
}

/* avformat_open_input frees *inp when it fails. */
static gboolean
run (Remux *r, AVFormatContext **inp, AVFormatContext *out, GError **error)
{
  int ret;
  int map[2] = { -1, -1 };      /* output stream of the first H.264, the first AAC */
  int in_index[2] = { -1, -1 };

  if ((ret = avformat_open_input (inp, NULL, av_find_input_format ("mpegts"), NULL)) < 0) {
    set_av_error (error, ret, "not MPEG-TS");
    return FALSE;
  }
  AVFormatContext *in = *inp;
  if ((ret = avformat_find_stream_info (in, NULL)) < 0) {
    set_av_error (error, ret, "no stream information");
    return FALSE;
  }
  for (guint i = 0; i < in->nb_streams; i++) {
    enum AVCodecID id = in->streams[i]->codecpar->codec_id;
    int k = id == AV_CODEC_ID_H264 ? 0 : id == AV_CODEC_ID_AAC ? 1 : -1;
    if (k >= 0 && in_index[k] < 0)
      in_index[k] = (int) i;
  }
  if (in_index[0] < 0 && in_index[1] < 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED_TYPE,
                 "no H.264 video or AAC audio in the MPEG-TS");
    return FALSE;
  }
  for (int k = 0; k < 2; k++) {
    if (in_index[k] < 0)
      continue;
    AVStream *st = avformat_new_stream (out, NULL);
    if (!st || avcodec_parameters_copy (st->codecpar, in->streams[in_index[k]]->codecpar) < 0) {
      g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "out of memory");
      return FALSE;
    }
    st->codecpar->codec_tag = 0;
    map[k] = st->index;
  }
  AVDictionary *opts = NULL;
  av_dict_set (&opts, "flvflags", "no_duration_filesize", 0);
  ret = avformat_write_header (out, &opts);
  av_dict_free (&opts);
  if (ret < 0) {
    set_av_error (error, ret, "cannot remux to FLV");
    return FALSE;
  }
  avio_flush (out->pb);

  AVPacket *pkt = av_packet_alloc ();
  while ((ret = av_read_frame (in, pkt)) >= 0) {
    int k = pkt->stream_index == in_index[0] ? 0 : pkt->stream_index == in_index[1] ? 1 : -1;
    if (k >= 0) {
      AVStream *ist = in->streams[pkt->stream_index];
      pkt->stream_index = map[k];
      av_packet_rescale_ts (pkt, ist->time_base, out->streams[map[k]]->time_base);
      /* A packet the muxer refuses (timestamps going back across an
       * encoder's restart) is dropped, not the caller: the recorder
       * re-anchors clock jumps itself. */
      if (av_write_frame (out, pkt) >= 0)
        avio_flush (out->pb);
    }
    av_packet_unref (pkt);
  }
  av_packet_free (&pkt);
  av_write_trailer (out);
  avio_flush (out->pb);
  if (ret != AVERROR_EOF && ret != AVERROR_EXIT) {
    set_av_error (error, ret, "reading MPEG-TS");
    return FALSE;
  }
  return TRUE;
}

gboolean
sc_srt_remux (ScSrtReadFunc read, ScSrtTagFunc tag, gpointer user_data, GError **error)
{
  Remux r = { .read = read, .tag = tag, .user_data = user_data,
              .flv = g_byte_array_new () };
  AVFormatContext *in = avformat_alloc_context ();
  AVFormatContext *out = NULL;
  avformat_alloc_output_context2 (&out, NULL, "flv", NULL);
  AVIOContext *in_pb = avio_alloc_context (av_malloc (IN_BUFFER), IN_BUFFER, 0, &r, on_read,
                                           NULL, NULL);
  AVIOContext *out_pb = avio_alloc_context (av_malloc (OUT_BUFFER), OUT_BUFFER, 1, &r, NULL,
                                            on_write, NULL);
  gboolean ok = FALSE;

  if (!in || !out || !in_pb || !out_pb) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "out of memory");
    avformat_free_context (in);
  } else {
    in->pb = in_pb;
    in->flags |= AVFMT_FLAG_CUSTOM_IO;
    out->pb = out_pb;
    ok = run (&r, &in, out, error);
    /* Custom I/O: neither context frees its AVIOContext. */
    avformat_close_input (&in);
  }
  avformat_free_context (out);
  free_io (&in_pb);
  free_io (&out_pb);
  g_byte_array_unref (r.flv);
  return ok;
}
