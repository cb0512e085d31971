/* The /metrics listener and the families gathered at each scrape. */
#include "metrics-private.h"
#include "spacecast/core.h"

#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct _ScMetrics {
  ScMetricsSources src;
  SoupServer *server;
};

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static void
gauge (GString *out, const char *name, const char *help, double value)
{
  sc_metrics_write_family (out, name, "gauge", help);
  sc_metrics_write_sample (out, name, NULL, value);
}

static void
counter (GString *out, const char *name, const char *help, double value)
{
  sc_metrics_write_family (out, name, "counter", help);
  sc_metrics_write_sample (out, name, NULL, value);
}

/* Each broadcast's health is read once per scrape and spread over the
 * families, which must each be contiguous. */
typedef struct {
  GString *fps, *frames_out, *dropped, *bitrate, *reconnects, *encoder;
} BroadcastFamilies;

static void
add_broadcast (const char *id, const ScBcastHealth *hl, gpointer user_data)
{
  BroadcastFamilies *f = user_data;
  const char *labels[] = { "broadcast_id", id, NULL };
  sc_metrics_write_sample (f->fps, "spacecast_broadcast_output_fps", labels, hl->output_fps);
  sc_metrics_write_sample (f->frames_out, "spacecast_broadcast_frames_out_total", labels,
                           (double) hl->frames_out);
  sc_metrics_write_sample (f->dropped, "spacecast_broadcast_frames_dropped_total", labels,
                           (double) hl->frames_dropped);
  sc_metrics_write_sample (f->bitrate, "spacecast_broadcast_bitrate_bits_per_second", labels,
                           (double) hl->bitrate_bps);
  sc_metrics_write_sample (f->reconnects, "spacecast_broadcast_reconnects_total", labels,
                           hl->reconnects);
  const char *info[] = { "broadcast_id", id, "encoder", hl->video_encoder,
                         "audio_encoder", hl->audio_encoder,
                         "state", sc_bcast_state_to_string (hl->state), NULL };
  sc_metrics_write_sample (f->encoder, "spacecast_broadcast_info", info, 1);
}

/* Families gathered resource by resource, each written contiguously. */
typedef struct {
  GString *body;
  const char *name, *type, *help;
} Family;

static void
write_families (GString *out, Family *fams, guint n)
{
  for (guint i = 0; i < n; i++) {
    sc_metrics_write_family (out, fams[i].name, fams[i].type, fams[i].help);
    g_string_append_len (out, fams[i].body->str, fams[i].body->len);
    g_string_free (fams[i].body, TRUE);
  }
}

static void
write_broadcasts (GString *out, ScBroadcasts *broadcasts)
{
  BroadcastFamilies f = { g_string_new (NULL), g_string_new (NULL), g_string_new (NULL),
                          g_string_new (NULL), g_string_new (NULL), g_string_new (NULL) };
  sc_broadcasts_foreach_health (broadcasts, add_broadcast, &f);
  Family fams[] = {
    { f.fps, "spacecast_broadcast_output_fps", "gauge", "Encoded frames per second reaching the output." },
    { f.frames_out, "spacecast_broadcast_frames_out_total", "counter", "Video frames handed to the RTMP output." },
    { f.dropped, "spacecast_broadcast_frames_dropped_total", "counter", "Frames not delivered while the output was down." },
    { f.bitrate, "spacecast_broadcast_bitrate_bits_per_second", "gauge", "Bits per second handed to the output." },
    { f.reconnects, "spacecast_broadcast_reconnects_total", "counter", "Times the RTMP output was rebuilt." },
    { f.encoder, "spacecast_broadcast_info", "gauge", "Always 1: a running broadcast's encoders and output state." },
  };
  write_families (out, fams, G_N_ELEMENTS (fams));
}

typedef struct {
  GString *recorded, *bytes, *errors;
} StreamFamilies;

