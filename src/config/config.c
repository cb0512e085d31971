#include "spacecast/config.h"
#include "spacecast/core.h"

#include <stdlib.h>
#include <string.h>

ScConfig *
sc_config_new_defaults (void)
{
  ScConfig *c = g_new0 (ScConfig, 1);
  c->http_host = g_strdup ("127.0.0.1");
  c->http_port = 8080;
  c->rtmp_host = g_strdup ("0.0.0.0");
  c->rtmp_port = 1935;
  c->rtmps_host = g_strdup ("0.0.0.0");
  c->rtmps_port = 0;
  c->srt_host = g_strdup ("0.0.0.0");
  c->srt_port = 0;
  c->data_dir = g_strdup ("./spacecast-data");
  c->log_level = g_strdup ("info");
  c->ice_host = NULL;
  c->udp_port_min = 0;
  c->udp_port_max = 0;
  c->complete_hold_s = 60;
  c->broadcast_idle_grace_s = 60;
  c->participant_timeout_s = 10;
  c->http_max_connections = 512;
  c->http_header_timeout_s = 10;
  c->http_body_timeout_s = 30;
  c->http_idle_timeout_s = 60;
  c->rtmp_max_connections = 128;
  c->rtmp_max_unpublished = 16;
  c->rtmp_handshake_timeout_s = 10;
  c->srt_max_connections = 16;
  c->space_max_participants = 16;
  c->whip_max_pending_joins = 8;
  c->space_max_subscriptions = 64;
  c->broadcast_preview_max_viewers = 10;
  c->token_max_lifetime_s = 7 * 24 * 3600;
  c->thumbnail_workers = 2;
  c->space_max_event_streams = 64;
  c->simulcast_max_outputs = 32;
  c->simulcast_queue_kb = 8192;
  c->webhook_retry_initial_s = 10;
  c->webhook_retry_window_s = 24 * 3600;
  return c;
}

void
sc_config_free (ScConfig *c)
{
  if (!c)
    return;
  g_free (c->http_host);
  g_free (c->rtmp_host);
  g_free (c->rtmps_host);
  g_free (c->srt_host);
  g_free (c->metrics_host);
  g_free (c->tls_cert);
  g_free (c->tls_key);
  g_free (c->data_dir);
  g_free (c->log_level);
  g_free (c->public_url);
  g_free (c->ice_host);
  g_free (c->stun_server);
  g_free (c->turn_server);
  g_free (c->encoder);
  g_strfreev (c->webhook_urls);
  g_strfreev (c->webhook_secrets);
  g_free (c);
}

gboolean
sc_config_parse_hostport (const char *text, char **host, guint16 *port, GError **error)
{
  const char *colon;
  g_autofree char *h = NULL;

  if (!text || !*text)
    goto bad;
  if (text[0] == '[') {
    const char *end = strchr (text, ']');
    if (!end || end[1] != ':')
      goto bad;
    h = g_strndup (text + 1, end - text - 1);
    colon = end + 1;
  } else {
    colon = strrchr (text, ':');
    if (!colon)
      goto bad;
    h = colon == text ? g_strdup ("0.0.0.0") : g_strndup (text, colon - text);
  }
  {
    char *endp = NULL;
    guint64 p = g_ascii_strtoull (colon + 1, &endp, 10);
    if (endp == colon + 1 || *endp != '\0' || p > 65535)
      goto bad;
    *port = (guint16) p;
  }
  g_free (*host);
  *host = g_steal_pointer (&h);
  return TRUE;

bad:
  g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
               "invalid address \"%s\": expected HOST:PORT", text ? text : "");
  return FALSE;
}

/* One table drives both the INI keys and the --options, so they can never
 * drift apart.  An OPT_LIST is repeated on the command line and a
 * ;-separated list in the INI file; the command line replaces the file's. */
typedef enum { OPT_HOSTPORT, OPT_STRING, OPT_UINT, OPT_PORT, OPT_LIST } OptKind;
typedef struct {
  const char *key;
  OptKind kind;
  gsize host_off, val_off;
  const char *help;
} OptDesc;

