/* RTMP/RTMPS server: a GSocketListener per address accepts, each
 * connection reads asynchronously into the pure protocol parser
 * (rtmp-proto.c) and writes its replies back.  All on the GMainContext that
 * was thread-default at the first listen; no threads.  A connection is
 * refcounted by its pending async operations so that closing from inside a
 * callback is always safe, and its socket is closed as soon as the last of
 * them completes. */
#include "spacecast/rtmp.h"
#include "spacecast/core.h"
#include "rtmp-proto.h"
#include <string.h>

#define READ_SIZE 65536
#define MAX_PENDING_OUTPUT (1024 * 1024)
/* Before publishing the replies are the handshake and a few commands. */
#define UNPUBLISHED_MAX_PENDING_OUTPUT (64 * 1024)
#define DEFAULT_PUBLISH_TIMEOUT_MS 10000
#define UNPUBLISH_GRACE_MS 5000
#define DEFAULT_IDLE_TIMEOUT_MS 30000
#define IDLE_CHECK_MS 1000
/* Encoders reconnecting together after a network blip arrive as a burst. */
#define LISTEN_BACKLOG 128
/* Out of fds, the listening socket stays readable: retrying at once would
 * spin, so back off; the ceiling bounds how long recovery can lag. */
#define ACCEPT_BACKOFF_MIN_MS 50
#define ACCEPT_BACKOFF_MAX_MS 1000
#define REFUSED_REPORT_S 10
#define DEFAULT_MAX_CONNECTIONS 128
#define DEFAULT_MAX_UNPUBLISHED 16

typedef struct _Listener Listener;

struct _ScRtmpServer {
  ScRtmpServerCallbacks cb;
  gpointer user_data;
  GMainContext *context;
  Listener *plain;
  Listener *tls;
  GTlsCertificate *cert;
  GList *conns;
  guint n_conns;
  guint n_published;            /* of n_conns, accepted as publishers */
  guint publish_timeout_ms;
  guint idle_timeout_ms;
  guint max_connections;
  guint max_unpublished;
  guint64 last_conn_id;
  GSource *refused_report;      /* while newcomers are being refused */
  guint n_refused;              /* since the last report */
  guint64 total_accepted, total_refused, total_publishes_refused;
};

/* Refcounted: an accept in flight keeps it alive past the server. */
struct _Listener {
  ScRtmpServer *server;         /* NULL once stopped */
  GSocketListener *sockets;
  GCancellable *cancel;
  gboolean tls;
  GSource *retry;               /* backing off after a failed accept */
  guint backoff_ms;
  guint failures;
  gint64 failing_since_us;
};

struct _ScRtmpConn {
  gint ref;
  guint64 id;
  ScRtmpServer *server;         /* NULL once closed */
  GIOStream *stream;
  GSocket *socket;
  char *peer;
  ScRtmpProto *proto;
  GCancellable *cancel;
  guint8 *rbuf;
  GBytes *writing;              /* in flight, or NULL */
  GSource *timeout;
  const char *timeout_reason;
  GSource *idle_check;          /* while publishing */
  gint64 last_read_us;
  gboolean closing;
  gboolean published;           /* a publish was accepted, ever */
  gboolean accepted;            /* an accepted publish not yet reported closed */
  char *close_after_flush;      /* reason, once the replies are out */
  gpointer user_data;
};

static void conn_read (ScRtmpConn *c);
static void conn_flush (ScRtmpConn *c);

static ScRtmpConn *
conn_ref (ScRtmpConn *c)
{
  c->ref++;
  return c;
}

static void
conn_unref (ScRtmpConn *c)
{
  if (--c->ref > 0)
    return;
  /* The socket was shut down when closing, so a TLS close_notify cannot
   * block here. */
  g_io_stream_close (c->stream, NULL, NULL);
  g_object_unref (c->stream);
  g_object_unref (c->socket);
  g_object_unref (c->cancel);
  sc_rtmp_proto_free (c->proto);
  g_clear_pointer (&c->writing, g_bytes_unref);
  g_free (c->close_after_flush);
  g_free (c->rbuf);
  g_free (c->peer);
  g_free (c);
}

/* A line about a connection names it by id and peer, never by what it
 * asked for: the stream name it publishes to is a secret key. */
static void conn_log (ScRtmpConn *c, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
conn_log (ScRtmpConn *c, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  char id[24];
  g_snprintf (id, sizeof id, "%" G_GUINT64_FORMAT, c->id);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RTMP_CONN", id,
                    "MESSAGE", "rtmp conn %s (%s): %s", id, c->peer, what);
}

