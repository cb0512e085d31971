/* The thumbnail pool on a real MP4: answers come back on the owner's main
 * context, the cache answers at once with the same bytes, equal requests
 * share one decode, a full queue refuses, a drain answers everything. */
#include "spacecast/record.h"
#include "spacecast/core.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *dir, *mp4;
static GThread *main_thread;

typedef struct {
  guint calls;
  GBytes *jpeg;
  GError *error;
} Answer;

static void
answer_clear (Answer *a)
{
  g_clear_pointer (&a->jpeg, g_bytes_unref);
  g_clear_error (&a->error);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Answer, answer_clear)

static void
on_thumbnail (GBytes *jpeg, const GError *error, gpointer user_data)
{
  Answer *a = user_data;
  g_assert_true (g_thread_self () == main_thread);
  a->calls++;
  g_clear_pointer (&a->jpeg, g_bytes_unref);
  g_clear_error (&a->error);
  a->jpeg = jpeg ? g_bytes_ref (jpeg) : NULL;
  a->error = error ? g_error_copy (error) : NULL;
}

static void
wait_for (Answer *a, guint calls)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (a->calls < calls) {
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_main_context_iteration (NULL, FALSE);
    g_usleep (1000);
  }
}

static void
assert_jpeg (GBytes *jpeg)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (jpeg, &len);
  g_assert_cmpuint (len, >, 100);
  g_assert_cmpint (d[0], ==, 0xff);
  g_assert_cmpint (d[1], ==, 0xd8);
}

static void
test_async_then_cached (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScThumbnailer) t = sc_thumbnailer_new (2, 4, 1 << 20, &error);
  g_assert_no_error (error);
  g_auto (Answer) a = { 0 };

  g_autoptr (GBytes) first = sc_thumbnailer_get (t, "asset", mp4, 1.0, 160, on_thumbnail, &a, &error);
  g_assert_null (first);
  g_assert_no_error (error);
  g_assert_cmpuint (a.calls, ==, 0);   /* never from inside get */
  wait_for (&a, 1);
  g_assert_no_error (a.error);
  assert_jpeg (a.jpeg);

  g_autoptr (GBytes) again = sc_thumbnailer_get (t, "asset", mp4, 1.0, 160, on_thumbnail, &a, &error);
  g_assert_nonnull (again);
  g_assert_true (g_bytes_equal (again, a.jpeg));
  /* Another width or time is another thumbnail. */
  g_autoptr (GBytes) wider = sc_thumbnailer_get (t, "asset", mp4, 1.0, 320, on_thumbnail, &a, &error);
  g_assert_null (wider);
  wait_for (&a, 2);
  g_assert_false (g_bytes_equal (again, a.jpeg));
  sc_thumbnailer_drain (t);
  g_assert_cmpuint (a.calls, ==, 2);
}

static void
test_shared_decode (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScThumbnailer) t = sc_thumbnailer_new (1, 0, 1 << 20, &error);
  g_auto (Answer) a = { 0 };
  g_auto (Answer) b = { 0 };

  /* With one worker and no queue, only a shared decode lets both in. */
  g_assert_null (sc_thumbnailer_get (t, "asset", mp4, 2.0, 160, on_thumbnail, &a, &error));
  g_assert_null (sc_thumbnailer_get (t, "asset", mp4, 2.0, 160, on_thumbnail, &b, &error));
  g_assert_no_error (error);
  wait_for (&a, 1);
  wait_for (&b, 1);
  g_assert_true (a.jpeg == b.jpeg);
  sc_thumbnailer_drain (t);
}

static void
test_full_and_drain (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScThumbnailer) t = sc_thumbnailer_new (1, 1, 1 << 20, &error);
  g_auto (Answer) a = { 0 };
  g_auto (Answer) b = { 0 };
  g_auto (Answer) c = { 0 };

  g_assert_null (sc_thumbnailer_get (t, "asset", mp4, 0.5, 160, on_thumbnail, &a, &error));
  g_assert_null (sc_thumbnailer_get (t, "asset", mp4, 1.5, 160, on_thumbnail, &b, &error));
  g_assert_no_error (error);
  g_assert_null (sc_thumbnailer_get (t, "asset", mp4, 2.5, 160, on_thumbnail, &c, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "busy"));
  g_clear_error (&error);

  sc_thumbnailer_drain (t);
  g_assert_cmpuint (a.calls, ==, 1);
  g_assert_cmpuint (b.calls, ==, 1);
  g_assert_cmpuint (c.calls, ==, 0);
  assert_jpeg (a.jpeg);
  assert_jpeg (b.jpeg);
  /* Drained: what is cached still comes, nothing new is taken. */
  g_autoptr (GBytes) cached = sc_thumbnailer_get (t, "asset", mp4, 0.5, 160, on_thumbnail, &c, &error);
  g_assert_nonnull (cached);
  g_assert_null (sc_thumbnailer_get (t, "asset", mp4, 3.0, 160, on_thumbnail, &c, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE);
}

