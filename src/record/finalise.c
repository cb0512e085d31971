/* On-demand side: the asset's complete segments remuxed into one faststart
 * MP4, and the MP4 probed for what the asset object reports. */
#include "spacecast/record.h"
#include "spacecast/core.h"
#include "record-private.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <libavutil/mathematics.h>

void
sc_asset_media_clear (ScAssetMedia *m)
{
  g_clear_pointer (&m->aspect_ratio, g_free);
  g_clear_pointer (&m->resolution_tier, g_free);
  g_clear_pointer (&m->video_codec, g_free);
  g_clear_pointer (&m->audio_codec, g_free);
  g_clear_pointer (&m->recording_times, g_array_unref);
}

static AVFormatContext *
open_input (const char *path, GError **error)
{
  AVFormatContext *ic = NULL;
  int ret = avformat_open_input (&ic, path, NULL, NULL);
  if (ret < 0) {
    sc_record_set_av_error (error, SC_ERROR_UNPROCESSABLE, ret, "cannot open", path);
    return NULL;
  }
  if ((ret = avformat_find_stream_info (ic, NULL)) < 0) {
    sc_record_set_av_error (error, SC_ERROR_UNPROCESSABLE, ret, "cannot read media in", path);
    avformat_close_input (&ic);
    return NULL;
  }
  return ic;
}

/* First stream of the type that a decoder could use (a TS stream whose
 * parameters never showed up has no width or sample rate). */
static int
find_stream (AVFormatContext *ic, enum AVMediaType type)
{
  for (guint i = 0; i < ic->nb_streams; i++) {
    AVCodecParameters *p = ic->streams[i]->codecpar;
    if (p->codec_type != type)
      continue;
    if (type == AVMEDIA_TYPE_VIDEO && p->width > 0)
      return i;
    if (type == AVMEDIA_TYPE_AUDIO && p->sample_rate > 0)
      return i;
  }
  return -1;
}

typedef struct {
  AVFormatContext *oc;
  int out[2];                   /* output index for video, audio; -1 */
  gint64 last_dts[2];           /* output time base */
  gint64 base;                  /* AV_TIME_BASE: where the asset starts */
  gboolean have_base;
  guint64 n_packets;
} Concat;

/* Output streams: the first segment that has each type decides it. */
static gboolean
setup_streams (Concat *c, GPtrArray *paths, GError **error)
{
  AVCodecParameters *par[2] = { NULL, NULL };
  for (guint i = 0; i < paths->len && (!par[0] || !par[1]); i++) {
    g_autoptr (AVFormatContext) ic = open_input (paths->pdata[i], NULL);
    if (ic == NULL)
      continue;
    for (int k = 0; k < 2; k++) {
      int s = find_stream (ic, k == 0 ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO);
      if (par[k] == NULL && s >= 0 &&
          (!(par[k] = avcodec_parameters_alloc ()) ||
           avcodec_parameters_copy (par[k], ic->streams[s]->codecpar) < 0)) {
        avcodec_parameters_free (&par[0]);
        avcodec_parameters_free (&par[1]);
        g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "out of memory reading %s",
                     (char *) paths->pdata[i]);
        return FALSE;
      }
    }
  }
  if (!par[0] && !par[1]) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE,
                 "the recording has no decodable audio or video");
    return FALSE;
  }
  for (int k = 0; k < 2; k++) {
    c->out[k] = -1;
    c->last_dts[k] = AV_NOPTS_VALUE;
    if (par[k] == NULL)
      continue;
    c->out[k] = sc_record_add_stream (c->oc, par[k], error);
    avcodec_parameters_free (&par[k]);
    if (c->out[k] < 0) {
      avcodec_parameters_free (&par[1]);
      return FALSE;
    }
    c->oc->streams[c->out[k]]->codecpar->codec_tag = 0;
  }
  return TRUE;
}