void
sc_rtmp_conn_close (ScRtmpConn *c, const char *reason)
{
  if (c->closing)
    return;
  c->closing = TRUE;
  conn_log (c, "closing: %s", reason ? reason : "closed");
  ScRtmpServer *s = c->server;
  if (c->timeout) {
    g_source_destroy (c->timeout);
    g_clear_pointer (&c->timeout, g_source_unref);
  }
  if (c->idle_check) {
    g_source_destroy (c->idle_check);
    g_clear_pointer (&c->idle_check, g_source_unref);
  }
  sc_rtmp_proto_stop (c->proto);
  g_cancellable_cancel (c->cancel);
  g_socket_shutdown (c->socket, TRUE, TRUE, NULL);
  if (c->accepted) {
    c->accepted = FALSE;
    if (s->cb.closed)
      s->cb.closed (c, s->user_data);
  }
  s->conns = g_list_remove (s->conns, c);
  s->n_conns--;
  if (c->published)
    s->n_published--;
  c->server = NULL;
  /* The server's reference goes now, not from an idle source: a busy loop
   * starved those, and every closed connection kept its fd.  A caller that
   * still uses @c afterwards is a read or write completing (or a callback
   * inside one), which holds a reference of its own. */
  conn_unref (c);
}

static gboolean on_timeout (gpointer data);

/* A stalled encoder whose TCP connection stays up must not look live
 * forever. */
static gboolean
on_idle_check (gpointer data)
{
  ScRtmpConn *c = data;
  if (g_get_monotonic_time () - c->last_read_us <
      (gint64) c->server->idle_timeout_ms * 1000)
    return G_SOURCE_CONTINUE;
  g_clear_pointer (&c->idle_check, g_source_unref);
  sc_rtmp_conn_close (c, "no data from the publisher");
  return G_SOURCE_REMOVE;
}

static void
conn_start_timeout (ScRtmpConn *c, guint ms, const char *reason)
{
  c->timeout_reason = reason;
  c->timeout = g_timeout_source_new (ms);
  g_source_set_callback (c->timeout, on_timeout, c, NULL);
  g_source_attach (c->timeout, c->server->context);
}

static void
on_event (ScRtmpProto *p, const ScRtmpEvent *ev, gpointer data)
{
  ScRtmpConn *c = data;
  ScRtmpServer *s = c->server;
  if (c->closing)
    return;
  switch (ev->type) {
    case SC_RTMP_EVENT_PUBLISH: {
      g_autoptr (GError) error = NULL;
      gboolean ok = s->cb.publish &&
          s->cb.publish (c, ev->app, ev->stream_name, s->user_data, &error);
      if (c->closing)
        return;
      if (ok) {
        sc_rtmp_proto_accept_publish (p);
        c->accepted = TRUE;
        c->published = TRUE;
        s->n_published++;
        if (c->timeout) {
          g_source_destroy (c->timeout);
          g_clear_pointer (&c->timeout, g_source_unref);
        }
        conn_log (c, "publishing");
        if (s->idle_timeout_ms) {
          c->idle_check = g_timeout_source_new (MIN (IDLE_CHECK_MS,
                                                     s->idle_timeout_ms));
          g_source_set_callback (c->idle_check, on_idle_check, c, NULL);
          g_source_attach (c->idle_check, s->context);
        }
      } else {
        s->total_publishes_refused++;
        sc_rtmp_proto_reject_publish (p, error);
        sc_rtmp_proto_stop (p);
        c->close_after_flush = g_strdup_printf ("publish refused: %s",
            error ? error->message : "refused");
      }
      break;
    }
    case SC_RTMP_EVENT_MEDIA:
      if (s->cb.media)
        s->cb.media (c, ev->media_type, ev->timestamp_ms, ev->data, ev->len,
                     s->user_data);
      break;
    case SC_RTMP_EVENT_UNPUBLISH:
      /* The publisher is gone now, but encoders (rtmp2sink) treat the server
       * hanging up right after deleteStream as an error: let them close
       * first, within a grace period. */
      conn_log (c, "unpublished");
      if (c->accepted) {
        c->accepted = FALSE;
        if (s->cb.closed)
          s->cb.closed (c, s->user_data);
      }
      if (!c->closing && !c->timeout)
        conn_start_timeout (c, UNPUBLISH_GRACE_MS,
                            "peer did not hang up after unpublishing");
      break;
  }
}

