/* GET /rt/v1/spaces/{SPACE_ID}/events: who is in a space, live, as
 * Server-Sent Events for browsers.  A snapshot of the participants first,
 * and its broadcasts first, then participant.joined / participant.left /
 * track.added as the space observer announces them, broadcast.active /
 * broadcast.idle from the event bus (a program preview's WHEP session ends
 * with its broadcast, and this is how a player learns it without waiting
 * for ICE to time out), and a comment every 15 s so that proxies and
 * browsers keep an idle stream open.
 *
 * Each stream is a chunked reply that is never completed while it lasts:
 * an event is appended to its body and the message unpaused (libsoup
 * pauses a chunked reply whose body has run dry).  It ends when the
 * client goes, when the space is deleted (the event bus says so) or at
 * shutdown; open streams per space are capped (space_max_event_streams). */
#include "space-private.h"
#include "spacecast/core.h"
#include "spacecast/jwt.h"

#include <string.h>

#define KEEPALIVE_S 15
#define EVENTS_ROUTE "/rt/v1/spaces/*/events"

struct _ScSpaceEvents {
  ScSpaces *spaces;
  ScEvents *events;
  GHashTable *streams;          /* space id → GPtrArray of Stream* (unowned) */
  guint observer;
  guint subscription;
  guint keepalive;
  gboolean closing;             /* shutting down: no new stream */
};

typedef struct {
  ScSpaceEvents *owner;
  SoupServerMessage *msg;
  char *space_id;
  gboolean ended;               /* completed, its last chunk not yet written */
} Stream;

static void
stream_free (Stream *st)
{
  g_signal_handlers_disconnect_matched (st->msg, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, st);
  g_object_unref (st->msg);
  g_free (st->space_id);
  g_free (st);
}

static void
stream_write (Stream *st, const char *text)
{
  if (st->ended)
    return;
  soup_message_body_append (soup_server_message_get_response_body (st->msg), SOUP_MEMORY_COPY,
                            text, strlen (text));
  soup_server_message_unpause (st->msg);
}

/* The client went, or the completed reply was written: out of the
 * registry (the last stream of a space takes its entry along). */
static void
on_finished (SoupServerMessage *msg, Stream *st)
{
  GPtrArray *list = g_hash_table_lookup (st->owner->streams, st->space_id);
  if (list && g_ptr_array_remove (list, st) && list->len == 0)
    g_hash_table_remove (st->owner->streams, st->space_id);
  stream_free (st);
}

/* The end of the reply: the last chunk goes out, then on_finished. */
static void
stream_end (Stream *st)
{
  if (st->ended)
    return;
  st->ended = TRUE;
  soup_message_body_complete (soup_server_message_get_response_body (st->msg));
  soup_server_message_unpause (st->msg);
}

static void
foreach_stream (ScSpaceEvents *se, void (*fn) (Stream *st, gconstpointer data),
                gconstpointer data)
{
  /* A copy: a stream may finish, and leave the registry, under @fn. */
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, se->streams);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_extend (all, value, NULL, NULL);
  for (guint i = 0; i < all->len; i++)
    fn (all->pdata[i], data);
}

static char *
sse_event (const char *name, JsonObject *data)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), data);
  g_autofree char *text = json_to_string (node, FALSE);
  return g_strdup_printf ("event: %s\ndata: %s\n\n", name, text);
}

static void
broadcast (ScSpaceEvents *se, const char *space_id, const char *text)
{
  GPtrArray *list = g_hash_table_lookup (se->streams, space_id);
  for (guint i = 0; list && i < list->len; i++)
    stream_write (list->pdata[i], text);
}

static JsonObject *
participant_object (const ScParticipant *p)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "participant_id", p->participant_id);
  json_object_set_string_member (o, "connection_id", p->connection_id);
  return o;
}

/* What the participant's WHIP answer negotiated: known at the join, before
 * any media, so that a page can subscribe (WHEP) at once. */
static void
add_tracks (JsonObject *o, const ScParticipant *p)
{
  ScWhipSendTrack tracks[2];
  guint n = sc_whip_peer_get_send_tracks (p->peer, tracks);
  JsonArray *arr = json_array_new ();
  for (guint i = 0; i < n; i++)
    json_array_add_string_element (arr, tracks[i].kind == SC_WHIP_TRACK_VIDEO ? "video" : "audio");
  json_object_set_array_member (o, "tracks", arr);
}

static void
on_joined (const ScParticipant *p, gpointer user_data)
{
  g_autoptr (JsonObject) o = participant_object (p);
  add_tracks (o, p);
  g_autofree char *text = sse_event ("participant.joined", o);
  broadcast (user_data, p->space_id, text);
}

