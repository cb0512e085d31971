/* Live side of the recorder: FLV tag bodies in, MPEG-TS segments and HLS
 * playlists out.  Each segment is its own mpegts muxer writing
 * seg_NNNNN.ts.part, renamed when complete, so whatever is named .ts on disk
 * is whole.  All timestamps are kept in one millisecond timeline per asset
 * that continues across encoder connections. */
#include "spacecast/record.h"
#include "spacecast/core.h"
#include "record-private.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>

#define SEGMENT_MS 2000
#define HEADER_WAIT_MS 1000     /* wait this long for the other stream's header */
#define HEADER_WAIT_FRAMES 200
#define JUMP_BACK_MS 1000       /* clock jumps beyond these are re-anchored */
#define JUMP_FORWARD_MS 10000

typedef struct {
  gboolean video;
  gint64 dts, pts;              /* ms, input timeline */
  gboolean key;
  AVPacket *pkt;                /* payload only */
} Frame;

struct _ScRecorder {
  char *asset_dir;
  ScRecordingInfo info;
  gboolean closed;

  /* Per connection. */
  AVCodecParameters *vpar, *apar;   /* from the sequence headers */
  AVBSFContext *bsf;
  gboolean configured, use_video, use_audio;
  GQueue pending;                   /* Frame*, until configured */
  gboolean have_offset;
  gint64 ts_offset;                 /* input ms + offset = asset ms */
  gint64 conn_start;                /* asset ms where this connection began */
  double conn_started_at;
  gboolean conn_logged;             /* appended to info.connections */
  gboolean next_discontinuity;
  gboolean force_cut;
  gint64 last_vdts, last_adts;      /* asset ms, -1 before the first */
  gint64 vdelta, adur;
  gint64 grid_vdts, grid_vdelta;    /* the last connection's last frame, its step */

  /* Segment in progress. */
  AVFormatContext *seg;
  int seg_v, seg_a;
  char *seg_part, *seg_name;
  gint64 seg_start, seg_end;        /* asset ms */
  gint64 seg_shown_end;             /* its latest frame's end by pts */
  gboolean seg_discontinuity;
  gint64 asset_end;                 /* end of the last complete segment */
  gint64 shown_end;                 /* the same for complete segments */

  ScLivePlaylist *live;              /* NULL without a live dir */
};

static void
frame_free (gpointer p)
{
  Frame *f = p;
  av_packet_free (&f->pkt);
  g_free (f);
}

static gboolean
ensure_dir (const char *dir, GError **error)
{
  if (g_mkdir_with_parents (dir, 0755) != 0) {
    int e = errno;
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "cannot create %s: %s", dir,
                 g_strerror (e));
    return FALSE;
  }
  return TRUE;
}

static void
reset_connection (ScRecorder *r)
{
  avcodec_parameters_free (&r->vpar);
  avcodec_parameters_free (&r->apar);
  av_bsf_free (&r->bsf);
  g_queue_clear_full (&r->pending, frame_free);
  r->configured = r->use_video = r->use_audio = FALSE;
  r->have_offset = FALSE;
  r->conn_logged = FALSE;
  /* Where the next connection's video goes on: the frame grid so far. */
  if (r->last_vdts >= 0) {
    r->grid_vdts = r->last_vdts;
    r->grid_vdelta = r->vdelta;
  }
  r->last_vdts = r->last_adts = -1;
  r->vdelta = 33;
  r->adur = 0;
}

ScRecorder *
sc_recorder_new (const char *asset_dir, const char *live_dir, GError **error)
{
  g_return_val_if_fail (asset_dir != NULL, NULL);
  if (!ensure_dir (asset_dir, error) || (live_dir && !ensure_dir (live_dir, error)))
    return NULL;

  ScRecorder *r = g_new0 (ScRecorder, 1);
  r->asset_dir = g_strdup (asset_dir);
  sc_recording_info_init (&r->info);
  g_queue_init (&r->pending);
  r->conn_started_at = g_get_real_time () / 1e6;
  r->last_vdts = r->grid_vdts = -1;
  reset_connection (r);

  /* A recording already there (the daemon restarted within the reconnect
   * window) is continued, never overwritten. */
  if (!sc_recording_info_load (asset_dir, &r->info, error)) {
    sc_recorder_free (r);
    return NULL;
  }
  if (r->info.segments->len > 0) {
    double end = 0;
    for (guint i = 0; i < r->info.segments->len; i++)
      end += g_array_index (r->info.segments, ScSegmentInfo, i).duration;
    r->asset_end = r->shown_end = llround (end * 1000);
    r->next_discontinuity = TRUE;
    r->info.closed = FALSE;
  }
  if (live_dir)
    r->live = sc_live_playlist_new (live_dir);
  return r;
}

