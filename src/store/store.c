#include "store-private.h"
#include "spacecast/core.h"

#include <string.h>

/* Each entry moves the schema one version forward, inside a transaction.
 * Never edit a released entry: append a new one. */
static const char *const migrations[] = {
  /* 1 */
  "CREATE TABLE resources ("
  "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  kind TEXT NOT NULL,"
  "  id TEXT NOT NULL,"
  "  doc TEXT NOT NULL CHECK (json_valid(doc)),"
  "  UNIQUE (kind, id));"
  "CREATE UNIQUE INDEX live_stream_key ON resources (json_extract(doc, '$.stream_key'))"
  "  WHERE kind = 'live_stream';"
  "CREATE TABLE playback_ids ("
  "  id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, policy TEXT NOT NULL);"
  "CREATE INDEX playback_target ON playback_ids (target);"
  "CREATE TABLE tokens ("
  "  id TEXT PRIMARY KEY, salt BLOB NOT NULL, hash BLOB NOT NULL, created_at INTEGER NOT NULL);"
  "CREATE TABLE signing_keys ("
  "  id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, public_pem TEXT NOT NULL,"
  "  deleted_at INTEGER);",
  /* 2: the events outbox (store-outbox.c) */
  "CREATE TABLE webhooks ("
  "  id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL,"
  "  created_at INTEGER NOT NULL, from_config INTEGER NOT NULL DEFAULT 0);"
  "CREATE TABLE events ("
  "  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,"
  "  object_type TEXT NOT NULL, object_id TEXT NOT NULL, created_at INTEGER NOT NULL,"
  "  data TEXT NOT NULL CHECK (json_valid(data)));"
  "CREATE INDEX events_object ON events (object_type, object_id, seq);"
  "CREATE TABLE deliveries ("
  "  webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,"
  "  event_seq INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,"
  "  state INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,"
  "  attempts TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(attempts)),"
  "  PRIMARY KEY (webhook_id, event_seq));"
  "CREATE INDEX deliveries_event ON deliveries (event_seq);"
  "CREATE INDEX deliveries_pending ON deliveries (webhook_id, event_seq) WHERE state = 0;",
};

static const char *const kind_names[] = {
  [SC_KIND_LIVE_STREAM] = "live_stream",
  [SC_KIND_ASSET] = "asset",
  [SC_KIND_SPACE] = "space",
  [SC_KIND_BROADCAST] = "broadcast",
};

const char *
sc_store_kind_name (ScKind kind)
{
  return kind_names[kind];
}

gboolean
sc_store_fail (ScStore *store, GError **error, const char *what)
{
  g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "database: %s: %s",
               what, sqlite3_errmsg (store->db));
  return FALSE;
}

sqlite3_stmt *
sc_store_prepare (ScStore *store, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
    sc_store_fail (store, error, "prepare");
    return NULL;
  }
  return stmt;
}

static gboolean
exec (ScStore *store, const char *sql, GError **error)
{
  char *msg = NULL;
  if (sqlite3_exec (store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "database: %s", msg ? msg : "error");
    sqlite3_free (msg);
    return FALSE;
  }
  return TRUE;
}

int
sc_store_schema_version (ScStore *store)
{
  sqlite3_stmt *stmt = sc_store_prepare (store, "PRAGMA user_version", NULL);
  int v = -1;
  if (stmt && sqlite3_step (stmt) == SQLITE_ROW)
    v = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  return v;
}

static gboolean
migrate (ScStore *store, GError **error)
{
  int version = sc_store_schema_version (store);
  const int latest = G_N_ELEMENTS (migrations);

  if (version > latest) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL,
                 "database schema version %d is newer than this spacecast (%d)", version, latest);
    return FALSE;
  }
  for (int v = version; v < latest; v++) {
    g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %d", v + 1);
    if (!sc_store_begin (store, error))
      return FALSE;
    if (!exec (store, migrations[v], error) || !exec (store, bump, error)) {
      sc_store_rollback (store);
      g_prefix_error (error, "migration to schema %d: ", v + 1);
      return FALSE;
    }
    if (!sc_store_commit (store, error))
      return FALSE;
    g_message ("store: migrated schema to version %d", v + 1);
  }
  return TRUE;
}

