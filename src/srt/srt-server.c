/* The SRT listener.  Three kinds of thread touch it:
 *  - libsrt's receive thread runs on_listen for every handshake: it reads
 *    the key table (under the lock) and sets the caller's passphrase on its
 *    socket, or rejects it;
 *  - the accept thread waits on the listening socket and hands each new
 *    connection to the owner's context;
 *  - a reader thread per accepted publisher blocks in srt_recvmsg, remuxes
 *    (srt-remux.c) and hands each FLV tag to the owner's context, then
 *    closes its socket and says it is gone.
 * Everything else, and every callback to the embedder, runs on the owner's
 * context.  A connection is reference-counted: the owner's table, its
 * reader and each message in flight hold one. */
#include "spacecast/srt.h"
#include "spacecast/core.h"

#include <gio/gio.h>
#include <libavutil/error.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <string.h>
#include <sys/syslog.h>

#define ACCEPT_POLL_MS 250
/* How soon a reader notices it should stop; also the read timeout. */
#define READ_POLL_MS 500
/* A publisher that sends nothing this long is dropped, as RTMP's are. */
#define IDLE_TIMEOUT_US (30 * G_USEC_PER_SEC)
#define MIN_BACKLOG 16

typedef struct {
  char *key;
  char *passphrase;
  gboolean allowed;
} Key;

/* What a connection knows of its server: cleared when the server goes, so
 * a message still queued for the owner finds nothing to deliver to. */
typedef struct {
  gint ref;
  ScSrtServer *server;          /* owner's context only */
} ServerRef;

struct _ScSrtServer {
  ScSrtServerCallbacks cb;
  gpointer user_data;
  GMainContext *context;
  guint max_connections;

  GMutex lock;                  /* keys, owners and refused, for on_listen */
  GHashTable *keys;             /* stream key → Key* (owned by owners) */
  GHashTable *owners;           /* owner → Key* */

  SRTSOCKET listener;
  GThread *acceptor;
  gint stop;                    /* atomic */
  gint n_conns;                 /* atomic: accepted and not yet gone */
  guint64 next_id;              /* accept thread only */
  guint64 refused[SC_SRT_N_REFUSALS];
  guint64 accepted;             /* owner's context */
  guint publishing;             /* owner's context */
  GHashTable *conns;            /* ScSrtConn* (owner's context) */
  ServerRef *self;
};

struct _ScSrtConn {
  gint ref;
  ServerRef *server;
  GMainContext *context;        /* the owner's */
  SRTSOCKET sock;
  guint64 id;
  char *peer;
  char *stream_key;
  gpointer user_data;
  GThread *reader;
  gint stop;                    /* atomic: the reader must stop */
  gboolean accepted;            /* the embedder took it: closed is owed */
  gboolean closing;
  /* Reader thread only. */
  gint64 last_data;
  int epoll;
  guint8 msg[1456];          /* SRT_LIVE_MAX_PLSIZE: one message */
  gsize msg_len, msg_pos;
};

typedef enum { POST_ACCEPTED, POST_MEDIA, POST_GONE } PostKind;

typedef struct {
  PostKind kind;
  ScSrtConn *conn;
  int flv_type;
  guint64 ts;
  GBytes *data;
} Post;

static ServerRef *
server_ref (ServerRef *r)
{
  g_atomic_int_inc (&r->ref);
  return r;
}

static void
server_unref (ServerRef *r)
{
  if (g_atomic_int_dec_and_test (&r->ref))
    g_free (r);
}

static ScSrtConn *
conn_ref (ScSrtConn *c)
{
  g_atomic_int_inc (&c->ref);
  return c;
}

static void
conn_unref (ScSrtConn *c)
{
  if (!g_atomic_int_dec_and_test (&c->ref))
    return;
  if (c->sock != SRT_INVALID_SOCK)
    srt_close (c->sock);
  server_unref (c->server);
  g_main_context_unref (c->context);
  g_free (c->peer);
  g_free (c->stream_key);
  g_free (c);
}

static void
key_free (Key *k)
{
  g_free (k->key);
  g_free (k->passphrase);
  g_free (k);
}

/* The stream id a caller sent is its key, a secret: lines name the
 * connection by id and peer only. */
