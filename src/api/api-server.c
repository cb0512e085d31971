/* The HTTP server: routing, credentials, request bodies and Mux-shaped
 * replies.  Resource handlers live in api-*.c and never touch libsoup's
 * plumbing beyond ScRequest; connections are api-door.c's. */
#include "api-door.h"
#include "spacecast/auth.h"
#include "spacecast/core.h"
#include "spacecast/metrics.h"
#include "spacecast/model.h"

#include <string.h>

typedef struct {
  char *method;
  char **segments;
  ScRouteFlags flags;
  ScRouteHandler handler;
  gpointer user_data;
} Route;

struct _ScApi {
  ScConfig *config;
  ScStore *store;
  SoupServer *server;
  ScApiDoor *door;
  GPtrArray *routes;
  ScApiDecorateFunc decorate;
  gpointer decorate_data;
};

static void
route_free (Route *r)
{
  g_free (r->method);
  g_strfreev (r->segments);
  g_free (r);
}

void
sc_api_add_route (ScApi *api, const char *method, const char *pattern, ScRouteFlags flags,
                  ScRouteHandler handler, gpointer user_data)
{
  Route *r = g_new0 (Route, 1);
  r->method = g_strdup (method);
  r->segments = g_strsplit (pattern + 1, "/", -1);
  r->flags = flags;
  r->handler = handler;
  r->user_data = user_data;
  g_ptr_array_add (api->routes, r);
}

JsonNode *
sc_api_error_body (ScErrorCode code, const char *message)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "error");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, sc_error_type_name (code));
  json_builder_set_member_name (b, "messages");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, message);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
reply_json (SoupServerMessage *msg, guint status, JsonNode *node)
{
  g_autofree char *text = json_to_string (node, FALSE);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                    text, strlen (text));
}

void
sc_api_reply_data (ScRequest *req, guint status, JsonNode *data_node)
{
  JsonObject *root = json_object_new ();
  json_object_set_member (root, "data", data_node);
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), root);
  json_object_unref (root);
  reply_json (req->msg, status, node);
}

void
sc_api_reply_array (ScRequest *req, JsonArray *items)
{
  JsonNode *node = json_node_init_array (json_node_alloc (), items);
  json_array_unref (items);
  sc_api_reply_data (req, 200, node);
}

void
sc_api_reply_empty_data (ScRequest *req, guint status)
{
  JsonNode *empty = json_node_init_object (json_node_alloc (), NULL);
  JsonObject *o = json_object_new ();
  json_node_set_object (empty, o);
  json_object_unref (o);
  sc_api_reply_data (req, status, empty);
}

void
sc_api_reply_no_content (ScRequest *req)
{
  soup_server_message_set_status (req->msg, 204, NULL);
}

static void
reply_error_msg (SoupServerMessage *msg, ScErrorCode code, const char *message)
{
  g_autoptr (JsonNode) body = sc_api_error_body (code, message);
  reply_json (msg, sc_error_http_status (code), body);
  if (code == SC_ERROR_UNAUTHORIZED)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "WWW-Authenticate", "Basic realm=\"spacecast\"");
}

void
sc_api_reply_error (ScRequest *req, const GError *error)
{
  ScErrorCode code = error->domain == SC_ERROR ? (ScErrorCode) error->code : SC_ERROR_INTERNAL;
  if (code == SC_ERROR_INTERNAL)
    g_warning ("api: %s %s failed: %s", req->method,
               g_uri_get_path (soup_server_message_get_uri (req->msg)), error->message);
  reply_error_msg (req->msg, code, error->message);
}

void
sc_api_reply_error_code (ScRequest *req, ScErrorCode code, const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  g_autofree char *message = g_strdup_vprintf (fmt, args);
  va_end (args);
  reply_error_msg (req->msg, code, message);
}

JsonObject *
sc_api_load (ScRequest *req, ScKind kind, const char *id)
{
  g_autoptr (GError) error = NULL;
  JsonObject *doc = sc_store_get (req->api->store, kind, id, &error);
  if (!doc)
    sc_api_reply_error (req, error);
  return doc;
}

const char *
sc_request_query (ScRequest *req, const char *name)
{
  return req->query ? g_hash_table_lookup (req->query, name) : NULL;
}

/* What the early handler found for a request, kept on its message for
 * the handler proper. */