static void
on_written (GObject *src, GAsyncResult *res, gpointer data)
{
  ScRtmpConn *c = data;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (src), res,
                                                  NULL, &error);
  g_clear_pointer (&c->writing, g_bytes_unref);
  if (!c->closing) {
    if (!ok)
      sc_rtmp_conn_close (c, error->message);
    else
      conn_flush (c);
  }
  conn_unref (c);
}

static void
conn_flush (ScRtmpConn *c)
{
  if (c->closing)
    return;
  GByteArray *out = sc_rtmp_proto_get_output (c->proto);
  /* Replies (pongs, acks) pile up only if the peer never reads. */
  if (out->len > (c->published ? MAX_PENDING_OUTPUT : UNPUBLISHED_MAX_PENDING_OUTPUT)) {
    sc_rtmp_conn_close (c, "peer is not reading our replies");
    return;
  }
  if (c->writing)
    return;
  if (out->len == 0) {
    if (c->close_after_flush)
      sc_rtmp_conn_close (c, c->close_after_flush);
    return;
  }
  c->writing = g_bytes_new (out->data, out->len);
  g_byte_array_set_size (out, 0);
  gsize len;
  const void *d = g_bytes_get_data (c->writing, &len);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (c->stream),
                                   d, len, G_PRIORITY_DEFAULT, c->cancel,
                                   on_written, conn_ref (c));
}

static void
on_read (GObject *src, GAsyncResult *res, gpointer data)
{
  ScRtmpConn *c = data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (src), res, &error);
  if (c->closing) {
    conn_unref (c);
    return;
  }
  if (n < 0) {
    sc_rtmp_conn_close (c, error->message);
  } else if (n == 0) {
    sc_rtmp_conn_close (c, "peer closed the connection");
  } else if (!(c->last_read_us = g_get_monotonic_time ()) ||
      !sc_rtmp_proto_feed (c->proto, c->rbuf, n, &error)) {
    if (!c->closing)
      sc_rtmp_conn_close (c, error->message);
  } else {
    conn_flush (c);
    if (!c->close_after_flush)
      conn_read (c);
  }
  conn_unref (c);
}

static void
conn_read (ScRtmpConn *c)
{
  if (c->closing)
    return;
  g_input_stream_read_async (g_io_stream_get_input_stream (c->stream),
                             c->rbuf, READ_SIZE, G_PRIORITY_DEFAULT,
                             c->cancel, on_read, conn_ref (c));
}

static gboolean
on_timeout (gpointer data)
{
  ScRtmpConn *c = data;
  g_clear_pointer (&c->timeout, g_source_unref);
  sc_rtmp_conn_close (c, c->timeout_reason);
  return G_SOURCE_REMOVE;
}

