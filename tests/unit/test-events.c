/* The events bus' pure parts (envelope, signature, retry schedule) and its
 * outbox semantics over a throwaway database: what a transaction rolls
 * back is never announced, and a resource's events go out in order. */
#include "spacecast/core.h"
#include "spacecast/events.h"
#include "spacecast/store.h"

#include <glib/gstdio.h>

static JsonObject *
obj (const char *json)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, json, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

typedef struct {
  char *dir;
  ScStore *store;
} Db;

static void
db_open (Db *db)
{
  g_autoptr (GError) error = NULL;
  db->dir = g_dir_make_tmp ("sc-events-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (db->dir, "store.db", NULL);
  db->store = sc_store_open (path, &error);
  g_assert_no_error (error);
}

static void
db_close (Db *db)
{
  g_autofree char *path = g_build_filename (db->dir, "store.db", NULL);
  sc_store_free (db->store);
  static const char *const suffixes[] = { "", "-wal", "-shm" };
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++) {
    g_autofree char *f = g_strconcat (path, suffixes[i], NULL);
    g_unlink (f);
  }
  g_rmdir (db->dir);
  g_free (db->dir);
}

static void
test_envelope (void)
{
  g_autoptr (JsonObject) data = obj ("{\"id\":\"ls1\",\"status\":\"active\"}");
  ScEvent e = { .id = "6f1c", .type = "video.live_stream.active", .object_type = "live",
                .object_id = "ls1", .created_at_us = G_GINT64_CONSTANT (1700000000123456),
                .data = data };
  JsonArray *attempts = json_array_new ();
  json_array_add_object_element (attempts, obj ("{\"response_status_code\":500}"));
  g_autofree char *body = sc_events_envelope (&e, attempts);
  json_array_unref (attempts);
  g_autoptr (JsonObject) env = obj (body);

  g_assert_cmpstr (json_object_get_string_member (env, "type"), ==, "video.live_stream.active");
  g_assert_cmpstr (json_object_get_string_member (env, "id"), ==, "6f1c");
  g_assert_cmpstr (json_object_get_string_member (env, "created_at"), ==,
                   "2023-11-14T22:13:20.123456Z");
  JsonObject *o = json_object_get_object_member (env, "object");
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "live");
  g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, "ls1");
  g_assert_true (json_object_has_member (json_object_get_object_member (env, "environment"), "id"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (env, "data"),
                                                  "status"), ==, "active");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (env, "attempts")), ==, 1);
}

static void
test_signature (void)
{
  /* python3: hmac.new(b'whsec_test', b'1700000000.{"type":"x"}', sha256) */
  g_autofree char *sig = sc_events_signature ("whsec_test", 1700000000, "{\"type\":\"x\"}");
  g_assert_cmpstr (sig, ==,
                   "t=1700000000,v1=29cc951fc439d64c216bbea1a7361669bacc196ec2ea452cfa008c48a61829ad");
}

static void
test_retry_delay (void)
{
  g_assert_cmpint (sc_events_retry_delay (1, 10), ==, 10 * G_USEC_PER_SEC);
  g_assert_cmpint (sc_events_retry_delay (2, 10), ==, 20 * G_USEC_PER_SEC);
  g_assert_cmpint (sc_events_retry_delay (5, 10), ==, 160 * G_USEC_PER_SEC);
  g_assert_cmpint (sc_events_retry_delay (40, 10), ==, (gint64) 3600 * G_USEC_PER_SEC);
  g_assert_cmpint (sc_events_retry_delay (1, 0), ==, G_USEC_PER_SEC);
}

static void
test_object_types (void)
{
  ScKind kind;
  g_assert_cmpstr (sc_events_object_type ("video.live_stream.idle", &kind), ==, "live");
  g_assert_cmpint (kind, ==, SC_KIND_LIVE_STREAM);
  g_assert_cmpstr (sc_events_object_type ("video.asset.ready", &kind), ==, "asset");
  g_assert_cmpint (kind, ==, SC_KIND_ASSET);
  g_assert_cmpstr (sc_events_object_type ("video.space.broadcast.active", &kind), ==, "broadcast");
  g_assert_cmpint (kind, ==, SC_KIND_BROADCAST);
  g_assert_cmpstr (sc_events_object_type ("video.space.created", &kind), ==, "space");
  g_assert_cmpstr (sc_events_object_type ("video.space.participant.joined", &kind), ==, "space");
  g_assert_cmpint (kind, ==, SC_KIND_SPACE);
  g_assert_false (sc_events_carries_resource ("video.space.participant.joined"));
  g_assert_true (sc_events_carries_resource ("video.space.active"));
  g_assert_cmpstr (sc_events_object_type ("video.live_stream.simulcast_target.errored", &kind), ==,
                   "simulcast_target");
  g_assert_false (sc_events_carries_resource ("video.live_stream.simulcast_target.errored"));
  g_assert_null (sc_events_object_type ("video.upload.created", &kind));
  g_assert_null (sc_events_object_type ("video.asset.", &kind));
}