static void conn_log (ScSrtConn *c, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
conn_log (ScSrtConn *c, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  char id[24];
  g_snprintf (id, sizeof id, "%" G_GUINT64_FORMAT, c->id);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "SRT_CONN", id,
                    "MESSAGE", "srt conn %s (%s): %s", id, c->peer, what);
}

static char *
peer_text (const struct sockaddr *sa, gsize len)
{
  g_autoptr (GSocketAddress) a = g_socket_address_new_from_native ((gpointer) sa, len);
  if (!G_IS_INET_SOCKET_ADDRESS (a))
    return g_strdup ("?");
  g_autofree char *ip = g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a)));
  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a)));
}

/* ---- handing work to the owner's context ---- */

static gboolean deliver (gpointer data);

static void
post_free (gpointer data)
{
  Post *p = data;
  conn_unref (p->conn);
  g_clear_pointer (&p->data, g_bytes_unref);
  g_free (p);
}

static void
post (ScSrtConn *c, PostKind kind, Post *p)
{
  if (!p)
    p = g_new0 (Post, 1);
  p->kind = kind;
  p->conn = conn_ref (c);
  g_main_context_invoke_full (c->context, G_PRIORITY_DEFAULT, deliver, p, post_free);
}

/* ---- libsrt's thread: the handshake ---- */

static int
on_listen (void *opaque, SRTSOCKET ns, int hsversion, const struct sockaddr *peer,
           const char *streamid)
{
  ScSrtServer *s = opaque;
  const char *why = NULL;
  int reason = 0;

  g_mutex_lock (&s->lock);
  Key *k = streamid && *streamid ? g_hash_table_lookup (s->keys, streamid) : NULL;
  ScSrtRefusal refusal = SC_SRT_N_REFUSALS;
  if (s->max_connections && (guint) g_atomic_int_get (&s->n_conns) >= s->max_connections) {
    reason = SRT_REJX_OVERLOAD;
    refusal = SC_SRT_REFUSED_LIMIT;
    why = "too many SRT connections";
  } else if (!k) {
    reason = SRT_REJX_NOTFOUND;
    refusal = SC_SRT_REFUSED_UNKNOWN_KEY;
    why = "unknown stream key";
  } else if (!k->allowed) {
    reason = SRT_REJX_FORBIDDEN;
    refusal = SC_SRT_REFUSED_DISABLED;
    why = "live stream is disabled";
  } else if (srt_setsockflag (ns, SRTO_PASSPHRASE, k->passphrase,
                              (int) strlen (k->passphrase)) == SRT_ERROR) {
    reason = SRT_REJX_ISE;
    refusal = SC_SRT_REFUSED_ERROR;
    why = srt_getlasterror_str ();
  }
  if (reason)
    s->refused[refusal]++;
  g_mutex_unlock (&s->lock);
  if (!reason)
    return 0;
  srt_setrejectreason (ns, reason);
  g_autofree char *from = peer_text (peer, peer->sa_family == AF_INET6
                                               ? sizeof (struct sockaddr_in6)
                                               : sizeof (struct sockaddr_in));
  g_message ("srt: caller %s refused (%d): %s", from, reason, why);
  return -1;
}

/* ---- the accept thread ---- */

static void
accept_one (ScSrtServer *s)
{
  struct sockaddr_storage sa;
  int salen = sizeof sa;
  SRTSOCKET sock = srt_accept (s->listener, (struct sockaddr *) &sa, &salen);
  if (sock == SRT_INVALID_SOCK)
    return;
  char streamid[513] = "";
  int idlen = sizeof streamid - 1;
  if (srt_getsockflag (sock, SRTO_STREAMID, streamid, &idlen) == SRT_ERROR)
    idlen = 0;
  streamid[MAX (idlen, 0)] = '\0';

  ScSrtConn *c = g_new0 (ScSrtConn, 1);
  c->ref = 1;
  c->server = server_ref (s->self);
  c->context = g_main_context_ref (s->context);
  c->sock = sock;
  c->id = ++s->next_id;
  c->peer = peer_text ((struct sockaddr *) &sa, salen);
  c->stream_key = g_strdup (streamid);
  g_atomic_int_inc (&s->n_conns);
  post (c, POST_ACCEPTED, NULL);
  conn_unref (c);
}