void
sc_recorder_free (ScRecorder *r)
{
  if (r == NULL)
    return;
  reset_connection (r);
  if (r->seg) {
    /* Abandoned like a crash would: the .part stays, never listed. */
    avio_closep (&r->seg->pb);
    avformat_free_context (r->seg);
  }
  g_free (r->seg_part);
  g_free (r->seg_name);
  g_clear_pointer (&r->live, sc_live_playlist_free);
  sc_recording_info_clear (&r->info);
  g_free (r->asset_dir);
  g_free (r);
}

/* ---- segments ---- */

static gboolean
segment_open (ScRecorder *r, gint64 start, GError **error)
{
  guint index = r->info.segments->len;
  g_autofree char *name = g_strdup_printf ("seg_%05u.ts", index);
  g_autofree char *path = g_build_filename (r->asset_dir, name, NULL);
  g_autofree char *part = g_strconcat (path, ".part", NULL);
  AVFormatContext *oc = NULL;
  int ret;

  ret = avformat_alloc_output_context2 (&oc, NULL, "mpegts", part);
  if (ret < 0) {
    sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "mpegts muxer", NULL);
    return FALSE;
  }
  r->seg_v = r->use_video ? sc_record_add_stream (oc, r->bsf->par_out, error) : -1;
  r->seg_a = r->use_audio && !(r->use_video && r->seg_v < 0)
      ? sc_record_add_stream (oc, r->apar, error) : -1;
  if ((r->use_video && r->seg_v < 0) || (r->use_audio && r->seg_a < 0)) {
    avformat_free_context (oc);
    return FALSE;
  }
  for (guint i = 0; i < oc->nb_streams; i++)
    oc->streams[i]->time_base = (AVRational) { 1, 1000 };
  if ((ret = avio_open (&oc->pb, part, AVIO_FLAG_WRITE)) < 0 ||
      (ret = avformat_write_header (oc, NULL)) < 0) {
    sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "cannot start segment", part);
    avio_closep (&oc->pb);
    avformat_free_context (oc);
    g_unlink (part);
    return FALSE;
  }

  if (!r->conn_logged) {
    g_array_append_val (r->info.connections, r->conn_started_at);
    r->conn_logged = TRUE;
  }
  r->seg = oc;
  g_free (r->seg_part);
  r->seg_part = g_steal_pointer (&part);
  g_free (r->seg_name);
  r->seg_name = g_steal_pointer (&name);
  r->seg_start = r->seg_end = r->seg_shown_end = start;
  r->seg_discontinuity = r->next_discontinuity;
  r->next_discontinuity = FALSE;
  return TRUE;
}

/* A segment that cannot be written (the disk is full) is dropped whole,
 * its .part too, which gives the space it took back: nothing half-written
 * stays, and the store can still record what happened.  The recording
 * goes on from the next keyframe where the last complete segment ended, as
 * across a reconnect: what could not be written is missing, not a hole. */
static void
segment_abandon (ScRecorder *r)
{
  if (r->seg) {
    avio_closep (&r->seg->pb);
    avformat_free_context (r->seg);
    r->seg = NULL;
  }
  g_unlink (r->seg_part);
  r->have_offset = FALSE;
  r->last_vdts = r->last_adts = -1;
  r->next_discontinuity = TRUE;
}