typedef struct {
  Route *route;
  char **segments;
  const char *params[SC_API_MAX_PARAMS];
} RouteMatch;

#define MATCH_KEY "sc-api-match"

static void
route_match_free (RouteMatch *m)
{
  g_strfreev (m->segments);
  g_free (m);
}

static gboolean
match (Route *r, char **segments, const char **params)
{
  guint n = 0;
  for (guint i = 0;; i++) {
    if (!r->segments[i] || !segments[i])
      return r->segments[i] == segments[i];
    if (g_str_equal (r->segments[i], "*")) {
      if (!*segments[i] || n >= SC_API_MAX_PARAMS)
        return FALSE;
      params[n++] = segments[i];
    } else if (!g_str_equal (r->segments[i], segments[i])) {
      return FALSE;
    }
  }
}

/* The route for @method on @path; with none, m->route is NULL and the
 * error says whether the path exists at all. */
static RouteMatch *
route_lookup (ScApi *api, const char *method, const char *path, GError **error)
{
  RouteMatch *m = g_new0 (RouteMatch, 1);
  gboolean path_known = FALSE;

  m->segments = g_strsplit (path + 1, "/", -1);
  /* A trailing slash names the same resource. */
  guint n = g_strv_length (m->segments);
  if (n > 1 && m->segments[n - 1][0] == '\0')
    g_clear_pointer (&m->segments[n - 1], g_free);
  for (guint i = 0; i < api->routes->len && !m->route; i++) {
    Route *r = api->routes->pdata[i];
    const char *params[SC_API_MAX_PARAMS] = { NULL };
    if (!match (r, m->segments, params))
      continue;
    path_known = TRUE;
    if (g_str_equal (r->method, method)) {
      m->route = r;
      memcpy (m->params, params, sizeof params);
    }
  }
  if (!m->route && path_known)
    g_set_error (error, SC_ERROR, SC_ERROR_METHOD_NOT_ALLOWED, "%s is not allowed on %s",
                 method, path);
  else if (!m->route)
    g_set_error_literal (error, SC_ERROR, SC_ERROR_NOT_FOUND,
                         "The requested resource either doesn't exist or you don't have access to it.");
  return m;
}

/* Deeper than SC_API_MAX_JSON_DEPTH?  Counted on the raw text, before
 * json-glib recurses into it. */
static gboolean
json_too_deep (const char *data, gsize len)
{
  guint depth = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < len; i++) {
    char ch = data[i];
    if (in_string) {
      if (ch == '\\')
        i++;
      else if (ch == '"')
        in_string = FALSE;
    } else if (ch == '"') {
      in_string = TRUE;
    } else if (ch == '[' || ch == '{') {
      if (++depth > SC_API_MAX_JSON_DEPTH)
        return TRUE;
    } else if ((ch == ']' || ch == '}') && depth > 0) {
      depth--;
    }
  }
  return FALSE;
}

static gboolean
parse_json_body (ScRequest *req, Route *route)
{
  SoupMessageBody *body = soup_server_message_get_request_body (req->msg);
  const char *ctype = soup_message_headers_get_content_type (
      soup_server_message_get_request_headers (req->msg), NULL);

  if (route->flags & SC_ROUTE_RAW_BODY) {
    req->raw_body = soup_message_body_flatten (body);
    return TRUE;
  }
  if (!(route->flags & SC_ROUTE_JSON_BODY))
    return TRUE;
  if (body->length == 0) {
    req->body = json_object_new ();
    return TRUE;
  }
  if (!ctype || g_ascii_strcasecmp (ctype, "application/json") != 0) {
    sc_api_reply_error_code (req, SC_ERROR_UNSUPPORTED_TYPE,
                             "request body must be application/json, got %s",
                             ctype ? ctype : "no content type");
    return FALSE;
  }
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  if (!g_utf8_validate (data, (gssize) len, NULL)) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID, "request body is not valid UTF-8");
    return FALSE;
  }
  if (json_too_deep (data, len)) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID, "JSON body nests deeper than %d levels",
                             SC_API_MAX_JSON_DEPTH);
    return FALSE;
  }
  if (!json_parser_load_from_data (parser, data, (gssize) len, &error)) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID, "malformed JSON body: %s", error->message);
    return FALSE;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID, "request body must be a JSON object");
    return FALSE;
  }
  req->body = json_object_ref (json_node_get_object (root));
  return TRUE;
}

