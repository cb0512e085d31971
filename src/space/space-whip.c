/* WHIP (RFC 9725) on /rt/v1/spaces/{SPACE_ID}/whip: a participant joins
 * with a space JWT and an SDP offer, and leaves with DELETE on the session
 * URL it was given.  Plus the participants listing of the control API. */
#include "space-private.h"
#include "spacecast/core.h"
#include "spacecast/jwt.h"
#include "spacecast/sdp.h"

#include <string.h>

#define WHIP_BASE "/rt/v1/spaces"

typedef struct {
  ScSpaces *spaces;
  SoupServerMessage *msg;
  char *space_id;
  char *participant_id;
  char *role;
  char *connection_id;
} Join;

static void
join_free (Join *j)
{
  g_object_unref (j->msg);
  g_free (j->space_id);
  g_free (j->participant_id);
  g_free (j->role);
  g_free (j->connection_id);
  g_free (j);
}

void
sc_spaces_add_cors (SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (h, "Access-Control-Allow-Origin", "*");
  soup_message_headers_replace (h, "Access-Control-Expose-Headers", "Location, Link, ETag");
}

/* One STUN/TURN server as an RFC 9725 Link header value, in the URI form
 * of RFC 7064/7065 ("stun:host:port"), the port spelt out: GUri gives -1
 * where the configured URI has none, and each scheme has its own default. */
static char *
ice_link (const char *server)
{
  g_autoptr (GUri) uri = g_uri_parse (server, G_URI_FLAGS_HAS_PASSWORD, NULL);
  if (!uri || !g_uri_get_host (uri) || !*g_uri_get_host (uri))
    return NULL;
  const char *scheme = g_uri_get_scheme (uri);
  gboolean tls = g_ascii_strcasecmp (scheme, "stuns") == 0 ||
                 g_ascii_strcasecmp (scheme, "turns") == 0;
  int port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : tls ? 5349 : 3478;
  const char *host = g_uri_get_host (uri);
  gboolean v6 = strchr (host, ':') != NULL;
  const char *query = g_uri_get_query (uri);
  g_autofree char *target = g_strdup_printf ("%s:%s%s%s:%d%s%s", scheme, v6 ? "[" : "", host,
                                             v6 ? "]" : "", port, query ? "?" : "",
                                             query ? query : "");
  if (!g_uri_get_user (uri))
    return g_strdup_printf ("<%s>; rel=\"ice-server\"", target);
  return g_strdup_printf ("<%s>; rel=\"ice-server\"; username=\"%s\"; credential=\"%s\"; "
                          "credential-type=\"password\"", target, g_uri_get_user (uri),
                          g_uri_get_password (uri) ? g_uri_get_password (uri) : "");
}

void
sc_spaces_reply_session (SoupServerMessage *msg, ScConfig *config, const char *location,
                         const char *session_id, const char *answer)
{
  g_autofree char *etag = g_strdup_printf ("\"%s\"", session_id);
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (h, "Location", location);
  soup_message_headers_replace (h, "ETag", etag);
  sc_spaces_add_cors (msg);
  sc_spaces_add_ice_links (config, msg);
  soup_server_message_set_status (msg, 201, NULL);
  soup_server_message_set_response (msg, "application/sdp", SOUP_MEMORY_COPY, answer,
                                    strlen (answer));
}

ScWhipConfig
sc_spaces_whip_config (const ScConfig *config)
{
  return (ScWhipConfig) {
    .ice_host = config->ice_host,
    .udp_port_min = config->udp_port_min,
    .udp_port_max = config->udp_port_max,
    .stun_server = config->stun_server,
    .turn_server = config->turn_server,
    .no_media_timeout_s = config->participant_timeout_s,
  };
}

void
sc_spaces_add_ice_links (ScConfig *config, SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  const char *servers[] = { config->stun_server, config->turn_server };
  for (guint i = 0; i < G_N_ELEMENTS (servers); i++) {
    g_autofree char *link = servers[i] ? ice_link (servers[i]) : NULL;
    if (link)
      soup_message_headers_append (h, "Link", link);
  }
}

