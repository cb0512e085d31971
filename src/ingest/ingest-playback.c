/* Playback, as stream.mux.com and image.mux.com shape it:
 *   GET /stream/{PLAYBACK_ID}.m3u8          live (sliding) or asset (DVR/VOD) HLS
 *   GET /stream/{PLAYBACK_ID}/{segment}.ts  a segment of that playlist
 *   GET /stream/{PLAYBACK_ID}/highest.mp4   the finalised asset
 *   GET /image/{PLAYBACK_ID}/thumbnail.jpg?time=T&width=W
 * A "signed" playback id opens only with ?token= (spacecast/jwt.h): aud "v"
 * for the first three, "t" for thumbnails; a signed playlist hands its
 * token on to the segments it lists.  A live stream that is not active, or
 * an asset that is not ready for what is asked, answers 412 as Mux does.
 * Thumbnails are made by the ingest's ScThumbnailer, off the main loop. */
#include "ingest-private.h"
#include "spacecast/core.h"
#include "spacecast/jwt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define THUMBNAIL_MIN_WIDTH 16
#define THUMBNAIL_MAX_WIDTH 3840

typedef struct {
  ScKind kind;
  char *target;
  char *dir;
  JsonObject *doc;
  const char *token;                /* the verified ?token= of a signed id */
  ScJwtPlaybackClaims *claims;      /* its claims */
} Playable;

static void
playable_clear (Playable *p)
{
  g_free (p->target);
  g_free (p->dir);
  g_clear_pointer (&p->doc, json_object_unref);
  g_clear_pointer (&p->claims, sc_jwt_playback_claims_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Playable, playable_clear)

/* Players are web pages on other origins, and must see our errors too. */
static void
allow_any_origin (ScRequest *req)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                "Access-Control-Allow-Origin", "*");
}

static const char *
policy_of (JsonObject *doc, const char *playback_id)
{
  JsonArray *pids = json_object_has_member (doc, "playback_ids")
      ? json_object_get_array_member (doc, "playback_ids") : NULL;
  for (guint i = 0; pids && i < json_array_get_length (pids); i++) {
    JsonObject *pid = json_array_get_object_element (pids, i);
    if (g_strcmp0 (json_object_get_string_member (pid, "id"), playback_id) == 0)
      return json_object_get_string_member (pid, "policy");
  }
  return NULL;
}

/* Only "public" opens without a token: an id whose policy is unknown
 * stays shut. */
static gboolean
authorize (ScRequest *req, const char *playback_id, ScJwtPlaybackType type, Playable *p)
{
  ScIngest *ing = req->user_data;
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (policy_of (p->doc, playback_id), "public") == 0)
    return TRUE;
  const char *token = sc_request_query (req, "token");
  if (!token || !*token) {
    sc_api_reply_error_code (req, SC_ERROR_FORBIDDEN,
                             "playback id %s is signed: add ?token= with a JWT signed by "
                             "one of your signing keys", playback_id);
    return FALSE;
  }
  p->claims = sc_jwt_verify_playback_token (token, playback_id, type, sc_store_signing_key_pem,
                                            ing->store, sc_core_now_unix (), &error);
  if (!p->claims) {
    sc_api_reply_error (req, error);
    return FALSE;
  }
  p->token = token;
  return TRUE;
}

/* The resource @playback_id plays, once the request may see it. */
static gboolean
resolve (ScRequest *req, const char *playback_id, ScJwtPlaybackType type, Playable *p)
{
  ScIngest *ing = req->user_data;
  g_autoptr (GError) error = NULL;
  if (!sc_store_lookup_playback_id (ing->store, playback_id, &p->kind, &p->target, &error) ||
      !(p->doc = sc_store_get (ing->store, p->kind, p->target, &error))) {
    sc_api_reply_error (req, error);
    return FALSE;
  }
  if (!authorize (req, playback_id, type, p))
    return FALSE;
  p->dir = p->kind == SC_KIND_ASSET ? sc_ingest_asset_dir (ing, p->target)
                                    : sc_ingest_live_dir (ing, p->target);
  return TRUE;
}