/* Close the segment in progress; it ends at end_ms (asset timeline). */
static gboolean
segment_close (ScRecorder *r, gint64 end_ms, GError **error)
{
  AVFormatContext *oc = g_steal_pointer (&r->seg);
  int ret = av_write_trailer (oc);
  avio_closep (&oc->pb);
  avformat_free_context (oc);
  if (ret < 0) {
    sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "cannot finish segment", r->seg_part);
    segment_abandon (r);
    return FALSE;
  }

  g_autofree char *path = g_build_filename (r->asset_dir, r->seg_name, NULL);
  if (g_rename (r->seg_part, path) != 0) {
    int e = errno;
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "cannot rename %s: %s", r->seg_part,
                 g_strerror (e));
    segment_abandon (r);
    return FALSE;
  }
  r->shown_end = MAX (r->shown_end, r->seg_shown_end);

  double duration = MAX (end_ms - r->seg_start, 1) / 1000.0;
  ScSegmentInfo s = {
    .uri = g_strdup (r->seg_name),
    .duration = duration,
    .connection = r->info.connections->len - 1,
    .discontinuity = r->seg_discontinuity,
  };
  g_array_append_val (r->info.segments, s);
  r->asset_end = r->seg_start + MAX (end_ms - r->seg_start, 1);

  return sc_recording_info_save (r->asset_dir, &r->info, error) &&
         sc_recording_write_playlist (r->asset_dir, &r->info, error) &&
         (r->live == NULL ||
          sc_live_playlist_add (r->live, path, duration, s.discontinuity, error));
}

/* One packet (already Annex B for video) into the segments. */
static gboolean
write_packet (ScRecorder *r, gboolean video, AVPacket *pkt, GError **error)
{
  gboolean key = video ? (pkt->flags & AV_PKT_FLAG_KEY) != 0 : !r->use_video;

  if (r->seg == NULL && !key)
    return TRUE;   /* segments start on a keyframe */
  if (!r->have_offset) {
    r->ts_offset = r->asset_end - pkt->dts;
    /* With B-frames the last connection's final frames are shown past its
     * last dts: this connection's first frame comes after them, or the two
     * sessions' frames interleave at the join (seen: a frame of the first
     * shown after the second's keyframe). */
    if (pkt->pts + r->ts_offset < r->shown_end)
      r->ts_offset = r->shown_end - pkt->pts;
    /* Joined right after the last connection's last frame, video goes on
     * on its frame grid.  Joined at any ms (where the audio ended), every
     * later frame would sit up to half a frame off it, and a player or
     * transcoder on the stream's 1/30 s ticks would find two frames in one
     * tick every few frames.  A few frames on, the ms-rounded step would
     * no longer say where the grid is. */
    gint64 start = pkt->dts + r->ts_offset;
    if (video && r->grid_vdts >= 0 && r->grid_vdelta > 0 && start > r->grid_vdts &&
        start - r->grid_vdts <= 4 * r->grid_vdelta) {
      gint64 n = (start - r->grid_vdts + r->grid_vdelta - 1) / r->grid_vdelta;
      r->ts_offset += r->grid_vdts + n * r->grid_vdelta - start;
    }
    r->conn_start = r->asset_end;
    r->have_offset = TRUE;
  }
  gint64 dts = pkt->dts + r->ts_offset;
  gint64 *last = video ? &r->last_vdts : &r->last_adts;
  if (*last >= 0 && (dts < *last - JUMP_BACK_MS || dts > *last + JUMP_FORWARD_MS)) {
    /* The encoder's clock jumped: re-anchor it where the recording is, in a
     * new segment after a discontinuity. */
    r->ts_offset += r->seg_end - dts;
    dts = r->seg_end;
    r->force_cut = r->next_discontinuity = TRUE;
  } else if (*last >= 0 && dts <= *last) {
    return TRUE;   /* the muxers need increasing timestamps */
  }
  gint64 pts = pkt->pts + r->ts_offset;
  /* Audio interleaved a little before the first keyframe would overlap
   * what came before this connection. */
  if (dts < r->conn_start)
    return TRUE;

  if (r->seg && key && (r->force_cut || dts - r->seg_start >= SEGMENT_MS)) {
    r->force_cut = FALSE;
    if (!segment_close (r, dts, error))
      return FALSE;
  }
  if (r->seg == NULL && !segment_open (r, dts, error))
    return FALSE;

  if (video) {
    if (r->last_vdts >= 0 && dts - r->last_vdts < 1000)
      r->vdelta = dts - r->last_vdts;
    r->seg_end = MAX (r->seg_end, dts + r->vdelta);
    /* A step is a frame's duration rounded to the ms, either way: one ms
     * more keeps the next connection's first frame a whole frame after
     * this one (33 ms after a 30 fps frame puts both in one 1/30 s tick). */
    r->seg_shown_end = MAX (r->seg_shown_end, pts + r->vdelta + 1);
  } else {
    r->seg_end = MAX (r->seg_end, dts + r->adur);
  }
  *last = dts;

  int index = video ? r->seg_v : r->seg_a;
  AVStream *st = r->seg->streams[index];
  pkt->stream_index = index;
  pkt->dts = av_rescale_q (dts, (AVRational) { 1, 1000 }, st->time_base);
  pkt->pts = av_rescale_q (pts, (AVRational) { 1, 1000 }, st->time_base);
  pkt->duration = 0;
  int ret = av_interleaved_write_frame (r->seg, pkt);
  if (ret < 0) {
    sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "cannot write", r->seg_part);
    segment_abandon (r);
    return FALSE;
  }
  return TRUE;
}