/* One line per request, with the status the client got. */
#define START_KEY "sc-api-start"

static void
request_log_write (SoupServerMessage *msg)
{
  const char *method = soup_server_message_get_method (msg);
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));
  gint64 *start = g_object_get_data (G_OBJECT (msg), START_KEY);
  g_log_structured ("spacecast", G_LOG_LEVEL_INFO,
                    "HTTP_METHOD", method, "HTTP_PATH", path,
                    "MESSAGE", "http %s %s -> %u (%.1f ms)", method, path,
                    soup_server_message_get_status (msg),
                    (g_get_monotonic_time () - *start) / 1000.0);
  RouteMatch *m = g_object_get_data (G_OBJECT (msg), MATCH_KEY);
  sc_metrics_observe_http (method, m && m->route ? (const char *const *) m->route->segments : NULL,
                           soup_server_message_get_status (msg), g_get_monotonic_time () - *start);
}

static void
on_request_done (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  request_log_write (msg);
}

/* For a 204, libsoup 3.2.3 removes Content-Length, which leaves the
 * response headers claiming a body until EOF: it then closes the
 * connection after the 204 without saying so, and a client reusing it
 * gets a reset.  The headers are on the wire by now; put back what they
 * said (no body). */
static void
on_wrote_headers (SoupServerMessage *msg, gpointer user_data)
{
  if (soup_server_message_get_status (msg) == SOUP_STATUS_NO_CONTENT)
    soup_message_headers_set_encoding (soup_server_message_get_response_headers (msg),
                                       SOUP_ENCODING_NONE);
}

static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  gint64 *start = g_new (gint64, 1);
  *start = g_get_monotonic_time ();
  g_object_set_data_full (G_OBJECT (msg), START_KEY, start, g_free);
  g_signal_connect (msg, "wrote-headers", G_CALLBACK (on_wrote_headers), NULL);
}

static void
handle (SoupServer *server, SoupServerMessage *msg, const char *path,
        GHashTable *query, gpointer user_data)
{
  /* The early handler found the route and passed the credentials. */
  RouteMatch *m = g_object_get_data (G_OBJECT (msg), MATCH_KEY);
  ScRequest req = { .api = user_data, .msg = msg, .method = soup_server_message_get_method (msg),
                    .query = query, .user_data = m->route->user_data };

  memcpy (req.params, m->params, sizeof req.params);
  if (parse_json_body (&req, m->route))
    m->route->handler (&req);
  g_clear_pointer (&req.body, json_object_unref);
  g_clear_pointer (&req.raw_body, g_bytes_unref);
}

static gboolean
request_has_body (SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  SoupEncoding encoding = soup_message_headers_get_encoding (h);
  return encoding != SOUP_ENCODING_NONE &&
         (encoding != SOUP_ENCODING_CONTENT_LENGTH || soup_message_headers_get_content_length (h) > 0);
}

/* A refusal decided before the body is read.  libsoup would read all of
 * a body before writing any answer, so one that has a body is answered by
 * the door at once, and its connection closed. */
static void
refuse (ScApi *api, SoupServerMessage *msg, Route *route, const GError *error)
{
  reply_error_msg (msg, (ScErrorCode) error->code, error->message);
  if (route && (route->flags & SC_ROUTE_CORS))
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "Access-Control-Allow-Origin", "*");
  if (!request_has_body (msg))
    return;
  request_log_write (msg);
  sc_api_door_answer_and_close (api->door, msg);
}

/* The body so far (libsoup adds each chunk before telling). */
static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  if (soup_server_message_get_request_body (msg)->length <= SC_API_MAX_BODY)
    return;
  g_autoptr (GError) error = g_error_new (SC_ERROR, SC_ERROR_TOO_LARGE,
                                          "request body is larger than %d bytes", SC_API_MAX_BODY);
  refuse (user_data, msg, ((RouteMatch *) g_object_get_data (G_OBJECT (msg), MATCH_KEY))->route,
          error);
}