static gboolean
copy_segment (Concat *c, const char *path, GError **error)
{
  AVFormatContext *raw = NULL;
  if (avformat_open_input (&raw, path, NULL, NULL) < 0)
    return TRUE;   /* a damaged segment is skipped, the rest still plays */
  g_autoptr (AVFormatContext) ic = raw;

  /* The recorder keeps one continuous timeline; only its start is moved to
   * zero.  That start needs a full probe; later segments only need their
   * streams' types, which the PMT gives at once (a much faster open). */
  if (!c->have_base) {
    if (avformat_find_stream_info (ic, NULL) < 0 || ic->start_time == AV_NOPTS_VALUE)
      return TRUE;
    c->base = ic->start_time;
    c->have_base = TRUE;
  }
  int in[2] = { -1, -1 };   /* input stream for video, audio */

  g_autoptr (AVPacket) pkt = av_packet_alloc ();
  while (av_read_frame (ic, pkt) >= 0) {
    /* The first stream of each type is the one (streams may show up late). */
    enum AVMediaType t = ic->streams[pkt->stream_index]->codecpar->codec_type;
    int k = t == AVMEDIA_TYPE_VIDEO ? 0 : t == AVMEDIA_TYPE_AUDIO ? 1 : -1;
    if (k >= 0 && in[k] < 0)
      in[k] = pkt->stream_index;
    if (k < 0 || in[k] != pkt->stream_index || c->out[k] < 0 || pkt->dts == AV_NOPTS_VALUE) {
      av_packet_unref (pkt);
      continue;
    }
    AVStream *ist = ic->streams[pkt->stream_index];
    AVStream *ost = c->oc->streams[c->out[k]];
    gint64 shift = av_rescale_q (c->base, AV_TIME_BASE_Q, ist->time_base);
    pkt->dts -= shift;
    if (pkt->pts != AV_NOPTS_VALUE)
      pkt->pts -= shift;
    av_packet_rescale_ts (pkt, ist->time_base, ost->time_base);
    pkt->stream_index = c->out[k];
    pkt->pos = -1;

    /* Jitter at a reconnect can put a packet behind its predecessor. */
    if (c->last_dts[k] != AV_NOPTS_VALUE && pkt->dts <= c->last_dts[k]) {
      if (k == 1) {
        av_packet_unref (pkt);
        continue;
      }
      pkt->dts = c->last_dts[k] + 1;
      if (pkt->pts != AV_NOPTS_VALUE && pkt->pts < pkt->dts)
        pkt->pts = pkt->dts;
    }
    c->last_dts[k] = pkt->dts;

    int ret = av_interleaved_write_frame (c->oc, pkt);
    if (ret < 0) {
      sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "cannot write MP4 from", path);
      return FALSE;
    }
    c->n_packets++;
  }
  return TRUE;
}

static gboolean
write_mp4 (const char *asset_dir, const ScRecordingInfo *info, GError **error)
{
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < info->segments->len; i++) {
    const ScSegmentInfo *s = &g_array_index (info->segments, ScSegmentInfo, i);
    char *p = g_build_filename (asset_dir, s->uri, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (paths, p);
    else
      g_free (p);
  }
  if (paths->len == 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE, "no media was recorded");
    return FALSE;
  }

  g_autofree char *final = g_build_filename (asset_dir, "highest.mp4", NULL);
  g_autofree char *part = g_build_filename (asset_dir, "highest.mp4.part", NULL);
  Concat c = { 0 };
  int ret = avformat_alloc_output_context2 (&c.oc, NULL, "mp4", part);
  if (ret < 0) {
    sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "mp4 muxer", NULL);
    return FALSE;
  }

  gboolean ok = setup_streams (&c, paths, error);
  if (ok) {
    AVDictionary *opts = NULL;
    av_dict_set (&opts, "movflags", "+faststart", 0);
    if ((ret = avio_open (&c.oc->pb, part, AVIO_FLAG_WRITE)) < 0 ||
        (ret = avformat_write_header (c.oc, &opts)) < 0) {
      sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "cannot write", part);
      ok = FALSE;
    }
    av_dict_free (&opts);
  }
  for (guint i = 0; ok && i < paths->len; i++)
    ok = copy_segment (&c, paths->pdata[i], error);
  if (ok && c.n_packets == 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE, "the recording has no media packets");
    ok = FALSE;
  }
  if (ok && (ret = av_write_trailer (c.oc)) < 0) {
    sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "cannot finish", part);
    ok = FALSE;
  }
  avio_closep (&c.oc->pb);
  avformat_free_context (c.oc);

  if (ok && g_rename (part, final) != 0) {
    int e = errno;
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "cannot rename %s: %s", part, g_strerror (e));
    ok = FALSE;
  }
  if (!ok)
    g_unlink (part);
  return ok;
}

