/* Each target's pushes: one throw-away pipeline per connection attempt
 * (appsrc → rtmp2sink, as the broadcast output does it; for srt:// appsrc
 * → simulcast-srt.c's MPEG-TS tail, once libsrt connected).  rtmp2sink has
 * no reconnect and stops at its first error; a fresh pipeline per attempt
 * also makes the new session start clean.  Everything here runs on the
 * owner's context; only the pipelines' own threads stream. */
#include "spacecast/simulcast.h"
#include "simulcast-private.h"
#include "spacecast/core.h"
#include "spacecast/events.h"
#include "spacecast/model.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <srt/srt.h>
#include <string.h>

#define POLL_MS 250
/* A publish the server keeps this long was accepted: nginx-rtmp, like
 * many services, answers a refused key by hanging up just after it. */
#define ESTABLISHED_US (1 * G_USEC_PER_SEC)
#define HEALTHY_SESSION_US (10 * G_USEC_PER_SEC)
#define BACKOFF_MAX_S 30

struct _ScSimulcast {
  ScStore *store;
  GMainContext *ctx;
  guint max_outputs;
  guint queue_bytes;
  guint n_outputs;
  gboolean srt_started;
};

typedef struct {
  ScSimulcastSession *session;
  char *id;
  char *url;                    /* for the log: never holds the key or a passphrase */
  char *key;
  ScModelSrtUrl *srt_url;       /* an srt:// target's parts; NULL for RTMP */
  ScSimulcastSrt *srt;          /* this attempt's SRT connection */
  gboolean counted;             /* this attempt holds one of max_outputs */
  gboolean fatal;               /* refused: no more tries until the next asset */
  GstElement *pipe;
  GstElement *src;
  GstElement *sink;
  GSource *watch, *poll, *retry;
  ScSimulcastGate gate;
  gint64 connected_us;          /* this attempt's publish seen up since; 0 not yet */
  gint64 broadcasting_us;       /* this attempt broadcasting since; 0 not */
  guint backoff_s;
  gboolean queue_full;          /* said once per attempt */
  GstBufferList *pending;       /* tags since the last video frame */
  gsize pending_bytes;
} Target;

struct _ScSimulcastSession {
  ScSimulcast *sc;
  char *live_stream_id;
  ScSimulcastHeaders headers;
  GPtrArray *targets;           /* Target* */
  gboolean running;
};

static void attempt (Target *t);

ScSimulcast *
sc_simulcast_new (ScStore *store, const ScConfig *config)
{
  ScSimulcast *sc = g_new0 (ScSimulcast, 1);
  sc->store = store;
  sc->ctx = g_main_context_ref_thread_default ();
  sc->max_outputs = config->simulcast_max_outputs;
  sc->queue_bytes = MIN (config->simulcast_queue_kb, G_MAXUINT / 1024) * 1024;
  return sc;
}

void
sc_simulcast_free (ScSimulcast *sc)
{
  if (!sc)
    return;
  g_warn_if_fail (sc->n_outputs == 0);
  /* Counted: the SRT ingest's own startup and cleanup stay balanced. */
  if (sc->srt_started)
    srt_cleanup ();
  g_main_context_unref (sc->ctx);
  g_free (sc);
}

/* The key never reaches the log, even inside a server's own words. */
static char *
redact (const char *text, const char *key)
{
  GString *s = g_string_new (text);
  if (key && *key)
    g_string_replace (s, key, "<stream key>", 0);
  return g_string_free (s, FALSE);
}

static void
set_status (Target *t, const char *status, const char *severity)
{
  ScSimulcastSession *s = t->session;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) ls = sc_store_get (s->sc->store, SC_KIND_LIVE_STREAM,
                                            s->live_stream_id, NULL);
  JsonObject *doc = ls ? sc_model_simulcast_target_find (ls, t->id, NULL) : NULL;
  if (!doc || !sc_model_simulcast_target_set_status (doc, status, severity))
    return;
  g_message ("live stream %s: simulcast target %s (%s): %s%s%s", s->live_stream_id, t->id,
             t->url, status, severity ? " " : "", severity ? severity : "");
  g_autofree char *type = g_strconcat ("video.live_stream.simulcast_target.", status, NULL);
  if (!sc_events_put_simulcast_target (s->sc->store, ls, doc, type, &error))
    g_warning ("live stream %s: simulcast target %s: cannot save its status: %s",
               s->live_stream_id, t->id, error->message);
}

