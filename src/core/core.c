#include "spacecast/core.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

G_DEFINE_QUARK (sc-error-quark, sc_error)

static const struct {
  guint status;
  const char *type;
} error_map[] = {
  [SC_ERROR_INVALID] = { 400, "invalid_parameters" },
  [SC_ERROR_UNAUTHORIZED] = { 401, "unauthorized" },
  [SC_ERROR_FORBIDDEN] = { 403, "forbidden" },
  [SC_ERROR_NOT_FOUND] = { 404, "not_found" },
  [SC_ERROR_CONFLICT] = { 409, "conflict" },
  [SC_ERROR_TOO_LARGE] = { 413, "payload_too_large" },
  [SC_ERROR_UNSUPPORTED_TYPE] = { 415, "unsupported_media_type" },
  [SC_ERROR_UNPROCESSABLE] = { 422, "unprocessable_entity" },
  [SC_ERROR_INTERNAL] = { 500, "internal_error" },
  [SC_ERROR_UNAVAILABLE] = { 503, "service_unavailable" },
  [SC_ERROR_METHOD_NOT_ALLOWED] = { 405, "method_not_allowed" },
  [SC_ERROR_TOO_MANY_REQUESTS] = { 429, "too_many_requests" },
};

guint
sc_error_http_status (ScErrorCode code)
{
  if ((guint) code >= G_N_ELEMENTS (error_map))
    return 500;
  return error_map[code].status;
}

const char *
sc_error_type_name (ScErrorCode code)
{
  if ((guint) code >= G_N_ELEMENTS (error_map))
    return "internal_error";
  return error_map[code].type;
}

char *
sc_core_random_id (gsize n_bytes)
{
  static const char alphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  g_autofree guint8 *raw = g_malloc (n_bytes);
  GString *out = g_string_sized_new (n_bytes * 2);

  if (RAND_bytes (raw, (int) n_bytes) != 1)
    g_error ("OpenSSL RAND_bytes failed: no entropy source");

  /* Base62 digits of the random bytes, taken as one big number.  Repeated
   * division keeps the full entropy instead of biasing a per-byte mapping. */
  g_autofree guint8 *num = g_memdup2 (raw, n_bytes);
  gsize len = n_bytes;
  while (len > 0) {
    guint rem = 0;
    gsize out_len = 0;
    for (gsize i = 0; i < len; i++) {
      guint acc = (rem << 8) | num[i];
      guint q = acc / 62;
      rem = acc % 62;
      if (out_len > 0 || q > 0)
        num[out_len++] = (guint8) q;
    }
    g_string_append_c (out, alphabet[rem]);
    len = out_len;
  }
  /* Fixed width so every id looks alike regardless of leading zeros. */
  gsize width = (n_bytes * 8 * 1000 + 5953) / 5954; /* ceil(bits / log2(62)) */
  while (out->len < width)
    g_string_append_c (out, '0');
  return g_string_free (out, FALSE);
}

gboolean
sc_core_secret_equal (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return FALSE;
  gsize la = strlen (a), lb = strlen (b);
  /* Length is not secret (keys are fixed width); the content is. */
  if (la != lb)
    return FALSE;
  return CRYPTO_memcmp (a, b, la) == 0;
}

gint64
sc_core_now_unix (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* GStreamer 1.22's basesrc unrefs a NULL buffer (a critical, fatal in our
 * tests) when a live source's create has just handed over a buffer list as
 * the state leaves PLAYING: it checks for the list only further on.  A
 * source that is flushing, with its streaming thread out of its loop, never
 * takes that path; the state change then finds nothing in flight. */
static void
flush_live_appsrc (const GValue *item, gpointer data)
{
  GstElement *src = g_value_get_object (item);
  gboolean live = FALSE;
  g_object_get (src, "is-live", &live, NULL);
  if (!live)
    return;
  gst_element_send_event (src, gst_event_new_flush_start ());
  g_autoptr (GstPad) pad = gst_element_get_static_pad (src, "src");
  /* Held by the streaming thread for each turn of its loop, which it now
   * leaves: flushing, create and every push downstream return at once. */
  GST_PAD_STREAM_LOCK (pad);
  GST_PAD_STREAM_UNLOCK (pad);
}

void
sc_core_pipeline_stop (GstElement *pipeline)
{
  g_autoptr (GstIterator) it =
      gst_bin_iterate_all_by_element_factory_name (GST_BIN (pipeline), "appsrc");
  /* A bin changing under the walk starts it over: flushing twice is harmless. */
  while (gst_iterator_foreach (it, flush_live_appsrc, NULL) == GST_ITERATOR_RESYNC)
    gst_iterator_resync (it);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}
