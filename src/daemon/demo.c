/* `spacecast serve --demo`: a space with three synthetic participants
 * publishing over WHIP, a live stream and a gallery broadcast, started —
 * everything through the daemon's own HTTP API, as a user would do it.
 * It runs on its own thread with its own main context, because it talks
 * HTTP synchronously to the server that runs on the main thread. */
#include "daemon.h"
#include "spacecast/auth.h"
#include "spacecast/core.h"
#include "spacecast/jwt.h"
#include "spacecast/publish.h"

#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

struct _ScDemo {
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  char *base;             /* http://HOST:PORT */
  char *auth;             /* Basic ... */
  char *ice_host;
  char *token_id, *token_secret;
};

static JsonObject *
call (ScDemo *d, SoupSession *s, const char *method, const char *path, const char *body,
      GError **error)
{
  g_autofree char *url = g_strconcat (d->base, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  if (body) {
    g_autoptr (GBytes) b = g_bytes_new (body, strlen (body));
    soup_message_set_request_body_from_bytes (msg, "application/json", b);
  }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", d->auth);
  g_autoptr (GBytes) reply = soup_session_send_and_read (s, msg, NULL, error);
  if (!reply)
    return NULL;
  guint status = soup_message_get_status (msg);
  g_autoptr (JsonParser) p = json_parser_new ();
  gsize len;
  const char *data = g_bytes_get_data (reply, &len);
  if (status >= 300 || !json_parser_load_from_data (p, data, (gssize) len, NULL)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "%s %s → %u: %.*s", method, path, status,
                 (int) len, data);
    return NULL;
  }
  JsonObject *root = json_node_get_object (json_parser_get_root (p));
  return json_object_ref (json_object_get_object_member (root, "data"));
}

static gboolean
space_active (ScDemo *d, SoupSession *s, const char *space_id)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s/participants", space_id);
  g_autofree char *url = g_strconcat (d->base, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", d->auth);
  g_autoptr (GBytes) reply = soup_session_send_and_read (s, msg, NULL, NULL);
  g_autoptr (JsonParser) p = json_parser_new ();
  if (!reply || !json_parser_load_from_data (p, g_bytes_get_data (reply, NULL),
                                             (gssize) g_bytes_get_size (reply), NULL))
    return FALSE;
  JsonArray *arr = json_object_get_array_member (json_node_get_object (json_parser_get_root (p)), "data");
  return arr && json_array_get_length (arr) == 3;
}