static void
drop_source (GSource **source)
{
  if (*source) {
    g_source_destroy (*source);
    g_clear_pointer (source, g_source_unref);
  }
}

static GSource *
attach (ScSimulcast *sc, GSource *source, GSourceFunc func, gpointer data)
{
  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, sc->ctx);
  return source;
}

static void
teardown (Target *t)
{
  drop_source (&t->watch);
  drop_source (&t->poll);
  drop_source (&t->retry);
  g_clear_pointer (&t->pending, gst_buffer_list_unref);
  t->pending_bytes = 0;
  g_clear_object (&t->src);
  g_clear_object (&t->sink);
  if (t->pipe) {
    sc_core_pipeline_stop (t->pipe);
    g_clear_object (&t->pipe);
  }
  /* After the pipeline: its streaming thread sends on the socket. */
  g_clear_pointer (&t->srt, sc_simulcast_srt_free);
  if (t->counted)
    t->session->sc->n_outputs--;
  t->counted = FALSE;
}

static gboolean
on_retry (gpointer data)
{
  Target *t = data;
  g_clear_pointer (&t->retry, g_source_unref);
  attempt (t);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (Target *t)
{
  t->retry = attach (t->session->sc, g_timeout_source_new_seconds (t->backoff_s), on_retry, t);
  t->backoff_s = MIN (t->backoff_s * 2, BACKOFF_MAX_S);
}

/* A refusal is judged only before the attempt was broadcasting: what goes
 * wrong later is a lost connection, worth reconnecting. */
static gboolean
is_refusal (Target *t, const GError *e)
{
  if (t->broadcasting_us)
    return FALSE;
  return sc_rtmp_push_error_is_refusal (e) ||
      /* The server hung up in answer to the publish command... */
      (e->message && strstr (e->message, "'publish' cmd failed")) ||
      /* ...or just after it: the connection had been made (rtmp2sink says
       * WRITE only for an established one), then dropped at once. */
      g_error_matches (e, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE);
}

/* The attempt is over: a refusal ends the tries for this asset, anything
 * else retries with backoff. */
static void
fail (Target *t, const char *text, gboolean refused)
{
  g_autofree char *why = redact (text, t->key);
  gboolean healthy = t->broadcasting_us &&
      g_get_monotonic_time () - t->broadcasting_us > HEALTHY_SESSION_US;
  /* Destroys the source that called: nothing of it is used after. */
  teardown (t);
  if (refused) {
    t->fatal = TRUE;
    g_warning ("live stream %s: simulcast target %s (%s) refused the stream: %s; "
               "no more tries for this asset", t->session->live_stream_id, t->id, t->url, why);
    set_status (t, "errored", "fatal");
    return;
  }
  if (healthy)
    t->backoff_s = 1;
  g_message ("live stream %s: simulcast target %s (%s): %s; retrying in %u s",
             t->session->live_stream_id, t->id, t->url, why, t->backoff_s);
  set_status (t, "errored", "normal");
  schedule_retry (t);
}

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer data)
{
  Target *t = data;
  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ERROR)
    return G_SOURCE_CONTINUE;
  g_autoptr (GError) e = NULL;
  gst_message_parse_error (msg, &e, NULL);
  /* An SRT listener refuses in the handshake, before any pipeline: what
   * goes wrong in one is a lost connection. */
  fail (t, e->message, !t->srt && is_refusal (t, e));
  return G_SOURCE_REMOVE;
}

static gboolean pipe_start (Target *t, GstElement *sink, gboolean live, GError **error);

/* Connected: the pipeline starts, and the target's tags flow from the
 * next keyframe on.  The FLV file header goes first, for flvdemux. */
