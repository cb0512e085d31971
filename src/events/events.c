/* The bus: publishing into the outbox, fanning committed events out to
 * subscribers, and scheduling webhook deliveries.  Everything here runs on
 * the context that made the bus, which owns the store; only HTTP runs on
 * the worker thread. */
#include "events-private.h"
#include "spacecast/core.h"
#include "spacecast/model.h"

#include <libsoup/soup.h>

#define MAX_IN_FLIGHT 16
#define ATTEMPT_TIMEOUT_S 5

struct _ScEvents {
  ScStore *store;
  GMainContext *context;
  guint retry_initial_s;
  gint64 retry_window_us;
  GArray *fresh;                /* seqs committed since the last flush */
  GSource *flush;               /* idle: refresh + fan out fresh events */
  GSource *kick;                /* idle: look for due deliveries */
  GSource *timer;               /* the next due delivery */
  GHashTable *in_flight;        /* "webhook_id/seq" */
  GPtrArray *subscribers;       /* Subscriber* */
  guint next_subscriber_id;
  ScEventsWorker *worker;
  guint64 delivered, failed, gave_up;
};

typedef struct {
  gatomicrefcount ref;
  guint id;
  GMainContext *context;
  ScEventsFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
  gint active;                  /* atomic: cleared by unsubscribe */
} Subscriber;

ScEvent *
sc_event_ref (ScEvent *e)
{
  return g_atomic_rc_box_acquire (e);
}

static void
event_clear (ScEvent *e)
{
  g_free (e->id);
  g_free (e->type);
  g_free (e->object_type);
  g_free (e->object_id);
  g_clear_pointer (&e->data, json_object_unref);
}

void
sc_event_unref (ScEvent *e)
{
  g_atomic_rc_box_release_full (e, (GDestroyNotify) event_clear);
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_data (p, text, -1, NULL) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
    return json_object_new ();
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

static JsonArray *
parse_array (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_data (p, text, -1, NULL) || !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (p)))
    return json_array_new ();
  return json_array_ref (json_node_get_array (json_parser_get_root (p)));
}

static ScEvent *
event_from_row (const ScStoreEvent *row)
{
  ScEvent *e = g_atomic_rc_box_new0 (ScEvent);
  e->id = g_strdup (row->id);
  e->type = g_strdup (row->type);
  e->object_type = g_strdup (row->object_type);
  e->object_id = g_strdup (row->object_id);
  e->created_at_us = row->created_at_us;
  e->data = parse_object (row->data);
  return e;
}

static char *
render_text (JsonObject *doc)
{
  g_autoptr (JsonNode) n = sc_model_render (doc);
  return json_to_string (n, FALSE);
}

gboolean
sc_events_publish (ScStore *store, const char *type, const char *id, JsonObject *doc,
                   GError **error)
{
  ScKind kind;
  const char *object_type = sc_events_object_type (type, &kind);
  g_autoptr (JsonObject) stored = NULL;

  g_return_val_if_fail (object_type != NULL, FALSE);
  if (!doc && !(doc = stored = sc_store_get (store, kind, id, error)))
    return FALSE;
  g_autofree char *event_id = g_uuid_string_random ();
  g_autofree char *data = render_text (doc);
  ScStoreEvent row = {
    .id = event_id, .type = (char *) type, .object_type = (char *) object_type,
    .object_id = (char *) id, .created_at_us = g_get_real_time (), .data = data,
  };
  return sc_store_outbox_add (store, &row, error);
}

gboolean
sc_events_put (ScStore *store, ScKind kind, const char *id, JsonObject *doc, const char *type,
               GError **error)
{
  if (!sc_store_begin (store, error))
    return FALSE;
  if (!sc_store_put (store, kind, id, doc, error) ||
      !sc_events_publish (store, type, id, doc, error)) {
    sc_store_rollback (store);
    return FALSE;
  }
  return sc_store_commit (store, error);
}

