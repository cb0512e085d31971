/* spacecast events: one bus for everything that happens to a resource,
 * named as Mux names its webhooks (video.live_stream.active, ...).
 *
 * A change publishes through the store, so the event is a row of the
 * outbox written with the change (inside the caller's transaction when
 * one is open): nothing is announced that was not committed, and nothing
 * committed is lost to a crash.  Once committed, the bus (owned by the
 * context that created it, the main one in the daemon) hands each event to
 * its in-process subscribers on their own contexts, and to every webhook
 * endpoint through a delivery thread with its own context and SoupSession:
 * signed as Mux signs them, at least once, retried with growing gaps, in
 * order per resource, and across restarts. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "spacecast/api.h"
#include "spacecast/config.h"
#include "spacecast/store.h"

G_BEGIN_DECLS

typedef struct _ScEvents ScEvents;

typedef struct {
  char *id;                     /* a UUID, as Mux's */
  char *type;                   /* "video.live_stream.active" */
  char *object_type;            /* "live", "asset", "space", "broadcast" */
  char *object_id;
  gint64 created_at_us;         /* unix microseconds */
  JsonObject *data;             /* the resource as the API shows it */
} ScEvent;

ScEvent    *sc_event_ref   (ScEvent *event);
void        sc_event_unref (ScEvent *event);

/* Record that @type happened to the resource @id (its kind follows from
 * @type).  @doc is its stored document, or NULL to read it from @store;
 * either way the event carries the resource as stored when the main loop
 * turn that published it ends (a caller that publishes before it saves is
 * fine), or @doc when the resource is gone by then, or when the event
 * does not carry its resource (sc_events_carries_resource). */
gboolean    sc_events_publish (ScStore *store, const char *type, const char *id,
                               JsonObject *doc, GError **error);
/* Store @doc (sc_store_put) and publish @type about it in one
 * transaction: both happen or neither does. */
gboolean    sc_events_put     (ScStore *store, ScKind kind, const char *id, JsonObject *doc,
                               const char *type, GError **error);
/* Delete the resource (with its playback ids) and publish @type about
 * @doc, its last stored document, in one transaction. */
gboolean    sc_events_delete  (ScStore *store, ScKind kind, const char *id, JsonObject *doc,
                               const char *type, GError **error);
/* The same after a change that is already committed: a failure is logged,
 * there is nothing left to undo. */
void        sc_events_notify  (ScStore *store, const char *type, const char *id,
                               JsonObject *doc);
/* For the live-stream state machine's notifications: asset events are
 * about the newest of @recent_asset_ids, the others about the stream. */
void        sc_events_notify_live_stream (ScStore *store, const char *type,
                                          const char *live_stream_id,
                                          GPtrArray *recent_asset_ids);

/* Store the live stream @live_stream and publish @type (a
 * video.live_stream.simulcast_target.* event) about its target @target in
 * one transaction.  The event's data is the target with live_stream_id,
 * as Mux's. */
gboolean    sc_events_put_simulcast_target (ScStore *store, JsonObject *live_stream,
                                            JsonObject *target, const char *type,
                                            GError **error);

/* The bus: observes @store's outbox from the thread-default context,
 * syncs the configured endpoints and starts delivering what is pending. */
ScEvents   *sc_events_new  (ScStore *store, const ScConfig *config, GError **error);
void        sc_events_free (ScEvents *events);
/* POST/GET/DELETE /system/v1/webhooks (a spacecast extension). */
void        sc_events_add_routes (ScApi *api);

/* Webhook delivery so far, for metrics: attempts since start, and the
 * deliveries still due (in the store, so across restarts). */
typedef struct {
  guint64 delivered;            /* attempts answered 2xx */
  guint64 failed;               /* attempts that were not */
  guint64 gave_up;              /* deliveries abandoned after the retry window */
  guint in_flight;              /* attempts being sent now */
  gint64 pending;               /* deliveries not yet done nor given up; -1 unknown */
} ScEventsStats;
void        sc_events_get_stats (ScEvents *events, ScEventsStats *stats);

typedef void (*ScEventsFunc) (ScEvent *event, gpointer user_data);
/* @func runs on @context (NULL: the thread-default one at this call) for
 * every committed event, in commit order. */
guint       sc_events_subscribe   (ScEvents *events, GMainContext *context, ScEventsFunc func,
                                   gpointer user_data, GDestroyNotify destroy);
/* No call starts after this returns; one running on another context may
 * still finish. */
void        sc_events_unsubscribe (ScEvents *events, guint id);

/* The pure parts, apart for the unit tests. */
/* The webhook body Mux sends: {type, id, created_at, object, environment,
 * data, attempts, ...}.  @attempts may be NULL (none yet). */
char       *sc_events_envelope  (const ScEvent *event, JsonArray *attempts);
/* The mux-signature header value for @body sent at @timestamp. */
char       *sc_events_signature (const char *secret, gint64 timestamp, const char *body);
/* Microseconds to wait after the @n-th failed attempt (n >= 1): @initial_s
 * doubling each time, at most an hour. */
gint64      sc_events_retry_delay (guint n, guint initial_s);
/* ISO 8601 with microseconds, UTC, as Mux writes created_at. */
char       *sc_events_iso8601 (gint64 unix_us);
/* "live" for video.live_stream.*, "asset" for video.asset.*, ...; NULL when
 * @type names no resource the store knows, with its kind in *kind. */
const char *sc_events_object_type (const char *type, ScKind *kind);
/* Whether an event of @type carries its resource as data (participant
 * events are about a space and carry the participant). */
gboolean    sc_events_carries_resource (const char *type);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScEvent, sc_event_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScEvents, sc_events_free)

G_END_DECLS
