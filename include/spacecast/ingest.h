/* spacecast ingest: live streams receiving media.  It owns the RTMP(S)
 * and SRT listeners (src/rtmp, src/srt: both deliver FLV tag bodies into
 * the same path), decides who may publish on which stream key, runs each live
 * stream's state machine (livestate) and carries out what it says —
 * assets created and finalised, recordings started and stopped, encoders
 * dropped, timers — and serves what was recorded: live and DVR HLS, the
 * finished MP4 and thumbnails.  Runs on the main context. */
#pragma once

#include <glib.h>

#include "spacecast/api.h"
#include "spacecast/rtmp.h"
#include "spacecast/srt.h"
#include "spacecast/events.h"

G_BEGIN_DECLS

typedef struct _ScIngest ScIngest;

/* Starts listening (--rtmp, and --rtmps and --srt when configured),
 * registers the playback and complete routes, and finalises any recording a
 * previous run left behind.  It follows the committed changes on @events:
 * a disabled or deleted live stream loses its encoder, a new or reset key
 * reaches the SRT handshake table, a deleted asset its files. */
ScIngest *sc_ingest_new  (ScApi *api, ScEvents *events, GError **error);
/* Shutdown, first half: stop accepting publishers, end the connected ones
 * and wait (iterating the main context) for their recordings to be
 * finalised.  The second half, _free, never iterates. */
void      sc_ingest_shutdown (ScIngest *ingest);
void      sc_ingest_free (ScIngest *ingest);

/* Signal complete, as PUT /video/v1/live-streams/{ID}/complete (a route
 * of the ingest's): the active asset ends now, a connected encoder is left
 * to drain for complete_hold seconds. */
void      sc_ingest_complete (ScIngest *ingest, const char *live_stream_id);

/* The ingest URL a local publisher (a broadcast) pushes @stream_key to. */
char     *sc_ingest_local_url (ScIngest *ingest, const char *stream_key);

/* Each live stream the ingest holds now (an encoder connected, a
 * recording or a reconnect window running), for metrics. */
typedef struct {
  const char *live_stream_id;
  gboolean recording;
  double recorded_s;            /* complete segments of the active asset so far */
  guint64 media_bytes;          /* audio and video received since it was taken up */
  guint64 media_errors;         /* messages the recorder could not take */
} ScIngestStreamStats;
typedef void (*ScIngestStreamFunc) (const ScIngestStreamStats *stats, gpointer user_data);
void      sc_ingest_foreach_stream (ScIngest *ingest, ScIngestStreamFunc func,
                                    gpointer user_data);
/* The RTMP(S) door's connections (both listeners together). */
void      sc_ingest_get_rtmp_stats (ScIngest *ingest, ScRtmpServerStats *stats);
/* The SRT door's; FALSE when it is not listening (no --srt). */
gboolean  sc_ingest_get_srt_stats  (ScIngest *ingest, ScSrtServerStats *stats);

G_END_DECLS