#define OFF(f) G_STRUCT_OFFSET (ScConfig, f)
static const OptDesc options[] = {
  { "http", OPT_HOSTPORT, OFF (http_host), OFF (http_port), "Control API, WHIP and playback address (127.0.0.1:8080)" },
  { "rtmp", OPT_HOSTPORT, OFF (rtmp_host), OFF (rtmp_port), "RTMP ingest address (0.0.0.0:1935)" },
  { "rtmps", OPT_HOSTPORT, OFF (rtmps_host), OFF (rtmps_port), "RTMPS ingest address (off unless set)" },
  { "srt", OPT_HOSTPORT, OFF (srt_host), OFF (srt_port), "SRT ingest address (off unless set)" },
  { "tls-cert", OPT_STRING, 0, OFF (tls_cert), "PEM certificate for RTMPS" },
  { "tls-key", OPT_STRING, 0, OFF (tls_key), "PEM private key for RTMPS" },
  { "data-dir", OPT_STRING, 0, OFF (data_dir), "Database and media directory (./spacecast-data)" },
  { "log-level", OPT_STRING, 0, OFF (log_level), "error, warning, info or debug (info)" },
  { "public-url", OPT_STRING, 0, OFF (public_url), "Base URL used in printed links" },
  { "ice-host", OPT_STRING, 0, OFF (ice_host), "Address offered in WebRTC ICE host candidates" },
  { "udp-port-min", OPT_PORT, 0, OFF (udp_port_min), "Lowest WebRTC UDP port" },
  { "udp-port-max", OPT_PORT, 0, OFF (udp_port_max), "Highest WebRTC UDP port" },
  { "stun-server", OPT_STRING, 0, OFF (stun_server), "stun://host:port" },
  { "turn-server", OPT_STRING, 0, OFF (turn_server), "turn://user:pass@host:port" },
  { "complete-hold", OPT_UINT, 0, OFF (complete_hold_s), "Seconds between PUT complete and dropping the encoder (60)" },
  { "broadcast-idle-grace", OPT_UINT, 0, OFF (broadcast_idle_grace_s), "Seconds a broadcast survives an idle space (60)" },
  { "participant-timeout", OPT_UINT, 0, OFF (participant_timeout_s), "Seconds without media before a publisher is removed (10)" },
  { "encoder", OPT_STRING, 0, OFF (encoder), "Force a video encoder (e.g. x264enc); default probes" },
  { "http-max-connections", OPT_UINT, 0, OFF (http_max_connections), "Open HTTP connections at most (512)" },
  { "http-header-timeout", OPT_UINT, 0, OFF (http_header_timeout_s), "Seconds for a request's headers to arrive (10)" },
  { "http-body-timeout", OPT_UINT, 0, OFF (http_body_timeout_s), "Seconds for a request's body to arrive (30)" },
  { "http-idle-timeout", OPT_UINT, 0, OFF (http_idle_timeout_s), "Seconds a keep-alive connection may wait for a request (60)" },
  { "rtmp-max-connections", OPT_UINT, 0, OFF (rtmp_max_connections), "Open RTMP(S) connections at most (128)" },
  { "rtmp-max-unpublished", OPT_UINT, 0, OFF (rtmp_max_unpublished), "RTMP(S) connections not yet publishing at most (16)" },
  { "rtmp-handshake-timeout", OPT_UINT, 0, OFF (rtmp_handshake_timeout_s), "Seconds from RTMP connect to publish (10)" },
  { "srt-max-connections", OPT_UINT, 0, OFF (srt_max_connections), "SRT callers connected at once at most (16)" },
  { "space-max-participants", OPT_UINT, 0, OFF (space_max_participants), "Live WHIP sessions per space (16)" },
  { "whip-max-pending-joins", OPT_UINT, 0, OFF (whip_max_pending_joins), "WHIP and WHEP offers answered at once (8)" },
  { "space-max-subscriptions", OPT_UINT, 0, OFF (space_max_subscriptions), "Live WHEP sessions per space (64)" },
  { "broadcast-preview-max-viewers", OPT_UINT, 0, OFF (broadcast_preview_max_viewers), "Program preview (WHEP) viewers per broadcast (10)" },
  { "token-max-lifetime", OPT_UINT, 0, OFF (token_max_lifetime_s), "Longest space JWT lifetime in seconds, exp - iat (604800)" },
  { "thumbnail-workers", OPT_UINT, 0, OFF (thumbnail_workers), "Threads decoding thumbnails (2)" },
  { "space-max-event-streams", OPT_UINT, 0, OFF (space_max_event_streams), "Open /rt/v1/spaces/ID/events streams per space (64)" },
  { "simulcast-max-outputs", OPT_UINT, 0, OFF (simulcast_max_outputs), "Pushes to simulcast targets at once, all live streams together (32)" },
  { "simulcast-queue-kb", OPT_UINT, 0, OFF (simulcast_queue_kb), "KiB of media queued per simulcast target before it drops to the next keyframe (8192)" },
  { "metrics", OPT_HOSTPORT, OFF (metrics_host), OFF (metrics_port), "Prometheus /metrics address (off unless set)" },
  { "webhook-url", OPT_LIST, 0, OFF (webhook_urls), "Send Mux-style webhooks to this URL (repeatable, with --webhook-secret)" },
  { "webhook-secret", OPT_LIST, 0, OFF (webhook_secrets), "Signing secret of the --webhook-url at the same position" },
  { "webhook-retry-initial", OPT_UINT, 0, OFF (webhook_retry_initial_s), "Seconds before a failed webhook is retried; the gap doubles up to an hour (10)" },
  { "webhook-retry-window", OPT_UINT, 0, OFF (webhook_retry_window_s), "Seconds a webhook is retried before it is given up (86400)" },
};
#undef OFF

