/* Webhooks as a Mux receiver sees them: a real libsoup server on its own
 * thread checks every signature, and can fail, stall and recover. */
#include "harness.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define SECRET "whsec_configured"

typedef struct {
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *server;
  guint16 port;
  GMutex lock;
  GCond cond;
  GHashTable *secrets;          /* path → secret */
  GPtrArray *accepted;          /* JsonObject* of the bodies answered 200 */
  GPtrArray *raw;               /* [body, signature] pairs answered 200 */
  guint requests;
  guint bad_signatures;
  guint fail_next;              /* answer that many requests with 500 */
  gboolean stall;               /* answer after 7 s, past the sender's 5 s */
} Receiver;

static gboolean
signature_ok (const char *secret, const char *header, const char *body, gsize len)
{
  if (!secret || !header || !g_str_has_prefix (header, "t="))
    return FALSE;
  const char *v1 = strstr (header, ",v1=");
  if (!v1)
    return FALSE;
  g_autofree char *t = g_strndup (header + 2, v1 - header - 2);
  g_autofree char *payload = g_strdup_printf ("%s.%.*s", t, (int) len, body);
  g_autofree char *want = g_compute_hmac_for_string (G_CHECKSUM_SHA256, (const guchar *) secret,
                                                     strlen (secret), payload, -1);
  return g_str_equal (want, v1 + 4);
}

typedef struct {
  Receiver *r;
  SoupServerMessage *msg;
} Held;

static gboolean
release (gpointer user_data)
{
  Held *held = user_data;
  soup_server_message_set_status (held->msg, 200, NULL);
  soup_server_message_unpause (held->msg);
  g_object_unref (held->msg);
  g_free (held);
  return G_SOURCE_REMOVE;
}

static void
on_hook (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  Receiver *r = user_data;
  SoupMessageBody *b = soup_server_message_get_request_body (msg);
  const char *sig = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                  "mux-signature");
  g_mutex_lock (&r->lock);
  r->requests++;
  gboolean ok = signature_ok (g_hash_table_lookup (r->secrets, path), sig, b->data, b->length);
  guint status = 200;
  if (!ok) {
    r->bad_signatures++;
    status = 401;
  } else if (r->fail_next > 0) {
    r->fail_next--;
    status = 500;
  } else if (r->stall) {
    Held *held = g_new0 (Held, 1);
    held->r = r;
    held->msg = g_object_ref (msg);
    soup_server_message_pause (msg);
    GSource *s = g_timeout_source_new_seconds (7);
    g_source_set_callback (s, release, held, NULL);
    g_source_attach (s, r->context);
    g_source_unref (s);
    status = 0;
  } else {
    g_autoptr (JsonParser) p = json_parser_new ();
    g_assert_true (json_parser_load_from_data (p, b->data, b->length, NULL));
    g_ptr_array_add (r->accepted, json_object_ref (json_node_get_object (json_parser_get_root (p))));
    g_ptr_array_add (r->raw, g_strndup (b->data, b->length));
    g_ptr_array_add (r->raw, g_strdup (sig));
  }
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
  if (status)
    soup_server_message_set_status (msg, status, NULL);
}

static gpointer
receiver_run (gpointer user_data)
{
  Receiver *r = user_data;
  g_main_context_push_thread_default (r->context);
  g_main_loop_run (r->loop);
  g_main_context_pop_thread_default (r->context);
  return NULL;
}

