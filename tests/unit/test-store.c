/* A document and its playback ids kept in step, and checkpoints behind the
 * writer, in throwaway databases. */
#include "spacecast/core.h"
#include "spacecast/store.h"

#include <glib/gstdio.h>

static JsonObject *
obj (const char *json)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, json, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

/* The resource @playback_id plays, or NULL when it plays nothing. */
static char *
target_of (ScStore *store, const char *playback_id)
{
  g_autoptr (GError) error = NULL;
  ScKind kind;
  char *target = NULL;
  if (!sc_store_lookup_playback_id (store, playback_id, &kind, &target, &error)) {
    g_assert_error (error, SC_ERROR, SC_ERROR_NOT_FOUND);
    return NULL;
  }
  g_assert_cmpint (kind, ==, SC_KIND_LIVE_STREAM);
  return target;
}

static goffset
file_size (const char *path)
{
  GStatBuf st;
  return g_stat (path, &st) == 0 ? (goffset) st.st_size : -1;
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *f = g_build_filename (dir, name, NULL);
    g_unlink (f);
  }
  g_rmdir (dir);
}

static void
test_put_and_delete_with_playback_ids (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-store-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "store.db", NULL);
  ScStore *store = sc_store_open (path, &error);
  g_assert_no_error (error);

  g_autoptr (JsonObject) ls = obj ("{\"id\":\"ls1\",\"playback_ids\":["
                                   "{\"id\":\"p1\",\"policy\":\"public\"},"
                                   "{\"id\":\"p2\",\"policy\":\"signed\"}]}");
  g_assert_true (sc_store_put_with_playback_ids (store, SC_KIND_LIVE_STREAM, ls, &error));
  g_assert_no_error (error);
  g_autofree char *t1 = target_of (store, "p1");
  g_autofree char *t2 = target_of (store, "p2");
  g_assert_cmpstr (t1, ==, "ls1");
  g_assert_cmpstr (t2, ==, "ls1");

  /* Put again without p1: p1 no longer plays it. */
  json_array_remove_element (json_object_get_array_member (ls, "playback_ids"), 0);
  g_assert_true (sc_store_put_with_playback_ids (store, SC_KIND_LIVE_STREAM, ls, &error));
  g_assert_null (target_of (store, "p1"));
  g_autofree char *t2_again = target_of (store, "p2");
  g_assert_cmpstr (t2_again, ==, "ls1");

  /* A playback id taken by another resource: nothing of the put is kept. */
  g_autoptr (JsonObject) other = obj ("{\"id\":\"ls2\",\"playback_ids\":["
                                      "{\"id\":\"p3\",\"policy\":\"public\"},"
                                      "{\"id\":\"p2\",\"policy\":\"public\"}]}");
  g_assert_false (sc_store_put_with_playback_ids (store, SC_KIND_LIVE_STREAM, other, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_CONFLICT);
  g_clear_error (&error);
  g_assert_null (sc_store_get (store, SC_KIND_LIVE_STREAM, "ls2", &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (target_of (store, "p3"));

  g_assert_true (sc_store_delete_with_playback_ids (store, SC_KIND_LIVE_STREAM, "ls1", &error));
  g_assert_no_error (error);
  g_assert_null (target_of (store, "p2"));
  g_assert_null (sc_store_get (store, SC_KIND_LIVE_STREAM, "ls1", &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_NOT_FOUND);
  g_clear_error (&error);
  /* Deleting what is not there changes nothing and says so. */
  g_assert_false (sc_store_delete_with_playback_ids (store, SC_KIND_LIVE_STREAM, "ls1", &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_NOT_FOUND);

  sc_store_free (store);
  remove_dir (dir);
}

/* Commits land in the WAL; the store's own thread copies them into the
 * database file (a checkpoint, with its disk syncs) without the writer
 * doing anything more. */
static void
test_checkpoints_behind_the_writer (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-store-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "store.db", NULL);
  ScStore *store = sc_store_open (path, &error);
  g_assert_no_error (error);
  goffset before = file_size (path);

  g_autofree char *filler = g_strnfill (2000, 'x');
  for (guint i = 0; i < 200; i++) {
    g_autofree char *id = g_strdup_printf ("ls%u", i);
    g_autofree char *json = g_strdup_printf ("{\"id\":\"%s\",\"filler\":\"%s\"}", id, filler);
    g_autoptr (JsonObject) doc = obj (json);
    g_assert_true (sc_store_put (store, SC_KIND_LIVE_STREAM, id, doc, &error));
    g_assert_no_error (error);
  }
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_assert_cmpint (file_size (wal), >, 200 * 2000);
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (file_size (path) < before + 200 * 2000 && g_get_monotonic_time () < end)
    g_usleep (50 * 1000);
  g_test_message ("database file %" G_GOFFSET_FORMAT " → %" G_GOFFSET_FORMAT " bytes",
                  before, file_size (path));
  g_assert_cmpint (file_size (path), >=, before + 200 * 2000);

  sc_store_free (store);
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/store/put-and-delete-with-playback-ids",
                   test_put_and_delete_with_playback_ids);
  g_test_add_func ("/store/checkpoints-behind-the-writer", test_checkpoints_behind_the_writer);
  return g_test_run ();
}