ScStore *
sc_store_open (const char *path, GError **error)
{
  g_autoptr (ScStore) store = g_new0 (ScStore, 1);

  if (sqlite3_open_v2 (path, &store->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                       NULL) != SQLITE_OK) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "cannot open database %s: %s",
                 path, store->db ? sqlite3_errmsg (store->db) : "out of memory");
    return NULL;
  }
  sqlite3_busy_timeout (store->db, 5000);
  /* WAL + NORMAL, with checkpoints on their own thread (store-checkpoint.c
   * says what that keeps): commits never wait for the disk. */
  /* The WAL file is cut back to 4 MiB whenever it starts over. */
  if (!exec (store, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                    "PRAGMA journal_size_limit = 4194304; PRAGMA foreign_keys = ON;", error))
    return NULL;
  if (!migrate (store, error))
    return NULL;
  if (!g_str_equal (path, ":memory:") &&
      !(store->checkpointer = sc_store_checkpointer_new (store, path, error)))
    return NULL;
  return g_steal_pointer (&store);
}

void
sc_store_free (ScStore *store)
{
  if (!store)
    return;
  if (store->checkpointer) {
    sqlite3_wal_hook (store->db, NULL, NULL);
    sc_store_checkpointer_free (store->checkpointer);
  }
  /* The last connection to close checkpoints what is left. */
  sqlite3_close_v2 (store->db);
  g_clear_pointer (&store->outbox_pending, g_array_unref);
  g_free (store);
}

gboolean
sc_store_begin (ScStore *store, GError **error)
{
  if (store->tx_depth++ > 0)
    return TRUE;
  store->tx_failed = FALSE;
  if (!exec (store, "BEGIN IMMEDIATE", error)) {
    store->tx_depth = 0;
    return FALSE;
  }
  return TRUE;
}

gboolean
sc_store_commit (ScStore *store, GError **error)
{
  g_return_val_if_fail (store->tx_depth > 0, FALSE);
  if (--store->tx_depth > 0)
    return TRUE;
  if (store->tx_failed) {
    exec (store, "ROLLBACK", NULL);
    sc_store_outbox_settle (store, FALSE);
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "transaction rolled back by an inner failure");
    return FALSE;
  }
  if (!exec (store, "COMMIT", error)) {
    exec (store, "ROLLBACK", NULL);
    sc_store_outbox_settle (store, FALSE);
    return FALSE;
  }
  sc_store_outbox_settle (store, TRUE);
  return TRUE;
}

void
sc_store_rollback (ScStore *store)
{
  g_return_if_fail (store->tx_depth > 0);
  if (--store->tx_depth > 0) {
    store->tx_failed = TRUE;
    return;
  }
  exec (store, "ROLLBACK", NULL);
  sc_store_outbox_settle (store, FALSE);
}

static JsonObject *
parse_doc (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_data (p, text, -1, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (p);
  return root && JSON_NODE_HOLDS_OBJECT (root) ? json_object_ref (json_node_get_object (root)) : NULL;
}

gboolean
sc_store_put (ScStore *store, ScKind kind, const char *id, JsonObject *doc, GError **error)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), doc);
  g_autofree char *text = json_to_string (node, FALSE);
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "INSERT INTO resources (kind, id, doc) VALUES (?, ?, ?) "
      "ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, kind_names[kind], -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, text, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE) {
    if (rc == SQLITE_CONSTRAINT)
      g_set_error (error, SC_ERROR, SC_ERROR_CONFLICT, "%s %s conflicts with an existing one",
                   kind_names[kind], id);
    else
      sc_store_fail (store, error, "put");
    return FALSE;
  }
  return TRUE;
}

