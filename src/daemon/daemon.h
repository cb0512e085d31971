/* The daemon's subcommands, each an entry point taking argv without the
 * program name (argv[0] is the subcommand word). */
#pragma once

#include <glib.h>

int  sc_daemon_serve (int argc, char **argv);
int  sc_daemon_token (int argc, char **argv);
int  sc_daemon_sign  (int argc, char **argv);
void sc_daemon_setup_logging (const char *level);

typedef struct _ScStore ScStore;
typedef struct _ScDemo ScDemo;
ScStore *sc_daemon_open_store (const char *data_dir, GError **error);
ScDemo  *sc_daemon_demo_start (ScStore *store, const char *http_host, guint16 port,
                               const char *ice_host, GError **error);
void     sc_daemon_demo_stop  (ScDemo *demo);
