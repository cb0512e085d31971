/* Signing keys under /system/v1/signing-keys and the legacy
 * /video/v1/signing-keys.  Only the public half is stored; the private key
 * is returned once, at creation, as base64 of its PEM (as Mux does). */
#include "spacecast/api.h"
#include "spacecast/core.h"
#include "spacecast/jwt.h"
#include "spacecast/model.h"

static JsonNode *
render (ScSigningKey *key, const char *private_key_b64)
{
  JsonObject *o = json_object_new ();
  g_autofree char *created = g_strdup_printf ("%" G_GINT64_FORMAT, key->created_at);
  json_object_set_string_member (o, "id", key->id);
  json_object_set_string_member (o, "created_at", created);
  if (private_key_b64)
    json_object_set_string_member (o, "private_key", private_key_b64);
  JsonNode *n = json_node_init_object (json_node_alloc (), o);
  json_object_unref (o);
  return n;
}

static void
create (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *public_pem = NULL, *private_b64 = NULL;
  ScSigningKey key = { .created_at = sc_core_now_unix () };
  g_autofree char *id = sc_core_new_id ();

  if (json_object_get_size (req->body) > 0) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID, "creating a signing key takes no parameters");
    return;
  }
  key.id = id;
  if (!sc_jwt_generate_keypair (&public_pem, &private_b64, &error) ||
      !sc_store_put_signing_key (sc_api_get_store (req->api), id, key.created_at, public_pem,
                                 &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  g_message ("signing key %s created", id);
  sc_api_reply_data (req, 201, render (&key, private_b64));
}

static void
list (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  guint limit, offset;
  g_autoptr (GPtrArray) keys = NULL;

  if (!sc_model_parse_pagination (sc_request_query (req, "limit"), sc_request_query (req, "page"),
                                  &limit, &offset, &error) ||
      !(keys = sc_store_list_signing_keys (sc_api_get_store (req->api), limit, offset, &error))) {
    sc_api_reply_error (req, error);
    return;
  }
  JsonArray *arr = json_array_new ();
  for (guint i = 0; i < keys->len; i++)
    json_array_add_element (arr, render (keys->pdata[i], NULL));
  sc_api_reply_array (req, arr);
}

static void
get (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScSigningKey) key = sc_store_get_signing_key (sc_api_get_store (req->api),
                                                           req->params[0], &error);
  if (key && key->deleted) {
    g_clear_pointer (&key, sc_signing_key_free);
    g_set_error (&error, SC_ERROR, SC_ERROR_NOT_FOUND, "signing key %s not found", req->params[0]);
  }
  if (!key) {
    sc_api_reply_error (req, error);
    return;
  }
  sc_api_reply_data (req, 200, render (key, NULL));
}

static void
delete (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  if (!sc_store_delete_signing_key (sc_api_get_store (req->api), req->params[0], &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  g_message ("signing key %s deleted", req->params[0]);
  sc_api_reply_no_content (req);
}

void
sc_api_signing_keys_register (ScApi *api)
{
  static const char *const bases[] = { "/system/v1/signing-keys", "/video/v1/signing-keys" };
  const ScRouteFlags j = SC_ROUTE_BASIC_AUTH | SC_ROUTE_JSON_BODY;
  for (guint i = 0; i < G_N_ELEMENTS (bases); i++) {
    g_autofree char *one = g_strconcat (bases[i], "/*", NULL);
    sc_api_add_route (api, "POST", bases[i], j, create, NULL);
    sc_api_add_route (api, "GET", bases[i], j, list, NULL);
    sc_api_add_route (api, "GET", one, j, get, NULL);
    sc_api_add_route (api, "DELETE", one, j, delete, NULL);
  }
}
