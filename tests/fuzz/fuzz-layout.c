/* Broadcast layout options as the API takes them ({"layout": ...,
 * "layout_options": {...}}), and the geometry computed from whatever they
 * accept, for a few participants.  The first two bytes pick the output
 * size and the participants; the rest is the JSON. */
#include "fuzz-common.h"
#include "spacecast/layout.h"

static const int sizes[][2] = {
  { 1920, 1080 }, { 1280, 720 }, { 720, 1280 }, { 2, 2 }, { 7680, 7680 }, { 640, 480 },
};

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  sc_fuzz_init_logging ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  g_autofree char *text = sc_fuzz_text (data + 2, size - 2);
  if (text == NULL)
    return 0;
  sc_layout_parse_color (text, &(guint32) { 0 });

  g_autoptr (JsonNode) root = json_from_string (text, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return 0;
  JsonObject *req = json_node_get_object (root);
  JsonNode *layout = json_object_get_member (req, "layout");
  JsonNode *options = json_object_get_member (req, "layout_options");
  const char *kind = layout && JSON_NODE_HOLDS_VALUE (layout) &&
                     json_node_get_value_type (layout) == G_TYPE_STRING
                         ? json_node_get_string (layout) : NULL;
  JsonObject *opts_obj = options && JSON_NODE_HOLDS_OBJECT (options)
                             ? json_node_get_object (options) : NULL;
  const int *wh = sizes[data[0] % G_N_ELEMENTS (sizes)];

  ScLayoutOptions opts;
  g_autoptr (GError) error = NULL;
  if (!sc_layout_options_init_from_json (&opts, kind, opts_obj, wh[0], wh[1], &error)) {
    g_assert_nonnull (error);
    sc_layout_options_clear (&opts);
    return 0;
  }

  /* Ids that the options may name ("a".."h"), then more than a gallery
   * shows, some without video. */
  static const char *const ids[] = {
    "a", "b", "c", "d", "e", "f", "g", "h", "p8", "p9", "p10", "p11", "p12", "p13", "p14",
    "p15", "p16", "p17", "p18", "p19", "p20", "p21", "p22", "p23", "p24", "p25", "p26", "p27",
  };
  ScLayoutParticipant ps[G_N_ELEMENTS (ids)];
  guint n = data[1] % (G_N_ELEMENTS (ps) + 1);
  for (guint i = 0; i < n; i++) {
    ps[i] = (ScLayoutParticipant) {
      .id = ids[i],
      .has_video = (data[1] >> (i % 8)) & 1,
      .is_screen_share = i == 2 && (data[0] & 0x80),
      .audio_level = (i % 3) / 2.0,
      .join_order = n - i,
    };
  }
  g_autoptr (GArray) tiles = sc_layout_compute (&opts, ps, n, n > 1 ? ps[1].id : NULL);
  for (guint i = 0; tiles && i < tiles->len; i++) {
    const ScTile *t = &g_array_index (tiles, ScTile, i);
    /* What the compositor is given must lie inside the frame. */
    g_assert_cmpint (t->rect.width, >=, 0);
    g_assert_cmpint (t->rect.height, >=, 0);
    g_assert_cmpint (t->rect.x, >=, 0);
    g_assert_cmpint (t->rect.y, >=, 0);
    g_assert_cmpint (t->rect.x + t->rect.width, <=, wh[0]);
    g_assert_cmpint (t->rect.y + t->rect.height, <=, wh[1]);
  }
  sc_layout_options_clear (&opts);
  return 0;
}
