/* `spacecast serve`: open the store, start every service on the main
 * context, run until SIGINT/SIGTERM, then stop them in reverse order. */
#include "daemon.h"
#include "spacecast/api.h"
#include "spacecast/auth.h"
#include "spacecast/broadcast.h"
#include "spacecast/config.h"
#include "spacecast/core.h"
#include "spacecast/encoder.h"
#include "spacecast/console.h"
#include "spacecast/events.h"
#include "spacecast/ingest.h"
#include "spacecast/metrics.h"
#include "spacecast/record.h"
#include "spacecast/space.h"
#include "spacecast/store.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <malloc.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>

typedef struct {
  ScConfig *config;
  ScStore *store;
  ScEvents *events;
  ScApi *api;
  ScIngest *ingest;
  ScSpaces *spaces;
  ScSpaceEvents *space_events;
  ScBroadcasts *broadcasts;
  ScDemo *demo;
  ScMetrics *metrics;
  GMainLoop *loop;
} ScDaemon;

static gboolean
on_signal (gpointer user_data)
{
  ScDaemon *d = user_data;
  g_message ("shutting down");
  g_main_loop_quit (d->loop);
  return G_SOURCE_REMOVE;
}

/* Participants and running broadcasts do not survive a restart: bring the
 * stored state in line with that before serving anything.  A clean stop
 * has already done so, so whatever is still active was running when
 * spacecast crashed or was killed. */
static gboolean
reset_runtime_state (ScStore *store, GError **error)
{
  static const struct {
    ScKind kind;
    const char *event;
  } kinds[] = {
    { SC_KIND_SPACE, "video.space.idle" },
    { SC_KIND_BROADCAST, "video.space.broadcast.idle" },
  };
  const char *filters[] = { "status", "active", NULL };

  if (!sc_store_begin (store, error))
    return FALSE;
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++) {
    g_autoptr (GPtrArray) docs = sc_store_list (store, kinds[k].kind, filters, G_MAXINT, 0, error);
    if (!docs)
      goto fail;
    for (guint i = 0; i < docs->len; i++) {
      JsonObject *doc = docs->pdata[i];
      const char *id = json_object_get_string_member (doc, "id");
      json_object_set_string_member (doc, "status", "idle");
      if (json_object_has_member (doc, "active_session_id"))
        json_object_remove_member (doc, "active_session_id");
      if (kinds[k].kind == SC_KIND_BROADCAST)
        json_object_set_string_member (doc, "idle_reason",
                                       "spacecast stopped unexpectedly while it was running");
      if (!sc_events_put (store, kinds[k].kind, id, doc, kinds[k].event, error))
        goto fail;
      g_message ("%s %s was active when spacecast stopped: now idle",
                 sc_store_kind_name (kinds[k].kind), id);
    }
  }
  return sc_store_commit (store, error);
fail:
  sc_store_rollback (store);
  return FALSE;
}

/* The database holds stream keys and token hashes: the data dir is 0700
 * and the database files 0600 whether or not they existed before (an old
 * dir made under a looser umask is tightened, not trusted). */
ScStore *
sc_daemon_open_store (const char *data_dir, GError **error)
{
  if (g_mkdir_with_parents (data_dir, 0700) != 0 || g_chmod (data_dir, 0700) != 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "cannot create data dir %s: %s",
                 data_dir, g_strerror (errno));
    return NULL;
  }
  g_autofree char *path = g_build_filename (data_dir, "spacecast.db", NULL);
  ScStore *store = sc_store_open (path, error);
  static const char *const suffixes[] = { "", "-wal", "-shm" };
  for (guint i = 0; store && i < G_N_ELEMENTS (suffixes); i++) {
    g_autofree char *f = g_strconcat (path, suffixes[i], NULL);
    if (g_chmod (f, 0600) != 0 && errno != ENOENT)
      g_warning ("cannot make %s private: %s", f, g_strerror (errno));
  }
  return store;
}

static gboolean
ensure_env_token (ScStore *store, GError **error)
{
  const char *id = g_getenv ("SPACECAST_TOKEN_ID");
  const char *secret = g_getenv ("SPACECAST_TOKEN_SECRET");
  if (!id && !secret)
    return TRUE;
  if (!id || !secret || !*id || !*secret) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "set both SPACECAST_TOKEN_ID and SPACECAST_TOKEN_SECRET, or neither");
    return FALSE;
  }
  if (!sc_auth_create_token (store, id, secret, NULL, NULL, error))
    return FALSE;
  g_message ("API token %s from the environment is ready", id);
  return TRUE;
}

/* GStreamer's compositor allocates a whole output frame for every scaled
 * tile of every frame, and frees it a frame later, from other threads.
 * glibc's defaults hand such blocks back to the kernel (munmap, trimmed
 * arena tops) and then fault them in again: measured up to 19 000 page
 * faults/s and twice the CPU for one 720p broadcast.  Keep freed memory in
 * the process instead; the set of frames in flight is bounded anyway. */
