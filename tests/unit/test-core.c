/* Ids, keys, secret comparison, error mapping, stopping a pipeline. */
#include "spacecast/core.h"
#include "spacecast/config.h"

#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>
#include <string.h>
#include <unistd.h>

static void
test_ids_unique_and_alphabet (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < 2000; i++) {
    char *id = sc_core_new_id ();
    g_assert_cmpuint (strlen (id), ==, 25);   /* 144 bits in base62 */
    for (const char *p = id; *p; p++)
      g_assert_true (g_ascii_isalnum (*p));
    g_assert_false (g_hash_table_contains (seen, id));
    g_hash_table_add (seen, id);
  }
}

static void
test_stream_key_entropy (void)
{
  g_autofree char *key = sc_core_new_secret ();
  /* 24 random bytes = 192 bits >= the 128 the API promises; base62 width 33. */
  g_assert_cmpuint (strlen (key), ==, 33);
  g_autofree char *other = sc_core_new_secret ();
  g_assert_cmpstr (key, !=, other);
}

static void
test_secret_equal (void)
{
  g_assert_true (sc_core_secret_equal ("abc", "abc"));
  g_assert_false (sc_core_secret_equal ("abc", "abd"));
  g_assert_false (sc_core_secret_equal ("abc", "abcd"));
  g_assert_false (sc_core_secret_equal (NULL, "abc"));
}

static void
test_error_mapping (void)
{
  g_assert_cmpuint (sc_error_http_status (SC_ERROR_INVALID), ==, 400);
  g_assert_cmpstr (sc_error_type_name (SC_ERROR_INVALID), ==, "invalid_parameters");
  g_assert_cmpuint (sc_error_http_status (SC_ERROR_UNAUTHORIZED), ==, 401);
  g_assert_cmpuint (sc_error_http_status (SC_ERROR_NOT_FOUND), ==, 404);
  g_assert_cmpstr (sc_error_type_name (SC_ERROR_NOT_FOUND), ==, "not_found");
  g_assert_cmpuint (sc_error_http_status (SC_ERROR_CONFLICT), ==, 409);
  g_assert_cmpuint (sc_error_http_status (SC_ERROR_TOO_LARGE), ==, 413);
  g_assert_cmpuint (sc_error_http_status (SC_ERROR_UNSUPPORTED_TYPE), ==, 415);
  g_assert_cmpuint (sc_error_http_status (SC_ERROR_UNPROCESSABLE), ==, 422);
  g_assert_cmpuint (sc_error_http_status (SC_ERROR_METHOD_NOT_ALLOWED), ==, 405);
  g_assert_cmpuint (sc_error_http_status (9999), ==, 500);
}

static void
test_hostport (void)
{
  g_autofree char *host = NULL;
  guint16 port = 0;
  g_autoptr (GError) error = NULL;

  g_assert_true (sc_config_parse_hostport ("127.0.0.1:8080", &host, &port, NULL));
  g_assert_cmpstr (host, ==, "127.0.0.1");
  g_assert_cmpuint (port, ==, 8080);
  g_assert_true (sc_config_parse_hostport ("[::1]:99", &host, &port, NULL));
  g_assert_cmpstr (host, ==, "::1");
  g_assert_true (sc_config_parse_hostport (":1935", &host, &port, NULL));
  g_assert_cmpstr (host, ==, "0.0.0.0");
  g_assert_false (sc_config_parse_hostport ("nohost", &host, &port, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (sc_config_parse_hostport ("h:70000", &host, &port, &error));
  g_clear_error (&error);
  g_assert_false (sc_config_parse_hostport ("h:12x", &host, &port, &error));
}

static void
test_config_file_and_args (void)
{
  g_autoptr (ScConfig) c = sc_config_new_defaults ();
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("sc-config-XXXXXX.ini", &path, NULL);
  const char *ini = "[spacecast]\nhttp=127.0.0.1:9999\ndata-dir=/tmp/x\ncomplete-hold=5\n";
  g_assert_cmpint (write (fd, ini, strlen (ini)), ==, (int) strlen (ini));
  close (fd);

  g_autofree char *cfg_arg = g_strconcat ("--config=", path, NULL);
  char *args[] = { "serve", cfg_arg, "--data-dir=/tmp/y", NULL };
  char **argv = args;
  int argc = 3;
  g_assert_true (sc_config_parse_args (c, &argc, &argv, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c->http_port, ==, 9999);          /* from the file */
  g_assert_cmpstr (c->data_dir, ==, "/tmp/y");        /* command line wins */
  g_assert_cmpuint (c->complete_hold_s, ==, 5);
  g_assert_cmpuint (c->rtmp_port, ==, 1935);          /* default kept */

  const char *bad = "[spacecast]\nno-such-key=1\n";
  g_file_set_contents (path, bad, -1, NULL);
  g_assert_false (sc_config_load_file (c, path, &error));
  g_assert_nonnull (strstr (error->message, "no-such-key"));
  g_unlink (path);
}


/* A live appsrc taking buffer lists from another thread, as a simulcast
 * target's or a WHEP viewer's, stopped while they flow: GStreamer 1.22's
 * basesrc can unref a NULL buffer then (a critical, fatal here), unless
 * the source is flushed first.  A race, so many short runs. */
typedef struct {
  GstElement *src;
  gint stop;
} Pusher;

static gpointer
push_lists (gpointer data)
{
  Pusher *p = data;
  while (!g_atomic_int_get (&p->stop)) {
    GstBufferList *list = gst_buffer_list_new ();
    for (guint i = 0; i < 3; i++)
      gst_buffer_list_add (list, gst_buffer_new_allocate (NULL, 100, NULL));
    gst_app_src_push_buffer_list (GST_APP_SRC (p->src), list);
    g_usleep (20);
  }
  return NULL;
}

static void
test_pipeline_stop (void)
{
  for (guint i = 0; i < 300; i++) {
    g_autoptr (GError) error = NULL;
    GstElement *pipe = gst_parse_launch ("appsrc name=s is-live=true block=false "
                                         "leaky-type=downstream max-buffers=20 "
                                         "! fakesink sync=false", &error);
    g_assert_no_error (error);
    Pusher p = { gst_bin_get_by_name (GST_BIN (pipe), "s"), 0 };
    g_assert_cmpint (gst_element_set_state (pipe, GST_STATE_PLAYING), !=,
                     GST_STATE_CHANGE_FAILURE);
    GThread *thread = g_thread_new ("pusher", push_lists, &p);
    g_usleep (g_random_int_range (0, 3000));
    sc_core_pipeline_stop (pipe);
    g_atomic_int_set (&p.stop, 1);
    g_thread_join (thread);
    GstState state;
    gst_element_get_state (pipe, &state, NULL, 0);
    g_assert_cmpint (state, ==, GST_STATE_NULL);
    gst_object_unref (p.src);
    gst_object_unref (pipe);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);
  g_test_add_func ("/core/ids", test_ids_unique_and_alphabet);
  g_test_add_func ("/core/stream-key", test_stream_key_entropy);
  g_test_add_func ("/core/secret-equal", test_secret_equal);
  g_test_add_func ("/core/error-mapping", test_error_mapping);
  g_test_add_func ("/core/pipeline-stop", test_pipeline_stop);
  g_test_add_func ("/config/hostport", test_hostport);
  g_test_add_func ("/config/file-and-args", test_config_file_and_args);
  return g_test_run ();
}