void
sc_spaces_reply_error_msg (SoupServerMessage *msg, const GError *error)
{
  ScRequest r = { .msg = msg, .method = "POST" };
  sc_spaces_add_cors (msg);
  sc_api_reply_error (&r, error);
}

ScJwtClaims *
sc_spaces_verify_bearer (ScSpaces *s, ScRequest *req, const char *space_id)
{
  g_autoptr (GError) error = NULL;
  const char *auth = soup_message_headers_get_one (
      soup_server_message_get_request_headers (req->msg), "Authorization");

  /* The token before the space: a 404 to anyone would tell which space ids
   * exist.  The token names its space, so only its holder learns that. */
  if (!auth || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0) {
    sc_api_reply_error_code (req, SC_ERROR_UNAUTHORIZED,
                             "a space JWT is required: Authorization: Bearer <token>");
    return NULL;
  }
  ScJwtClaims *claims = sc_jwt_verify_space_token (
      auth + 7, space_id, sc_store_signing_key_pem, s->store, sc_core_now_unix (),
      s->config->token_max_lifetime_s, &error);
  if (!claims)
    sc_api_reply_error (req, error);
  return claims;
}

static void
on_peer_ready (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Join *j = user_data;
  ScSpaces *s = j->spaces;
  g_autoptr (GError) error = NULL;
  g_autofree char *answer = NULL;
  ScWhipPeer *peer = sc_whip_peer_new_finish (res, &answer, &error);

  if (peer && s->closing) {
    /* The join finished while spacecast was shutting down. */
    sc_whip_peer_close (peer);
    g_clear_object (&peer);
    g_set_error (&error, SC_ERROR, SC_ERROR_UNAVAILABLE, "spacecast is shutting down");
  }
  if (!peer) {
    g_autofree char *key = sc_spaces_reservation_key (j->space_id, j->participant_id);
    g_hash_table_remove (s->reserved, key);
    g_message ("space %s: join of %s failed: %s", j->space_id, j->participant_id, error->message);
    sc_spaces_reply_error_msg (j->msg, error);
  } else {
    ScParticipant *p = g_new0 (ScParticipant, 1);
    p->space_id = g_strdup (j->space_id);
    p->participant_id = g_strdup (j->participant_id);
    p->connection_id = g_strdup (j->connection_id);
    p->role = g_strdup (j->role);
    p->joined_at = sc_core_now_unix ();
    p->peer = peer;
    sc_spaces_add_participant (s, p);

    g_autofree char *location = g_strdup_printf (WHIP_BASE "/%s/whip/%s", j->space_id,
                                                 j->connection_id);
    sc_spaces_reply_session (j->msg, s->config, location, j->connection_id, answer);
  }
  soup_server_message_unpause (j->msg);
  join_free (j);
  s->pending_joins--;
}

/* Replies @error with Retry-After, as a refusal that waiting can cure. */
void
sc_spaces_reply_retry (ScRequest *req, const GError *error, guint retry_after_s)
{
  g_autofree char *secs = g_strdup_printf ("%u", retry_after_s);
  soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                "Retry-After", secs);
  sc_api_reply_error (req, error);
}

/* The participant a token joins as.  A token without participant_id
 * stands for one participant too, named after the token itself, so that
 * it holds one session at a time: otherwise one leaked token could open a
 * pipeline per request. */
static char *
participant_for (const ScJwtClaims *claims, const char *token)
{
  if (claims->participant_id != NULL)
    return g_strdup (claims->participant_id);
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
  return g_strdup_printf ("token-%.16s", digest);
}

/* Joined or joining participants of @space_id: its reservations. */
static guint
count_reserved (ScSpaces *s, const char *space_id)
{
  g_autofree char *prefix = sc_spaces_reservation_key (space_id, "");
  GHashTableIter it;
  gpointer key;
  guint n = 0;
  g_hash_table_iter_init (&it, s->reserved);
  while (g_hash_table_iter_next (&it, &key, NULL))
    n += g_str_has_prefix (key, prefix);
  return n;
}