static void
add_stream (const ScIngestStreamStats *st, gpointer user_data)
{
  StreamFamilies *f = user_data;
  const char *labels[] = { "live_stream_id", st->live_stream_id, NULL };
  if (st->recording)
    sc_metrics_write_sample (f->recorded, "spacecast_live_stream_recording_seconds", labels,
                             st->recorded_s);
  sc_metrics_write_sample (f->bytes, "spacecast_live_stream_ingest_bytes_total", labels,
                           (double) st->media_bytes);
  sc_metrics_write_sample (f->errors, "spacecast_live_stream_media_errors_total", labels,
                           (double) st->media_errors);
}

static void
write_ingest (GString *out, ScIngest *ingest)
{
  StreamFamilies f = { g_string_new (NULL), g_string_new (NULL), g_string_new (NULL) };
  sc_ingest_foreach_stream (ingest, add_stream, &f);
  Family fams[] = {
    { f.recorded, "spacecast_live_stream_recording_seconds", "gauge",
      "Seconds recorded so far into the active asset of a live stream that is recording." },
    { f.bytes, "spacecast_live_stream_ingest_bytes_total", "counter",
      "Audio and video bytes received from the encoder (rate() is the ingest bitrate)." },
    { f.errors, "spacecast_live_stream_media_errors_total", "counter",
      "Media messages from the encoder that could not be recorded (bad or undecodable media)." },
  };
  write_families (out, fams, G_N_ELEMENTS (fams));

  ScRtmpServerStats rt;
  sc_ingest_get_rtmp_stats (ingest, &rt);
  gauge (out, "spacecast_rtmp_connections_open", "Open RTMP(S) connections, publishing or not.",
         rt.open);
  gauge (out, "spacecast_rtmp_connections_publishing", "RTMP(S) connections accepted as publishers.",
         rt.publishing);
  counter (out, "spacecast_rtmp_connections_accepted_total", "RTMP(S) connections taken in.",
           (double) rt.accepted);
  counter (out, "spacecast_rtmp_connections_refused_total",
           "RTMP(S) connections closed at once because a connection limit was reached.",
           (double) rt.refused);
  counter (out, "spacecast_rtmp_publishes_refused_total",
           "RTMP publish commands refused (unknown or reused key, disabled stream).",
           (double) rt.publishes_refused);

  ScSrtServerStats srt;
  if (!sc_ingest_get_srt_stats (ingest, &srt))
    return;
  gauge (out, "spacecast_srt_connections_open", "Open SRT connections, publishing or not.",
         srt.open);
  gauge (out, "spacecast_srt_connections_publishing", "SRT connections accepted as publishers.",
         srt.publishing);
  counter (out, "spacecast_srt_connections_accepted_total", "SRT callers that passed the handshake.",
           (double) srt.accepted);
  sc_metrics_write_family (out, "spacecast_srt_connections_refused_total", "counter",
                           "SRT callers refused, in the handshake or after it, by reason.");
  for (guint r = 0; r < SC_SRT_N_REFUSALS; r++) {
    const char *labels[] = { "reason", sc_srt_refusal_name (r), NULL };
    sc_metrics_write_sample (out, "spacecast_srt_connections_refused_total", labels,
                             (double) srt.refused[r]);
  }
}

/* Every status of every live stream, 1 for the one it is in: a stream
 * that leaves a status then reads 0 there instead of vanishing. */
static void
write_live_streams (GString *out, ScStore *store)
{
  static const char *const statuses[] = { "idle", "active", "disabled" };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = sc_store_list_field (store, SC_KIND_LIVE_STREAM, "status", &error);
  if (!rows) {
    g_warning ("metrics: live streams: %s", error->message);
    return;
  }
  sc_metrics_write_family (out, "spacecast_live_stream_status", "gauge",
                           "1 for the status each live stream is in, 0 for the others.");
  for (guint i = 0; i + 1 < rows->len; i += 2) {
    const char *status = rows->pdata[i + 1] ? rows->pdata[i + 1] : "idle";
    for (guint s = 0; s < G_N_ELEMENTS (statuses); s++) {
      const char *labels[] = { "live_stream_id", rows->pdata[i], "status", statuses[s], NULL };
      sc_metrics_write_sample (out, "spacecast_live_stream_status", labels,
                               g_str_equal (status, statuses[s]));
    }
  }
}

