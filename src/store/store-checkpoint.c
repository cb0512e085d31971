/* WAL checkpoints off the owner's context.  The owner's connection runs
 * with synchronous=NORMAL: a commit writes its WAL frames and returns
 * without waiting for the disk.  That keeps every committed change across a
 * crash or kill -9 (the frames are in the kernel's page cache and SQLite
 * replays the WAL at the next open); what it gives up is the last moments
 * before a power cut or a kernel crash.  This thread bounds those: it
 * checkpoints (syncing the WAL, then the database) every second there was a
 * commit, and at once when the WAL grows past a thousand pages, with a
 * connection of its own.  A PASSIVE checkpoint never holds the writer's
 * lock, so the owner keeps committing meanwhile.  Only under a sustained
 * stream of commits that leaves it no moment to catch up does the writer
 * checkpoint itself, to bound the WAL (on_wal_commit). */
#include "store-private.h"
#include "spacecast/core.h"

#define CHECKPOINT_PAGES 1000
#define CHECKPOINT_INTERVAL_US G_USEC_PER_SEC
#define CHECKPOINT_GAP_US (100 * 1000)
/* About 40 MB of 4 KiB pages: the most the WAL grows to. */
#define WAL_MAX_PAGES (10 * CHECKPOINT_PAGES)

struct _ScStoreCheckpointer {
  sqlite3 *db;
  GThread *thread;
  GMutex lock;
  GCond cond;
  gboolean dirty;               /* a commit since the last checkpoint */
  gboolean full;                /* the WAL is past CHECKPOINT_PAGES */
  gboolean stop;
};

/* The owner's thread, after each commit. */
static int
on_wal_commit (void *data, sqlite3 *db, const char *name, int pages)
{
  ScStoreCheckpointer *cp = data;
  /* A WAL is only rewound once a checkpoint has caught up with it, which
   * one running beside a steady stream of commits never does: past
   * WAL_MAX_PAGES the writer checkpoints itself, as SQLite's own
   * autocheckpoint would, and the WAL starts over at the next commit. */
  if (pages >= WAL_MAX_PAGES) {
    int rc = sqlite3_wal_checkpoint_v2 (db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      g_warning ("store: checkpoint: %s", sqlite3_errmsg (db));
    return SQLITE_OK;
  }
  g_mutex_lock (&cp->lock);
  cp->dirty = TRUE;
  if (pages >= CHECKPOINT_PAGES && !cp->full) {
    cp->full = TRUE;
    g_cond_signal (&cp->cond);
  }
  g_mutex_unlock (&cp->lock);
  return SQLITE_OK;
}

static gpointer
checkpoint_thread (gpointer data)
{
  ScStoreCheckpointer *cp = data;
  gint64 earliest = 0;
  g_mutex_lock (&cp->lock);
  while (!cp->stop) {
    gint64 until = g_get_monotonic_time () + CHECKPOINT_INTERVAL_US;
    /* A full WAL is checkpointed at once, but at most every
     * CHECKPOINT_GAP_US, should a reader keep it from shrinking. */
    while (!cp->stop && !(cp->full && g_get_monotonic_time () >= earliest) &&
           g_cond_wait_until (&cp->cond, &cp->lock, cp->full ? earliest : until))
      ;
    if (!cp->dirty)
      continue;
    cp->dirty = cp->full = FALSE;
    g_mutex_unlock (&cp->lock);
    int rc = sqlite3_wal_checkpoint_v2 (cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      g_warning ("store: checkpoint: %s", sqlite3_errmsg (cp->db));
    earliest = g_get_monotonic_time () + CHECKPOINT_GAP_US;
    g_mutex_lock (&cp->lock);
  }
  g_mutex_unlock (&cp->lock);
  return NULL;
}

ScStoreCheckpointer *
sc_store_checkpointer_new (ScStore *store, const char *path, GError **error)
{
  ScStoreCheckpointer *cp = g_new0 (ScStoreCheckpointer, 1);
  if (sqlite3_open_v2 (path, &cp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                       NULL) != SQLITE_OK) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "cannot open database %s: %s", path,
                 cp->db ? sqlite3_errmsg (cp->db) : "out of memory");
    sqlite3_close_v2 (cp->db);
    g_free (cp);
    return NULL;
  }
  /* A connection opens the file lazily; until it has read it, it does not
   * know the database is in WAL mode and a checkpoint does nothing. */
  if (sqlite3_exec (cp->db, "PRAGMA journal_mode", NULL, NULL, NULL) != SQLITE_OK) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "database %s: %s", path,
                 sqlite3_errmsg (cp->db));
    sqlite3_close_v2 (cp->db);
    g_free (cp);
    return NULL;
  }
  g_mutex_init (&cp->lock);
  g_cond_init (&cp->cond);
  /* Replaces SQLite's own autocheckpoint on the owner's connection. */
  sqlite3_wal_hook (store->db, on_wal_commit, cp);
  cp->thread = g_thread_new ("store-checkpoint", checkpoint_thread, cp);
  return cp;
}

void
sc_store_checkpointer_free (ScStoreCheckpointer *cp)
{
  g_mutex_lock (&cp->lock);
  cp->stop = TRUE;
  g_cond_signal (&cp->cond);
  g_mutex_unlock (&cp->lock);
  g_thread_join (cp->thread);
  sqlite3_close_v2 (cp->db);
  g_cond_clear (&cp->cond);
  g_mutex_clear (&cp->lock);
  g_free (cp);
}
