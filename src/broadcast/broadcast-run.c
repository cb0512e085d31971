/* One running broadcast: its pipeline, its taps on the participants'
 * decoded media, and its layout. */
#include "broadcast-private.h"
#include "spacecast/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  ScWhipPeer *peer;
  guint tap_id;
  char *participant_id;
} TapRef;

typedef struct {
  Sink *sink;
  char *participant_id;
} TapData;

static Sink *
sink_new (ScBcastPipeline *pipe)
{
  Sink *s = g_atomic_rc_box_new0 (Sink);
  g_mutex_init (&s->lock);
  s->pipe = pipe;
  return s;
}

static void
sink_clear (Sink *s)
{
  g_mutex_clear (&s->lock);
}

static void
sink_unref (Sink *s)
{
  g_atomic_rc_box_release_full (s, (GDestroyNotify) sink_clear);
}

Sink *
sc_broadcast_sink_ref (Sink *s)
{
  return g_atomic_rc_box_acquire (s);
}

void
sc_broadcast_sink_unref (Sink *s)
{
  sink_unref (s);
}

static void
tap_data_free (TapData *t)
{
  sink_unref (t->sink);
  g_free (t->participant_id);
  g_free (t);
}

typedef void (*PushFunc) (ScBcastPipeline *p, const char *participant_id, GstSample *s);

static inline void
push (TapData *t, GstSample *sample, PushFunc fn)
{
  g_mutex_lock (&t->sink->lock);
  if (t->sink->pipe)
    fn (t->sink->pipe, t->participant_id, sample);
  g_mutex_unlock (&t->sink->lock);
}

static void
push_video (GstSample *sample, gpointer user_data)
{
  push (user_data, sample, sc_bcast_pipeline_push_video);
}

static void
push_audio (GstSample *sample, gpointer user_data)
{
  push (user_data, sample, sc_bcast_pipeline_push_audio);
}

static void
tap_ref_free (TapRef *t)
{
  sc_whip_peer_remove_tap (t->peer, t->tap_id);
  g_object_unref (t->peer);
  g_free (t->participant_id);
  g_free (t);
}

void
sc_broadcast_run_attach (Running *r, const ScParticipant *p)
{
  if (g_hash_table_contains (r->taps, p->connection_id))
    return;
  g_hash_table_remove (r->broken, p->participant_id);
  sc_bcast_pipeline_add_input (r->pipe, p->participant_id);
  TapData *d = g_new0 (TapData, 1);
  d->sink = g_atomic_rc_box_acquire (r->sink);
  d->participant_id = g_strdup (p->participant_id);
  TapRef *t = g_new0 (TapRef, 1);
  t->peer = g_object_ref (p->peer);
  t->participant_id = g_strdup (p->participant_id);
  t->tap_id = sc_whip_peer_add_tap (p->peer, push_video, push_audio, d,
                                    (GDestroyNotify) tap_data_free);
  g_hash_table_insert (r->taps, g_strdup (p->connection_id), t);
}

void
sc_broadcast_run_detach (Running *r, const char *connection_id)
{
  TapRef *t = g_hash_table_lookup (r->taps, connection_id);
  if (!t)
    return;
  g_autofree char *pid = g_strdup (t->participant_id);
  g_hash_table_remove (r->taps, connection_id);
  sc_bcast_pipeline_remove_input (r->pipe, pid);
}

/* dBov (≤ 0) as the linear level the speaker tracker compares. */
static double
linear_level (double dbov)
{
  return dbov <= -127 ? 0.0 : pow (10.0, dbov / 20.0);
}

/* The space's participants as the layout engine sees them; ids borrowed
 * from the registry, valid until the main loop runs again. */
