/* The daemon's subcommands, each an entry point taking argv without the
 * program name (argv[0] is the subcommand word). */
#pragma once

#include <glib.h>

int  sc_daemon_serve (int argc, char **argv);
int  sc_daemon_token (int argc, char **argv);
int  sc_daemon_sign  (int argc, char **argv);
void sc_daemon_setup_logging (const char *level);
