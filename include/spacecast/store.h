/* spacecast store: every piece of state that must survive a restart or a
 * kill -9, in one SQLite database (WAL) with versioned migrations.
 * Resources (live streams, assets, spaces, broadcasts) are JSON documents
 * keyed by kind and id; secrets (API tokens, signing keys) and playback ids
 * have their own tables.  Owned by the main thread: never call it from a
 * streaming thread.  Commits do not wait for the disk: a thread of the
 * store's own checkpoints the WAL (and so syncs it) every second there was
 * a commit (store-checkpoint.c). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _ScStore ScStore;

typedef enum {
  SC_KIND_LIVE_STREAM,
  SC_KIND_ASSET,
  SC_KIND_SPACE,
  SC_KIND_BROADCAST,
} ScKind;

const char *sc_store_kind_name (ScKind kind);

ScStore    *sc_store_open     (const char *path, GError **error);
void        sc_store_free     (ScStore *store);
int         sc_store_schema_version (ScStore *store);

/* Wrap every multi-row change; nested calls are flattened. */
gboolean    sc_store_begin    (ScStore *store, GError **error);
gboolean    sc_store_commit   (ScStore *store, GError **error);
void        sc_store_rollback (ScStore *store);

/* Resource documents.  get/find return a new reference or NULL with
 * SC_ERROR_NOT_FOUND. */
gboolean    sc_store_put      (ScStore *store, ScKind kind, const char *id,
                               JsonObject *doc, GError **error);
JsonObject *sc_store_get      (ScStore *store, ScKind kind, const char *id, GError **error);
gboolean    sc_store_delete   (ScStore *store, ScKind kind, const char *id, GError **error);
/* Newest first.  @filters: NULL or NULL-terminated (field, value) pairs that
 * must all equal top-level string members of the document. */
GPtrArray  *sc_store_list     (ScStore *store, ScKind kind, const char *const *filters,
                               guint limit, guint offset, GError **error);
/* Each resource of @kind as its id and the string at @field ("status"),
 * pairs flattened into one array (a NULL for a missing field), oldest
 * first; the documents themselves are never parsed, so it stays cheap for
 * a scrape. */
GPtrArray  *sc_store_list_field (ScStore *store, ScKind kind, const char *field,
                                 GError **error);
JsonObject *sc_store_find     (ScStore *store, ScKind kind, const char *field,
                               const char *value, GError **error);

/* Playback ids map a public id to the resource it plays. */
gboolean    sc_store_add_playback_id    (ScStore *store, const char *playback_id,
                                         ScKind kind, const char *target_id,
                                         const char *policy, GError **error);
gboolean    sc_store_lookup_playback_id (ScStore *store, const char *playback_id,
                                         ScKind *kind, char **target_id, GError **error);
gboolean    sc_store_remove_playback_ids (ScStore *store, const char *target_id, GError **error);
/* A document together with the playback ids listed in its "playback_ids"
 * (each {id, policy}), in one transaction: put stores @doc under its "id"
 * and makes exactly those ids play it; delete removes both. */
gboolean    sc_store_put_with_playback_ids    (ScStore *store, ScKind kind, JsonObject *doc,
                                               GError **error);
gboolean    sc_store_delete_with_playback_ids (ScStore *store, ScKind kind, const char *id,
                                               GError **error);

/* API access tokens: only a salted hash of the secret is kept. */
gboolean    sc_store_put_token (ScStore *store, const char *id, GBytes *salt,
                                GBytes *hash, GError **error);
gboolean    sc_store_get_token (ScStore *store, const char *id, GBytes **salt,
                                GBytes **hash, GError **error);

/* Signing keys: only the public key is kept.  Deleted keys stay as
 * tombstones so a token signed with one is told apart from an unknown kid. */
typedef struct {
  char *id;
  gint64 created_at;
  char *public_pem;
  gboolean deleted;
} ScSigningKey;
void        sc_signing_key_free (ScSigningKey *key);
gboolean    sc_store_put_signing_key (ScStore *store, const char *id, gint64 created_at,
                                      const char *public_pem, GError **error);
