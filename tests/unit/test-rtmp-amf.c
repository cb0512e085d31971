/* The AMF0 codec of RTMP commands, with no network: known encodings, round
 * trips, and every hostile input (truncated, too deep, too many values)
 * ending in a clean GError.  What round-trips seeds fuzz-amf-roundtrip. */
#include <math.h>
#include <string.h>
#include "harness.h"
#include "spacecast/core.h"
#include "rtmp/rtmp-proto.h"

static ScAmfValue *
sample_value (void)
{
  ScAmfValue *o = sc_amf_object ();
  sc_amf_set (o, "app", sc_amf_string ("live"));
  sc_amf_set (o, "n", sc_amf_number (-1.5e10));
  sc_amf_set (o, "t", sc_amf_boolean (TRUE));
  sc_amf_set (o, "f", sc_amf_boolean (FALSE));
  sc_amf_set (o, "nul", sc_amf_null ());
  sc_amf_set (o, "nan", sc_amf_number (NAN));
  sc_amf_set (o, "-0", sc_amf_number (-0.0));
  sc_amf_set (o, "undef", sc_amf_undefined ());
  sc_amf_set (o, "", sc_amf_string (""));
  g_autofree char *big = g_strnfill (70000, 'x');
  sc_amf_set (o, "long", sc_amf_string (big));
  ScAmfValue *ecma = sc_amf_ecma_array ();
  sc_amf_set (ecma, "width", sc_amf_number (1920));
  sc_amf_set (ecma, "encoder", sc_amf_string ("Lavf60"));
  sc_amf_set (o, "meta", ecma);
  ScAmfValue *arr = sc_amf_strict_array ();
  sc_amf_append (arr, sc_amf_number (1));
  sc_amf_append (arr, sc_amf_string ("two"));
  ScAmfValue *inner = sc_amf_object ();
  sc_amf_set (inner, "deep", sc_amf_strict_array ());
  sc_amf_append (arr, inner);
  sc_amf_set (o, "list", arr);
  return o;
}

static void
test_amf_round_trip (void)
{
  g_autoptr (ScAmfValue) v = sample_value ();
  g_autoptr (GByteArray) enc = g_byte_array_new ();
  sc_amf_encode (enc, v);
  gsize consumed = 0;
  g_autoptr (GError) error = NULL;
  sc_harness_fuzz_seed ("amf-roundtrip", enc->data, enc->len);
  g_autoptr (ScAmfValue) back = sc_amf_decode (enc->data, enc->len, &consumed,
                                               &error);
  g_assert_no_error (error);
  g_assert_cmpuint (consumed, ==, enc->len);
  g_assert_true (sc_amf_equal (v, back));
  g_assert_cmpstr (sc_amf_get_string (back, "app"), ==, "live");
  g_assert_cmpint (sc_amf_get (back, "long")->type, ==, SC_AMF_LONG_STRING);
  g_assert_cmpuint (strlen (sc_amf_get_string (back, "long")), ==, 70000);
  g_assert_cmpfloat (sc_amf_get (sc_amf_get (back, "meta"), "width")->number,
                     ==, 1920);
  /* Equal means encoded alike: bit for bit. */
  g_autoptr (ScAmfValue) zero = sc_amf_number (0);
  g_assert_false (sc_amf_equal (sc_amf_get (back, "-0"), zero));

  /* Re-encoding what was decoded gives the same bytes. */
  g_autoptr (GByteArray) enc2 = g_byte_array_new ();
  sc_amf_encode (enc2, back);
  g_assert_cmpmem (enc->data, enc->len, enc2->data, enc2->len);

  /* A sequence, as in a command message. */
  g_autoptr (GByteArray) seq = g_byte_array_new ();
  g_autoptr (ScAmfValue) name = sc_amf_string ("connect");
  g_autoptr (ScAmfValue) txid = sc_amf_number (1);
  sc_amf_encode (seq, name);
  sc_amf_encode (seq, txid);
  sc_amf_encode (seq, v);
  sc_harness_fuzz_seed ("amf-roundtrip", seq->data, seq->len);
  g_autoptr (GPtrArray) all = sc_amf_decode_all (seq->data, seq->len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 3);
  g_assert_true (sc_amf_equal (all->pdata[2], v));
}

static void
test_amf_wire_bytes (void)
{
  /* Known encodings from the AMF0 spec. */
  static const guint8 num[] = { 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0 };
  static const guint8 str[] = { 0x02, 0x00, 0x02, 'h', 'i' };
  static const guint8 obj[] = { 0x03, 0x00, 0x01, 'a', 0x01, 0x01, 0x00, 0x00, 0x09 };
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (ScAmfValue) n = sc_amf_number (1);
  g_autoptr (ScAmfValue) s = sc_amf_string ("hi");
  g_autoptr (ScAmfValue) o = sc_amf_object ();
  sc_amf_set (o, "a", sc_amf_boolean (TRUE));
  sc_amf_encode (out, n);
  g_assert_cmpmem (out->data, out->len, num, sizeof num);
  g_byte_array_set_size (out, 0);
  sc_amf_encode (out, s);
  g_assert_cmpmem (out->data, out->len, str, sizeof str);
  g_byte_array_set_size (out, 0);
  sc_amf_encode (out, o);
  g_assert_cmpmem (out->data, out->len, obj, sizeof obj);
}