/* Every stored space, 0 when nobody is in it or published to it.  The
 * media families are counters over everyone who published there, those
 * who left included. */
static void
write_spaces (GString *out, ScStore *store, ScSpaces *spaces)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = sc_store_list_field (store, SC_KIND_SPACE, "status", &error);
  if (!rows) {
    g_warning ("metrics: spaces: %s", error->message);
    return;
  }
  g_autoptr (GHashTable) counts = sc_spaces_count_participants (spaces);
  g_autoptr (GHashTable) media = sc_spaces_media_stats (spaces);
  Family fams[] = {
    { g_string_new (NULL), "spacecast_space_participants", "gauge",
      "WHIP participants connected to each space." },
    { g_string_new (NULL), "spacecast_space_rtp_packets_received_total", "counter",
      "RTP packets received from the space's publishers." },
    { g_string_new (NULL), "spacecast_space_rtp_packets_lost_total", "counter",
      "RTP packets from the space's publishers that never arrived in time." },
    { g_string_new (NULL), "spacecast_space_rtp_nacks_sent_total", "counter",
      "Retransmissions asked of the space's publishers (NACK)." },
    { g_string_new (NULL), "spacecast_space_keyframe_requests_total", "counter",
      "Key frames asked of the space's publishers (PLI and FIR)." },
    { g_string_new (NULL), "spacecast_space_decode_errors_total", "counter",
      "Frames or packets from the space's publishers that a decoder refused." },
  };
  for (guint i = 0; i + 1 < rows->len; i += 2) {
    const char *labels[] = { "space_id", rows->pdata[i], NULL };
    const ScWhipMediaStats none = { 0 };
    const ScWhipMediaStats *m = g_hash_table_lookup (media, rows->pdata[i]);
    if (!m)
      m = &none;
    const double values[G_N_ELEMENTS (fams)] = {
      GPOINTER_TO_UINT (g_hash_table_lookup (counts, rows->pdata[i])),
      (double) m->packets_received, (double) m->packets_lost, (double) m->nacks_sent,
      (double) m->keyframe_requests, (double) m->decode_errors,
    };
    for (guint f = 0; f < G_N_ELEMENTS (fams); f++)
      sc_metrics_write_sample (fams[f].body, fams[f].name, labels, values[f]);
  }
  write_families (out, fams, G_N_ELEMENTS (fams));
}

static void
write_webhooks (GString *out, ScEvents *events)
{
  ScEventsStats st;
  sc_events_get_stats (events, &st);
  counter (out, "spacecast_webhook_deliveries_total",
           "Webhook attempts an endpoint answered with 2xx.", (double) st.delivered);
  counter (out, "spacecast_webhook_delivery_failures_total",
           "Webhook attempts that failed (no answer, or not 2xx); each is retried.",
           (double) st.failed);
  counter (out, "spacecast_webhook_deliveries_given_up_total",
           "Webhook deliveries abandoned after the retry window.", (double) st.gave_up);
  gauge (out, "spacecast_webhook_in_flight", "Webhook attempts being sent now.", st.in_flight);
  if (st.pending >= 0)
    gauge (out, "spacecast_webhook_queue_depth",
           "Webhook deliveries not yet done nor given up.", (double) st.pending);
}

static void
write_connections (GString *out, ScApi *api)
{
  ScApiConnectionStats st;
  sc_api_get_connection_stats (api, &st);
  gauge (out, "spacecast_http_connections_open", "Open HTTP connections, answered or not.", st.open);
  counter (out, "spacecast_http_connections_accepted_total", "HTTP connections accepted.",
           (double) st.accepted);
  counter (out, "spacecast_http_connections_timed_out_total",
           "HTTP connections closed by the header, body or idle timeout.", (double) st.timed_out);
  counter (out, "spacecast_http_connections_refused_total",
           "HTTP connections answered and closed before their body was read.", (double) st.refused);
}