static gpointer
accept_thread (gpointer data)
{
  ScSrtServer *s = data;
  int eid = srt_epoll_create ();
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_usock (eid, s->listener, &events);
  while (!g_atomic_int_get (&s->stop)) {
    SRTSOCKET ready[1];
    int n = 1;
    if (srt_epoll_wait (eid, ready, &n, NULL, NULL, ACCEPT_POLL_MS, NULL, NULL, NULL, NULL) > 0)
      accept_one (s);
  }
  srt_epoll_release (eid);
  return NULL;
}

/* ---- a reader thread per publisher ---- */

static int
conn_read (gpointer user_data, guint8 *buf, int size)
{
  ScSrtConn *c = user_data;
  /* One SRT message is up to 1456 bytes and must be taken whole; the
   * demuxer may ask for less. */
  while (c->msg_pos == c->msg_len) {
    if (g_atomic_int_get (&c->stop))
      return AVERROR_EXIT;
    int n = srt_recvmsg (c->sock, (char *) c->msg, sizeof c->msg);
    if (n > 0) {
      c->msg_len = (gsize) n;
      c->msg_pos = 0;
      c->last_data = g_get_monotonic_time ();
      break;
    }
    if (n != SRT_ERROR || srt_getlasterror (NULL) != SRT_EASYNCRCV)
      return AVERROR_EOF;   /* the caller went away */
    if (g_get_monotonic_time () - c->last_data > IDLE_TIMEOUT_US) {
      conn_log (c, "nothing received for %d s", (int) (IDLE_TIMEOUT_US / G_USEC_PER_SEC));
      return AVERROR_EXIT;
    }
    /* Non-blocking reads woken by epoll: a blocking srt_recvmsg with a
     * timeout never returned what srt-live-transmit sent (libsrt 1.5.1). */
    SRTSOCKET ready[1];
    int nready = 1;
    srt_epoll_wait (c->epoll, ready, &nready, NULL, NULL, READ_POLL_MS, NULL, NULL, NULL, NULL);
  }
  gsize n = MIN ((gsize) size, c->msg_len - c->msg_pos);
  memcpy (buf, c->msg + c->msg_pos, n);
  c->msg_pos += n;
  return (int) n;
}

static void
conn_tag (int flv_type, guint64 ts, const guint8 *data, gsize len, gpointer user_data)
{
  ScSrtConn *c = user_data;
  Post *p = g_new0 (Post, 1);
  p->flv_type = flv_type;
  p->ts = ts;
  p->data = g_bytes_new (data, len);
  post (c, POST_MEDIA, p);
}

static gpointer
reader_thread (gpointer data)
{
  ScSrtConn *c = data;
  g_autoptr (GError) error = NULL;
  /* Non-blocking, as the listener it was accepted from. */
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  c->epoll = srt_epoll_create ();
  srt_epoll_add_usock (c->epoll, c->sock, &events);
  c->last_data = g_get_monotonic_time ();
  if (!sc_srt_remux (conn_read, conn_tag, c, &error) && !g_atomic_int_get (&c->stop))
    conn_log (c, "media refused: %s", error->message);
  srt_epoll_release (c->epoll);
  srt_close (c->sock);
  c->sock = SRT_INVALID_SOCK;
  post (c, POST_GONE, NULL);
  conn_unref (c);
  return NULL;
}

/* ---- the owner's context ---- */

/* The connection leaves the table; its closed callback is due. */
static void
conn_finish (ScSrtServer *s, ScSrtConn *c)
{
  if (c->accepted) {
    c->accepted = FALSE;
    s->publishing--;
    if (s->cb.closed)
      s->cb.closed (c, s->user_data);
  }
}

static void
on_accepted (ScSrtServer *s, ScSrtConn *c)
{
  g_autoptr (GError) error = NULL;
  g_hash_table_add (s->conns, conn_ref (c));
  conn_log (c, "connected");
  s->accepted++;
  if (s->max_connections && (guint) g_atomic_int_get (&s->n_conns) > s->max_connections) {
    g_set_error (&error, SC_ERROR, SC_ERROR_TOO_MANY_REQUESTS, "too many SRT connections");
  } else if (s->cb.publish (c, c->stream_key, s->user_data, &error)) {
    c->accepted = TRUE;
    s->publishing++;
    conn_log (c, "publishing");
    c->reader = g_thread_new ("srt-reader", reader_thread, conn_ref (c));
    return;
  }
  ScSrtRefusal refusal = g_error_matches (error, SC_ERROR, SC_ERROR_TOO_MANY_REQUESTS) ? SC_SRT_REFUSED_LIMIT
      : g_error_matches (error, SC_ERROR, SC_ERROR_NOT_FOUND) ? SC_SRT_REFUSED_UNKNOWN_KEY
      : g_error_matches (error, SC_ERROR, SC_ERROR_FORBIDDEN) ? SC_SRT_REFUSED_DISABLED
      : SC_SRT_REFUSED_ERROR;
  g_mutex_lock (&s->lock);
  s->refused[refusal]++;
  g_mutex_unlock (&s->lock);
  sc_srt_conn_close (c, error ? error->message : "refused");
}

