#pragma once

#include "spacecast/events.h"
#include "spacecast/ingest.h"
#include "spacecast/livestate.h"
#include "spacecast/record.h"
#include "spacecast/rtmp.h"
#include "spacecast/simulcast.h"
#include "spacecast/srt.h"
#include "spacecast/store.h"

typedef struct _Stream Stream;

typedef enum { SC_INGEST_RTMP, SC_INGEST_SRT } ScIngestProtocol;

/* An encoder's connection, whichever server it came through. */
typedef struct {
  ScIngestProtocol protocol;
  gpointer conn;                /* ScRtmpConn* or ScSrtConn*; NULL when none */
} Encoder;

struct _ScIngest {
  ScApi *api;
  ScStore *store;
  ScConfig *config;
  ScRtmpServer *rtmp;
  guint16 rtmp_port;
  ScSrtServer *srt;             /* NULL without --srt */
  ScEvents *events;
  guint subscription;
  GHashTable *streams;          /* live stream id → Stream* */
  guint64 next_connection_id;
  guint finalising;             /* assets being finalised on worker threads */
  ScThumbnailer *thumbnailer;
  ScSimulcast *simulcast;
};

/* One live stream with an encoder, a recording or a timer running. */
struct _Stream {
  ScIngest *ingest;
  char *id;
  ScLiveState state;
  Encoder encoder;              /* the current one */
  guint64 conn_id;
  gboolean media_seen;
  ScRecorder *recorder;         /* for state.active_asset_id */
  gboolean record_failed;       /* the recorder could not write: said once */
  guint64 media_bytes, media_errors;
  guint timers[SC_LIVE_N_TIMERS];
  ScSimulcastSession *simulcast; /* for state.active_asset_id */
};

/* Drop the encoder, if any, without hearing of it again. */
void    sc_ingest_encoder_close (Encoder *encoder, const char *reason);
/* "rtmp", "srt" */
const char *sc_ingest_protocol_name (ScIngestProtocol protocol);

/* Feed @ev to the stream's state machine and perform the actions. */
void    sc_ingest_dispatch (ScIngest *ingest, Stream *stream, const ScLiveEvent *ev);
Stream *sc_ingest_stream_get (ScIngest *ingest, JsonObject *live_stream);
void    sc_ingest_finalise_asset (ScIngest *ingest, const char *asset_id);
/* Sets the asset's errors (Mux's {type, messages}) to @message. */
void    sc_ingest_asset_error (ScIngest *ingest, const char *asset_id, const char *type,
                               const char *message);
char   *sc_ingest_asset_dir (ScIngest *ingest, const char *asset_id);
char   *sc_ingest_live_dir  (ScIngest *ingest, const char *live_stream_id);
void    sc_ingest_register_playback (ScIngest *ingest);
/* Unix seconds as the ISO 8601 UTC text of recording_times. */
char   *sc_ingest_iso8601 (double unix_s);
