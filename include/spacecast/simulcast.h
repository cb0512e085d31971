/* spacecast simulcast: a live stream's media re-pushed, as received, to
 * its simulcast targets (third-party RTMP/RTMPS/SRT servers), as Mux does.
 * It owns one throw-away GStreamer pipeline per target and connection
 * attempt (appsrc → rtmp2sink: the encoder's FLV tags go out as they came;
 * for srt://, a libsrt caller connection and appsrc → flvdemux → mpegtsmux
 * → that socket; no decode, no encode, each target starting on a keyframe
 * with the sequence headers first), the targets' status and error_severity in the
 * live stream's document, their webhooks, and reconnects with backoff.
 * The ingest feeds it through a session per recorded asset.  Runs on the
 * main context; each pipeline streams on its own threads behind a bounded
 * queue that drops (from a keyframe on) rather than blocks, so a slow or
 * failing target never holds up the ingest, the recording or the others. */
#pragma once

#include <glib.h>

#include "spacecast/config.h"
#include "spacecast/rtmp.h"
#include "spacecast/store.h"

G_BEGIN_DECLS

typedef struct _ScSimulcast ScSimulcast;
typedef struct _ScSimulcastSession ScSimulcastSession;

ScSimulcast        *sc_simulcast_new  (ScStore *store, const ScConfig *config);
/* After every session is freed. */
void                sc_simulcast_free (ScSimulcast *simulcast);

/* The live stream started an asset: its targets, for as long as the asset
 * records (a target refused for good stays so until the next asset). */
ScSimulcastSession *sc_simulcast_session_new   (ScSimulcast *simulcast,
                                                const char *live_stream_id);
/* An encoder connected: every target not refused for good starts
 * (status starting, then broadcasting), from scratch if it was running. */
void                sc_simulcast_session_start (ScSimulcastSession *session);
/* One RTMP message from the encoder, as the RTMP server hands it over. */
void                sc_simulcast_session_push  (ScSimulcastSession *session,
                                                ScRtmpMediaType type, guint64 timestamp_ms,
                                                const guint8 *data, gsize len);
/* The encoder is gone: every target stops and goes idle. */
void                sc_simulcast_session_stop  (ScSimulcastSession *session);
void                sc_simulcast_session_free  (ScSimulcastSession *session);

/* The pure part, apart for the unit tests: what one target is sent.
 * Sequence headers and metadata are kept for every target that starts
 * later; a target starts on a keyframe, its timestamps from 0 there. */
typedef struct {
  GBytes *meta;          /* onMetaData (without @setDataFrame) */
  GBytes *video_config;  /* AVC sequence header */
  GBytes *audio_config;  /* AAC sequence header */
} ScSimulcastHeaders;

typedef struct {
  gboolean started;
  guint64 base_ms;       /* the first keyframe's timestamp: the target's 0 */
  gboolean resync;       /* set by the caller after it dropped a tag: wait
                          * for a keyframe, resend the headers, keep base */
} ScSimulcastGate;

/* Keeps @data in @h when it is a sequence header or the metadata. */
void     sc_simulcast_headers_update (ScSimulcastHeaders *h, ScRtmpMediaType type,
                                      const guint8 *data, gsize len);
void     sc_simulcast_headers_clear  (ScSimulcastHeaders *h);
/* The FLV tags (GBytes) to send one target for this message, in order:
 * none before its first keyframe; at it, the headers first. */
GPtrArray *sc_simulcast_gate (ScSimulcastGate *gate, const ScSimulcastHeaders *h,
                              ScRtmpMediaType type, guint64 timestamp_ms,
                              const guint8 *data, gsize len);
/* One FLV tag: 11-byte header, body, 4-byte size of what precedes. */
GBytes  *sc_simulcast_flv_tag (ScRtmpMediaType type, guint64 timestamp_ms,
                               const guint8 *data, gsize len);

G_END_DECLS