static void
test_amf_bad (void)
{
  g_autoptr (ScAmfValue) v = sample_value ();
  g_autoptr (GByteArray) enc = g_byte_array_new ();
  sc_amf_encode (enc, v);
  /* Every truncation fails cleanly. */
  for (gsize len = 0; len < enc->len; len += (len < 200 ? 1 : 997)) {
    g_autoptr (GError) error = NULL;
    g_autoptr (ScAmfValue) d = sc_amf_decode (enc->data, len, NULL, &error);
    g_assert_null (d);
    g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  }
  /* Unknown type marker (0x0d unsupported, 0x11 AMF3 switch). */
  static const guint8 unsupported[] = { 0x0d };
  g_autoptr (GError) e1 = NULL;
  g_assert_null (sc_amf_decode (unsupported, 1, NULL, &e1));
  g_assert_error (e1, SC_ERROR, SC_ERROR_INVALID);
  /* A strict array claiming 4 billion elements in 5 bytes. */
  static const guint8 huge_array[] = { 0x0a, 0xff, 0xff, 0xff, 0xff };
  g_autoptr (GError) e2 = NULL;
  g_assert_null (sc_amf_decode (huge_array, sizeof huge_array, NULL, &e2));
  g_assert_error (e2, SC_ERROR, SC_ERROR_INVALID);
  /* A long string longer than its buffer. */
  static const guint8 long_str[] = { 0x0c, 0x7f, 0xff, 0xff, 0xff, 'a' };
  g_autoptr (GError) e3 = NULL;
  g_assert_null (sc_amf_decode (long_str, sizeof long_str, NULL, &e3));
  g_assert_error (e3, SC_ERROR, SC_ERROR_INVALID);
}

static GByteArray *
nested (guint depth)
{
  GByteArray *b = g_byte_array_new ();
  for (guint i = 0; i < depth; i++)
    g_byte_array_append (b, (const guint8 *) "\x03\x00\x01k", 4);
  g_byte_array_append (b, (const guint8 *) "\x05", 1);
  for (guint i = 0; i < depth; i++)
    g_byte_array_append (b, (const guint8 *) "\x00\x00\x09", 3);
  return b;
}

static void
test_amf_depth (void)
{
  g_autoptr (GByteArray) ok = nested (SC_AMF_MAX_DEPTH);
  g_autoptr (GError) error = NULL;
  g_autoptr (ScAmfValue) v = sc_amf_decode (ok->data, ok->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (v);
  g_autoptr (GByteArray) deep = nested (SC_AMF_MAX_DEPTH + 1);
  g_assert_null (sc_amf_decode (deep->data, deep->len, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_clear_error (&error);
  g_autoptr (GByteArray) deeper = nested (100000);
  g_assert_null (sc_amf_decode (deeper->data, deeper->len, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
}

/* AMF0 nulls are one byte each: a command of them is as many values. */
static void
test_amf_values (void)
{
  g_autofree guint8 *nulls = g_malloc (8 * 1024 * 1024);
  memset (nulls, SC_AMF_NULL, 8 * 1024 * 1024);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) most = sc_amf_decode_all (nulls, SC_AMF_MAX_VALUES, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (most->len, ==, SC_AMF_MAX_VALUES);
  static const gsize over[] = { SC_AMF_MAX_VALUES + 1, 64 * 1024, 8 * 1024 * 1024 };
  for (guint i = 0; i < G_N_ELEMENTS (over); i++) {
    g_assert_null (sc_amf_decode_all (nulls, over[i], &error));
    g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "values"));
    g_clear_error (&error);
  }
  /* Nested values count too: an object of as many properties. */
  g_autoptr (GByteArray) obj = g_byte_array_new ();
  g_byte_array_append (obj, (const guint8 *) "\x03", 1);
  for (guint i = 0; i < SC_AMF_MAX_VALUES; i++)
    g_byte_array_append (obj, (const guint8 *) "\x00\x01k\x05", 4);
  g_byte_array_append (obj, (const guint8 *) "\x00\x00\x09", 3);
  g_assert_null (sc_amf_decode (obj->data, obj->len, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rtmp-amf/round-trip", test_amf_round_trip);
  g_test_add_func ("/rtmp-amf/wire-bytes", test_amf_wire_bytes);
  g_test_add_func ("/rtmp-amf/bad", test_amf_bad);
  g_test_add_func ("/rtmp-amf/depth", test_amf_depth);
  g_test_add_func ("/rtmp-amf/values", test_amf_values);
  return g_test_run ();
}