static ScLayoutParticipant *
layout_participants (Running *r, guint *n)
{
  g_autoptr (GPtrArray) ps = sc_spaces_get_participants (r->owner->spaces, r->space_id);
  ScLayoutParticipant *parts = g_new0 (ScLayoutParticipant, ps->len + 1);
  for (guint i = 0; i < ps->len; i++) {
    ScParticipant *p = ps->pdata[i];
    parts[i].id = p->participant_id;
    /* A participant whose media broke the mix keeps a (placeholder) tile. */
    parts[i].has_video = p->has_video && !g_hash_table_contains (r->broken, p->participant_id);
    parts[i].audio_level = linear_level (sc_whip_peer_get_audio_level (p->peer));
    parts[i].join_order = p->join_order;
  }
  *n = ps->len;
  return parts;
}

void
sc_broadcast_run_relayout (Running *r)
{
  guint n;
  g_autofree ScLayoutParticipant *parts = layout_participants (r, &n);
  g_autoptr (GArray) tiles = sc_layout_compute (&r->opts, parts, n, r->speaker_id);
  sc_bcast_pipeline_set_tiles (r->pipe, (ScTile *) tiles->data, tiles->len, r->transition_ms);
  r->transition_ms = 0;
}

/* Audio levels move the active speaker; the tracker's hysteresis keeps a
 * cough from flipping the layout. */
static gboolean
on_speaker_tick (gpointer user_data)
{
  Running *r = user_data;
  guint n;
  g_autofree ScLayoutParticipant *parts = layout_participants (r, &n);
  const char *now = sc_layout_speaker_update (r->speaker, parts, n, g_get_monotonic_time () / 1000);
  if (g_strcmp0 (now, r->speaker_id) != 0) {
    g_free (r->speaker_id);
    r->speaker_id = g_strdup (now);
    if (r->opts.kind == SC_LAYOUT_ACTIVE_SPEAKER || r->opts.kind == SC_LAYOUT_SPOTLIGHT ||
        r->opts.kind == SC_LAYOUT_PIP)
      sc_broadcast_run_relayout (r);
  }
  return G_SOURCE_CONTINUE;
}

gboolean
sc_broadcast_run_set_layout (Running *r, JsonObject *doc, guint transition_ms, GError **error)
{
  ScLayoutOptions opts = { 0 };
  int w = 1920, h = 1080;
  sscanf (json_object_get_string_member (doc, "resolution"), "%dx%d", &w, &h);
  JsonObject *lo = json_object_has_member (doc, "layout_options")
      ? json_object_get_object_member (doc, "layout_options") : NULL;
  if (!sc_layout_options_init_from_json (&opts, json_object_get_string_member (doc, "layout"),
                                         lo, w, h, error))
    return FALSE;
  sc_layout_options_clear (&r->opts);
  r->opts = opts;
  r->transition_ms = transition_ms;
  return TRUE;
}

static gboolean
on_failed (gpointer data)
{
  Running *r = data;
  r->fail_source = 0;
  sc_broadcasts_output_failed (r->owner, r->id, r->fail_reason);
  return G_SOURCE_REMOVE;
}

static void
on_state (ScBcastPipeline *p, ScBcastState state, const char *reason, gpointer user_data)
{
  Running *r = user_data;
  g_message ("broadcast %s: output %s%s%s", r->id, sc_bcast_state_to_string (state),
             reason && *reason ? ": " : "", reason ? reason : "");
  if (state == SC_BCAST_FAILED && !r->fail_source) {
    /* Stopping frees the pipeline: not from inside its own notification. */
    r->fail_reason = g_strdup (reason && *reason ? reason : "unknown error");
    r->fail_source = g_idle_add (on_failed, r);
  }
}

/* Its branch is gone from the mix: stop feeding it, show a placeholder. */
static void
on_input_failed (ScBcastPipeline *p, const char *participant_id, const char *reason,
                 gpointer user_data)
{
  Running *r = user_data;
  g_warning ("broadcast %s: participant %s shown as a placeholder: %s", r->id, participant_id,
             reason);
  g_hash_table_add (r->broken, g_strdup (participant_id));
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, r->taps);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (g_str_equal (((TapRef *) value)->participant_id, participant_id))
      g_hash_table_iter_remove (&it);
  sc_broadcast_run_relayout (r);
}

