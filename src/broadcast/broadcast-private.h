#pragma once

#include "spacecast/bcast-pipeline.h"
#include "spacecast/broadcast.h"
#include "spacecast/layout.h"

/* What the decoded-media taps of the participants push into.  Shared with
 * streaming threads, so it is refcounted and the pipeline pointer is cleared
 * under the lock before the pipeline is freed. */
typedef struct {
  GMutex lock;
  ScBcastPipeline *pipe;
} Sink;

typedef struct _Running Running;
typedef void (*ScRunStoppedFunc) (Running *r, gpointer user_data);

struct _Running {
  ScBroadcasts *owner;
  char *id;
  char *space_id;
  char *live_stream_id;
  Sink *sink;
  ScBcastPipeline *pipe;
  ScLayoutOptions opts;
  ScLayoutSpeaker *speaker;
  char *speaker_id;
  GHashTable *taps;             /* connection_id → TapRef* */
  GHashTable *broken;           /* participant ids whose branch failed */
  guint speaker_timer;
  guint transition_ms;
  guint fail_source;            /* idle: the output failed, stop */
  char *fail_reason;
  ScRunStoppedFunc stopped_func;
  gpointer stopped_data;
};

struct _ScBroadcasts {
  ScApi *api;
  ScStore *store;
  ScSpaces *spaces;
  ScIngest *ingest;
  GHashTable *running;          /* broadcast id → Running* */
  GHashTable *stopping;         /* broadcast id → Running* still draining */
  GHashTable *idle_timers;      /* space id → source id (grace before stopping) */
  guint observer;
  gboolean closing;             /* shutting down: stopping ≠ completing */
  GHashTable *previews;         /* session id → Preview* (broadcast-preview.c) */
  guint answering;              /* preview offers being answered */
};

/* broadcast-run.c: the sink a running broadcast's feeders hold. */
Sink    *sc_broadcast_sink_ref   (Sink *sink);
void     sc_broadcast_sink_unref (Sink *sink);

/* broadcast-preview.c: the program preview (WHEP) of running broadcasts. */
void     sc_broadcast_previews_init (ScBroadcasts *b);
/* Ends the preview sessions of broadcast @id (all when NULL): before its
 * pipeline stops.  Offers still being answered are refused when done. */
void     sc_broadcast_previews_end (ScBroadcasts *b, const char *id, const char *why);
/* Waits (iterating the main context) for offers being answered, then frees. */
void     sc_broadcast_previews_free (ScBroadcasts *b);

/* broadcast.c: the output gave up (a refused key, say): stop the
 * broadcast, as errored. */
void sc_broadcasts_output_failed (ScBroadcasts *b, const char *id, const char *reason);

/* broadcast-run.c: one running broadcast. */
Running *sc_broadcast_run_start (ScBroadcasts *b, JsonObject *doc, JsonObject *live_stream,
                                 GError **error);
void     sc_broadcast_run_free  (Running *r);   /* never drains: stop_async first */
/* Ends the RTMP stream without blocking; func comes back on this context
 * once the output has drained, and should free r. */
void     sc_broadcast_run_stop_async (Running *r, ScRunStoppedFunc func, gpointer user_data);
void     sc_broadcast_run_attach (Running *r, const ScParticipant *p);
void     sc_broadcast_run_detach (Running *r, const char *connection_id);
gboolean sc_broadcast_run_set_layout (Running *r, JsonObject *doc, guint transition_ms,
                                      GError **error);
void     sc_broadcast_run_relayout (Running *r);
