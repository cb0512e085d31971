/* The webhook delivery thread.  Jobs come in and results go out through
 * g_main_context_invoke; the thread knows nothing about the store. */
#include "events-private.h"

#include <libsoup/soup.h>
#include <string.h>

struct _ScEventsWorker {
  GThread *thread;
  GMainContext *context;        /* the thread's */
  GMainLoop *loop;
  SoupSession *session;         /* created, used and freed on the thread */
  guint timeout_s;
  GHashTable *in_flight;        /* Send* (thread only) */
  gboolean closing;             /* thread only */

  GMainContext *reply_context;
  ScEventsDoneFunc done;
  gpointer done_data;
  GMutex lock;
  GPtrArray *replies;           /* GSource* attached to reply_context, under lock */
};

typedef struct {
  ScEventsWorker *worker;
  ScEventsJob *job;
  SoupMessage *msg;
  GCancellable *cancel;
  GSource *deadline;
} Send;

typedef struct {
  ScEventsWorker *worker;
  ScEventsJob *job;
  GSource *source;
} Reply;

void
sc_events_job_free (ScEventsJob *job)
{
  if (!job)
    return;
  g_free (job->webhook_id);
  g_free (job->url);
  g_free (job->secret);
  g_free (job->body);
  g_clear_pointer (&job->attempts, json_array_unref);
  g_free (job->address);
  g_free (job);
}

static gboolean
on_reply (gpointer user_data)
{
  Reply *r = user_data;
  g_mutex_lock (&r->worker->lock);
  g_ptr_array_remove_fast (r->worker->replies, r->source);
  g_mutex_unlock (&r->worker->lock);
  r->worker->done (g_steal_pointer (&r->job), r->worker->done_data);
  return G_SOURCE_REMOVE;
}

static void
reply_free (Reply *r)
{
  sc_events_job_free (r->job);
  g_free (r);
}

/* Kept in a list so that freeing the worker can take back replies the
 * bus' context has not run yet. */
static void
post_reply (ScEventsWorker *w, ScEventsJob *job)
{
  Reply *r = g_new0 (Reply, 1);
  r->worker = w;
  r->job = job;
  r->source = g_idle_source_new ();
  g_source_set_callback (r->source, on_reply, r, (GDestroyNotify) reply_free);
  g_mutex_lock (&w->lock);
  g_ptr_array_add (w->replies, r->source);
  g_source_attach (r->source, w->reply_context);
  g_mutex_unlock (&w->lock);
}

static void
send_free (Send *s)
{
  if (s->deadline) {
    g_source_destroy (s->deadline);
    g_source_unref (s->deadline);
  }
  g_clear_object (&s->msg);
  g_clear_object (&s->cancel);
  sc_events_job_free (s->job);
  g_free (s);
}

static void
finish (Send *s)
{
  ScEventsWorker *w = s->worker;
  if (!w->closing)
    post_reply (w, g_steal_pointer (&s->job));
  g_hash_table_remove (w->in_flight, s);
  if (w->closing && g_hash_table_size (w->in_flight) == 0)
    g_main_loop_quit (w->loop);
}

static void
on_sent (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Send *s = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &error);

  if (body)
    s->job->status = soup_message_get_status (s->msg);
  else
    g_debug ("webhook %s: %s", s->job->url, error->message);
  GSocketAddress *peer = soup_message_get_remote_address (s->msg);
  if (G_IS_INET_SOCKET_ADDRESS (peer))
    s->job->address = g_inet_address_to_string (
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (peer)));
  finish (s);
}

/* libsoup's timeout is per read; a receiver that trickles its answer
 * must not keep an attempt open for longer than the whole budget. */
static gboolean
on_deadline (gpointer user_data)
{
  Send *s = user_data;
  g_cancellable_cancel (s->cancel);
  return G_SOURCE_REMOVE;
}