static void
on_left (const ScParticipant *p, gpointer user_data)
{
  g_autoptr (JsonObject) o = participant_object (p);
  g_autofree char *text = sse_event ("participant.left", o);
  broadcast (user_data, p->space_id, text);
}

static const char *
track_name (ScWhipTrackKind kind)
{
  return kind == SC_WHIP_TRACK_VIDEO ? "video" : "audio";
}

static void
on_track_added (const ScParticipant *p, ScWhipTrackKind kind, gpointer user_data)
{
  g_autoptr (JsonObject) o = participant_object (p);
  json_object_set_string_member (o, "track", track_name (kind));
  g_autofree char *text = sse_event ("track.added", o);
  broadcast (user_data, p->space_id, text);
}

static JsonObject *
broadcast_object (JsonObject *doc)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "broadcast_id", json_object_get_string_member (doc, "id"));
  json_object_set_string_member (o, "status", json_object_get_string_member (doc, "status"));
  const char *reason = json_object_get_string_member_with_default (doc, "idle_reason", NULL);
  if (reason)
    json_object_set_string_member (o, "idle_reason", reason);
  return o;
}

/* The bus's broadcast events carry the broadcast as the API showed it
 * then, which does not name its space: the stored document does. */
static void
on_broadcast_event (ScSpaceEvents *se, ScEvent *event, const char *name)
{
  g_autoptr (JsonObject) doc = sc_store_get (se->spaces->store, SC_KIND_BROADCAST,
                                             event->object_id, NULL);
  if (!doc || !event->data)
    return;
  g_autoptr (JsonObject) o = broadcast_object (event->data);
  g_autofree char *text = sse_event (name, o);
  broadcast (se, json_object_get_string_member (doc, "_space_id"), text);
}

static void
on_event (ScEvent *event, gpointer user_data)
{
  ScSpaceEvents *se = user_data;
  if (g_str_equal (event->type, "video.space.broadcast.active"))
    on_broadcast_event (se, event, "broadcast.active");
  else if (g_str_equal (event->type, "video.space.broadcast.idle"))
    on_broadcast_event (se, event, "broadcast.idle");
  /* A deleted space has nobody left to show: its streams end, and its
   * media counters go with it. */
  if (!g_str_equal (event->type, "video.space.deleted"))
    return;
  g_hash_table_remove (se->spaces->media_left, event->object_id);
  GPtrArray *list = g_hash_table_lookup (se->streams, event->object_id);
  g_autoptr (GPtrArray) ending = list ? g_ptr_array_copy (list, NULL, NULL) : NULL;
  for (guint i = 0; ending && i < ending->len; i++) {
    stream_write (ending->pdata[i], "event: space.deleted\ndata: {}\n\n");
    stream_end (ending->pdata[i]);
  }
}

static void
write_keepalive (Stream *st, gconstpointer data)
{
  stream_write (st, ": keep-alive\n\n");
}

static gboolean
on_keepalive (gpointer user_data)
{
  foreach_stream (user_data, write_keepalive, NULL);
  return G_SOURCE_CONTINUE;
}

static char *
snapshot (ScSpaces *spaces, const char *space_id)
{
  g_autoptr (GPtrArray) ps = sc_spaces_get_participants (spaces, space_id);
  JsonArray *arr = json_array_new ();
  for (guint i = 0; i < ps->len; i++) {
    ScParticipant *p = ps->pdata[i];
    JsonObject *o = participant_object (p);
    add_tracks (o, p);
    json_array_add_object_element (arr, o);
  }
  const char *filters[] = { "_space_id", space_id, NULL };
  g_autoptr (GPtrArray) bs = sc_store_list (spaces->store, SC_KIND_BROADCAST, filters, 1000, 0,
                                            NULL);
  JsonArray *barr = json_array_new ();
  /* Oldest first, as the space's own listing. */
  for (guint i = bs ? bs->len : 0; i > 0; i--)
    json_array_add_object_element (barr, broadcast_object (bs->pdata[i - 1]));
  g_autoptr (JsonObject) data = json_object_new ();
  json_object_set_array_member (data, "participants", arr);
  json_object_set_array_member (data, "broadcasts", barr);
  return sse_event ("snapshot", data);
}

static void
add_cors (SoupServerMessage *msg)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Access-Control-Allow-Origin", "*");
}

/* EventSource cannot set headers, so the token may come as ?token=. */
static const char *
request_token (ScRequest *req)
{
  const char *auth = soup_message_headers_get_one (
      soup_server_message_get_request_headers (req->msg), "Authorization");
  if (auth && g_ascii_strncasecmp (auth, "Bearer ", 7) == 0)
    return auth + 7;
  return sc_request_query (req, "token");
}

