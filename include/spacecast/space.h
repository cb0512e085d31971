/* spacecast space: who is in which space right now.  It owns the WHIP
 * routes (join with a space JWT, leave with DELETE), the WHEP routes that
 * subscribe to a participant's forwarded tracks (space-whep.c; they end
 * when the participant leaves), and their admission
 * (one session per participant, or per token without participant_id;
 * joins answered at once and participants per space capped; fd and thread
 * headroom kept, see space-admit.c), the participants
 * registry, each space's live status (idle/active, active_session_id, kept
 * in the store) and the announcements that consumers such as broadcasts
 * listen to: participant joined/left, track added, audio level.  Everything
 * here runs on the main context; a participant's failure only ever removes
 * that participant. */
#pragma once

#include <glib.h>

#include "spacecast/api.h"
#include "spacecast/events.h"
#include "spacecast/whip.h"

G_BEGIN_DECLS

typedef struct _ScSpaces ScSpaces;

typedef struct {
  char *space_id;
  char *participant_id;
  char *connection_id;
  char *role;                 /* "publisher" (subscribers cannot publish) */
  gint64 joined_at;           /* Unix seconds */
  guint join_order;           /* increases with every join, daemon-wide */
  gboolean has_video, has_audio;
  ScWhipPeer *peer;
} ScParticipant;

typedef struct {
  void (*joined)      (const ScParticipant *p, gpointer user_data);
  void (*left)        (const ScParticipant *p, gpointer user_data);
  void (*track_added) (const ScParticipant *p, ScWhipTrackKind kind, gpointer user_data);
  void (*space_idle)  (const char *space_id, gpointer user_data);
} ScSpaceObserver;

ScSpaces  *sc_spaces_new (ScApi *api);
/* Shutdown, first half: refuse new joins and end every session (observers
 * hear each leave).  _free then only frees. */
void       sc_spaces_shutdown (ScSpaces *spaces);
void       sc_spaces_free (ScSpaces *spaces);

/* Observers see every space; filter on p->space_id. */
guint      sc_spaces_add_observer    (ScSpaces *spaces, const ScSpaceObserver *observer,
                                      gpointer user_data);
void       sc_spaces_remove_observer (ScSpaces *spaces, guint id);

/* The connected participants of @space_id (borrowed pointers, valid until
 * the next main-loop iteration), in join order. */
GPtrArray *sc_spaces_get_participants (ScSpaces *spaces, const char *space_id);
gboolean   sc_spaces_is_active (ScSpaces *spaces, const char *space_id);
/* Connected participants per space: space id (borrowed, valid as above) →
 * GUINT_TO_POINTER (count); spaces with none are absent. */
GHashTable *sc_spaces_count_participants (ScSpaces *spaces);
/* What each space's publishers' media has been through since start, those
 * who left included: space id (owned) → ScWhipMediaStats* (owned); spaces
 * nobody published to are absent. */
GHashTable *sc_spaces_media_stats (ScSpaces *spaces);

/* The WHIP/WHEP conventions, shared with other modules' WHEP routes (the
 * broadcast's program preview): CORS and ICE server headers, error replies
 * (Retry-After with them), the CORS preflight, and the SDP offer of a POST
 * (@protocol names it in errors; NULL once a 415 or 400 has been answered). */
void       sc_spaces_add_cors (SoupServerMessage *msg);
void       sc_spaces_add_ice_links (ScConfig *config, SoupServerMessage *msg);
/* The 201 of a session: @answer, its @location and an ETag of @session_id,
 * with the headers above. */
void       sc_spaces_reply_session (SoupServerMessage *msg, ScConfig *config,
                                    const char *location, const char *session_id,
                                    const char *answer);
/* What a peer of ours is given from @config: ICE host, ports, servers. */
ScWhipConfig sc_spaces_whip_config (const ScConfig *config);
void       sc_spaces_reply_error_msg (SoupServerMessage *msg, const GError *error);
void       sc_spaces_reply_retry (ScRequest *req, const GError *error, guint retry_after_s);
void       sc_spaces_whip_options (ScRequest *req);
char      *sc_spaces_read_offer (ScRequest *req, const char *content_type, const char *protocol);
/* A viewer of @space_id's media: API credentials (Basic) or a space JWT of
 * either role for that space (Bearer).  FALSE once a 401/403 is replied. */
gboolean   sc_spaces_check_viewer (ScSpaces *spaces, ScRequest *req, const char *space_id);
/* Admits one more WHEP offer of another module: refused (replied 429/503
 * with Retry-After) while shutting down, while too many offers are being
 * answered or near the fd/thread limits, as participants' are.  An
 * admitted offer is counted until sc_spaces_offer_done. */
gboolean   sc_spaces_admit_offer (ScSpaces *spaces, ScRequest *req);
void       sc_spaces_offer_done (ScSpaces *spaces);

/* GET /rt/v1/spaces/ID/events (space-events.c): the participants of a
 * space, live, as Server-Sent Events, for a space JWT of either role. */
typedef struct _ScSpaceEvents ScSpaceEvents;
ScSpaceEvents *sc_space_events_new (ScApi *api, ScSpaces *spaces, ScEvents *events);
/* Ends every stream and refuses new ones (503); _free then only frees. */
void       sc_space_events_shutdown (ScSpaceEvents *space_events);
void       sc_space_events_free (ScSpaceEvents *space_events);

G_END_DECLS