Running *
sc_broadcast_run_start (ScBroadcasts *b, JsonObject *doc, JsonObject *ls, GError **error)
{
  g_autofree char *url = sc_ingest_local_url (b->ingest, json_object_get_string_member (ls, "stream_key"));
  Running *r = g_new0 (Running, 1);
  r->owner = b;
  r->id = g_strdup (json_object_get_string_member (doc, "id"));
  r->space_id = g_strdup (json_object_get_string_member (doc, "_space_id"));
  r->live_stream_id = g_strdup (json_object_get_string_member (ls, "id"));
  r->taps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) tap_ref_free);
  r->broken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  r->speaker = sc_layout_speaker_new (SC_LAYOUT_SPEAKER_HOLD_MS);
  if (!sc_broadcast_run_set_layout (r, doc, 0, error))
    goto fail;

  const char *background = json_object_get_string_member_with_default (doc, "background", NULL);
  guint32 bg_argb = r->opts.background_argb;
  gboolean bg_is_colour = background && sc_layout_parse_color (background, &bg_argb);
  ScConfig *config = sc_api_get_config (b->api);
  ScBcastConfig cfg = {
    .width = r->opts.width, .height = r->opts.height, .fps = 30,
    .encoder = json_object_get_string_member_with_default (doc, "_encoder_request", config->encoder),
    .rtmp_url = url,
    .background_argb = bg_argb,
    .background_image = background && !bg_is_colour ? background : NULL,
    .placeholder_argb = r->opts.placeholder_argb,
  };
  r->pipe = sc_bcast_pipeline_new (&cfg, error);
  if (!r->pipe)
    goto fail;
  r->sink = sink_new (r->pipe);
  sc_bcast_pipeline_set_state_func (r->pipe, on_state, r);
  sc_bcast_pipeline_set_input_failed_func (r->pipe, on_input_failed, r);
  if (!sc_bcast_pipeline_start (r->pipe, error))
    goto fail;

  {
    g_autoptr (GPtrArray) ps = sc_spaces_get_participants (b->spaces, r->space_id);
    for (guint i = 0; i < ps->len; i++)
      sc_broadcast_run_attach (r, ps->pdata[i]);
  }
  sc_broadcast_run_relayout (r);
  r->speaker_timer = g_timeout_add (200, on_speaker_tick, r);
  return r;
fail:
  sc_broadcast_run_free (r);
  return NULL;
}

/* Taps first: nothing may push into a pipeline being stopped or freed. */
static void
unhook (Running *r)
{
  if (r->speaker_timer)
    g_source_remove (r->speaker_timer);
  r->speaker_timer = 0;
  if (r->fail_source)
    g_source_remove (r->fail_source);
  r->fail_source = 0;
  g_clear_pointer (&r->taps, g_hash_table_unref);
  if (r->sink) {
    g_mutex_lock (&r->sink->lock);
    r->sink->pipe = NULL;
    g_mutex_unlock (&r->sink->lock);
    g_clear_pointer (&r->sink, sink_unref);
  }
}

static void
on_pipeline_stopped (ScBcastPipeline *p, gpointer user_data)
{
  Running *r = user_data;
  r->stopped_func (r, r->stopped_data);
}

void
sc_broadcast_run_stop_async (Running *r, ScRunStoppedFunc func, gpointer user_data)
{
  unhook (r);
  r->stopped_func = func;
  r->stopped_data = user_data;
  sc_bcast_pipeline_stop_async (r->pipe, on_pipeline_stopped, r);
}

/* Never drains: a broadcast worth draining was stopped with _stop_async;
 * a synchronous drain here would wait on our own ingest, which needs this
 * very main loop. */
void
sc_broadcast_run_free (Running *r)
{
  unhook (r);
  g_clear_pointer (&r->pipe, sc_bcast_pipeline_free);
  g_clear_pointer (&r->speaker, sc_layout_speaker_free);
  g_clear_pointer (&r->broken, g_hash_table_unref);
  sc_layout_options_clear (&r->opts);
  g_free (r->speaker_id);
  g_free (r->fail_reason);
  g_free (r->id);
  g_free (r->space_id);
  g_free (r->live_stream_id);
  g_free (r);
}