gboolean
sc_events_delete (ScStore *store, ScKind kind, const char *id, JsonObject *doc, const char *type,
                  GError **error)
{
  if (!sc_store_begin (store, error))
    return FALSE;
  if (!sc_store_delete_with_playback_ids (store, kind, id, error) ||
      !sc_events_publish (store, type, id, doc, error)) {
    sc_store_rollback (store);
    return FALSE;
  }
  return sc_store_commit (store, error);
}

gboolean
sc_events_put_simulcast_target (ScStore *store, JsonObject *ls, JsonObject *target,
                                const char *type, GError **error)
{
  const char *id = json_object_get_string_member (ls, "id");
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), target);
  g_autoptr (JsonNode) copy = json_node_copy (node);
  JsonObject *data = json_node_get_object (copy);
  json_object_set_string_member (data, "live_stream_id", id);
  if (!sc_store_begin (store, error))
    return FALSE;
  if (!sc_store_put (store, SC_KIND_LIVE_STREAM, id, ls, error) ||
      !sc_events_publish (store, type, json_object_get_string_member (target, "id"), data,
                          error)) {
    sc_store_rollback (store);
    return FALSE;
  }
  return sc_store_commit (store, error);
}

void
sc_events_notify (ScStore *store, const char *type, const char *id, JsonObject *doc)
{
  g_autoptr (GError) error = NULL;
  if (!sc_events_publish (store, type, id, doc, &error))
    g_warning ("event %s for %s: %s", type, id, error->message);
}

void
sc_events_notify_live_stream (ScStore *store, const char *type, const char *live_stream_id,
                              GPtrArray *recent_asset_ids)
{
  const char *id = live_stream_id;
  if (g_str_has_prefix (type, "video.asset.")) {
    g_return_if_fail (recent_asset_ids && recent_asset_ids->len > 0);
    id = recent_asset_ids->pdata[recent_asset_ids->len - 1];
  }
  sc_events_notify (store, type, id, NULL);
}

/* Subscribers */

static Subscriber *
subscriber_ref (Subscriber *s)
{
  g_atomic_ref_count_inc (&s->ref);
  return s;
}

static void
subscriber_unref (Subscriber *s)
{
  if (!g_atomic_ref_count_dec (&s->ref))
    return;
  if (s->destroy)
    s->destroy (s->user_data);
  g_main_context_unref (s->context);
  g_free (s);
}

typedef struct {
  Subscriber *sub;
  ScEvent *event;
} Call;

static gboolean
call_subscriber (gpointer user_data)
{
  Call *c = user_data;
  if (g_atomic_int_get (&c->sub->active))
    c->sub->func (c->event, c->sub->user_data);
  return G_SOURCE_REMOVE;
}

static void
call_free (Call *c)
{
  subscriber_unref (c->sub);
  sc_event_unref (c->event);
  g_free (c);
}

guint
sc_events_subscribe (ScEvents *bus, GMainContext *context, ScEventsFunc func,
                     gpointer user_data, GDestroyNotify destroy)
{
  Subscriber *s = g_new0 (Subscriber, 1);
  g_atomic_ref_count_init (&s->ref);
  s->id = ++bus->next_subscriber_id;
  s->context = context ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  s->func = func;
  s->user_data = user_data;
  s->destroy = destroy;
  s->active = TRUE;
  g_ptr_array_add (bus->subscribers, s);
  return s->id;
}

void
sc_events_unsubscribe (ScEvents *bus, guint id)
{
  for (guint i = 0; i < bus->subscribers->len; i++) {
    Subscriber *s = bus->subscribers->pdata[i];
    if (s->id == id) {
      g_atomic_int_set (&s->active, FALSE);
      g_ptr_array_remove_index (bus->subscribers, i);
      return;
    }
  }
}

