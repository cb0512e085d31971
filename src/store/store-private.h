#pragma once

#include "spacecast/store.h"
#include <sqlite3.h>

struct _ScStore {
  sqlite3 *db;
  guint tx_depth;
  gboolean tx_failed;
};

gboolean sc_store_fail (ScStore *store, GError **error, const char *what);
sqlite3_stmt *sc_store_prepare (ScStore *store, const char *sql, GError **error);