static void
on_gone (ScSrtServer *s, ScSrtConn *c)
{
  if (!c->closing)
    conn_log (c, "disconnected");
  c->closing = TRUE;
  conn_finish (s, c);
  g_clear_pointer (&c->reader, g_thread_join);
  g_atomic_int_add (&s->n_conns, -1);
  g_hash_table_remove (s->conns, c);
}

static gboolean
deliver (gpointer data)
{
  Post *p = data;
  ScSrtConn *c = p->conn;
  ScSrtServer *s = c->server->server;
  if (!s)
    return G_SOURCE_REMOVE;
  switch (p->kind) {
  case POST_ACCEPTED:
    on_accepted (s, c);
    break;
  case POST_MEDIA:
    if (c->accepted && s->cb.media) {
      gsize len;
      const guint8 *d = g_bytes_get_data (p->data, &len);
      s->cb.media (c, p->flv_type, p->ts, d, len, s->user_data);
    }
    break;
  case POST_GONE:
    on_gone (s, c);
    break;
  }
  return G_SOURCE_REMOVE;
}

void
sc_srt_conn_close (ScSrtConn *c, const char *reason)
{
  ScSrtServer *s = c->server->server;
  if (c->closing || !s)
    return;
  c->closing = TRUE;
  conn_log (c, "closing: %s", reason ? reason : "closed");
  conn_finish (s, c);
  g_atomic_int_set (&c->stop, 1);
  if (!c->reader) {
    /* Never read: nobody else holds the socket. */
    srt_close (c->sock);
    c->sock = SRT_INVALID_SOCK;
    g_atomic_int_add (&s->n_conns, -1);
    g_hash_table_remove (s->conns, c);
  }
  /* Otherwise the reader closes it and says it is gone. */
}

/* ---- libsrt's own log ---- */

static void
on_srt_log (void *opaque, int level, const char *file, int line, const char *area,
            const char *message)
{
  g_autofree char *text = g_strchomp (g_strdup (message));
  /* Its warnings name handshakes that failed (a wrong passphrase). */
  g_log_structured ("srt", level <= LOG_WARNING ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_DEBUG,
                    "MESSAGE", "%s", text);
}

/* ---- the server ---- */

ScSrtServer *
sc_srt_server_new (const ScSrtServerCallbacks *cb, gpointer user_data)
{
  ScSrtServer *s = g_new0 (ScSrtServer, 1);
  s->cb = *cb;
  s->user_data = user_data;
  s->context = g_main_context_ref_thread_default ();
  s->max_connections = 16;
  g_mutex_init (&s->lock);
  s->owners = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) key_free);
  s->keys = g_hash_table_new (g_str_hash, g_str_equal);
  s->conns = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) conn_unref, NULL);
  s->listener = SRT_INVALID_SOCK;
  s->self = g_new0 (ServerRef, 1);
  s->self->ref = 1;
  s->self->server = s;
  srt_startup ();
  srt_setloghandler (NULL, on_srt_log);
  srt_setloglevel (LOG_WARNING);
  return s;
}

const char *
sc_srt_refusal_name (ScSrtRefusal refusal)
{
  static const char *const names[] = {
    [SC_SRT_REFUSED_LIMIT] = "limit", [SC_SRT_REFUSED_UNKNOWN_KEY] = "unknown_key",
    [SC_SRT_REFUSED_DISABLED] = "disabled", [SC_SRT_REFUSED_ERROR] = "error",
  };
  g_return_val_if_fail (refusal < SC_SRT_N_REFUSALS, NULL);
  return names[refusal];
}

