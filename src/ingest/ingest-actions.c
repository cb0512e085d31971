/* Carrying out what the live-stream state machine decides: the store, the
 * recorder, encoder connections and timers. */
#include "ingest-private.h"
#include "spacecast/core.h"
#include "spacecast/events.h"
#include "spacecast/model.h"

typedef struct {
  ScIngest *ingest;
  char *stream_id;
  ScLiveTimer timer;
  guint generation;
} TimerData;

static gboolean
on_timer (gpointer user_data)
{
  TimerData *t = user_data;
  Stream *s = g_hash_table_lookup (t->ingest->streams, t->stream_id);
  if (s) {
    s->timers[t->timer] = 0;
    ScLiveEvent ev = { .type = SC_LIVE_EV_TIMER_EXPIRED, .timer = t->timer,
                       .generation = t->generation };
    sc_ingest_dispatch (t->ingest, s, &ev);
  }
  return G_SOURCE_REMOVE;
}

static void
timer_data_free (TimerData *t)
{
  g_free (t->stream_id);
  g_free (t);
}

static JsonObject *
load_asset (ScIngest *ing, const char *id)
{
  g_autoptr (GError) error = NULL;
  JsonObject *a = sc_store_get (ing->store, SC_KIND_ASSET, id, &error);
  if (!a)
    g_warning ("asset %s: %s", id, error->message);
  return a;
}

static void
save_asset (ScIngest *ing, JsonObject *a)
{
  g_autoptr (GError) error = NULL;
  if (!sc_store_put (ing->store, SC_KIND_ASSET, json_object_get_string_member (a, "id"), a, &error))
    g_warning ("asset %s: cannot save: %s", json_object_get_string_member (a, "id"), error->message);
}

static gboolean
store_new_asset (ScIngest *ing, Stream *s, const ScLiveAction *act, GError **error)
{
  g_autoptr (JsonObject) ls = sc_store_get (ing->store, SC_KIND_LIVE_STREAM, s->id, error);
  if (!ls)
    return FALSE;
  g_autoptr (JsonObject) a = sc_model_asset_new_live (ls, act->at);
  json_object_set_string_member (a, "id", act->asset_id);
  if (s->encoder.conn && s->encoder.protocol == SC_INGEST_SRT)
    json_object_set_string_member (a, "ingest_type", "live_srt");
  return sc_store_put_with_playback_ids (ing->store, SC_KIND_ASSET, a, error);
}

static void
create_asset (ScIngest *ing, Stream *s, const ScLiveAction *act)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *asset_dir = sc_ingest_asset_dir (ing, act->asset_id);
  g_autofree char *live_dir = sc_ingest_live_dir (ing, s->id);

  g_clear_pointer (&s->recorder, sc_recorder_free);
  s->record_failed = FALSE;
  if (!store_new_asset (ing, s, act, &error) ||
      !(s->recorder = sc_recorder_new (asset_dir, live_dir, &error))) {
    g_warning ("live stream %s: cannot start asset %s: %s", s->id, act->asset_id, error->message);
    return;
  }
  g_message ("live stream %s: recording into new asset %s", s->id, act->asset_id);
}

void
sc_ingest_asset_error (ScIngest *ing, const char *asset_id, const char *type,
                       const char *message)
{
  g_autoptr (JsonObject) a = load_asset (ing, asset_id);
  if (!a)
    return;
  JsonObject *errs = json_object_new ();
  JsonArray *msgs = json_array_new ();
  json_array_add_string_element (msgs, message);
  json_object_set_string_member (errs, "type", type);
  json_object_set_array_member (errs, "messages", msgs);
  json_object_set_object_member (a, "errors", errs);
  save_asset (ing, a);
}

static void
recording_time (ScIngest *ing, const ScLiveAction *act, gboolean start)
{
  g_autoptr (JsonObject) a = load_asset (ing, act->asset_id);
  if (!a)
    return;
  JsonArray *times = json_object_get_array_member (a, "recording_times");
  if (start) {
    JsonObject *t = json_object_new ();
    g_autofree char *at = sc_ingest_iso8601 ((double) act->at);
    json_object_set_string_member (t, "started_at", at);
    json_object_set_double_member (t, "duration", 0);
    json_object_set_string_member (t, "type", "content");
    json_array_add_object_element (times, t);
  } else if (json_array_get_length (times) > 0) {
    JsonObject *t = json_array_get_object_element (times, json_array_get_length (times) - 1);
    /* started_at is the start itself: a private member here would reach
     * API clients, which only strip top-level ones. */
    g_autoptr (GDateTime) started = g_date_time_new_from_iso8601 (
        json_object_get_string_member_with_default (t, "started_at", ""), NULL);
    gint64 from = started ? g_date_time_to_unix (started) : act->at;
    json_object_set_double_member (t, "duration", (double) (act->at - from));
  }
  save_asset (ing, a);
}

