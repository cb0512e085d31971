/* The HTTP door: our own accept loop in front of libsoup 3.2.3, which
 * only parses and writes requests (soup_server_accept_iostream).
 *
 * Every accepted connection gets a Conn, found again from any of its
 * messages through the remote address object libsoup hands back (the one
 * we gave it).  A Conn lives as long as its GSocketConnection (a weak
 * reference), and it keeps a reference to the latest message on the
 * connection: soup_server_message_steal_connection() on it is the only
 * public way to make libsoup let go of a connection.  That is how a
 * connection is closed here when it times out, when its client hangs up
 * while it is idle (libsoup 3.2.3 never notices: fixed upstream in 3.3.0)
 * or when a request is refused before its body is read. */
#include "api-door.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

/* Out of fds, an accept fails at once for as long as the connection waits
 * in the backlog: retrying at this pace costs nothing and recovers fast. */
#define ACCEPT_RETRY_MS 200
/* After a refusal, how long the client's unread request may still drain. */
#define LINGER_S 2

struct _ScApiDoor {
  SoupServer *server;
  guint max_connections, header_timeout_s, body_timeout_s, idle_timeout_s;
  GSocketListener *listener;
  guint16 port;
  GSocket *keepalive_peer;
  GCancellable *cancel;
  gboolean accepting;
  guint retry_id;
  guint failed_accepts;
  GHashTable *conns;          /* Conn set */
  ScApiConnectionStats stats;
};

typedef struct {
  ScApiDoor *door;            /* NULL once the door is gone */
  GSocketConnection *conn;    /* weak: libsoup holds it */
  GSocketAddress *remote;     /* carries this Conn for conn_of() */
  SoupServerMessage *msg;     /* the latest message; NULL once libsoup let go */
  GSource *timer;             /* header, body or idle deadline; the linger */
  GSource *watch;             /* while idle: input or a hang-up */
  /* Answering a refusal ourselves, after stealing the connection. */
  GIOStream *stolen;
  GCancellable *closing;
  GBytes *answer;
  guint8 *drain;
} Conn;

#define DRAIN_SIZE 16384

static void accept_next (ScApiDoor *door);

static GQuark
conn_quark (void)
{
  return g_quark_from_static_string ("sc-api-door-conn");
}

static Conn *
conn_of (SoupServerMessage *msg)
{
  return g_object_get_qdata (G_OBJECT (soup_server_message_get_remote_address (msg)),
                             conn_quark ());
}

static GSocket *
conn_socket (Conn *c)
{
  return g_socket_connection_get_socket (c->conn);
}

static void
clear_source (GSource **source)
{
  if (*source) {
    g_source_destroy (*source);
    g_clear_pointer (source, g_source_unref);
  }
}

static void
conn_disarm (Conn *c)
{
  clear_source (&c->timer);
  clear_source (&c->watch);
}

static void
conn_arm (Conn *c, guint seconds, GSourceFunc func)
{
  clear_source (&c->timer);
  if (seconds == 0)
    return;
  c->timer = g_timeout_source_new_seconds (seconds);
  g_source_set_callback (c->timer, func, c, NULL);
  g_source_attach (c->timer, NULL);
}

/* The GSocketConnection is finalized: libsoup and we are done with it. */
static void
conn_gone (gpointer data, GObject *where_the_object_was)
{
  Conn *c = data;
  ScApiDoor *door = c->door;

  if (door)
    g_hash_table_remove (door->conns, c);
  conn_disarm (c);
  g_object_set_qdata (G_OBJECT (c->remote), conn_quark (), NULL);
  g_object_unref (c->remote);
  g_clear_object (&c->closing);
  g_clear_pointer (&c->answer, g_bytes_unref);
  g_free (c->drain);
  g_free (c);
  if (door)
    accept_next (door);
}

static void
conn_forget_msg (Conn *c)
{
  SoupServerMessage *msg = g_steal_pointer (&c->msg);
  g_signal_handlers_disconnect_by_data (msg, c);
  /* Last: this may finalize the connection, and so free c. */
  g_object_unref (msg);
}

/* libsoup closed the connection itself. */
static void
on_msg_disconnected (SoupServerMessage *msg, Conn *c)
{
  conn_disarm (c);
  conn_forget_msg (c);
}

/* Takes the connection from libsoup; it is ours to close.  c->msg must
 * still be connected. */
static GIOStream *
conn_steal (Conn *c)
{
  g_autoptr (SoupServerMessage) msg = g_object_ref (c->msg);
  conn_disarm (c);
  /* Emits disconnected: on_msg_disconnected forgets c->msg. */
  return soup_server_message_steal_connection (msg);
}