char *
sc_spaces_read_offer (ScRequest *req, const char *content_type, const char *protocol)
{
  if (!content_type || g_ascii_strcasecmp (content_type, "application/sdp") != 0) {
    sc_api_reply_error_code (req, SC_ERROR_UNSUPPORTED_TYPE,
                             "a %s offer must be application/sdp, got %s", protocol,
                             content_type ? content_type : "no content type");
    return NULL;
  }
  gsize len;
  const char *data = g_bytes_get_data (req->raw_body, &len);
  g_autofree char *offer = g_strndup (data, len);
  if (len == 0 || strlen (offer) != len || !g_utf8_validate (offer, -1, NULL)) {
    sc_api_reply_error_code (req, SC_ERROR_INVALID, "the SDP offer is empty or not text");
    return NULL;
  }
  return g_steal_pointer (&offer);
}

static void
whip_post (ScRequest *req)
{
  ScSpaces *s = req->user_data;
  const char *space_id = req->params[0];
  g_autoptr (GError) error = NULL;
  SoupMessageHeaders *rh = soup_server_message_get_request_headers (req->msg);
  const char *ctype = soup_message_headers_get_content_type (rh, NULL);
  const char *auth = soup_message_headers_get_one (rh, "Authorization");

  sc_spaces_add_cors (req->msg);
  if (s->closing) {
    sc_api_reply_error_code (req, SC_ERROR_UNAVAILABLE, "spacecast is shutting down");
    return;
  }
  const char *token = auth && g_ascii_strncasecmp (auth, "Bearer ", 7) == 0 ? auth + 7 : NULL;
  g_autoptr (ScJwtClaims) claims = sc_spaces_verify_bearer (s, req, space_id);
  if (!claims)
    return;
  if (claims->role != SC_JWT_ROLE_PUBLISHER) {
    sc_api_reply_error_code (req, SC_ERROR_FORBIDDEN,
                             "this token's role is %s: only publishers may publish",
                             sc_jwt_role_to_string (claims->role));
    return;
  }
  g_autoptr (JsonObject) space = sc_api_load (req, SC_KIND_SPACE, space_id);
  if (!space)
    return;
  g_autofree char *offer = sc_spaces_read_offer (req, ctype, "WHIP");
  if (!offer)
    return;
  g_auto (ScSdpOfferInfo) info = { 0 };
  if (!sc_sdp_check_offer (offer, &info, &error)) {
    sc_api_reply_error (req, error);
    return;
  }

  /* Refusals that waiting may cure come last: a request that can never
   * succeed says why rather than inviting a retry. */
  g_autofree char *participant_id = participant_for (claims, token);
  g_autofree char *key = sc_spaces_reservation_key (space_id, participant_id);
  if (g_hash_table_contains (s->reserved, key)) {
    if (claims->participant_id)
      sc_api_reply_error_code (req, SC_ERROR_CONFLICT,
                               "participant %s is already connected to space %s",
                               participant_id, space_id);
    else
      sc_api_reply_error_code (req, SC_ERROR_CONFLICT,
                               "this token already has a session in space %s: a token "
                               "without participant_id publishes one session at a time",
                               space_id);
    return;
  }
  ScAdmitState admit = {
    .pending_joins = s->pending_joins,
    .max_pending_joins = s->config->whip_max_pending_joins,
    .space_participants = count_reserved (s, space_id),
    .max_space_participants = s->config->space_max_participants,
  };
  sc_spaces_read_usage (&admit);
  guint retry_after_s = 0;
  if (!sc_spaces_admit (&admit, &retry_after_s, &error)) {
    g_message ("space %s: join of %s refused: %s", space_id, participant_id, error->message);
    sc_spaces_reply_retry (req, error, retry_after_s);
    return;
  }

  ScWhipConfig cfg = sc_spaces_whip_config (s->config);
  Join *j = g_new0 (Join, 1);
  j->spaces = s;
  j->msg = g_object_ref (req->msg);
  j->space_id = g_strdup (space_id);
  j->participant_id = g_strdup (participant_id);
  j->role = g_strdup (sc_jwt_role_to_string (claims->role));
  j->connection_id = sc_core_new_id ();
  g_hash_table_add (s->reserved, g_steal_pointer (&key));
  s->pending_joins++;
  soup_server_message_pause (req->msg);
  /* The checked offer, rewritten into the form webrtcbin 1.22 accepts. */
  sc_whip_peer_new_async (&cfg, participant_id, info.webrtcbin_offer, NULL, on_peer_ready, j);
}

