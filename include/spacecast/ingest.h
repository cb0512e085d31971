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
#include "spacecast/events.h"

G_BEGIN_DECLS

typedef struct _ScIngest ScIngest;

/* Starts listening (--rtmp, and --rtmps and --srt when configured),
 * registers the playback routes, and finalises any recording a previous
 * run left behind.  @events tells it of new live streams (SRT keys). */
ScIngest *sc_ingest_new  (ScApi *api, ScEvents *events, GError **error);
/* Shutdown, first half: stop accepting publishers, end the connected ones
 * and wait (iterating the main context) for their recordings to be
 * finalised.  The second half, _free, never iterates. */
void      sc_ingest_shutdown (ScIngest *ingest);
void      sc_ingest_free (ScIngest *ingest);

/* The ingest URL a local publisher (a broadcast) pushes @stream_key to. */
char     *sc_ingest_local_url (ScIngest *ingest, const char *stream_key);

/* Each live stream that is recording now, with the seconds of complete
 * segments its active asset has so far (metrics). */
typedef void (*ScIngestRecordingFunc) (const char *live_stream_id, double seconds,
                                       gpointer user_data);
void      sc_ingest_foreach_recording (ScIngest *ingest, ScIngestRecordingFunc func,
                                       gpointer user_data);

G_END_DECLS
