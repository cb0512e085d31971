/* JPEG thumbnails: seek, decode the frame nearest the time asked for, scale,
 * encode with the mjpeg encoder. */
#include "spacecast/record.h"
#include "spacecast/core.h"
#include "record-private.h"

#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

/* The decoded frame nearest target: the last one before it or the first at
 * or after it, whichever is closer; the last frame when the stream ends
 * before target. */
static AVFrame *
decode_at (AVFormatContext *ic, int vs, AVCodecContext *dec, gint64 target, GError **error)
{
  g_autoptr (AVPacket) pkt = av_packet_alloc ();
  g_autoptr (AVFrame) frame = av_frame_alloc ();
  AVFrame *best = NULL;
  gboolean draining = FALSE;

  for (;;) {
    int ret = avcodec_receive_frame (dec, frame);
    if (ret == 0) {
      gint64 ts = frame->best_effort_timestamp;
      if (ts != AV_NOPTS_VALUE && ts >= target && best != NULL &&
          best->best_effort_timestamp != AV_NOPTS_VALUE &&
          target - best->best_effort_timestamp < ts - target) {
        av_frame_unref (frame);
        return best;
      }
      av_frame_free (&best);
      best = av_frame_clone (frame);
      av_frame_unref (frame);
      if (ts == AV_NOPTS_VALUE || ts >= target)
        return best;
      continue;
    }
    if (ret == AVERROR_EOF || (ret == AVERROR (EAGAIN) && draining))
      break;
    if (ret != AVERROR (EAGAIN)) {
      sc_record_set_av_error (error, SC_ERROR_UNPROCESSABLE, ret, "cannot decode video", NULL);
      av_frame_free (&best);
      return NULL;
    }
    /* Feed the decoder. */
    for (;;) {
      ret = av_read_frame (ic, pkt);
      if (ret < 0) {
        avcodec_send_packet (dec, NULL);
        draining = TRUE;
        break;
      }
      if (pkt->stream_index == vs) {
        ret = avcodec_send_packet (dec, pkt);
        av_packet_unref (pkt);
        if (ret < 0 && ret != AVERROR (EAGAIN)) {
          sc_record_set_av_error (error, SC_ERROR_UNPROCESSABLE, ret, "cannot decode video", NULL);
          av_frame_free (&best);
          return NULL;
        }
        break;
      }
      av_packet_unref (pkt);
    }
  }
  if (best == NULL)
    g_set_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE, "no video frame could be decoded");
  return best;
}

static GBytes *
encode_jpeg (const AVFrame *src, int width, GError **error)
{
  int sw = src->width, sh = src->height;
  if (width <= 0)
    width = sw;
  width = MIN (width, 8192) & ~1;
  width = MAX (width, 2);
  int height = MAX (2, (int) ((gint64) sh * width / sw) & ~1);

  const AVCodec *enc = avcodec_find_encoder (AV_CODEC_ID_MJPEG);
  if (enc == NULL) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "no mjpeg encoder");
    return NULL;
  }
  g_autoptr (AVCodecContext) ctx = avcodec_alloc_context3 (enc);
  ctx->width = width;
  ctx->height = height;
  /* yuv420p flagged full range: what the deprecated yuvj420p meant. */
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->color_range = AVCOL_RANGE_JPEG;
  ctx->time_base = (AVRational) { 1, 25 };
  ctx->flags |= AV_CODEC_FLAG_QSCALE;
  ctx->global_quality = FF_QP2LAMBDA * 3;
  int ret = avcodec_open2 (ctx, enc, NULL);
  if (ret < 0) {
    sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "cannot open mjpeg encoder", NULL);
    return NULL;
  }

  g_autoptr (AVFrame) dst = av_frame_alloc ();
  dst->format = ctx->pix_fmt;
  dst->width = width;
  dst->height = height;
  if ((ret = av_frame_get_buffer (dst, 0)) < 0) {
    sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "out of memory", NULL);
    return NULL;
  }
  struct SwsContext *sws = sws_getContext (sw, sh, src->format, width, height,
                                           AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
  if (sws == NULL) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE, "cannot scale this picture format");
    return NULL;
  }
  /* Source range as decoded, output full range. */
  int src_full = src->color_range == AVCOL_RANGE_JPEG;
  const int *coefs = sws_getCoefficients (SWS_CS_DEFAULT);
  sws_setColorspaceDetails (sws, coefs, src_full, coefs, 1, 0, 1 << 16, 1 << 16);
  sws_scale (sws, (const uint8_t *const *) src->data, src->linesize, 0, sh,
             dst->data, dst->linesize);
  sws_freeContext (sws);
  dst->pts = 0;
  dst->color_range = AVCOL_RANGE_JPEG;
  dst->quality = ctx->global_quality;

  g_autoptr (AVPacket) pkt = av_packet_alloc ();
  if ((ret = avcodec_send_frame (ctx, dst)) < 0 ||
      (ret = avcodec_send_frame (ctx, NULL)) < 0 ||
      (ret = avcodec_receive_packet (ctx, pkt)) < 0) {
    sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "cannot encode JPEG", NULL);
    return NULL;
  }
  return g_bytes_new (pkt->data, pkt->size);
}

GBytes *
sc_record_thumbnail (const char *mp4_path, double time_s, int width, GError **error)
{
  AVFormatContext *raw = NULL;
  int ret = avformat_open_input (&raw, mp4_path, NULL, NULL);
  if (ret < 0) {
    sc_record_set_av_error (error, SC_ERROR_NOT_FOUND, ret, "cannot open", mp4_path);
    return NULL;
  }
  g_autoptr (AVFormatContext) ic = raw;
  if ((ret = avformat_find_stream_info (ic, NULL)) < 0) {
    sc_record_set_av_error (error, SC_ERROR_UNPROCESSABLE, ret, "cannot read", mp4_path);
    return NULL;
  }
  const AVCodec *codec = NULL;
  int vs = av_find_best_stream (ic, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (vs < 0 || codec == NULL) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE, "the asset has no video");
    return NULL;
  }
  AVStream *st = ic->streams[vs];
  g_autoptr (AVCodecContext) dec = avcodec_alloc_context3 (codec);
  avcodec_parameters_to_context (dec, st->codecpar);
  dec->thread_count = 1;
  if ((ret = avcodec_open2 (dec, codec, NULL)) < 0) {
    sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "cannot open decoder", NULL);
    return NULL;
  }

  if (time_s < 0)
    time_s = 0;
  gint64 target = av_rescale_q ((gint64) (time_s * AV_TIME_BASE), AV_TIME_BASE_Q, st->time_base);
  if (st->start_time != AV_NOPTS_VALUE)
    target += st->start_time;
  /* Back to the keyframe before target, then decode forward. */
  if (av_seek_frame (ic, vs, target, AVSEEK_FLAG_BACKWARD) < 0)
    av_seek_frame (ic, vs, 0, AVSEEK_FLAG_BACKWARD);

  g_autoptr (AVFrame) frame = decode_at (ic, vs, dec, target, error);
  if (frame == NULL)
    return NULL;
  return encode_jpeg (frame, width, error);
}
