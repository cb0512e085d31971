#pragma once

#include "spacecast/events.h"

/* An http(s) URL with a host, or FALSE with why not. */
gboolean sc_events_check_url (const char *url, GError **error);

/* One POST of one event to one endpoint. */
typedef struct {
  char *webhook_id;
  gint64 seq;
  char *url;
  char *secret;
  char *body;
  JsonArray *attempts;          /* before this one; the bus appends the result */
  /* Filled in by the worker. */
  guint status;                 /* HTTP status, 0 when no response came */
  char *address;                /* the peer's IP address, NULL if never connected */
  gint64 sent_at_us;
} ScEventsJob;

void sc_events_job_free (ScEventsJob *job);

/* The delivery thread: its own GMainContext and SoupSession, so neither a
 * slow endpoint nor DNS ever holds up the bus' context. */
typedef struct _ScEventsWorker ScEventsWorker;
/* Runs on @reply_context with the job done; owns it. */
typedef void (*ScEventsDoneFunc) (ScEventsJob *job, gpointer user_data);

ScEventsWorker *sc_events_worker_new  (GMainContext *reply_context, guint timeout_s,
                                       ScEventsDoneFunc done, gpointer user_data);
void            sc_events_worker_send (ScEventsWorker *worker, ScEventsJob *job);
/* Cancels what is in flight and joins the thread; no done call follows. */
void            sc_events_worker_free (ScEventsWorker *worker);
