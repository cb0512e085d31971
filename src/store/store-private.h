#pragma once

#include "spacecast/store.h"
#include <sqlite3.h>

typedef struct _ScStoreCheckpointer ScStoreCheckpointer;

struct _ScStore {
  sqlite3 *db;
  guint tx_depth;
  gboolean tx_failed;
  GArray *outbox_pending;       /* seqs written in the open transaction */
  ScStoreOutboxFunc outbox_func;
  gpointer outbox_data;
  ScStoreCheckpointer *checkpointer; /* NULL for an in-memory database */
};

/* store-checkpoint.c: WAL checkpoints, and with them the disk syncs, on a
 * thread of their own with its own connection, so that no commit on the
 * owner's context waits for the disk. */
ScStoreCheckpointer *sc_store_checkpointer_new  (ScStore *store, const char *path,
                                                 GError **error);
void                 sc_store_checkpointer_free (ScStoreCheckpointer *cp);

/* The transaction that wrote outbox rows ended: tell the observer about
 * them when it committed, forget them when it did not. */
void sc_store_outbox_settle (ScStore *store, gboolean committed);

gboolean sc_store_fail (ScStore *store, GError **error, const char *what);
sqlite3_stmt *sc_store_prepare (ScStore *store, const char *sql, GError **error);