static gboolean
check_credentials (ScApi *api, Route *route, SoupMessageHeaders *headers, GError **error)
{
  const char *auth = soup_message_headers_get_one (headers, "Authorization");
  if (route->flags & SC_ROUTE_BASIC_AUTH)
    return sc_auth_check_basic (api->store, auth, error);
  if ((route->flags & SC_ROUTE_BEARER_AUTH) &&
      (!auth || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0)) {
    g_set_error_literal (error, SC_ERROR, SC_ERROR_UNAUTHORIZED,
                         "a space JWT is required: Authorization: Bearer <token>");
    return FALSE;
  }
  return TRUE;
}

static gboolean
admit (ScApi *api, Route *route, SoupMessageHeaders *headers, GError **error)
{
  if (!check_credentials (api, route, headers, error))
    return FALSE;
  if (soup_message_headers_get_content_length (headers) > SC_API_MAX_BODY) {
    g_set_error (error, SC_ERROR, SC_ERROR_TOO_LARGE, "request body is larger than %d bytes",
                 SC_API_MAX_BODY);
    return FALSE;
  }
  return TRUE;
}

/* After the headers, before any of the body: route, credentials, size. */
static void
early_handle (SoupServer *server, SoupServerMessage *msg, const char *path,
              GHashTable *query, gpointer user_data)
{
  ScApi *api = user_data;
  g_autoptr (GError) error = NULL;
  RouteMatch *m = route_lookup (api, soup_server_message_get_method (msg), path, &error);

  g_object_set_data_full (G_OBJECT (msg), MATCH_KEY, m, (GDestroyNotify) route_match_free);
  if (m->route && admit (api, m->route, soup_server_message_get_request_headers (msg), &error) &&
      request_has_body (msg))
    g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), api);
  if (error)
    refuse (api, msg, m->route, error);
}

static void
healthz (ScRequest *req)
{
  soup_server_message_set_status (req->msg, 200, NULL);
  soup_server_message_set_response (req->msg, "application/json", SOUP_MEMORY_STATIC,
                                    "{\"status\":\"ok\"}", 15);
}

ScApi *
sc_api_new (ScConfig *config, ScStore *store, GError **error)
{
  ScApi *api = g_new0 (ScApi, 1);
  api->config = config;
  api->store = store;
  api->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) route_free);
  api->server = soup_server_new ("server-header", "spacecast/" "0.1 ", NULL);

  g_signal_connect (api->server, "request-started", G_CALLBACK (on_request_started), api);
  g_signal_connect (api->server, "request-finished", G_CALLBACK (on_request_done), api);
  g_signal_connect (api->server, "request-aborted", G_CALLBACK (on_request_done), api);
  soup_server_add_early_handler (api->server, NULL, early_handle, api, NULL);
  soup_server_add_handler (api->server, NULL, handle, api, NULL);
  sc_api_add_route (api, "GET", "/healthz", 0, healthz, NULL);
  sc_api_live_streams_register (api);
  sc_api_simulcast_register (api);
  sc_api_signing_keys_register (api);
  sc_api_spaces_register (api);
  sc_api_assets_register (api);

  api->door = sc_api_door_new (api->server, config, error);
  if (!api->door) {
    sc_api_free (api);
    return NULL;
  }
  g_message ("api: listening on http://%s:%u", config->http_host, sc_api_get_port (api));
  return api;
}

void
sc_api_free (ScApi *api)
{
  if (!api)
    return;
  g_clear_pointer (&api->door, sc_api_door_free);
  g_clear_object (&api->server);
  g_ptr_array_unref (api->routes);
  g_free (api);
}

ScStore *sc_api_get_store (ScApi *api) { return api->store; }
ScConfig *sc_api_get_config (ScApi *api) { return api->config; }
guint16 sc_api_get_port (ScApi *api) { return sc_api_door_get_port (api->door); }

void
sc_api_get_connection_stats (ScApi *api, ScApiConnectionStats *stats)
{
  sc_api_door_get_stats (api->door, stats);
}

void
sc_api_set_decorate_func (ScApi *api, ScApiDecorateFunc func, gpointer user_data)
{
  api->decorate = func;
  api->decorate_data = user_data;
}

JsonNode *
sc_api_render (ScApi *api, ScKind kind, JsonObject *doc)
{
  JsonNode *node = sc_model_render (doc);
  if (api->decorate)
    api->decorate (kind, json_node_get_object (node), api->decorate_data);
  return node;
}
