/* /video/v1/spaces and their broadcasts as resources.  Whether a space is
 * active is decided by its participants (the space module); starting and
 * stopping broadcasts belongs to the broadcast module, which adds its own
 * routes. */
#include "api-list.h"
#include "spacecast/core.h"
#include "spacecast/events.h"
#include "spacecast/model.h"

#define BASE "/video/v1/spaces"

static JsonNode *
render_space (ScRequest *req, JsonObject *space)
{
  JsonNode *node = sc_model_render (space);
  const char *filters[] = { "_space_id", json_object_get_string_member (space, "id"), NULL };
  g_autoptr (GPtrArray) bs = sc_store_list (sc_api_get_store (req->api), SC_KIND_BROADCAST,
                                            filters, 1000, 0, NULL);
  JsonArray *arr = json_array_new ();
  /* Oldest first: the order they were added in. */
  for (guint i = bs ? bs->len : 0; i > 0; i--)
    json_array_add_element (arr, sc_api_render (req->api, SC_KIND_BROADCAST, bs->pdata[i - 1]));
  json_object_set_array_member (json_node_get_object (node), "broadcasts", arr);
  return node;
}

/* A broadcast may only target a live stream that exists. */
static JsonObject *
new_broadcast (ScRequest *req, JsonObject *request, const char *space_id, GError **error)
{
  g_autoptr (JsonObject) b = sc_model_broadcast_new (request, space_id, error);
  if (!b)
    return NULL;
  const char *ls = json_object_get_string_member (b, "live_stream_id");
  g_autoptr (JsonObject) stream = sc_store_get (sc_api_get_store (req->api),
                                                SC_KIND_LIVE_STREAM, ls, NULL);
  if (!stream) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "live_stream_id %s does not name an existing live stream", ls);
    return NULL;
  }
  return g_steal_pointer (&b);
}

static void
create (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  ScStore *store = sc_api_get_store (req->api);
  g_autoptr (JsonObject) space = sc_model_space_new (req->body, sc_core_now_unix (), &error);
  g_autoptr (GPtrArray) broadcasts = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  if (!space)
    goto fail;
  const char *id = json_object_get_string_member (space, "id");

  JsonArray *reqs = json_object_has_member (req->body, "broadcasts") &&
                    JSON_NODE_HOLDS_ARRAY (json_object_get_member (req->body, "broadcasts"))
      ? json_object_get_array_member (req->body, "broadcasts") : NULL;
  for (guint i = 0; reqs && i < json_array_get_length (reqs); i++) {
    JsonNode *n = json_array_get_element (reqs, i);
    JsonObject *b = JSON_NODE_HOLDS_OBJECT (n)
        ? new_broadcast (req, json_node_get_object (n), id, &error) : NULL;
    if (!b) {
      if (!error)
        g_set_error (&error, SC_ERROR, SC_ERROR_INVALID, "broadcasts[%u] must be an object", i);
      else
        g_prefix_error (&error, "broadcasts[%u]: ", i);
      goto fail;
    }
    g_ptr_array_add (broadcasts, b);
  }

  if (!sc_store_begin (store, &error))
    goto fail;
  gboolean ok = sc_store_put (store, SC_KIND_SPACE, id, space, &error);
  for (guint i = 0; ok && i < broadcasts->len; i++)
    ok = sc_store_put (store, SC_KIND_BROADCAST,
                       json_object_get_string_member (broadcasts->pdata[i], "id"),
                       broadcasts->pdata[i], &error);
  ok = ok && sc_events_publish (store, "video.space.created", id, space, &error);
  if (!ok) {
    sc_store_rollback (store);
    goto fail;
  }
  if (!sc_store_commit (store, &error))
    goto fail;
  g_message ("space %s created", id);
  sc_api_reply_data (req, 201, render_space (req, space));
  return;
fail:
  sc_api_reply_error (req, error);
}

static void
list (ScRequest *req)
{
  sc_api_reply_list (req, SC_KIND_SPACE, NULL, render_space);
}

static void
get (ScRequest *req)
{
  g_autoptr (JsonObject) space = sc_api_load (req, SC_KIND_SPACE, req->params[0]);
  if (space)
    sc_api_reply_data (req, 200, render_space (req, space));
}