static char *
peer_name (GSocketConnection *conn)
{
  g_autoptr (GSocketAddress) addr =
      g_socket_connection_get_remote_address (conn, NULL);
  if (!G_IS_INET_SOCKET_ADDRESS (addr))
    return g_strdup ("?");
  GInetSocketAddress *ia = G_INET_SOCKET_ADDRESS (addr);
  g_autofree char *host =
      g_inet_address_to_string (g_inet_socket_address_get_address (ia));
  guint port = g_inet_socket_address_get_port (ia);
  if (strchr (host, ':'))
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

/* Beyond either limit a newcomer is closed at once: one connection's
 * worth of memory and fds each, with no handshake or TLS done for it. */
static const char *
admission_refusal (ScRtmpServer *s)
{
  if (s->max_connections && s->n_conns >= s->max_connections)
    return "the limit of connections is reached";
  if (s->max_unpublished && s->n_conns - s->n_published >= s->max_unpublished)
    return "the limit of connections not yet publishing is reached";
  return NULL;
}

static gboolean
on_refused_report (gpointer data)
{
  ScRtmpServer *s = data;
  if (s->n_refused == 0) {
    g_clear_pointer (&s->refused_report, g_source_unref);
    return G_SOURCE_REMOVE;
  }
  g_message ("rtmp: refused %u more new connections in the last %d s", s->n_refused,
             REFUSED_REPORT_S);
  s->n_refused = 0;
  return G_SOURCE_CONTINUE;
}

/* A flood of newcomers is one log line, then one every REFUSED_REPORT_S
 * while it lasts. */
static void
refuse (ScRtmpServer *s, GSocketConnection *connection, const char *why)
{
  s->total_refused++;
  if (s->refused_report) {
    s->n_refused++;
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
    return;
  }
  g_autofree char *peer = peer_name (connection);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  g_message ("rtmp: %s: refusing new connections, starting with %s", why, peer);
  s->refused_report = g_timeout_source_new_seconds (REFUSED_REPORT_S);
  g_source_set_callback (s->refused_report, on_refused_report, s, NULL);
  g_source_attach (s->refused_report, s->context);
}

static void
conn_new (ScRtmpServer *s, GSocketConnection *connection, gboolean tls)
{
  const char *refusal = admission_refusal (s);
  if (refusal) {
    refuse (s, connection, refusal);
    return;
  }
  s->total_accepted++;
  ScRtmpConn *c = g_new0 (ScRtmpConn, 1);
  c->ref = 1;
  c->id = ++s->last_conn_id;
  c->server = s;
  c->stream = G_IO_STREAM (g_object_ref (connection));
  c->socket = g_object_ref (g_socket_connection_get_socket (connection));
  c->peer = peer_name (connection);
  c->cancel = g_cancellable_new ();
  c->rbuf = g_malloc (READ_SIZE);
  c->proto = sc_rtmp_proto_new (on_event, c);
  s->conns = g_list_prepend (s->conns, c);
  s->n_conns++;
  if (tls) {
    g_autoptr (GError) error = NULL;
    GIOStream *t = g_tls_server_connection_new (c->stream, s->cert, &error);
    if (!t) {
      g_autofree char *why = g_strdup_printf ("TLS setup failed: %s", error->message);
      sc_rtmp_conn_close (c, why);
      return;
    }
    g_object_unref (c->stream);
    c->stream = t;
  }
  if (s->publish_timeout_ms)
    conn_start_timeout (c, s->publish_timeout_ms,
                        "no publish within the time limit");
  conn_read (c);
}

/* ---- listening ---- */

static void listener_accept (Listener *l);

static void
listener_clear (gpointer data)
{
  Listener *l = data;
  g_clear_object (&l->sockets);
  g_clear_object (&l->cancel);
}

static gboolean
on_accept_retry (gpointer data)
{
  Listener *l = data;
  g_clear_pointer (&l->retry, g_source_unref);
  listener_accept (l);
  return G_SOURCE_REMOVE;
}

/* Out of fds (EMFILE, ENFILE) or anything else: stop accepting for a while
 * instead of spinning on a socket that stays readable, and say so once per
 * bout, not per attempt. */
static void
listener_failed (Listener *l, const GError *error)
{
  if (l->failures++ == 0) {
    l->failing_since_us = g_get_monotonic_time ();
    l->backoff_ms = ACCEPT_BACKOFF_MIN_MS;
    g_warning ("rtmp: cannot accept %s connections: %s; retrying until it works",
               l->tls ? "RTMPS" : "RTMP", error->message);
  } else {
    l->backoff_ms = MIN (l->backoff_ms * 2, ACCEPT_BACKOFF_MAX_MS);
  }
  l->retry = g_timeout_source_new (l->backoff_ms);
  g_source_set_callback (l->retry, on_accept_retry, l, NULL);
  g_source_attach (l->retry, l->server->context);
}

static void
on_accepted (GObject *src, GAsyncResult *res, gpointer data)
{
  Listener *l = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection =
      g_socket_listener_accept_finish (G_SOCKET_LISTENER (src), res, NULL, &error);
  if (l->server && !connection) {
    listener_failed (l, error);
  } else if (l->server) {
    if (l->failures) {
      g_message ("rtmp: accepting connections again after %u failed attempts over %.1f s",
                 l->failures, (g_get_monotonic_time () - l->failing_since_us) / 1e6);
      l->failures = 0;
    }
    conn_new (l->server, connection, l->tls);
    listener_accept (l);
  }
  g_rc_box_release_full (l, listener_clear);
}

static void
listener_accept (Listener *l)
{
  g_main_context_push_thread_default (l->server->context);
  g_socket_listener_accept_async (l->sockets, l->cancel, on_accepted,
                                  g_rc_box_acquire (l));
  g_main_context_pop_thread_default (l->server->context);
}

static void
listener_stop (Listener *l)
{
  l->server = NULL;
  if (l->retry) {
    g_source_destroy (l->retry);
    g_clear_pointer (&l->retry, g_source_unref);
  }
  g_cancellable_cancel (l->cancel);
  g_socket_listener_close (l->sockets);
  g_rc_box_release_full (l, listener_clear);
}

ScRtmpServer *
sc_rtmp_server_new (const ScRtmpServerCallbacks *cb, gpointer user_data)
{
  ScRtmpServer *s = g_new0 (ScRtmpServer, 1);
  s->cb = *cb;
  s->user_data = user_data;
  s->publish_timeout_ms = DEFAULT_PUBLISH_TIMEOUT_MS;
  s->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
  s->max_connections = DEFAULT_MAX_CONNECTIONS;
  s->max_unpublished = DEFAULT_MAX_UNPUBLISHED;
  return s;
}

void
sc_rtmp_server_set_publish_timeout (ScRtmpServer *s, guint ms)
{
  s->publish_timeout_ms = ms;
}

void
sc_rtmp_server_set_idle_timeout (ScRtmpServer *s, guint ms)
{
  s->idle_timeout_ms = ms;
}

void
sc_rtmp_server_set_max_connections (ScRtmpServer *s, guint max_connections,
                                    guint max_unpublished)
{
  s->max_connections = max_connections;
  s->max_unpublished = max_unpublished;
}

void
sc_rtmp_server_get_stats (ScRtmpServer *s, ScRtmpServerStats *st)
{
  *st = (ScRtmpServerStats) {
    .open = s->n_conns, .publishing = s->n_published, .accepted = s->total_accepted,
    .refused = s->total_refused, .publishes_refused = s->total_publishes_refused,
  };
}

static gboolean
add_listener (ScRtmpServer *s, Listener **slot, gboolean tls, const char *host,
              guint16 port, GError **error)
{
  if (*slot) {
    g_set_error (error, SC_ERROR, SC_ERROR_CONFLICT, "already listening");
    return FALSE;
  }
  g_autoptr (GSocketListener) sockets = g_socket_listener_new ();
  g_socket_listener_set_backlog (sockets, LISTEN_BACKLOG);
  gboolean ok;
  if (!host || !*host) {
    ok = g_socket_listener_add_inet_port (sockets, port, NULL, error);
  } else {
    g_autoptr (GInetAddress) ia = g_inet_address_new_from_string (host);
    if (!ia) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "RTMP listen address '%s' is not an IP address", host);
      return FALSE;
    }
    g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (ia, port);
    ok = g_socket_listener_add_address (sockets, sa, G_SOCKET_TYPE_STREAM,
                                        G_SOCKET_PROTOCOL_TCP, NULL, NULL,
                                        error);
  }
  if (!ok)
    return FALSE;
  if (!s->context)
    s->context = g_main_context_ref_thread_default ();
  Listener *l = g_rc_box_new0 (Listener);
  l->server = s;
  l->sockets = g_steal_pointer (&sockets);
  l->cancel = g_cancellable_new ();
  l->tls = tls;
  *slot = l;
  listener_accept (l);
  return TRUE;
}