static JsonObject *
get_one (ScStore *store, sqlite3_stmt *stmt, ScKind kind, const char *what, GError **error)
{
  JsonObject *obj = NULL;
  int rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW) {
    obj = parse_doc ((const char *) sqlite3_column_text (stmt, 0));
    if (!obj)
      g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "stored %s %s is corrupt",
                   kind_names[kind], what);
  } else if (rc == SQLITE_DONE) {
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "%s %s not found", kind_names[kind], what);
  } else {
    sc_store_fail (store, error, "get");
  }
  sqlite3_finalize (stmt);
  return obj;
}

JsonObject *
sc_store_get (ScStore *store, ScKind kind, const char *id, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "SELECT doc FROM resources WHERE kind = ? AND id = ?", error);
  if (!stmt)
    return NULL;
  sqlite3_bind_text (stmt, 1, kind_names[kind], -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_TRANSIENT);
  return get_one (store, stmt, kind, id, error);
}

JsonObject *
sc_store_find (ScStore *store, ScKind kind, const char *field, const char *value, GError **error)
{
  g_autofree char *path = g_strconcat ("$.", field, NULL);
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "SELECT doc FROM resources WHERE kind = ? AND json_extract(doc, ?) = ?", error);
  if (!stmt)
    return NULL;
  sqlite3_bind_text (stmt, 1, kind_names[kind], -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, path, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, value, -1, SQLITE_TRANSIENT);
  return get_one (store, stmt, kind, field, error);
}

gboolean
sc_store_delete (ScStore *store, ScKind kind, const char *id, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "DELETE FROM resources WHERE kind = ? AND id = ?", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, kind_names[kind], -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return sc_store_fail (store, error, "delete");
  if (sqlite3_changes (store->db) == 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "%s %s not found", kind_names[kind], id);
    return FALSE;
  }
  return TRUE;
}

GPtrArray *
sc_store_list (ScStore *store, ScKind kind, const char *const *filters,
               guint limit, guint offset, GError **error)
{
  g_autoptr (GString) sql = g_string_new ("SELECT doc FROM resources WHERE kind = ?");
  guint n_filters = 0;

  while (filters && filters[n_filters * 2]) {
    g_string_append (sql, " AND json_extract(doc, ?) = ?");
    n_filters++;
  }
  g_string_append (sql, " ORDER BY seq DESC LIMIT ? OFFSET ?");

  sqlite3_stmt *stmt = sc_store_prepare (store, sql->str, error);
  if (!stmt)
    return NULL;
  int col = 1;
  sqlite3_bind_text (stmt, col++, kind_names[kind], -1, SQLITE_STATIC);
  for (guint i = 0; i < n_filters; i++) {
    g_autofree char *path = g_strconcat ("$.", filters[i * 2], NULL);
    sqlite3_bind_text (stmt, col++, path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, col++, filters[i * 2 + 1], -1, SQLITE_TRANSIENT);
  }
  sqlite3_bind_int64 (stmt, col++, limit);
  sqlite3_bind_int64 (stmt, col++, offset);

  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    JsonObject *o = parse_doc ((const char *) sqlite3_column_text (stmt, 0));
    if (o)
      g_ptr_array_add (out, o);
  }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE) {
    g_ptr_array_unref (out);
    sc_store_fail (store, error, "list");
    return NULL;
  }
  return out;
}

GPtrArray *
sc_store_list_field (ScStore *store, ScKind kind, const char *field, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "SELECT id, json_extract(doc, ?) FROM resources WHERE kind = ? ORDER BY seq", error);
  if (!stmt)
    return NULL;
  g_autofree char *path = g_strconcat ("$.", field, NULL);
  sqlite3_bind_text (stmt, 1, path, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, kind_names[kind], -1, SQLITE_STATIC);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    g_ptr_array_add (out, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
    g_ptr_array_add (out, g_strdup ((const char *) sqlite3_column_text (stmt, 1)));
  }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE) {
    g_ptr_array_unref (out);
    sc_store_fail (store, error, "list");
    return NULL;
  }
  return out;
}
