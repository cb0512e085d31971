#include "spacecast/livestate.h"

#include <string.h>

#define DEFAULT_COMPLETE_HOLD 60

static void
action_clear (gpointer p)
{
  ScLiveAction *a = p;
  g_clear_pointer (&a->asset_id, g_free);
}

static ScLiveAction *
push (GArray *acts, ScLiveActionType type, gint64 now)
{
  ScLiveAction a = { .type = type, .at = now };
  g_array_append_val (acts, a);
  return &g_array_index (acts, ScLiveAction, acts->len - 1);
}

static void
notify (GArray *acts, const char *webhook, gint64 now)
{
  push (acts, SC_LIVE_ACT_NOTIFY, now)->webhook = webhook;
}

static void
start_timer (ScLiveState *s, GArray *acts, ScLiveTimer t, guint seconds, gint64 now)
{
  ScLiveAction *a = push (acts, SC_LIVE_ACT_START_TIMER, now);
  a->timer = t;
  a->seconds = seconds;
  a->generation = ++s->timer_generation[t];
}

/* Bumping the generation makes an expiry that was already queued harmless. */
static void
cancel_timer (ScLiveState *s, GArray *acts, ScLiveTimer t, gint64 now)
{
  push (acts, SC_LIVE_ACT_CANCEL_TIMER, now)->timer = t;
  s->timer_generation[t]++;
}

static void
set_status (ScLiveState *s, GArray *acts, ScLiveStatus st, gint64 now)
{
  static const char *hooks[] = {
    [SC_LIVE_STATUS_IDLE] = "video.live_stream.idle",
    [SC_LIVE_STATUS_ACTIVE] = "video.live_stream.active",
  };
  g_return_if_fail (st != SC_LIVE_STATUS_DISABLED);
  if (s->status == st)
    return;
  s->status = st;
  notify (acts, hooks[st], now);
}

static void
close_connection (ScLiveState *s, GArray *acts, gint64 now)
{
  if (s->connection_id == 0)
    return;
  push (acts, SC_LIVE_ACT_CLOSE_CONNECTION, now)->connection_id = s->connection_id;
  s->connection_id = 0;
  s->recording = FALSE;
  if (s->draining) {
    s->draining = FALSE;
    cancel_timer (s, acts, SC_LIVE_TIMER_COMPLETE_HOLD, now);
  }
}

/* Ends the active asset: recording stopped, window and cap cancelled,
 * finalise requested.  The connection itself is the caller's business. */
static void
finish_asset_full (ScLiveState *s, GArray *acts, gint64 now, gboolean max_expired)
{
  if (s->active_asset_id == NULL)
    return;
  if (s->recording) {
    push (acts, SC_LIVE_ACT_STOP_RECORDING, now)->asset_id = g_strdup (s->active_asset_id);
    s->recording = FALSE;
  }
  if (s->in_reconnect_window) {
    s->in_reconnect_window = FALSE;
    cancel_timer (s, acts, SC_LIVE_TIMER_RECONNECT, now);
  }
  if (s->max_continuous_duration > 0 && !max_expired)
    cancel_timer (s, acts, SC_LIVE_TIMER_MAX_DURATION, now);
  push (acts, SC_LIVE_ACT_FINALISE_ASSET, now)->asset_id = g_strdup (s->active_asset_id);
  notify (acts, "video.asset.live_stream_completed", now);
  g_clear_pointer (&s->active_asset_id, g_free);
}

static void
finish_asset (ScLiveState *s, GArray *acts, gint64 now)
{
  finish_asset_full (s, acts, now, FALSE);
}

static void
start_recording (ScLiveState *s, GArray *acts, gboolean reconnect, gint64 now)
{
  ScLiveAction *a = push (acts, SC_LIVE_ACT_START_RECORDING, now);
  a->asset_id = g_strdup (s->active_asset_id);
  a->connection_id = s->connection_id;
  a->reconnect = reconnect;
  s->recording = TRUE;
  notify (acts, "video.live_stream.recording", now);
}

