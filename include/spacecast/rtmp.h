/* spacecast rtmp: the RTMP/RTMPS ingest server.  Owns the listening
 * sockets, the per-encoder connections, the RTMP handshake, chunk and
 * command protocol (see src/rtmp/rtmp-proto.h for the pure parser), and
 * hands the embedder three things: "may this app/key publish?", each
 * audio/video/data message as an FLV tag body, and "this publisher is gone".
 * It knows nothing about streams, keys or recordings.  Everything runs on
 * the GMainContext that is thread-default when sc_rtmp_server_listen() is
 * first called; no threads. */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _ScRtmpServer ScRtmpServer;
typedef struct _ScRtmpConn ScRtmpConn;

typedef enum {
  SC_RTMP_MEDIA_AUDIO = 8,
  SC_RTMP_MEDIA_VIDEO = 9,
  SC_RTMP_MEDIA_DATA = 18,
} ScRtmpMediaType;

typedef struct {
  /* publish(app, stream name without any "?query").  Return TRUE to accept.
   * On FALSE with error: SC_ERROR_NOT_FOUND -> onStatus
   * NetStream.Publish.BadName, SC_ERROR_FORBIDDEN/UNAUTHORIZED ->
   * NetStream.Publish.Unauthorized (anything else -> BadName); then the
   * connection is closed.  No media is delivered before acceptance.  The
   * error message is logged and sent to the peer: @stream_name is a
   * secret, and the server itself never logs it, so it must not be in it. */
  gboolean (*publish) (ScRtmpConn *conn, const char *app,
                       const char *stream_name, gpointer user_data,
                       GError **error);
  /* One RTMP audio/video/data message: the FLV tag body.  timestamp_ms is
   * the RTMP timestamp unwrapped to 64 bits.  Only for accepted publishers. */
  void (*media) (ScRtmpConn *conn, ScRtmpMediaType type,
                 guint64 timestamp_ms, const guint8 *data, gsize len,
                 gpointer user_data);
  /* An accepted publisher is gone.  Exactly once per accepted publish,
   * possibly from within sc_rtmp_conn_close() or sc_rtmp_server_free(). */
  void (*closed) (ScRtmpConn *conn, gpointer user_data);
} ScRtmpServerCallbacks;

ScRtmpServer *sc_rtmp_server_new        (const ScRtmpServerCallbacks *cb,
                                         gpointer user_data);
gboolean      sc_rtmp_server_listen     (ScRtmpServer *s, const char *host,
                                         guint16 port, GError **error);
gboolean      sc_rtmp_server_listen_tls (ScRtmpServer *s, const char *host,
                                         guint16 port, GTlsCertificate *cert,
                                         GError **error);
/* A connection that has not been accepted as a publisher this long after it
 * was accepted is dropped.  Default 10000 ms, 0 for none; applies to new
 * connections. */
void          sc_rtmp_server_set_publish_timeout (ScRtmpServer *s, guint ms);
/* At most @max_connections open at once, of which at most @max_unpublished
 * not yet accepted as publishers: a newcomer beyond either is closed at
 * once.  0 is no limit.  Defaults 128 and 16. */
void          sc_rtmp_server_set_max_connections (ScRtmpServer *s,
                                                  guint max_connections,
                                                  guint max_unpublished);
/* An accepted publisher that sends nothing this long is dropped (a stalled
 * encoder behind a live TCP connection).  Default 30000 ms; 0 disables. */
void          sc_rtmp_server_set_idle_timeout (ScRtmpServer *s, guint ms);
/* Connections now and since start (metrics). */
typedef struct {
  guint open;                   /* live connections, publishing or not */
  guint publishing;             /* of those, accepted as publishers */
  guint64 accepted;             /* connections taken in */
  guint64 refused;              /* newcomers closed at once: a limit was reached */
  guint64 publishes_refused;    /* publish commands answered with a refusal */
} ScRtmpServerStats;
void          sc_rtmp_server_get_stats (ScRtmpServer *s, ScRtmpServerStats *stats);
/* Closes every connection (closed callbacks may fire) and stops listening. */
void          sc_rtmp_server_free       (ScRtmpServer *s);

/* Drop an encoder now, logging @reason once.  Safe from inside callbacks:
 * the memory stays valid until the current callback returns. */
void          sc_rtmp_conn_close        (ScRtmpConn *conn, const char *reason);
void          sc_rtmp_conn_set_user_data (ScRtmpConn *conn, gpointer data);
gpointer      sc_rtmp_conn_get_user_data (ScRtmpConn *conn);
/* "127.0.0.1:54321" */
const char   *sc_rtmp_conn_get_peer     (ScRtmpConn *conn);
/* From 1, in the order connections arrive: the N of the server's "rtmp conn
 * N (peer): ..." log lines, for the embedder's own lines to name. */
guint64       sc_rtmp_conn_get_id       (ScRtmpConn *conn);

/* Pushing to another RTMP server with rtmp2sink (broadcasts, simulcast):
 * TRUE when @error (from its bus) says the server refused the publish —
 * a bad key or application, worth no retry — rather than a connection
 * that could not be made or was lost. */
gboolean      sc_rtmp_push_error_is_refusal (const GError *error);

G_END_DECLS