static void
conn_close (Conn *c)
{
  g_autoptr (GError) error = NULL;
  if (!g_io_stream_close (G_IO_STREAM (c->conn), NULL, &error))
    g_debug ("api: closing a connection: %s", error->message);
}

static void
conn_drop (Conn *c)
{
  GIOStream *stolen = conn_steal (c);
  conn_close (c);
  g_object_unref (stolen);      /* last: frees c */
}

static gboolean
on_deadline (gpointer data)
{
  Conn *c = data;
  g_clear_pointer (&c->timer, g_source_unref);
  c->door->stats.timed_out++;
  conn_drop (c);
  return G_SOURCE_REMOVE;
}

/* Idle between requests: libsoup waits for the next one, and would never
 * notice the client closing.  This watch runs before libsoup's (a higher
 * priority), so the connection is still libsoup's to give when it steals. */
static gboolean
on_idle_input (GSocket *sock, GIOCondition condition, gpointer data)
{
  Conn *c = data;
  g_clear_pointer (&c->watch, g_source_unref);
  /* Readable with nothing to read: the end of the stream, or a reset. */
  if (g_socket_get_available_bytes (sock) <= 0)
    conn_drop (c);
  /* Otherwise a request: libsoup reads it (request-started). */
  return G_SOURCE_REMOVE;
}

static void
on_got_headers (SoupServerMessage *msg, Conn *c)
{
  /* request-read or request-finished ends this deadline. */
  conn_arm (c, c->door->body_timeout_s, on_deadline);
}

static void
on_request_started (SoupServer *server, SoupServerMessage *msg, ScApiDoor *door)
{
  Conn *c = conn_of (msg);
  SoupServerMessage *previous = c->msg;

  c->msg = g_object_ref (msg);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_msg_disconnected), c);
  g_signal_connect (msg, "got-headers", G_CALLBACK (on_got_headers), c);
  if (previous) {
    g_signal_handlers_disconnect_by_data (previous, c);
    g_object_unref (previous);
  }
  clear_source (&c->watch);
  conn_arm (c, door->header_timeout_s, on_deadline);
}

static void
on_request_read (SoupServer *server, SoupServerMessage *msg, ScApiDoor *door)
{
  Conn *c = conn_of (msg);
  clear_source (&c->timer);
  /* Answering can take the handler any time, but a client that stops
   * reading the answer must not hold the connection forever. */
  g_socket_set_timeout (conn_socket (c), door->idle_timeout_s);
}

/* request-finished and request-aborted: libsoup keeps the connection for
 * the next request, or closes it right after this (disconnected). */
static void
on_request_done (SoupServer *server, SoupServerMessage *msg, ScApiDoor *door)
{
  Conn *c = conn_of (msg);
  GSocket *sock = conn_socket (c);

  /* A socket timeout while idle would fail libsoup's wait for the next
   * request, which leaves the connection in the state conn_steal cannot
   * take: the idle deadline is ours alone. */
  g_socket_set_timeout (sock, 0);
  /* c->msg is kept only to steal the connection with. */
  soup_message_body_truncate (soup_server_message_get_request_body (msg));
  soup_message_body_truncate (soup_server_message_get_response_body (msg));
  conn_arm (c, door->idle_timeout_s, on_deadline);
  clear_source (&c->watch);
  c->watch = g_socket_create_source (sock, G_IO_IN, NULL);
  g_source_set_priority (c->watch, G_PRIORITY_HIGH);
  g_source_set_callback (c->watch, G_SOURCE_FUNC (on_idle_input), c, NULL);
  g_source_attach (c->watch, NULL);
}

static void
conn_adopt (ScApiDoor *door, GSocketConnection *sc)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) local = g_socket_connection_get_local_address (sc, &error);
  g_autoptr (GSocketAddress) remote = local ? g_socket_connection_get_remote_address (sc, &error)
                                            : NULL;
  if (!remote) {
    g_debug ("api: a client left before its connection was accepted: %s", error->message);
    return;
  }
  /* Small answers leave at once on a kept-alive connection instead of
   * waiting for the client's delayed ACK. */
  if (!g_socket_set_option (g_socket_connection_get_socket (sc), IPPROTO_TCP, TCP_NODELAY,
                            TRUE, &error))
    g_debug ("api: TCP_NODELAY: %s", error->message);
  g_clear_error (&error);

  Conn *c = g_new0 (Conn, 1);
  c->door = door;
  c->conn = sc;
  c->remote = g_object_ref (remote);
  g_object_set_qdata (G_OBJECT (remote), conn_quark (), c);
  g_object_weak_ref (G_OBJECT (sc), conn_gone, c);
  g_hash_table_add (door->conns, c);
  door->stats.accepted++;
  /* Emits request-started for the first request at once. */
  if (!soup_server_accept_iostream (door->server, G_IO_STREAM (sc), local, remote, &error))
    g_warning ("api: libsoup refused a connection: %s", error->message);
}

