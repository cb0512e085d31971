/* libFuzzer: AMF0 decode -> encode -> decode.  Whatever decodes must encode
 * to bytes that decode to the same values, and encode again to the same
 * bytes; whatever does not decode fails with a GError. */
#include <stdint.h>
#include "spacecast/core.h"
#include "rtmp/rtmp-proto.h"

static GByteArray *
encode_all (GPtrArray *values)
{
  GByteArray *out = g_byte_array_new ();
  for (guint i = 0; i < values->len; i++)
    sc_amf_encode (out, values->pdata[i]);
  return out;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) first = sc_amf_decode_all (data, size, &error);
  if (!first) {
    g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
    return 0;
  }
  g_autoptr (GByteArray) enc = encode_all (first);
  g_autoptr (GPtrArray) again = sc_amf_decode_all (enc->data, enc->len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->len, ==, first->len);
  for (guint i = 0; i < first->len; i++)
    g_assert_true (sc_amf_equal (first->pdata[i], again->pdata[i]));
  g_autoptr (GByteArray) enc2 = encode_all (again);
  g_assert_cmpmem (enc->data, enc->len, enc2->data, enc2->len);
  return 0;
}