/* On the thread: the Send was made by sc_events_worker_send. */
static gboolean
start_send (gpointer user_data)
{
  Send *s = user_data;
  ScEventsWorker *w = s->worker;
  ScEventsJob *job = s->job;

  g_hash_table_add (w->in_flight, s);
  job->sent_at_us = g_get_real_time ();
  s->msg = w->closing ? NULL : soup_message_new ("POST", job->url);
  if (!s->msg) {
    finish (s);
    return G_SOURCE_REMOVE;
  }
  g_autofree char *signature = sc_events_signature (job->secret, job->sent_at_us / G_USEC_PER_SEC,
                                                    job->body);
  SoupMessageHeaders *h = soup_message_get_request_headers (s->msg);
  soup_message_headers_replace (h, "mux-signature", signature);
  soup_message_headers_replace (h, "User-Agent", "spacecast webhooks");
  g_autoptr (GBytes) body = g_bytes_new (job->body, strlen (job->body));
  soup_message_set_request_body_from_bytes (s->msg, "application/json", body);
  s->cancel = g_cancellable_new ();
  s->deadline = g_timeout_source_new_seconds (w->timeout_s);
  g_source_set_callback (s->deadline, on_deadline, s, NULL);
  g_source_attach (s->deadline, w->context);
  soup_session_send_and_read_async (w->session, s->msg, G_PRIORITY_DEFAULT, s->cancel,
                                    on_sent, s);
  return G_SOURCE_REMOVE;
}

void
sc_events_worker_send (ScEventsWorker *w, ScEventsJob *job)
{
  Send *s = g_new0 (Send, 1);
  s->worker = w;
  s->job = job;
  g_main_context_invoke (w->context, start_send, s);
}

static gboolean
start_closing (gpointer user_data)
{
  ScEventsWorker *w = user_data;
  w->closing = TRUE;
  GHashTableIter it;
  gpointer s;
  g_hash_table_iter_init (&it, w->in_flight);
  while (g_hash_table_iter_next (&it, &s, NULL))
    if (((Send *) s)->cancel)
      g_cancellable_cancel (((Send *) s)->cancel);
  if (g_hash_table_size (w->in_flight) == 0)
    g_main_loop_quit (w->loop);
  return G_SOURCE_REMOVE;
}

static gpointer
run (gpointer user_data)
{
  ScEventsWorker *w = user_data;
  g_main_context_push_thread_default (w->context);
  w->session = soup_session_new_with_options ("timeout", w->timeout_s,
                                              "idle-timeout", 60,
                                              "max-conns-per-host", 8, NULL);
  g_main_loop_run (w->loop);
  soup_session_abort (w->session);
  g_clear_object (&w->session);
  /* What libsoup still has queued to tear down runs now, on its context. */
  while (g_main_context_iteration (w->context, FALSE))
    ;
  g_main_context_pop_thread_default (w->context);
  return NULL;
}

ScEventsWorker *
sc_events_worker_new (GMainContext *reply_context, guint timeout_s, ScEventsDoneFunc done,
                      gpointer user_data)
{
  ScEventsWorker *w = g_new0 (ScEventsWorker, 1);
  w->context = g_main_context_new ();
  w->loop = g_main_loop_new (w->context, FALSE);
  w->timeout_s = timeout_s;
  w->in_flight = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) send_free, NULL);
  w->reply_context = g_main_context_ref (reply_context);
  w->done = done;
  w->done_data = user_data;
  g_mutex_init (&w->lock);
  w->replies = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
  /* GLib 2.74 can deadlock when two threads first use a type at once:
   * SoupSession's class init registers GInetSocketAddress while the main
   * thread's HTTP door creates one (seen: the daemon hung at start-up, 1 in
   * ~10).  Initialise the session class here, before the thread exists. */
  g_type_class_unref (g_type_class_ref (SOUP_TYPE_SESSION));
  w->thread = g_thread_new ("sc-webhooks", run, w);
  return w;
}

void
sc_events_worker_free (ScEventsWorker *w)
{
  if (!w)
    return;
  g_main_context_invoke (w->context, start_closing, w);
  g_thread_join (w->thread);
  /* The thread is gone: nothing adds replies any more. */
  for (guint i = 0; i < w->replies->len; i++)
    g_source_destroy (w->replies->pdata[i]);
  g_ptr_array_unref (w->replies);
  g_mutex_clear (&w->lock);
  g_hash_table_unref (w->in_flight);
  g_main_loop_unref (w->loop);
  g_main_context_unref (w->context);
  g_main_context_unref (w->reply_context);
  g_free (w);
}
