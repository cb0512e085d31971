/* spacecast model: the API resources as Mux shapes them — validation of
 * create and update requests, defaults, and rendering stored documents as
 * API objects.  Pure: no store, no network, so every rule is unit-tested.
 * A stored document is the API object itself plus private members whose
 * names start with '_' (never rendered). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define SC_MODEL_MAX_LIMIT 100
#define SC_MODEL_DEFAULT_LIMIT 25

/* limit/page query values (either may be NULL) → SQL limit and offset. */
gboolean    sc_model_parse_pagination (const char *limit, const char *page,
                                       guint *out_limit, guint *out_offset, GError **error);

/* Live streams.  @new_playback_ids receives the ids minted for the policies
 * asked for (GPtrArray of JsonObject {id, policy}) so the caller can index
 * them. */
JsonObject *sc_model_live_stream_new   (JsonObject *request, gint64 now, GError **error);
gboolean    sc_model_live_stream_patch (JsonObject *doc, JsonObject *request, GError **error);
gboolean    sc_model_live_stream_status_valid (const char *status);

/* Spaces and broadcasts.  Broadcasts are stored as their own documents with
 * a "_space_id"; the space renders them inline. */
JsonObject *sc_model_space_new     (JsonObject *request, gint64 now, GError **error);
JsonObject *sc_model_broadcast_new (JsonObject *request, const char *space_id, GError **error);
gboolean    sc_model_broadcast_patch (JsonObject *doc, JsonObject *request, GError **error);

/* Assets: a new recording placeholder for a live stream. */
JsonObject *sc_model_asset_new_live (JsonObject *live_stream, gint64 now);

/* A copy without private members. */
JsonNode   *sc_model_render (JsonObject *doc);

/* Field helpers shared by the validators. */
gboolean    sc_model_take_string (JsonObject *req, const char *field, gsize max_len,
                                  char **out, GError **error);
gboolean    sc_model_take_bool   (JsonObject *req, const char *field, gboolean *out,
                                  gboolean *present, GError **error);
gboolean    sc_model_take_number (JsonObject *req, const char *field, double min, double max,
                                  double *out, gboolean *present, GError **error);
gboolean    sc_model_check_fields (JsonObject *req, const char *const *allowed,
                                   const char *what, GError **error);
void        sc_model_set_number  (JsonObject *o, const char *field, double v);

G_END_DECLS
