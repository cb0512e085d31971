/* /system/v1/webhooks: a spacecast extension (Mux configures webhooks in
 * its dashboard).  The signing secret is shown once, when it is made. */
#include "events-private.h"
#include "spacecast/core.h"
#include "spacecast/model.h"

gboolean
sc_events_check_url (const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;
  if (!uri || !(g_str_equal (scheme, "http") || g_str_equal (scheme, "https")) ||
      !g_uri_get_host (uri) || !*g_uri_get_host (uri)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "url must be an absolute http or https URL, got \"%s\"", url);
    return FALSE;
  }
  return TRUE;
}

static JsonNode *
render (const ScStoreWebhook *w, gboolean with_secret)
{
  JsonObject *o = json_object_new ();
  g_autofree char *created = g_strdup_printf ("%" G_GINT64_FORMAT, w->created_at);
  json_object_set_string_member (o, "id", w->id);
  json_object_set_string_member (o, "url", w->url);
  json_object_set_string_member (o, "created_at", created);
  json_object_set_string_member (o, "source", w->from_config ? "config" : "api");
  if (with_secret)
    json_object_set_string_member (o, "secret", w->secret);
  JsonNode *n = json_node_init_object (json_node_alloc (), o);
  json_object_unref (o);
  return n;
}

static void
create (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  static const char *const allowed[] = { "url", NULL };

  if (!sc_model_check_fields (req->body, allowed, "a webhook", &error) ||
      !sc_model_take_string (req->body, "url", 2048, &url, &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  if (!url) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID, "url is required");
    return;
  }
  g_autofree char *id = sc_core_new_id ();
  g_autofree char *secret = sc_core_new_secret ();
  ScStoreWebhook w = { .id = id, .url = url, .secret = secret, .created_at = sc_core_now_unix () };
  if (!sc_events_check_url (url, &error) ||
      !sc_store_put_webhook (sc_api_get_store (req->api), &w, &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  g_message ("webhook %s created for %s", id, url);
  sc_api_reply_data (req, 201, render (&w, TRUE));
}

static void
list (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = sc_store_list_webhooks (sc_api_get_store (req->api), &error);
  if (!all) {
    sc_api_reply_error (req, error);
    return;
  }
  JsonArray *arr = json_array_new ();
  for (guint i = 0; i < all->len; i++)
    json_array_add_element (arr, render (all->pdata[i], FALSE));
  sc_api_reply_array (req, arr);
}

static void
get (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScStoreWebhook) w = sc_store_get_webhook (sc_api_get_store (req->api),
                                                       req->params[0], &error);
  if (!w) {
    sc_api_reply_error (req, error);
    return;
  }
  sc_api_reply_data (req, 200, render (w, FALSE));
}

static void
delete (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  ScStore *store = sc_api_get_store (req->api);
  g_autoptr (ScStoreWebhook) w = sc_store_get_webhook (store, req->params[0], &error);
  if (w && w->from_config)
    g_set_error (&error, SC_ERROR, SC_ERROR_CONFLICT,
                 "webhook %s comes from the configuration: remove its webhook-url there",
                 req->params[0]);
  if (error || !sc_store_delete_webhook (store, req->params[0], &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  g_message ("webhook %s deleted", req->params[0]);
  sc_api_reply_no_content (req);
}

void
sc_events_add_routes (ScApi *api)
{
  const ScRouteFlags j = SC_ROUTE_BASIC_AUTH | SC_ROUTE_JSON_BODY;
  sc_api_add_route (api, "POST", "/system/v1/webhooks", j, create, NULL);
  sc_api_add_route (api, "GET", "/system/v1/webhooks", j, list, NULL);
  sc_api_add_route (api, "GET", "/system/v1/webhooks/*", j, get, NULL);
  sc_api_add_route (api, "DELETE", "/system/v1/webhooks/*", j, delete, NULL);
}
