/* Layout names and the "layout_options" JSON the broadcast API takes.
 * Parsing is strict: an unknown key or a wrong type is a 400 that names the
 * field, because a typo silently ignored ("gap_px": 20) is a broadcast that
 * looks wrong with nobody told why. */
#include "spacecast/layout.h"
#include "spacecast/core.h"

#include <math.h>
#include <string.h>

static const char *const kind_names[] = {
  [SC_LAYOUT_GALLERY] = "gallery",
  [SC_LAYOUT_ACTIVE_SPEAKER] = "active-speaker",
  [SC_LAYOUT_CROP] = "crop",
  [SC_LAYOUT_SPOTLIGHT] = "spotlight",
  [SC_LAYOUT_PIP] = "pip",
  [SC_LAYOUT_SINGLE] = "single",
  [SC_LAYOUT_CUSTOM] = "custom",
};

#define ALLOWED_LAYOUTS \
  "gallery, active-speaker, crop, spotlight, pip, single, custom"
#define ALLOWED_OPTIONS \
  "gap, fit, labels, order, pinned_participant_id, participant_id, " \
  "background_color, placeholder_color, regions"

const char *
sc_layout_kind_to_string (ScLayoutKind kind)
{
  if ((guint) kind >= G_N_ELEMENTS (kind_names))
    return NULL;
  return kind_names[kind];
}

gboolean
sc_layout_kind_from_string (const char *s, ScLayoutKind *kind)
{
  if (s == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++) {
    if (strcmp (s, kind_names[i]) == 0) {
      if (kind)
        *kind = (ScLayoutKind) i;
      return TRUE;
    }
  }
  return FALSE;
}

gboolean
sc_layout_parse_color (const char *s, guint32 *argb)
{
  guint32 v = 0;

  if (s == NULL || strlen (s) != 7 || s[0] != '#')
    return FALSE;
  for (int i = 1; i < 7; i++) {
    int d = g_ascii_xdigit_value (s[i]);
    if (d < 0)
      return FALSE;
    v = (v << 4) | (guint32) d;
  }
  if (argb)
    *argb = 0xFF000000u | v;
  return TRUE;
}

static int
even_round (double v)
{
  return 2 * (int) lround (v / 2.0);
}

/* The largest gap, explicit or default, that leaves room for tiles. */
static int
max_gap (int width, int height)
{
  return (MIN (width, height) / 8) & ~1;
}

static void
region_clear (gpointer data)
{
  ScLayoutRegion *r = data;
  g_clear_pointer (&r->participant_id, g_free);
}

void
sc_layout_options_init (ScLayoutOptions *opts, ScLayoutKind kind,
                        int width, int height)
{
  int short_side = MIN (width, height);

  memset (opts, 0, sizeof *opts);
  opts->kind = kind;
  opts->width = width;
  opts->height = height;
  /* 8 px at 1080p, scaled and kept even (6 at 720p, 4 at 480p); crop is
   * about using every pixel, so it has none unless asked for.  Never more
   * than an explicit gap may be: a 2 px gap leaves no room in a 2x2 frame. */
  opts->gap = kind == SC_LAYOUT_CROP ? 0
      : MIN (max_gap (width, height),
             MAX (2, even_round (SC_LAYOUT_DEFAULT_GAP_1080 * short_side / 1080.0)));
  opts->fit = kind == SC_LAYOUT_CROP ? SC_FIT_COVER : SC_FIT_CONTAIN;
  opts->labels = FALSE;
  opts->background_argb = SC_LAYOUT_DEFAULT_BACKGROUND;
  opts->placeholder_argb = SC_LAYOUT_DEFAULT_PLACEHOLDER;
}

void
sc_layout_options_clear (ScLayoutOptions *opts)
{
  if (opts == NULL)
    return;
  g_clear_pointer (&opts->order, g_strfreev);
  g_clear_pointer (&opts->pinned_id, g_free);
  g_clear_pointer (&opts->regions, g_array_unref);
}

static gboolean
invalid (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID, msg);
  return FALSE;
}