static Receiver *
receiver_new (void)
{
  g_autoptr (GError) error = NULL;
  Receiver *r = g_new0 (Receiver, 1);
  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  r->secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (r->secrets, g_strdup ("/hook"), g_strdup (SECRET));
  r->accepted = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  r->raw = g_ptr_array_new_with_free_func (g_free);
  r->context = g_main_context_new ();
  r->loop = g_main_loop_new (r->context, FALSE);
  /* The server's sources belong to the context current when it listens. */
  g_main_context_push_thread_default (r->context);
  r->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (r->server, NULL, on_hook, r, NULL);
  r->port = sc_harness_free_port ();
  g_assert_true (soup_server_listen_local (r->server, r->port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  g_main_context_pop_thread_default (r->context);
  r->thread = g_thread_new ("receiver", receiver_run, r);
  return r;
}

static gboolean
quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
receiver_free (Receiver *r)
{
  g_main_context_invoke (r->context, quit, r->loop);
  g_thread_join (r->thread);
  g_main_context_push_thread_default (r->context);
  g_clear_object (&r->server);
  while (g_main_context_iteration (r->context, FALSE))
    ;
  g_main_context_pop_thread_default (r->context);
  g_main_loop_unref (r->loop);
  g_main_context_unref (r->context);
  g_ptr_array_unref (r->accepted);
  g_ptr_array_unref (r->raw);
  g_hash_table_unref (r->secrets);
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Receiver, receiver_free)

static ScHarness *
start_daemon (Receiver *r)
{
  g_autofree char *url = g_strdup_printf ("--webhook-url=http://127.0.0.1:%u/hook", r->port);
  const char *args[] = { url, "--webhook-secret=" SECRET, "--webhook-retry-initial=1", NULL };
  return sc_harness_start (args);
}

/* The first accepted event of @type about @object_id (a new reference),
 * waiting up to @timeout_s for it; NULL when it did not come. */
static JsonObject *
wait_event (Receiver *r, const char *type, const char *object_id, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  JsonObject *found = NULL;
  g_mutex_lock (&r->lock);
  while (!found) {
    for (guint i = 0; !found && i < r->accepted->len; i++) {
      JsonObject *e = r->accepted->pdata[i];
      JsonObject *o = json_object_get_object_member (e, "object");
      if (g_str_equal (json_object_get_string_member (e, "type"), type) &&
          g_str_equal (json_object_get_string_member (o, "id"), object_id))
        found = json_object_ref (e);
    }
    if (!found && !g_cond_wait_until (&r->cond, &r->lock, end))
      break;
  }
  g_mutex_unlock (&r->lock);
  return found;
}

/* Where the first accepted event of @type about @object_id is in arrival order. */
static int
arrival (Receiver *r, const char *type, const char *object_id)
{
  int at = -1;
  g_mutex_lock (&r->lock);
  for (guint i = 0; at < 0 && i < r->accepted->len; i++) {
    JsonObject *e = r->accepted->pdata[i];
    if (g_str_equal (json_object_get_string_member (e, "type"), type) &&
        g_str_equal (json_object_get_string_member (json_object_get_object_member (e, "object"), "id"),
                     object_id))
      at = (int) i;
  }
  g_mutex_unlock (&r->lock);
  return at;
}

static void
assert_event (Receiver *r, const char *type, const char *object_id, const char *status)
{
  g_autoptr (JsonObject) e = wait_event (r, type, object_id, 30);
  if (!e)
    g_error ("no %s webhook for %s", type, object_id);
  JsonObject *data = json_object_get_object_member (e, "data");
  g_assert_cmpstr (json_object_get_string_member (data, "id"), ==, object_id);
  if (status)
    g_assert_cmpstr (json_object_get_string_member (data, "status"), ==, status);
}

static char *
create_stream (ScHarness *h)
{
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, 0);
  return g_strdup (json_object_get_string_member (ls, "id"));
}

/* Mux's Node SDK must take every request as it came. */
static void
verify_with_mux_sdk (Receiver *r)
{
  g_autofree char *node = NULL;
  g_autofree char *script = sc_harness_mux_node_script ("webhook-verify.js", &node);
  if (!script)
    return;
  JsonArray *reqs = json_array_new ();
  g_mutex_lock (&r->lock);
  for (guint i = 0; i + 1 < r->raw->len; i += 2) {
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "body", r->raw->pdata[i]);
    json_object_set_string_member (o, "signature", r->raw->pdata[i + 1]);
    json_array_add_object_element (reqs, o);
  }
  guint n = r->raw->len / 2;
  g_mutex_unlock (&r->lock);
  g_autoptr (JsonNode) root = json_node_init_array (json_node_alloc (), reqs);
  json_array_unref (reqs);
  g_autofree char *text = json_to_string (root, FALSE);
  g_autofree char *file = g_build_filename (g_get_tmp_dir (), "sc-webhooks-XXXXXX.json", NULL);
  int fd = g_mkstemp (file);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (file, text, -1, NULL));

  g_autofree char *out = NULL;
  const char *argv[] = { node, script, file, SECRET, NULL };
  int status = sc_harness_run (&out, argv);
  g_unlink (file);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpuint (sc_harness_count_lines (out, "video."), ==, n);
}

