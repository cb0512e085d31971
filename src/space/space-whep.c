/* WHEP on /rt/v1/spaces/{SPACE_ID}/participants/{PARTICIPANT_ID}/whep: a
 * space JWT of either role subscribes to one participant's tracks with a
 * recvonly offer, and unsubscribes with DELETE on the session URL.  The
 * publisher's RTP is forwarded as it arrives (an RTP tap on its peer feeds
 * the viewer, which queues leakily), the viewer's key frame requests go back
 * to the publisher (coalesced there), and a publisher that leaves takes
 * its subscriptions along. */
#include "space-private.h"
#include "spacecast/auth.h"
#include "spacecast/core.h"
#include "spacecast/sdp.h"

#include <string.h>

#define WHEP_BASE "/rt/v1/spaces"

struct _ScSubscription {
  ScSpaces *spaces;
  char *session_id;
  char *space_id;
  char *participant_id;       /* whom it watches */
  char *publisher_conn;       /* that participant's WHIP connection */
  ScWhipPeer *publisher;      /* a ref */
  ScWhipPeer *viewer;         /* NULL while its offer is being answered */
  guint tap;
  SoupServerMessage *msg;     /* the POST, while answering */
};

void
sc_subscription_free (ScSubscription *sub)
{
  if (sub->tap)
    sc_whip_peer_remove_tap (sub->publisher, sub->tap);
  if (sub->viewer) {
    g_signal_handlers_disconnect_matched (sub->viewer, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, sub);
    sc_whip_peer_close (sub->viewer);
    g_object_unref (sub->viewer);
  }
  g_clear_object (&sub->publisher);
  g_clear_object (&sub->msg);
  g_free (sub->session_id);
  g_free (sub->space_id);
  g_free (sub->participant_id);
  g_free (sub->publisher_conn);
  g_free (sub);
}

static void
end_subscription (ScSpaces *s, ScSubscription *sub, const char *why)
{
  g_message ("space %s: WHEP session %s on %s ended: %s", sub->space_id, sub->session_id,
             sub->participant_id, why);
  g_hash_table_remove (s->subscriptions, sub->session_id);
}

void
sc_spaces_end_subscriptions (ScSpaces *s, const char *connection_id, const char *why)
{
  g_autoptr (GPtrArray) ending = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, s->subscriptions);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    ScSubscription *sub = value;
    /* One still answering its offer finds its publisher gone when done. */
    if (sub->viewer && (!connection_id || g_str_equal (sub->publisher_conn, connection_id)))
      g_ptr_array_add (ending, sub);
  }
  for (guint i = 0; i < ending->len; i++)
    end_subscription (s, ending->pdata[i], why);
}

static void
forward_rtp (ScWhipTrackKind kind, GstBuffer *rtp, gpointer user_data)
{
  sc_whip_viewer_send (user_data, kind, rtp);
}

static void
on_viewer_ended (ScWhipPeer *viewer, guint reason, const char *message, ScSubscription *sub)
{
  end_subscription (sub->spaces, sub, message);
}

static ScParticipant *
find_participant (ScSpaces *s, const char *space_id, const char *participant_id)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, s->participants);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    ScParticipant *p = value;
    if (g_str_equal (p->space_id, space_id) && g_str_equal (p->participant_id, participant_id))
      return p;
  }
  return NULL;
}

