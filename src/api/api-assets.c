/* /video/v1/assets: recordings of live streams.  The recorder fills them in;
 * here they are listed, read and deleted (with their media). */
#include "api-list.h"
#include "spacecast/core.h"
#include "spacecast/events.h"
#include "spacecast/model.h"

#define BASE "/video/v1/assets"

JsonNode *
sc_api_render_plain (ScRequest *req, JsonObject *doc)
{
  return sc_model_render (doc);
}

void
sc_api_reply_list (ScRequest *req, ScKind kind, const char *const *filters,
                   JsonNode *(*render_fn) (ScRequest *req, JsonObject *doc))
{
  g_autoptr (GError) error = NULL;
  guint limit, offset;
  if (!sc_model_parse_pagination (sc_request_query (req, "limit"), sc_request_query (req, "page"),
                                  &limit, &offset, &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  g_autoptr (GPtrArray) items = sc_store_list (sc_api_get_store (req->api), kind, filters,
                                               limit, offset, &error);
  if (!items) {
    sc_api_reply_error (req, error);
    return;
  }
  JsonArray *arr = json_array_new ();
  for (guint i = 0; i < items->len; i++)
    json_array_add_element (arr, render_fn (req, items->pdata[i]));
  sc_api_reply_array (req, arr);
}

static void
list (ScRequest *req)
{
  const char *ls = sc_request_query (req, "live_stream_id");
  const char *filters[] = { "live_stream_id", ls, NULL };
  sc_api_reply_list (req, SC_KIND_ASSET, ls ? filters : NULL, sc_api_render_plain);
}

static void
get (ScRequest *req)
{
  g_autoptr (JsonObject) doc = sc_api_load (req, SC_KIND_ASSET, req->params[0]);
  if (doc)
    sc_api_reply_data (req, 200, sc_model_render (doc));
}

static void
delete (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = sc_api_load (req, SC_KIND_ASSET, req->params[0]);
  if (!doc)
    return;
  if (json_object_get_boolean_member_with_default (doc, "is_live", FALSE)) {
    sc_api_reply_error_code (req, SC_ERROR_CONFLICT,
                             "asset %s is still being recorded: complete or disable its live stream first",
                             req->params[0]);
    return;
  }
  if (!sc_events_delete (sc_api_get_store (req->api), SC_KIND_ASSET, req->params[0], doc,
                         "video.asset.deleted", &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  /* Its files go after the rows, removed by their owner (the ingest) on
   * this event: a crash in between leaves orphan files, never a stored
   * asset without its media. */
  g_message ("asset %s deleted", req->params[0]);
  sc_api_reply_no_content (req);
}

void
sc_api_assets_register (ScApi *api)
{
  const ScRouteFlags j = SC_ROUTE_BASIC_AUTH | SC_ROUTE_JSON_BODY;
  sc_api_add_route (api, "GET", BASE, j, list, NULL);
  sc_api_add_route (api, "GET", BASE "/*", j, get, NULL);
  sc_api_add_route (api, "DELETE", BASE "/*", j, delete, NULL);
}