static void
events_get (ScRequest *req)
{
  ScSpaceEvents *se = req->user_data;
  ScSpaces *spaces = se->spaces;
  const char *space_id = req->params[0];
  g_autoptr (GError) error = NULL;

  add_cors (req->msg);
  const char *token = request_token (req);
  if (!token) {
    sc_api_reply_error_code (req, SC_ERROR_UNAUTHORIZED,
                             "a space JWT is required: Authorization: Bearer <token> or ?token=");
    return;
  }
  /* Either role may watch: a subscriber is who this is for. */
  g_autoptr (ScJwtClaims) claims = sc_jwt_verify_space_token (
      token, space_id, sc_store_signing_key_pem, spaces->store, sc_core_now_unix (),
      spaces->config->token_max_lifetime_s, &error);
  if (!claims) {
    sc_api_reply_error (req, error);
    return;
  }
  g_autoptr (JsonObject) space = sc_api_load (req, SC_KIND_SPACE, space_id);
  if (!space)
    return;
  if (se->closing || spaces->closing) {
    sc_api_reply_error_code (req, SC_ERROR_UNAVAILABLE, "spacecast is shutting down");
    return;
  }
  GPtrArray *list = g_hash_table_lookup (se->streams, space_id);
  guint max = spaces->config->space_max_event_streams;
  if (max && list && list->len >= max) {
    soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                  "Retry-After", "5");
    sc_api_reply_error_code (req, SC_ERROR_TOO_MANY_REQUESTS,
                             "space %s already has %u event streams open", space_id, max);
    return;
  }

  SoupMessageHeaders *h = soup_server_message_get_response_headers (req->msg);
  soup_message_headers_set_encoding (h, SOUP_ENCODING_CHUNKED);
  soup_message_headers_replace (h, "Content-Type", "text/event-stream");
  soup_message_headers_replace (h, "Cache-Control", "no-cache");
  /* nginx would otherwise hold events back to fill its buffers. */
  soup_message_headers_replace (h, "X-Accel-Buffering", "no");
  soup_server_message_set_status (req->msg, 200, NULL);

  Stream *st = g_new0 (Stream, 1);
  st->owner = se;
  st->msg = g_object_ref (req->msg);
  st->space_id = g_strdup (space_id);
  if (!list) {
    list = g_ptr_array_new ();
    g_hash_table_insert (se->streams, g_strdup (space_id), list);
  }
  g_ptr_array_add (list, st);
  g_signal_connect (req->msg, "finished", G_CALLBACK (on_finished), st);
  g_autofree char *first = snapshot (spaces, space_id);
  stream_write (st, first);
}

static void
events_options (ScRequest *req)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (req->msg);
  add_cors (req->msg);
  soup_message_headers_replace (h, "Access-Control-Allow-Methods", "GET, OPTIONS");
  soup_message_headers_replace (h, "Access-Control-Allow-Headers", "Authorization");
  soup_message_headers_replace (h, "Access-Control-Max-Age", "86400");
  soup_server_message_set_status (req->msg, 204, NULL);
}

ScSpaceEvents *
sc_space_events_new (ScApi *api, ScSpaces *spaces, ScEvents *events)
{
  static const ScSpaceObserver observer = {
    .joined = on_joined, .left = on_left, .track_added = on_track_added,
  };
  ScSpaceEvents *se = g_new0 (ScSpaceEvents, 1);
  se->spaces = spaces;
  se->events = events;
  se->streams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_ptr_array_unref);
  se->observer = sc_spaces_add_observer (spaces, &observer, se);
  se->subscription = sc_events_subscribe (events, NULL, on_event, se, NULL);
  se->keepalive = g_timeout_add_seconds (KEEPALIVE_S, on_keepalive, se);
  sc_api_add_route (api, "GET", EVENTS_ROUTE, SC_ROUTE_CORS, events_get, se);
  sc_api_add_route (api, "OPTIONS", EVENTS_ROUTE, 0, events_options, se);
  return se;
}

static void
end_stream (Stream *st, gconstpointer data)
{
  stream_end (st);
}

void
sc_space_events_shutdown (ScSpaceEvents *se)
{
  se->closing = TRUE;
  foreach_stream (se, end_stream, NULL);
}

static void
free_stream (Stream *st, gconstpointer data)
{
  stream_free (st);
}

void
sc_space_events_free (ScSpaceEvents *se)
{
  if (!se)
    return;
  sc_space_events_shutdown (se);
  sc_spaces_remove_observer (se->spaces, se->observer);
  sc_events_unsubscribe (se->events, se->subscription);
  g_source_remove (se->keepalive);
  /* Streams whose last chunk never went out (nothing iterates the main
   * context any more): the API's server closes their connections. */
  foreach_stream (se, free_stream, NULL);
  g_hash_table_unref (se->streams);
  g_free (se);
}
