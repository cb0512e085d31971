/* spacecast srt: the SRT ingest listener, on libsrt.  Owns the one
 * listening socket, the table of stream keys and passphrases every
 * handshake is checked against, the accepted callers and a reader thread
 * per caller that demuxes its MPEG-TS (H.264, AAC) and remuxes it to FLV
 * (src/srt/srt-remux.c).  It hands the embedder what the RTMP server does:
 * "may this key publish?", each audio/video message as an FLV tag body, and
 * "this publisher is gone", all on the GMainContext that was thread-default
 * at sc_srt_server_new().  It knows nothing about live streams.
 *
 * libsrt checks a caller against the table on its own receive thread,
 * before the connection exists: a key that is not there, or is refused, is
 * rejected in the handshake (1404, 1403), and a wrong or missing passphrase
 * fails the handshake, so no byte of media from such a caller is ever read.
 * The embedder keeps the table current. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ScSrtServer ScSrtServer;
typedef struct _ScSrtConn ScSrtConn;

typedef struct {
  /* A caller passed the handshake with @stream_key and its passphrase.
   * Return TRUE to start reading its media; on FALSE the connection is
   * closed, logging error's message (never the key: it is a secret). */
  gboolean (*publish) (ScSrtConn *conn, const char *stream_key, gpointer user_data,
                       GError **error);
  /* One audio (8) or video (9) message as an FLV tag body, with its FLV
   * timestamp.  Only for accepted publishers. */
  void (*media) (ScSrtConn *conn, int flv_type, guint64 timestamp_ms, const guint8 *data,
                 gsize len, gpointer user_data);
  /* An accepted publisher is gone: exactly once, possibly from within
   * sc_srt_conn_close() or sc_srt_server_free(). */
  void (*closed) (ScSrtConn *conn, gpointer user_data);
} ScSrtServerCallbacks;

ScSrtServer *sc_srt_server_new    (const ScSrtServerCallbacks *cb, gpointer user_data);
/* Binds @host (an IP address) and @port (UDP) and starts accepting. */
gboolean     sc_srt_server_listen (ScSrtServer *s, const char *host, guint16 port,
                                   GError **error);
/* Callers connected at once, at most (0: no limit; default 16): beyond it a
 * caller is rejected in the handshake (1402, overload). */
void         sc_srt_server_set_max_connections (ScSrtServer *s, guint max_connections);
/* What @owner (a live stream id, say) accepts: callers sending @stream_key
 * as their stream id, with @passphrase (10 to 64 characters); refused with
 * 1403 while !@allowed.  Replaces what @owner had; a NULL @stream_key
 * removes it. */
void         sc_srt_server_set_key (ScSrtServer *s, const char *owner, const char *stream_key,
                                    const char *passphrase, gboolean allowed);
/* Why a caller was refused: in the handshake, or by the embedder's
 * publish callback (whose error code says which). */
typedef enum {
  SC_SRT_REFUSED_LIMIT,         /* max_connections reached */
  SC_SRT_REFUSED_UNKNOWN_KEY,
  SC_SRT_REFUSED_DISABLED,
  SC_SRT_REFUSED_ERROR,         /* anything else */
  SC_SRT_N_REFUSALS
} ScSrtRefusal;
/* "limit", "unknown_key", "disabled", "error" */
const char  *sc_srt_refusal_name (ScSrtRefusal refusal);
/* Connections now and since start (metrics).  A wrong passphrase fails in
 * libsrt's own key exchange, after the table was consulted, and is not
 * seen here. */
typedef struct {
  guint open;                   /* accepted and not yet gone */
  guint publishing;             /* of those, taken by the embedder */
  guint64 accepted;             /* callers that passed the handshake */
  guint64 refused[SC_SRT_N_REFUSALS];
} ScSrtServerStats;
void         sc_srt_server_get_stats (ScSrtServer *s, ScSrtServerStats *stats);
/* Drops every caller (closed callbacks fire), stops listening, and waits
 * for the threads. */
void         sc_srt_server_free   (ScSrtServer *s);

/* Drop a caller now (its reader stops within half a second), logging
 * @reason once.  Safe from inside callbacks. */
void         sc_srt_conn_close    (ScSrtConn *conn, const char *reason);
void         sc_srt_conn_set_user_data (ScSrtConn *conn, gpointer data);
gpointer     sc_srt_conn_get_user_data (ScSrtConn *conn);
/* "127.0.0.1:54321" */
const char  *sc_srt_conn_get_peer (ScSrtConn *conn);
/* From 1, in the order callers are accepted: the N of "srt conn N (peer)". */
guint64      sc_srt_conn_get_id   (ScSrtConn *conn);

/* The reader's media path, apart from the sockets (unit-tested on files):
 * @read fills up to @size bytes of MPEG-TS as an AVIOContext's read_packet
 * does (a count, AVERROR_EOF at the end, or another AVERROR); the first
 * H.264 and the first AAC stream come out remuxed as FLV tag bodies,
 * sequence headers first, through @tag.  Returns when the input ends (TRUE)
 * or cannot be read as H.264/AAC in MPEG-TS (FALSE, @error says why). */
typedef int  (*ScSrtReadFunc) (gpointer user_data, guint8 *buf, int size);
typedef void (*ScSrtTagFunc)  (int flv_type, guint64 timestamp_ms, const guint8 *data,
                               gsize len, gpointer user_data);
gboolean     sc_srt_remux         (ScSrtReadFunc read, ScSrtTagFunc tag, gpointer user_data,
                                   GError **error);

G_END_DECLS