static void
delete (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  ScStore *store = sc_api_get_store (req->api);
  g_autoptr (JsonObject) space = sc_api_load (req, SC_KIND_SPACE, req->params[0]);
  if (!space)
    return;
  if (g_str_equal (json_object_get_string_member (space, "status"), "active")) {
    sc_api_reply_error_code (req, SC_ERROR_CONFLICT,
                             "space %s is active: it can be deleted once every participant has left",
                             req->params[0]);
    return;
  }
  const char *filters[] = { "_space_id", req->params[0], NULL };
  g_autoptr (GPtrArray) bs = sc_store_list (store, SC_KIND_BROADCAST, filters, 1000, 0, &error);
  if (!bs || !sc_store_begin (store, &error))
    goto fail;
  gboolean ok = sc_store_delete (store, SC_KIND_SPACE, req->params[0], &error);
  for (guint i = 0; ok && i < bs->len; i++)
    ok = sc_store_delete (store, SC_KIND_BROADCAST,
                          json_object_get_string_member (bs->pdata[i], "id"), &error);
  ok = ok && sc_events_publish (store, "video.space.deleted", req->params[0], space, &error);
  if (!ok) {
    sc_store_rollback (store);
    goto fail;
  }
  if (!sc_store_commit (store, &error))
    goto fail;
  g_message ("space %s deleted", req->params[0]);
  sc_api_reply_no_content (req);
  return;
fail:
  sc_api_reply_error (req, error);
}

JsonObject *
sc_api_load_broadcast (ScRequest *req)
{
  g_autoptr (JsonObject) space = sc_api_load (req, SC_KIND_SPACE, req->params[0]);
  if (!space)
    return NULL;
  g_autoptr (JsonObject) b = sc_api_load (req, SC_KIND_BROADCAST, req->params[1]);
  if (b && !g_str_equal (json_object_get_string_member (b, "_space_id"), req->params[0])) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "broadcast %s not found in space %s",
                             req->params[1], req->params[0]);
    return NULL;
  }
  return g_steal_pointer (&b);
}

static void
broadcast_create (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) space = sc_api_load (req, SC_KIND_SPACE, req->params[0]);
  if (!space)
    return;
  g_autoptr (JsonObject) b = new_broadcast (req, req->body, req->params[0], &error);
  if (!b || !sc_events_put (sc_api_get_store (req->api), SC_KIND_BROADCAST,
                            json_object_get_string_member (b, "id"), b,
                            "video.space.broadcast.created", &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  sc_api_reply_data (req, 201, sc_api_render (req->api, SC_KIND_BROADCAST, b));
}

static void
broadcast_get (ScRequest *req)
{
  g_autoptr (JsonObject) b = sc_api_load_broadcast (req);
  if (b)
    sc_api_reply_data (req, 200, sc_api_render (req->api, SC_KIND_BROADCAST, b));
}

static void
broadcast_delete (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) b = sc_api_load_broadcast (req);
  if (!b)
    return;
  if (!g_str_equal (json_object_get_string_member (b, "status"), "idle")) {
    sc_api_reply_error_code (req, SC_ERROR_CONFLICT,
                             "broadcast %s is active: stop it before deleting it", req->params[1]);
    return;
  }
  if (!sc_events_delete (sc_api_get_store (req->api), SC_KIND_BROADCAST, req->params[1], b,
                         "video.space.broadcast.deleted", &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  sc_api_reply_no_content (req);
}

void
sc_api_spaces_register (ScApi *api)
{
  const ScRouteFlags j = SC_ROUTE_BASIC_AUTH | SC_ROUTE_JSON_BODY;
  sc_api_add_route (api, "POST", BASE, j, create, NULL);
  sc_api_add_route (api, "GET", BASE, j, list, NULL);
  sc_api_add_route (api, "GET", BASE "/*", j, get, NULL);
  sc_api_add_route (api, "DELETE", BASE "/*", j, delete, NULL);
  sc_api_add_route (api, "POST", BASE "/*/broadcasts", j, broadcast_create, NULL);
  sc_api_add_route (api, "GET", BASE "/*/broadcasts/*", j, broadcast_get, NULL);
  sc_api_add_route (api, "DELETE", BASE "/*/broadcasts/*", j, broadcast_delete, NULL);
}
