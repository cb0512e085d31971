#include "spacecast/model.h"
#include "spacecast/core.h"

#include <math.h>
#include <string.h>

gboolean
sc_model_parse_pagination (const char *limit, const char *page,
                           guint *out_limit, guint *out_offset, GError **error)
{
  guint64 l = SC_MODEL_DEFAULT_LIMIT, p = 1;

  if (limit && !g_ascii_string_to_unsigned (limit, 10, 1, SC_MODEL_MAX_LIMIT, &l, NULL)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "limit must be an integer between 1 and %d, got \"%s\"", SC_MODEL_MAX_LIMIT, limit);
    return FALSE;
  }
  if (page && !g_ascii_string_to_unsigned (page, 10, 1, 1000000, &p, NULL)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "page must be an integer of at least 1, got \"%s\"", page);
    return FALSE;
  }
  *out_limit = (guint) l;
  *out_offset = (guint) ((p - 1) * l);
  return TRUE;
}

gboolean
sc_model_check_fields (JsonObject *req, const char *const *allowed, const char *what,
                       GError **error)
{
  g_autoptr (GList) members = json_object_get_members (req);
  for (GList *l = members; l; l = l->next) {
    if (!g_strv_contains (allowed, l->data)) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "%s is not a field %s accepts",
                   (const char *) l->data, what);
      return FALSE;
    }
  }
  return TRUE;
}

static JsonNode *
member (JsonObject *req, const char *field)
{
  JsonNode *n = json_object_get_member (req, field);
  return n && !JSON_NODE_HOLDS_NULL (n) ? n : NULL;
}

gboolean
sc_model_take_string (JsonObject *req, const char *field, gsize max_len, char **out,
                      GError **error)
{
  JsonNode *n = member (req, field);
  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "%s must be a string", field);
    return FALSE;
  }
  const char *s = json_node_get_string (n);
  if (strlen (s) > max_len) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "%s must be at most %" G_GSIZE_FORMAT
                 " characters", field, max_len);
    return FALSE;
  }
  g_free (*out);
  *out = g_strdup (s);
  return TRUE;
}

gboolean
sc_model_take_bool (JsonObject *req, const char *field, gboolean *out, gboolean *present,
                    GError **error)
{
  JsonNode *n = member (req, field);
  if (present)
    *present = n != NULL;
  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "%s must be true or false", field);
    return FALSE;
  }
  *out = json_node_get_boolean (n);
  return TRUE;
}

gboolean
sc_model_take_number (JsonObject *req, const char *field, double min, double max,
                      double *out, gboolean *present, GError **error)
{
  JsonNode *n = member (req, field);
  if (present)
    *present = n != NULL;
  if (!n)
    return TRUE;
  GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
  if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "%s must be a number", field);
    return FALSE;
  }
  double v = t == G_TYPE_INT64 ? (double) json_node_get_int (n) : json_node_get_double (n);
  if (!isfinite (v) || v < min || v > max) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "%s must be between %g and %g, got %g",
                 field, min, max, v);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

void
sc_model_set_number (JsonObject *o, const char *field, double v)
{
  /* Whole numbers as JSON integers, as Mux sends them ("60", not "60.0"). */
  if (v == floor (v) && fabs (v) < 9e15)
    json_object_set_int_member (o, field, (gint64) v);
  else
    json_object_set_double_member (o, field, v);
}

JsonNode *
sc_model_render (JsonObject *doc)
{
  JsonObject *out = json_object_new ();
  g_autoptr (GList) members = json_object_get_members (doc);
  for (GList *l = members; l; l = l->next) {
    const char *name = l->data;
    if (name[0] == '_')
      continue;
    json_object_set_member (out, name, json_node_copy (json_object_get_member (doc, name)));
  }
  JsonNode *node = json_node_init_object (json_node_alloc (), out);
  json_object_unref (out);
  return node;
}