static void
on_connected (ScLiveState *s, const ScLiveEvent *ev, GArray *acts, gint64 now)
{
  if (s->status == SC_LIVE_STATUS_DISABLED || s->deleted || ev->connection_id == 0) {
    push (acts, SC_LIVE_ACT_CLOSE_CONNECTION, now)->connection_id = ev->connection_id;
    return;
  }
  if (ev->connection_id == s->connection_id)
    return;

  /* A live publisher being replaced: its entry ends here, the asset goes on. */
  gboolean was_recording = s->recording;
  if (was_recording)
    push (acts, SC_LIVE_ACT_STOP_RECORDING, now)->asset_id = g_strdup (s->active_asset_id);
  close_connection (s, acts, now);

  s->connection_id = ev->connection_id;
  notify (acts, "video.live_stream.connected", now);

  if (s->active_asset_id != NULL) {
    if (s->in_reconnect_window) {
      s->in_reconnect_window = FALSE;
      cancel_timer (s, acts, SC_LIVE_TIMER_RECONNECT, now);
    }
    start_recording (s, acts, TRUE, now);
    return;
  }

  g_return_if_fail (ev->new_asset_id != NULL);
  s->active_asset_id = g_strdup (ev->new_asset_id);
  g_ptr_array_add (s->recent_asset_ids, g_strdup (ev->new_asset_id));
  push (acts, SC_LIVE_ACT_CREATE_ASSET, now)->asset_id = g_strdup (ev->new_asset_id);
  notify (acts, "video.asset.created", now);
  if (s->max_continuous_duration > 0)
    start_timer (s, acts, SC_LIVE_TIMER_MAX_DURATION, s->max_continuous_duration, now);
  start_recording (s, acts, FALSE, now);
}

/* The encoder is gone (by itself, or closed by us after complete_hold). */
static void
lose_connection (ScLiveState *s, GArray *acts, gint64 now)
{
  gboolean was_recording = s->recording;

  s->connection_id = 0;
  s->recording = FALSE;
  if (s->draining) {
    s->draining = FALSE;
    cancel_timer (s, acts, SC_LIVE_TIMER_COMPLETE_HOLD, now);
  }
  notify (acts, "video.live_stream.disconnected", now);
  if (!was_recording || s->active_asset_id == NULL)
    return;

  push (acts, SC_LIVE_ACT_STOP_RECORDING, now)->asset_id = g_strdup (s->active_asset_id);
  if (s->reconnect_window == 0) {
    finish_asset (s, acts, now);
    set_status (s, acts, SC_LIVE_STATUS_IDLE, now);
    return;
  }
  s->in_reconnect_window = TRUE;
  start_timer (s, acts, SC_LIVE_TIMER_RECONNECT, s->reconnect_window, now);
}

/* complete, or max_continuous_duration: the asset ends now; a connected
 * encoder is left to drain for complete_hold seconds. */
static void
complete (ScLiveState *s, GArray *acts, gint64 now, gboolean max_expired)
{
  if (s->active_asset_id == NULL)
    return;
  finish_asset_full (s, acts, now, max_expired);
  if (s->status == SC_LIVE_STATUS_ACTIVE)
    set_status (s, acts, SC_LIVE_STATUS_IDLE, now);
  if (s->connection_id != 0) {
    if (s->complete_hold == 0) {
      close_connection (s, acts, now);
    } else {
      s->draining = TRUE;
      start_timer (s, acts, SC_LIVE_TIMER_COMPLETE_HOLD, s->complete_hold, now);
    }
  }
}

static void
on_timer (ScLiveState *s, const ScLiveEvent *ev, GArray *acts, gint64 now)
{
  if ((guint) ev->timer >= SC_LIVE_N_TIMERS ||
      ev->generation != s->timer_generation[ev->timer])
    return;
  /* Consumed: a second delivery of the same expiry is stale. */
  s->timer_generation[ev->timer]++;

  switch (ev->timer) {
    case SC_LIVE_TIMER_RECONNECT:
      if (!s->in_reconnect_window)
        return;
      s->in_reconnect_window = FALSE;
      finish_asset (s, acts, now);
      set_status (s, acts, SC_LIVE_STATUS_IDLE, now);
      break;
    case SC_LIVE_TIMER_COMPLETE_HOLD:
      if (!s->draining)
        return;
      s->draining = FALSE;
      push (acts, SC_LIVE_ACT_CLOSE_CONNECTION, now)->connection_id = s->connection_id;
      s->connection_id = 0;
      notify (acts, "video.live_stream.disconnected", now);
      break;
    case SC_LIVE_TIMER_MAX_DURATION:
      complete (s, acts, now, TRUE);
      break;
    default:
      break;
  }
}

/* The API stored and announced the disable (video.live_stream.disabled);
 * what is left is what it means for the encoder and the asset. */
static void
on_disable (ScLiveState *s, GArray *acts, gint64 now)
{
  if (s->status == SC_LIVE_STATUS_DISABLED)
    return;
  gboolean connected = s->connection_id != 0;
  finish_asset (s, acts, now);
  close_connection (s, acts, now);
  if (connected)
    notify (acts, "video.live_stream.disconnected", now);
  s->status = SC_LIVE_STATUS_DISABLED;
}

