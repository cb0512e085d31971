/* JPEG thumbnails: seek, decode the frame nearest the time asked for, scale,
 * encode with the mjpeg encoder; and the pool that does it off the main
 * loop (a 1080p frame takes ~190 ms, which no event loop may block for). */
#include "spacecast/record.h"
#include "spacecast/core.h"
#include "record-private.h"

#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <math.h>

/* Far beyond any asset (12 h at most), and small enough that no time base
 * overflows when a time is rescaled into it. */
#define MAX_TIME_S 1e9

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
  if (!isfinite (time_s) || time_s < 0 || time_s > MAX_TIME_S) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "time must be a finite number of seconds from 0");
    return NULL;
  }
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

/* ---- the pool ------------------------------------------------------------ */

typedef struct {
  ScThumbnailFunc func;
  gpointer user_data;
} Waiter;

/* Inputs are set on the main context before the push and never change;
 * the worker writes the result before handing the job back. */
typedef struct {
  ScThumbnailer *t;
  char *key;
  char *mp4_path;
  double time_s;
  int width;
  GArray *waiters;              /* Waiter; main context only */
  GBytes *jpeg;
  GError *error;
} Job;

typedef struct {
  char *key;
  GBytes *jpeg;
  GList link;                   /* in ScThumbnailer.lru */
} CacheEntry;

struct _ScThumbnailer {
  GMainContext *context;
  GThreadPool *pool;
  guint workers, max_queued;
  guint pending;                /* jobs queued or decoding */
  gboolean draining;
  GHashTable *jobs;             /* key -> Job, the pending ones */
  GHashTable *cache;            /* key -> CacheEntry */
  GQueue lru;                   /* of CacheEntry, most recently used first */
  gsize cache_bytes, cache_max;
};

static void
job_free (Job *job)
{
  g_free (job->key);
  g_free (job->mp4_path);
  g_array_unref (job->waiters);
  g_clear_pointer (&job->jpeg, g_bytes_unref);
  g_clear_error (&job->error);
  g_free (job);
}

static void
cache_entry_free (CacheEntry *e)
{
  g_free (e->key);
  g_bytes_unref (e->jpeg);
  g_free (e);
}

static void
cache_evict (ScThumbnailer *t, CacheEntry *e)
{
  g_queue_unlink (&t->lru, &e->link);
  t->cache_bytes -= g_bytes_get_size (e->jpeg);
  g_hash_table_remove (t->cache, e->key);
}

static void
cache_put (ScThumbnailer *t, const char *key, GBytes *jpeg)
{
  gsize size = g_bytes_get_size (jpeg);
  if (size > t->cache_max)
    return;
  while (t->cache_bytes + size > t->cache_max)
    cache_evict (t, g_queue_peek_tail (&t->lru));
  CacheEntry *e = g_new0 (CacheEntry, 1);
  e->key = g_strdup (key);
  e->jpeg = g_bytes_ref (jpeg);
  e->link.data = e;
  g_queue_push_head_link (&t->lru, &e->link);
  t->cache_bytes += size;
  g_hash_table_insert (t->cache, e->key, e);
}

static gboolean
deliver (gpointer data)
{
  Job *job = data;
  ScThumbnailer *t = job->t;

  g_hash_table_remove (t->jobs, job->key);
  t->pending--;
  if (job->jpeg)
    cache_put (t, job->key, job->jpeg);
  for (guint i = 0; i < job->waiters->len; i++) {
    Waiter *w = &g_array_index (job->waiters, Waiter, i);
    w->func (job->jpeg, job->error, w->user_data);
  }
  job_free (job);
  return G_SOURCE_REMOVE;
}

static void
decode (gpointer data, gpointer user_data)
{
  Job *job = data;
  job->jpeg = sc_record_thumbnail (job->mp4_path, job->time_s, job->width, &job->error);
  /* Always through a source: g_main_context_invoke would run deliver right
   * here whenever the owner happens not to hold the context (between the
   * iterations of a drain), on this thread. */
  GSource *source = g_idle_source_new ();
  /* As g_main_context_invoke would: an idle priority could starve behind
   * busy sockets. */
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, deliver, job, NULL);
  g_source_attach (source, job->t->context);
  g_source_unref (source);
}

ScThumbnailer *
sc_thumbnailer_new (guint workers, guint max_queued, gsize cache_bytes, GError **error)
{
  g_return_val_if_fail (workers > 0, NULL);
  g_autoptr (ScThumbnailer) t = g_new0 (ScThumbnailer, 1);
  t->context = g_main_context_ref_thread_default ();
  t->workers = workers;
  t->max_queued = max_queued;
  t->cache_max = cache_bytes;
  t->jobs = g_hash_table_new (g_str_hash, g_str_equal);
  t->cache = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                    (GDestroyNotify) cache_entry_free);
  g_queue_init (&t->lru);
  /* Exclusive: the threads exist from the start, so a push never has to
   * create one and cannot fail. */
  t->pool = g_thread_pool_new (decode, NULL, (int) workers, TRUE, error);
  if (!t->pool) {
    g_prefix_error (error, "cannot start %u thumbnail workers: ", workers);
    return NULL;
  }
  return g_steal_pointer (&t);
}

GBytes *
sc_thumbnailer_get (ScThumbnailer *t, const char *key, const char *mp4_path, double time_s,
                    int width, ScThumbnailFunc func, gpointer user_data, GError **error)
{
  g_autofree char *k = g_strdup_printf ("%s|%.6f|%d", key, time_s, width);
  CacheEntry *e = g_hash_table_lookup (t->cache, k);
  if (e) {
    g_queue_unlink (&t->lru, &e->link);
    g_queue_push_head_link (&t->lru, &e->link);
    return g_bytes_ref (e->jpeg);
  }
  if (t->draining) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE, "spacecast is shutting down");
    return NULL;
  }
  Job *job = g_hash_table_lookup (t->jobs, k);
  if (!job) {
    if (t->pending >= t->workers + t->max_queued) {
      g_set_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE,
                   "all %u thumbnail workers are busy and %u requests wait for them; "
                   "try again shortly", t->workers, t->max_queued);
      return NULL;
    }
    job = g_new0 (Job, 1);
    job->t = t;
    job->key = g_steal_pointer (&k);
    job->mp4_path = g_strdup (mp4_path);
    job->time_s = time_s;
    job->width = width;
    job->waiters = g_array_new (FALSE, FALSE, sizeof (Waiter));
    g_hash_table_insert (t->jobs, job->key, job);
    t->pending++;
    g_thread_pool_push (t->pool, job, NULL);
  }
  Waiter w = { func, user_data };
  g_array_append_val (job->waiters, w);
  return NULL;
}

void
sc_thumbnailer_drain (ScThumbnailer *t)
{
  t->draining = TRUE;
  while (t->pending > 0)
    g_main_context_iteration (t->context, TRUE);
}

void
sc_thumbnailer_free (ScThumbnailer *t)
{
  if (!t)
    return;
  /* A job still out would be handed back to freed memory. */
  g_return_if_fail (t->pending == 0);
  if (t->pool)
    g_thread_pool_free (t->pool, FALSE, TRUE);
  g_hash_table_unref (t->jobs);
  /* The lru's links live in the entries the cache frees. */
  g_hash_table_unref (t->cache);
  g_main_context_unref (t->context);
  g_free (t);
}
