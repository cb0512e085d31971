/* Who may publish, and what each encoder event means for its live stream. */
#include "ingest-private.h"
#include "spacecast/core.h"
#include "spacecast/model.h"

#include <glib/gstdio.h>

/* About 100 thumbnails of 1080p (100-200 KB each at our JPEG quality). */
#define THUMBNAIL_CACHE_BYTES (16 * 1024 * 1024)

static void
encoder_set_user_data (Encoder *e, gpointer data)
{
  if (e->protocol == SC_INGEST_RTMP)
    sc_rtmp_conn_set_user_data (e->conn, data);
  else
    sc_srt_conn_set_user_data (e->conn, data);
}

void
sc_ingest_encoder_close (Encoder *encoder, const char *reason)
{
  Encoder e = *encoder;
  if (!e.conn)
    return;
  encoder->conn = NULL;
  encoder_set_user_data (&e, NULL);
  if (e.protocol == SC_INGEST_RTMP)
    sc_rtmp_conn_close (e.conn, reason);
  else
    sc_srt_conn_close (e.conn, reason);
}

const char *
sc_ingest_protocol_name (ScIngestProtocol protocol)
{
  return protocol == SC_INGEST_RTMP ? "rtmp" : "srt";
}

static void
stream_free (Stream *s)
{
  for (guint i = 0; i < SC_LIVE_N_TIMERS; i++)
    if (s->timers[i])
      g_source_remove (s->timers[i]);
  sc_ingest_encoder_close (&s->encoder, "spacecast is shutting down");
  /* Abandoned, not closed: the next start finalises it from disk. */
  g_clear_pointer (&s->recorder, sc_recorder_free);
  g_clear_pointer (&s->simulcast, sc_simulcast_session_free);
  sc_livestate_clear (&s->state);
  g_free (s->id);
  g_free (s);
}

Stream *
sc_ingest_stream_get (ScIngest *ing, JsonObject *ls)
{
  const char *id = json_object_get_string_member (ls, "id");
  Stream *s = g_hash_table_lookup (ing->streams, id);
  if (s)
    return s;
  s = g_new0 (Stream, 1);
  s->ingest = ing;
  s->id = g_strdup (id);
  sc_livestate_init (&s->state,
                     (guint) json_object_get_double_member_with_default (ls, "reconnect_window", 60),
                     (guint) json_object_get_int_member_with_default (ls, "max_continuous_duration", 43200));
  s->state.complete_hold = ing->config->complete_hold_s;
  sc_livestate_status_parse (json_object_get_string_member (ls, "status"), &s->state.status);
  JsonArray *recent = json_object_get_array_member (ls, "recent_asset_ids");
  for (guint i = 0; recent && i < json_array_get_length (recent); i++)
    g_ptr_array_add (s->state.recent_asset_ids, g_strdup (json_array_get_string_element (recent, i)));
  g_hash_table_insert (ing->streams, s->id, s);
  return s;
}

/* Settings may have changed through PATCH since the stream was loaded. */
static void
refresh_settings (Stream *s, JsonObject *ls)
{
  s->state.reconnect_window = (guint) json_object_get_double_member_with_default (ls, "reconnect_window", 60);
  s->state.max_continuous_duration = (guint) json_object_get_int_member_with_default (ls, "max_continuous_duration", 43200);
}

/* Who may publish with @key, for either protocol: the store is the
 * authority (SRT's handshake table only keeps strangers out early). */
