/* WAL checkpoints off the owner's context.  The owner's connection runs
 * with synchronous=NORMAL: a commit writes its WAL frames and returns
 * without waiting for the disk.  That keeps every committed change across a
 * crash or kill -9 (the frames are in the kernel's page cache and SQLite
 * replays the WAL at the next open); what it gives up is the last moments
 * before a power cut or a kernel crash.  This thread bounds those: it
 * checkpoints (syncing the WAL, then the database) every second there was a
 * commit, and at once when the WAL grows past a thousand pages, with a
 * connection of its own.  A PASSIVE checkpoint never holds the writer's
 * lock, so the owner keeps committing meanwhile. */
#include "store-private.h"
#include "spacecast/core.h"

#define CHECKPOINT_PAGES 1000
#define CHECKPOINT_INTERVAL_US G_USEC_PER_SEC

struct _ScStoreCheckpointer {
  sqlite3 *db;
  GThread *thread;
  GMutex lock;
  GCond cond;
  gboolean dirty;               /* a commit since the last checkpoint */
  gboolean full;                /* the WAL is past CHECKPOINT_PAGES */
  gboolean stop;
};

static int
on_wal_commit (void *data, sqlite3 *db, const char *name, int pages)
{
  ScStoreCheckpointer *cp = data;
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
  g_mutex_lock (&cp->lock);
  while (!cp->stop) {
    gint64 until = g_get_monotonic_time () + CHECKPOINT_INTERVAL_US;
    while (!cp->stop && !cp->full && g_cond_wait_until (&cp->cond, &cp->lock, until))
      ;
    if (!cp->dirty)
      continue;
    cp->dirty = cp->full = FALSE;
    g_mutex_unlock (&cp->lock);
    int rc = sqlite3_wal_checkpoint_v2 (cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      g_warning ("store: checkpoint: %s", sqlite3_errmsg (cp->db));
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