static void
test_failure_not_cached (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScThumbnailer) t = sc_thumbnailer_new (1, 1, 1 << 20, &error);
  g_auto (Answer) a = { 0 };
  g_autofree char *missing = g_build_filename (dir, "missing.mp4", NULL);

  for (guint i = 1; i <= 2; i++) {
    g_assert_null (sc_thumbnailer_get (t, "gone", missing, 0, 0, on_thumbnail, &a, &error));
    g_assert_no_error (error);
    wait_for (&a, i);
    g_assert_null (a.jpeg);
    g_assert_error (a.error, SC_ERROR, SC_ERROR_NOT_FOUND);
  }
  sc_thumbnailer_drain (t);
}

/* The least recently used goes first once the bytes are spent. */
static void
test_lru (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (Answer) a = { 0 };
  g_autoptr (GBytes) one = sc_record_thumbnail (mp4, 1.0, 160, &error);
  g_assert_no_error (error);
  gsize size = g_bytes_get_size (one);
  /* Room for two of them, not three. */
  g_autoptr (ScThumbnailer) t = sc_thumbnailer_new (1, 4, 2 * size + size / 2, &error);

  const char *keys[] = { "a", "b", "c" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    g_assert_null (sc_thumbnailer_get (t, keys[i], mp4, 1.0, 160, on_thumbnail, &a, &error));
    wait_for (&a, i + 1);
    if (i == 1) {
      /* a becomes the most recently used, so b goes when c comes. */
      g_autoptr (GBytes) hit = sc_thumbnailer_get (t, "a", mp4, 1.0, 160, on_thumbnail, &a, &error);
      g_assert_nonnull (hit);
    }
  }
  g_autoptr (GBytes) hit_a = sc_thumbnailer_get (t, "a", mp4, 1.0, 160, on_thumbnail, &a, &error);
  g_autoptr (GBytes) hit_c = sc_thumbnailer_get (t, "c", mp4, 1.0, 160, on_thumbnail, &a, &error);
  g_assert_nonnull (hit_a);
  g_assert_nonnull (hit_c);
  g_autoptr (GBytes) miss_b = sc_thumbnailer_get (t, "b", mp4, 1.0, 160, on_thumbnail, &a, &error);
  g_assert_null (miss_b);
  g_assert_no_error (error);
  sc_thumbnailer_drain (t);
  g_assert_cmpuint (a.calls, ==, 4);
}

/* Converting such a time to a timestamp is undefined behaviour. */
static void
test_bad_time (void)
{
  const double times[] = { NAN, INFINITY, -INFINITY, 1e300, -1 };
  for (guint i = 0; i < G_N_ELEMENTS (times); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) jpeg = sc_record_thumbnail (mp4, times[i], 160, &error);
    g_assert_null (jpeg);
    g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  }
}

static void
skip_no_ffmpeg (void)
{
  g_test_skip ("ffmpeg CLI not installed");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  main_thread = g_thread_self ();
  g_autofree char *ffmpeg = g_find_program_in_path ("ffmpeg");
  if (!ffmpeg) {
    g_test_add_func ("/thumbnailer/no-ffmpeg", skip_no_ffmpeg);
    return g_test_run ();
  }
  g_autoptr (GError) error = NULL;
  dir = g_dir_make_tmp ("spacecast-thumbnailer-XXXXXX", &error);
  g_assert_no_error (error);
  mp4 = g_build_filename (dir, "a.mp4", NULL);
  const char *argv_ff[] = {
    ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
    "testsrc2=size=640x360:rate=30", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast",
    "-g", "30", "-pix_fmt", "yuv420p", "-y", mp4, NULL
  };
  int status = -1;
  g_assert_true (g_spawn_sync (NULL, (char **) argv_ff, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, &error));

  g_test_add_func ("/thumbnailer/async-then-cached", test_async_then_cached);
  g_test_add_func ("/thumbnailer/shared-decode", test_shared_decode);
  g_test_add_func ("/thumbnailer/full-and-drain", test_full_and_drain);
  g_test_add_func ("/thumbnailer/failure-not-cached", test_failure_not_cached);
  g_test_add_func ("/thumbnailer/lru", test_lru);
  g_test_add_func ("/thumbnailer/bad-time", test_bad_time);
  int rc = g_test_run ();
  g_unlink (mp4);
  g_rmdir (dir);
  g_free (mp4);
  g_free (dir);
  return rc;
}
