/* Playback ids, API tokens and signing keys: the tables outside the
 * resource documents (and keeping a document's playback ids in step with it). */
#include "store-private.h"
#include "spacecast/core.h"

static gboolean
step_done (ScStore *store, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc == SQLITE_CONSTRAINT) {
    g_set_error (error, SC_ERROR, SC_ERROR_CONFLICT, "%s already exists", what);
    return FALSE;
  }
  if (rc != SQLITE_DONE)
    return sc_store_fail (store, error, what);
  return TRUE;
}

gboolean
sc_store_add_playback_id (ScStore *store, const char *playback_id, ScKind kind,
                          const char *target_id, const char *policy, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "INSERT INTO playback_ids (id, kind, target, policy) VALUES (?, ?, ?, ?)", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, playback_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, sc_store_kind_name (kind), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, target_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, policy, -1, SQLITE_TRANSIENT);
  return step_done (store, stmt, "playback id", error);
}

gboolean
sc_store_lookup_playback_id (ScStore *store, const char *playback_id, ScKind *kind,
                             char **target_id, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "SELECT kind, target FROM playback_ids WHERE id = ?", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, playback_id, -1, SQLITE_TRANSIENT);
  gboolean found = sqlite3_step (stmt) == SQLITE_ROW;
  if (found) {
    const char *k = (const char *) sqlite3_column_text (stmt, 0);
    *kind = g_str_equal (k, "asset") ? SC_KIND_ASSET : SC_KIND_LIVE_STREAM;
    *target_id = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  } else {
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "playback id %s not found", playback_id);
  }
  sqlite3_finalize (stmt);
  return found;
}

gboolean
sc_store_remove_playback_ids (ScStore *store, const char *target_id, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "DELETE FROM playback_ids WHERE target = ?", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, target_id, -1, SQLITE_TRANSIENT);
  return step_done (store, stmt, "remove playback ids", error);
}

gboolean
sc_store_put_with_playback_ids (ScStore *store, ScKind kind, JsonObject *doc, GError **error)
{
  const char *id = json_object_get_string_member (doc, "id");
  JsonArray *pids = json_object_has_member (doc, "playback_ids")
      ? json_object_get_array_member (doc, "playback_ids") : NULL;

  if (!sc_store_begin (store, error))
    return FALSE;
  gboolean ok = sc_store_put (store, kind, id, doc, error) &&
                sc_store_remove_playback_ids (store, id, error);
  for (guint i = 0; ok && pids && i < json_array_get_length (pids); i++) {
    JsonObject *p = json_array_get_object_element (pids, i);
    ok = sc_store_add_playback_id (store, json_object_get_string_member (p, "id"), kind, id,
                                   json_object_get_string_member (p, "policy"), error);
  }
  if (!ok) {
    sc_store_rollback (store);
    return FALSE;
  }
  return sc_store_commit (store, error);
}

gboolean
sc_store_delete_with_playback_ids (ScStore *store, ScKind kind, const char *id, GError **error)
{
  if (!sc_store_begin (store, error))
    return FALSE;
  if (!sc_store_delete (store, kind, id, error) ||
      !sc_store_remove_playback_ids (store, id, error)) {
    sc_store_rollback (store);
    return FALSE;
  }
  return sc_store_commit (store, error);
}

gboolean
sc_store_put_token (ScStore *store, const char *id, GBytes *salt, GBytes *hash, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "INSERT INTO tokens (id, salt, hash, created_at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (id) DO UPDATE SET salt = excluded.salt, hash = excluded.hash", error);
  gsize ls, lh;
  const void *s = g_bytes_get_data (salt, &ls), *h = g_bytes_get_data (hash, &lh);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 2, s, (int) ls, SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 3, h, (int) lh, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 4, sc_core_now_unix ());
  return step_done (store, stmt, "token", error);
}

gboolean
sc_store_get_token (ScStore *store, const char *id, GBytes **salt, GBytes **hash, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store, "SELECT salt, hash FROM tokens WHERE id = ?", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  gboolean found = sqlite3_step (stmt) == SQLITE_ROW;
  if (found) {
    *salt = g_bytes_new (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0));
    *hash = g_bytes_new (sqlite3_column_blob (stmt, 1), sqlite3_column_bytes (stmt, 1));
  } else {
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "token not found");
  }
  sqlite3_finalize (stmt);
  return found;
}

void
sc_signing_key_free (ScSigningKey *key)
{
  if (!key)
    return;
  g_free (key->id);
  g_free (key->public_pem);
  g_free (key);
}

gboolean
sc_store_put_signing_key (ScStore *store, const char *id, gint64 created_at,
                          const char *public_pem, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "INSERT INTO signing_keys (id, created_at, public_pem) VALUES (?, ?, ?)", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, created_at);
  sqlite3_bind_text (stmt, 3, public_pem, -1, SQLITE_TRANSIENT);
  return step_done (store, stmt, "signing key", error);
}

static ScSigningKey *
row_to_key (sqlite3_stmt *stmt)
{
  ScSigningKey *k = g_new0 (ScSigningKey, 1);
  k->id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  k->created_at = sqlite3_column_int64 (stmt, 1);
  k->public_pem = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  k->deleted = sqlite3_column_type (stmt, 3) != SQLITE_NULL;
  return k;
}

ScSigningKey *
sc_store_get_signing_key (ScStore *store, const char *id, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "SELECT id, created_at, public_pem, deleted_at FROM signing_keys WHERE id = ?", error);
  ScSigningKey *k = NULL;
  if (!stmt)
    return NULL;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    k = row_to_key (stmt);
  else
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "signing key %s not found", id);
  sqlite3_finalize (stmt);
  return k;
}

char *
sc_store_signing_key_pem (const char *kid, gpointer store, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (ScSigningKey) key = sc_store_get_signing_key (store, kid, &local);
  if (!key) {
    if (!g_error_matches (local, SC_ERROR, SC_ERROR_NOT_FOUND))
      g_propagate_error (error, g_steal_pointer (&local));
    return NULL;
  }
  if (key->deleted) {
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "signing key %s was deleted", kid);
    return NULL;
  }
  return g_strdup (key->public_pem);
}

GPtrArray *
sc_store_list_signing_keys (ScStore *store, guint limit, guint offset, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "SELECT id, created_at, public_pem, deleted_at FROM signing_keys "
      "WHERE deleted_at IS NULL ORDER BY rowid DESC LIMIT ? OFFSET ?", error);
  if (!stmt)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, limit);
  sqlite3_bind_int64 (stmt, 2, offset);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_signing_key_free);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (out, row_to_key (stmt));
  sqlite3_finalize (stmt);
  return out;
}

gboolean
sc_store_delete_signing_key (ScStore *store, const char *id, GError **error)
{
  sqlite3_stmt *stmt = sc_store_prepare (store,
      "UPDATE signing_keys SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", error);
  if (!stmt)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, sc_core_now_unix ());
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_TRANSIENT);
  if (!step_done (store, stmt, "delete signing key", error))
    return FALSE;
  if (sqlite3_changes (store->db) == 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "signing key %s not found", id);
    return FALSE;
  }
  return TRUE;
}