ScSigningKey *sc_store_get_signing_key (ScStore *store, const char *id, GError **error);
/* An ScJwtKeyLookup (spacecast/jwt.h) over @store: the public PEM of key
 * @kid; NULL without an error when there is no such key, NULL with
 * SC_ERROR_NOT_FOUND when it was deleted, the store's error when it fails. */
char       *sc_store_signing_key_pem (const char *kid, gpointer store, GError **error);
GPtrArray  *sc_store_list_signing_keys (ScStore *store, guint limit, guint offset,
                                        GError **error);   /* live keys only */
gboolean    sc_store_delete_signing_key (ScStore *store, const char *id, GError **error);

/* The events outbox (src/events writes and reads it).  An event row is
 * written with the change that caused it, inside the caller's transaction
 * when one is open, together with one delivery row per webhook endpoint
 * known at that moment. */
typedef struct {
  gint64 seq;
  char *id;
  char *type;
  char *object_type;
  char *object_id;
  gint64 created_at_us;
  char *data;                   /* JSON text */
} ScStoreEvent;
void        sc_store_event_free (ScStoreEvent *event);

/* Called on the store's thread for each outbox row once it is committed
 * (at once when written outside a transaction, at the outermost commit
 * otherwise; never for rows rolled back). */
typedef void (*ScStoreOutboxFunc) (gint64 seq, gpointer user_data);
void        sc_store_set_outbox_func (ScStore *store, ScStoreOutboxFunc func, gpointer user_data);
gboolean    sc_store_outbox_add (ScStore *store, const ScStoreEvent *event, GError **error);
ScStoreEvent *sc_store_outbox_get (ScStore *store, gint64 seq, GError **error);
gboolean    sc_store_outbox_set_data (ScStore *store, gint64 seq, const char *data,
                                      GError **error);
/* Forget events older than @before_us that nobody still waits for. */
gboolean    sc_store_outbox_prune (ScStore *store, gint64 before_us, GError **error);

typedef struct {
  char *id;
  char *url;
  char *secret;
  gint64 created_at;
  gboolean from_config;         /* --webhook-url: not removable through the API */
} ScStoreWebhook;
void        sc_store_webhook_free (ScStoreWebhook *webhook);
gboolean    sc_store_put_webhook (ScStore *store, const ScStoreWebhook *webhook, GError **error);
ScStoreWebhook *sc_store_get_webhook (ScStore *store, const char *id, GError **error);
GPtrArray  *sc_store_list_webhooks (ScStore *store, GError **error);   /* oldest first */
/* Its undelivered events go with it. */
gboolean    sc_store_delete_webhook (ScStore *store, const char *id, GError **error);
/* Drop configured endpoints whose id is not in @keep (NULL-terminated). */
gboolean    sc_store_prune_config_webhooks (ScStore *store, const char *const *keep,
                                            GError **error);

typedef enum {
  SC_DELIVERY_PENDING,
  SC_DELIVERY_DONE,
  SC_DELIVERY_GAVE_UP,
} ScDeliveryState;

typedef struct {
  ScStoreEvent event;
  char *webhook_id;
  char *url;
  char *secret;
  gint64 next_at_us;
  char *attempts;               /* JSON array text */
} ScStoreDelivery;
void        sc_store_delivery_free (ScStoreDelivery *delivery);
/* The oldest pending delivery of every (endpoint, resource) pair, soonest
 * due first: the only ones that may be sent without breaking the order
 * of a resource's events. */
GPtrArray  *sc_store_delivery_heads (ScStore *store, guint limit, GError **error);
gboolean    sc_store_delivery_update (ScStore *store, const char *webhook_id, gint64 seq,
                                      ScDeliveryState state, gint64 next_at_us,
                                      const char *attempts, GError **error);
gint64      sc_store_delivery_count (ScStore *store, ScDeliveryState state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScStore, sc_store_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScStoreEvent, sc_store_event_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScStoreWebhook, sc_store_webhook_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScStoreDelivery, sc_store_delivery_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScSigningKey, sc_signing_key_free)

G_END_DECLS