static gboolean
retry_accept (gpointer data)
{
  ScApiDoor *door = data;
  door->retry_id = 0;
  accept_next (door);
  return G_SOURCE_REMOVE;
}

static void
on_accepted (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) sc =
      g_socket_listener_accept_finish (G_SOCKET_LISTENER (source), res, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;                     /* the door is gone */

  ScApiDoor *door = data;
  door->accepting = FALSE;
  if (!sc) {
    if (door->failed_accepts++ == 0)
      g_warning ("api: cannot accept HTTP connections (%s); retrying every %d ms",
                 error->message, ACCEPT_RETRY_MS);
    door->retry_id = g_timeout_add (ACCEPT_RETRY_MS, retry_accept, door);
    return;
  }
  if (door->failed_accepts) {
    g_message ("api: accepting HTTP connections again after %u failed tries",
               door->failed_accepts);
    door->failed_accepts = 0;
  }
  conn_adopt (door, sc);
  accept_next (door);
}

/* At the connection cap, new clients wait in the listen backlog until a
 * connection goes (conn_gone). */
static void
accept_next (ScApiDoor *door)
{
  if (door->accepting || door->retry_id || g_cancellable_is_cancelled (door->cancel))
    return;
  if (door->max_connections && g_hash_table_size (door->conns) >= door->max_connections)
    return;
  door->accepting = TRUE;
  g_socket_listener_accept_async (door->listener, door->cancel, on_accepted, door);
}

/* ---- answering a refusal ourselves -------------------------------------- */

static GBytes *
serialize_response (SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  g_autoptr (GBytes) body = soup_message_body_flatten (soup_server_message_get_response_body (msg));
  GString *s = g_string_new (NULL);
  SoupMessageHeadersIter iter;
  const char *name, *value;
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  /* After a 100 Continue, libsoup has cleared the headers it adds itself. */
  if (!soup_message_headers_get_one (h, "Date")) {
    g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
    g_autofree char *date = soup_date_time_to_string (now, SOUP_DATE_HTTP);
    soup_message_headers_replace (h, "Date", date);
  }
  soup_message_headers_replace (h, "Connection", "close");
  soup_message_headers_set_content_length (h, (goffset) len);
  g_string_append_printf (s, "HTTP/1.%c %u %s\r\n",
                          soup_server_message_get_http_version (msg) == SOUP_HTTP_1_0 ? '0' : '1',
                          soup_server_message_get_status (msg),
                          soup_server_message_get_reason_phrase (msg));
  soup_message_headers_iter_init (&iter, h);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    g_string_append_printf (s, "%s: %s\r\n", name, value);
  g_string_append (s, "\r\n");
  g_string_append_len (s, data, (gssize) len);
  return g_string_free_to_bytes (s);
}

static void
closing_done (Conn *c)
{
  clear_source (&c->timer);
  conn_close (c);
  g_clear_object (&c->stolen);  /* last: frees c */
}

static gboolean
on_linger_over (gpointer data)
{
  Conn *c = data;
  g_clear_pointer (&c->timer, g_source_unref);
  /* The pending write or drain ends with G_IO_ERROR_CANCELLED. */
  g_cancellable_cancel (c->closing);
  return G_SOURCE_REMOVE;
}

static void
on_drained (GObject *source, GAsyncResult *res, gpointer data)
{
  Conn *c = data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);
  if (n <= 0) {
    closing_done (c);
    return;
  }
  g_input_stream_read_async (G_INPUT_STREAM (source), c->drain, DRAIN_SIZE, G_PRIORITY_LOW,
                             c->closing, on_drained, c);
}

static void
on_answer_written (GObject *source, GAsyncResult *res, gpointer data)
{
  Conn *c = data;
  g_autoptr (GError) error = NULL;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error) ||
      !g_socket_shutdown (conn_socket (c), FALSE, TRUE, &error)) {
    g_debug ("api: answering a refused request: %s", error->message);
    closing_done (c);
    return;
  }
  /* Closing with unread input makes the kernel send a reset, which can
   * destroy the answer before the client has read it; so read and drop
   * what the client still sends, until it stops or the linger is over. */
  c->drain = g_malloc (DRAIN_SIZE);
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (c->conn)), c->drain,
                             DRAIN_SIZE, G_PRIORITY_LOW, c->closing, on_drained, c);
}

