/* WHIP and WHEP admission: whether one more join or subscription may
 * start.  Every one builds a webrtcbin pipeline (about 7 fds and 5 threads), and GLib aborts the
 * whole process when it cannot make the pipe of a GMainContext's GWakeup,
 * so joins are refused while the process is near its fd or thread limit,
 * not only beyond the configured counts.  The decision is pure; reading
 * the process's usage is the only I/O. */
#include "space-private.h"
#include "spacecast/core.h"

#include <string.h>
#include <sys/resource.h>

/* Headroom kept free whatever is joining: HTTP connections being accepted,
 * the store, logs, thumbnails. */
#define RESERVE_FDS     64
#define RESERVE_THREADS 64
/* What one join may still add after admission (ICE sockets and agent
 * threads appear as it gathers, after the POST was answered). */
#define JOIN_FDS        16
#define JOIN_THREADS    16

/* Retry-After: a pending join is answered within the gather timeout; a
 * full space or a process at its limits needs someone to leave. */
#define RETRY_PENDING_S 1
#define RETRY_FULL_S    5

/* Whether @used, plus the reserve and what the pending joins and this one
 * may still add, goes past @limit. */
static gboolean
near_limit (guint used, guint limit, guint reserve, guint per_join, guint pending)
{
  if (limit == 0)
    return FALSE;
  return (guint64) used + reserve + (guint64) per_join * (pending + 1) > limit;
}

gboolean
sc_spaces_admit (const ScAdmitState *st, guint *retry_after_s, GError **error)
{
  if (st->max_pending_joins > 0 && st->pending_joins >= st->max_pending_joins) {
    *retry_after_s = RETRY_PENDING_S;
    g_set_error (error, SC_ERROR, SC_ERROR_TOO_MANY_REQUESTS,
                 "%u WHIP/WHEP offers are being answered, the most at once "
                 "(whip_max_pending_joins); retry shortly", st->pending_joins);
    return FALSE;
  }
  if (st->max_space_participants > 0 &&
      st->space_participants >= st->max_space_participants) {
    *retry_after_s = RETRY_FULL_S;
    if (st->whep)
      g_set_error (error, SC_ERROR, SC_ERROR_TOO_MANY_REQUESTS,
                   "the space has %u WHEP sessions open or opening, the most "
                   "allowed (space_max_subscriptions)", st->space_participants);
    else
      g_set_error (error, SC_ERROR, SC_ERROR_TOO_MANY_REQUESTS,
                   "the space is full: %u participants joined or joining, the most "
                   "allowed (space_max_participants)", st->space_participants);
    return FALSE;
  }
  if (near_limit (st->open_fds, st->max_fds, RESERVE_FDS, JOIN_FDS, st->pending_joins) ||
      near_limit (st->threads, st->max_threads, RESERVE_THREADS, JOIN_THREADS,
                  st->pending_joins)) {
    *retry_after_s = RETRY_FULL_S;
    g_set_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE,
                 "spacecast is near its limit of open files or threads "
                 "(%u of %u fds, %u threads); retry later",
                 st->open_fds, st->max_fds, st->threads);
    return FALSE;
  }
  return TRUE;
}

static guint
soft_limit (int resource)
{
  struct rlimit rl;
  if (getrlimit (resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
      rl.rlim_cur > G_MAXUINT)
    return 0;
  return (guint) rl.rlim_cur;
}

/* Entries of /proc/self/fd (one of them is the directory being read). */
static guint
count_open_fds (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;
  if (dir == NULL)
    return 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* Field 20 of /proc/self/stat, counted after the ")" that ends the
 * command name (which may itself hold spaces). */
static guint
count_threads (void)
{
  g_autofree char *stat = NULL;
  if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL))
    return 0;
  const char *p = strrchr (stat, ')');
  for (guint field = 2; p != NULL && field < 20; field++)
    p = strchr (p + 1, ' ');
  return p != NULL ? (guint) g_ascii_strtoull (p + 1, NULL, 10) : 0;
}

void
sc_spaces_read_usage (ScAdmitState *st)
{
  st->open_fds = count_open_fds ();
  st->max_fds = soft_limit (RLIMIT_NOFILE);
  st->threads = count_threads ();
  /* RLIMIT_NPROC counts every thread of the user, ours among them: a
   * bound we can only stay under, not measure. */
  st->max_threads = soft_limit (RLIMIT_NPROC);
}
