/* Spaces and their broadcasts (mux-api.md §2.2, §2.3, plus what Mux lacked:
 * more layouts, layout options, PATCH while running). */
#include "spacecast/model.h"
#include "spacecast/core.h"

static const char *const layouts[] = { "gallery", "active-speaker", "crop", "spotlight",
                                       "pip", "single", "custom", NULL };
static const char *const resolutions[] = { "1920x1080", "1280x720", "1080x1920", "720x1280",
                                           "1080x1080", "720x720", NULL };

JsonObject *
sc_model_space_new (JsonObject *req, gint64 now, GError **error)
{
  static const char *const allowed[] = { "type", "passthrough", "broadcasts", NULL };
  g_autofree char *type = NULL, *passthrough = NULL;

  if (!sc_model_check_fields (req, allowed, "a space", error) ||
      !sc_model_take_string (req, "type", 32, &type, error) ||
      !sc_model_take_string (req, "passthrough", 255, &passthrough, error))
    return NULL;
  if (type && !g_str_equal (type, "server")) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "type must be \"server\" (the only space type), got \"%s\"", type);
    return NULL;
  }
  JsonNode *b = json_object_get_member (req, "broadcasts");
  if (b && !JSON_NODE_HOLDS_NULL (b) && !JSON_NODE_HOLDS_ARRAY (b)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "broadcasts must be an array");
    return NULL;
  }

  JsonObject *doc = json_object_new ();
  g_autofree char *id = sc_core_new_id ();
  g_autofree char *created = g_strdup_printf ("%" G_GINT64_FORMAT, now);
  json_object_set_string_member (doc, "id", id);
  json_object_set_string_member (doc, "created_at", created);
  json_object_set_string_member (doc, "type", "server");
  json_object_set_string_member (doc, "status", "idle");
  if (passthrough)
    json_object_set_string_member (doc, "passthrough", passthrough);
  return doc;
}

static gboolean
take_layout (JsonObject *req, JsonObject *doc, GError **error)
{
  g_autofree char *layout = NULL;
  if (!sc_model_take_string (req, "layout", 32, &layout, error))
    return FALSE;
  if (layout && !g_strv_contains (layouts, layout)) {
    g_autofree char *names = g_strjoinv (", ", (char **) layouts);
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "layout must be one of %s; got \"%s\"",
                 names, layout);
    return FALSE;
  }
  if (layout)
    json_object_set_string_member (doc, "layout", layout);
  JsonNode *opts = json_object_get_member (req, "layout_options");
  if (opts && !JSON_NODE_HOLDS_NULL (opts)) {
    if (!JSON_NODE_HOLDS_OBJECT (opts)) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "layout_options must be an object");
      return FALSE;
    }
    json_object_set_member (doc, "layout_options", json_node_copy (opts));
  }
  double t;
  gboolean present;
  if (!sc_model_take_number (req, "transition_ms", 0, 5000, &t, &present, error))
    return FALSE;
  if (present)
    json_object_set_int_member (doc, "transition_ms", (gint64) t);
  return TRUE;
}

JsonObject *
sc_model_broadcast_new (JsonObject *req, const char *space_id, GError **error)
{
  static const char *const allowed[] = { "live_stream_id", "layout", "layout_options",
                                         "resolution", "background", "passthrough",
                                         "transition_ms", "encoder", NULL };
  g_autofree char *ls = NULL, *resolution = NULL, *background = NULL, *passthrough = NULL;
  g_autofree char *encoder = NULL;

  if (!sc_model_check_fields (req, allowed, "a broadcast", error) ||
      !sc_model_take_string (req, "live_stream_id", 255, &ls, error) ||
      !sc_model_take_string (req, "resolution", 16, &resolution, error) ||
      !sc_model_take_string (req, "background", 2048, &background, error) ||
      !sc_model_take_string (req, "passthrough", 255, &passthrough, error) ||
      !sc_model_take_string (req, "encoder", 64, &encoder, error))
    return NULL;
  if (!ls || !*ls) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "live_stream_id is required");
    return NULL;
  }
  if (resolution && !g_strv_contains (resolutions, resolution)) {
    g_autofree char *names = g_strjoinv (", ", (char **) resolutions);
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "resolution must be one of %s; got \"%s\"",
                 names, resolution);
    return NULL;
  }

  g_autoptr (JsonObject) doc = json_object_new ();
  g_autofree char *id = sc_core_new_id ();
  json_object_set_string_member (doc, "id", id);
  json_object_set_string_member (doc, "_space_id", space_id);
  json_object_set_string_member (doc, "live_stream_id", ls);
  json_object_set_string_member (doc, "status", "idle");
  json_object_set_string_member (doc, "layout", "gallery");
  json_object_set_string_member (doc, "resolution", resolution ? resolution : "1920x1080");
  if (background)
    json_object_set_string_member (doc, "background", background);
  if (passthrough)
    json_object_set_string_member (doc, "passthrough", passthrough);
  if (encoder)
    json_object_set_string_member (doc, "_encoder_request", encoder);
  if (!take_layout (req, doc, error))
    return NULL;
  return g_steal_pointer (&doc);
}

gboolean
sc_model_broadcast_patch (JsonObject *doc, JsonObject *req, GError **error)
{
  static const char *const allowed[] = { "layout", "layout_options", "transition_ms",
                                         "passthrough", NULL };
  g_autoptr (JsonObject) changes = json_object_new ();
  g_autofree char *passthrough = NULL;

  if (!sc_model_check_fields (req, allowed, "a broadcast update", error) ||
      !sc_model_take_string (req, "passthrough", 255, &passthrough, error) ||
      !take_layout (req, changes, error))
    return FALSE;
  if (passthrough)
    json_object_set_string_member (changes, "passthrough", passthrough);
  g_autoptr (GList) members = json_object_get_members (changes);
  for (GList *l = members; l; l = l->next)
    json_object_set_member (doc, l->data, json_node_copy (json_object_get_member (changes, l->data)));
  return TRUE;
}
