/* Broadcast routes beyond the resource itself (start, stop, PATCH) and the
 * glue between running broadcasts and the spaces they show. */
#include "broadcast-private.h"
#include "spacecast/core.h"
#include "spacecast/encoder.h"
#include "spacecast/model.h"

#include <stdio.h>

#define BASE "/video/v1/spaces/*/broadcasts/*"

/* The stored status, with why it went idle (a spacecast extension; the
 * running broadcast's health says the rest), and its event.  An output
 * that failed is also announced as errored, in the same transaction. */
static gboolean
save_status (ScBroadcasts *b, const char *id, const char *status, const char *reason,
             gboolean errored, GError **error)
{
  g_autoptr (JsonObject) doc = sc_store_get (b->store, SC_KIND_BROADCAST, id, error);
  if (!doc)
    return FALSE;
  json_object_set_string_member (doc, "status", status);
  if (reason)
    json_object_set_string_member (doc, "idle_reason", reason);
  else if (json_object_has_member (doc, "idle_reason"))
    json_object_remove_member (doc, "idle_reason");
  g_autofree char *type = g_strconcat ("video.space.broadcast.", status, NULL);
  if (!sc_store_begin (b->store, error))
    return FALSE;
  if ((errored && !sc_events_publish (b->store, "video.space.broadcast.errored", id, doc, error)) ||
      !sc_events_put (b->store, SC_KIND_BROADCAST, id, doc, type, error)) {
    sc_store_rollback (b->store);
    return FALSE;
  }
  return sc_store_commit (b->store, error);
}

/* The live stream is completed only once the broadcast's RTMP stream has
 * ended, so its recording holds everything that was sent. */
static void
on_stopped (Running *r, gpointer user_data)
{
  ScBroadcasts *b = user_data;
  g_autofree char *ls = g_strdup (r->live_stream_id);
  g_message ("broadcast %s: stopped", r->id);
  g_hash_table_remove (b->stopping, r->id);
  /* At shutdown the stream only disconnects, and the live stream's own
   * reconnect window and recovery decide what happens to it. */
  if (!b->closing)
    sc_ingest_complete (b->ingest, ls);
}

/* Stop a running broadcast; its live stream is completed, as Mux does. */
static void
stop (ScBroadcasts *b, const char *id, const char *why, gboolean errored)
{
  Running *r = g_hash_table_lookup (b->running, id);
  g_autoptr (GError) error = NULL;
  if (!r)
    return;
  g_message ("broadcast %s: stopping: %s", id, why);
  sc_broadcast_previews_end (b, id, "the broadcast stopped");
  g_hash_table_steal (b->running, id);
  g_hash_table_insert (b->stopping, r->id, r);
  if (!save_status (b, id, "idle", why, errored, &error))
    g_warning ("broadcast %s: %s", id, error->message);
  sc_broadcast_run_stop_async (r, on_stopped, b);
}

void
sc_broadcasts_output_failed (ScBroadcasts *b, const char *id, const char *reason)
{
  g_autofree char *why = g_strdup_printf ("its output failed: %s", reason);
  stop (b, id, why, TRUE);
}

static void
start_route (ScRequest *req)
{
  ScBroadcasts *b = req->user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = sc_api_load_broadcast (req);
  if (!doc)
    return;
  const char *id = req->params[1];
  if (b->closing) {
    sc_api_reply_error_code (req, SC_ERROR_UNAVAILABLE, "spacecast is shutting down");
    return;
  }
  if (g_hash_table_contains (b->running, id)) {
    sc_api_reply_error_code (req, SC_ERROR_CONFLICT, "broadcast %s is already active", id);
    return;
  }
  if (g_hash_table_contains (b->stopping, id)) {
    sc_api_reply_error_code (req, SC_ERROR_CONFLICT,
                             "broadcast %s is still ending its stream; try again shortly", id);
    return;
  }
  if (!sc_spaces_is_active (b->spaces, req->params[0])) {
    sc_api_reply_error_code (req, SC_ERROR_CONFLICT,
                             "space %s is idle: a broadcast starts once a participant has joined",
                             req->params[0]);
    return;
  }
  const char *ls_id = json_object_get_string_member (doc, "live_stream_id");
  g_autoptr (JsonObject) ls = sc_store_get (b->store, SC_KIND_LIVE_STREAM, ls_id, NULL);
  if (!ls) {
    sc_api_reply_error_code (req, SC_ERROR_CONFLICT, "live stream %s no longer exists", ls_id);
    return;
  }
  if (g_str_equal (json_object_get_string_member (ls, "status"), "disabled")) {
    sc_api_reply_error_code (req, SC_ERROR_CONFLICT, "live stream %s is disabled", ls_id);
    return;
  }
  /* The probe may take seconds per failing hardware encoder: never here. */
  const char *enc = json_object_get_string_member_with_default (
      doc, "_encoder_request", sc_api_get_config (b->api)->encoder);
  if (!sc_encoder_probe_ready (NULL, enc)) {
    soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                  "Retry-After", "2");
    sc_api_reply_error_code (req, SC_ERROR_UNAVAILABLE,
                             "spacecast is still finding out which encoders work here; "
                             "try again in a few seconds");
    return;
  }
  Running *r = sc_broadcast_run_start (b, doc, ls, &error);
  if (!r || !save_status (b, id, "active", NULL, FALSE, &error)) {
    g_clear_pointer (&r, sc_broadcast_run_free);
    sc_api_reply_error (req, error);
    return;
  }
  g_hash_table_insert (b->running, r->id, r);
  g_message ("broadcast %s: started, space %s → live stream %s", id, r->space_id, ls_id);
  sc_api_reply_empty_data (req, 200);
}

