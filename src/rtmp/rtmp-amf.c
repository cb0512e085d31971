/* AMF0 encoding and decoding for RTMP commands.  The decoder is bounded by
 * the input length, SC_AMF_MAX_DEPTH and SC_AMF_MAX_VALUES, so a hostile
 * message costs at most a small multiple of its own size in memory. */
#include "rtmp-proto.h"
#include "spacecast/core.h"

#include <string.h>

static ScAmfValue *
amf_new (ScAmfType t)
{
  ScAmfValue *v = g_new0 (ScAmfValue, 1);
  v->type = t;
  if (t == SC_AMF_OBJECT || t == SC_AMF_ECMA_ARRAY) {
    v->names = g_ptr_array_new_with_free_func (g_free);
    v->values = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_amf_free);
  } else if (t == SC_AMF_STRICT_ARRAY) {
    v->values = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_amf_free);
  }
  return v;
}

ScAmfValue *sc_amf_number (double n) { ScAmfValue *v = amf_new (SC_AMF_NUMBER); v->number = n; return v; }
ScAmfValue *sc_amf_boolean (gboolean b) { ScAmfValue *v = amf_new (SC_AMF_BOOLEAN); v->boolean = !!b; return v; }
ScAmfValue *sc_amf_null (void) { return amf_new (SC_AMF_NULL); }
ScAmfValue *sc_amf_undefined (void) { return amf_new (SC_AMF_UNDEFINED); }
ScAmfValue *sc_amf_object (void) { return amf_new (SC_AMF_OBJECT); }
ScAmfValue *sc_amf_ecma_array (void) { return amf_new (SC_AMF_ECMA_ARRAY); }
ScAmfValue *sc_amf_strict_array (void) { return amf_new (SC_AMF_STRICT_ARRAY); }

static ScAmfValue *
amf_string_len (const char *s, gsize len)
{
  ScAmfValue *v = amf_new (len > G_MAXUINT16 ? SC_AMF_LONG_STRING : SC_AMF_STRING);
  v->string = g_strndup (s, len);
  v->string_len = len;
  return v;
}

ScAmfValue *
sc_amf_string (const char *s)
{
  return amf_string_len (s, strlen (s));
}

void
sc_amf_set (ScAmfValue *obj, const char *name, ScAmfValue *v)
{
  g_return_if_fail (obj->names != NULL);
  g_ptr_array_add (obj->names, g_strdup (name));
  g_ptr_array_add (obj->values, v);
}

void
sc_amf_append (ScAmfValue *array, ScAmfValue *v)
{
  g_return_if_fail (array->type == SC_AMF_STRICT_ARRAY);
  g_ptr_array_add (array->values, v);
}

void
sc_amf_free (ScAmfValue *v)
{
  if (!v)
    return;
  g_free (v->string);
  if (v->names)
    g_ptr_array_unref (v->names);
  if (v->values)
    g_ptr_array_unref (v->values);
  g_free (v);
}

ScAmfValue *
sc_amf_get (const ScAmfValue *obj, const char *name)
{
  if (!obj || !obj->names)
    return NULL;
  for (guint i = 0; i < obj->names->len; i++)
    if (g_str_equal (obj->names->pdata[i], name))
      return obj->values->pdata[i];
  return NULL;
}

const char *
sc_amf_get_string (const ScAmfValue *obj, const char *name)
{
  ScAmfValue *v = sc_amf_get (obj, name);
  if (v && (v->type == SC_AMF_STRING || v->type == SC_AMF_LONG_STRING))
    return v->string;
  return NULL;
}

gboolean
sc_amf_equal (const ScAmfValue *a, const ScAmfValue *b)
{
  if (a->type != b->type)
    return FALSE;
  switch (a->type) {
    case SC_AMF_NUMBER:
    case SC_AMF_DATE:
      /* As encoded: a NaN equals itself, -0 is not 0. */
      return memcmp (&a->number, &b->number, sizeof a->number) == 0;
    case SC_AMF_BOOLEAN:
      return a->boolean == b->boolean;
    case SC_AMF_STRING:
    case SC_AMF_LONG_STRING:
      return a->string_len == b->string_len &&
          memcmp (a->string, b->string, a->string_len) == 0;
    case SC_AMF_OBJECT:
    case SC_AMF_ECMA_ARRAY:
    case SC_AMF_STRICT_ARRAY:
      if (a->values->len != b->values->len)
        return FALSE;
      for (guint i = 0; i < a->values->len; i++) {
        if (a->names && !g_str_equal (a->names->pdata[i], b->names->pdata[i]))
          return FALSE;
        if (!sc_amf_equal (a->values->pdata[i], b->values->pdata[i]))
          return FALSE;
      }
      return TRUE;
    default:
      return TRUE;
  }
}