static void
fan_out (ScEvents *bus, ScEvent *event)
{
  for (guint i = 0; i < bus->subscribers->len; i++) {
    Call *c = g_new0 (Call, 1);
    c->sub = subscriber_ref (bus->subscribers->pdata[i]);
    c->event = sc_event_ref (event);
    g_main_context_invoke_full (c->sub->context, G_PRIORITY_DEFAULT, call_subscriber, c,
                                (GDestroyNotify) call_free);
  }
}

/* Sources on the bus' context */

static void
drop_source (GSource **source)
{
  if (*source) {
    g_source_destroy (*source);
    g_clear_pointer (source, g_source_unref);
  }
}

static GSource *
attach (ScEvents *bus, GSource *source, gint priority, GSourceFunc func)
{
  g_source_set_priority (source, priority);
  g_source_set_callback (source, func, bus, NULL);
  g_source_attach (source, bus->context);
  return source;
}

static gboolean dispatch (gpointer user_data);

static void
kick (ScEvents *bus)
{
  if (!bus->kick)
    bus->kick = attach (bus, g_idle_source_new (), G_PRIORITY_DEFAULT, dispatch);
}

/* After the turn that published them: the change that caused an event may
 * have been saved after it was published, so take the resource as it is
 * now (a resource that is gone keeps the snapshot taken at publishing). */
static gboolean
flush (gpointer user_data)
{
  ScEvents *bus = user_data;
  g_autoptr (GArray) seqs = g_steal_pointer (&bus->fresh);
  g_clear_pointer (&bus->flush, g_source_unref);

  for (guint i = 0; seqs && i < seqs->len; i++) {
    g_autoptr (GError) error = NULL;
    ScKind kind;
    g_autoptr (ScStoreEvent) row = sc_store_outbox_get (bus->store, g_array_index (seqs, gint64, i),
                                                        &error);
    if (!row) {
      g_warning ("events: %s", error->message);
      continue;
    }
    sc_events_object_type (row->type, &kind);
    g_autoptr (JsonObject) doc = sc_events_carries_resource (row->type)
        ? sc_store_get (bus->store, kind, row->object_id, NULL) : NULL;
    if (doc) {
      g_autofree char *now = render_text (doc);
      if (!g_str_equal (now, row->data)) {
        if (sc_store_outbox_set_data (bus->store, row->seq, now, &error)) {
          g_free (row->data);
          row->data = g_steal_pointer (&now);
        } else {
          g_warning ("events: %s", error->message);
        }
      }
    }
    g_autoptr (ScEvent) event = event_from_row (row);
    g_log_structured ("spacecast", G_LOG_LEVEL_DEBUG, "EVENT", event->type,
                      "MESSAGE", "event %s: %s %s", event->id, event->type, event->object_id);
    fan_out (bus, event);
  }
  kick (bus);
  return G_SOURCE_REMOVE;
}

static void
on_committed (gint64 seq, gpointer user_data)
{
  ScEvents *bus = user_data;
  if (!bus->fresh)
    bus->fresh = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_val (bus->fresh, seq);
  if (!bus->flush)
    bus->flush = attach (bus, g_idle_source_new (), G_PRIORITY_HIGH, flush);
}

/* Deliveries */

static char *
flight_key (const char *webhook_id, gint64 seq)
{
  return g_strdup_printf ("%s/%" G_GINT64_FORMAT, webhook_id, seq);
}

static void
send_delivery (ScEvents *bus, ScStoreDelivery *d)
{
  ScEventsJob *job = g_new0 (ScEventsJob, 1);
  g_autoptr (ScEvent) event = event_from_row (&d->event);
  job->webhook_id = g_strdup (d->webhook_id);
  job->seq = d->event.seq;
  job->url = g_strdup (d->url);
  job->secret = g_strdup (d->secret);
  job->attempts = parse_array (d->attempts);
  job->body = sc_events_envelope (event, job->attempts);
  g_hash_table_add (bus->in_flight, flight_key (d->webhook_id, d->event.seq));
  sc_events_worker_send (bus->worker, job);
}