void
sc_srt_server_get_stats (ScSrtServer *s, ScSrtServerStats *stats)
{
  stats->open = (guint) MAX (g_atomic_int_get (&s->n_conns), 0);
  stats->publishing = s->publishing;
  stats->accepted = s->accepted;
  g_mutex_lock (&s->lock);
  memcpy (stats->refused, s->refused, sizeof stats->refused);
  g_mutex_unlock (&s->lock);
}

gboolean
sc_srt_server_listen (ScSrtServer *s, const char *host, guint16 port, GError **error)
{
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new_from_string (host, port);
  struct sockaddr_storage sa;
  gboolean no = FALSE;

  if (!addr || !g_socket_address_to_native (addr, &sa, sizeof sa, NULL)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "srt: \"%s\" is not an IP address", host);
    return FALSE;
  }
  s->listener = srt_create_socket ();
  int backlog = (int) MAX (MIN_BACKLOG, MIN (s->max_connections, 1024));
  if (s->listener == SRT_INVALID_SOCK ||
      srt_setsockflag (s->listener, SRTO_RCVSYN, &no, sizeof no) == SRT_ERROR ||
      srt_bind (s->listener, (struct sockaddr *) &sa,
                (int) g_socket_address_get_native_size (addr)) == SRT_ERROR ||
      srt_listen_callback (s->listener, on_listen, s) == SRT_ERROR ||
      srt_listen (s->listener, backlog) == SRT_ERROR) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "srt: cannot listen on %s:%u: %s", host,
                 port, srt_getlasterror_str ());
    return FALSE;
  }
  s->acceptor = g_thread_new ("srt-accept", accept_thread, s);
  g_message ("SRT ingest listening on %s:%u", host, port);
  return TRUE;
}

void
sc_srt_server_set_max_connections (ScSrtServer *s, guint max_connections)
{
  g_mutex_lock (&s->lock);
  s->max_connections = max_connections;
  g_mutex_unlock (&s->lock);
}

void
sc_srt_server_set_key (ScSrtServer *s, const char *owner, const char *stream_key,
                       const char *passphrase, gboolean allowed)
{
  g_mutex_lock (&s->lock);
  Key *old = g_hash_table_lookup (s->owners, owner);
  if (old)
    g_hash_table_remove (s->keys, old->key);
  if (stream_key && passphrase) {
    Key *k = g_new0 (Key, 1);
    k->key = g_strdup (stream_key);
    k->passphrase = g_strdup (passphrase);
    k->allowed = allowed;
    g_hash_table_replace (s->keys, k->key, k);
    g_hash_table_replace (s->owners, g_strdup (owner), k);
  } else {
    g_hash_table_remove (s->owners, owner);
  }
  g_mutex_unlock (&s->lock);
}

void
sc_srt_server_free (ScSrtServer *s)
{
  if (!s)
    return;
  g_atomic_int_set (&s->stop, 1);
  g_clear_pointer (&s->acceptor, g_thread_join);
  if (s->listener != SRT_INVALID_SOCK)
    srt_close (s->listener);
  /* Every caller goes now; their readers stop within READ_POLL_MS. */
  GList *conns = g_hash_table_get_keys (s->conns);
  for (GList *l = conns; l; l = l->next)
    conn_ref (l->data);
  for (GList *l = conns; l; l = l->next)
    sc_srt_conn_close (l->data, "spacecast is shutting down");
  for (GList *l = conns; l; l = l->next)
    g_clear_pointer (&((ScSrtConn *) l->data)->reader, g_thread_join);
  g_list_free_full (conns, (GDestroyNotify) conn_unref);
  /* Messages still queued for the owner find no server and are dropped. */
  s->self->server = NULL;
  server_unref (s->self);
  g_hash_table_unref (s->conns);
  g_hash_table_unref (s->keys);
  g_hash_table_unref (s->owners);
  g_mutex_clear (&s->lock);
  g_main_context_unref (s->context);
  srt_cleanup ();
  g_free (s);
}

void
sc_srt_conn_set_user_data (ScSrtConn *c, gpointer data)
{
  c->user_data = data;
}

gpointer
sc_srt_conn_get_user_data (ScSrtConn *c)
{
  return c->user_data;
}

const char *
sc_srt_conn_get_peer (ScSrtConn *c)
{
  return c->peer;
}

guint64
sc_srt_conn_get_id (ScSrtConn *c)
{
  return c->id;
}
