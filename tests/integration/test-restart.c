/* State survives a clean restart and a kill -9; tokens made by the CLI work. */
#include "harness.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static void
test_survives_restart_and_kill (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autoptr (ScResponse) ls = sc_harness_request (h, "POST", "/video/v1/live-streams",
                                                  "{\"playback_policies\":[\"public\"],\"passthrough\":\"p1\"}");
  g_assert_cmpuint (ls->status, ==, 201);
  g_autofree char *ls_id = g_strdup (sc_response_str (ls, "id"));
  g_autofree char *key = g_strdup (sc_response_str (ls, "stream_key"));
  g_autofree char *body = g_strdup_printf ("{\"broadcasts\":[{\"live_stream_id\":\"%s\"}]}", ls_id);
  g_autoptr (ScResponse) sp = sc_harness_request (h, "POST", "/video/v1/spaces", body);
  g_autofree char *sp_id = g_strdup (sc_response_str (sp, "id"));
  g_autofree char *ls_path = g_strdup_printf ("/video/v1/live-streams/%s", ls_id);
  g_autofree char *sp_path = g_strdup_printf ("/video/v1/spaces/%s", sp_id);
  g_autofree char *disable = g_strconcat (ls_path, "/disable", NULL);
  g_autoptr (ScResponse) dis = sc_harness_request (h, "PUT", disable, NULL);
  g_assert_cmpuint (dis->status, ==, 200);

  sc_harness_restart (h);
  g_autoptr (ScResponse) g1 = sc_harness_request (h, "GET", ls_path, NULL);
  g_assert_cmpuint (g1->status, ==, 200);
  g_assert_cmpstr (sc_response_str (g1, "stream_key"), ==, key);
  g_assert_cmpstr (sc_response_str (g1, "status"), ==, "disabled");
  g_assert_cmpstr (sc_response_str (g1, "passthrough"), ==, "p1");
  g_autoptr (ScResponse) s1 = sc_harness_request (h, "GET", sp_path, NULL);
  g_assert_cmpuint (s1->status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (sc_response_data (s1), "broadcasts")), ==, 1);

  /* A change acknowledged just before a kill -9 is there afterwards. */
  g_autoptr (ScResponse) p = sc_harness_request (h, "PATCH", ls_path, "{\"passthrough\":\"p2\"}");
  g_assert_cmpuint (p->status, ==, 200);
  sc_harness_kill9 (h);
  sc_harness_launch (h);
  g_autoptr (ScResponse) g2 = sc_harness_request (h, "GET", ls_path, NULL);
  g_assert_cmpstr (sc_response_str (g2, "passthrough"), ==, "p2");
  g_autoptr (ScResponse) s2 = sc_harness_request (h, "GET", sp_path, NULL);
  g_assert_cmpuint (s2->status, ==, 200);

  /* The database is a real SQLite file with the schema version recorded. */
  g_autofree char *db = g_build_filename (h->data_dir, "spacecast.db", NULL);
  g_assert_true (g_file_test (db, G_FILE_TEST_IS_REGULAR));
}

static void
test_token_create_cli (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autofree char *out = NULL;
  g_autofree char *dd = g_strdup_printf ("--data-dir=%s", h->data_dir);
  const char *argv[] = { g_getenv ("SC_DAEMON"), "token", "create", dd, NULL };
  g_assert_cmpint (sc_harness_run (&out, argv), ==, 0);

  g_autoptr (GRegex) re = g_regex_new ("SPACECAST_TOKEN_ID=(\\S+)\\s+SPACECAST_TOKEN_SECRET=(\\S+)", 0, 0, NULL);
  g_autoptr (GMatchInfo) m = NULL;
  g_assert_true (g_regex_match (re, out, 0, &m));
  g_autofree char *id = g_match_info_fetch (m, 1);
  g_autofree char *secret = g_match_info_fetch (m, 2);
  g_assert_cmpuint (strlen (secret), >=, 32);

  g_autofree char *creds = g_strdup_printf ("%s:%s", id, secret);
  g_autofree char *b64 = g_base64_encode ((guchar *) creds, strlen (creds));
  g_autofree char *auth = g_strconcat ("Basic ", b64, NULL);
  g_autoptr (ScResponse) ok = sc_harness_raw (h, "GET", "/video/v1/spaces", NULL, NULL, 0, auth);
  g_assert_cmpuint (ok->status, ==, 200);

  /* The secret itself is nowhere in the database. */
  g_autofree char *db = g_build_filename (h->data_dir, "spacecast.db", NULL);
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (db, &contents, &len, NULL));
  g_assert_null (g_strstr_len (contents, len, secret));
  g_autofree char *wal = g_strconcat (db, "-wal", NULL);
  g_autofree char *wal_contents = NULL;
  if (g_file_get_contents (wal, &wal_contents, &len, NULL))
    g_assert_null (g_strstr_len (wal_contents, len, secret));
}

static void
test_bad_config_refused (void)
{
  g_autofree char *out = NULL;
  const char *argv[] = { g_getenv ("SC_DAEMON"), "serve", "--http=nonsense", NULL };
  g_assert_cmpint (sc_harness_run (&out, argv), ==, 2);
  g_assert_nonnull (strstr (out, "nonsense"));
}

static guint
mode_of (const char *path)
{
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 0777;
}

/* Stream keys live in the database: a data dir left readable by others (an
 * older version, a looser umask, a hand-made dir) is tightened at start. */
static void
test_private_files (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, 60);
  g_autofree char *db = g_build_filename (h->data_dir, "spacecast.db", NULL);
  g_assert_cmpuint (mode_of (h->data_dir), ==, 0700);
  g_assert_cmpuint (mode_of (db), ==, 0600);
  sc_harness_kill9 (h);
  g_assert_cmpint (g_chmod (h->data_dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (db, 0644), ==, 0);
  sc_harness_launch (h);
  g_assert_cmpuint (mode_of (h->data_dir), ==, 0700);
  g_assert_cmpuint (mode_of (db), ==, 0600);
  g_autofree char *wal = g_strconcat (db, "-wal", NULL);
  if (g_file_test (wal, G_FILE_TEST_EXISTS))
    g_assert_cmpuint (mode_of (wal), ==, 0600);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/restart/private-files", test_private_files);
  g_test_add_func ("/restart/state-survives", test_survives_restart_and_kill);
  g_test_add_func ("/restart/token-create-cli", test_token_create_cli);
  g_test_add_func ("/restart/bad-config", test_bad_config_refused);
  return g_test_run ();
}
