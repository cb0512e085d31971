/* `spacecast token create` and `spacecast sign`: the offline tools. */
#include "daemon.h"
#include "spacecast/auth.h"
#include "spacecast/core.h"
#include "spacecast/jwt.h"
#include "spacecast/store.h"

#include <stdio.h>

int
sc_daemon_token (int argc, char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Data directory (./spacecast-data)", "DIR" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("create - create an API access token");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2 ||
      !g_str_equal (argv[1], "create")) {
    fprintf (stderr, "usage: spacecast token create [--data-dir DIR]%s%s\n",
             error ? ": " : "", error ? error->message : "");
    return 2;
  }
  g_autoptr (ScStore) store = sc_daemon_open_store (data_dir ? data_dir : "./spacecast-data", &error);
  g_autofree char *id = NULL, *secret = NULL;
  if (!store || !sc_auth_create_token (store, NULL, NULL, &id, &secret, &error)) {
    fprintf (stderr, "spacecast token create: %s\n", error->message);
    return 1;
  }
  printf ("SPACECAST_TOKEN_ID=%s\nSPACECAST_TOKEN_SECRET=%s\n", id, secret);
  fprintf (stderr, "Keep the secret: it is shown only once (curl -u ID:SECRET ...).\n");
  return 0;
}

int
sc_daemon_sign (int argc, char **argv)
{
  g_autofree char *space = NULL, *kid = NULL, *key = NULL, *role = NULL, *pid = NULL, *ttl = NULL;
  gboolean kid_in_header = FALSE;
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "space", 0, 0, G_OPTION_ARG_STRING, &space, "Space id (the token's sub)", "ID" },
    { "key-id", 0, 0, G_OPTION_ARG_STRING, &kid, "Signing key id", "KID" },
    { "private-key", 0, 0, G_OPTION_ARG_STRING, &key, "The signing key's private_key (base64 PEM)", "B64" },
    { "role", 0, 0, G_OPTION_ARG_STRING, &role, "publisher (default) or subscriber", "ROLE" },
    { "participant-id", 0, 0, G_OPTION_ARG_STRING, &pid, "Participant identity", "ID" },
    { "ttl", 0, 0, G_OPTION_ARG_STRING, &ttl, "Lifetime such as 90s, 30m, 1h, 7d (1h)", "TTL" },
    { "kid-in-header", 0, 0, G_OPTION_ARG_NONE, &kid_in_header, "Put kid in the JWT header instead of the payload", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- sign a space token");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "spacecast sign: %s\n", error->message);
    return 2;
  }
  if (!space || !kid || !key) {
    fprintf (stderr, "spacecast sign: --space, --key-id and --private-key are required\n");
    return 2;
  }
  gint64 ttl_s = 3600;
  if (ttl && !sc_jwt_parse_ttl (ttl, &ttl_s, &error)) {
    fprintf (stderr, "spacecast sign: %s\n", error->message);
    return 2;
  }
  g_autofree char *token = sc_jwt_sign_space_token (key, kid, space, role, pid, ttl_s,
                                                    kid_in_header, &error);
  if (!token) {
    fprintf (stderr, "spacecast sign: %s\n", error->message);
    return 1;
  }
  printf ("%s\n", token);
  return 0;
}