void
sc_api_door_answer_and_close (ScApiDoor *door, SoupServerMessage *msg)
{
  Conn *c = conn_of (msg);
  gsize len;

  c->answer = serialize_response (msg);
  door->stats.refused++;
  c->stolen = conn_steal (c);
  c->closing = g_cancellable_new ();
  conn_arm (c, LINGER_S, on_linger_over);
  const void *data = g_bytes_get_data (c->answer, &len);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (c->conn)), data,
                                   len, G_PRIORITY_DEFAULT, c->closing, on_answer_written, c);
}

/* ---- the door ------------------------------------------------------------ */

/* libsoup 3.2.3 keeps a connection alive only while it has a listener of
 * its own (request_finished() checks): give it one nobody can reach, one
 * end of a socket pair whose other end stays silent. */
static gboolean
keepalive_listener (ScApiDoor *door, GError **error)
{
  int fds[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    int e = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "socketpair: %s", g_strerror (e));
    return FALSE;
  }
  g_autoptr (GSocket) end = g_socket_new_from_fd (fds[0], error);
  if (!end) {
    close (fds[0]);
    close (fds[1]);
    return FALSE;
  }
  door->keepalive_peer = g_socket_new_from_fd (fds[1], error);
  if (!door->keepalive_peer) {
    close (fds[1]);
    return FALSE;
  }
  return soup_server_listen_socket (door->server, end, 0, error);
}

ScApiDoor *
sc_api_door_new (SoupServer *server, const ScConfig *config, GError **error)
{
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (config->http_host);
  if (!addr) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "http host %s is not an IP address",
                 config->http_host);
    return NULL;
  }

  ScApiDoor *door = g_new0 (ScApiDoor, 1);
  door->server = server;
  door->max_connections = config->http_max_connections;
  door->header_timeout_s = config->http_header_timeout_s;
  door->body_timeout_s = config->http_body_timeout_s;
  door->idle_timeout_s = config->http_idle_timeout_s;
  door->conns = g_hash_table_new (NULL, NULL);
  door->cancel = g_cancellable_new ();
  door->listener = g_socket_listener_new ();
  g_socket_listener_set_backlog (door->listener, SOMAXCONN);

  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (addr, config->http_port);
  g_autoptr (GSocketAddress) bound = NULL;
  if (!g_socket_listener_add_address (door->listener, sa, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &bound, error)) {
    g_prefix_error (error, "cannot listen on %s:%u: ", config->http_host, config->http_port);
    sc_api_door_free (door);
    return NULL;
  }
  door->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  if (!keepalive_listener (door, error)) {
    sc_api_door_free (door);
    return NULL;
  }
  g_signal_connect (server, "request-started", G_CALLBACK (on_request_started), door);
  g_signal_connect (server, "request-read", G_CALLBACK (on_request_read), door);
  g_signal_connect (server, "request-finished", G_CALLBACK (on_request_done), door);
  g_signal_connect (server, "request-aborted", G_CALLBACK (on_request_done), door);
  accept_next (door);
  return door;
}

void
sc_api_door_free (ScApiDoor *door)
{
  if (!door)
    return;
  g_cancellable_cancel (door->cancel);
  g_clear_handle_id (&door->retry_id, g_source_remove);
  g_socket_listener_close (door->listener);
  /* Every connection libsoup holds: their Conns forget their messages. */
  soup_server_disconnect (door->server);
  g_signal_handlers_disconnect_by_data (door->server, door);

  /* What is left is being answered here, or held by a message someone
   * still has: it frees itself if the main loop ever runs again. */
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, door->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    Conn *c = key;
    c->door = NULL;
    conn_disarm (c);
    if (c->closing)
      g_cancellable_cancel (c->closing);
  }
  g_hash_table_unref (door->conns);
  g_clear_object (&door->keepalive_peer);
  g_object_unref (door->listener);
  g_object_unref (door->cancel);
  g_free (door);
}

guint16
sc_api_door_get_port (ScApiDoor *door)
{
  return door->port;
}

void
sc_api_door_get_stats (ScApiDoor *door, ScApiConnectionStats *stats)
{
  *stats = door->stats;
  stats->open = g_hash_table_size (door->conns);
}