static void
test_lifecycle_in_order (void)
{
  g_autoptr (Receiver) r = receiver_new ();
  g_autoptr (ScHarness) h = start_daemon (r);
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, 0);
  const char *id = json_object_get_string_member (ls, "id");

  GSubprocess *pub = sc_harness_ffmpeg_publish (h, json_object_get_string_member (ls, "stream_key"), 4);
  sc_harness_wait_exit_ok (pub, 60);
  g_object_unref (pub);
  assert_event (r, "video.live_stream.created", id, "idle");
  assert_event (r, "video.live_stream.active", id, "active");
  assert_event (r, "video.live_stream.idle", id, "idle");
  g_autofree char *path = g_strconcat ("/video/v1/live-streams/", id, NULL);
  g_autoptr (JsonObject) stream = sc_harness_get_data (h, path);
  JsonArray *assets = json_object_get_array_member (stream, "recent_asset_ids");
  g_assert_cmpuint (json_array_get_length (assets), ==, 1);
  const char *asset = json_array_get_string_element (assets, 0);
  assert_event (r, "video.asset.created", asset, NULL);
  assert_event (r, "video.asset.ready", asset, "ready");

  g_assert_cmpint (arrival (r, "video.live_stream.created", id), <,
                   arrival (r, "video.live_stream.active", id));
  g_assert_cmpint (arrival (r, "video.live_stream.active", id), <,
                   arrival (r, "video.live_stream.idle", id));
  g_assert_cmpint (arrival (r, "video.asset.created", asset), <,
                   arrival (r, "video.asset.ready", asset));
  g_assert_cmpuint (r->bad_signatures, ==, 0);
  verify_with_mux_sdk (r);
}

static void
test_retries_until_recovered (void)
{
  g_autoptr (Receiver) r = receiver_new ();
  r->fail_next = 3;
  g_autoptr (ScHarness) h = start_daemon (r);
  g_autofree char *id = create_stream (h);

  g_autoptr (JsonObject) e = wait_event (r, "video.live_stream.created", id, 60);
  g_assert_nonnull (e);
  /* The accepted delivery carries the three that failed before it. */
  JsonArray *attempts = json_object_get_array_member (e, "attempts");
  g_assert_cmpuint (json_array_get_length (attempts), ==, 3);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/hook", r->port);
  for (guint i = 0; i < 3; i++) {
    JsonObject *a = json_array_get_object_element (attempts, i);
    g_assert_cmpint (json_object_get_int_member (a, "response_status_code"), ==, 500);
    g_assert_cmpstr (json_object_get_string_member (a, "webhook_url"), ==, url);
    g_assert_cmpstr (json_object_get_string_member (a, "address"), ==, "127.0.0.1");
    g_assert_nonnull (g_date_time_new_from_iso8601 (json_object_get_string_member (a, "created_at"),
                                                    NULL));
  }
  g_assert_cmpuint (r->requests, >=, 4);
  verify_with_mux_sdk (r);
}

static void
test_kill9_after_ack_still_delivers (void)
{
  g_autoptr (Receiver) r = receiver_new ();
  r->fail_next = G_MAXUINT;
  g_autoptr (ScHarness) h = start_daemon (r);
  g_autofree char *id = create_stream (h);   /* 201: the change is acknowledged */

  sc_harness_kill9 (h);
  g_mutex_lock (&r->lock);
  r->fail_next = 0;
  g_mutex_unlock (&r->lock);
  sc_harness_launch (h);
  assert_event (r, "video.live_stream.created", id, "idle");
}

