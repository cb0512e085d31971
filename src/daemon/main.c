/* spacecast: one binary, a handful of subcommands. */
#include "daemon.h"

#include "spacecast/publish.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
  "usage: spacecast COMMAND [OPTIONS]\n"
  "\n"
  "Commands:\n"
  "  serve          run the daemon (control API, WHIP, RTMP ingest, broadcasts)\n"
  "  token create   create an API access token (prints its id and secret once)\n"
  "  sign           sign a JWT that lets a participant join a space\n"
  "  publish        publish test patterns, tones or a file to a space over WHIP\n"
  "\n"
  "Run 'spacecast COMMAND --help' for a command's options.\n";

int
main (int argc, char **argv)
{
  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")) {
    fputs (usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *cmd = argv[1];
  if (g_str_equal (cmd, "serve"))
    return sc_daemon_serve (argc - 1, argv + 1);
  if (g_str_equal (cmd, "token"))
    return sc_daemon_token (argc - 1, argv + 1);
  if (g_str_equal (cmd, "sign"))
    return sc_daemon_sign (argc - 1, argv + 1);
  if (g_str_equal (cmd, "publish"))
    return sc_publish_main (argc - 1, argv + 1);
  fprintf (stderr, "spacecast: unknown command \"%s\"\n\n%s", cmd, usage);
  return 2;
}
