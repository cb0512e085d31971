/* HTTP requests by method, route pattern and status, and their latency:
 * the only metrics recorded as they happen.  Labels come from the route
 * table and the status codes, so their number is bounded whatever the
 * clients send.  Also the exposition writer every family goes through. */
#include "metrics-private.h"

#include <math.h>

/* Seconds; Prometheus' defaults, which cover a fast API and a slow WHIP
 * answer (ICE gathering) alike. */
static const double buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define N_BUCKETS G_N_ELEMENTS (buckets)

typedef struct {
  guint64 le[N_BUCKETS];        /* cumulative: observations <= buckets[i] */
  guint64 count;
  double sum;
} Histogram;

/* NULL while no listener exists: observing is then free. */
static GHashTable *requests;    /* "method\troute\tcode" → guint64* */
static GHashTable *latencies;   /* "method\troute" → Histogram* */

void
sc_metrics_http_start (void)
{
  if (requests)
    return;
  requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  latencies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

void
sc_metrics_http_stop (void)
{
  g_clear_pointer (&requests, g_hash_table_unref);
  g_clear_pointer (&latencies, g_hash_table_unref);
}

void
sc_metrics_observe_http (const char *method, const char *const *route_segments, guint status,
                         gint64 elapsed_us)
{
  if (!requests)
    return;
  g_autofree char *joined = route_segments ? g_strjoinv ("/", (char **) route_segments) : NULL;
  g_autofree char *route = joined ? g_strconcat ("/", joined, NULL) : g_strdup ("unmatched");
  char *key = g_strdup_printf ("%s\t%s\t%u", method, route, status);
  guint64 *n = g_hash_table_lookup (requests, key);
  if (!n) {
    n = g_new0 (guint64, 1);
    g_hash_table_insert (requests, key, n);
  } else {
    g_free (key);
  }
  (*n)++;

  char *hkey = g_strdup_printf ("%s\t%s", method, route);
  Histogram *h = g_hash_table_lookup (latencies, hkey);
  if (!h) {
    h = g_new0 (Histogram, 1);
    g_hash_table_insert (latencies, hkey, h);
  } else {
    g_free (hkey);
  }
  double s = elapsed_us / (double) G_USEC_PER_SEC;
  for (guint i = 0; i < N_BUCKETS; i++)
    if (s <= buckets[i])
      h->le[i]++;
  h->count++;
  h->sum += s;
}

static void
write_escaped (GString *out, const char *value)
{
  for (const char *c = value; *c; c++) {
    if (*c == '\\')
      g_string_append (out, "\\\\");
    else if (*c == '"')
      g_string_append (out, "\\\"");
    else if (*c == '\n')
      g_string_append (out, "\\n");
    else
      g_string_append_c (out, *c);
  }
}

void
sc_metrics_write_family (GString *out, const char *name, const char *type, const char *help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
sc_metrics_write_sample (GString *out, const char *name, const char *const *labels, double value)
{
  g_string_append (out, name);
  if (labels && labels[0]) {
    g_string_append_c (out, '{');
    for (guint i = 0; labels[i] && labels[i + 1]; i += 2) {
      g_string_append_printf (out, "%s%s=\"", i ? "," : "", labels[i]);
      write_escaped (out, labels[i + 1]);
      g_string_append_c (out, '"');
    }
    g_string_append_c (out, '}');
  }
  char num[G_ASCII_DTOSTR_BUF_SIZE];
  if (isinf (value))
    g_string_append (out, value > 0 ? " +Inf\n" : " -Inf\n");
  else if (isnan (value))
    g_string_append (out, " NaN\n");
  else if (value == floor (value) && fabs (value) < 9007199254740992.0)   /* 2^53 */
    g_string_append_printf (out, " %" G_GINT64_FORMAT "\n", (gint64) value);
  else
    g_string_append_printf (out, " %s\n", g_ascii_formatd (num, sizeof num, "%.9g", value));
}

static gint
compare_keys (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* Keys in order, so that a family's samples come out the same every time. */
static GPtrArray *
sorted_keys (GHashTable *table)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_keys);
  return keys;
}

void
sc_metrics_http_write (GString *out)
{
  if (!requests)
    return;
  sc_metrics_write_family (out, "spacecast_http_requests_total", "counter",
                           "HTTP requests answered, by method, route pattern and status code.");
  g_autoptr (GPtrArray) keys = sorted_keys (requests);
  for (guint i = 0; i < keys->len; i++) {
    g_auto (GStrv) parts = g_strsplit (keys->pdata[i], "\t", 3);
    const char *labels[] = { "method", parts[0], "route", parts[1], "code", parts[2], NULL };
    guint64 *n = g_hash_table_lookup (requests, keys->pdata[i]);
    sc_metrics_write_sample (out, "spacecast_http_requests_total", labels, (double) *n);
  }

  sc_metrics_write_family (out, "spacecast_http_request_duration_seconds", "histogram",
                           "Time from a request's headers to its answer, by method and route pattern.");
  g_autoptr (GPtrArray) hkeys = sorted_keys (latencies);
  for (guint i = 0; i < hkeys->len; i++) {
    g_auto (GStrv) parts = g_strsplit (hkeys->pdata[i], "\t", 2);
    Histogram *h = g_hash_table_lookup (latencies, hkeys->pdata[i]);
    char le[G_ASCII_DTOSTR_BUF_SIZE];
    for (guint b = 0; b <= N_BUCKETS; b++) {
      const char *bound = b < N_BUCKETS ? g_ascii_dtostr (le, sizeof le, buckets[b]) : "+Inf";
      const char *labels[] = { "method", parts[0], "route", parts[1], "le", bound, NULL };
      sc_metrics_write_sample (out, "spacecast_http_request_duration_seconds_bucket", labels,
                               (double) (b < N_BUCKETS ? h->le[b] : h->count));
    }
    const char *labels[] = { "method", parts[0], "route", parts[1], NULL };
    sc_metrics_write_sample (out, "spacecast_http_request_duration_seconds_sum", labels, h->sum);
    sc_metrics_write_sample (out, "spacecast_http_request_duration_seconds_count", labels,
                             (double) h->count);
  }
}
