/* Playback, as stream.mux.com and image.mux.com shape it:
 *   GET /stream/{PLAYBACK_ID}.m3u8          live (sliding) or asset (DVR/VOD) HLS
 *   GET /stream/{PLAYBACK_ID}/{segment}.ts  a segment of that playlist
 *   GET /stream/{PLAYBACK_ID}/highest.mp4   the finalised asset
 *   GET /image/{PLAYBACK_ID}/thumbnail.jpg?time=T&width=W
 * A live stream that is not active, or an asset that is not ready for what
 * is asked, answers 412 as Mux does. */
#include "ingest-private.h"
#include "spacecast/core.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  ScKind kind;
  char *target;
  char *dir;
  JsonObject *doc;
} Playable;

static void
playable_clear (Playable *p)
{
  g_free (p->target);
  g_free (p->dir);
  g_clear_pointer (&p->doc, json_object_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Playable, playable_clear)

static gboolean
resolve (ScRequest *req, const char *playback_id, Playable *p)
{
  ScIngest *ing = req->user_data;
  g_autoptr (GError) error = NULL;
  if (!sc_store_lookup_playback_id (ing->store, playback_id, &p->kind, &p->target, &error) ||
      !(p->doc = sc_store_get (ing->store, p->kind, p->target, &error))) {
    sc_api_reply_error (req, error);
    return FALSE;
  }
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
  SoupMessageHeaders *h = soup_server_message_get_response_headers (req->msg);
  soup_message_headers_set_content_type (h, content_type, NULL);
  soup_message_headers_replace (h, "Access-Control-Allow-Origin", "*");
  soup_message_body_append_bytes (soup_server_message_get_response_body (req->msg), bytes);
  soup_server_message_set_status (req->msg, 200, NULL);
}

static gboolean
is_live_stream_playing (Playable *p)
{
  return p->kind == SC_KIND_LIVE_STREAM &&
         g_str_equal (json_object_get_string_member (p->doc, "status"), "active");
}

static void
playlist (ScRequest *req)
{
  const char *name = req->params[0];
  if (!g_str_has_suffix (name, ".m3u8")) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "no such playback resource %s", name);
    return;
  }
  g_autofree char *pid = g_strndup (name, strlen (name) - 5);
  g_auto (Playable) p = { 0 };
  if (!resolve (req, pid, &p))
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
  /* Segment URIs relative to /stream/{PID}/ so the playlist URL can stay flat. */
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);
  for (guint i = 0; lines[i]; i++) {
    if (lines[i][0] && lines[i][0] != '#')
      g_string_append_printf (out, "%s/%s\n", pid, lines[i]);
    else if (lines[i][0] || lines[i + 1])
      g_string_append_printf (out, "%s\n", lines[i]);
  }
  SoupMessageHeaders *h = soup_server_message_get_response_headers (req->msg);
  soup_message_headers_replace (h, "Access-Control-Allow-Origin", "*");
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
  if (!safe_name (name) || !(g_str_has_suffix (name, ".ts") || g_str_equal (name, "highest.mp4"))) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "no such playback resource %s", name);
    return;
  }
  if (!resolve (req, req->params[0], &p))
    return;
  g_autofree char *path = g_build_filename (p.dir, name, NULL);
  if (g_str_equal (name, "highest.mp4")) {
    if (p.kind != SC_KIND_ASSET ||
        !g_str_equal (json_object_get_string_member (p.doc, "status"), "ready")) {
      not_playable (req, "the MP4 exists once the asset is ready");
      return;
    }
    send_file (req, path, "video/mp4");
  } else {
    send_file (req, path, "video/mp2t");
  }
}

static void
thumbnail (ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_auto (Playable) p = { 0 };
  const char *time_s = sc_request_query (req, "time");
  const char *width_s = sc_request_query (req, "width");
  double t = 0;
  gint64 width = 0;

  if (!g_str_equal (req->params[1], "thumbnail.jpg")) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "only thumbnail.jpg is served");
    return;
  }
  if (time_s) {
    char *end = NULL;
    t = g_ascii_strtod (time_s, &end);
    if (end == time_s || *end || t < 0) {
      sc_api_reply_error_code (req, SC_ERROR_INVALID, "time must be a number of seconds >= 0");
      return;
    }
  }
  if (width_s && !g_ascii_string_to_signed (width_s, 10, 16, 3840, &width, NULL)) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID, "width must be an integer from 16 to 3840");
    return;
  }
  if (!resolve (req, req->params[0], &p))
    return;
  if (p.kind != SC_KIND_ASSET || !g_str_equal (json_object_get_string_member (p.doc, "status"), "ready")) {
    not_playable (req, "thumbnails exist once the asset is ready");
    return;
  }
  g_autofree char *mp4 = g_build_filename (p.dir, "highest.mp4", NULL);
  g_autoptr (GBytes) jpeg = sc_record_thumbnail (mp4, t, (int) width, &error);
  if (!jpeg) {
    sc_api_reply_error (req, error);
    return;
  }
  soup_message_headers_set_content_type (soup_server_message_get_response_headers (req->msg),
                                         "image/jpeg", NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (req->msg), jpeg);
  soup_server_message_set_status (req->msg, 200, NULL);
}

void
sc_ingest_register_playback (ScIngest *ing)
{
  sc_api_add_route (ing->api, "GET", "/stream/*", 0, playlist, ing);
  sc_api_add_route (ing->api, "GET", "/stream/*/*", 0, file, ing);
  sc_api_add_route (ing->api, "GET", "/image/*/*", 0, thumbnail, ing);
}
