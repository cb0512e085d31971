/* The participants registry and each space's live status. */
#include "space-private.h"
#include "spacecast/core.h"

typedef struct {
  guint id;
  ScSpaceObserver cb;
  gpointer user_data;
} Observer;

#define NOTIFY(spaces, member, ...)                                        \
  G_STMT_START {                                                           \
    for (guint i_ = 0; i_ < (spaces)->observers->len; i_++) {             \
      Observer *o_ = &g_array_index ((spaces)->observers, Observer, i_);   \
      if (o_->cb.member)                                                   \
        o_->cb.member (__VA_ARGS__, o_->user_data);                        \
    }                                                                      \
  } G_STMT_END

static void
participant_free (ScParticipant *p)
{
  if (p->peer) {
    g_signal_handlers_disconnect_matched (p->peer, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, p);
    sc_whip_peer_close (p->peer);
    g_object_unref (p->peer);
  }
  g_free (p->space_id);
  g_free (p->participant_id);
  g_free (p->connection_id);
  g_free (p->role);
  g_free (p);
}

ScSpaces *
sc_spaces_new (ScApi *api)
{
  ScSpaces *s = g_new0 (ScSpaces, 1);
  s->api = api;
  s->store = sc_api_get_store (api);
  s->config = sc_api_get_config (api);
  s->participants = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                           (GDestroyNotify) participant_free);
  s->reserved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->subscriptions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify) sc_subscription_free);
  s->media_left = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->observers = g_array_new (FALSE, FALSE, sizeof (Observer));
  s->next_observer_id = 1;
  sc_spaces_register_routes (s);
  sc_spaces_register_whep_routes (s);
  return s;
}

void
sc_spaces_shutdown (ScSpaces *s)
{
  s->closing = TRUE;
  /* A join being answered holds the registry: let it finish (and be
   * refused) before the registry goes away. */
  while (s->pending_joins > 0)
    g_main_context_iteration (NULL, TRUE);
  g_autofree gpointer *ids = (gpointer *) g_hash_table_get_keys_as_array (s->participants, NULL);
  for (guint i = 0; ids[i]; i++)
    sc_spaces_remove_participant (s, ids[i], "spacecast is shutting down");
  sc_spaces_end_subscriptions (s, NULL, "spacecast is shutting down");
}

void
sc_spaces_free (ScSpaces *s)
{
  if (!s)
    return;
  g_hash_table_unref (s->subscriptions);
  g_hash_table_unref (s->participants);
  g_hash_table_unref (s->reserved);
  g_hash_table_unref (s->media_left);
  g_array_unref (s->observers);
  g_free (s);
}

guint
sc_spaces_add_observer (ScSpaces *s, const ScSpaceObserver *cb, gpointer user_data)
{
  Observer o = { s->next_observer_id++, *cb, user_data };
  g_array_append_val (s->observers, o);
  return o.id;
}

void
sc_spaces_remove_observer (ScSpaces *s, guint id)
{
  for (guint i = 0; i < s->observers->len; i++)
    if (g_array_index (s->observers, Observer, i).id == id) {
      g_array_remove_index (s->observers, i);
      return;
    }
}

char *
sc_spaces_reservation_key (const char *space_id, const char *participant_id)
{
  return g_strconcat (space_id, "/", participant_id, NULL);
}

static gint
by_join_order (gconstpointer a, gconstpointer b)
{
  const ScParticipant *pa = *(ScParticipant **) a, *pb = *(ScParticipant **) b;
  return (gint) pa->join_order - (gint) pb->join_order;
}

GPtrArray *
sc_spaces_get_participants (ScSpaces *s, const char *space_id)
{
  GPtrArray *out = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, s->participants);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    ScParticipant *p = value;
    if (g_str_equal (p->space_id, space_id))
      g_ptr_array_add (out, p);
  }
  g_ptr_array_sort (out, by_join_order);
  return out;
}

gboolean
sc_spaces_is_active (ScSpaces *s, const char *space_id)
{
  g_autoptr (GPtrArray) ps = sc_spaces_get_participants (s, space_id);
  return ps->len > 0;
}

GHashTable *
sc_spaces_count_participants (ScSpaces *s)
{
  GHashTable *counts = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, s->participants);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    ScParticipant *p = value;
    guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, p->space_id));
    g_hash_table_insert (counts, p->space_id, GUINT_TO_POINTER (n + 1));
  }
  return counts;
}

static void
media_add (GHashTable *sums, const char *space_id, ScWhipPeer *peer)
{
  ScWhipMediaStats st;
  ScWhipMediaStats *sum = g_hash_table_lookup (sums, space_id);
  if (!peer)
    return;
  if (!sum) {
    sum = g_new0 (ScWhipMediaStats, 1);
    g_hash_table_insert (sums, g_strdup (space_id), sum);
  }
  sc_whip_peer_get_media_stats (peer, &st);
  sum->packets_received += st.packets_received;
  sum->packets_lost += st.packets_lost;
  sum->nacks_sent += st.nacks_sent;
  sum->keyframe_requests += st.keyframe_requests;
  sum->decode_errors += st.decode_errors;
}