static void
tune_malloc (void)
{
  mallopt (M_MMAP_THRESHOLD, 64 << 20);
  mallopt (M_TRIM_THRESHOLD, 256 << 20);
}

/* Every connection and pipeline costs fds; the limits in the config are
 * sized against the hard limit, so take all of it (nginx does the same
 * with worker_rlimit_nofile). */
static void
raise_fd_limit (void)
{
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit (RLIMIT_NOFILE, &rl) != 0)
      g_warning ("cannot raise the fd limit: %s", g_strerror (errno));
  }
}

int
sc_daemon_serve (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScConfig) config = sc_config_new_defaults ();
  ScDaemon d = { .config = config };
  int status = 1;
  gboolean probing = FALSE;

  tune_malloc ();
  raise_fd_limit ();
  /* Everything the daemon writes (database, recordings) is its own. */
  umask (077);
  gst_init (&argc, &argv);
  if (!sc_config_parse_args (config, &argc, &argv, &error)) {
    fprintf (stderr, "spacecast serve: %s\n", error->message);
    return 2;
  }
  sc_daemon_setup_logging (config->log_level);
  sc_record_setup_logging ();

  d.store = sc_daemon_open_store (config->data_dir, &error);
  if (!d.store || !ensure_env_token (d.store, &error) ||
      !reset_runtime_state (d.store, &error))
    goto out;
  d.events = sc_events_new (d.store, config, &error);
  if (!d.events)
    goto out;
  d.api = sc_api_new (config, d.store, &error);
  if (!d.api)
    goto out;
  sc_events_add_routes (d.api);
  sc_console_add_routes (d.api);
  d.ingest = sc_ingest_new (d.api, d.events, &error);
  if (!d.ingest)
    goto out;
  d.spaces = sc_spaces_new (d.api);
  d.space_events = sc_space_events_new (d.api, d.spaces, d.events);
  d.broadcasts = sc_broadcasts_new (d.api, d.spaces, d.ingest);
  /* On a worker thread: the first broadcast then starts at once. */
  sc_encoder_probe_ready (NULL, config->encoder);
  probing = TRUE;
  if (config->metrics_host) {
    const ScMetricsSources sources = { .api = d.api, .store = d.store, .events = d.events,
                                       .ingest = d.ingest, .spaces = d.spaces,
                                       .broadcasts = d.broadcasts };
    if (!(d.metrics = sc_metrics_new (config, &sources, &error)))
      goto out;
  }

  d.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_signal, &d);
  g_unix_signal_add (SIGTERM, on_signal, &d);
  g_message ("spacecast ready: data dir %s", config->data_dir);
  if (config->demo &&
      !(d.demo = sc_daemon_demo_start (d.store, config->http_host, sc_api_get_port (d.api),
                                       config->ice_host, &error)))
    goto out;
  g_main_loop_run (d.loop);
  status = 0;

out:
  if (error)
    g_critical ("spacecast serve: %s", error->message);
  /* First every service winds down while all of them still exist (a
   * broadcast drains into our own ingest, a leaving participant reaches
   * the broadcasts); only then is anything freed, in reverse order, and
   * nothing iterates the main loop any more. */
  g_clear_pointer (&d.demo, sc_daemon_demo_stop);
  /* Before any service it reads from starts to wind down. */
  g_clear_pointer (&d.metrics, sc_metrics_free);
  if (d.space_events)
    sc_space_events_shutdown (d.space_events);
  if (d.broadcasts)
    sc_broadcasts_shutdown (d.broadcasts);
  if (d.spaces)
    sc_spaces_shutdown (d.spaces);
  if (d.ingest)
    sc_ingest_shutdown (d.ingest);
  g_clear_pointer (&d.space_events, sc_space_events_free);
  g_clear_pointer (&d.broadcasts, sc_broadcasts_free);
  g_clear_pointer (&d.spaces, sc_spaces_free);
  g_clear_pointer (&d.ingest, sc_ingest_free);
  g_clear_pointer (&d.api, sc_api_free);
  g_clear_pointer (&d.events, sc_events_free);
  g_clear_pointer (&d.store, sc_store_free);
  g_clear_pointer (&d.loop, g_main_loop_unref);
  /* The probe loads GStreamer plugins on a worker thread, and a dlopen
   * racing exit()'s destructors runs libraries' constructors again (seen:
   * SIGTERM within ~50 ms of start aborted in GObject, "cannot register
   * existing fundamental type").  This waits for it, or finds it done. */
  if (probing) {
    g_autoptr (ScEncoderChoice) probed = sc_encoder_probe (NULL, config->encoder, NULL);
  }
  return status;
}
