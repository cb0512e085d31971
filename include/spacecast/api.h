/* spacecast api: the HTTP server (libsoup 3) every route lives on — the
 * Mux-compatible control API, WHIP and playback.  It owns the connections
 * and their limits (config http_*), routing, credentials, body limits,
 * JSON parsing and Mux-shaped replies; resource modules register their
 * routes with sc_api_add_route.  Runs on the main context. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "spacecast/config.h"
#include "spacecast/core.h"
#include "spacecast/store.h"

G_BEGIN_DECLS

#define SC_API_MAX_BODY (1024 * 1024)
#define SC_API_MAX_PARAMS 4    /* '*' segments in a route pattern */
/* Deeper JSON is refused: json-glib parses recursively, on the stack. */
#define SC_API_MAX_JSON_DEPTH 64

typedef struct _ScApi ScApi;

typedef enum {
  SC_ROUTE_BASIC_AUTH = 1 << 0,   /* needs an API token */
  SC_ROUTE_JSON_BODY = 1 << 1,    /* body, if any, must be a JSON object */
  SC_ROUTE_RAW_BODY = 1 << 2,     /* handler reads the body itself */
  SC_ROUTE_BEARER_AUTH = 1 << 3,  /* needs "Authorization: Bearer": checked present
                                   * before the body is read; the handler verifies it */
  SC_ROUTE_CORS = 1 << 4,         /* called from browsers: refusals made before the
                                   * handler runs allow any origin too */
} ScRouteFlags;

typedef struct {
  ScApi *api;
  SoupServerMessage *msg;
  const char *method;
  const char *params[SC_API_MAX_PARAMS]; /* the path segments matched by '*' */
  GHashTable *query;              /* may be NULL */
  JsonObject *body;               /* SC_ROUTE_JSON_BODY: the object ({} when empty) */
  GBytes *raw_body;               /* SC_ROUTE_RAW_BODY */
  gpointer user_data;
} ScRequest;

typedef void (*ScRouteHandler) (ScRequest *req);

ScApi      *sc_api_new        (ScConfig *config, ScStore *store, GError **error);
void        sc_api_free       (ScApi *api);
ScStore    *sc_api_get_store  (ScApi *api);
ScConfig   *sc_api_get_config (ScApi *api);
guint16     sc_api_get_port   (ScApi *api);

/* The HTTP door's connections, for metrics. */
typedef struct {
  guint open;                     /* open now, answered or not */
  guint64 accepted;               /* since start */
  guint64 timed_out;              /* closed by the header, body or idle timeout */
  guint64 refused;                /* answered and closed before their body was read */
} ScApiConnectionStats;
void        sc_api_get_connection_stats (ScApi *api, ScApiConnectionStats *stats);

/* @pattern: "/video/v1/live-streams/ * /enable" without spaces: each '*'
 * matches one path segment.  The first matching route wins. */
void        sc_api_add_route  (ScApi *api, const char *method, const char *pattern,
                               ScRouteFlags flags, ScRouteHandler handler, gpointer user_data);

/* Replies.  data_node is sent as {"data": ...} and consumed. */
void        sc_api_reply_data  (ScRequest *req, guint status, JsonNode *data_node);
void        sc_api_reply_array (ScRequest *req, JsonArray *items);   /* 200 {"data": [...]}, consumed */
void        sc_api_reply_empty_data (ScRequest *req, guint status);   /* {"data": {}} */
void        sc_api_reply_no_content (ScRequest *req);                  /* 204 */
void        sc_api_reply_error (ScRequest *req, const GError *error);
void        sc_api_reply_error_code (ScRequest *req, ScErrorCode code, const char *fmt, ...)
                                     G_GNUC_PRINTF (3, 4);
JsonNode   *sc_api_error_body  (ScErrorCode code, const char *message);

const char *sc_request_query   (ScRequest *req, const char *name);
/* The broadcast params[1] of space params[0], or NULL after replying 404. */
JsonObject *sc_api_load_broadcast (ScRequest *req);
/* The stored document, or NULL after replying 404 (or 500). */
JsonObject *sc_api_load        (ScRequest *req, ScKind kind, const char *id);

/* Resource route sets (one per file). */
void        sc_api_live_streams_register  (ScApi *api);
void        sc_api_signing_keys_register  (ScApi *api);
void        sc_api_spaces_register        (ScApi *api);
void        sc_api_assets_register        (ScApi *api);
void        sc_api_simulcast_register     (ScApi *api);

/* Running state a module adds to a stored resource when it is rendered
 * (a broadcast's live health, say).  A query asked at render time, not a
 * change to announce, so not an event: what it adds is never stored, and
 * events carry the stored resource only. */
typedef void (*ScApiDecorateFunc) (ScKind kind, JsonObject *rendered, gpointer user_data);
void        sc_api_set_decorate_func (ScApi *api, ScApiDecorateFunc func, gpointer user_data);
/* sc_model_render plus the decoration. */
JsonNode   *sc_api_render (ScApi *api, ScKind kind, JsonObject *doc);

G_END_DECLS
