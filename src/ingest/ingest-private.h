#pragma once

#include "spacecast/ingest.h"
#include "spacecast/livestate.h"
#include "spacecast/record.h"
#include "spacecast/rtmp.h"
#include "spacecast/simulcast.h"
#include "spacecast/store.h"

typedef struct _Stream Stream;

struct _ScIngest {
  ScApi *api;
  ScStore *store;
  ScConfig *config;
  ScRtmpServer *rtmp;
  guint16 rtmp_port;
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
  ScRtmpConn *conn;             /* the current encoder, NULL when none */
  guint64 conn_id;
  gboolean media_seen;
  ScRecorder *recorder;         /* for state.active_asset_id */
  gboolean record_failed;       /* the recorder could not write: said once */
  guint64 media_bytes, media_errors;
  guint timers[SC_LIVE_N_TIMERS];
  ScSimulcastSession *simulcast; /* for state.active_asset_id */
};

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
