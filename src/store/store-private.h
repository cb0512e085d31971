#pragma once

#include "spacecast/store.h"
#include <sqlite3.h>

struct _ScStore {
  sqlite3 *db;
  guint tx_depth;
  gboolean tx_failed;
  GArray *outbox_pending;       /* seqs written in the open transaction */
  ScStoreOutboxFunc outbox_func;
  gpointer outbox_data;
};

/* The transaction that wrote outbox rows ended: tell the observer about
 * them when it committed, forget them when it did not. */
void sc_store_outbox_settle (ScStore *store, gboolean committed);

gboolean sc_store_fail (ScStore *store, GError **error, const char *what);
sqlite3_stmt *sc_store_prepare (ScStore *store, const char *sql, GError **error);