static gboolean
srt_connected (Target *t, GError **error)
{
  GstElement *bin = sc_simulcast_srt_bin (t->srt);
  if (!bin) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL,
                 "flvdemux, mpegtsmux or appsink is missing");
    return FALSE;
  }
  /* Not live: the muxer waits for audio and video alike, so they go out
   * interleaved; the appsrc bound still drops before anything blocks. */
  if (!pipe_start (t, bin, FALSE, error))
    return FALSE;
  gst_app_src_push_buffer (GST_APP_SRC (t->src),
                           gst_buffer_new_wrapped_bytes (sc_simulcast_flv_header ()));
  return TRUE;
}

/* Whether this attempt sent anything yet; FALSE with @stop set when it
 * ended (and was torn down). */
static gboolean
sent_any (Target *t, gboolean *stop)
{
  *stop = FALSE;
  if (!t->srt) {
    /* rtmp2sink shows no event for a publish that succeeded; its stats
     * count the connection's bytes only once it has one. */
    g_autoptr (GstStructure) stats = NULL;
    guint64 out = 0;
    g_object_get (t->sink, "stats", &stats, NULL);
    if (stats)
      gst_structure_get_uint64 (stats, "out-bytes-total", &out);
    return out > 0;
  }
  if (t->pipe)
    return sc_simulcast_srt_sent (t->srt);
  g_autofree char *why = NULL;
  g_autoptr (GError) error = NULL;
  switch (sc_simulcast_srt_state (t->srt, &why)) {
  case SC_SIMULCAST_SRT_CONNECTING:
    return FALSE;
  case SC_SIMULCAST_SRT_CONNECTED:
    if (srt_connected (t, &error))
      return FALSE;
    why = g_strdup (error->message);
    break;
  case SC_SIMULCAST_SRT_REFUSED:
    *stop = TRUE;
    fail (t, why, TRUE);
    return FALSE;
  case SC_SIMULCAST_SRT_FAILED:
    break;
  }
  *stop = TRUE;
  fail (t, why, FALSE);
  return FALSE;
}

static gboolean
on_poll (gpointer data)
{
  Target *t = data;
  gboolean stop;
  gboolean out = sent_any (t, &stop);
  if (stop)
    return G_SOURCE_REMOVE;
  gint64 now = g_get_monotonic_time ();
  if (out && !t->connected_us)
    t->connected_us = now;
  if (!t->connected_us || now - t->connected_us < ESTABLISHED_US)
    return G_SOURCE_CONTINUE;
  t->broadcasting_us = now;
  g_clear_pointer (&t->poll, g_source_unref);
  set_status (t, "broadcasting", NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
pipe_start (Target *t, GstElement *sink, gboolean live, GError **error)
{
  ScSimulcast *sc = t->session->sc;
  GstElement *pipe = gst_pipeline_new (NULL);
  GstElement *src = gst_element_factory_make ("appsrc", NULL);
  if (!src || !sink) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "appsrc or the %s sink is missing",
                 t->srt ? "SRT" : "RTMP");
    g_clear_object (&src);
    if (sink)
      gst_object_unref (sink);
    gst_object_unref (pipe);
    return FALSE;
  }
  g_autoptr (GstCaps) caps = gst_caps_new_empty_simple ("video/x-flv");
  /* Bounded twice: push_tag drops to the next keyframe before this fills,
   * and a full appsrc drops rather than grow or block the ingest. */
  g_object_set (src, "is-live", live, "block", FALSE, "caps", caps,
                "max-bytes", (guint64) sc->queue_bytes + (1 << 20), NULL);
  gst_util_set_object_arg (G_OBJECT (src), "leaky-type", "downstream");
  gst_bin_add_many (GST_BIN (pipe), src, sink, NULL);
  gst_element_link (src, sink);

  t->pipe = pipe;
  t->src = gst_object_ref (src);
  t->sink = gst_object_ref (sink);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipe);
  t->watch = attach (sc, gst_bus_create_watch (bus), G_SOURCE_FUNC (on_bus), t);
  if (gst_element_set_state (pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "the %s push did not start",
                 t->srt ? "SRT" : "RTMP");
    return FALSE;
  }
  return TRUE;
}

