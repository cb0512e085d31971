/* WHEP on /rt/v1/spaces/{SPACE_ID}/broadcasts/{BROADCAST_ID}/whep: the
 * program preview.  API credentials or a space JWT watch a running
 * broadcast's output with a recvonly offer, and stop with DELETE on the
 * session URL.  The broadcast's pipeline packetises its own H.264 and
 * encodes its mix once to Opus for all its viewers (bcast-preview.c); each
 * viewer is a forwarding WHEP peer (whip.h) fed from that tap, whose key
 * frame requests go to the broadcast's encoder (coalesced there).  A
 * broadcast that stops ends its previews.  Sessions per broadcast are
 * capped by broadcast_preview_max_viewers. */
#include "broadcast-private.h"
#include "spacecast/core.h"
#include "spacecast/sdp.h"

#include <string.h>

#define PREVIEW_BASE "/rt/v1/spaces/*/broadcasts/*/whep"
/* Someone has to leave before a full broadcast admits another viewer. */
#define RETRY_FULL_S 5

typedef struct {
  ScBroadcasts *b;
  char *session_id;
  char *space_id;
  char *broadcast_id;
  ScBcastPipeline *pipe;        /* borrowed: previews end before it stops */
  ScWhipPeer *viewer;           /* NULL while its offer is being answered */
  guint tap;
  SoupServerMessage *msg;       /* the POST, while answering */
  gboolean gone;                /* the broadcast stopped meanwhile */
} Preview;

static void
preview_free (Preview *pv)
{
  if (pv->tap)
    sc_bcast_pipeline_remove_preview (pv->pipe, pv->tap);
  if (pv->viewer) {
    g_signal_handlers_disconnect_matched (pv->viewer, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, pv);
    sc_whip_peer_close (pv->viewer);
    g_object_unref (pv->viewer);
  }
  g_clear_object (&pv->msg);
  g_free (pv->session_id);
  g_free (pv->space_id);
  g_free (pv->broadcast_id);
  g_free (pv);
}

static void
end_preview (Preview *pv, const char *why)
{
  g_message ("broadcast %s: preview session %s ended: %s", pv->broadcast_id, pv->session_id, why);
  g_hash_table_remove (pv->b->previews, pv->session_id);
}

void
sc_broadcast_previews_end (ScBroadcasts *b, const char *id, const char *why)
{
  g_autoptr (GPtrArray) ending = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, b->previews);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Preview *pv = value;
    if (id && !g_str_equal (pv->broadcast_id, id))
      continue;
    if (pv->viewer)
      g_ptr_array_add (ending, pv);
    else
      pv->gone = TRUE;
  }
  for (guint i = 0; i < ending->len; i++)
    end_preview (ending->pdata[i], why);
}

static void
forward_rtp (gboolean video, GstBuffer *rtp, gpointer viewer)
{
  sc_whip_viewer_send (viewer, video ? SC_WHIP_TRACK_VIDEO : SC_WHIP_TRACK_AUDIO, rtp);
}

static void
request_keyframe (gpointer data)
{
  Sink *sink = data;
  g_mutex_lock (&sink->lock);
  if (sink->pipe)
    sc_bcast_pipeline_request_keyframe (sink->pipe);
  g_mutex_unlock (&sink->lock);
}

static void
on_viewer_ended (ScWhipPeer *viewer, guint reason, const char *message, Preview *pv)
{
  end_preview (pv, message);
}

static void
on_viewer_ready (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Preview *pv = user_data;
  ScBroadcasts *b = pv->b;
  g_autoptr (GError) error = NULL;
  g_autofree char *answer = NULL;
  g_autoptr (SoupServerMessage) msg = g_steal_pointer (&pv->msg);
  ScWhipPeer *viewer = sc_whip_peer_new_finish (res, &answer, &error);

  b->answering--;
  sc_spaces_offer_done (b->spaces);
  if (viewer && (pv->gone || b->closing)) {
    sc_whip_peer_close (viewer);
    g_clear_object (&viewer);
    if (b->closing)
      g_set_error (&error, SC_ERROR, SC_ERROR_UNAVAILABLE, "spacecast is shutting down");
    else
      g_set_error (&error, SC_ERROR, SC_ERROR_CONFLICT, "broadcast %s stopped",
                   pv->broadcast_id);
  }
  if (viewer) {
    pv->viewer = viewer;
    g_signal_connect (viewer, "ended", G_CALLBACK (on_viewer_ended), pv);
    pv->tap = sc_bcast_pipeline_add_preview (pv->pipe, forward_rtp, g_object_ref (viewer),
                                             g_object_unref, &error);
  }
  if (!viewer || !pv->tap) {
    g_message ("broadcast %s: preview failed: %s", pv->broadcast_id, error->message);
    sc_spaces_reply_error_msg (msg, error);
    soup_server_message_unpause (msg);
    g_hash_table_remove (b->previews, pv->session_id);
    return;
  }
  g_message ("broadcast %s: preview session %s started", pv->broadcast_id, pv->session_id);

  g_autofree char *location = g_strdup_printf ("/rt/v1/spaces/%s/broadcasts/%s/whep/%s",
                                               pv->space_id, pv->broadcast_id, pv->session_id);
  sc_spaces_reply_session (msg, sc_api_get_config (b->api), location, pv->session_id, answer);
  soup_server_message_unpause (msg);
}

static guint
count_viewers (ScBroadcasts *b, const char *id)
{
  GHashTableIter it;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&it, b->previews);
  while (g_hash_table_iter_next (&it, NULL, &value))
    n += g_str_equal (((Preview *) value)->broadcast_id, id);
  return n;
}