/* Likewise the API deleted the stream and announced it. */
static void
on_delete (ScLiveState *s, GArray *acts, gint64 now)
{
  if (s->deleted)
    return;
  finish_asset (s, acts, now);
  close_connection (s, acts, now);
  s->deleted = TRUE;
  push (acts, SC_LIVE_ACT_REMOVE, now);
}

GArray *
sc_livestate_handle (ScLiveState *s, const ScLiveEvent *ev, gint64 now)
{
  GArray *acts = g_array_new (FALSE, TRUE, sizeof (ScLiveAction));
  g_array_set_clear_func (acts, action_clear);

  g_return_val_if_fail (s != NULL && ev != NULL, acts);
  if (s->deleted)
    return acts;

  switch (ev->type) {
    case SC_LIVE_EV_CONNECTED:
      on_connected (s, ev, acts, now);
      break;
    case SC_LIVE_EV_MEDIA_STARTED:
      if (ev->connection_id != 0 && ev->connection_id == s->connection_id &&
          s->recording)
        set_status (s, acts, SC_LIVE_STATUS_ACTIVE, now);
      break;
    case SC_LIVE_EV_DISCONNECTED:
      if (ev->connection_id != 0 && ev->connection_id == s->connection_id)
        lose_connection (s, acts, now);
      break;
    case SC_LIVE_EV_TIMER_EXPIRED:
      on_timer (s, ev, acts, now);
      break;
    case SC_LIVE_EV_COMPLETE:
      complete (s, acts, now, FALSE);
      break;
    case SC_LIVE_EV_DISABLE:
      on_disable (s, acts, now);
      break;
    case SC_LIVE_EV_ENABLE:
      if (s->status == SC_LIVE_STATUS_DISABLED)
        set_status (s, acts, SC_LIVE_STATUS_IDLE, now);
      break;
    case SC_LIVE_EV_DELETE:
      on_delete (s, acts, now);
      break;
  }
  return acts;
}

GArray *
sc_livestate_recover (ScLiveState *s, gint64 now)
{
  GArray *acts = g_array_new (FALSE, TRUE, sizeof (ScLiveAction));
  g_array_set_clear_func (acts, action_clear);

  s->connection_id = 0;
  s->draining = FALSE;
  s->in_reconnect_window = FALSE;
  if (s->active_asset_id == NULL) {
    s->recording = FALSE;
    if (s->status == SC_LIVE_STATUS_ACTIVE)
      set_status (s, acts, SC_LIVE_STATUS_IDLE, now);
    return acts;
  }
  if (s->status == SC_LIVE_STATUS_DISABLED) {
    s->recording = FALSE;
    finish_asset (s, acts, now);
    return acts;
  }
  /* The restart counts as the encoder's disconnect. */
  s->recording = TRUE;
  s->connection_id = G_MAXUINT64;
  lose_connection (s, acts, now);
  return acts;
}

void
sc_livestate_init (ScLiveState *s, guint reconnect_window,
                   guint max_continuous_duration)
{
  memset (s, 0, sizeof *s);
  s->status = SC_LIVE_STATUS_IDLE;
  s->reconnect_window = reconnect_window;
  s->complete_hold = DEFAULT_COMPLETE_HOLD;
  s->max_continuous_duration = max_continuous_duration;
  s->recent_asset_ids = g_ptr_array_new_with_free_func (g_free);
}

void
sc_livestate_clear (ScLiveState *s)
{
  g_clear_pointer (&s->active_asset_id, g_free);
  g_clear_pointer (&s->recent_asset_ids, g_ptr_array_unref);
}

gboolean
sc_livestate_publish_allowed (const ScLiveState *s)
{
  return !s->deleted && s->status != SC_LIVE_STATUS_DISABLED;
}

gboolean
sc_livestate_should_record (const ScLiveState *s, guint64 connection_id)
{
  return connection_id != 0 && connection_id == s->connection_id &&
         s->recording && s->active_asset_id != NULL;
}

static const char *status_names[] = { "idle", "active", "disabled" };

const char *
sc_livestate_status_name (ScLiveStatus status)
{
  if ((guint) status >= G_N_ELEMENTS (status_names))
    return "idle";
  return status_names[status];
}

gboolean
sc_livestate_status_parse (const char *name, ScLiveStatus *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (status_names); i++) {
    if (g_strcmp0 (name, status_names[i]) == 0) {
      *out = i;
      return TRUE;
    }
  }
  return FALSE;
}
