/* The events outbox: webhook endpoints, events and their deliveries.
 * Rows are written on the store's thread like everything else; the
 * delivery worker in src/events never touches the database. */
#include "store-private.h"
#include "spacecast/core.h"

void
sc_store_event_free (ScStoreEvent *e)
{
  if (!e)
    return;
  g_free (e->id);
  g_free (e->type);
  g_free (e->object_type);
  g_free (e->object_id);
  g_free (e->data);
  g_free (e);
}

void
sc_store_webhook_free (ScStoreWebhook *w)
{
  if (!w)
    return;
  g_free (w->id);
  g_free (w->url);
  g_free (w->secret);
  g_free (w);
}

void
sc_store_delivery_free (ScStoreDelivery *d)
{
  if (!d)
    return;
  g_free (d->event.id);
  g_free (d->event.type);
  g_free (d->event.object_type);
  g_free (d->event.object_id);
  g_free (d->event.data);
  g_free (d->webhook_id);
  g_free (d->url);
  g_free (d->secret);
  g_free (d->attempts);
  g_free (d);
}

static char *
col_text (sqlite3_stmt *stmt, int col)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, col));
}

static gboolean
step_done (ScStore *store, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  return rc == SQLITE_DONE || sc_store_fail (store, error, what);
}

void
sc_store_set_outbox_func (ScStore *store, ScStoreOutboxFunc func, gpointer user_data)
{
  store->outbox_func = func;
  store->outbox_data = user_data;
}

void
sc_store_outbox_settle (ScStore *store, gboolean committed)
{
  if (!store->outbox_pending || store->outbox_pending->len == 0)
    return;
  /* Taken first: an observer may write (and so settle) again. */
  g_autoptr (GArray) seqs = g_steal_pointer (&store->outbox_pending);
  for (guint i = 0; committed && store->outbox_func && i < seqs->len; i++)
    store->outbox_func (g_array_index (seqs, gint64, i), store->outbox_data);
}

gboolean
sc_store_outbox_add (ScStore *store, const ScStoreEvent *e, GError **error)
{
  if (!sc_store_begin (store, error))
    return FALSE;
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "INSERT INTO events (id, type, object_type, object_id, created_at, data) "
      "VALUES (?, ?, ?, ?, ?, ?)", error);
  gboolean ok = stmt != NULL;
  if (ok) {
    sqlite3_bind_text (stmt, 1, e->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, 2, e->type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, 3, e->object_type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, 4, e->object_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 5, e->created_at_us);
    sqlite3_bind_text (stmt, 6, e->data, -1, SQLITE_TRANSIENT);
    ok = step_done (store, stmt, "add event", error);
  }
  gint64 seq = sqlite3_last_insert_rowid (store->db);
  if (ok && (stmt = sc_store_prepare (store,
                 "INSERT INTO deliveries (webhook_id, event_seq, next_at) "
                 "SELECT id, ?, ? FROM webhooks", error))) {
    sqlite3_bind_int64 (stmt, 1, seq);
    sqlite3_bind_int64 (stmt, 2, e->created_at_us);
    ok = step_done (store, stmt, "add deliveries", error);
  } else {
    ok = FALSE;
  }
  if (!ok) {
    sc_store_rollback (store);
    return FALSE;
  }
  if (!store->outbox_pending)
    store->outbox_pending = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_val (store->outbox_pending, seq);
  return sc_store_commit (store, error);
}

static void
read_event (sqlite3_stmt *stmt, int col, ScStoreEvent *e)
{
  e->seq = sqlite3_column_int64 (stmt, col);
  e->id = col_text (stmt, col + 1);
  e->type = col_text (stmt, col + 2);
  e->object_type = col_text (stmt, col + 3);
  e->object_id = col_text (stmt, col + 4);
  e->created_at_us = sqlite3_column_int64 (stmt, col + 5);
  e->data = col_text (stmt, col + 6);
}

#define EVENT_COLUMNS "e.seq, e.id, e.type, e.object_type, e.object_id, e.created_at, e.data"

ScStoreEvent *
sc_store_outbox_get (ScStore *store, gint64 seq, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "SELECT " EVENT_COLUMNS " FROM events e WHERE e.seq = ?", error);
  if (!stmt)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, seq);
  ScStoreEvent *e = NULL;
  int rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    read_event (stmt, 0, e = g_new0 (ScStoreEvent, 1));
  else if (rc == SQLITE_DONE)
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "event %" G_GINT64_FORMAT " not found", seq);
  else
    sc_store_fail (store, error, "get event");
  sqlite3_finalize (stmt);
  return e;
}

gboolean
sc_store_outbox_set_data (ScStore *store, gint64 seq, const char *data, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store, "UPDATE events SET data = ? WHERE seq = ?", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, data, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, seq);
  return step_done (store, stmt, "update event", error);
}

gboolean
sc_store_outbox_prune (ScStore *store, gint64 before_us, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "DELETE FROM events WHERE created_at < ? AND NOT EXISTS ("
      "  SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.state = 0)", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, before_us);
  return step_done (store, stmt, "prune events", error);
}