static gboolean
on_timer (gpointer user_data)
{
  ScEvents *bus = user_data;
  g_clear_pointer (&bus->timer, g_source_unref);
  return dispatch (bus);
}

static gboolean
dispatch (gpointer user_data)
{
  ScEvents *bus = user_data;
  g_autoptr (GError) error = NULL;
  drop_source (&bus->kick);
  drop_source (&bus->timer);
  /* Every attempt that ends kicks again: nothing to look for until then. */
  if (g_hash_table_size (bus->in_flight) >= MAX_IN_FLIGHT)
    return G_SOURCE_REMOVE;

  /* Heads already in flight come back too: ask for room for them. */
  g_autoptr (GPtrArray) heads = sc_store_delivery_heads (bus->store, 4 * MAX_IN_FLIGHT, &error);
  if (!heads) {
    g_warning ("events: %s", error->message);
    return G_SOURCE_REMOVE;
  }
  gint64 now = g_get_real_time (), next = G_MAXINT64;
  for (guint i = 0; i < heads->len; i++) {
    ScStoreDelivery *d = heads->pdata[i];
    g_autofree char *key = flight_key (d->webhook_id, d->event.seq);
    if (g_hash_table_contains (bus->in_flight, key))
      continue;
    if (d->next_at_us > now)
      next = MIN (next, d->next_at_us);
    else if (g_hash_table_size (bus->in_flight) < MAX_IN_FLIGHT)
      send_delivery (bus, d);
  }
  /* A full window is refilled by the next result. */
  if (next != G_MAXINT64) {
    guint ms = (guint) MIN ((next - now) / 1000 + 1, G_MAXUINT);
    bus->timer = attach (bus, g_timeout_source_new (ms), G_PRIORITY_DEFAULT, on_timer);
  }
  return G_SOURCE_REMOVE;
}

static JsonObject *
attempt_record (const ScEventsJob *job)
{
  JsonObject *a = json_object_new ();
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *at = sc_events_iso8601 (job->sent_at_us);
  json_object_set_string_member (a, "id", id);
  json_object_set_string_member (a, "webhook_id", job->webhook_id);
  json_object_set_string_member (a, "webhook_url", job->url);
  if (job->address)
    json_object_set_string_member (a, "address", job->address);
  else
    json_object_set_null_member (a, "address");
  if (job->status)
    json_object_set_int_member (a, "response_status_code", job->status);
  else
    json_object_set_null_member (a, "response_status_code");
  json_object_set_string_member (a, "created_at", at);
  return a;
}

static void
on_done (ScEventsJob *job, gpointer user_data)
{
  ScEvents *bus = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *key = flight_key (job->webhook_id, job->seq);
  g_autoptr (ScStoreEvent) row = sc_store_outbox_get (bus->store, job->seq, NULL);
  gboolean ok = SOUP_STATUS_IS_SUCCESSFUL (job->status);
  guint n = json_array_get_length (job->attempts) + 1;
  gint64 now = g_get_real_time ();
  gint64 next = now + sc_events_retry_delay (n, bus->retry_initial_s);
  ScDeliveryState state = ok ? SC_DELIVERY_DONE : SC_DELIVERY_PENDING;

  json_array_add_object_element (job->attempts, attempt_record (job));
  if (!ok && row && next - row->created_at_us > bus->retry_window_us)
    state = SC_DELIVERY_GAVE_UP;
  if (ok)
    bus->delivered++;
  else
    bus->failed++;
  if (state == SC_DELIVERY_GAVE_UP)
    bus->gave_up++;
  g_autoptr (JsonNode) attempts = json_node_init_array (json_node_alloc (), job->attempts);
  g_autofree char *text = json_to_string (attempts, FALSE);
  /* A row that is gone went with its webhook: nothing to record. */
  if (row && !sc_store_delivery_update (bus->store, job->webhook_id, job->seq, state, next, text,
                                        &error))
    g_warning ("events: %s", error->message);
  if (row && state == SC_DELIVERY_GAVE_UP)
    g_warning ("webhook %s: gave up on event %s (%s) after %u attempts", job->url, row->id,
               row->type, n);
  else if (row && !ok)
    g_message ("webhook %s: event %s (%s) attempt %u failed (%u); next in %" G_GINT64_FORMAT " s",
               job->url, row->id, row->type, n, job->status, (next - now) / G_USEC_PER_SEC);
  g_hash_table_remove (bus->in_flight, key);
  sc_events_job_free (job);
  kick (bus);
}