static gboolean
output_start (Target *t, GError **error)
{
  ScSimulcast *sc = t->session->sc;
  sc->n_outputs++;
  t->counted = TRUE;
  if (t->srt_url) {
    /* libsrt's threads only for a daemon that has srt:// targets. */
    if (!sc->srt_started)
      srt_startup ();
    sc->srt_started = TRUE;
    /* The pipeline waits for the handshake, which on_poll watches. */
    t->srt = sc_simulcast_srt_new (t->srt_url);
  } else {
    g_autoptr (GUri) uri = g_uri_parse (t->url, G_URI_FLAGS_NONE, error);
    if (!uri)
      return FALSE;
    g_autofree char *scheme = g_ascii_strdown (g_uri_get_scheme (uri), -1);
    g_autofree char *app = sc_model_simulcast_url_app (uri);
    gint port = g_uri_get_port (uri);
    if (port <= 0)
      port = g_str_equal (scheme, "rtmps") ? 443 : 1935;
    GstElement *sink = gst_element_factory_make ("rtmp2sink", NULL);
    if (sink) {
      g_object_set (sink, "host", g_uri_get_host (uri), "port", port, "application", app,
                    "stream", t->key, "sync", FALSE, "async", FALSE, NULL);
      gst_util_set_object_arg (G_OBJECT (sink), "scheme", scheme);
    }
    if (!pipe_start (t, sink, TRUE, error))
      return FALSE;
  }
  t->poll = attach (sc, g_timeout_source_new (POLL_MS), on_poll, t);
  return TRUE;
}

static void
attempt (Target *t)
{
  ScSimulcast *sc = t->session->sc;
  g_autoptr (GError) error = NULL;
  memset (&t->gate, 0, sizeof t->gate);
  t->connected_us = t->broadcasting_us = 0;
  t->queue_full = FALSE;
  if (sc->max_outputs && sc->n_outputs >= sc->max_outputs) {
    g_warning ("live stream %s: simulcast target %s: all %u simulcast outputs are in use "
               "(simulcast-max-outputs); retrying in %u s", t->session->live_stream_id, t->id,
               sc->max_outputs, t->backoff_s);
    set_status (t, "errored", "normal");
    schedule_retry (t);
    return;
  }
  if (!output_start (t, &error)) {
    teardown (t);
    g_warning ("live stream %s: simulcast target %s: %s; retrying in %u s",
               t->session->live_stream_id, t->id, error->message, t->backoff_s);
    set_status (t, "errored", "normal");
    schedule_retry (t);
    return;
  }
  set_status (t, "starting", NULL);
}

static void
target_free (Target *t)
{
  teardown (t);
  g_free (t->id);
  g_free (t->url);
  g_free (t->key);
  sc_model_srt_url_free (t->srt_url);
  g_free (t);
}

ScSimulcastSession *
sc_simulcast_session_new (ScSimulcast *sc, const char *live_stream_id)
{
  ScSimulcastSession *s = g_new0 (ScSimulcastSession, 1);
  s->sc = sc;
  s->live_stream_id = g_strdup (live_stream_id);
  s->targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  return s;
}

static Target *
find_target (ScSimulcastSession *s, const char *id)
{
  for (guint i = 0; i < s->targets->len; i++) {
    Target *t = s->targets->pdata[i];
    if (g_str_equal (t->id, id))
      return t;
  }
  return NULL;
}