static gboolean
publish (ScIngest *ing, Encoder enc, guint64 conn_id, const char *peer, const char *key,
         GError **error)
{
  const char *proto = sc_ingest_protocol_name (enc.protocol);
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonObject) ls = sc_store_find (ing->store, SC_KIND_LIVE_STREAM, "stream_key", key, &local);

  /* The index finds the candidate; the key itself is compared in constant
   * time so a near miss takes as long as a far one. */
  if (!ls || !sc_core_secret_equal (json_object_get_string_member (ls, "stream_key"), key)) {
    /* The server logs the refusal with this message; never the key. */
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "unknown stream key");
    return FALSE;
  }
  Stream *s = sc_ingest_stream_get (ing, ls);
  refresh_settings (s, ls);
  /* The stored status too: a disable committed in this main-loop turn
   * reaches the state machine in the next. */
  if (g_str_equal (json_object_get_string_member (ls, "status"), "disabled") ||
      !sc_livestate_publish_allowed (&s->state)) {
    g_message ("live stream %s: publish refused on %s conn %" G_GUINT64_FORMAT ": disabled", s->id,
               proto, conn_id);
    g_set_error (error, SC_ERROR, SC_ERROR_FORBIDDEN, "live stream is disabled");
    return FALSE;
  }
  g_autofree char *asset_id = sc_core_new_id ();
  ScLiveEvent ev = { .type = SC_LIVE_EV_CONNECTED, .connection_id = ++ing->next_connection_id,
                     .new_asset_id = asset_id };
  Encoder old = s->encoder;
  if (old.conn)
    encoder_set_user_data (&old, NULL);
  s->encoder = enc;
  s->conn_id = ev.connection_id;
  s->media_seen = FALSE;
  encoder_set_user_data (&enc, s);
  g_message ("live stream %s: encoder connected on %s conn %" G_GUINT64_FORMAT " (%s)", s->id,
             proto, conn_id, peer);
  sc_ingest_dispatch (ing, s, &ev);
  if (s->state.active_asset_id) {
    if (!s->simulcast)
      s->simulcast = sc_simulcast_session_new (ing->simulcast, s->id);
    sc_simulcast_session_start (s->simulcast);
  }
  sc_ingest_encoder_close (&old, "replaced by a new publisher on the same stream key");
  return TRUE;
}

static void
media (Stream *s, int flv_type, guint64 ts_ms, const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;

  if (!s)
    return;
  /* Sent on before anything of the recording's can fail or return. */
  if (s->simulcast)
    sc_simulcast_session_push (s->simulcast, (ScRtmpMediaType) flv_type, ts_ms, data, len);
  if (flv_type != SC_FLV_TAG_AUDIO && flv_type != SC_FLV_TAG_VIDEO)
    return;
  s->media_bytes += len;
  if (!s->media_seen) {
    s->media_seen = TRUE;
    ScLiveEvent ev = { .type = SC_LIVE_EV_MEDIA_STARTED, .connection_id = s->conn_id };
    sc_ingest_dispatch (s->ingest, s, &ev);
  }
  if (!s->recorder || !sc_livestate_should_record (&s->state, s->conn_id))
    return;
  if (sc_recorder_push (s->recorder, flv_type, ts_ms, data, len, &error))
    return;
  s->media_errors++;
  /* Bad media is the encoder's to fix and comes in every message: debug.
   * The recording itself failing (the disk is full) is ours to tell, once
   * per asset, in the log and on the asset where API users look; the
   * recorder tries again from the next keyframe. */
  if (!g_error_matches (error, SC_ERROR, SC_ERROR_INTERNAL)) {
    g_log_structured ("spacecast", G_LOG_LEVEL_DEBUG, "MESSAGE",
                      "live stream %s: media not recorded: %s", s->id, error->message);
    return;
  }
  if (s->record_failed)
    return;
  s->record_failed = TRUE;
  g_autofree char *why = g_strdup_printf ("media not recorded from %.1f s: %s",
                                          sc_recorder_duration (s->recorder), error->message);
  g_warning ("live stream %s: asset %s: %s", s->id, s->state.active_asset_id, why);
  sc_ingest_asset_error (s->ingest, s->state.active_asset_id, "recording_failed", why);
}

static void
closed (Stream *s, guint64 conn_id)
{
  if (!s)
    return;
  g_message ("live stream %s: encoder on %s conn %" G_GUINT64_FORMAT " disconnected", s->id,
             sc_ingest_protocol_name (s->encoder.protocol), conn_id);
  s->encoder.conn = NULL;
  if (s->simulcast)
    sc_simulcast_session_stop (s->simulcast);
  ScLiveEvent ev = { .type = SC_LIVE_EV_DISCONNECTED, .connection_id = s->conn_id };
  sc_ingest_dispatch (s->ingest, s, &ev);
}

static gboolean
on_rtmp_publish (ScRtmpConn *conn, const char *app, const char *key, gpointer user_data,
                 GError **error)
{
  Encoder enc = { SC_INGEST_RTMP, conn };
  return publish (user_data, enc, sc_rtmp_conn_get_id (conn), sc_rtmp_conn_get_peer (conn), key,
                  error);
}

static void
on_rtmp_media (ScRtmpConn *conn, ScRtmpMediaType type, guint64 ts_ms, const guint8 *data,
               gsize len, gpointer user_data)
{
  media (sc_rtmp_conn_get_user_data (conn), type, ts_ms, data, len);
}

static void
on_rtmp_closed (ScRtmpConn *conn, gpointer user_data)
{
  closed (sc_rtmp_conn_get_user_data (conn), sc_rtmp_conn_get_id (conn));
}