static void
on_viewer_ready (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ScSubscription *sub = user_data;
  ScSpaces *s = sub->spaces;
  g_autoptr (GError) error = NULL;
  g_autofree char *answer = NULL;
  g_autoptr (SoupServerMessage) msg = g_steal_pointer (&sub->msg);
  ScWhipPeer *viewer = sc_whip_peer_new_finish (res, &answer, &error);

  s->pending_joins--;
  /* The publisher may have gone while we answered. */
  ScParticipant *p = find_participant (s, sub->space_id, sub->participant_id);
  if (viewer && (s->closing || !p || !g_str_equal (p->connection_id, sub->publisher_conn))) {
    sc_whip_peer_close (viewer);
    g_clear_object (&viewer);
    if (s->closing)
      g_set_error (&error, SC_ERROR, SC_ERROR_UNAVAILABLE, "spacecast is shutting down");
    else
      g_set_error (&error, SC_ERROR, SC_ERROR_NOT_FOUND,
                   "participant %s left space %s", sub->participant_id, sub->space_id);
  }
  if (!viewer) {
    g_message ("space %s: WHEP subscription to %s failed: %s", sub->space_id,
               sub->participant_id, error->message);
    sc_spaces_reply_error_msg (msg, error);
    soup_server_message_unpause (msg);
    g_hash_table_remove (s->subscriptions, sub->session_id);
    return;
  }
  sub->viewer = viewer;
  g_signal_connect (viewer, "ended", G_CALLBACK (on_viewer_ended), sub);
  sub->tap = sc_whip_peer_add_rtp_tap (sub->publisher, forward_rtp, g_object_ref (viewer),
                                       g_object_unref);
  g_message ("space %s: WHEP session %s watches %s", sub->space_id, sub->session_id,
             sub->participant_id);

  g_autofree char *location = g_strdup_printf (WHEP_BASE "/%s/participants/%s/whep/%s",
                                               sub->space_id, sub->participant_id,
                                               sub->session_id);
  sc_spaces_reply_session (msg, s->config, location, sub->session_id, answer);
  soup_server_message_unpause (msg);
}

static guint
count_subscriptions (ScSpaces *s, const char *space_id)
{
  GHashTableIter it;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&it, s->subscriptions);
  while (g_hash_table_iter_next (&it, NULL, &value))
    n += g_str_equal (((ScSubscription *) value)->space_id, space_id);
  return n;
}

static void
whep_post (ScRequest *req)
{
  ScSpaces *s = req->user_data;
  const char *space_id = req->params[0], *participant_id = req->params[1];
  g_autoptr (GError) error = NULL;
  SoupMessageHeaders *rh = soup_server_message_get_request_headers (req->msg);
  const char *ctype = soup_message_headers_get_content_type (rh, NULL);

  sc_spaces_add_cors (req->msg);
  if (s->closing) {
    sc_api_reply_error_code (req, SC_ERROR_UNAVAILABLE, "spacecast is shutting down");
    return;
  }
  /* Either role may watch: subscribers are who this is for. */
  g_autoptr (ScJwtClaims) claims = sc_spaces_verify_bearer (s, req, space_id);
  if (!claims)
    return;
  g_autoptr (JsonObject) space = sc_api_load (req, SC_KIND_SPACE, space_id);
  if (!space)
    return;
  ScParticipant *p = find_participant (s, space_id, participant_id);
  if (!p) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND,
                             "participant %s is not connected to space %s",
                             participant_id, space_id);
    return;
  }
  g_autofree char *offer = sc_spaces_read_offer (req, ctype, "WHEP");
  if (!offer)
    return;
  g_auto (ScSdpOfferInfo) info = { 0 };
  if (!sc_sdp_check_whep_offer (offer, &info, &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  ScWhipSendTrack tracks[2];
  guint n_tracks = sc_whip_peer_get_send_tracks (p->peer, tracks);
  if (n_tracks == 0) {
    sc_api_reply_error_code (req, SC_ERROR_CONFLICT,
                             "participant %s publishes no track yet", participant_id);
    return;
  }

  ScAdmitState admit = {
    .pending_joins = s->pending_joins,
    .max_pending_joins = s->config->whip_max_pending_joins,
    .space_participants = count_subscriptions (s, space_id),
    .max_space_participants = s->config->space_max_subscriptions,
    .whep = TRUE,
  };
  sc_spaces_read_usage (&admit);
  guint retry_after_s = 0;
  if (!sc_spaces_admit (&admit, &retry_after_s, &error)) {
    g_message ("space %s: WHEP subscription to %s refused: %s", space_id, participant_id,
               error->message);
    sc_spaces_reply_retry (req, error, retry_after_s);
    return;
  }

  ScWhipConfig cfg = sc_spaces_whip_config (s->config);
  ScSubscription *sub = g_new0 (ScSubscription, 1);
  sub->spaces = s;
  sub->session_id = sc_core_new_id ();
  sub->space_id = g_strdup (space_id);
  sub->participant_id = g_strdup (participant_id);
  sub->publisher_conn = g_strdup (p->connection_id);
  sub->publisher = g_object_ref (p->peer);
  sub->msg = g_object_ref (req->msg);
  g_hash_table_insert (s->subscriptions, sub->session_id, sub);
  s->pending_joins++;
  soup_server_message_pause (req->msg);
  g_autofree char *label = g_strdup_printf ("%s-viewer", participant_id);
  sc_whip_viewer_new_async (&cfg, label, info.webrtcbin_offer, tracks, n_tracks,
                            sc_whip_peer_get_base_time (p->peer),
                            (ScWhipKeyframeFunc) sc_whip_peer_request_keyframe,
                            g_object_ref (p->peer), g_object_unref, NULL, on_viewer_ready, sub);
}

static void
whep_delete (ScRequest *req)
{
  ScSpaces *s = req->user_data;
  ScSubscription *sub = g_hash_table_lookup (s->subscriptions, req->params[2]);

  sc_spaces_add_cors (req->msg);
  /* As for WHIP, the unguessable session URL is the capability. */
  if (!sub || !sub->viewer || !g_str_equal (sub->space_id, req->params[0]) ||
      !g_str_equal (sub->participant_id, req->params[1])) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "no WHEP session %s on participant %s "
                             "in space %s", req->params[2], req->params[1], req->params[0]);
    return;
  }
  end_subscription (s, sub, "WHEP session deleted");
  soup_server_message_set_status (req->msg, 200, NULL);
}