static void
start_timer (ScIngest *ing, Stream *s, const ScLiveAction *act)
{
  TimerData *t = g_new0 (TimerData, 1);
  t->ingest = ing;
  t->stream_id = g_strdup (s->id);
  t->timer = act->timer;
  t->generation = act->generation;
  if (s->timers[act->timer])
    g_source_remove (s->timers[act->timer]);
  s->timers[act->timer] = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, act->seconds, on_timer, t,
                                                      (GDestroyNotify) timer_data_free);
}

static void
finalise (ScIngest *ing, Stream *s, const ScLiveAction *act)
{
  g_autoptr (GError) error = NULL;
  if (s->recorder && !sc_recorder_close (s->recorder, &error))
    g_warning ("asset %s: closing the recording: %s", act->asset_id, error->message);
  g_clear_pointer (&s->recorder, sc_recorder_free);
  g_clear_pointer (&s->simulcast, sc_simulcast_session_free);
  sc_ingest_finalise_asset (ing, act->asset_id);
}

/* The stream's own document follows its state after every event. */
static void
save_stream (ScIngest *ing, Stream *s)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) ls = sc_store_get (ing->store, SC_KIND_LIVE_STREAM, s->id, &error);
  if (!ls)
    return;
  json_object_set_string_member (ls, "status", sc_livestate_status_name (s->state.status));
  if (s->state.active_asset_id)
    json_object_set_string_member (ls, "active_asset_id", s->state.active_asset_id);
  else if (json_object_has_member (ls, "active_asset_id"))
    json_object_remove_member (ls, "active_asset_id");
  JsonArray *recent = json_array_new ();
  for (guint i = 0; i < s->state.recent_asset_ids->len; i++)
    json_array_add_string_element (recent, s->state.recent_asset_ids->pdata[i]);
  json_object_set_array_member (ls, "recent_asset_ids", recent);
  if (s->encoder.conn)
    json_object_set_string_member (ls, "active_ingest_protocol",
                                   sc_ingest_protocol_name (s->encoder.protocol));
  else if (json_object_has_member (ls, "active_ingest_protocol"))
    json_object_remove_member (ls, "active_ingest_protocol");
  if (!sc_store_put (ing->store, SC_KIND_LIVE_STREAM, s->id, ls, &error))
    g_warning ("live stream %s: cannot save: %s", s->id, error->message);
}

void
sc_ingest_dispatch (ScIngest *ing, Stream *s, const ScLiveEvent *ev)
{
  g_autoptr (GArray) actions = sc_livestate_handle (&s->state, ev, sc_core_now_unix ());
  g_autoptr (GError) error = NULL;
  gboolean removed = FALSE;

  /* What the actions store and the events they announce commit together. */
  gboolean tx = sc_store_begin (ing->store, &error);
  if (!tx)
    g_warning ("live stream %s: %s", s->id, error->message);
  for (guint i = 0; i < actions->len; i++) {
    const ScLiveAction *act = &g_array_index (actions, ScLiveAction, i);
    switch (act->type) {
    case SC_LIVE_ACT_CREATE_ASSET:
      create_asset (ing, s, act);
      break;
    case SC_LIVE_ACT_START_RECORDING:
      if (act->reconnect && s->recorder)
        sc_recorder_new_connection (s->recorder);
      recording_time (ing, act, TRUE);
      break;
    case SC_LIVE_ACT_STOP_RECORDING:
      recording_time (ing, act, FALSE);
      break;
    case SC_LIVE_ACT_FINALISE_ASSET:
      finalise (ing, s, act);
      break;
    case SC_LIVE_ACT_CLOSE_CONNECTION:
      if (act->connection_id == s->conn_id) {
        if (s->encoder.conn && s->simulcast)
          sc_simulcast_session_stop (s->simulcast);
        sc_ingest_encoder_close (&s->encoder, "closed by the live stream's state");
      }
      break;
    case SC_LIVE_ACT_START_TIMER:
      start_timer (ing, s, act);
      break;
    case SC_LIVE_ACT_CANCEL_TIMER:
      if (s->timers[act->timer]) {
        g_source_remove (s->timers[act->timer]);
        s->timers[act->timer] = 0;
      }
      break;
    case SC_LIVE_ACT_NOTIFY:
      g_log_structured ("spacecast", G_LOG_LEVEL_INFO, "EVENT", act->webhook,
                        "MESSAGE", "live stream %s: %s", s->id, act->webhook);
      sc_events_notify_live_stream (ing->store, act->webhook, s->id, s->state.recent_asset_ids);
      break;
    case SC_LIVE_ACT_REMOVE:
      removed = TRUE;
      break;
    }
  }
  if (!removed)
    save_stream (ing, s);
  g_clear_error (&error);
  if (tx && !sc_store_commit (ing->store, &error))
    g_warning ("live stream %s: cannot record its state: %s", s->id, error->message);
}