static void
apply_list (ScConfig *c, const OptDesc *d, const char *const *values)
{
  GStrv *slot = (GStrv *) ((guint8 *) c + d->val_off);
  g_strfreev (*slot);
  *slot = g_strdupv ((char **) values);
}

static gboolean
apply_option (ScConfig *c, const OptDesc *d, const char *value, GError **error)
{
  guint8 *base = (guint8 *) c;

  switch (d->kind) {
  case OPT_LIST:
    break;   /* whole lists go through apply_list */
  case OPT_HOSTPORT:
    return sc_config_parse_hostport (value, (char **) (base + d->host_off),
                                     (guint16 *) (base + d->val_off), error);
  case OPT_STRING: {
    char **slot = (char **) (base + d->val_off);
    g_free (*slot);
    *slot = *value ? g_strdup (value) : NULL;
    return TRUE;
  }
  case OPT_UINT:
  case OPT_PORT: {
    guint64 v;
    guint64 max = d->kind == OPT_PORT ? 65535 : G_MAXUINT32;
    if (!g_ascii_string_to_unsigned (value, 10, 0, max, &v, NULL)) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "%s must be a whole number between 0 and %" G_GUINT64_FORMAT ", got \"%s\"",
                   d->key, max, value);
      return FALSE;
    }
    if (d->kind == OPT_PORT)
      *(guint16 *) (base + d->val_off) = (guint16) v;
    else
      *(guint *) (base + d->val_off) = (guint) v;
    return TRUE;
  }
  }
  return FALSE;
}

gboolean
sc_config_load_file (ScConfig *c, const char *path, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  const char *group = "spacecast";

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    return FALSE;
  if (!g_key_file_has_group (kf, group)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "%s: missing the [spacecast] group", path);
    return FALSE;
  }
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  for (guint i = 0; keys && keys[i]; i++) {
    const OptDesc *d = NULL;
    for (guint j = 0; j < G_N_ELEMENTS (options); j++)
      if (g_str_equal (options[j].key, keys[i]))
        d = &options[j];
    if (!d) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "%s: unknown key \"%s\"", path, keys[i]);
      return FALSE;
    }
    if (d->kind == OPT_LIST) {
      g_auto (GStrv) list = g_key_file_get_string_list (kf, group, keys[i], NULL, error);
      if (!list) {
        g_prefix_error (error, "%s: ", path);
        return FALSE;
      }
      apply_list (c, d, (const char *const *) list);
      continue;
    }
    g_autofree char *v = g_key_file_get_string (kf, group, keys[i], error);
    if (!v || !apply_option (c, d, v, error)) {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
sc_config_parse_args (ScConfig *c, int *argc, char ***argv, GError **error)
{
  g_autofree char *config_path = NULL;
  const guint n = G_N_ELEMENTS (options);
  /* A char * per option, a GStrv for an OPT_LIST. */
  g_autofree gpointer *values = g_new0 (gpointer, n);
  g_autofree GOptionEntry *entries = g_new0 (GOptionEntry, n + 3);
  gboolean demo = FALSE;

  for (guint i = 0; i < n; i++)
    entries[i] = (GOptionEntry) { options[i].key, 0, 0,
                                  options[i].kind == OPT_LIST ? G_OPTION_ARG_STRING_ARRAY
                                                              : G_OPTION_ARG_STRING,
                                  &values[i], options[i].help, NULL };
  entries[n] = (GOptionEntry) { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
                                "INI file with the same keys in a [spacecast] group", "FILE" };
  entries[n + 1] = (GOptionEntry) { "demo", 0, 0, G_OPTION_ARG_NONE, &demo,
                                    "Also start a demo space, live stream and broadcast", NULL };

  g_autoptr (GOptionContext) ctx = g_option_context_new ("- run the spacecast daemon");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean ok = g_option_context_parse (ctx, argc, argv, error);
  if (ok && config_path)
    ok = sc_config_load_file (c, config_path, error);
  for (guint i = 0; ok && i < n; i++) {
    if (values[i] && options[i].kind == OPT_LIST)
      apply_list (c, &options[i], values[i]);
    else if (values[i])
      ok = apply_option (c, &options[i], values[i], error);
  }
  for (guint i = 0; i < n; i++) {
    if (options[i].kind == OPT_LIST)
      g_strfreev (values[i]);
    else
      g_free (values[i]);
  }
  if (ok && demo)
    c->demo = TRUE;
  if (ok && c->udp_port_min > c->udp_port_max && c->udp_port_max != 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "udp-port-min (%u) is above udp-port-max (%u)", c->udp_port_min, c->udp_port_max);
    ok = FALSE;
  }
  if (ok && (c->webhook_urls ? g_strv_length (c->webhook_urls) : 0) !=
            (c->webhook_secrets ? g_strv_length (c->webhook_secrets) : 0)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "every webhook-url needs a webhook-secret, in the same order");
    ok = FALSE;
  }
  return ok;
}
