/* spacecast recorder: turns the RTMP audio/video messages of one live asset
 * (FLV tag bodies, H.264 + AAC) into HLS (MPEG-TS segments of ~2 s cut on
 * keyframes, the asset's full DVR playlist and the live stream's sliding
 * playlist), and finalises an asset's segments into one faststart MP4 that
 * it probes for the asset's metadata; also grabs JPEG thumbnails.
 * Stream copy only, never re-encodes.  Everything it needs to finalise is on
 * disk (asset_dir/recording.json, rewritten atomically per segment), so a
 * daemon killed mid-recording loses at most the segment in progress.
 *
 * Layout of an asset dir:
 *   seg_NNNNN.ts     complete segments (seg_NNNNN.ts.part while written)
 *   index.m3u8       every segment; EXT-X-ENDLIST once closed/finalised
 *   recording.json   segments, durations, connections (recording_times)
 *   highest.mp4      written by sc_record_finalise
 * A live dir holds index.m3u8 (the last 5 segments, EXT-X-MEDIA-SEQUENCE)
 * and hard links (or copies) of the segments it lists, named by sequence.
 * A new recorder on the same live dir continues its media sequence after a
 * discontinuity, so players survive one asset following another.
 *
 * Threads: one recorder is driven from one thread (pushing is cheap: about
 * 350x real time for 720p30 at 3 Mb/s).  sc_record_finalise and
 * sc_record_thumbnail block on file I/O (finalise ~0.2 s for 3 min of
 * 720p, a 1080p thumbnail ~0.2 s): run them in a worker (GTask, or an
 * ScThumbnailer for thumbnails), never on the main loop. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SC_FLV_TAG_AUDIO 8
#define SC_FLV_TAG_VIDEO 9

typedef struct _ScRecorder ScRecorder;

/* An asset dir that already holds a recording (the daemon restarted within
 * the reconnect window) is continued after a discontinuity, as a reconnect. */
ScRecorder *sc_recorder_new    (const char *asset_dir, const char *live_dir,
                                GError **error);
/* One RTMP audio (8) or video (9) message body; ts_ms is the RTMP timestamp.
 * Sequence headers configure the streams; frames before them, or codecs
 * other than H.264/AAC, are refused with an error (the recorder stays usable).
 * Returns FALSE only for bad input or a write failure. */
gboolean    sc_recorder_push   (ScRecorder *r, int flv_type, guint64 ts_ms,
                                const guint8 *data, gsize len, GError **error);
/* The encoder reconnected: the same asset continues; the segment in progress
 * is closed, the next one follows an EXT-X-DISCONTINUITY with timestamps
 * continuing where the asset left off, and a new recording_times entry starts.
 * The new encoder must send its sequence headers again. */
void        sc_recorder_new_connection (ScRecorder *r);
/* Flush the last segment and write EXT-X-ENDLIST to both playlists. */
gboolean    sc_recorder_close  (ScRecorder *r, GError **error);
/* Free.  Without a close first this abandons the recording exactly as a
 * crash would (the partial segment is left as .part and ignored). */
void        sc_recorder_free   (ScRecorder *r);

double      sc_recorder_duration     (ScRecorder *r); /* complete segments, s */
guint       sc_recorder_n_segments   (ScRecorder *r);

typedef struct {
  double started_at;   /* unix seconds */
  double duration;     /* seconds */
} ScRecordingTime;

typedef struct {
  double duration;
  int max_width, max_height;
  double max_frame_rate;     /* -1 when unknown */
  int max_channels;
  char *aspect_ratio;        /* "16:9"; NULL for audio-only */
  char *resolution_tier;     /* audio-only | 720p | 1080p | 1440p | 2160p */
  char *video_codec, *audio_codec;   /* "h264", "aac"; NULL when absent */
  gboolean has_video, has_audio;
  GArray *recording_times;   /* ScRecordingTime, one per encoder connection */
} ScAssetMedia;

/* Safe on any ScAssetMedia that finalise or probe was given, even on failure. */
void        sc_asset_media_clear (ScAssetMedia *m);

/* Concatenate the asset dir's complete segments into asset_dir/highest.mp4
 * (remux, moov first, timestamps continuous across discontinuities), rewrite
 * index.m3u8 with EXT-X-ENDLIST, and probe the MP4.  Works on a dir left by
 * a killed daemon.  No usable media: SC_ERROR_UNPROCESSABLE with a message
 * fit for the asset's errors.messages. */
gboolean    sc_record_finalise  (const char *asset_dir, ScAssetMedia *out,
                                 GError **error);
/* Probe an MP4 (or anything libavformat reads) without touching it. */
gboolean    sc_record_probe     (const char *path, ScAssetMedia *out, GError **error);

/* JPEG of the frame nearest time_s, scaled to width (<= 0: source width),
 * aspect kept. */
GBytes     *sc_record_thumbnail (const char *mp4_path, double time_s, int width,
                                 GError **error);

/* Thumbnails off the main loop: a fixed pool of @workers threads decodes,
 * at most @max_queued more requests wait for one, and the last JPEGs made
 * (up to @cache_bytes) are kept, most recently used first.  Requests for
 * a thumbnail already being made wait for that one.  Everything but the
 * decoding happens on the main context of the thread that created it. */
typedef struct _ScThumbnailer ScThumbnailer;
typedef void (*ScThumbnailFunc) (GBytes *jpeg, const GError *error, gpointer user_data);

ScThumbnailer *sc_thumbnailer_new   (guint workers, guint max_queued, gsize cache_bytes,
                                     GError **error);
/* The thumbnail of @mp4_path (whose content @key names: it must change
 * when the file does) at @time_s, @width wide, when it is cached: a new
 * reference, and @func is not called.  Otherwise NULL, and then either
 * @func is called once, later, on the owner's main context, or @error says
 * why not: SC_ERROR_UNAVAILABLE when the queue is full or the thumbnailer
 * is draining. */
GBytes        *sc_thumbnailer_get   (ScThumbnailer *t, const char *key, const char *mp4_path,
                                     double time_s, int width, ScThumbnailFunc func,
                                     gpointer user_data, GError **error);
/* Shutdown, first half: refuse new requests and iterate the owner's
 * context until every one accepted has had its @func called. */
void           sc_thumbnailer_drain (ScThumbnailer *t);
/* After a drain, or before anything was asked. */
void           sc_thumbnailer_free  (ScThumbnailer *t);

/* Route FFmpeg's log through GLib structured logging (domain "ffmpeg"):
 * errors as messages, warnings as info, the rest as debug.  Process-wide;
 * the daemon calls it once at start-up. */
void        sc_record_setup_logging (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScRecorder, sc_recorder_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScThumbnailer, sc_thumbnailer_free)

G_END_DECLS