static void
whip_delete (ScRequest *req)
{
  ScSpaces *s = req->user_data;
  ScParticipant *p = g_hash_table_lookup (s->participants, req->params[1]);
  sc_spaces_add_cors (req->msg);
  /* The session URL is unguessable (144 random bits): holding it is the
   * capability to end the session, as RFC 9725 resources usually work. */
  if (!p || !g_str_equal (p->space_id, req->params[0])) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "no WHIP session %s in space %s",
                             req->params[1], req->params[0]);
    return;
  }
  sc_spaces_remove_participant (s, req->params[1], "WHIP session deleted");
  soup_server_message_set_status (req->msg, 200, NULL);
}

void
sc_spaces_whip_options (ScRequest *req)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (req->msg);
  ScSpaces *s = req->user_data;
  sc_spaces_add_cors (req->msg);
  soup_message_headers_replace (h, "Access-Control-Allow-Methods", "POST, DELETE, OPTIONS");
  soup_message_headers_replace (h, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, If-Match");
  soup_message_headers_replace (h, "Access-Control-Max-Age", "86400");
  soup_message_headers_replace (h, "Accept-Post", "application/sdp");
  sc_spaces_add_ice_links (s->config, req->msg);
  soup_server_message_set_status (req->msg, 204, NULL);
}

static void
participants_list (ScRequest *req)
{
  ScSpaces *s = req->user_data;
  g_autoptr (JsonObject) space = sc_api_load (req, SC_KIND_SPACE, req->params[0]);
  if (!space)
    return;
  g_autoptr (GPtrArray) ps = sc_spaces_get_participants (s, req->params[0]);
  JsonArray *arr = json_array_new ();
  for (guint i = 0; i < ps->len; i++) {
    ScParticipant *p = ps->pdata[i];
    JsonObject *o = json_object_new ();
    g_autofree char *joined = g_strdup_printf ("%" G_GINT64_FORMAT, p->joined_at);
    json_object_set_string_member (o, "participant_id", p->participant_id);
    json_object_set_string_member (o, "connection_id", p->connection_id);
    json_object_set_string_member (o, "role", p->role);
    json_object_set_string_member (o, "joined_at", joined);
    json_object_set_double_member (o, "audio_level", sc_whip_peer_get_audio_level (p->peer));
    JsonArray *tracks = json_array_new ();
    g_autoptr (GArray) stats = sc_whip_peer_get_stats (p->peer);
    for (guint t = 0; stats && t < stats->len; t++) {
      ScWhipTrackStats *st = &g_array_index (stats, ScWhipTrackStats, t);
      JsonObject *to = json_object_new ();
      json_object_set_string_member (to, "type", st->kind == SC_WHIP_TRACK_VIDEO ? "video" : "audio");
      json_object_set_string_member (to, "codec", st->codec);
      json_object_set_int_member (to, "frames_decoded", (gint64) st->frames);
      if (st->kind == SC_WHIP_TRACK_VIDEO) {
        json_object_set_int_member (to, "width", st->width);
        json_object_set_int_member (to, "height", st->height);
      }
      json_array_add_object_element (tracks, to);
    }
    json_object_set_array_member (o, "tracks", tracks);
    json_array_add_object_element (arr, o);
  }
  sc_api_reply_array (req, arr);
}

void
sc_spaces_register_routes (ScSpaces *s)
{
  sc_api_add_route (s->api, "POST", WHIP_BASE "/*/whip",
                    SC_ROUTE_RAW_BODY | SC_ROUTE_BEARER_AUTH | SC_ROUTE_CORS, whip_post, s);
  sc_api_add_route (s->api, "OPTIONS", WHIP_BASE "/*/whip", 0, sc_spaces_whip_options, s);
  sc_api_add_route (s->api, "DELETE", WHIP_BASE "/*/whip/*", 0, whip_delete, s);
  sc_api_add_route (s->api, "OPTIONS", WHIP_BASE "/*/whip/*", 0, sc_spaces_whip_options, s);
  sc_api_add_route (s->api, "GET", "/video/v1/spaces/*/participants",
                    SC_ROUTE_BASIC_AUTH | SC_ROUTE_JSON_BODY, participants_list, s);
}
