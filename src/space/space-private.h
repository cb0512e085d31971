#pragma once

#include "spacecast/jwt.h"
#include "spacecast/space.h"
#include "spacecast/store.h"

struct _ScSpaces {
  ScApi *api;
  ScStore *store;
  ScConfig *config;
  GHashTable *participants;   /* connection_id → ScParticipant* (owned) */
  GHashTable *reserved;       /* "space_id/participant_id" while joining or joined */
  GHashTable *subscriptions;  /* session id → ScSubscription* (owned), space-whep.c */
  GHashTable *media_left;     /* space_id → ScWhipMediaStats*: of publishers who left */
  GArray *observers;          /* of Observer */
  guint next_observer_id;
  guint next_join_order;
  guint pending_joins;        /* WHIP and WHEP offers being answered (each holds us) */
  gboolean closing;           /* shutting down: no new participant */
};

/* The participant joined: register it, mark the space active, announce. */
void sc_spaces_add_participant (ScSpaces *spaces, ScParticipant *p);
/* Remove a participant (DELETE, vanish, failure): close its peer, announce,
 * and mark the space idle if it was the last one. */
void sc_spaces_remove_participant (ScSpaces *spaces, const char *connection_id,
                                   const char *why);
char *sc_spaces_reservation_key (const char *space_id, const char *participant_id);

/* What admission looks at (space-admit.c).  A max of 0 is no limit. */
typedef struct {
  guint pending_joins, max_pending_joins;
  guint space_participants, max_space_participants;  /* joined or joining */
  guint open_fds, max_fds;
  guint threads, max_threads;
  gboolean whep;              /* space_participants counts WHEP sessions */
} ScAdmitState;

/* Whether one more join may start: FALSE with SC_ERROR_TOO_MANY_REQUESTS
 * (too many joins at once, space full) or SC_ERROR_UNAVAILABLE (the
 * process near its fd or thread limit), and the seconds to send in
 * Retry-After. */
gboolean sc_spaces_admit (const ScAdmitState *state, guint *retry_after_s, GError **error);
/* Fills the process's open fds and threads and their limits. */
void sc_spaces_read_usage (ScAdmitState *state);
void sc_spaces_register_routes (ScSpaces *spaces);

/* space-whip.c, shared with space-whep.c: the space JWT of a request
 * (NULL once a 401/403 has been replied). */
ScJwtClaims *sc_spaces_verify_bearer (ScSpaces *spaces, ScRequest *req, const char *space_id);

/* space-whep.c: subscriptions to a participant's tracks. */
typedef struct _ScSubscription ScSubscription;
void sc_spaces_register_whep_routes (ScSpaces *spaces);
void sc_subscription_free (ScSubscription *sub);
/* Ends every subscription to @connection_id (a publisher that left), or
 * all of them when NULL. */
void sc_spaces_end_subscriptions (ScSpaces *spaces, const char *connection_id, const char *why);