static void
not_playable (ScRequest *req, const char *why)
{
  g_autoptr (JsonNode) body = sc_api_error_body (SC_ERROR_INVALID, why);
  /* Mux's own answer: 412 Precondition Failed while not playable yet. */
  json_object_set_string_member (json_object_get_object_member (json_node_get_object (body), "error"),
                                 "type", "not_playable");
  g_autofree char *text = json_to_string (body, FALSE);
  soup_server_message_set_status (req->msg, 412, NULL);
  soup_server_message_set_response (req->msg, "application/json", SOUP_MEMORY_COPY, text, strlen (text));
}

static void
send_file (ScRequest *req, const char *path, const char *content_type)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GMappedFile) mf = g_mapped_file_new (path, FALSE, &error);
  if (!mf) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "%s is not there", strrchr (path, '/') + 1);
    return;
  }
  g_autoptr (GBytes) bytes = g_mapped_file_get_bytes (mf);
  soup_message_headers_set_content_type (soup_server_message_get_response_headers (req->msg),
                                         content_type, NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (req->msg), bytes);
  soup_server_message_set_status (req->msg, 200, NULL);
}

static gboolean
is_live_stream_playing (Playable *p)
{
  return p->kind == SC_KIND_LIVE_STREAM &&
         g_str_equal (json_object_get_string_member (p->doc, "status"), "active");
}

static gboolean
is_ready_asset (Playable *p)
{
  return p->kind == SC_KIND_ASSET &&
         g_str_equal (json_object_get_string_member (p->doc, "status"), "ready");
}

static void
playlist (ScRequest *req)
{
  const char *name = req->params[0];
  allow_any_origin (req);
  if (!g_str_has_suffix (name, ".m3u8")) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "no such playback resource %s", name);
    return;
  }
  g_autofree char *pid = g_strndup (name, strlen (name) - 5);
  g_auto (Playable) p = { 0 };
  if (!resolve (req, pid, SC_JWT_PLAYBACK_VIDEO, &p))
    return;
  if (p.kind == SC_KIND_LIVE_STREAM && !is_live_stream_playing (&p)) {
    not_playable (req, "the live stream is not active");
    return;
  }
  g_autofree char *path = g_build_filename (p.dir, "index.m3u8", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL)) {
    not_playable (req, "no media has been recorded yet");
    return;
  }
  /* Segment URIs relative to /stream/{PID}/ so the playlist URL can stay
   * flat; a player fetches them with the token it opened the playlist with
   * (a verified JWT: base64url and dots, nothing to escape). */
  g_autofree char *query = p.token ? g_strconcat ("?token=", p.token, NULL) : g_strdup ("");
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);
  for (guint i = 0; lines[i]; i++) {
    if (lines[i][0] && lines[i][0] != '#')
      g_string_append_printf (out, "%s/%s%s\n", pid, lines[i], query);
    else if (lines[i][0] || lines[i + 1])
      g_string_append_printf (out, "%s\n", lines[i]);
  }
  SoupMessageHeaders *h = soup_server_message_get_response_headers (req->msg);
  soup_message_headers_replace (h, "Cache-Control", "no-cache");
  soup_server_message_set_status (req->msg, 200, NULL);
  soup_server_message_set_response (req->msg, "application/vnd.apple.mpegurl", SOUP_MEMORY_TAKE,
                                    out->str, out->len);
  g_string_free (out, FALSE);
}

static gboolean
safe_name (const char *name)
{
  if (!*name || name[0] == '.')
    return FALSE;
  for (const char *c = name; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '_' && *c != '-' && *c != '.')
      return FALSE;
  return TRUE;
}

static void
file (ScRequest *req)
{
  const char *name = req->params[1];
  g_auto (Playable) p = { 0 };
  allow_any_origin (req);
  if (!safe_name (name) || !(g_str_has_suffix (name, ".ts") || g_str_equal (name, "highest.mp4"))) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "no such playback resource %s", name);
    return;
  }
  if (!resolve (req, req->params[0], SC_JWT_PLAYBACK_VIDEO, &p))
    return;
  g_autofree char *path = g_build_filename (p.dir, name, NULL);
  if (g_str_equal (name, "highest.mp4")) {
    if (!is_ready_asset (&p)) {
      not_playable (req, "the MP4 exists once the asset is ready");
      return;
    }
    send_file (req, path, "video/mp4");
  } else {
    send_file (req, path, "video/mp2t");
  }
}

/* A thumbnail parameter: what the token's claims fix, else the query.  A
 * query may not ask for something else than the signer allowed. */
