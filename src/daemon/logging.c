/* Structured logs: one line per record, logfmt-style key=value, so they can
 * be grepped by a person and parsed by a collector alike. */
#define _GNU_SOURCE             /* pthread_getname_np */
#include "daemon.h"

#include <execinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static GLogLevelFlags max_level = G_LOG_LEVEL_INFO;

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR) return "error";
  if (level & G_LOG_LEVEL_CRITICAL) return "critical";
  if (level & G_LOG_LEVEL_WARNING) return "warning";
  if (level & G_LOG_LEVEL_MESSAGE) return "notice";
  if (level & G_LOG_LEVEL_INFO) return "info";
  return "debug";
}

static gboolean
wanted (GLogLevelFlags level)
{
  GLogLevelFlags l = level & G_LOG_LEVEL_MASK;
  /* GLib orders levels ERROR < CRITICAL < WARNING < MESSAGE < INFO < DEBUG. */
  return l <= max_level || (l & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL));
}

/* A logfmt value: bare when it is a plain token, else quoted with
 * backslash escapes, so that no value (a request path with %0A in it, a
 * peer's message) can end the line or forge another field. */
static void
append_value (GString *line, const char *v)
{
  gboolean bare = *v != '\0';
  for (const char *c = v; *c && bare; c++)
    bare = g_ascii_isgraph (*c) && *c != '"' && *c != '=' && *c != '\\';
  if (bare) {
    g_string_append (line, v);
    return;
  }
  g_autofree char *escaped = g_strescape (v, NULL);
  g_string_append_printf (line, "\"%s\"", escaped);
}

static GLogWriterOutput
writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *message = NULL, *domain = NULL;

  if (!wanted (level))
    return G_LOG_WRITER_HANDLED;
  for (gsize i = 0; i < n_fields; i++) {
    if (g_str_equal (fields[i].key, "MESSAGE"))
      message = fields[i].value;
    else if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
      domain = fields[i].value;
  }
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *ts = g_date_time_format_iso8601 (now);
  g_autoptr (GString) line = g_string_new (NULL);
  g_string_append_printf (line, "ts=%s level=%s", ts, level_name (level));
  if (domain) {
    g_string_append (line, " domain=");
    append_value (line, domain);
  }
  for (gsize i = 0; i < n_fields; i++) {
    const GLogField *f = &fields[i];
    if (f->length != -1 || g_str_equal (f->key, "MESSAGE") || g_str_equal (f->key, "GLIB_DOMAIN") ||
        g_str_equal (f->key, "PRIORITY") || g_str_has_prefix (f->key, "CODE_"))
      continue;
    g_autofree char *key = g_ascii_strdown (f->key, -1);
    g_string_append_printf (line, " %s=", key);
    append_value (line, f->value);
  }
  /* A critical is a bug, and under G_DEBUG=fatal-criticals (as in the
   * tests) the last thing the daemon says: name the thread and the calls
   * that led there, or a failure seen once on CI cannot be traced. */
  gboolean bug = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) != 0;
  if (bug) {
    char thread[16] = "";
    pthread_getname_np (pthread_self (), thread, sizeof thread);
    g_string_append (line, " thread=");
    append_value (line, thread[0] ? thread : "?");
  }
  g_autofree char *escaped = g_strescape (message ? message : "", NULL);
  g_string_append_printf (line, " msg=\"%s\"\n", escaped);
  fputs (line->str, stderr);
  fflush (stderr);
  if (bug) {
    void *frames[48];
    backtrace_symbols_fd (frames, backtrace (frames, G_N_ELEMENTS (frames)), fileno (stderr));
  }
  return G_LOG_WRITER_HANDLED;
}

void
sc_daemon_setup_logging (const char *level)
{
  static const struct { const char *name; GLogLevelFlags flag; } levels[] = {
    { "error", G_LOG_LEVEL_CRITICAL }, { "warning", G_LOG_LEVEL_WARNING },
    { "info", G_LOG_LEVEL_INFO }, { "debug", G_LOG_LEVEL_DEBUG },
  };
  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    if (level && g_str_equal (level, levels[i].name))
      max_level = levels[i].flag;
  g_log_set_writer_func (writer, NULL, NULL);
}