static void
test_api_responsive_while_receiver_stalls (void)
{
  g_autoptr (Receiver) r = receiver_new ();
  r->stall = TRUE;
  g_autoptr (ScHarness) h = start_daemon (r);
  char *ids[4];
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    ids[i] = create_stream (h);

  /* Every delivery hangs on the receiver meanwhile. */
  for (guint i = 0; i < 20; i++) {
    gint64 t0 = g_get_monotonic_time ();
    g_autoptr (ScResponse) resp = sc_harness_request (h, "GET", "/healthz", NULL);
    g_assert_cmpuint (resp->status, ==, 200);
    g_assert_cmpint (g_get_monotonic_time () - t0, <, G_USEC_PER_SEC);
    g_usleep (G_USEC_PER_SEC / 4);
  }
  g_assert_cmpuint (r->requests, >=, 1);
  g_mutex_lock (&r->lock);
  r->stall = FALSE;
  g_mutex_unlock (&r->lock);

  /* A timed-out attempt counts as one without a response. */
  g_autoptr (JsonObject) e = wait_event (r, "video.live_stream.created", ids[0], 60);
  g_assert_nonnull (e);
  JsonArray *attempts = json_object_get_array_member (e, "attempts");
  g_assert_cmpuint (json_array_get_length (attempts), >=, 1);
  g_assert_true (json_object_get_null_member (json_array_get_object_element (attempts, 0),
                                              "response_status_code"));
  for (guint i = 1; i < G_N_ELEMENTS (ids); i++)
    assert_event (r, "video.live_stream.created", ids[i], NULL);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    g_free (ids[i]);
}

static void
test_webhooks_resource (void)
{
  g_autoptr (Receiver) r = receiver_new ();
  g_autoptr (ScHarness) h = start_daemon (r);

  g_autoptr (ScResponse) bad = sc_harness_request (h, "POST", "/system/v1/webhooks",
                                                   "{\"url\":\"ftp://example.com/x\"}");
  g_assert_cmpuint (bad->status, ==, 400);
  g_assert_cmpstr (sc_response_error_type (bad), ==, "invalid_parameters");
  g_autoptr (ScResponse) extra = sc_harness_request (h, "POST", "/system/v1/webhooks",
                                                     "{\"url\":\"http://a.example/\",\"x\":1}");
  g_assert_cmpuint (extra->status, ==, 400);

  g_autofree char *body = g_strdup_printf ("{\"url\":\"http://127.0.0.1:%u/api-hook\"}", r->port);
  g_autoptr (ScResponse) made = sc_harness_request (h, "POST", "/system/v1/webhooks", body);
  g_assert_cmpuint (made->status, ==, 201);
  const char *wid = sc_response_str (made, "id");
  const char *secret = sc_response_str (made, "secret");
  g_assert_nonnull (secret);
  g_mutex_lock (&r->lock);
  g_hash_table_insert (r->secrets, g_strdup ("/api-hook"), g_strdup (secret));
  g_mutex_unlock (&r->lock);

  /* Listed without its secret, next to the configured one. */
  g_autoptr (ScResponse) listed = sc_harness_request (h, "GET", "/system/v1/webhooks", NULL);
  JsonArray *all = sc_response_data_array (listed);
  g_assert_cmpuint (json_array_get_length (all), ==, 2);
  const char *cfg_id = NULL;
  for (guint i = 0; i < 2; i++) {
    JsonObject *w = json_array_get_object_element (all, i);
    g_assert_false (json_object_has_member (w, "secret"));
    if (g_str_equal (json_object_get_string_member (w, "source"), "config"))
      cfg_id = json_object_get_string_member (w, "id");
  }
  g_assert_nonnull (cfg_id);

  /* Both endpoints get the event, each signed with its own secret. */
  g_autofree char *id = create_stream (h);
  g_autoptr (JsonObject) first = wait_event (r, "video.live_stream.created", id, 30);
  g_assert_nonnull (first);
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  g_mutex_lock (&r->lock);
  while (r->accepted->len < 2 && g_cond_wait_until (&r->cond, &r->lock, end))
    ;
  g_assert_cmpuint (r->accepted->len, ==, 2);
  g_assert_cmpuint (r->bad_signatures, ==, 0);
  g_mutex_unlock (&r->lock);

  g_autofree char *cfg_path = g_strconcat ("/system/v1/webhooks/", cfg_id, NULL);
  g_autoptr (ScResponse) cfg_del = sc_harness_request (h, "DELETE", cfg_path, NULL);
  g_assert_cmpuint (cfg_del->status, ==, 409);
  g_autofree char *path = g_strconcat ("/system/v1/webhooks/", wid, NULL);
  g_autoptr (ScResponse) del = sc_harness_request (h, "DELETE", path, NULL);
  g_assert_cmpuint (del->status, ==, 204);
  g_autoptr (ScResponse) gone = sc_harness_request (h, "GET", path, NULL);
  g_assert_cmpuint (gone->status, ==, 404);
  g_assert_cmpstr (sc_response_error_type (gone), ==, "not_found");
}

