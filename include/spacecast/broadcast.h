/* spacecast broadcast: a space, composited into a layout, pushed to a live
 * stream.  It owns the start/stop/PATCH routes of the broadcast resource,
 * the program preview of a running broadcast over WHEP
 * (/rt/v1/spaces/ID/broadcasts/ID/whep, capped per broadcast by
 * broadcast_preview_max_viewers), the running broadcasts (one
 * bcast-pipeline each), their wiring to the
 * space's participants (decoded media taps, joins and leaves, the active
 * speaker) and stopping them when their space stays idle.  The media
 * pipeline itself is bcast-pipeline.h; the geometry is layout.h. */
#pragma once

#include <glib.h>

#include "spacecast/api.h"
#include "spacecast/bcast-pipeline.h"
#include "spacecast/ingest.h"
#include "spacecast/space.h"

G_BEGIN_DECLS

typedef struct _ScBroadcasts ScBroadcasts;

ScBroadcasts *sc_broadcasts_new  (ScApi *api, ScSpaces *spaces, ScIngest *ingest);
/* Shutdown, first half: stop every running broadcast and wait (iterating
 * the main context, where our own ingest runs) until their RTMP streams
 * have drained; their live streams see the encoder leave.  _free then only
 * frees. */
void          sc_broadcasts_shutdown (ScBroadcasts *b);
void          sc_broadcasts_free (ScBroadcasts *b);

/* Each running broadcast's id and live output health (metrics). */
typedef void (*ScBroadcastHealthFunc) (const char *broadcast_id, const ScBcastHealth *health,
                                       gpointer user_data);
void          sc_broadcasts_foreach_health (ScBroadcasts *b, ScBroadcastHealthFunc func,
                                            gpointer user_data);

G_END_DECLS
