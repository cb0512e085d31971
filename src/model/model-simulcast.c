/* Simulcast targets of a live stream, shaped as Mux shapes them
 * (mux-api.md §1.3, §1.4): {id, status, url, stream_key, passthrough,
 * error_severity}, stored inside their live stream's document. */
#include "spacecast/model.h"
#include "spacecast/core.h"

#include <string.h>

#define URL_MAX 2048
#define KEY_MAX 1024

/* Mux's SRT target is one URL, its credentials in the query:
 * srt://HOST:PORT?streamid=KEY&passphrase=SECRET (mux-api.md §1.3, §2). */
static gboolean
check_srt_url (GUri *uri, const char *url, GError **error)
{
  if (g_uri_get_port (uri) <= 0 || (*g_uri_get_path (uri) && !g_str_equal (g_uri_get_path (uri), "/")) ||
      g_uri_get_fragment (uri) || g_uri_get_userinfo (uri)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "url must be srt://HOST:PORT?streamid=STREAM_KEY&passphrase=PASSPHRASE, "
                 "with a port and no path; got \"%s\"", url);
    return FALSE;
  }
  g_autoptr (GError) e = NULL;
  g_autoptr (ScModelSrtUrl) parts = sc_model_simulcast_srt_url_parse (url, &e);
  if (!parts) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "url: %s", e->message);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_url (const char *url, gboolean *srt, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED_QUERY, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;
  *srt = scheme && g_ascii_strcasecmp (scheme, "srt") == 0;
  if (!uri || !(*srt || g_ascii_strcasecmp (scheme, "rtmp") == 0 ||
                g_ascii_strcasecmp (scheme, "rtmps") == 0) ||
      !g_uri_get_host (uri) || !*g_uri_get_host (uri)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "url must be an rtmp://, rtmps:// or srt:// URL with a host, got \"%s\"", url);
    return FALSE;
  }
  if (*srt)
    return check_srt_url (uri, url, error);
  g_autofree char *app = sc_model_simulcast_url_app (uri);
  if (!*app) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "url must name the application, as in rtmp://live.example.com/app; "
                 "got \"%s\"", url);
    return FALSE;
  }
  if (g_uri_get_query (uri) || g_uri_get_fragment (uri) || g_uri_get_userinfo (uri)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "url must not carry credentials, a query or a fragment "
                 "(the stream_key goes in stream_key)");
    return FALSE;
  }
  return TRUE;
}

void
sc_model_srt_url_free (ScModelSrtUrl *u)
{
  if (!u)
    return;
  g_free (u->host);
  g_free (u->streamid);
  g_free (u->passphrase);
  g_free (u->display);
  g_free (u);
}

ScModelSrtUrl *
sc_model_simulcast_srt_url_parse (const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED_QUERY, error);
  if (!uri)
    return NULL;
  g_autoptr (ScModelSrtUrl) u = g_new0 (ScModelSrtUrl, 1);
  u->host = g_strdup (g_uri_get_host (uri));
  u->port = g_uri_get_port (uri);
  u->display = g_strdup_printf ("srt://%s:%d", u->host, u->port);
  const char *query = g_uri_get_query (uri);
  g_autoptr (GHashTable) params = query && *query
      ? g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, error)
      : g_hash_table_new (g_str_hash, g_str_equal);
  if (!params)
    return NULL;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, params);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    if (g_str_equal (k, "streamid") && !u->streamid) {
      u->streamid = g_strdup (v);
    } else if (g_str_equal (k, "passphrase") && !u->passphrase) {
      u->passphrase = g_strdup (v);
    } else {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "an srt:// target takes streamid and passphrase in its query, "
                   "not \"%s\"", (const char *) k);
      return NULL;
    }
  }
  /* libsrt's own bounds: a stream id of at most 512 bytes, a passphrase of
   * 10 to 79 characters. */
  if (u->streamid && strlen (u->streamid) > 512) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "streamid must be at most 512 bytes");
    return NULL;
  }
  if (u->passphrase && (strlen (u->passphrase) < 10 || strlen (u->passphrase) > 79)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "passphrase must be 10 to 79 characters long");
    return NULL;
  }
  return g_steal_pointer (&u);
}

char *
sc_model_simulcast_url_public (const char *url)
{
  if (g_ascii_strncasecmp (url, "srt:", 4) != 0)
    return g_strdup (url);
  g_autoptr (ScModelSrtUrl) u = sc_model_simulcast_srt_url_parse (url, NULL);
  return g_strdup (u ? u->display : "srt://");
}