static void
test_space_events (void)
{
  g_autoptr (Receiver) r = receiver_new ();
  g_autoptr (ScHarness) h = start_daemon (r);
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *path = g_strconcat ("/video/v1/spaces/", space, NULL);
  g_autoptr (ScResponse) del = sc_harness_request (h, "DELETE", path, NULL);
  g_assert_cmpuint (del->status, ==, 204);

  assert_event (r, "video.space.created", space, "idle");
  assert_event (r, "video.space.deleted", space, "idle");
  g_assert_cmpint (arrival (r, "video.space.created", space), <,
                   arrival (r, "video.space.deleted", space));
}

/* A participant "guest" in a new space, and a gallery broadcast of it to a
 * new live stream, running. */
typedef struct {
  char *space, *live_stream, *broadcast;
  GSubprocess *publisher;
  JsonObject *guest;            /* the participant as listed */
} Show;

static void
show_start (ScHarness *h, Show *show)
{
  g_autofree char *key_id = NULL, *private_key = NULL;
  sc_harness_create_signing_key (h, &key_id, &private_key);
  show->space = sc_harness_create_space (h);
  g_autofree char *token = sc_harness_sign (h, show->space, key_id, private_key, "guest");
  show->publisher = sc_harness_whip_publish (h, show->space, token, NULL, NULL);
  show->guest = sc_harness_wait_participants (h, show->space, 1, 0, 60);
  show->live_stream = create_stream (h);
  show->broadcast = sc_harness_create_broadcast (h, show->space, show->live_stream, "gallery");
  g_assert_cmpuint (sc_harness_broadcast_action (h, show->space, show->broadcast, "start"), ==, 200);
  g_autoptr (JsonObject) running = sc_harness_wait_broadcast_running (h, show->space,
                                                                      show->broadcast, 60);
}