gboolean
sc_rtmp_server_listen (ScRtmpServer *s, const char *host, guint16 port,
                       GError **error)
{
  return add_listener (s, &s->plain, FALSE, host, port, error);
}

gboolean
sc_rtmp_server_listen_tls (ScRtmpServer *s, const char *host, guint16 port,
                           GTlsCertificate *cert, GError **error)
{
  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (cert), FALSE);
  g_set_object (&s->cert, cert);
  return add_listener (s, &s->tls, TRUE, host, port, error);
}

void
sc_rtmp_server_free (ScRtmpServer *s)
{
  if (!s)
    return;
  g_clear_pointer (&s->plain, listener_stop);
  g_clear_pointer (&s->tls, listener_stop);
  while (s->conns)
    sc_rtmp_conn_close (s->conns->data, "server shutting down");
  if (s->refused_report) {
    g_source_destroy (s->refused_report);
    g_clear_pointer (&s->refused_report, g_source_unref);
  }
  g_clear_object (&s->cert);
  g_clear_pointer (&s->context, g_main_context_unref);
  g_free (s);
}

void
sc_rtmp_conn_set_user_data (ScRtmpConn *c, gpointer data)
{
  c->user_data = data;
}

gpointer
sc_rtmp_conn_get_user_data (ScRtmpConn *c)
{
  return c->user_data;
}

const char *
sc_rtmp_conn_get_peer (ScRtmpConn *c)
{
  return c->peer;
}

guint64
sc_rtmp_conn_get_id (ScRtmpConn *c)
{
  return c->id;
}