static void
stop_route (ScRequest *req)
{
  ScBroadcasts *b = req->user_data;
  g_autoptr (JsonObject) doc = sc_api_load_broadcast (req);
  if (!doc)
    return;
  stop (b, req->params[1], "stopped through the API", FALSE);
  sc_api_reply_empty_data (req, 200);
}

static void
patch_route (ScRequest *req)
{
  ScBroadcasts *b = req->user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = sc_api_load_broadcast (req);
  if (!doc)
    return;
  ScLayoutOptions check = { 0 };
  int w = 1920, h = 1080;
  sscanf (json_object_get_string_member (doc, "resolution"), "%dx%d", &w, &h);
  if (!sc_model_broadcast_patch (doc, req->body, &error) ||
      !sc_layout_options_init_from_json (&check, json_object_get_string_member (doc, "layout"),
                                         json_object_has_member (doc, "layout_options")
                                           ? json_object_get_object_member (doc, "layout_options") : NULL,
                                         w, h, &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  sc_layout_options_clear (&check);
  /* Stored first: a layout on screen is always the one the API shows.
   * transition_ms applies to this switch only, so it is not kept. */
  guint transition_ms = json_object_get_int_member_with_default (doc, "transition_ms", 0);
  if (json_object_has_member (doc, "transition_ms"))
    json_object_remove_member (doc, "transition_ms");
  if (!sc_store_put (b->store, SC_KIND_BROADCAST, req->params[1], doc, &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  Running *r = g_hash_table_lookup (b->running, req->params[1]);
  if (r) {
    if (!sc_broadcast_run_set_layout (r, doc, transition_ms, &error)) {
      g_prefix_error (&error, "the layout was saved but could not be applied: ");
      sc_api_reply_error (req, error);
      return;
    }
    sc_broadcast_run_relayout (r);
  }
  sc_api_reply_data (req, 200, sc_api_render (req->api, SC_KIND_BROADCAST, doc));
}

/* A running broadcast reports its encoder and live output health. */
static void
decorate (ScKind kind, JsonObject *o, gpointer user_data)
{
  ScBroadcasts *b = user_data;
  Running *r = kind == SC_KIND_BROADCAST
      ? g_hash_table_lookup (b->running, json_object_get_string_member (o, "id")) : NULL;
  if (!r)
    return;
  ScBcastHealth hl;
  sc_bcast_pipeline_get_health (r->pipe, &hl);
  json_object_set_string_member (o, "encoder", hl.video_encoder);
  json_object_set_string_member (o, "audio_encoder", hl.audio_encoder);
  JsonObject *health = json_object_new ();
  json_object_set_string_member (health, "state", sc_bcast_state_to_string (hl.state));
  if (hl.reason[0])
    json_object_set_string_member (health, "reason", hl.reason);
  json_object_set_double_member (health, "output_fps", hl.output_fps);
  json_object_set_int_member (health, "bitrate", (gint64) hl.bitrate_bps);
  json_object_set_int_member (health, "frames_out", (gint64) hl.frames_out);
  json_object_set_int_member (health, "frames_dropped", (gint64) hl.frames_dropped);
  json_object_set_int_member (health, "reconnects", hl.reconnects);
  json_object_set_object_member (o, "health", health);
}

static void
for_space (ScBroadcasts *b, const char *space_id, void (*fn) (Running *r, gconstpointer data),
           gconstpointer data)
{
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, b->running);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Running *r = value;
    if (g_str_equal (r->space_id, space_id))
      fn (r, data);
  }
}

static void
attach_and_relayout (Running *r, gconstpointer p)
{
  sc_broadcast_run_attach (r, p);
  sc_broadcast_run_relayout (r);
}

static void
detach_and_relayout (Running *r, gconstpointer p)
{
  sc_broadcast_run_detach (r, ((const ScParticipant *) p)->connection_id);
  sc_broadcast_run_relayout (r);
}

static void
relayout (Running *r, gconstpointer p)
{
  sc_broadcast_run_relayout (r);
}

static void
on_joined (const ScParticipant *p, gpointer user_data)
{
  ScBroadcasts *b = user_data;
  guint timer = GPOINTER_TO_UINT (g_hash_table_lookup (b->idle_timers, p->space_id));
  if (timer) {
    g_source_remove (timer);
    g_hash_table_remove (b->idle_timers, p->space_id);
  }
  for_space (b, p->space_id, attach_and_relayout, p);
}

static void
on_left (const ScParticipant *p, gpointer user_data)
{
  ScBroadcasts *b = user_data;
  /* The registry no longer lists the leaver (space.c): it loses its cell. */
  for_space (b, p->space_id, detach_and_relayout, p);
}

static void
on_track (const ScParticipant *p, ScWhipTrackKind kind, gpointer user_data)
{
  for_space (user_data, p->space_id, relayout, NULL);
}

typedef struct {
  ScBroadcasts *b;
  char *space_id;
} Grace;

static void
grace_free (Grace *g)
{
  g_free (g->space_id);
  g_free (g);
}

static gboolean
on_grace_expired (gpointer user_data)
{
  Grace *g = user_data;
  ScBroadcasts *b = g->b;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, b->running);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (g_str_equal (((Running *) value)->space_id, g->space_id))
      g_ptr_array_add (ids, g_strdup (((Running *) value)->id));
  for (guint i = 0; i < ids->len; i++)
    stop (b, ids->pdata[i], "its space stayed idle", FALSE);
  g_hash_table_remove (b->idle_timers, g->space_id);
  return G_SOURCE_REMOVE;
}

static void
on_space_idle (const char *space_id, gpointer user_data)
{
  ScBroadcasts *b = user_data;
  ScConfig *config = sc_api_get_config (b->api);
  if (g_hash_table_contains (b->idle_timers, space_id))
    return;
  Grace *g = g_new0 (Grace, 1);
  g->b = b;
  g->space_id = g_strdup (space_id);
  guint id = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, config->broadcast_idle_grace_s,
                                         on_grace_expired, g, (GDestroyNotify) grace_free);
  g_hash_table_insert (b->idle_timers, g_strdup (space_id), GUINT_TO_POINTER (id));
}