/* ---- encoding ---- */

static void
put_u16 (GByteArray *out, guint16 v)
{
  guint8 b[2] = { v >> 8, v & 0xff };
  g_byte_array_append (out, b, 2);
}

static void
put_u32 (GByteArray *out, guint32 v)
{
  guint8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (out, b, 4);
}

static void
put_double (GByteArray *out, double d)
{
  guint64 bits;
  memcpy (&bits, &d, 8);
  bits = GUINT64_TO_BE (bits);
  g_byte_array_append (out, (guint8 *) &bits, 8);
}

static void
put_key (GByteArray *out, const char *k)
{
  gsize n = MIN (strlen (k), G_MAXUINT16);
  put_u16 (out, n);
  g_byte_array_append (out, (const guint8 *) k, n);
}

static void
put_props (GByteArray *out, const ScAmfValue *v)
{
  for (guint i = 0; i < v->values->len; i++) {
    put_key (out, v->names->pdata[i]);
    sc_amf_encode (out, v->values->pdata[i]);
  }
  put_u16 (out, 0);
  g_byte_array_append (out, (const guint8 *) "\x09", 1);
}

void
sc_amf_encode (GByteArray *out, const ScAmfValue *v)
{
  guint8 t = v->type;
  if (t == SC_AMF_STRING && v->string_len > G_MAXUINT16)
    t = SC_AMF_LONG_STRING;
  g_byte_array_append (out, &t, 1);
  switch (v->type) {
    case SC_AMF_NUMBER:
      put_double (out, v->number);
      break;
    case SC_AMF_BOOLEAN: {
      guint8 b = v->boolean ? 1 : 0;
      g_byte_array_append (out, &b, 1);
      break;
    }
    case SC_AMF_STRING:
    case SC_AMF_LONG_STRING:
      if (t == SC_AMF_STRING)
        put_u16 (out, v->string_len);
      else
        put_u32 (out, v->string_len);
      g_byte_array_append (out, (const guint8 *) v->string, v->string_len);
      break;
    case SC_AMF_OBJECT:
      put_props (out, v);
      break;
    case SC_AMF_ECMA_ARRAY:
      put_u32 (out, v->values->len);
      put_props (out, v);
      break;
    case SC_AMF_STRICT_ARRAY:
      put_u32 (out, v->values->len);
      for (guint i = 0; i < v->values->len; i++)
        sc_amf_encode (out, v->values->pdata[i]);
      break;
    case SC_AMF_DATE:
      put_double (out, v->number);
      put_u16 (out, 0);
      break;
    default:
      break;
  }
}

/* ---- decoding ---- */

typedef struct {
  const guint8 *p, *end;
  guint n_values;
} Reader;

static Reader
reader_new (const guint8 *data, gsize len)
{
  /* An empty message's bytes may be NULL, and NULL + 0 is undefined. */
  static const guint8 nothing[1];
  if (len == 0)
    data = nothing;
  return (Reader) { data, data + len, 0 };
}

static gboolean
need (Reader *r, gsize n, GError **error)
{
  if ((gsize) (r->end - r->p) < n) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "truncated AMF0 value");
    return FALSE;
  }
  return TRUE;
}

static guint32
get_be (Reader *r, guint n)
{
  guint32 v = 0;
  for (guint i = 0; i < n; i++)
    v = (v << 8) | *r->p++;
  return v;
}

static double
get_double (Reader *r)
{
  guint64 bits;
  memcpy (&bits, r->p, 8);
  r->p += 8;
  bits = GUINT64_FROM_BE (bits);
  double d;
  memcpy (&d, &bits, 8);
  return d;
}

static ScAmfValue *decode_value (Reader *r, guint depth, GError **error);