static gboolean
on_srt_publish (ScSrtConn *conn, const char *key, gpointer user_data, GError **error)
{
  Encoder enc = { SC_INGEST_SRT, conn };
  return publish (user_data, enc, sc_srt_conn_get_id (conn), sc_srt_conn_get_peer (conn), key,
                  error);
}

static void
on_srt_media (ScSrtConn *conn, int flv_type, guint64 ts_ms, const guint8 *data, gsize len,
              gpointer user_data)
{
  media (sc_srt_conn_get_user_data (conn), flv_type, ts_ms, data, len);
}

static void
on_srt_closed (ScSrtConn *conn, gpointer user_data)
{
  closed (sc_srt_conn_get_user_data (conn), sc_srt_conn_get_id (conn));
}

/* The SRT handshake table follows the stored stream: its key, its
 * passphrase, whether it may publish. */
static void
srt_sync (ScIngest *ing, const char *id, JsonObject *ls)
{
  if (!ing->srt)
    return;
  if (!ls) {
    sc_srt_server_set_key (ing->srt, id, NULL, NULL, FALSE);
    return;
  }
  sc_srt_server_set_key (ing->srt, id, json_object_get_string_member (ls, "stream_key"),
                         json_object_get_string_member_with_default (ls, "srt_passphrase", NULL),
                         !g_str_equal (json_object_get_string_member (ls, "status"), "disabled"));
}

static void
remove_asset_files (ScIngest *ing, const char *asset_id)
{
  g_autofree char *dir = sc_ingest_asset_dir (ing, asset_id);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (dir);
}

/* What a committed change means for the media: a connected encoder, the
 * recording, the SRT handshake table, an asset's files.  The bus calls
 * this in the main-loop turn after the commit. */
static void
on_event (ScEvent *event, gpointer user_data)
{
  static const struct {
    const char *type;
    ScLiveEventType live_event;
  } actions[] = {
    { "video.live_stream.enabled", SC_LIVE_EV_ENABLE },
    { "video.live_stream.disabled", SC_LIVE_EV_DISABLE },
    { "video.live_stream.deleted", SC_LIVE_EV_DELETE },
  };
  ScIngest *ing = user_data;
  const char *id = event->object_id;

  if (g_str_equal (event->type, "video.asset.deleted")) {
    remove_asset_files (ing, id);
    return;
  }
  /* Only a stream the ingest holds has an encoder, a recording or timers. */
  Stream *s = g_hash_table_lookup (ing->streams, id);
  for (guint i = 0; s && i < G_N_ELEMENTS (actions); i++) {
    if (g_str_equal (event->type, actions[i].type)) {
      ScLiveEvent ev = { .type = actions[i].live_event };
      sc_ingest_dispatch (ing, s, &ev);
    }
  }
  if (g_str_equal (event->type, "video.live_stream.deleted")) {
    g_hash_table_remove (ing->streams, id);
    srt_sync (ing, id, NULL);
  } else if (ing->srt && (g_str_equal (event->type, "video.live_stream.created") ||
                          g_str_equal (event->type, "video.live_stream.enabled") ||
                          g_str_equal (event->type, "video.live_stream.disabled") ||
                          g_str_equal (event->type, "video.live_stream.updated"))) {
    /* updated: a key reset, say; the stored stream says what is new. */
    g_autoptr (JsonObject) ls = sc_store_get (ing->store, SC_KIND_LIVE_STREAM, id, NULL);
    srt_sync (ing, id, ls);
  }
}

void
sc_ingest_complete (ScIngest *ing, const char *live_stream_id)
{
  Stream *s = g_hash_table_lookup (ing->streams, live_stream_id);
  if (!s)
    return;
  ScLiveEvent ev = { .type = SC_LIVE_EV_COMPLETE };
  sc_ingest_dispatch (ing, s, &ev);
}

/* Mux's "signal complete" is an instruction to the ingest that changes
 * nothing stored by itself (the recording ends, the encoder drains), so it
 * is the ingest's route rather than an event. */
static void
complete_route (ScRequest *req)
{
  g_autoptr (JsonObject) ls = sc_api_load (req, SC_KIND_LIVE_STREAM, req->params[0]);
  if (!ls)
    return;
  sc_ingest_complete (req->user_data, req->params[0]);
  sc_api_reply_empty_data (req, 200);
}

/* Recordings a killed daemon left behind become ready assets now, with
 * everything up to their last complete segment. */