static char *
tier_for (int w, int h)
{
  int short_side = MIN (w, h);
  if (short_side <= 720)
    return g_strdup ("720p");
  if (short_side <= 1080)
    return g_strdup ("1080p");
  if (short_side <= 1440)
    return g_strdup ("1440p");
  return g_strdup ("2160p");
}

gboolean
sc_record_probe (const char *path, ScAssetMedia *out, GError **error)
{
  memset (out, 0, sizeof *out);
  g_autoptr (AVFormatContext) ic = open_input (path, error);
  if (ic == NULL)
    return FALSE;

  out->max_frame_rate = -1;
  int v = find_stream (ic, AVMEDIA_TYPE_VIDEO);
  int a = find_stream (ic, AVMEDIA_TYPE_AUDIO);
  if (v < 0 && a < 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE, "no audio or video track in %s", path);
    return FALSE;
  }
  if (ic->duration != AV_NOPTS_VALUE)
    out->duration = ic->duration / (double) AV_TIME_BASE;

  if (v >= 0) {
    AVStream *st = ic->streams[v];
    AVCodecParameters *p = st->codecpar;
    out->has_video = TRUE;
    out->video_codec = g_strdup (avcodec_get_name (p->codec_id));
    out->max_width = p->width;
    out->max_height = p->height;
    AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    if (fr.num > 0 && fr.den > 0)
      out->max_frame_rate = round (av_q2d (fr) * 1000) / 1000;

    /* Display aspect: pixel aspect ratio applied, reduced. */
    AVRational sar = av_guess_sample_aspect_ratio (ic, st, NULL);
    if (sar.num <= 0 || sar.den <= 0)
      sar = (AVRational) { 1, 1 };
    int dw, dh;
    av_reduce (&dw, &dh, (gint64) p->width * sar.num, (gint64) p->height * sar.den, 1 << 20);
    out->aspect_ratio = g_strdup_printf ("%d:%d", dw, dh);
    out->resolution_tier = tier_for (p->width, p->height);
  } else {
    out->resolution_tier = g_strdup ("audio-only");
  }
  if (a >= 0) {
    AVCodecParameters *p = ic->streams[a]->codecpar;
    out->has_audio = TRUE;
    out->audio_codec = g_strdup (avcodec_get_name (p->codec_id));
    out->max_channels = p->ch_layout.nb_channels;
  }
  out->recording_times = g_array_new (FALSE, TRUE, sizeof (ScRecordingTime));
  return TRUE;
}

/* A daemon killed mid-recording leaves the segment it was writing as a
 * .part (and a finalise killed mid-way its highest.mp4.part).  Nothing lists
 * them and the recording ends at the last complete segment, so they go: a
 * finalised asset dir holds only whole files. */
static void
remove_parts (const char *asset_dir)
{
  g_autoptr (GDir) d = g_dir_open (asset_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    if (!g_str_has_suffix (name, ".part"))
      continue;
    g_autofree char *path = g_build_filename (asset_dir, name, NULL);
    if (g_unlink (path) != 0)
      g_warning ("cannot remove %s: %s", path, g_strerror (errno));
  }
}

gboolean
sc_record_finalise (const char *asset_dir, ScAssetMedia *out, GError **error)
{
  ScRecordingInfo info;
  memset (out, 0, sizeof *out);
  remove_parts (asset_dir);
  sc_recording_info_init (&info);
  gboolean ok = sc_recording_info_load (asset_dir, &info, error) &&
                write_mp4 (asset_dir, &info, error);
  if (ok) {
    /* A dir left by a crash still gets a closed DVR playlist. */
    info.closed = TRUE;
    ok = sc_recording_info_save (asset_dir, &info, error) &&
         sc_recording_write_playlist (asset_dir, &info, error);
  }
  if (ok) {
    g_autofree char *mp4 = g_build_filename (asset_dir, "highest.mp4", NULL);
    ok = sc_record_probe (mp4, out, error);
  }
  if (ok) {
    for (guint c = 0; c < info.connections->len; c++) {
      ScRecordingTime t = { .started_at = g_array_index (info.connections, double, c) };
      for (guint i = 0; i < info.segments->len; i++) {
        const ScSegmentInfo *s = &g_array_index (info.segments, ScSegmentInfo, i);
        if (s->connection == c)
          t.duration += s->duration;
      }
      g_array_append_val (out->recording_times, t);
    }
  }
  sc_recording_info_clear (&info);
  return ok;
}