void
sc_simulcast_session_start (ScSimulcastSession *s)
{
  g_autoptr (JsonObject) ls = sc_store_get (s->sc->store, SC_KIND_LIVE_STREAM,
                                            s->live_stream_id, NULL);
  JsonArray *stored = ls && json_object_has_member (ls, "simulcast_targets")
      ? json_object_get_array_member (ls, "simulcast_targets") : NULL;

  for (guint i = 0; i < s->targets->len; i++)
    teardown (s->targets->pdata[i]);
  sc_simulcast_headers_clear (&s->headers);
  /* Targets change only while the stream is idle, which may have been
   * since the last encoder; those refused for this asset stay refused. */
  GPtrArray *targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  for (guint i = 0; stored && i < json_array_get_length (stored); i++) {
    JsonObject *doc = json_array_get_object_element (stored, i);
    const char *id = json_object_get_string_member (doc, "id");
    Target *old = find_target (s, id);
    Target *t = g_new0 (Target, 1);
    t->session = s;
    t->id = g_strdup (id);
    const char *url = json_object_get_string_member (doc, "url");
    t->url = sc_model_simulcast_url_public (url);
    t->key = g_strdup (json_object_get_string_member_with_default (doc, "stream_key", NULL));
    if (g_ascii_strncasecmp (url, "srt:", 4) == 0) {
      t->srt_url = sc_model_simulcast_srt_url_parse (url, NULL);
      /* The stream id is as secret as an RTMP key. */
      if (t->srt_url && !t->key)
        t->key = g_strdup (t->srt_url->streamid);
    }
    t->fatal = old && old->fatal;
    t->backoff_s = 1;
    g_ptr_array_add (targets, t);
  }
  g_ptr_array_unref (s->targets);
  s->targets = targets;
  s->running = TRUE;
  for (guint i = 0; i < s->targets->len; i++) {
    Target *t = s->targets->pdata[i];
    if (t->fatal)
      set_status (t, "errored", "fatal");
    else
      attempt (t);
  }
}

static void
push_tag (Target *t, GBytes *tag)
{
  guint64 level = gst_app_src_get_current_level_bytes (GST_APP_SRC (t->src)) + t->pending_bytes;
  if (level + g_bytes_get_size (tag) > t->session->sc->queue_bytes) {
    /* The target takes less than the encoder sends: skip to the next
     * keyframe rather than hold anyone up or send undecodable frames. */
    if (!t->queue_full)
      g_message ("live stream %s: simulcast target %s (%s) is too slow: dropping to the "
                 "next keyframe", t->session->live_stream_id, t->id, t->url);
    t->queue_full = TRUE;
    t->gate.resync = TRUE;
    return;
  }
  if (!t->pending)
    t->pending = gst_buffer_list_new ();
  gst_buffer_list_add (t->pending, gst_buffer_new_wrapped_bytes (tag));
  t->pending_bytes += g_bytes_get_size (tag);
}

void
sc_simulcast_session_push (ScSimulcastSession *s, ScRtmpMediaType type, guint64 ts_ms,
                           const guint8 *data, gsize len)
{
  if (!s->running)
    return;
  sc_simulcast_headers_update (&s->headers, type, data, len);
  for (guint i = 0; i < s->targets->len; i++) {
    Target *t = s->targets->pdata[i];
    if (!t->src)
      continue;
    g_autoptr (GPtrArray) tags = sc_simulcast_gate (&t->gate, &s->headers, type, ts_ms,
                                                    data, len);
    for (guint j = 0; j < tags->len && !t->gate.resync; j++)
      push_tag (t, tags->pdata[j]);
    /* One hand-over per video frame, with the audio that came before it:
     * the pipeline's threads wake a third as often, which is most of what
     * a target costs. */
    if (t->pending && type == SC_RTMP_MEDIA_VIDEO) {
      gst_app_src_push_buffer_list (GST_APP_SRC (t->src), g_steal_pointer (&t->pending));
      t->pending_bytes = 0;
    }
  }
}

void
sc_simulcast_session_stop (ScSimulcastSession *s)
{
  if (!s->running)
    return;
  s->running = FALSE;
  for (guint i = 0; i < s->targets->len; i++) {
    Target *t = s->targets->pdata[i];
    teardown (t);
    set_status (t, "idle", NULL);
  }
}

void
sc_simulcast_session_free (ScSimulcastSession *s)
{
  if (!s)
    return;
  sc_simulcast_session_stop (s);
  g_ptr_array_unref (s->targets);
  sc_simulcast_headers_clear (&s->headers);
  g_free (s->live_stream_id);
  g_free (s);
}