/* A "Field:   123 kB" line of /proc/self/status, or -1. */
static gint64
status_field (const char *status, const char *field)
{
  g_autofree char *needle = g_strconcat ("\n", field, ":", NULL);
  const char *at = status ? strstr (status, needle) : NULL;
  return at ? g_ascii_strtoll (at + strlen (needle), NULL, 10) : -1;
}

static void
write_process (GString *out)
{
  guint fds = 0;
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  while (dir && g_dir_read_name (dir))
    fds++;
  /* The listing itself holds one. */
  if (fds > 0)
    fds--;
  gauge (out, "process_open_fds", "Number of open file descriptors.", fds);
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0)
    gauge (out, "process_max_fds", "Maximum number of open file descriptors.", (double) rl.rlim_cur);

  g_autofree char *text = NULL;
  g_autofree char *status = NULL;
  if (g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    status = g_strconcat ("\n", text, NULL);   /* every field then follows a newline */
  gint64 threads = status_field (status, "Threads");
  gint64 rss_kb = status_field (status, "VmRSS");
  if (threads >= 0)
    gauge (out, "process_threads", "Threads of the process.", threads);
  if (rss_kb >= 0)
    gauge (out, "process_resident_memory_bytes", "Resident memory size in bytes.",
           rss_kb * 1024.0);
}

char *
sc_metrics_render (ScMetrics *m)
{
  GString *out = g_string_new (NULL);
  if (m->src.broadcasts)
    write_broadcasts (out, m->src.broadcasts);
  if (m->src.store)
    write_live_streams (out, m->src.store);
  if (m->src.ingest)
    write_ingest (out, m->src.ingest);
  if (m->src.store && m->src.spaces)
    write_spaces (out, m->src.store, m->src.spaces);
  if (m->src.events)
    write_webhooks (out, m->src.events);
  if (m->src.api)
    write_connections (out, m->src.api);
  sc_metrics_http_write (out);
  write_process (out);
  return g_string_free (out, FALSE);
}

static void
handle_metrics (SoupServer *server, SoupServerMessage *msg, const char *path,
                GHashTable *query, gpointer user_data)
{
  const char *method = soup_server_message_get_method (msg);
  if (!g_str_equal (path, "/metrics")) {
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
    return;
  }
  if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD")) {
    soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                  "GET, HEAD");
    return;
  }
  char *text = sc_metrics_render (user_data);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, CONTENT_TYPE, SOUP_MEMORY_TAKE, text, strlen (text));
}

ScMetrics *
sc_metrics_new (const ScConfig *config, const ScMetricsSources *sources, GError **error)
{
  g_autoptr (ScMetrics) m = g_new0 (ScMetrics, 1);
  m->src = *sources;
  m->server = soup_server_new ("server-header", "spacecast/0.1 ", NULL);
  soup_server_add_handler (m->server, NULL, handle_metrics, m, NULL);

  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (config->metrics_host);
  if (!addr) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "--metrics: \"%s\" is not an IP address", config->metrics_host);
    return NULL;
  }
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (addr, config->metrics_port);
  if (!soup_server_listen (m->server, sa, 0, error)) {
    g_prefix_error (error, "--metrics %s:%u: ", config->metrics_host, config->metrics_port);
    return NULL;
  }
  sc_metrics_http_start ();
  g_message ("metrics: listening on http://%s:%u/metrics", config->metrics_host,
             config->metrics_port);
  return g_steal_pointer (&m);
}

void
sc_metrics_free (ScMetrics *m)
{
  if (!m)
    return;
  if (m->server) {
    soup_server_disconnect (m->server);
    g_clear_object (&m->server);
  }
  sc_metrics_http_stop ();
  g_free (m);
}
