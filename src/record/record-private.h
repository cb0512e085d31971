/* Shared between the recorder (writes) and finalise (reads): the asset dir's
 * sidecar, recording.json, and the asset playlist rendered from it. */
#pragma once

#include <glib.h>

typedef struct {
  char *uri;               /* file name inside the asset dir */
  double duration;         /* seconds */
  guint connection;        /* index into connections */
  gboolean discontinuity;  /* EXT-X-DISCONTINUITY before it */
} ScSegmentInfo;

typedef struct {
  GArray *segments;        /* ScSegmentInfo */
  GArray *connections;     /* double: started_at, unix seconds */
  gboolean closed;
} ScRecordingInfo;

void      sc_recording_info_init   (ScRecordingInfo *info);
void      sc_recording_info_clear  (ScRecordingInfo *info);
/* A missing file gives an empty info, not an error. */
gboolean  sc_recording_info_load   (const char *asset_dir, ScRecordingInfo *info,
                                    GError **error);
gboolean  sc_recording_info_save   (const char *asset_dir, const ScRecordingInfo *info,
                                    GError **error);
guint     sc_recording_info_target_duration (const ScRecordingInfo *info);
/* asset_dir/index.m3u8, all segments; EXT-X-ENDLIST when info->closed. */
gboolean  sc_recording_write_playlist (const char *asset_dir, const ScRecordingInfo *info,
                                       GError **error);
/* Write atomically: temporary file then rename. */
gboolean  sc_record_write_atomic   (const char *path, const char *contents,
                                    gssize len, GError **error);
/* An FFmpeg error as a GError message. */
void      sc_record_set_av_error   (GError **error, int code, int averr,
                                    const char *what, const char *path);

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

/* A new output stream with a copy of @par: its index, or -1 and @error. */
int       sc_record_add_stream     (AVFormatContext *oc, const AVCodecParameters *par,
                                    GError **error);

static inline void sc_av_packet_free (AVPacket *p) { av_packet_free (&p); }
static inline void sc_av_frame_free (AVFrame *f) { av_frame_free (&f); }
static inline void sc_av_codec_free (AVCodecContext *c) { avcodec_free_context (&c); }
static inline void sc_av_input_close (AVFormatContext *c) { avformat_close_input (&c); }
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AVPacket, sc_av_packet_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AVFrame, sc_av_frame_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AVCodecContext, sc_av_codec_free)
/* Only for contexts from avformat_open_input. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AVFormatContext, sc_av_input_close)

/* The live stream's sliding playlist (live_dir/index.m3u8) and the segment
 * files it lists, hard-linked (or copied) from the asset dir as seg_<seq>.ts.
 * It outlives assets: a new one on the same dir continues the sequence. */
typedef struct _ScLivePlaylist ScLivePlaylist;

ScLivePlaylist *sc_live_playlist_new   (const char *live_dir);
void            sc_live_playlist_free  (ScLivePlaylist *l);
gboolean        sc_live_playlist_add   (ScLivePlaylist *l, const char *segment_path,
                                        double duration, gboolean discontinuity,
                                        GError **error);
gboolean        sc_live_playlist_write (ScLivePlaylist *l, gboolean endlist, GError **error);