static void
recover (ScIngest *ing)
{
  g_autoptr (GPtrArray) live_streams = sc_store_list (ing->store, SC_KIND_LIVE_STREAM, NULL,
                                                      G_MAXINT, 0, NULL);
  for (guint i = 0; live_streams && i < live_streams->len; i++) {
    JsonObject *ls = live_streams->pdata[i];
    const char *status = json_object_get_string_member (ls, "status");
    if (!json_object_has_member (ls, "active_asset_id") && !g_str_equal (status, "active"))
      continue;
    if (json_object_has_member (ls, "active_asset_id"))
      json_object_remove_member (ls, "active_asset_id");
    if (g_str_equal (status, "active"))
      json_object_set_string_member (ls, "status", "idle");
    /* Nothing pushes to them any more. */
    JsonArray *targets = json_object_has_member (ls, "simulcast_targets")
        ? json_object_get_array_member (ls, "simulcast_targets") : NULL;
    for (guint j = 0; targets && j < json_array_get_length (targets); j++)
      sc_model_simulcast_target_set_status (json_array_get_object_element (targets, j), "idle", NULL);
    sc_store_put (ing->store, SC_KIND_LIVE_STREAM, json_object_get_string_member (ls, "id"), ls, NULL);
  }
  g_autoptr (GPtrArray) assets = sc_store_list (ing->store, SC_KIND_ASSET, NULL, G_MAXINT, 0, NULL);
  for (guint i = 0; assets && i < assets->len; i++) {
    JsonObject *a = assets->pdata[i];
    if (!json_object_get_boolean_member_with_default (a, "is_live", FALSE))
      continue;
    g_message ("asset %s was being recorded when spacecast stopped: finalising it",
               json_object_get_string_member (a, "id"));
    sc_ingest_finalise_asset (ing, json_object_get_string_member (a, "id"));
  }
}

/* Streams made before SRT ingest existed get their passphrase now; every
 * stream's key goes into the SRT handshake table. */
static void
srt_load (ScIngest *ing)
{
  g_autoptr (GPtrArray) live_streams = sc_store_list (ing->store, SC_KIND_LIVE_STREAM, NULL,
                                                      G_MAXINT, 0, NULL);
  for (guint i = 0; live_streams && i < live_streams->len; i++) {
    JsonObject *ls = live_streams->pdata[i];
    const char *id = json_object_get_string_member (ls, "id");
    if (!json_object_has_member (ls, "srt_passphrase")) {
      g_autoptr (GError) error = NULL;
      g_autofree char *passphrase = sc_core_new_secret ();
      json_object_set_string_member (ls, "srt_passphrase", passphrase);
      if (!sc_store_put (ing->store, SC_KIND_LIVE_STREAM, id, ls, &error))
        g_warning ("live stream %s: cannot save its SRT passphrase: %s", id, error->message);
    }
    srt_sync (ing, id, ls);
  }
}

static gboolean
srt_listen (ScIngest *ing, GError **error)
{
  static const ScSrtServerCallbacks callbacks = { on_srt_publish, on_srt_media, on_srt_closed };
  ing->srt = sc_srt_server_new (&callbacks, ing);
  sc_srt_server_set_max_connections (ing->srt, ing->config->srt_max_connections);
  srt_load (ing);
  return sc_srt_server_listen (ing->srt, ing->config->srt_host, ing->config->srt_port, error);
}

