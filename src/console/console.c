/* The console's static files.  Names are looked up in the compiled-in
 * resource only, so a request can reach nothing but those files: a path
 * segment never holds '/', and names outside the table answer 404. */
#include "spacecast/console.h"

#include <gio/gio.h>
#include <string.h>

#include "console-resources.h"

#define PREFIX "/org/spacecast/console/"

static const struct {
  const char *suffix;
  const char *type;
} types[] = {
  { ".html", "text/html; charset=utf-8" },
  { ".css", "text/css; charset=utf-8" },
  { ".js", "text/javascript; charset=utf-8" },
};

static const char *
content_type (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (g_str_has_suffix (name, types[i].suffix))
      return types[i].type;
  return NULL;
}

static void
serve (ScRequest *req, const char *name)
{
  const char *type = content_type (name);
  g_autofree char *path = g_strconcat (PREFIX, name, NULL);
  g_autoptr (GBytes) bytes = NULL;

  /* A dot file or anything without a known type is not one of ours. */
  if (type && name[0] != '.')
    bytes = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (!bytes) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "The console has no file named %s", name);
    return;
  }
  SoupMessageHeaders *h = soup_server_message_get_response_headers (req->msg);
  /* The files change with the binary: revalidation is cheap, staleness
   * after an upgrade is not. */
  soup_message_headers_replace (h, "Cache-Control", "no-cache");
  soup_message_headers_replace (h, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (h, "Content-Security-Policy",
                                "default-src 'self'; media-src 'self' blob:; img-src 'self' data:");
  soup_server_message_set_status (req->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (req->msg, type, SOUP_MEMORY_COPY,
                                    g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static void
index_get (ScRequest *req)
{
  serve (req, "index.html");
}

/* What the page cannot learn from the API: where encoders push to. */
static void
ingest_get (ScRequest *req)
{
  ScConfig *config = sc_api_get_config (req->api);
  g_autoptr (JsonObject) o = json_object_new ();
  json_object_set_int_member (o, "rtmp_port", config->rtmp_port);
  json_object_set_int_member (o, "rtmps_port", config->rtmps_port);
  json_object_set_int_member (o, "srt_port", config->srt_port);   /* 0: no SRT */
  sc_api_reply_data (req, SOUP_STATUS_OK, json_node_init_object (json_node_alloc (), o));
}

static void
file_get (ScRequest *req)
{
  serve (req, req->params[0]);
}

void
sc_console_add_routes (ScApi *api)
{
  g_resources_register (sc_console_get_resource ());
  sc_api_add_route (api, "GET", "/console", 0, index_get, NULL);
  sc_api_add_route (api, "GET", "/console/ingest.json", SC_ROUTE_BASIC_AUTH, ingest_get, NULL);
  sc_api_add_route (api, "GET", "/console/*", 0, file_get, NULL);
}
