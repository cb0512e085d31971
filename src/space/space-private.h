#pragma once

#include "spacecast/space.h"
#include "spacecast/store.h"

struct _ScSpaces {
  ScApi *api;
  ScStore *store;
  ScConfig *config;
  GHashTable *participants;   /* connection_id → ScParticipant* (owned) */
  GHashTable *reserved;       /* "space_id/participant_id" while joining or joined */
  GArray *observers;          /* of Observer */
  guint next_observer_id;
  guint next_join_order;
  guint pending_joins;        /* offers being answered (their Join holds us) */
  gboolean closing;           /* shutting down: no new participant */
};

/* The participant joined: register it, mark the space active, announce. */
void sc_spaces_add_participant (ScSpaces *spaces, ScParticipant *p);
/* Remove a participant (DELETE, vanish, failure): close its peer, announce,
 * and mark the space idle if it was the last one. */
void sc_spaces_remove_participant (ScSpaces *spaces, const char *connection_id,
                                   const char *why);
char *sc_spaces_reservation_key (const char *space_id, const char *participant_id);
void sc_spaces_register_routes (ScSpaces *spaces);