static gboolean
node_is (JsonNode *node, GType type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static gboolean
node_is_number (JsonNode *node)
{
  return node_is (node, G_TYPE_INT64) || node_is (node, G_TYPE_DOUBLE);
}

static gboolean
parse_id (JsonNode *node, const char *field, char **out, GError **error)
{
  const char *s;

  if (JSON_NODE_HOLDS_NULL (node)) {
    g_clear_pointer (out, g_free);
    return TRUE;
  }
  if (!node_is (node, G_TYPE_STRING) || *(s = json_node_get_string (node)) == '\0'
      || strlen (s) > 255)
    return invalid (error, "layout_options.%s must be a participant id "
                    "(a non-empty string of at most 255 characters)", field);
  g_free (*out);
  *out = g_strdup (s);
  return TRUE;
}

static gboolean
parse_order (JsonNode *node, ScLayoutOptions *opts, GError **error)
{
  JsonArray *arr;
  GPtrArray *ids;
  guint n;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return invalid (error, "layout_options.order must be an array of participant ids");
  arr = json_node_get_array (node);
  n = json_array_get_length (arr);
  if (n > 256)
    return invalid (error, "layout_options.order must have at most 256 entries");
  ids = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n; i++) {
    JsonNode *e = json_array_get_element (arr, i);
    if (!node_is (e, G_TYPE_STRING) || *json_node_get_string (e) == '\0') {
      g_ptr_array_unref (ids);
      return invalid (error, "layout_options.order[%u] must be a non-empty string", i);
    }
    g_ptr_array_add (ids, g_strdup (json_node_get_string (e)));
  }
  g_ptr_array_add (ids, NULL);
  g_strfreev (opts->order);
  opts->order = (char **) g_ptr_array_free (ids, FALSE);
  return TRUE;
}

