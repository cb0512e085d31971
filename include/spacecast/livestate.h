/* spacecast live-stream state machine: pure, no I/O, no clocks, no timers.
 * It owns the Mux-compatible lifecycle of one live stream (idle / active /
 * disabled, the active asset, reconnect window, complete hold,
 * max_continuous_duration).  The daemon feeds it events with the current
 * time and carries out the actions it returns (create/finalise assets,
 * start/stop recording, close encoder connections, arm/cancel timers, send
 * webhooks, delete).  Timer expiries come back in as events.
 *
 * Wiring: one ScLiveState per live stream, owned by the main context.  The
 * RTMP side checks the key, asks sc_livestate_publish_allowed, then feeds
 * CONNECTED (a fresh connection id, a fresh asset id) and MEDIA_STARTED;
 * sc_livestate_should_record gates every media message into the recorder.
 * START_TIMER maps to g_timeout_add_seconds whose callback feeds
 * TIMER_EXPIRED with the generation given; CANCEL_TIMER removes the source.
 * The daemon persists status, active_asset_id and recent_asset_ids after
 * each call, and after a restart loads them and calls sc_livestate_recover.
 * Disable and delete are announced by the API that commits them
 * (video.live_stream.disabled / .deleted); the machine announces only what
 * follows from them for the encoder and the asset.
 *
 * Decisions where Mux is silent (see mux-api.md §1.5):
 *  - complete: the asset is finalised and the stream goes idle at once; the
 *    encoder stays connected for complete_hold seconds ("draining"), its media
 *    is not recorded, then its connection is closed.  A publish arriving while
 *    draining replaces the drained connection and starts a new asset.
 *  - reset-stream-key: a session that is already connected keeps running
 *    until it disconnects (Mux does not drop it); the old key is refused for
 *    any later publish, which is the daemon's key check, not this module's.
 *    It therefore cannot reconnect within the window with the old key, but a
 *    publish with the new key within the window continues the same asset.
 *  - a second publish while a connection is live replaces it (the old one is
 *    usually a stale, half-dead encoder): the old connection is closed and the
 *    new one continues the same asset as a reconnect would.
 *  - max_continuous_duration counts from the connect that created the asset
 *    (reconnects within the window continue the same clock); reaching it acts
 *    as complete.
 *  - Events about a connection that is no longer the current one (a late
 *    disconnect of a replaced publisher) and stale timer expiries (the
 *    generation does not match) are ignored. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  SC_LIVE_STATUS_IDLE,
  SC_LIVE_STATUS_ACTIVE,
  SC_LIVE_STATUS_DISABLED,
} ScLiveStatus;

typedef enum {
  SC_LIVE_TIMER_RECONNECT,      /* reconnect_window after a disconnect */
  SC_LIVE_TIMER_COMPLETE_HOLD,  /* connection lingers after complete */
  SC_LIVE_TIMER_MAX_DURATION,   /* max_continuous_duration of one asset */
  SC_LIVE_N_TIMERS
} ScLiveTimer;

typedef enum {
  SC_LIVE_EV_CONNECTED,         /* publish accepted; connection_id, new_asset_id */
  SC_LIVE_EV_MEDIA_STARTED,     /* first media of connection_id */
  SC_LIVE_EV_DISCONNECTED,      /* connection_id went away */
  SC_LIVE_EV_TIMER_EXPIRED,     /* timer, generation */
  SC_LIVE_EV_COMPLETE,
  SC_LIVE_EV_DISABLE,
  SC_LIVE_EV_ENABLE,
  SC_LIVE_EV_DELETE,
} ScLiveEventType;

typedef struct {
  ScLiveEventType type;
  guint64 connection_id;        /* non-zero, chosen by the daemon */
  const char *new_asset_id;     /* CONNECTED: id to use if a new asset starts */
  ScLiveTimer timer;            /* TIMER_EXPIRED */
  guint generation;             /* TIMER_EXPIRED: as given in START_TIMER */
} ScLiveEvent;

typedef enum {
  /* Create asset asset_id (status preparing, is_live true, live_stream_id set);
   * it is already active_asset_id and appended to recent_asset_ids. */
  SC_LIVE_ACT_CREATE_ASSET,
  /* Start recording connection_id into asset_id: a new recording_times entry
   * starting at `at`.  reconnect: the asset already has media (continue it
   * after a discontinuity: sc_recorder_new_connection). */
  SC_LIVE_ACT_START_RECORDING,
  /* The recording_times entry of asset_id ends at `at` (media stopped). */
  SC_LIVE_ACT_STOP_RECORDING,
  /* Close the recording of asset_id for good (EXT-X-ENDLIST), finalise it to
   * an on-demand asset, is_live false. */
  SC_LIVE_ACT_FINALISE_ASSET,
  /* Drop encoder connection connection_id now. */
  SC_LIVE_ACT_CLOSE_CONNECTION,
  SC_LIVE_ACT_START_TIMER,      /* timer, seconds, generation */
  SC_LIVE_ACT_CANCEL_TIMER,     /* timer */
  /* Send webhook `webhook` (e.g. "video.live_stream.active"). */
  SC_LIVE_ACT_NOTIFY,
  /* Remove the live stream (after everything above was done). */
  SC_LIVE_ACT_REMOVE,
} ScLiveActionType;

typedef struct {
  ScLiveActionType type;
  char *asset_id;
  guint64 connection_id;
  gboolean reconnect;
  ScLiveTimer timer;
  guint seconds;
  guint generation;
  gint64 at;                    /* unix seconds (the event's now) */
  const char *webhook;          /* static string */
} ScLiveAction;

typedef struct {
  ScLiveStatus status;
  /* Settings (copied from the live stream; complete_hold defaults to 60). */
  guint reconnect_window;
  guint complete_hold;
  guint max_continuous_duration;     /* 0 = no cap */

  char *active_asset_id;             /* NULL when none */
  GPtrArray *recent_asset_ids;       /* char*, newest last */

  guint64 connection_id;             /* current encoder connection, 0 none */
  gboolean recording;                /* its media goes to active_asset_id */
  gboolean draining;                 /* connected after complete, not recorded */
  gboolean in_reconnect_window;
  gboolean deleted;
  guint timer_generation[SC_LIVE_N_TIMERS];
} ScLiveState;

void          sc_livestate_init            (ScLiveState *s, guint reconnect_window,
                                            guint max_continuous_duration);
void          sc_livestate_clear           (ScLiveState *s);

/* Handle one event; returns the actions to perform, in order
 * (GArray of ScLiveAction, freed with g_array_unref). */
GArray       *sc_livestate_handle          (ScLiveState *s, const ScLiveEvent *ev,
                                            gint64 now);

/* After a daemon restart: a state loaded with an active asset but (of course)
 * no connection acts as if the encoder had just disconnected: the reconnect
 * window starts now (or the asset is finalised at once). */
GArray       *sc_livestate_recover         (ScLiveState *s, gint64 now);

/* Whether a publish (with an already verified key) may be accepted. */
gboolean      sc_livestate_publish_allowed (const ScLiveState *s);
/* Whether media from connection_id should be written to the active asset. */
gboolean      sc_livestate_should_record   (const ScLiveState *s, guint64 connection_id);

const char   *sc_livestate_status_name     (ScLiveStatus status);
gboolean      sc_livestate_status_parse    (const char *name, ScLiveStatus *out);

G_END_DECLS