static gboolean
decode_props (Reader *r, ScAmfValue *obj, guint depth, GError **error)
{
  for (;;) {
    if (!need (r, 2, error))
      return FALSE;
    guint32 klen = get_be (r, 2);
    if (!need (r, klen, error))
      return FALSE;
    const char *key = (const char *) r->p;
    r->p += klen;
    if (klen == 0) {
      if (!need (r, 1, error))
        return FALSE;
      if (*r->p == SC_AMF_OBJECT_END) {
        r->p++;
        return TRUE;
      }
    }
    ScAmfValue *v = decode_value (r, depth + 1, error);
    if (!v)
      return FALSE;
    g_ptr_array_add (obj->names, g_strndup (key, klen));
    g_ptr_array_add (obj->values, v);
  }
}

static ScAmfValue *
decode_value (Reader *r, guint depth, GError **error)
{
  if (depth > SC_AMF_MAX_DEPTH) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "AMF0 nesting deeper than %d", SC_AMF_MAX_DEPTH);
    return NULL;
  }
  if (++r->n_values > SC_AMF_MAX_VALUES) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "more than %d AMF0 values", SC_AMF_MAX_VALUES);
    return NULL;
  }
  if (!need (r, 1, error))
    return NULL;
  guint8 t = *r->p++;
  g_autoptr (ScAmfValue) v = NULL;
  switch (t) {
    case SC_AMF_NUMBER:
      if (!need (r, 8, error))
        return NULL;
      v = sc_amf_number (get_double (r));
      break;
    case SC_AMF_BOOLEAN:
      if (!need (r, 1, error))
        return NULL;
      v = sc_amf_boolean (*r->p++ != 0);
      break;
    case SC_AMF_STRING:
    case SC_AMF_LONG_STRING: {
      guint n = t == SC_AMF_STRING ? 2 : 4;
      if (!need (r, n, error))
        return NULL;
      guint32 len = get_be (r, n);
      if (!need (r, len, error))
        return NULL;
      v = amf_string_len ((const char *) r->p, len);
      v->type = t;
      r->p += len;
      break;
    }
    case SC_AMF_OBJECT:
      v = sc_amf_object ();
      if (!decode_props (r, v, depth, error))
        return NULL;
      break;
    case SC_AMF_ECMA_ARRAY:
      /* The count is advisory (encoders get it wrong); the end marker rules. */
      if (!need (r, 4, error))
        return NULL;
      r->p += 4;
      v = sc_amf_ecma_array ();
      if (!decode_props (r, v, depth, error))
        return NULL;
      break;
    case SC_AMF_STRICT_ARRAY: {
      if (!need (r, 4, error))
        return NULL;
      guint32 n = get_be (r, 4);
      /* Every element takes at least one byte: bounds n by the input. */
      if (!need (r, n, error))
        return NULL;
      v = sc_amf_strict_array ();
      for (guint32 i = 0; i < n; i++) {
        ScAmfValue *e = decode_value (r, depth + 1, error);
        if (!e)
          return NULL;
        g_ptr_array_add (v->values, e);
      }
      break;
    }
    case SC_AMF_NULL:
      v = sc_amf_null ();
      break;
    case SC_AMF_UNDEFINED:
      v = sc_amf_undefined ();
      break;
    case SC_AMF_DATE:
      if (!need (r, 10, error))
        return NULL;
      v = amf_new (SC_AMF_DATE);
      v->number = get_double (r);
      r->p += 2;
      break;
    default:
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "unsupported AMF0 type 0x%02x", t);
      return NULL;
  }
  return g_steal_pointer (&v);
}

ScAmfValue *
sc_amf_decode (const guint8 *data, gsize len, gsize *consumed, GError **error)
{
  Reader r = reader_new (data, len);
  const guint8 *start = r.p;
  ScAmfValue *v = decode_value (&r, 0, error);
  if (v && consumed)
    *consumed = r.p - start;
  return v;
}

GPtrArray *
sc_amf_decode_all (const guint8 *data, gsize len, GError **error)
{
  g_autoptr (GPtrArray) vals =
      g_ptr_array_new_with_free_func ((GDestroyNotify) sc_amf_free);
  Reader r = reader_new (data, len);
  while (r.p < r.end) {
    ScAmfValue *v = decode_value (&r, 0, error);
    if (!v)
      return NULL;
    g_ptr_array_add (vals, v);
  }
  return g_steal_pointer (&vals);
}