static void
count_committed (gint64 seq, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_outbox_follows_transaction (void)
{
  g_autoptr (GError) error = NULL;
  Db db;
  guint committed = 0;
  db_open (&db);
  sc_store_set_outbox_func (db.store, count_committed, &committed);
  g_autoptr (JsonObject) ls = obj ("{\"id\":\"ls1\",\"status\":\"idle\"}");
  ScStoreWebhook w = { .id = "wh1", .url = "http://127.0.0.1:9/", .secret = "s" };
  g_assert_true (sc_store_put_webhook (db.store, &w, &error));

  /* Rolled back with the change: never announced, never delivered. */
  g_assert_true (sc_store_begin (db.store, &error));
  g_assert_true (sc_store_put (db.store, SC_KIND_LIVE_STREAM, "ls1", ls, &error));
  g_assert_true (sc_events_publish (db.store, "video.live_stream.created", "ls1", NULL, &error));
  g_assert_cmpuint (committed, ==, 0);
  sc_store_rollback (db.store);
  g_assert_cmpuint (committed, ==, 0);
  g_assert_cmpint (sc_store_delivery_count (db.store, SC_DELIVERY_PENDING), ==, 0);

  /* Committed with it: announced at the commit, not before. */
  g_assert_true (sc_store_begin (db.store, &error));
  g_assert_true (sc_store_put (db.store, SC_KIND_LIVE_STREAM, "ls1", ls, &error));
  g_assert_true (sc_events_publish (db.store, "video.live_stream.created", "ls1", NULL, &error));
  g_assert_cmpuint (committed, ==, 0);
  g_assert_true (sc_store_commit (db.store, &error));
  g_assert_cmpuint (committed, ==, 1);

  /* Outside a transaction: at once. */
  g_assert_true (sc_events_publish (db.store, "video.live_stream.updated", "ls1", NULL, &error));
  g_assert_cmpuint (committed, ==, 2);
  g_assert_cmpint (sc_store_delivery_count (db.store, SC_DELIVERY_PENDING), ==, 2);

  /* Publishing about a resource that is not there says so. */
  g_assert_false (sc_events_publish (db.store, "video.asset.ready", "nope", NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_NOT_FOUND);
  db_close (&db);
}

static void
test_heads_keep_resource_order (void)
{
  g_autoptr (GError) error = NULL;
  Db db;
  db_open (&db);
  g_autoptr (JsonObject) a = obj ("{\"id\":\"a\"}");
  g_autoptr (JsonObject) b = obj ("{\"id\":\"b\"}");
  ScStoreWebhook w = { .id = "wh1", .url = "http://127.0.0.1:9/", .secret = "s" };
  g_assert_true (sc_store_put_webhook (db.store, &w, &error));
  g_assert_true (sc_events_publish (db.store, "video.live_stream.created", "a", a, &error));
  g_assert_true (sc_events_publish (db.store, "video.live_stream.active", "a", a, &error));
  g_assert_true (sc_events_publish (db.store, "video.live_stream.created", "b", b, &error));

  /* Only the first event of each resource may go. */
  g_autoptr (GPtrArray) heads = sc_store_delivery_heads (db.store, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (heads->len, ==, 2);
  ScStoreDelivery *first = heads->pdata[0];
  g_assert_cmpstr (first->event.object_id, ==, "a");
  g_assert_cmpstr (first->event.type, ==, "video.live_stream.created");
  gint64 seq = first->event.seq;

  /* A failed attempt keeps it at the head; success lets the next through. */
  g_assert_true (sc_store_delivery_update (db.store, "wh1", seq, SC_DELIVERY_PENDING,
                                           G_MAXINT64 - 1, "[{}]", &error));
  g_clear_pointer (&heads, g_ptr_array_unref);
  heads = sc_store_delivery_heads (db.store, 10, &error);
  g_assert_cmpuint (heads->len, ==, 2);
  g_assert_cmpstr (((ScStoreDelivery *) heads->pdata[1])->event.type, ==,
                   "video.live_stream.created");
  g_assert_cmpstr (((ScStoreDelivery *) heads->pdata[1])->attempts, ==, "[{}]");
  g_assert_true (sc_store_delivery_update (db.store, "wh1", seq, SC_DELIVERY_DONE,
                                           0, "[{}]", &error));
  g_clear_pointer (&heads, g_ptr_array_unref);
  heads = sc_store_delivery_heads (db.store, 10, &error);
  g_assert_cmpuint (heads->len, ==, 2);
  for (guint i = 0; i < heads->len; i++)
    if (g_str_equal (((ScStoreDelivery *) heads->pdata[i])->event.object_id, "a"))
      g_assert_cmpstr (((ScStoreDelivery *) heads->pdata[i])->event.type, ==,
                       "video.live_stream.active");

  /* An endpoint that goes takes its undelivered events with it. */
  g_assert_true (sc_store_delete_webhook (db.store, "wh1", &error));
  g_assert_cmpint (sc_store_delivery_count (db.store, SC_DELIVERY_PENDING), ==, 0);
  db_close (&db);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/events/envelope", test_envelope);
  g_test_add_func ("/events/signature", test_signature);
  g_test_add_func ("/events/retry-delay", test_retry_delay);
  g_test_add_func ("/events/object-types", test_object_types);
  g_test_add_func ("/events/outbox-follows-transaction", test_outbox_follows_transaction);
  g_test_add_func ("/events/heads-keep-resource-order", test_heads_keep_resource_order);
  return g_test_run ();
}