char *
sc_model_simulcast_url_app (GUri *uri)
{
  const char *path = g_uri_get_path (uri);
  while (*path == '/')
    path++;
  char *app = g_strdup (path);
  gsize n = strlen (app);
  while (n > 0 && app[n - 1] == '/')
    app[--n] = '\0';
  return app;
}

JsonObject *
sc_model_simulcast_target_new (JsonObject *req, GError **error)
{
  static const char *const allowed[] = { "url", "stream_key", "passthrough", NULL };
  g_autofree char *url = NULL, *key = NULL, *passthrough = NULL;

  if (!sc_model_check_fields (req, allowed, "a simulcast target", error) ||
      !sc_model_take_string (req, "url", URL_MAX, &url, error) ||
      !sc_model_take_string (req, "stream_key", KEY_MAX, &key, error) ||
      !sc_model_take_string (req, "passthrough", 255, &passthrough, error))
    return NULL;
  if (!url) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "url is required");
    return NULL;
  }
  gboolean srt;
  if (!check_url (url, &srt, error))
    return NULL;
  if (srt && key) {
    /* Mux takes an SRT target as one URL: a key beside it would be a
     * second stream id, and which one counts is anyone's guess. */
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "an srt:// target takes no stream_key: its stream id goes in the url, "
                 "as srt://HOST:PORT?streamid=STREAM_KEY&passphrase=PASSPHRASE");
    return NULL;
  }
  if (!srt && (!key || !*key)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "stream_key is required for an rtmp:// or rtmps:// target");
    return NULL;
  }
  /* The key is the RTMP stream name: one line of printable text. */
  for (const char *c = key; c && *c; c++)
    if ((guchar) *c < 0x21 || *c == 0x7f) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "stream_key must not contain spaces or control characters");
      return NULL;
    }

  JsonObject *t = json_object_new ();
  g_autofree char *id = sc_core_new_id ();
  json_object_set_string_member (t, "id", id);
  if (passthrough)
    json_object_set_string_member (t, "passthrough", passthrough);
  json_object_set_string_member (t, "status", "idle");
  if (key)
    json_object_set_string_member (t, "stream_key", key);
  json_object_set_string_member (t, "url", url);
  return t;
}

gboolean
sc_model_live_stream_take_simulcast (JsonObject *req, JsonObject *doc, GError **error)
{
  JsonNode *n = json_object_get_member (req, "simulcast_targets");
  JsonArray *out = json_array_new ();
  json_object_set_array_member (doc, "simulcast_targets", out);
  if (!n || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (n)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "simulcast_targets must be an array");
    return FALSE;
  }
  JsonArray *in = json_node_get_array (n);
  if (json_array_get_length (in) > SC_MODEL_MAX_SIMULCAST_TARGETS) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "simulcast_targets: at most %u targets per live stream",
                 SC_MODEL_MAX_SIMULCAST_TARGETS);
    return FALSE;
  }
  for (guint i = 0; i < json_array_get_length (in); i++) {
    JsonNode *e = json_array_get_element (in, i);
    if (!JSON_NODE_HOLDS_OBJECT (e)) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "simulcast_targets[%u] must be an object", i);
      return FALSE;
    }
    JsonObject *t = sc_model_simulcast_target_new (json_node_get_object (e), error);
    if (!t) {
      g_prefix_error (error, "simulcast_targets[%u]: ", i);
      return FALSE;
    }
    json_array_add_object_element (out, t);
  }
  return TRUE;
}

JsonObject *
sc_model_simulcast_target_find (JsonObject *live_stream, const char *target_id, guint *index)
{
  JsonArray *targets = json_object_has_member (live_stream, "simulcast_targets")
      ? json_object_get_array_member (live_stream, "simulcast_targets") : NULL;
  for (guint i = 0; targets && i < json_array_get_length (targets); i++) {
    JsonObject *t = json_array_get_object_element (targets, i);
    if (g_strcmp0 (json_object_get_string_member (t, "id"), target_id) == 0) {
      if (index)
        *index = i;
      return t;
    }
  }
  return NULL;
}

gboolean
sc_model_simulcast_target_set_status (JsonObject *target, const char *status,
                                      const char *error_severity)
{
  gboolean changed = g_strcmp0 (json_object_get_string_member (target, "status"), status) != 0 ||
      g_strcmp0 (json_object_get_string_member_with_default (target, "error_severity", NULL),
                 error_severity) != 0;
  json_object_set_string_member (target, "status", status);
  if (error_severity)
    json_object_set_string_member (target, "error_severity", error_severity);
  else if (json_object_has_member (target, "error_severity"))
    json_object_remove_member (target, "error_severity");
  return changed;
}