static void
show_clear (Show *show)
{
  g_free (show->space);
  g_free (show->live_stream);
  g_free (show->broadcast);
  g_clear_pointer (&show->guest, json_object_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Show, show_clear)

/* A space turns active with its first participant and idle with its last;
 * a broadcast active when started and idle when stopped, as Mux Spaces
 * announced them. */
static void
test_space_and_broadcast_lifecycle (void)
{
  g_autoptr (Receiver) r = receiver_new ();
  g_autoptr (ScHarness) h = start_daemon (r);
  g_auto (Show) show = { 0 };
  show_start (h, &show);
  const char *space = show.space, *b = show.broadcast;
  GSubprocess *pub = show.publisher;
  JsonObject *guest = show.guest;
  g_assert_cmpuint (sc_harness_broadcast_action (h, space, b, "stop"), ==, 200);
  sc_harness_stop_publisher (pub, FALSE);

  assert_event (r, "video.space.active", space, "active");
  assert_event (r, "video.space.broadcast.created", b, "idle");
  assert_event (r, "video.space.broadcast.active", b, "active");
  assert_event (r, "video.space.broadcast.idle", b, "idle");
  assert_event (r, "video.space.idle", space, "idle");
  {
    g_autoptr (JsonObject) idle = wait_event (r, "video.space.broadcast.idle", b, 0);
    JsonObject *data = json_object_get_object_member (idle, "data");
    g_assert_cmpstr (json_object_get_string_member (data, "idle_reason"), ==,
                     "stopped through the API");
  }
  /* Our own extension: who came and went, about the space. */
  const char *const moves[] = { "video.space.participant.joined", "video.space.participant.left" };
  for (guint i = 0; i < G_N_ELEMENTS (moves); i++) {
    g_autoptr (JsonObject) e = wait_event (r, moves[i], space, 30);
    g_assert_nonnull (e);
    JsonObject *data = json_object_get_object_member (e, "data");
    g_assert_cmpstr (json_object_get_string_member (data, "space_id"), ==, space);
    g_assert_cmpstr (json_object_get_string_member (data, "participant_id"), ==, "guest");
    g_assert_cmpstr (json_object_get_string_member (data, "connection_id"), ==,
                     json_object_get_string_member (guest, "connection_id"));
  }
  g_assert_cmpint (arrival (r, "video.space.active", space), <,
                   arrival (r, "video.space.participant.joined", space));
  g_assert_cmpint (arrival (r, "video.space.participant.left", space), <,
                   arrival (r, "video.space.idle", space));
  g_assert_cmpint (arrival (r, "video.space.created", space), <,
                   arrival (r, "video.space.active", space));
  g_assert_cmpint (arrival (r, "video.space.broadcast.active", b), <,
                   arrival (r, "video.space.broadcast.idle", b));
  /* Only one resource's events arrive in order (others are sent beside
   * them): across resources, what happened first was committed first. */
  {
    g_autoptr (JsonObject) b_idle = wait_event (r, "video.space.broadcast.idle", b, 0);
    g_autoptr (JsonObject) s_idle = wait_event (r, "video.space.idle", space, 0);
    g_assert_cmpstr (json_object_get_string_member (b_idle, "created_at"), <,
                     json_object_get_string_member (s_idle, "created_at"));
  }
  g_assert_cmpuint (r->bad_signatures, ==, 0);
  verify_with_mux_sdk (r);
}

/* A broadcast whose output is refused (its live stream disabled under it)
 * goes idle by itself, says why, and is announced as errored first. */
static void
test_broadcast_errored (void)
{
  g_autoptr (Receiver) r = receiver_new ();
  g_autoptr (ScHarness) h = start_daemon (r);
  g_auto (Show) show = { 0 };
  show_start (h, &show);
  const char *space = show.space, *ls = show.live_stream, *b = show.broadcast;
  GSubprocess *pub = show.publisher;
  g_autofree char *disable = g_strdup_printf ("/video/v1/live-streams/%s/disable", ls);
  g_autoptr (ScResponse) res = sc_harness_request (h, "PUT", disable, NULL);
  g_assert_cmpuint (res->status, ==, 200);

  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s/broadcasts/%s", space, b);
  g_assert_true (sc_harness_wait_member (h, path, "status", "idle", 30));
  g_autoptr (JsonObject) doc = sc_harness_get_data (h, path);
  const char *why = json_object_get_string_member (doc, "idle_reason");
  g_test_message ("idle_reason: %s", why);
  g_assert_true (g_str_has_prefix (why, "its output failed: "));
  g_assert_nonnull (strstr (why, "live stream is disabled"));
  /* The API shows it to anyone with credentials; keys stay out of it. */
  g_autofree char *ls_path = g_strconcat ("/video/v1/live-streams/", ls, NULL);
  g_autoptr (JsonObject) stream = sc_harness_get_data (h, ls_path);
  g_assert_null (strstr (why, json_object_get_string_member (stream, "stream_key")));
  g_assert_false (json_object_has_member (doc, "health"));
  assert_event (r, "video.space.broadcast.errored", b, "idle");
  assert_event (r, "video.space.broadcast.idle", b, "idle");
  g_assert_cmpint (arrival (r, "video.space.broadcast.errored", b), <,
                   arrival (r, "video.space.broadcast.idle", b));
  sc_harness_stop_publisher (pub, FALSE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/webhooks/resource", test_webhooks_resource);
  g_test_add_func ("/webhooks/retries-until-recovered", test_retries_until_recovered);
  g_test_add_func ("/webhooks/kill9-after-ack-still-delivers", test_kill9_after_ack_still_delivers);
  g_test_add_func ("/webhooks/api-responsive-while-receiver-stalls",
                   test_api_responsive_while_receiver_stalls);
  g_test_add_func ("/webhooks/space-events", test_space_events);
  g_test_add_func ("/webhooks/space-and-broadcast-lifecycle", test_space_and_broadcast_lifecycle);
  g_test_add_func ("/webhooks/lifecycle-in-order", test_lifecycle_in_order);
  g_test_add_func ("/webhooks/broadcast-errored", test_broadcast_errored);
  return g_test_run ();
}