static gboolean
write_frame (ScRecorder *r, Frame *f, GError **error)
{
  if (f->video ? !r->use_video : !r->use_audio)
    return TRUE;   /* a stream this connection was not set up with */

  f->pkt->dts = f->dts;
  f->pkt->pts = f->pts;
  if (f->key)
    f->pkt->flags |= AV_PKT_FLAG_KEY;
  if (!f->video)
    return write_packet (r, FALSE, f->pkt, error);

  int ret = av_bsf_send_packet (r->bsf, f->pkt);
  if (ret < 0) {
    sc_record_set_av_error (error, SC_ERROR_INVALID, ret, "bad H.264 frame", NULL);
    return FALSE;
  }
  g_autoptr (AVPacket) out = av_packet_alloc ();
  while ((ret = av_bsf_receive_packet (r->bsf, out)) >= 0) {
    gboolean ok = write_packet (r, TRUE, out, error);
    av_packet_unref (out);
    if (!ok)
      return FALSE;
  }
  if (ret != AVERROR (EAGAIN) && ret != AVERROR_EOF) {
    sc_record_set_av_error (error, SC_ERROR_INVALID, ret, "bad H.264 frame", NULL);
    return FALSE;
  }
  return TRUE;
}

static gboolean
setup_bsf (ScRecorder *r, GError **error)
{
  const AVBitStreamFilter *filter = av_bsf_get_by_name ("h264_mp4toannexb");
  int ret;

  av_bsf_free (&r->bsf);
  if ((ret = av_bsf_alloc (filter, &r->bsf)) < 0 ||
      (ret = avcodec_parameters_copy (r->bsf->par_in, r->vpar)) < 0 ||
      (ret = av_bsf_init (r->bsf)) < 0) {
    av_bsf_free (&r->bsf);
    sc_record_set_av_error (error, SC_ERROR_INVALID, ret, "bad AVC sequence header", NULL);
    return FALSE;
  }
  return TRUE;
}

/* Decide the streams of this connection and flush what waited for it. */
static gboolean
configure (ScRecorder *r, GError **error)
{
  r->use_video = r->vpar != NULL;
  r->use_audio = r->apar != NULL;
  r->configured = TRUE;

  gboolean ok = TRUE;
  Frame *f;
  while ((f = g_queue_pop_head (&r->pending))) {
    if (ok)
      ok = write_frame (r, f, error);
    frame_free (f);
  }
  return ok;
}

static gboolean
maybe_configure (ScRecorder *r, GError **error)
{
  if (r->configured || g_queue_is_empty (&r->pending))
    return TRUE;
  Frame *first = g_queue_peek_head (&r->pending);
  Frame *last = g_queue_peek_tail (&r->pending);
  if ((r->vpar && r->apar) || last->dts - first->dts >= HEADER_WAIT_MS ||
      g_queue_get_length (&r->pending) >= HEADER_WAIT_FRAMES)
    return configure (r, error);
  return TRUE;
}

