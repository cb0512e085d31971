/* /video/v1/live-streams: the resource and its persisted state.  What a
 * change means for a connected encoder is the ingest's job: it hears of
 * each one through the event committed with it (enabled, disabled,
 * updated, deleted).  complete changes nothing stored, so that route is
 * the ingest's own. */
#include "api-list.h"
#include "spacecast/core.h"
#include "spacecast/events.h"
#include "spacecast/model.h"

#define BASE "/video/v1/live-streams"

static void
create (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  ScStore *store = sc_api_get_store (req->api);
  g_autoptr (JsonObject) doc = sc_model_live_stream_new (req->body, sc_core_now_unix (), &error);
  if (!doc || !sc_store_begin (store, &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  const char *id = json_object_get_string_member (doc, "id");
  if (!sc_store_put_with_playback_ids (store, SC_KIND_LIVE_STREAM, doc, &error) ||
      !sc_events_publish (store, "video.live_stream.created", id, doc, &error)) {
    sc_store_rollback (store);
    sc_api_reply_error (req, error);
    return;
  }
  if (!sc_store_commit (store, &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  g_message ("live stream %s created", id);
  sc_api_reply_data (req, 201, sc_model_render (doc));
}

static void
list (ScRequest *req)
{
  const char *filters[5] = { NULL };
  guint n = 0;
  const char *key = sc_request_query (req, "stream_key");
  const char *status = sc_request_query (req, "status");

  if (status && !sc_model_live_stream_status_valid (status)) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID,
                             "status must be one of idle, active, disabled; got \"%s\"", status);
    return;
  }
  if (key) {
    filters[n++] = "stream_key";
    filters[n++] = key;
  }
  if (status) {
    filters[n++] = "status";
    filters[n++] = status;
  }
  sc_api_reply_list (req, SC_KIND_LIVE_STREAM, filters, sc_api_render_plain);
}

static void
get (ScRequest *req)
{
  g_autoptr (JsonObject) doc = sc_api_load (req, SC_KIND_LIVE_STREAM, req->params[0]);
  if (doc)
    sc_api_reply_data (req, 200, sc_model_render (doc));
}

static void
update (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = sc_api_load (req, SC_KIND_LIVE_STREAM, req->params[0]);
  if (!doc)
    return;
  if (!sc_model_live_stream_patch (doc, req->body, &error) ||
      !sc_events_put (sc_api_get_store (req->api), SC_KIND_LIVE_STREAM, req->params[0], doc,
                      "video.live_stream.updated", &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  sc_api_reply_data (req, 200, sc_model_render (doc));
}

static void
delete (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = sc_api_load (req, SC_KIND_LIVE_STREAM, req->params[0]);
  if (!doc)
    return;
  if (!sc_events_delete (sc_api_get_store (req->api), SC_KIND_LIVE_STREAM, req->params[0], doc,
                         "video.live_stream.deleted", &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  g_message ("live stream %s deleted", req->params[0]);
  sc_api_reply_no_content (req);
}

typedef enum { ACTION_ENABLE, ACTION_DISABLE, ACTION_RESET_KEY } Action;

/* enable, disable, reset-stream-key: the change and its event in one
 * transaction.  A key reset is announced as Mux does, as
 * video.live_stream.updated. */
static void
action (ScRequest *req)
{
  Action act = GPOINTER_TO_INT (req->user_data);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = sc_api_load (req, SC_KIND_LIVE_STREAM, req->params[0]);
  if (!doc)
    return;
  const char *type = NULL;

  switch (act) {
  case ACTION_ENABLE:
    if (g_str_equal (json_object_get_string_member (doc, "status"), "disabled"))
      json_object_set_string_member (doc, "status", "idle");
    type = "video.live_stream.enabled";
    break;
  case ACTION_DISABLE:
    if (g_str_equal (json_object_get_string_member (doc, "status"), "disabled")) {
      sc_api_reply_empty_data (req, 200);
      return;
    }
    json_object_set_string_member (doc, "status", "disabled");
    type = "video.live_stream.disabled";
    break;
  case ACTION_RESET_KEY: {
    /* Both secrets of the stream: the old SRT passphrase dies with the key. */
    g_autofree char *key = sc_core_new_secret ();
    g_autofree char *passphrase = sc_core_new_secret ();
    json_object_set_string_member (doc, "stream_key", key);
    json_object_set_string_member (doc, "srt_passphrase", passphrase);
    type = "video.live_stream.updated";
    break;
  }
  }
  if (!sc_events_put (sc_api_get_store (req->api), SC_KIND_LIVE_STREAM, req->params[0], doc,
                      type, &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  if (act == ACTION_RESET_KEY)
    sc_api_reply_data (req, 201, sc_model_render (doc));
  else
    sc_api_reply_empty_data (req, 200);
}

/* Playback ids of a live stream: add, get, delete. */
static JsonObject *
find_playback_id (JsonObject *doc, const char *pid, guint *index)
{
  JsonArray *pids = json_object_get_array_member (doc, "playback_ids");
  for (guint i = 0; pids && i < json_array_get_length (pids); i++) {
    JsonObject *p = json_array_get_object_element (pids, i);
    if (g_str_equal (json_object_get_string_member (p, "id"), pid)) {
      if (index)
        *index = i;
      return p;
    }
  }
  return NULL;
}

static void
playback_id_add (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *policy = NULL;
  static const char *const allowed[] = { "policy", NULL };
  g_autoptr (JsonObject) doc = sc_api_load (req, SC_KIND_LIVE_STREAM, req->params[0]);
  if (!doc)
    return;
  if (!sc_model_check_fields (req->body, allowed, "a playback id", &error) ||
      !sc_model_take_string (req->body, "policy", 16, &policy, &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  if (!policy || !(g_str_equal (policy, "public") || g_str_equal (policy, "signed"))) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID, "policy must be \"public\" or \"signed\"");
    return;
  }
  g_autofree char *pid = sc_core_new_id ();
  JsonObject *p = json_object_new ();
  json_object_set_string_member (p, "id", pid);
  json_object_set_string_member (p, "policy", policy);
  json_array_add_object_element (json_object_get_array_member (doc, "playback_ids"), p);
  if (!sc_store_put_with_playback_ids (sc_api_get_store (req->api), SC_KIND_LIVE_STREAM, doc,
                                       &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  sc_api_reply_data (req, 201, json_node_init_object (json_node_alloc (), p));
}

static void
playback_id_get (ScRequest *req)
{
  g_autoptr (JsonObject) doc = sc_api_load (req, SC_KIND_LIVE_STREAM, req->params[0]);
  if (!doc)
    return;
  JsonObject *p = find_playback_id (doc, req->params[1], NULL);
  if (!p) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "playback id %s not found", req->params[1]);
    return;
  }
  sc_api_reply_data (req, 200, json_node_init_object (json_node_alloc (), p));
}

static void
playback_id_delete (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  guint index;
  g_autoptr (JsonObject) doc = sc_api_load (req, SC_KIND_LIVE_STREAM, req->params[0]);
  if (!doc)
    return;
  if (!find_playback_id (doc, req->params[1], &index)) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "playback id %s not found", req->params[1]);
    return;
  }
  json_array_remove_element (json_object_get_array_member (doc, "playback_ids"), index);
  /* The index for this stream is rebuilt from the document: one source of truth. */
  if (!sc_store_put_with_playback_ids (sc_api_get_store (req->api), SC_KIND_LIVE_STREAM, doc,
                                       &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  sc_api_reply_no_content (req);
}

void
sc_api_live_streams_register (ScApi *api)
{
  const ScRouteFlags j = SC_ROUTE_BASIC_AUTH | SC_ROUTE_JSON_BODY;
  sc_api_add_route (api, "POST", BASE, j, create, NULL);
  sc_api_add_route (api, "GET", BASE, j, list, NULL);
  sc_api_add_route (api, "GET", BASE "/*", j, get, NULL);
  sc_api_add_route (api, "PATCH", BASE "/*", j, update, NULL);
  sc_api_add_route (api, "DELETE", BASE "/*", j, delete, NULL);
  sc_api_add_route (api, "PUT", BASE "/*/enable", j, action, GINT_TO_POINTER (ACTION_ENABLE));
  sc_api_add_route (api, "PUT", BASE "/*/disable", j, action, GINT_TO_POINTER (ACTION_DISABLE));
  sc_api_add_route (api, "POST", BASE "/*/reset-stream-key", j, action,
                    GINT_TO_POINTER (ACTION_RESET_KEY));
  sc_api_add_route (api, "POST", BASE "/*/playback-ids", j, playback_id_add, NULL);
  sc_api_add_route (api, "GET", BASE "/*/playback-ids/*", j, playback_id_get, NULL);
  sc_api_add_route (api, "DELETE", BASE "/*/playback-ids/*", j, playback_id_delete, NULL);
}
