/* Active-speaker tracking with hysteresis.  Audio levels flicker: someone
 * coughing or a short "mm-hm" must not cut the broadcast away from the person
 * talking.  A challenger must lead (loudest, above the silence threshold)
 * continuously for hold_ms before taking over; a gap in the lead restarts the
 * count.  A speaker who leaves is replaced at once — showing someone who is
 * gone is worse than a quick cut.  Screen shares never become the speaker. */
#include "spacecast/layout.h"

#include <string.h>

struct _ScLayoutSpeaker {
  guint hold_ms;
  char *current;
  char *candidate;
  gint64 candidate_since;
};

ScLayoutSpeaker *
sc_layout_speaker_new (guint hold_ms)
{
  ScLayoutSpeaker *s = g_new0 (ScLayoutSpeaker, 1);
  s->hold_ms = hold_ms;
  return s;
}

void
sc_layout_speaker_free (ScLayoutSpeaker *s)
{
  if (s == NULL)
    return;
  g_free (s->current);
  g_free (s->candidate);
  g_free (s);
}

static gboolean
earlier (const ScLayoutParticipant *a, const ScLayoutParticipant *b)
{
  if (a->join_order != b->join_order)
    return a->join_order < b->join_order;
  return strcmp (a->id, b->id) < 0;
}

static void
set_str (char **dst, const char *v)
{
  if (*dst != v) {
    char *old = *dst;
    *dst = g_strdup (v);
    g_free (old);
  }
}

const char *
sc_layout_speaker_update (ScLayoutSpeaker *s,
                          const ScLayoutParticipant *participants,
                          guint n_participants, gint64 now_ms)
{
  const ScLayoutParticipant *leader = NULL, *first = NULL, *first_any = NULL;
  gboolean current_present = FALSE;

  g_return_val_if_fail (s != NULL, NULL);

  for (guint i = 0; participants && i < n_participants; i++) {
    const ScLayoutParticipant *p = &participants[i];
    if (p->id == NULL)
      continue;
    if (s->current && strcmp (p->id, s->current) == 0)
      current_present = TRUE;
    if (first_any == NULL || earlier (p, first_any))
      first_any = p;
    if (p->is_screen_share)
      continue;
    if (first == NULL || earlier (p, first))
      first = p;
    if (p->audio_level > SC_LAYOUT_SPEAKER_SILENCE
        && (leader == NULL || p->audio_level > leader->audio_level
            || (p->audio_level == leader->audio_level && earlier (p, leader))))
      leader = p;
  }

  if (first_any == NULL) {
    g_clear_pointer (&s->current, g_free);
    g_clear_pointer (&s->candidate, g_free);
    return NULL;
  }

  if (!current_present) {
    /* First call, or the speaker left: no waiting. */
    set_str (&s->current, leader ? leader->id : first ? first->id : first_any->id);
    g_clear_pointer (&s->candidate, g_free);
    return s->current;
  }

  if (leader == NULL || strcmp (leader->id, s->current) == 0) {
    g_clear_pointer (&s->candidate, g_free);
  } else if (s->candidate == NULL || strcmp (leader->id, s->candidate) != 0) {
    set_str (&s->candidate, leader->id);
    s->candidate_since = now_ms;
  } else if (now_ms - s->candidate_since >= (gint64) s->hold_ms) {
    set_str (&s->current, leader->id);
    g_clear_pointer (&s->candidate, g_free);
  }
  return s->current;
}
