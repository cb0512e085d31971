/* WHIP admission decisions (sc_spaces_admit): which cap refuses a join,
 * with which status and Retry-After, and the fd/thread headroom arithmetic;
 * plus reading the process's own usage. */
#include "spacecast/core.h"
#include "space/space-private.h"

#include <string.h>
#include <sys/resource.h>

static const ScAdmitState roomy = {
  .pending_joins = 0, .max_pending_joins = 8,
  .space_participants = 0, .max_space_participants = 16,
  .open_fds = 20, .max_fds = 1024,
  .threads = 5, .max_threads = 0,
};

static void
assert_refused (const ScAdmitState *st, ScErrorCode code, guint retry, const char *part)
{
  g_autoptr (GError) error = NULL;
  guint retry_after = 0;
  g_assert_false (sc_spaces_admit (st, &retry_after, &error));
  g_assert_error (error, SC_ERROR, (gint) code);
  g_assert_cmpuint (retry_after, ==, retry);
  if (!strstr (error->message, part))
    g_error ("expected \"%s\" in \"%s\"", part, error->message);
}

static void
assert_admitted (const ScAdmitState *st)
{
  g_autoptr (GError) error = NULL;
  guint retry_after = 0;
  g_assert_true (sc_spaces_admit (st, &retry_after, &error));
  g_assert_no_error (error);
}

static void
test_caps (void)
{
  assert_admitted (&roomy);

  ScAdmitState st = roomy;
  st.pending_joins = 8;
  assert_refused (&st, SC_ERROR_TOO_MANY_REQUESTS, 1, "whip_max_pending_joins");
  st.max_pending_joins = 0;   /* no limit */
  assert_admitted (&st);

  st = roomy;
  st.space_participants = 16;
  assert_refused (&st, SC_ERROR_TOO_MANY_REQUESTS, 5, "the space is full");
  st.space_participants = 15;
  assert_admitted (&st);
}

/* Refused when what is open, a reserve of 64 and 16 per join in flight
 * (this one included) would pass the limit. */
static void
test_headroom (void)
{
  ScAdmitState st = roomy;
  st.max_fds = 256;
  st.open_fds = 256 - 64 - 16;
  assert_admitted (&st);
  st.open_fds++;
  assert_refused (&st, SC_ERROR_UNAVAILABLE, 5, "near its limit of open files");

  /* Two joins in flight may still take 32 more. */
  st.open_fds = 256 - 64 - 16 - 32 + 1;
  assert_admitted (&st);
  st.pending_joins = 2;
  assert_refused (&st, SC_ERROR_UNAVAILABLE, 5, "145 of 256 fds");

  st = roomy;
  st.max_threads = 200;
  st.threads = 200 - 64 - 16;
  assert_admitted (&st);
  st.threads++;
  assert_refused (&st, SC_ERROR_UNAVAILABLE, 5, "121 threads");

  st = roomy;
  st.max_fds = 0;
  st.open_fds = G_MAXUINT;
  assert_admitted (&st);
}

static gpointer
wait_for_unlock (gpointer lock)
{
  g_mutex_lock (lock);
  g_mutex_unlock (lock);
  return NULL;
}

static void
test_usage (void)
{
  ScAdmitState st = { 0 };
  struct rlimit rl;
  sc_spaces_read_usage (&st);
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &rl), ==, 0);
  g_assert_cmpuint (st.max_fds, ==, rl.rlim_cur == RLIM_INFINITY ? 0 : rl.rlim_cur);
  g_assert_cmpuint (st.open_fds, >=, 3);
  g_assert_cmpuint (st.open_fds, <, 200);
  g_assert_cmpuint (st.threads, >=, 1);

  /* One more thread shows. */
  guint before = st.threads;
  GMutex lock;
  g_mutex_init (&lock);
  g_mutex_lock (&lock);
  GThread *t = g_thread_new ("waiter", wait_for_unlock, &lock);
  ScAdmitState st2 = { 0 };
  sc_spaces_read_usage (&st2);
  g_mutex_unlock (&lock);
  g_thread_join (t);
  g_mutex_clear (&lock);
  g_assert_cmpuint (st2.threads, ==, before + 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/admit/caps", test_caps);
  g_test_add_func ("/admit/headroom", test_headroom);
  g_test_add_func ("/admit/usage", test_usage);
  return g_test_run ();
}