static gboolean
parse_region (JsonNode *node, guint idx, ScLayoutRegion *r, int width, int height,
              GError **error)
{
  static const char *const nums[] = { "x", "y", "width", "height" };
  double *vals[] = { &r->x, &r->y, &r->width, &r->height };
  JsonObject *obj;
  g_autoptr (GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, "layout_options.regions[%u] must be an object", idx);
  obj = json_node_get_object (node);
  members = json_object_get_members (obj);
  for (GList *l = members; l; l = l->next) {
    const char *k = l->data;
    if (strcmp (k, "participant_id") != 0 && strcmp (k, "x") != 0
        && strcmp (k, "y") != 0 && strcmp (k, "width") != 0
        && strcmp (k, "height") != 0)
      return invalid (error, "layout_options.regions[%u].%s is not a known field "
                      "(allowed: x, y, width, height, participant_id)", idx, k);
  }
  for (guint i = 0; i < G_N_ELEMENTS (nums); i++) {
    JsonNode *v = json_object_get_member (obj, nums[i]);
    if (v == NULL || !node_is_number (v))
      return invalid (error, "layout_options.regions[%u].%s must be a number "
                      "between 0 and 1", idx, nums[i]);
    *vals[i] = json_node_get_double (v);
    if (!(*vals[i] >= 0.0 && *vals[i] <= 1.0))
      return invalid (error, "layout_options.regions[%u].%s must be a number "
                      "between 0 and 1", idx, nums[i]);
  }
  if (r->x + r->width > 1.0 + 1e-9 || r->y + r->height > 1.0 + 1e-9)
    return invalid (error, "layout_options.regions[%u] must lie inside the frame "
                    "(x + width <= 1 and y + height <= 1)", idx);
  /* A region that rounds to nothing at this resolution is a mistake, not a
   * hidden participant. */
  if (even_round ((r->x + r->width) * width) - even_round (r->x * width) < 2
      || even_round ((r->y + r->height) * height) - even_round (r->y * height) < 2)
    return invalid (error, "layout_options.regions[%u] is too small for %dx%d",
                    idx, width, height);
  if (json_object_has_member (obj, "participant_id")) {
    g_autofree char *field = g_strdup_printf ("regions[%u].participant_id", idx);
    if (!parse_id (json_object_get_member (obj, "participant_id"), field,
                   &r->participant_id, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
parse_regions (JsonNode *node, ScLayoutOptions *opts, GError **error)
{
  JsonArray *arr;
  g_autoptr (GArray) regions = NULL;
  guint n;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return invalid (error, "layout_options.regions must be an array of "
                    "{x, y, width, height, participant_id?} objects");
  arr = json_node_get_array (node);
  n = json_array_get_length (arr);
  if (n == 0 || n > SC_LAYOUT_MAX_REGIONS)
    return invalid (error, "layout_options.regions must have 1 to %d entries",
                    SC_LAYOUT_MAX_REGIONS);
  regions = g_array_sized_new (FALSE, TRUE, sizeof (ScLayoutRegion), n);
  g_array_set_clear_func (regions, region_clear);
  for (guint i = 0; i < n; i++) {
    ScLayoutRegion r = { 0 };
    if (!parse_region (json_array_get_element (arr, i), i, &r, opts->width,
                       opts->height, error)) {
      region_clear (&r);
      return FALSE;
    }
    g_array_append_val (regions, r);
  }
  g_clear_pointer (&opts->regions, g_array_unref);
  opts->regions = g_steal_pointer (&regions);
  return TRUE;
}

static gboolean
parse_member (ScLayoutOptions *opts, const char *key, JsonNode *node,
              char **participant_id, char **pinned_id, GError **error)
{
  if (strcmp (key, "gap") == 0) {
    gint64 max = max_gap (opts->width, opts->height);
    if (!node_is (node, G_TYPE_INT64) || json_node_get_int (node) < 0)
      return invalid (error, "layout_options.gap must be a non-negative integer");
    if (json_node_get_int (node) > max)
      return invalid (error, "layout_options.gap must be at most %" G_GINT64_FORMAT
                      " at %dx%d", max, opts->width, opts->height);
    /* Odd gaps would put tiles on odd pixels and split I420 chroma. */
    opts->gap = (int) ((json_node_get_int (node) + 1) & ~(gint64) 1);
  } else if (strcmp (key, "fit") == 0) {
    const char *s = node_is (node, G_TYPE_STRING) ? json_node_get_string (node) : "";
    if (strcmp (s, "fit") == 0)
      opts->fit = SC_FIT_CONTAIN;
    else if (strcmp (s, "fill") == 0)
      opts->fit = SC_FIT_COVER;
    else
      return invalid (error, "layout_options.fit must be \"fit\" or \"fill\"");
  } else if (strcmp (key, "labels") == 0) {
    if (!node_is (node, G_TYPE_BOOLEAN))
      return invalid (error, "layout_options.labels must be a boolean");
    opts->labels = json_node_get_boolean (node);
  } else if (strcmp (key, "order") == 0) {
    return parse_order (node, opts, error);
  } else if (strcmp (key, "pinned_participant_id") == 0) {
    return parse_id (node, key, pinned_id, error);
  } else if (strcmp (key, "participant_id") == 0) {
    return parse_id (node, key, participant_id, error);
  } else if (strcmp (key, "background_color") == 0
             || strcmp (key, "placeholder_color") == 0) {
    guint32 *dst = key[0] == 'b' ? &opts->background_argb : &opts->placeholder_argb;
    if (!node_is (node, G_TYPE_STRING)
        || !sc_layout_parse_color (json_node_get_string (node), dst))
      return invalid (error, "layout_options.%s must be a colour \"#RRGGBB\"", key);
  } else if (strcmp (key, "regions") == 0) {
    if (opts->kind != SC_LAYOUT_CUSTOM)
      return invalid (error, "layout_options.regions is only valid with layout \"custom\"");
    return parse_regions (node, opts, error);
  } else {
    return invalid (error, "layout_options.%s is not a known option (allowed: "
                    ALLOWED_OPTIONS ")", key);
  }
  return TRUE;
}

gboolean
sc_layout_options_init_from_json (ScLayoutOptions *opts, const char *layout,
                                  JsonObject *layout_options, int width, int height,
                                  GError **error)
{
  ScLayoutKind kind = SC_LAYOUT_GALLERY;
  g_autofree char *participant_id = NULL;
  g_autofree char *pinned_id = NULL;
  g_autoptr (GList) members = NULL;

  g_return_val_if_fail (opts != NULL, FALSE);
  memset (opts, 0, sizeof *opts);

  if (width <= 0 || height <= 0 || width % 2 || height % 2
      || width > 7680 || height > 7680)
    return invalid (error, "resolution must be even and at most 7680x7680, got %dx%d",
                    width, height);
  if (layout != NULL && !sc_layout_kind_from_string (layout, &kind))
    return invalid (error, "layout must be one of " ALLOWED_LAYOUTS);
  sc_layout_options_init (opts, kind, width, height);

  if (layout_options != NULL)
    members = json_object_get_members (layout_options);
  for (GList *l = members; l; l = l->next) {
    const char *key = l->data;
    if (!parse_member (opts, key, json_object_get_member (layout_options, key),
                       &participant_id, &pinned_id, error)) {
      sc_layout_options_clear (opts);
      return FALSE;
    }
  }

  if (participant_id && pinned_id && strcmp (participant_id, pinned_id) != 0) {
    sc_layout_options_clear (opts);
    return invalid (error, "layout_options.participant_id and "
                    "layout_options.pinned_participant_id disagree; give one");
  }
  opts->pinned_id = pinned_id ? g_steal_pointer (&pinned_id)
                              : g_steal_pointer (&participant_id);

  if (kind == SC_LAYOUT_CUSTOM && opts->regions == NULL) {
    sc_layout_options_clear (opts);
    return invalid (error, "layout_options.regions is required with layout \"custom\"");
  }
  return TRUE;
}