static gboolean
thumbnail_param (ScRequest *req, Playable *p, const char *name, const char **value)
{
  const char *query = sc_request_query (req, name);
  const char *claim = p->claims ? g_hash_table_lookup (p->claims->params, name) : NULL;
  if (claim && query && !g_str_equal (claim, query)) {
    sc_api_reply_error_code (req, SC_ERROR_FORBIDDEN,
                             "the token fixes %s=%s; the query may not ask for another",
                             name, claim);
    return FALSE;
  }
  *value = claim ? claim : query;
  return TRUE;
}

/* Seconds into the asset: a plain decimal number (no inf, nan or hex),
 * within what was recorded. */
static gboolean
parse_time (ScRequest *req, const char *text, double duration, double *out)
{
  char *end = NULL;
  double t = text && *text && strspn (text, "0123456789.eE+-") == strlen (text)
      ? g_ascii_strtod (text, &end) : NAN;
  if (!end || *end || !isfinite (t) || t < 0 || t > duration) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID,
                             "time must be a number of seconds from 0 to %.3f (the asset's "
                             "duration); got \"%.32s\"", duration, text ? text : "");
    return FALSE;
  }
  *out = t;
  return TRUE;
}

static void
reply_jpeg (SoupServerMessage *msg, GBytes *jpeg)
{
  soup_message_headers_set_content_type (soup_server_message_get_response_headers (msg),
                                         "image/jpeg", NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), jpeg);
  soup_server_message_set_status (msg, 200, NULL);
}

/* From the thumbnailer, on the main context: the paused reply goes out. */
static void
thumbnail_ready (GBytes *jpeg, const GError *error, gpointer user_data)
{
  SoupServerMessage *msg = user_data;
  if (jpeg) {
    reply_jpeg (msg, jpeg);
  } else {
    ScRequest r = { .msg = msg, .method = "GET" };
    sc_api_reply_error (&r, error);
  }
  soup_server_message_unpause (msg);
  g_object_unref (msg);
}

static void
thumbnail (ScRequest *req)
{
  ScIngest *ing = req->user_data;
  g_autoptr (GError) error = NULL;
  g_auto (Playable) p = { 0 };
  const char *time_s = NULL, *width_s = NULL;
  double t = 0;
  gint64 width = 0;

  allow_any_origin (req);
  if (!g_str_equal (req->params[1], "thumbnail.jpg")) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "only thumbnail.jpg is served");
    return;
  }
  if (!resolve (req, req->params[0], SC_JWT_PLAYBACK_THUMBNAIL, &p) ||
      !thumbnail_param (req, &p, "time", &time_s) ||
      !thumbnail_param (req, &p, "width", &width_s))
    return;
  if (!is_ready_asset (&p)) {
    not_playable (req, "thumbnails exist once the asset is ready");
    return;
  }
  double duration = json_object_get_double_member_with_default (p.doc, "duration", 0);
  if (time_s && !parse_time (req, time_s, duration, &t))
    return;
  if (width_s && !g_ascii_string_to_signed (width_s, 10, THUMBNAIL_MIN_WIDTH, THUMBNAIL_MAX_WIDTH,
                                            &width, NULL)) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID, "width must be an integer from %d to %d",
                             THUMBNAIL_MIN_WIDTH, THUMBNAIL_MAX_WIDTH);
    return;
  }

  g_autofree char *mp4 = g_build_filename (p.dir, "highest.mp4", NULL);
  /* A ready asset's MP4 never changes: its id names the content. */
  g_autoptr (GBytes) jpeg = sc_thumbnailer_get (ing->thumbnailer, p.target, mp4, t, (int) width,
                                                thumbnail_ready, req->msg, &error);
  if (jpeg) {
    reply_jpeg (req->msg, jpeg);
  } else if (error) {
    soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                  "Retry-After", "1");
    sc_api_reply_error (req, error);
  } else {
    g_object_ref (req->msg);
    soup_server_message_pause (req->msg);
  }
}

void
sc_ingest_register_playback (ScIngest *ing)
{
  sc_api_add_route (ing->api, "GET", "/stream/*", 0, playlist, ing);
  sc_api_add_route (ing->api, "GET", "/stream/*/*", 0, file, ing);
  sc_api_add_route (ing->api, "GET", "/image/*/*", 0, thumbnail, ing);
}
