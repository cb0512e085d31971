/* The model's validation of API request bodies: create and patch of live
 * streams, spaces and broadcasts, pagination, and rendering what they
 * accept.  The input is a JSON object as the API would parse it; for
 * pagination, "limit\npage". */
#include "fuzz-common.h"
#include "spacecast/model.h"

#define NOW G_GINT64_CONSTANT (1700000000)

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  sc_fuzz_init_logging ();
  return 0;
}

static void
render (JsonObject *doc)
{
  g_autoptr (JsonNode) node = sc_model_render (doc);
  g_free (json_to_string (node, FALSE));
}

/* Each validator on its own copy: a refused request must change nothing,
 * and an accepted one is rendered. */
static void
each_validator (JsonObject *req)
{
  g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL, e5 = NULL;

  g_autoptr (JsonObject) ls = sc_model_live_stream_new (req, NOW, &e1);
  if (ls != NULL) {
    render (ls);
    if (sc_model_live_stream_patch (ls, req, &e2))
      render (ls);
    g_autoptr (JsonObject) asset = sc_model_asset_new_live (ls, NOW);
    render (asset);
  }
  g_autoptr (JsonObject) space = sc_model_space_new (req, NOW, &e3);
  if (space != NULL)
    render (space);
  g_autoptr (JsonObject) bc = sc_model_broadcast_new (req, "space1", &e4);
  if (bc != NULL) {
    render (bc);
    if (sc_model_broadcast_patch (bc, req, &e5))
      render (bc);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = sc_fuzz_text (data, size);
  if (text == NULL)
    return 0;

  char *nl = strchr (text, '\n');
  if (nl != NULL && text[0] != '{') {
    *nl = '\0';
    guint limit = 0, offset = 0;
    g_autoptr (GError) error = NULL;
    if (sc_model_parse_pagination (*text ? text : NULL, nl[1] ? nl + 1 : NULL, &limit,
                                   &offset, &error))
      g_assert_cmpuint (limit, <=, SC_MODEL_MAX_LIMIT);
    return 0;
  }
  g_autoptr (JsonNode) root = json_from_string (text, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return 0;
  each_validator (json_node_get_object (root));
  return 0;
}