static gboolean
run (ScDemo *d, GPtrArray *publishers, GError **error)
{
  g_autoptr (SoupSession) s = soup_session_new_with_options ("timeout", 30, NULL);
  static const struct { const char *name; guint32 color; double freq; } people[] = {
    { "red", 0xE53935, 330 }, { "green", 0x43A047, 440 }, { "blue", 0x1E88E5, 550 },
  };

  g_autoptr (JsonObject) key = call (d, s, "POST", "/system/v1/signing-keys", NULL, error);
  if (!key)
    return FALSE;
  g_autoptr (JsonObject) ls = call (d, s, "POST", "/video/v1/live-streams",
      "{\"playback_policies\":[\"public\"],\"new_asset_settings\":{\"playback_policies\":[\"public\"]},"
      "\"passthrough\":\"spacecast demo\"}", error);
  if (!ls)
    return FALSE;
  g_autofree char *space_body = g_strdup_printf (
      "{\"passthrough\":\"spacecast demo\",\"broadcasts\":[{\"live_stream_id\":\"%s\","
      "\"layout\":\"gallery\",\"resolution\":\"1280x720\",\"layout_options\":{\"labels\":true}}]}",
      json_object_get_string_member (ls, "id"));
  g_autoptr (JsonObject) space = call (d, s, "POST", "/video/v1/spaces", space_body, error);
  if (!space)
    return FALSE;
  const char *space_id = json_object_get_string_member (space, "id");
  JsonObject *bc = json_array_get_object_element (json_object_get_array_member (space, "broadcasts"), 0);
  g_autofree char *whip = g_strdup_printf ("%s/rt/v1/spaces/%s/whip", d->base, space_id);

  for (guint i = 0; i < G_N_ELEMENTS (people); i++) {
    g_autofree char *token = sc_jwt_sign_space_token (
        json_object_get_string_member (key, "private_key"), json_object_get_string_member (key, "id"),
        space_id, "publisher", people[i].name, 24 * 3600, FALSE, error);
    if (!token)
      return FALSE;
    ScPublishOptions o = { .whip_url = whip, .token = token, .has_color = TRUE,
                           .color = people[i].color, .freq = people[i].freq,
                           .ice_host = d->ice_host };
    ScPublish *pub = sc_publish_start (&o, error);
    if (!pub)
      return FALSE;
    g_ptr_array_add (publishers, pub);
  }
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!space_active (d, s, space_id)) {
    if (g_get_monotonic_time () > deadline) {
      g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "the demo participants did not join in 30 s");
      return FALSE;
    }
    for (int i = 0; i < 50; i++)
      g_main_context_iteration (d->context, FALSE);
    g_usleep (100 * 1000);
  }
  g_autofree char *start = g_strdup_printf ("/video/v1/spaces/%s/broadcasts/%s/start", space_id,
                                            json_object_get_string_member (bc, "id"));
  g_autoptr (JsonObject) started = call (d, s, "POST", start, NULL, error);
  if (!started)
    return FALSE;

  const char *pid = json_object_get_string_member (
      json_array_get_object_element (json_object_get_array_member (ls, "playback_ids"), 0), "id");
  printf ("\nspacecast demo is live.\n"
          "  Watch:   %s/stream/%s.m3u8   (e.g. ffplay or VLC; a few seconds in)\n"
          "  Switch:  curl -u %s:%s -X PATCH -H 'Content-Type: application/json' \\\n"
          "             -d '{\"layout\":\"spotlight\",\"layout_options\":{\"participant_id\":\"blue\"}}' \\\n"
          "             %s/video/v1/spaces/%s/broadcasts/%s\n"
          "  Token:   SPACECAST_TOKEN_ID=%s SPACECAST_TOKEN_SECRET=%s\n\n",
          d->base, pid, d->token_id, d->token_secret, d->base, space_id,
          json_object_get_string_member (bc, "id"), d->token_id, d->token_secret);
  fflush (stdout);
  return TRUE;
}

static gpointer
demo_thread (gpointer data)
{
  ScDemo *d = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) publishers = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_publish_free);

  g_main_context_push_thread_default (d->context);
  if (run (d, publishers, &error))
    g_main_loop_run (d->loop);
  else
    g_warning ("demo: %s", error->message);
  for (guint i = 0; i < publishers->len; i++)
    sc_publish_abort (publishers->pdata[i]);
  g_ptr_array_set_size (publishers, 0);
  g_main_context_pop_thread_default (d->context);
  return NULL;
}

ScDemo *
sc_daemon_demo_start (ScStore *store, const char *http_host, guint16 port, const char *ice_host,
                      GError **error)
{
  ScDemo *d = g_new0 (ScDemo, 1);
  if (!sc_auth_create_token (store, NULL, NULL, &d->token_id, &d->token_secret, error)) {
    g_free (d);
    return NULL;
  }
  g_autofree char *creds = g_strdup_printf ("%s:%s", d->token_id, d->token_secret);
  g_autofree char *b64 = g_base64_encode ((const guchar *) creds, strlen (creds));
  const char *host = g_str_equal (http_host, "0.0.0.0") ? "127.0.0.1" : http_host;
  d->auth = g_strconcat ("Basic ", b64, NULL);
  d->base = g_strdup_printf ("http://%s:%u", host, port);
  /* The publishers gather what the daemon gathers: a pinned 127.0.0.1
   * against the daemon's interface candidates failed ICE after ~9 s. */
  d->ice_host = g_strdup (ice_host);
  d->context = g_main_context_new ();
  d->loop = g_main_loop_new (d->context, FALSE);
  d->thread = g_thread_new ("spacecast-demo", demo_thread, d);
  return d;
}

void
sc_daemon_demo_stop (ScDemo *d)
{
  if (!d)
    return;
  g_main_loop_quit (d->loop);
  g_thread_join (d->thread);
  g_main_loop_unref (d->loop);
  g_main_context_unref (d->context);
  g_free (d->base);
  g_free (d->auth);
  g_free (d->ice_host);
  g_free (d->token_id);
  g_free (d->token_secret);
  g_free (d);
}
