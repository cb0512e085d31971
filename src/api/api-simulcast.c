/* /video/v1/live-streams/{ID}/simulcast-targets: add, get, delete.  As
 * Mux, a stream's targets change only while it is not active; what they
 * do while it is, is the simulcast module's. */
#include "api-list.h"
#include "spacecast/core.h"
#include "spacecast/events.h"
#include "spacecast/model.h"

#define BASE "/video/v1/live-streams"

static JsonNode *
render_target (JsonObject *t)
{
  return json_node_init_object (json_node_alloc (), t);
}

static gboolean
check_idle (ScRequest *req, JsonObject *ls, const char *what)
{
  if (g_strcmp0 (json_object_get_string_member (ls, "status"), "active") != 0)
    return TRUE;
  sc_api_reply_error_code (req, SC_ERROR_CONFLICT,
                           "simulcast targets can only be %s while the live stream is idle; "
                           "live stream %s is active", what, req->params[0]);
  return FALSE;
}

static void
add (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) ls = sc_api_load (req, SC_KIND_LIVE_STREAM, req->params[0]);
  if (!ls)
    return;
  g_autoptr (JsonObject) t = sc_model_simulcast_target_new (req->body, &error);
  if (!t) {
    sc_api_reply_error (req, error);
    return;
  }
  if (!check_idle (req, ls, "added"))
    return;
  if (!json_object_has_member (ls, "simulcast_targets"))
    json_object_set_array_member (ls, "simulcast_targets", json_array_new ());
  JsonArray *targets = json_object_get_array_member (ls, "simulcast_targets");
  if (json_array_get_length (targets) >= SC_MODEL_MAX_SIMULCAST_TARGETS) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID,
                             "live stream %s already has %u simulcast targets, the most allowed",
                             req->params[0], SC_MODEL_MAX_SIMULCAST_TARGETS);
    return;
  }
  json_array_add_object_element (targets, json_object_ref (t));
  if (!sc_events_put_simulcast_target (sc_api_get_store (req->api), ls, t,
                                       "video.live_stream.simulcast_target.created", &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  /* The stream key stays out of the log, and so does an srt:// url's query. */
  g_autofree char *url = sc_model_simulcast_url_public (json_object_get_string_member (t, "url"));
  g_message ("live stream %s: simulcast target %s added (%s)", req->params[0],
             json_object_get_string_member (t, "id"), url);
  sc_api_reply_data (req, 201, render_target (t));
}

static void
get (ScRequest *req)
{
  g_autoptr (JsonObject) ls = sc_api_load (req, SC_KIND_LIVE_STREAM, req->params[0]);
  if (!ls)
    return;
  JsonObject *t = sc_model_simulcast_target_find (ls, req->params[1], NULL);
  if (!t) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "simulcast target %s not found",
                             req->params[1]);
    return;
  }
  sc_api_reply_data (req, 200, render_target (t));
}

static void
delete (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  guint index;
  g_autoptr (JsonObject) ls = sc_api_load (req, SC_KIND_LIVE_STREAM, req->params[0]);
  if (!ls)
    return;
  JsonObject *found = sc_model_simulcast_target_find (ls, req->params[1], &index);
  if (!found) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "simulcast target %s not found",
                             req->params[1]);
    return;
  }
  if (!check_idle (req, ls, "deleted"))
    return;
  g_autoptr (JsonObject) t = json_object_ref (found);
  json_array_remove_element (json_object_get_array_member (ls, "simulcast_targets"), index);
  if (!sc_events_put_simulcast_target (sc_api_get_store (req->api), ls, t,
                                       "video.live_stream.simulcast_target.deleted", &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  g_message ("live stream %s: simulcast target %s deleted", req->params[0], req->params[1]);
  sc_api_reply_no_content (req);
}

void
sc_api_simulcast_register (ScApi *api)
{
  const ScRouteFlags j = SC_ROUTE_BASIC_AUTH | SC_ROUTE_JSON_BODY;
  sc_api_add_route (api, "POST", BASE "/*/simulcast-targets", j, add, NULL);
  sc_api_add_route (api, "GET", BASE "/*/simulcast-targets/*", j, get, NULL);
  sc_api_add_route (api, "DELETE", BASE "/*/simulcast-targets/*", j, delete, NULL);
}