static void
preview_post (ScRequest *req)
{
  ScBroadcasts *b = req->user_data;
  const char *space_id = req->params[0], *id = req->params[1];
  ScConfig *config = sc_api_get_config (b->api);
  g_autoptr (GError) error = NULL;
  SoupMessageHeaders *rh = soup_server_message_get_request_headers (req->msg);

  sc_spaces_add_cors (req->msg);
  if (!sc_spaces_check_viewer (b->spaces, req, space_id))
    return;
  g_autoptr (JsonObject) doc = sc_api_load_broadcast (req);
  if (!doc)
    return;
  Running *r = g_hash_table_lookup (b->running, id);
  char plid[8] = "";
  if (!r) {
    sc_api_reply_error_code (req, SC_ERROR_CONFLICT,
                             "broadcast %s is not running: start it before watching its "
                             "program", id);
    return;
  }
  if (!sc_bcast_pipeline_get_h264_profile (r->pipe, plid)) {
    soup_message_headers_replace (soup_server_message_get_response_headers (req->msg),
                                  "Retry-After", "1");
    sc_api_reply_error_code (req, SC_ERROR_CONFLICT,
                             "broadcast %s has not encoded its first frame yet; retry "
                             "shortly", id);
    return;
  }
  g_autofree char *offer = sc_spaces_read_offer (req, soup_message_headers_get_content_type (
                                                   rh, NULL), "WHEP");
  if (!offer)
    return;
  g_auto (ScSdpOfferInfo) info = { 0 };
  if (!sc_sdp_check_whep_offer (offer, &info, &error)) {
    sc_api_reply_error (req, error);
    return;
  }
  /* Refusals that waiting may cure come last. */
  guint max = config->broadcast_preview_max_viewers;
  guint n = count_viewers (b, id);
  if (max > 0 && n >= max) {
    g_set_error (&error, SC_ERROR, SC_ERROR_TOO_MANY_REQUESTS,
                 "broadcast %s has %u preview sessions open or opening, the most allowed "
                 "(broadcast_preview_max_viewers)", id, n);
    g_message ("broadcast %s: preview refused: %s", id, error->message);
    sc_spaces_reply_retry (req, error, RETRY_FULL_S);
    return;
  }
  if (!sc_spaces_admit_offer (b->spaces, req))
    return;

  /* What the offer receives: a video-only (or audio-only) viewer is fine. */
  ScWhipSendTrack tracks[2] = { 0 };
  guint n_tracks = 0;
  if (info.video.present) {
    tracks[n_tracks] = (ScWhipSendTrack) { .kind = SC_WHIP_TRACK_VIDEO, .codec = "H264" };
    g_strlcpy (tracks[n_tracks++].profile_level_id, plid, sizeof tracks[0].profile_level_id);
  }
  if (info.audio.present)
    tracks[n_tracks++] = (ScWhipSendTrack) { .kind = SC_WHIP_TRACK_AUDIO, .codec = "OPUS" };
  ScWhipConfig cfg = sc_spaces_whip_config (config);
  Preview *pv = g_new0 (Preview, 1);
  pv->b = b;
  pv->session_id = sc_core_new_id ();
  pv->space_id = g_strdup (space_id);
  pv->broadcast_id = g_strdup (id);
  pv->pipe = r->pipe;
  pv->msg = g_object_ref (req->msg);
  g_hash_table_insert (b->previews, pv->session_id, pv);
  b->answering++;
  soup_server_message_pause (req->msg);
  g_autofree char *label = g_strdup_printf ("%s-preview", id);
  sc_whip_viewer_new_async (&cfg, label, info.webrtcbin_offer, tracks, n_tracks,
                            sc_bcast_pipeline_get_base_time (r->pipe), request_keyframe,
                            sc_broadcast_sink_ref (r->sink),
                            (GDestroyNotify) sc_broadcast_sink_unref, NULL, on_viewer_ready, pv);
}

static void
preview_delete (ScRequest *req)
{
  ScBroadcasts *b = req->user_data;
  Preview *pv = g_hash_table_lookup (b->previews, req->params[2]);

  sc_spaces_add_cors (req->msg);
  /* As for WHIP, the unguessable session URL is the capability. */
  if (!pv || !pv->viewer || !g_str_equal (pv->space_id, req->params[0]) ||
      !g_str_equal (pv->broadcast_id, req->params[1])) {
    sc_api_reply_error_code (req, SC_ERROR_NOT_FOUND, "no WHEP session %s on broadcast %s "
                             "in space %s", req->params[2], req->params[1], req->params[0]);
    return;
  }
  end_preview (pv, "WHEP session deleted");
  soup_server_message_set_status (req->msg, 200, NULL);
}

void
sc_broadcast_previews_init (ScBroadcasts *b)
{
  b->previews = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) preview_free);
  sc_api_add_route (b->api, "POST", PREVIEW_BASE, SC_ROUTE_RAW_BODY | SC_ROUTE_CORS,
                    preview_post, b);
  sc_api_add_route (b->api, "OPTIONS", PREVIEW_BASE, 0, sc_spaces_whip_options, b->spaces);
  sc_api_add_route (b->api, "DELETE", PREVIEW_BASE "/*", 0, preview_delete, b);
  sc_api_add_route (b->api, "OPTIONS", PREVIEW_BASE "/*", 0, sc_spaces_whip_options, b->spaces);
}

void
sc_broadcast_previews_free (ScBroadcasts *b)
{
  while (b->answering > 0)
    g_main_context_iteration (NULL, TRUE);
  g_hash_table_unref (b->previews);
}