gboolean
sc_spaces_check_viewer (ScSpaces *s, ScRequest *req, const char *space_id)
{
  g_autoptr (GError) error = NULL;
  const char *auth = soup_message_headers_get_one (
      soup_server_message_get_request_headers (req->msg), "Authorization");

  if (auth && g_ascii_strncasecmp (auth, "Basic ", 6) == 0) {
    if (sc_auth_check_basic (s->store, auth, &error))
      return TRUE;
    sc_api_reply_error (req, error);
    return FALSE;
  }
  if (!auth || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0) {
    sc_api_reply_error_code (req, SC_ERROR_UNAUTHORIZED,
                             "API credentials (Authorization: Basic) or a space JWT "
                             "(Authorization: Bearer <token>) are required");
    return FALSE;
  }
  g_autoptr (ScJwtClaims) claims = sc_spaces_verify_bearer (s, req, space_id);
  return claims != NULL;
}

gboolean
sc_spaces_admit_offer (ScSpaces *s, ScRequest *req)
{
  g_autoptr (GError) error = NULL;
  guint retry_after_s = 0;

  if (s->closing) {
    sc_api_reply_error_code (req, SC_ERROR_UNAVAILABLE, "spacecast is shutting down");
    return FALSE;
  }
  ScAdmitState admit = {
    .pending_joins = s->pending_joins,
    .max_pending_joins = s->config->whip_max_pending_joins,
    .whep = TRUE,
  };
  sc_spaces_read_usage (&admit);
  if (!sc_spaces_admit (&admit, &retry_after_s, &error)) {
    sc_spaces_reply_retry (req, error, retry_after_s);
    return FALSE;
  }
  s->pending_joins++;
  return TRUE;
}

void
sc_spaces_offer_done (ScSpaces *s)
{
  g_return_if_fail (s->pending_joins > 0);
  s->pending_joins--;
}

void
sc_spaces_register_whep_routes (ScSpaces *s)
{
  sc_api_add_route (s->api, "POST", WHEP_BASE "/*/participants/*/whep",
                    SC_ROUTE_RAW_BODY | SC_ROUTE_BEARER_AUTH | SC_ROUTE_CORS, whep_post, s);
  sc_api_add_route (s->api, "OPTIONS", WHEP_BASE "/*/participants/*/whep", 0, sc_spaces_whip_options, s);
  sc_api_add_route (s->api, "DELETE", WHEP_BASE "/*/participants/*/whep/*", 0, whep_delete, s);
  sc_api_add_route (s->api, "OPTIONS", WHEP_BASE "/*/participants/*/whep/*", 0, sc_spaces_whip_options, s);
}