gboolean
sc_store_put_webhook (ScStore *store, const ScStoreWebhook *w, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "INSERT INTO webhooks (id, url, secret, created_at, from_config) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (id) DO UPDATE SET url = excluded.url, secret = excluded.secret", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, w->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, w->url, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, w->secret, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 4, w->created_at);
  sqlite3_bind_int (stmt, 5, w->from_config);
  return step_done (store, stmt, "put webhook", error);
}

static ScStoreWebhook *
read_webhook (sqlite3_stmt *stmt)
{
  ScStoreWebhook *w = g_new0 (ScStoreWebhook, 1);
  w->id = col_text (stmt, 0);
  w->url = col_text (stmt, 1);
  w->secret = col_text (stmt, 2);
  w->created_at = sqlite3_column_int64 (stmt, 3);
  w->from_config = sqlite3_column_int (stmt, 4);
  return w;
}

ScStoreWebhook *
sc_store_get_webhook (ScStore *store, const char *id, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "SELECT id, url, secret, created_at, from_config FROM webhooks WHERE id = ?", error);
  if (!stmt)
    return NULL;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  ScStoreWebhook *w = NULL;
  int rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    w = read_webhook (stmt);
  else if (rc == SQLITE_DONE)
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "webhook %s not found", id);
  else
    sc_store_fail (store, error, "get webhook");
  sqlite3_finalize (stmt);
  return w;
}

GPtrArray *
sc_store_list_webhooks (ScStore *store, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "SELECT id, url, secret, created_at, from_config FROM webhooks ORDER BY rowid", error);
  if (!stmt)
    return NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_store_webhook_free);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (out, read_webhook (stmt));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE) {
    g_ptr_array_unref (out);
    sc_store_fail (store, error, "list webhooks");
    return NULL;
  }
  return out;
}

gboolean
sc_store_delete_webhook (ScStore *store, const char *id, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store, "DELETE FROM webhooks WHERE id = ?", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  if (!step_done (store, stmt, "delete webhook", error))
    return FALSE;
  if (sqlite3_changes (store->db) == 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "webhook %s not found", id);
    return FALSE;
  }
  return TRUE;
}

gboolean
sc_store_prune_config_webhooks (ScStore *store, const char *const *keep, GError **error)
{
  g_autoptr (GPtrArray) all = sc_store_list_webhooks (store, error);
  if (!all)
    return FALSE;
  for (guint i = 0; i < all->len; i++) {
    ScStoreWebhook *w = all->pdata[i];
    if (w->from_config && !(keep && g_strv_contains (keep, w->id)) &&
        !sc_store_delete_webhook (store, w->id, error))
      return FALSE;
  }
  return TRUE;
}

GPtrArray *
sc_store_delivery_heads (ScStore *store, guint limit, GError **error)
{
  /* One pass over what is pending (grouped), not a search of everything
   * earlier for each pending row: a receiver that is down for a while
   * leaves thousands, and this runs after every attempt. */
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "WITH heads (webhook_id, seq) AS ("
      "  SELECT d.webhook_id, min (d.event_seq) FROM deliveries d JOIN events e ON e.seq = d.event_seq"
      "  WHERE d.state = 0 GROUP BY d.webhook_id, e.object_type, e.object_id) "
      "SELECT " EVENT_COLUMNS ", d.webhook_id, w.url, w.secret, d.next_at, d.attempts "
      "FROM heads h JOIN deliveries d ON d.webhook_id = h.webhook_id AND d.event_seq = h.seq "
      "JOIN events e ON e.seq = d.event_seq JOIN webhooks w ON w.id = d.webhook_id "
      "ORDER BY d.next_at, d.event_seq LIMIT ?", error);
  if (!stmt)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, limit);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_store_delivery_free);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    ScStoreDelivery *d = g_new0 (ScStoreDelivery, 1);
    read_event (stmt, 0, &d->event);
    d->webhook_id = col_text (stmt, 7);
    d->url = col_text (stmt, 8);
    d->secret = col_text (stmt, 9);
    d->next_at_us = sqlite3_column_int64 (stmt, 10);
    d->attempts = col_text (stmt, 11);
    g_ptr_array_add (out, d);
  }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE) {
    g_ptr_array_unref (out);
    sc_store_fail (store, error, "pending deliveries");
    return NULL;
  }
  return out;
}

gboolean
sc_store_delivery_update (ScStore *store, const char *webhook_id, gint64 seq,
                          ScDeliveryState state, gint64 next_at_us, const char *attempts,
                          GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "UPDATE deliveries SET state = ?, next_at = ?, attempts = ? "
      "WHERE webhook_id = ? AND event_seq = ?", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_int (stmt, 1, state);
  sqlite3_bind_int64 (stmt, 2, next_at_us);
  sqlite3_bind_text (stmt, 3, attempts, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, webhook_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 5, seq);
  return step_done (store, stmt, "update delivery", error);
}

gint64
sc_store_delivery_count (ScStore *store, ScDeliveryState state)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "SELECT count(*) FROM deliveries WHERE state = ?", NULL);
  gint64 n = -1;
  if (!stmt)
    return n;
  sqlite3_bind_int (stmt, 1, state);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return n;
}