static void
set_header (AVCodecParameters **slot, enum AVMediaType type, enum AVCodecID id,
            const guint8 *data, gsize len, gboolean *changed)
{
  AVCodecParameters *par = *slot;
  *changed = par == NULL || par->extradata_size != (int) len ||
             memcmp (par->extradata, data, len) != 0;
  if (!*changed)
    return;
  if (par == NULL)
    par = *slot = avcodec_parameters_alloc ();
  av_freep (&par->extradata);
  par->extradata = av_mallocz (len + AV_INPUT_BUFFER_PADDING_SIZE);
  memcpy (par->extradata, data, len);
  par->extradata_size = len;
  par->codec_type = type;
  par->codec_id = id;
}

/* The AudioSpecificConfig's sampling frequency (ISO 14496-3 1.6.2.1): the
 * AAC decoder validates the config and gives the channels, but leaves the
 * rate unset until it decodes a frame. */
static int
asc_sample_rate (const guint8 *d, gsize len)
{
  static const int rates[] = { 96000, 88200, 64000, 48000, 44100, 32000, 24000,
                               22050, 16000, 12000, 11025, 8000, 7350 };
  guint64 bits = 0;
  for (gsize i = 0; i < MIN (len, 8); i++)
    bits |= (guint64) d[i] << (56 - 8 * i);
  int pos = 5;
  if ((bits >> 59) == 31)
    pos += 6;                                    /* escaped object type */
  int index = (bits >> (64 - pos - 4)) & 0xf;
  pos += 4;
  if (index == 15)
    return len * 8 >= (gsize) pos + 24 ? (int) ((bits >> (64 - pos - 24)) & 0xffffff) : 0;
  return index < (int) G_N_ELEMENTS (rates) && len * 8 >= (gsize) pos ? rates[index] : 0;
}

static gboolean
audio_params (AVCodecParameters *par, gint64 *frame_ms)
{
  const AVCodec *dec = avcodec_find_decoder (AV_CODEC_ID_AAC);
  g_autoptr (AVCodecContext) ctx = avcodec_alloc_context3 (dec);
  int rate = asc_sample_rate (par->extradata, par->extradata_size);
  if (rate <= 0 || avcodec_parameters_to_context (ctx, par) < 0 ||
      avcodec_open2 (ctx, dec, NULL) < 0)
    return FALSE;
  par->sample_rate = rate;
  par->frame_size = 1024;
  av_channel_layout_uninit (&par->ch_layout);
  av_channel_layout_copy (&par->ch_layout, &ctx->ch_layout);
  *frame_ms = MAX (1, 1024 * 1000 / rate);
  return TRUE;
}

