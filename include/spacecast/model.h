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

/* Simulcast targets: an array "simulcast_targets" in the live stream's
 * document, at most SC_MODEL_MAX_SIMULCAST_TARGETS (Mux's limit). */
#define SC_MODEL_MAX_SIMULCAST_TARGETS 6
/* A new target {id, status: "idle", url, stream_key, passthrough?} from a
 * request {url, stream_key, passthrough}: rtmp:// or rtmps:// with a key,
 * or srt://HOST:PORT?streamid=..&passphrase=.. (both optional) without. */
JsonObject *sc_model_simulcast_target_new (JsonObject *request, GError **error);
/* Create's "simulcast_targets" into @doc (an empty array when absent). */
gboolean    sc_model_live_stream_take_simulcast (JsonObject *request, JsonObject *doc,
                                                 GError **error);
/* The target @target_id of @live_stream (borrowed), or NULL. */
JsonObject *sc_model_simulcast_target_find (JsonObject *live_stream, const char *target_id,
                                            guint *index);
/* Sets status and error_severity (NULL: none); TRUE when either changed. */
gboolean    sc_model_simulcast_target_set_status (JsonObject *target, const char *status,
                                                  const char *error_severity);
/* A target url's RTMP application: its path without the slashes around it. */
char       *sc_model_simulcast_url_app (GUri *uri);
/* An srt:// target url's parts; display is the url without its secrets. */
typedef struct {
  char *host;
  int port;
  char *streamid;      /* NULL when absent */
  char *passphrase;    /* NULL when absent */
  char *display;       /* "srt://HOST:PORT" */
} ScModelSrtUrl;
ScModelSrtUrl *sc_model_simulcast_srt_url_parse (const char *url, GError **error);
void        sc_model_srt_url_free (ScModelSrtUrl *url);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScModelSrtUrl, sc_model_srt_url_free)
/* A target url fit for the log: an srt:// one without its query. */
char       *sc_model_simulcast_url_public (const char *url);

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