GHashTable *
sc_spaces_media_stats (ScSpaces *s)
{
  GHashTable *sums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, s->media_left);
  while (g_hash_table_iter_next (&it, &key, &value))
    g_hash_table_insert (sums, g_strdup (key), g_memdup2 (value, sizeof (ScWhipMediaStats)));
  g_hash_table_iter_init (&it, s->participants);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    ScParticipant *p = value;
    media_add (sums, p->space_id, p->peer);
  }
  return sums;
}

/* Keep the stored space in line with who is connected.  A failure to write
 * is logged: the participants themselves are unaffected. */
static void
set_space_status (ScSpaces *s, const char *space_id, gboolean active)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = sc_store_get (s->store, SC_KIND_SPACE, space_id, &error);
  if (!doc)
    goto fail;
  gboolean was_active = g_str_equal (json_object_get_string_member (doc, "status"), "active");
  if (was_active == active)
    return;
  json_object_set_string_member (doc, "status", active ? "active" : "idle");
  if (active) {
    g_autofree char *session = sc_core_new_id ();
    json_object_set_string_member (doc, "active_session_id", session);
  } else if (json_object_has_member (doc, "active_session_id")) {
    json_object_remove_member (doc, "active_session_id");
  }
  if (!sc_events_put (s->store, SC_KIND_SPACE, space_id, doc,
                      active ? "video.space.active" : "video.space.idle", &error))
    goto fail;
  g_message ("space %s is now %s", space_id, active ? "active" : "idle");
  return;
fail:
  g_warning ("space %s: cannot record status: %s", space_id, error->message);
}

/* video.space.participant.joined/left (a spacecast extension): about the
 * space, carrying the participant. */
static void
publish_participant (ScSpaces *s, const ScParticipant *p, const char *type)
{
  g_autoptr (JsonObject) doc = json_object_new ();
  g_autofree char *joined = g_strdup_printf ("%" G_GINT64_FORMAT, p->joined_at);
  json_object_set_string_member (doc, "space_id", p->space_id);
  json_object_set_string_member (doc, "participant_id", p->participant_id);
  json_object_set_string_member (doc, "connection_id", p->connection_id);
  json_object_set_string_member (doc, "role", p->role);
  json_object_set_string_member (doc, "joined_at", joined);
  sc_events_notify (s->store, type, p->space_id, doc);
}

static void
on_track_added (ScWhipPeer *peer, guint kind, const char *codec, ScParticipant *p)
{
  ScSpaces *s = g_object_get_data (G_OBJECT (peer), "sc-spaces");
  if (kind == SC_WHIP_TRACK_VIDEO)
    p->has_video = TRUE;
  else
    p->has_audio = TRUE;
  g_message ("space %s: participant %s publishes %s %s", p->space_id, p->participant_id,
             kind == SC_WHIP_TRACK_VIDEO ? "video" : "audio", codec);
  NOTIFY (s, track_added, p, kind);
}

static void
on_first_frame (ScWhipPeer *peer, gint64 usec, ScParticipant *p)
{
  g_message ("space %s: participant %s first decoded video frame after %.0f ms", p->space_id,
             p->participant_id, usec / 1000.0);
}

static void
on_ended (ScWhipPeer *peer, guint reason, const char *message, ScParticipant *p)
{
  ScSpaces *s = g_object_get_data (G_OBJECT (peer), "sc-spaces");
  g_autofree char *conn = g_strdup (p->connection_id);
  sc_spaces_remove_participant (s, conn, message);
}

void
sc_spaces_add_participant (ScSpaces *s, ScParticipant *p)
{
  p->join_order = s->next_join_order++;
  g_object_set_data (G_OBJECT (p->peer), "sc-spaces", s);
  g_signal_connect (p->peer, "track-added", G_CALLBACK (on_track_added), p);
  g_signal_connect (p->peer, "ended", G_CALLBACK (on_ended), p);
  g_signal_connect (p->peer, "first-frame", G_CALLBACK (on_first_frame), p);
  g_hash_table_insert (s->participants, p->connection_id, p);
  set_space_status (s, p->space_id, TRUE);
  publish_participant (s, p, "video.space.participant.joined");
  g_message ("space %s: participant %s joined (connection %s)", p->space_id,
             p->participant_id, p->connection_id);
  NOTIFY (s, joined, p);
}

void
sc_spaces_remove_participant (ScSpaces *s, const char *connection_id, const char *why)
{
  ScParticipant *p = g_hash_table_lookup (s->participants, connection_id);
  if (!p)
    return;
  g_autofree char *space_id = g_strdup (p->space_id);
  g_autofree char *key = sc_spaces_reservation_key (p->space_id, p->participant_id);
  g_message ("space %s: participant %s left: %s", p->space_id, p->participant_id, why);
  /* Out of the registry before the announcement, so that observers who
   * relayout on it no longer count the leaver; freed after it, so they can
   * still read it. */
  g_hash_table_steal (s->participants, connection_id);
  g_hash_table_remove (s->reserved, key);
  sc_spaces_end_subscriptions (s, connection_id, "the publisher left");
  NOTIFY (s, left, p);
  publish_participant (s, p, "video.space.participant.left");
  /* Its counts stay with the space: they are counters. */
  media_add (s->media_left, p->space_id, p->peer);
  participant_free (p);
  if (!sc_spaces_is_active (s, space_id)) {
    set_space_status (s, space_id, FALSE);
    NOTIFY (s, space_idle, space_id);
  }
}