ScIngest *
sc_ingest_new (ScApi *api, ScEvents *events, GError **error)
{
  static const ScRtmpServerCallbacks callbacks = { on_rtmp_publish, on_rtmp_media, on_rtmp_closed };
  ScIngest *ing = g_new0 (ScIngest, 1);
  ing->events = events;
  ing->api = api;
  ing->store = sc_api_get_store (api);
  ing->config = sc_api_get_config (api);
  ing->streams = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) stream_free);
  ing->rtmp = sc_rtmp_server_new (&callbacks, ing);
  ing->simulcast = sc_simulcast_new (ing->store, ing->config);
  sc_rtmp_server_set_publish_timeout (ing->rtmp, MIN (ing->config->rtmp_handshake_timeout_s, G_MAXUINT / 1000) * 1000);
  sc_rtmp_server_set_max_connections (ing->rtmp, ing->config->rtmp_max_connections,
                                      ing->config->rtmp_max_unpublished);

  if (ing->config->thumbnail_workers == 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "thumbnail-workers must be at least 1");
    sc_ingest_free (ing);
    return NULL;
  }
  /* Four waiting per worker: under a second of 1080p work queued, beyond
   * which a client is better told to come back. */
  ing->thumbnailer = sc_thumbnailer_new (ing->config->thumbnail_workers,
                                         4 * ing->config->thumbnail_workers,
                                         THUMBNAIL_CACHE_BYTES, error);
  if (!ing->thumbnailer) {
    sc_ingest_free (ing);
    return NULL;
  }

  if (!sc_rtmp_server_listen (ing->rtmp, ing->config->rtmp_host, ing->config->rtmp_port, error)) {
    sc_ingest_free (ing);
    return NULL;
  }
  ing->rtmp_port = ing->config->rtmp_port;
  if (ing->config->rtmps_port) {
    if (!ing->config->tls_cert || !ing->config->tls_key) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "rtmps needs tls-cert and tls-key");
      sc_ingest_free (ing);
      return NULL;
    }
    g_autoptr (GTlsCertificate) cert = g_tls_certificate_new_from_files (ing->config->tls_cert,
                                                                        ing->config->tls_key, error);
    if (!cert || !sc_rtmp_server_listen_tls (ing->rtmp, ing->config->rtmps_host,
                                             ing->config->rtmps_port, cert, error)) {
      sc_ingest_free (ing);
      return NULL;
    }
  }
  ing->subscription = sc_events_subscribe (ing->events, NULL, on_event, ing, NULL);
  sc_api_add_route (api, "PUT", "/video/v1/live-streams/*/complete",
                    SC_ROUTE_BASIC_AUTH | SC_ROUTE_JSON_BODY, complete_route, ing);
  sc_ingest_register_playback (ing);
  recover (ing);
  if (ing->config->srt_port && !srt_listen (ing, error)) {
    sc_ingest_free (ing);
    return NULL;
  }
  return ing;
}

void
sc_ingest_shutdown (ScIngest *ing)
{
  /* No new publisher; the ones connected disconnect into a live ingest,
   * and the finalisations that starts (or that were under way) land in
   * the store before anything is freed. */
  g_clear_pointer (&ing->rtmp, sc_rtmp_server_free);
  g_clear_pointer (&ing->srt, sc_srt_server_free);
  while (ing->finalising > 0)
    g_main_context_iteration (NULL, TRUE);
  /* Paused thumbnail replies are answered while the server still exists. */
  sc_thumbnailer_drain (ing->thumbnailer);
}

void
sc_ingest_free (ScIngest *ing)
{
  if (!ing)
    return;
  if (ing->subscription)
    sc_events_unsubscribe (ing->events, ing->subscription);
  g_clear_pointer (&ing->rtmp, sc_rtmp_server_free);
  g_clear_pointer (&ing->srt, sc_srt_server_free);
  g_clear_pointer (&ing->thumbnailer, sc_thumbnailer_free);
  g_hash_table_unref (ing->streams);
  g_clear_pointer (&ing->simulcast, sc_simulcast_free);
  g_free (ing);
}

char *
sc_ingest_local_url (ScIngest *ing, const char *stream_key)
{
  const char *host = ing->config->rtmp_host;
  if (g_str_equal (host, "0.0.0.0") || g_str_equal (host, "::"))
    host = "127.0.0.1";
  return g_strdup_printf ("rtmp://%s:%u/app/%s", host, ing->rtmp_port, stream_key);
}

char *
sc_ingest_asset_dir (ScIngest *ing, const char *asset_id)
{
  return g_build_filename (ing->config->data_dir, "assets", asset_id, NULL);
}

char *
sc_ingest_live_dir (ScIngest *ing, const char *live_stream_id)
{
  return g_build_filename (ing->config->data_dir, "live", live_stream_id, NULL);
}

void
sc_ingest_foreach_stream (ScIngest *ing, ScIngestStreamFunc func, gpointer user_data)
{
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, ing->streams);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Stream *s = value;
    gboolean recording = s->recorder && s->state.recording;
    ScIngestStreamStats st = {
      .live_stream_id = s->id, .recording = recording,
      .recorded_s = recording ? sc_recorder_duration (s->recorder) : 0,
      .media_bytes = s->media_bytes, .media_errors = s->media_errors,
    };
    func (&st, user_data);
  }
}

void
sc_ingest_get_rtmp_stats (ScIngest *ing, ScRtmpServerStats *st)
{
  if (ing->rtmp)
    sc_rtmp_server_get_stats (ing->rtmp, st);
  else
    *st = (ScRtmpServerStats) { 0 };
}

gboolean
sc_ingest_get_srt_stats (ScIngest *ing, ScSrtServerStats *st)
{
  if (!ing->srt)
    return FALSE;
  sc_srt_server_get_stats (ing->srt, st);
  return TRUE;
}
