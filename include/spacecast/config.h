/* spacecast configuration: the settings of `spacecast serve`, from command
 * line options and from an INI file (--config) with the same keys.  The
 * command line wins over the file, the file over the embedded defaults. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *http_host;   guint16 http_port;     /* control API, WHIP, playback */
  char *rtmp_host;   guint16 rtmp_port;     /* RTMP ingest */
  char *rtmps_host;  guint16 rtmps_port;    /* RTMPS ingest; port 0 = off */
  char *srt_host;    guint16 srt_port;      /* SRT ingest; port 0 = off */
  char *tls_cert;    char *tls_key;         /* PEM files for RTMPS */
  char *data_dir;                           /* SQLite database and media */
  char *log_level;                          /* error|warning|info|debug */
  char *public_url;                         /* base URL printed in links; NULL = from --http */
  char *ice_host;                           /* address offered in ICE host candidates */
  guint16 udp_port_min, udp_port_max;       /* WebRTC media ports */
  char *stun_server;                        /* stun://host:port */
  char *turn_server;                        /* turn://user:pass@host:port */
  guint complete_hold_s;                    /* PUT complete: seconds before the encoder is dropped */
  guint broadcast_idle_grace_s;             /* a broadcast stops after its space is idle this long */
  guint participant_timeout_s;              /* a publisher with no media this long is removed */
  char *encoder;                            /* force a video encoder; NULL = probe */
  gboolean demo;                            /* serve --demo */

  /* Limits on what a stranger can make the daemon spend (README, "Limits"). */
  guint http_max_connections;               /* open HTTP connections */
  guint http_header_timeout_s;              /* request line + headers must arrive within */
  guint http_body_timeout_s;                /* a request body must arrive within */
  guint http_idle_timeout_s;                /* keep-alive connection with no request */
  guint rtmp_max_connections;               /* open RTMP(S) connections */
  guint rtmp_max_unpublished;               /* of those, not yet publishing */
  guint rtmp_handshake_timeout_s;           /* connect to publish must take less */
  guint srt_max_connections;                /* SRT callers connected at once */
  guint space_max_participants;             /* live WHIP sessions per space */
  guint whip_max_pending_joins;             /* WHIP and WHEP offers being answered at once */
  guint space_max_subscriptions;            /* live WHEP sessions per space */
  guint broadcast_preview_max_viewers;      /* program preview WHEP sessions per broadcast */
  guint token_max_lifetime_s;               /* longest exp - iat accepted in a space JWT */
  guint thumbnail_workers;                  /* threads decoding thumbnails */
  guint space_max_event_streams;            /* open SSE streams per space */
  guint simulcast_max_outputs;              /* pushes to simulcast targets, all streams */
  guint simulcast_queue_kb;                 /* media queued per target before it drops */

  /* Prometheus /metrics on its own listener; port 0 = off. */
  char *metrics_host;  guint16 metrics_port;

  /* Webhooks (src/events): endpoints in pairs, the i-th secret signs for
   * the i-th URL. */
  GStrv webhook_urls;
  GStrv webhook_secrets;
  guint webhook_retry_initial_s;            /* gap after the first failed attempt; doubles */
  guint webhook_retry_window_s;             /* an event is given up this long after it happened */
} ScConfig;

ScConfig *sc_config_new_defaults (void);
void      sc_config_free (ScConfig *config);

/* Parse `serve` arguments (argv without the subcommand word) into @config,
 * loading --config FILE first so command-line options override it. */
gboolean  sc_config_parse_args (ScConfig *config, int *argc, char ***argv, GError **error);
gboolean  sc_config_load_file (ScConfig *config, const char *path, GError **error);

/* "HOST:PORT", "[v6]:PORT" or ":PORT" (all interfaces). */
gboolean  sc_config_parse_hostport (const char *text, char **host, guint16 *port, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScConfig, sc_config_free)

G_END_DECLS