gboolean
sc_recorder_push (ScRecorder *r, int flv_type, guint64 ts_ms, const guint8 *data,
                  gsize len, GError **error)
{
  g_return_val_if_fail (r != NULL, FALSE);
  if (r->closed) {
    g_set_error (error, SC_ERROR, SC_ERROR_CONFLICT, "recording already closed");
    return FALSE;
  }

  Frame f = { .video = flv_type == SC_FLV_TAG_VIDEO, .dts = ts_ms, .pts = ts_ms };
  const guint8 *payload;
  gsize plen;
  gboolean changed;

  if (flv_type == SC_FLV_TAG_VIDEO) {
    if (len < 2 || (data[0] & 0x0f) != 7) {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED_TYPE,
                   "only H.264 video can be recorded (codec id %d)", len ? data[0] & 0x0f : -1);
      return FALSE;
    }
    if ((data[0] >> 4) == 5 || data[1] == 2)
      return TRUE;   /* command frame, end of sequence */
    if (len < 5) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "truncated video message");
      return FALSE;
    }
    gint32 cts = (data[2] << 16) | (data[3] << 8) | data[4];
    if (cts & 0x800000)
      cts -= 0x1000000;
    payload = data + 5;
    plen = len - 5;
    if (data[1] == 0) {
      if (plen < 7 || payload[0] != 1) {
        g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "bad AVC sequence header");
        return FALSE;
      }
      if (r->configured && !r->use_video)
        return TRUE;   /* this connection was set up audio-only */
      set_header (&r->vpar, AVMEDIA_TYPE_VIDEO, AV_CODEC_ID_H264, payload, plen, &changed);
      if (!changed)
        return TRUE;
      /* Initialising the filter validates the AVCDecoderConfigurationRecord. */
      if (!setup_bsf (r, error)) {
        avcodec_parameters_free (&r->vpar);
        return FALSE;
      }
      /* New parameters mid-connection: a new segment from the next keyframe. */
      if (r->configured)
        r->force_cut = r->next_discontinuity = TRUE;
      return maybe_configure (r, error);
    }
    if (r->vpar == NULL) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "video frame before AVC sequence header");
      return FALSE;
    }
    f.pts = (gint64) ts_ms + cts;
    f.key = (data[0] >> 4) == 1;
  } else if (flv_type == SC_FLV_TAG_AUDIO) {
    if (len < 2 || (data[0] >> 4) != 10) {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED_TYPE,
                   "only AAC audio can be recorded (sound format %d)", len ? data[0] >> 4 : -1);
      return FALSE;
    }
    payload = data + 2;
    plen = len - 2;
    if (data[1] == 0) {
      if (r->configured && !r->use_audio)
        return TRUE;   /* this connection was set up video-only */
      set_header (&r->apar, AVMEDIA_TYPE_AUDIO, AV_CODEC_ID_AAC, payload, plen, &changed);
      if (!changed)
        return TRUE;
      if (!audio_params (r->apar, &r->adur)) {
        avcodec_parameters_free (&r->apar);
        g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "bad AAC AudioSpecificConfig");
        return FALSE;
      }
      if (r->configured)
        r->force_cut = r->next_discontinuity = TRUE;
      return maybe_configure (r, error);
    }
    if (r->apar == NULL) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "audio frame before AAC sequence header");
      return FALSE;
    }
  } else {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "not an audio or video message (%d)", flv_type);
    return FALSE;
  }
  if (plen == 0)
    return TRUE;

  f.pkt = av_packet_alloc ();
  if (av_new_packet (f.pkt, plen) < 0) {
    av_packet_free (&f.pkt);
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "out of memory");
    return FALSE;
  }
  memcpy (f.pkt->data, payload, plen);

  if (!r->configured) {
    g_queue_push_tail (&r->pending, g_memdup2 (&f, sizeof f));
    return maybe_configure (r, error);
  }
  gboolean ok = write_frame (r, &f, error);
  av_packet_free (&f.pkt);
  return ok;
}

static gboolean
finish_connection (ScRecorder *r, GError **error)
{
  gboolean ok = TRUE;
  if (!r->configured && !g_queue_is_empty (&r->pending))
    ok = configure (r, error);
  if (r->seg) {
    if (ok)
      ok = segment_close (r, r->seg_end, error);
    else
      segment_close (r, r->seg_end, NULL);
  }
  reset_connection (r);
  return ok;
}

void
sc_recorder_new_connection (ScRecorder *r)
{
  g_autoptr (GError) error = NULL;
  g_return_if_fail (r != NULL);
  if (!finish_connection (r, &error))
    g_warning ("recorder %s: %s", r->asset_dir, error->message);
  r->next_discontinuity = r->info.segments->len > 0;
  r->conn_started_at = g_get_real_time () / 1e6;
}

gboolean
sc_recorder_close (ScRecorder *r, GError **error)
{
  g_return_val_if_fail (r != NULL, FALSE);
  if (r->closed)
    return TRUE;
  r->closed = TRUE;
  gboolean ok = finish_connection (r, error);
  r->info.closed = TRUE;
  if (!ok)
    return FALSE;
  return sc_recording_info_save (r->asset_dir, &r->info, error) &&
         sc_recording_write_playlist (r->asset_dir, &r->info, error) &&
         (r->live == NULL || sc_live_playlist_write (r->live, TRUE, error));
}

double
sc_recorder_duration (ScRecorder *r)
{
  double d = 0;
  for (guint i = 0; i < r->info.segments->len; i++)
    d += g_array_index (r->info.segments, ScSegmentInfo, i).duration;
  return d;
}

guint
sc_recorder_n_segments (ScRecorder *r)
{
  return r->info.segments->len;
}