ScBroadcasts *
sc_broadcasts_new (ScApi *api, ScSpaces *spaces, ScIngest *ingest)
{
  static const ScSpaceObserver observer = {
    .joined = on_joined, .left = on_left, .track_added = on_track, .space_idle = on_space_idle,
  };
  const ScRouteFlags j = SC_ROUTE_BASIC_AUTH | SC_ROUTE_JSON_BODY;
  ScBroadcasts *b = g_new0 (ScBroadcasts, 1);
  b->api = api;
  b->store = sc_api_get_store (api);
  b->spaces = spaces;
  b->ingest = ingest;
  b->running = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) sc_broadcast_run_free);
  b->stopping = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) sc_broadcast_run_free);
  b->idle_timers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  b->observer = sc_spaces_add_observer (spaces, &observer, b);
  sc_api_add_route (api, "POST", BASE "/start", j, start_route, b);
  sc_api_add_route (api, "POST", BASE "/stop", j, stop_route, b);
  sc_api_add_route (api, "PATCH", BASE, j, patch_route, b);
  sc_api_set_decorate_func (api, decorate, b);
  sc_broadcast_previews_init (b);
  return b;
}

void
sc_broadcasts_shutdown (ScBroadcasts *b)
{
  if (b->closing)
    return;
  b->closing = TRUE;
  sc_spaces_remove_observer (b->spaces, b->observer);
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, b->idle_timers);
  while (g_hash_table_iter_next (&it, &key, &value))
    g_source_remove (GPOINTER_TO_UINT (value));
  g_hash_table_remove_all (b->idle_timers);
  g_autofree gpointer *ids = (gpointer *) g_hash_table_get_keys_as_array (b->running, NULL);
  for (guint i = 0; ids[i]; i++)
    stop (b, ids[i], "spacecast was shut down", FALSE);
  /* Keep serving (our own ingest is on this context) until the streams being
   * ended have drained; each wait is bounded. */
  while (g_hash_table_size (b->stopping) > 0)
    g_main_context_iteration (NULL, TRUE);
}

void
sc_broadcasts_free (ScBroadcasts *b)
{
  if (!b)
    return;
  sc_broadcasts_shutdown (b);
  sc_broadcast_previews_free (b);
  g_hash_table_unref (b->idle_timers);
  g_hash_table_unref (b->running);
  g_hash_table_unref (b->stopping);
  g_free (b);
}

void
sc_broadcasts_foreach_health (ScBroadcasts *b, ScBroadcastHealthFunc func, gpointer user_data)
{
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, b->running);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Running *r = value;
    ScBcastHealth hl;
    sc_bcast_pipeline_get_health (r->pipe, &hl);
    func (r->id, &hl, user_data);
  }
}