static char *
config_webhook_id (const char *url)
{
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, url, -1);
  return g_strdup_printf ("cfg-%.16s", sum);
}

static gboolean
sync_config_webhooks (ScStore *store, const ScConfig *config, GError **error)
{
  guint n = config->webhook_urls ? g_strv_length (config->webhook_urls) : 0;
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);

  if (!sc_store_begin (store, error))
    return FALSE;
  for (guint i = 0; i < n; i++) {
    g_autoptr (GError) invalid = NULL;
    if (!sc_events_check_url (config->webhook_urls[i], &invalid)) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "webhook-url: %s", invalid->message);
      goto fail;
    }
    ScStoreWebhook w = {
      .id = config_webhook_id (config->webhook_urls[i]), .url = config->webhook_urls[i],
      .secret = config->webhook_secrets[i], .created_at = sc_core_now_unix (), .from_config = TRUE,
    };
    g_ptr_array_add (keep, w.id);
    if (!sc_store_put_webhook (store, &w, error))
      goto fail;
  }
  g_ptr_array_add (keep, NULL);
  if (!sc_store_prune_config_webhooks (store, (const char *const *) keep->pdata, error))
    goto fail;
  return sc_store_commit (store, error);
fail:
  sc_store_rollback (store);
  return FALSE;
}

ScEvents *
sc_events_new (ScStore *store, const ScConfig *config, GError **error)
{
  if (!sync_config_webhooks (store, config, error) ||
      !sc_store_outbox_prune (store, g_get_real_time () - 2 * (gint64) config->webhook_retry_window_s
                                                           * G_USEC_PER_SEC, error))
    return NULL;

  ScEvents *bus = g_new0 (ScEvents, 1);
  bus->store = store;
  bus->context = g_main_context_ref_thread_default ();
  bus->retry_initial_s = config->webhook_retry_initial_s;
  bus->retry_window_us = (gint64) config->webhook_retry_window_s * G_USEC_PER_SEC;
  bus->in_flight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  bus->subscribers = g_ptr_array_new_with_free_func ((GDestroyNotify) subscriber_unref);
  bus->worker = sc_events_worker_new (bus->context, ATTEMPT_TIMEOUT_S, on_done, bus);
  sc_store_set_outbox_func (store, on_committed, bus);
  /* What was not delivered before a stop or a crash goes out now. */
  kick (bus);
  return bus;
}

void
sc_events_free (ScEvents *bus)
{
  if (!bus)
    return;
  sc_store_set_outbox_func (bus->store, NULL, NULL);
  sc_events_worker_free (bus->worker);
  drop_source (&bus->flush);
  drop_source (&bus->kick);
  drop_source (&bus->timer);
  g_clear_pointer (&bus->fresh, g_array_unref);
  for (guint i = 0; i < bus->subscribers->len; i++)
    g_atomic_int_set (&((Subscriber *) bus->subscribers->pdata[i])->active, FALSE);
  g_ptr_array_unref (bus->subscribers);
  g_hash_table_unref (bus->in_flight);
  g_main_context_unref (bus->context);
  g_free (bus);
}

void
sc_events_get_stats (ScEvents *bus, ScEventsStats *stats)
{
  stats->delivered = bus->delivered;
  stats->failed = bus->failed;
  stats->gave_up = bus->gave_up;
  stats->in_flight = g_hash_table_size (bus->in_flight);
  stats->pending = sc_store_delivery_count (bus->store, SC_DELIVERY_PENDING);
}
