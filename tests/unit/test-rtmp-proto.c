/* The RTMP chunk parser with no network: a scripted client talks to
 * sc_rtmp_proto byte by byte, and every wire limit must end in a clean
 * GError.  Each client's session seeds fuzz-rtmp-chunk and each command
 * body fuzz-amf-roundtrip (sc_harness_fuzz_seed). */
#include <string.h>
#include "harness.h"
#include "spacecast/core.h"
#include "rtmp/rtmp-proto.h"

/* ---- a scripted client against the server-side parser ---- */

typedef struct {
  ScRtmpMediaType type;
  guint64 ts;
  GBytes *data;
} Media;

static void
media_free (Media *m)
{
  g_bytes_unref (m->data);
  g_free (m);
}

typedef struct {
  ScRtmpProto *p;
  GPtrArray *media;
  int publishes, unpublishes;
  char *app, *name;
  ScErrorCode refuse;       /* SC_ERROR_INVALID = accept */
  GByteArray *out;          /* all server output so far */
  GByteArray *fed;          /* the session's first SC_HARNESS_FUZZ_SEED_MAX bytes */
} Client;

static void
on_event (ScRtmpProto *p, const ScRtmpEvent *ev, gpointer data)
{
  Client *cl = data;
  switch (ev->type) {
    case SC_RTMP_EVENT_PUBLISH:
      cl->publishes++;
      g_free (cl->app);
      g_free (cl->name);
      cl->app = g_strdup (ev->app);
      cl->name = g_strdup (ev->stream_name);
      if (cl->refuse == SC_ERROR_INVALID) {
        sc_rtmp_proto_accept_publish (p);
      } else {
        g_autoptr (GError) e = g_error_new (SC_ERROR, cl->refuse, "refused");
        sc_rtmp_proto_reject_publish (p, e);
      }
      break;
    case SC_RTMP_EVENT_MEDIA: {
      Media *m = g_new0 (Media, 1);
      m->type = ev->media_type;
      m->ts = ev->timestamp_ms;
      m->data = g_bytes_new (ev->data, ev->len);
      g_ptr_array_add (cl->media, m);
      break;
    }
    case SC_RTMP_EVENT_UNPUBLISH:
      cl->unpublishes++;
      break;
  }
}

static Client *
client_new (void)
{
  Client *cl = g_new0 (Client, 1);
  cl->p = sc_rtmp_proto_new (on_event, cl);
  cl->media = g_ptr_array_new_with_free_func ((GDestroyNotify) media_free);
  cl->out = g_byte_array_new ();
  cl->fed = g_byte_array_new ();
  cl->refuse = SC_ERROR_INVALID;
  return cl;
}

static void
client_free (Client *cl)
{
  /* fuzz-rtmp-chunk's first byte: the session has its own handshake, and
   * whether publishes are refused. */
  guint8 mode = 0x02 | (cl->refuse != SC_ERROR_INVALID);
  g_byte_array_prepend (cl->fed, &mode, 1);
  sc_harness_fuzz_seed ("rtmp-chunk", cl->fed->data, cl->fed->len);
  g_byte_array_unref (cl->fed);
  sc_rtmp_proto_free (cl->p);
  g_ptr_array_unref (cl->media);
  g_byte_array_unref (cl->out);
  g_free (cl->app);
  g_free (cl->name);
  g_free (cl);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

/* Feed in pieces of @step bytes (0 = all at once). */
static gboolean
feed (Client *cl, const guint8 *d, gsize len, gsize step, GError **error)
{
  g_byte_array_append (cl->fed, d, MIN (len, SC_HARNESS_FUZZ_SEED_MAX - cl->fed->len));
  gsize off = 0;
  gboolean ok = TRUE;
  do {
    gsize n = step ? MIN (step, len - off) : len - off;
    ok = sc_rtmp_proto_feed (cl->p, d + off, n, error);
    off += n;
  } while (ok && off < len);
  GByteArray *o = sc_rtmp_proto_get_output (cl->p);
  g_byte_array_append (cl->out, o->data, o->len);
  g_byte_array_set_size (o, 0);
  return ok;
}

static void
add_command (GByteArray *wire, guint chunk, guint32 sid, ...)
{
  g_autoptr (GByteArray) body = g_byte_array_new ();
  va_list ap;
  va_start (ap, sid);
  ScAmfValue *v;
  while ((v = va_arg (ap, ScAmfValue *))) {
    sc_amf_encode (body, v);
    sc_amf_free (v);
  }
  va_end (ap);
  sc_harness_fuzz_seed ("amf-roundtrip", body->data, body->len);
  sc_rtmp_write_message (wire, chunk, 3, 20, sid, 0, body->data, body->len);
}

static void
add_u32_control_chunked (GByteArray *wire, guint chunk, guint8 type, guint32 v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
  sc_rtmp_write_message (wire, chunk, 2, type, 0, 0, b, 4);
}

static void
add_u32_control (GByteArray *wire, guint8 type, guint32 v)
{
  add_u32_control_chunked (wire, 128, type, v);
}

static void
add_handshake (GByteArray *wire)
{
  guint8 c0c1[1 + SC_RTMP_HANDSHAKE_SIZE];
  c0c1[0] = 3;
  for (gsize i = 1; i < sizeof c0c1; i++)
    c0c1[i] = i * 7;
  g_byte_array_append (wire, c0c1, sizeof c0c1);
  g_byte_array_append (wire, c0c1 + 1, SC_RTMP_HANDSHAKE_SIZE);   /* C2 */
}

static ScAmfValue *
connect_object (const char *app)
{
  ScAmfValue *o = sc_amf_object ();
  sc_amf_set (o, "app", sc_amf_string (app));
  sc_amf_set (o, "type", sc_amf_string ("nonprivate"));
  sc_amf_set (o, "tcUrl", sc_amf_string ("rtmp://127.0.0.1/app"));
  return o;
}

/* What ffmpeg sends, up to and including publish. */
static GByteArray *
publish_sequence (guint chunk, const char *name)
{
  GByteArray *w = g_byte_array_new ();
  add_handshake (w);
  if (chunk != 128)
    add_u32_control (w, 1, chunk);
  add_command (w, chunk, 0, sc_amf_string ("connect"), sc_amf_number (1),
               connect_object ("app/"), NULL);
  add_u32_control_chunked (w, chunk, 5, 2500000);
  add_command (w, chunk, 0, sc_amf_string ("releaseStream"), sc_amf_number (2),
               sc_amf_null (), sc_amf_string (name), NULL);
  add_command (w, chunk, 0, sc_amf_string ("FCPublish"), sc_amf_number (3),
               sc_amf_null (), sc_amf_string (name), NULL);
  add_command (w, chunk, 0, sc_amf_string ("createStream"), sc_amf_number (4),
               sc_amf_null (), NULL);
  add_command (w, chunk, 1, sc_amf_string ("publish"), sc_amf_number (5),
               sc_amf_null (), sc_amf_string (name), sc_amf_string ("live"),
               NULL);
  return w;
}

typedef struct {
  guint8 type;
  guint32 sid;
  GByteArray *payload;
} OutMsg;

static void
out_msg_free (OutMsg *m)
{
  g_byte_array_unref (m->payload);
  g_free (m);
}

/* Parse what the server wrote (fmt 0/3 chunks, csid < 64). */
static GPtrArray *
parse_output (GByteArray *out)
{
  GPtrArray *msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) out_msg_free);
  g_assert_cmpuint (out->len, >=, 1 + 2 * SC_RTMP_HANDSHAKE_SIZE);
  g_assert_cmpuint (out->data[0], ==, 3);
  const guint8 *d = out->data + 1 + 2 * SC_RTMP_HANDSHAKE_SIZE;
  const guint8 *end = out->data + out->len;
  guint chunk = 128;
  OutMsg *cur[64] = { NULL };
  guint32 want[64] = { 0 };
  while (d < end) {
    guint fmt = d[0] >> 6, csid = d[0] & 0x3f;
    g_assert_cmpuint (csid, >=, 2);
    d++;
    if (fmt == 0) {
      g_assert_null (cur[csid]);
      cur[csid] = g_new0 (OutMsg, 1);
      want[csid] = (d[3] << 16) | (d[4] << 8) | d[5];
      cur[csid]->type = d[6];
      cur[csid]->sid = d[7] | (d[8] << 8);
      cur[csid]->payload = g_byte_array_new ();
      d += 11;
    } else {
      g_assert_cmpuint (fmt, ==, 3);
      g_assert_nonnull (cur[csid]);
    }
    gsize n = MIN (chunk, want[csid] - cur[csid]->payload->len);
    g_assert_true (d + n <= end);
    g_byte_array_append (cur[csid]->payload, d, n);
    d += n;
    if (cur[csid]->payload->len == want[csid]) {
      OutMsg *m = cur[csid];
      cur[csid] = NULL;
      if (m->type == 1)
        chunk = (m->payload->data[0] << 24) | (m->payload->data[1] << 16) |
            (m->payload->data[2] << 8) | m->payload->data[3];
      g_ptr_array_add (msgs, m);
    }
  }
  for (guint i = 0; i < 64; i++)
    g_assert_null (cur[i]);
  return msgs;
}

/* The values of the first command named @name, or NULL. */
static GPtrArray *
find_command (GPtrArray *msgs, const char *name, guint nth)
{
  for (guint i = 0; i < msgs->len; i++) {
    OutMsg *m = msgs->pdata[i];
    if (m->type != 20)
      continue;
    g_autoptr (GError) error = NULL;
    sc_harness_fuzz_seed ("amf-roundtrip", m->payload->data, m->payload->len);
    GPtrArray *v = sc_amf_decode_all (m->payload->data, m->payload->len, &error);
    g_assert_no_error (error);
    ScAmfValue *n = v->pdata[0];
    if (g_str_equal (n->string, name) && nth-- == 0)
      return v;
    g_ptr_array_unref (v);
  }
  return NULL;
}

static OutMsg *
find_type (GPtrArray *msgs, guint8 type)
{
  for (guint i = 0; i < msgs->len; i++)
    if (((OutMsg *) msgs->pdata[i])->type == type)
      return msgs->pdata[i];
  return NULL;
}

static Client *
publishing_client (guint chunk)
{
  Client *cl = client_new ();
  g_autoptr (GByteArray) w = publish_sequence (chunk, "good-key?token=abc");
  g_autoptr (GError) error = NULL;
  g_assert_true (feed (cl, w->data, w->len, 0, &error));
  g_assert_no_error (error);
  g_assert_true (sc_rtmp_proto_is_publishing (cl->p));
  return cl;
}

/* Split one message written by sc_rtmp_write_message (csid < 64) into its
 * chunks, so that tests can interleave chunk streams. */
static GPtrArray *
message_chunks (guint chunk, guint32 csid, guint8 type, guint32 ts,
                const guint8 *payload, gsize len)
{
  g_autoptr (GByteArray) w = g_byte_array_new ();
  sc_rtmp_write_message (w, chunk, csid, type, 1, ts, payload, len);
  GPtrArray *chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gsize ext = ts >= 0xffffff ? 4 : 0, off = 0, left = len;
  gboolean first = TRUE;
  do {
    gsize n = (first ? 12 : 1) + ext + MIN (chunk, left);
    g_ptr_array_add (chunks, g_bytes_new (w->data + off, n));
    off += n;
    left -= MIN (chunk, left);
    first = FALSE;
  } while (left > 0);
  g_assert_cmpuint (off, ==, w->len);
  return chunks;
}

static guint8 *
pattern (gsize len, guint8 seed)
{
  guint8 *d = g_malloc (len);
  for (gsize i = 0; i < len; i++)
    d[i] = seed + i * 13;
  return d;
}

static void
assert_media (Client *cl, guint i, ScRtmpMediaType type, guint64 ts,
              const guint8 *data, gsize len)
{
  g_assert_cmpuint (cl->media->len, >, i);
  Media *m = cl->media->pdata[i];
  g_assert_cmpint (m->type, ==, type);
  g_assert_cmpuint (m->ts, ==, ts);
  g_assert_cmpmem (g_bytes_get_data (m->data, NULL), g_bytes_get_size (m->data),
                   data, len);
}

static void
test_session (void)
{
  static const guint chunks[] = { 1, 60, 128, 4096, 65536 };
  static const gsize steps[] = { 1, 7, 0 };
  for (guint ci = 0; ci < G_N_ELEMENTS (chunks); ci++)
    for (guint si = 0; si < G_N_ELEMENTS (steps); si++) {
      guint chunk = chunks[ci];
      g_autoptr (Client) cl = client_new ();
      g_autoptr (GByteArray) w = publish_sequence (chunk, "good-key?token=abc");
      /* Interleave a video and an audio message chunk by chunk. */
      g_autofree guint8 *video = pattern (5000, 1);
      g_autofree guint8 *audio = pattern (700, 2);
      g_autoptr (GPtrArray) vc = message_chunks (chunk, 6, 9, 40, video, 5000);
      g_autoptr (GPtrArray) ac = message_chunks (chunk, 4, 8, 33, audio, 700);
      for (guint i = 0; i < MAX (vc->len, ac->len); i++) {
        if (i < vc->len)
          g_byte_array_append (w, g_bytes_get_data (vc->pdata[i], NULL),
                               g_bytes_get_size (vc->pdata[i]));
        if (i < ac->len)
          g_byte_array_append (w, g_bytes_get_data (ac->pdata[i], NULL),
                               g_bytes_get_size (ac->pdata[i]));
      }
      g_autoptr (GError) error = NULL;
      if (!feed (cl, w->data, w->len, steps[si], &error))
        g_error ("chunk %u step %zu: %s", chunk, steps[si], error->message);
      g_assert_no_error (error);
      g_assert_cmpint (cl->publishes, ==, 1);
      g_assert_cmpstr (cl->app, ==, "app");
      g_assert_cmpstr (cl->name, ==, "good-key");
      g_assert_cmpuint (cl->media->len, ==, 2);
      /* Audio completes first when its chunks run out earlier. */
      guint vi = vc->len > ac->len ? 1 : 0;
      if (vc->len == ac->len)
        vi = 0;
      assert_media (cl, vi, SC_RTMP_MEDIA_VIDEO, 40, video, 5000);
      assert_media (cl, 1 - vi, SC_RTMP_MEDIA_AUDIO, 33, audio, 700);

      /* The server's replies, in order. */
      g_autoptr (GPtrArray) msgs = parse_output (cl->out);
      g_assert_nonnull (find_type (msgs, 5));         /* window ack size */
      g_assert_nonnull (find_type (msgs, 6));         /* set peer bandwidth */
      g_assert_nonnull (find_type (msgs, 1));         /* set chunk size */
      g_autoptr (GPtrArray) res = find_command (msgs, "_result", 0);
      g_assert_nonnull (res);
      g_assert_cmpfloat (((ScAmfValue *) res->pdata[1])->number, ==, 1);
      g_assert_cmpstr (sc_amf_get_string (res->pdata[3], "code"), ==,
                       "NetConnection.Connect.Success");
      /* releaseStream, FCPublish, createStream get _result 2, 3, 4. */
      g_autoptr (GPtrArray) cs = find_command (msgs, "_result", 3);
      g_assert_nonnull (cs);
      g_assert_cmpfloat (((ScAmfValue *) cs->pdata[1])->number, ==, 4);
      g_assert_cmpfloat (((ScAmfValue *) cs->pdata[3])->number, ==, 1);
      g_autoptr (GPtrArray) fc = find_command (msgs, "onFCPublish", 0);
      g_assert_nonnull (fc);
      g_autoptr (GPtrArray) st = find_command (msgs, "onStatus", 0);
      g_assert_nonnull (st);
      g_assert_cmpstr (sc_amf_get_string (st->pdata[3], "code"), ==,
                       "NetStream.Publish.Start");
      g_assert_cmpstr (sc_amf_get_string (st->pdata[3], "level"), ==, "status");
    }
}

static void
test_header_formats (void)
{
  g_autoptr (Client) cl = publishing_client (128);
  static const guint8 wire[] = {
    /* fmt 0, csid 6: ts 1000, len 2, video, stream 1 */
    0x06, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x02, 0x09, 0x01, 0, 0, 0, 0xa0, 0xa1,
    /* fmt 2: delta 33 */
    0x86, 0x00, 0x00, 0x21, 0xb0, 0xb1,
    /* fmt 3 starting a new message: same delta again */
    0xc6, 0xc0, 0xc1,
    /* fmt 1: delta 10, len 1, audio */
    0x46, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x08, 0xd0,
    /* fmt 0 with an extended timestamp near the 32-bit end */
    0x07, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x09, 0x01, 0, 0, 0,
    0xff, 0xff, 0xff, 0xf0, 0xe0,
    /* ... then it wraps */
    0x07, 0x00, 0x00, 0x10, 0x00, 0x00, 0x01, 0x09, 0x01, 0, 0, 0, 0xe1,
  };
  g_autoptr (GError) error = NULL;
  g_assert_true (feed (cl, wire, sizeof wire, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (cl->media->len, ==, 6);
  assert_media (cl, 0, SC_RTMP_MEDIA_VIDEO, 1000, (const guint8 *) "\xa0\xa1", 2);
  assert_media (cl, 1, SC_RTMP_MEDIA_VIDEO, 1033, (const guint8 *) "\xb0\xb1", 2);
  assert_media (cl, 2, SC_RTMP_MEDIA_VIDEO, 1066, (const guint8 *) "\xc0\xc1", 2);
  assert_media (cl, 3, SC_RTMP_MEDIA_AUDIO, 1076, (const guint8 *) "\xd0", 1);
  assert_media (cl, 4, SC_RTMP_MEDIA_VIDEO, 0xfffffff0u, (const guint8 *) "\xe0", 1);
  assert_media (cl, 5, SC_RTMP_MEDIA_VIDEO, G_GUINT64_CONSTANT (0x100000010),
                (const guint8 *) "\xe1", 1);
}

static void
test_extended_timestamp_chunks (void)
{
  g_autoptr (Client) cl = publishing_client (128);
  g_autofree guint8 *data = pattern (1000, 9);
  g_autoptr (GByteArray) w = g_byte_array_new ();
  /* 8 chunks, each continuation repeating the extended timestamp. */
  sc_rtmp_write_message (w, 128, 6, 9, 1, 0x12345678, data, 1000);
  sc_rtmp_write_message (w, 128, 6, 9, 1, 0x12345700, data, 300);
  g_autoptr (GError) error = NULL;
  g_assert_true (feed (cl, w->data, w->len, 3, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (cl->media->len, ==, 2);
  assert_media (cl, 0, SC_RTMP_MEDIA_VIDEO, 0x12345678, data, 1000);
  assert_media (cl, 1, SC_RTMP_MEDIA_VIDEO, 0x12345700, data, 300);
}

static void
test_csid_forms (void)
{
  g_autoptr (Client) cl = publishing_client (128);
  g_autofree guint8 *data = pattern (300, 3);
  g_autoptr (GByteArray) w = g_byte_array_new ();
  sc_rtmp_write_message (w, 128, 100, 9, 1, 5, data, 300);     /* 2-byte form */
  sc_rtmp_write_message (w, 128, 1000, 8, 1, 6, data, 200);    /* 3-byte form */
  sc_rtmp_write_message (w, 128, 65599, 18, 1, 7, data, 10);   /* largest */
  g_assert_cmpuint (w->data[0] & 0x3f, ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_true (feed (cl, w->data, w->len, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (cl->media->len, ==, 3);
  assert_media (cl, 0, SC_RTMP_MEDIA_VIDEO, 5, data, 300);
  assert_media (cl, 1, SC_RTMP_MEDIA_AUDIO, 6, data, 200);
  assert_media (cl, 2, SC_RTMP_MEDIA_DATA, 7, data, 10);
}

/* Feed @w after a full publish handshake; must fail with SC_ERROR_INVALID. */
static void
assert_rejected_after (Client *cl, GByteArray *w, const char *what,
                       guint allowed_media)
{
  g_autoptr (GError) error = NULL;
  guint before = cl->media->len;
  g_assert_false (feed (cl, w->data, w->len, 0, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_test_message ("%s: %s", what, error->message);
  g_assert_nonnull (strstr (error->message, what));
  g_assert_cmpuint (cl->media->len, <=, before + allowed_media);
}

static void
assert_rejected (Client *cl, GByteArray *w, const char *what)
{
  assert_rejected_after (cl, w, what, 0);
}

static void
test_chunk_size_limits (void)
{
  static const guint32 bad[] = { 0, 0x7fffffff, 0x80000001,
    SC_RTMP_MAX_CHUNK_SIZE + 1 };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (Client) cl = publishing_client (128);
    g_autoptr (GByteArray) w = g_byte_array_new ();
    add_u32_control (w, 1, bad[i]);
    assert_rejected (cl, w, "chunk size");
  }
  /* A publisher may use the largest chunks... */
  g_autoptr (Client) cl = publishing_client (128);
  g_autoptr (GByteArray) w = g_byte_array_new ();
  add_u32_control (w, 1, SC_RTMP_MAX_CHUNK_SIZE);
  g_autofree guint8 *data = pattern (200000, 1);
  sc_rtmp_write_message (w, SC_RTMP_MAX_CHUNK_SIZE, 6, 9, 1, 1, data, 200000);
  g_autoptr (GError) error = NULL;
  g_assert_true (feed (cl, w->data, w->len, 4096, &error));
  g_assert_cmpuint (cl->media->len, ==, 1);

  /* ... a peer that has not published yet no more than 64 KiB. */
  g_autoptr (GByteArray) most = publish_sequence (SC_RTMP_UNPUBLISHED_MAX_CHUNK_SIZE, "good-key");
  g_autoptr (Client) ok = client_new ();
  g_assert_true (feed (ok, most->data, most->len, 0, &error));
  g_assert_no_error (error);
  g_assert_true (sc_rtmp_proto_is_publishing (ok->p));
  g_autoptr (Client) early = client_new ();
  g_autoptr (GByteArray) big = g_byte_array_new ();
  add_handshake (big);
  add_u32_control (big, 1, SC_RTMP_UNPUBLISHED_MAX_CHUNK_SIZE + 1);
  assert_rejected (early, big, "before publishing");
}

static void
test_message_limits (void)
{
  {
    /* The header alone is enough to refuse: no payload needed. */
    g_autoptr (Client) cl = publishing_client (128);
    static const guint8 hdr[] = { 0x06, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0 };
    g_autoptr (GByteArray) w = g_byte_array_new ();
    g_byte_array_append (w, hdr, sizeof hdr);
    assert_rejected (cl, w, "exceeds");
  }
  {
    g_autoptr (Client) cl = publishing_client (128);
    sc_rtmp_proto_set_max_message (cl->p, 1000);
    g_autofree guint8 *data = pattern (1001, 1);
    g_autoptr (GByteArray) w = g_byte_array_new ();
    sc_rtmp_write_message (w, 128, 6, 9, 1, 0, data, 1000);
    sc_rtmp_write_message (w, 128, 6, 9, 1, 0, data, 1001);
    g_autoptr (GError) error = NULL;
    g_assert_false (feed (cl, w->data, w->len, 0, &error));
    g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
    g_assert_cmpuint (cl->media->len, ==, 1);
  }
  {
    /* Partial messages on several chunk streams add up to the limit. */
    guint chunk = 6 * 1024 * 1024;
    g_autoptr (Client) cl = publishing_client (128);
    g_autofree guint8 *data = pattern (7 * 1024 * 1024, 1);
    g_autoptr (GByteArray) w = g_byte_array_new ();
    add_u32_control (w, 1, chunk);
    for (guint csid = 10; csid < 13; csid++) {
      g_autoptr (GPtrArray) c = message_chunks (chunk, csid, 9, 0, data,
                                                7 * 1024 * 1024);
      g_byte_array_append (w, g_bytes_get_data (c->pdata[0], NULL),
                           g_bytes_get_size (c->pdata[0]));
    }
    assert_rejected (cl, w, "partial messages");
  }
  {
    g_autoptr (Client) cl = publishing_client (128);
    g_autoptr (GByteArray) w = g_byte_array_new ();
    for (guint csid = 10; csid < 10 + SC_RTMP_MAX_CHUNK_STREAMS; csid++)
      sc_rtmp_write_message (w, 128, csid, 8, 1, 0, (const guint8 *) "\xaf\x01", 2);
    /* Streams 2 and 3 carried the commands: 62 more fit. */
    assert_rejected_after (cl, w, "chunk streams",
                           SC_RTMP_MAX_CHUNK_STREAMS - 2);
  }
  {
    g_autoptr (Client) cl = publishing_client (128);
    static const guint8 first[] = { 0x06, 0, 0, 0, 0, 0x01, 0x00, 9, 1, 0, 0, 0 };
    static const guint8 again[] = { 0x06, 0, 0, 0, 0, 0x00, 0x10, 9, 1, 0, 0, 0 };
    g_autofree guint8 *data = pattern (128, 1);
    g_autoptr (GByteArray) w = g_byte_array_new ();
    g_byte_array_append (w, first, sizeof first);
    g_byte_array_append (w, data, 128);       /* first half of 256 bytes */
    g_byte_array_append (w, again, sizeof again);
    assert_rejected (cl, w, "inside a message");
  }
}

/* Before a publish is accepted: 64 KiB messages, 128 KiB buffered; the same
 * bytes are fine from a publisher. */
static void
test_unpublished_limits (void)
{
  const gsize most = SC_RTMP_UNPUBLISHED_MAX_MESSAGE;
  g_autofree guint8 *data = pattern (most + 1, 1);
  {
    /* Media before publishing is dropped, but the size is still checked,
     * on the header alone. */
    g_autoptr (Client) cl = client_new ();
    g_autoptr (GByteArray) w = g_byte_array_new ();
    add_handshake (w);
    add_u32_control (w, 1, 4096);
    sc_rtmp_write_message (w, 4096, 6, 9, 1, 0, data, most);
    g_autoptr (GError) error = NULL;
    g_assert_true (feed (cl, w->data, w->len, 0, &error));
    g_assert_no_error (error);
    g_autoptr (GByteArray) over = g_byte_array_new ();
    static const guint8 hdr[] = { 0x06, 0, 0, 0, 0x01, 0x00, 0x01, 9, 1, 0, 0, 0 };
    g_byte_array_append (over, hdr, sizeof hdr);
    assert_rejected (cl, over, "before publishing");
    g_assert_cmpuint (cl->media->len, ==, 0);
  }
  {
    g_autoptr (Client) cl = publishing_client (4096);
    g_autoptr (GByteArray) w = g_byte_array_new ();
    sc_rtmp_write_message (w, 4096, 6, 9, 1, 0, data, most + 1);
    g_autoptr (GError) error = NULL;
    g_assert_true (feed (cl, w->data, w->len, 0, &error));
    g_assert_no_error (error);
    assert_media (cl, 0, SC_RTMP_MEDIA_VIDEO, 0, data, most + 1);
  }
  {
    /* Three messages of 60 KiB, each half sent, on three chunk streams. */
    g_autoptr (Client) cl = client_new ();
    g_autoptr (GByteArray) w = g_byte_array_new ();
    add_handshake (w);
    add_u32_control (w, 1, 30 * 1024);
    for (guint csid = 10; csid < 13; csid++) {
      g_autoptr (GPtrArray) c = message_chunks (30 * 1024, csid, 9, 0, data, 60 * 1024);
      for (guint i = 0; i < (csid < 12 ? 2 : 1); i++)
        g_byte_array_append (w, g_bytes_get_data (c->pdata[i], NULL),
                             g_bytes_get_size (c->pdata[i]));
    }
    g_autoptr (GError) error = NULL;
    g_assert_true (feed (cl, w->data, w->len, 0, &error));
    g_assert_no_error (error);
    /* Two whole messages and half of one: 30 KiB buffered, and halves of
     * five more pass the 128 KiB. */
    g_autoptr (GByteArray) more = g_byte_array_new ();
    for (guint csid = 13; csid < 18; csid++) {
      g_autoptr (GPtrArray) c = message_chunks (30 * 1024, csid, 9, 0, data, 60 * 1024);
      g_byte_array_append (more, g_bytes_get_data (c->pdata[0], NULL),
                           g_bytes_get_size (c->pdata[0]));
    }
    assert_rejected (cl, more, "partial messages before publishing");
  }
}

static void
test_command_errors (void)
{
  {
    g_autoptr (Client) cl = client_new ();
    g_autoptr (GByteArray) w = g_byte_array_new ();
    guint8 c0[1 + SC_RTMP_HANDSHAKE_SIZE] = { 6 };     /* RTMPE */
    g_byte_array_append (w, c0, sizeof c0);
    g_autoptr (GError) error = NULL;
    g_assert_false (feed (cl, w->data, w->len, 0, &error));
    g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
    /* Nothing is answered to a wrong version. */
    g_assert_cmpuint (cl->out->len, ==, 0);
  }
  {
    /* connect whose command object is cut short */
    g_autoptr (Client) cl = client_new ();
    g_autoptr (GByteArray) w = g_byte_array_new ();
    add_handshake (w);
    static const guint8 bad[] = { 0x02, 0x00, 0x07, 'c', 'o', 'n', 'n', 'e',
      'c', 't', 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x03, 0x00, 0x03, 'a',
      'p', 'p', 0x02, 0x00, 0x40, 'x' };
    sc_rtmp_write_message (w, 128, 3, 20, 0, 0, bad, sizeof bad);
    assert_rejected (cl, w, "bad AMF0");
  }
  {
    /* 64 K AMF0 nulls (one byte each) are as many values */
    g_autoptr (Client) cl = client_new ();
    g_autoptr (GByteArray) w = g_byte_array_new ();
    add_handshake (w);
    g_autofree guint8 *nulls = g_malloc (SC_RTMP_UNPUBLISHED_MAX_MESSAGE);
    memset (nulls, SC_AMF_NULL, SC_RTMP_UNPUBLISHED_MAX_MESSAGE);
    sc_rtmp_write_message (w, 128, 3, 20, 0, 0, nulls, SC_RTMP_UNPUBLISHED_MAX_MESSAGE);
    assert_rejected (cl, w, "values");
  }
  {
    g_autoptr (Client) cl = client_new ();
    g_autoptr (GByteArray) w = g_byte_array_new ();
    add_handshake (w);
    add_command (w, 128, 1, sc_amf_string ("publish"), sc_amf_number (5),
                 sc_amf_null (), sc_amf_string ("good-key"), NULL);
    assert_rejected (cl, w, "publish before connect");
    g_assert_cmpint (cl->publishes, ==, 0);
  }
  {
    g_autoptr (Client) cl = client_new ();
    g_autoptr (GByteArray) w = g_byte_array_new ();
    add_handshake (w);
    add_command (w, 128, 0, sc_amf_string ("connect"), sc_amf_number (1),
                 connect_object ("app"), NULL);
    add_command (w, 128, 1, sc_amf_string ("publish"), sc_amf_number (5),
                 sc_amf_null (), sc_amf_string ("good-key"), NULL);
    assert_rejected (cl, w, "createStream");
    g_assert_cmpint (cl->publishes, ==, 0);
  }
  {
    g_autoptr (Client) cl = client_new ();
    g_autoptr (GByteArray) w = g_byte_array_new ();
    add_handshake (w);
    add_command (w, 128, 0, sc_amf_string ("connect"), sc_amf_number (1),
                 sc_amf_null (), NULL);
    assert_rejected (cl, w, "without an app");
  }
  {
    /* An empty command (its bytes NULL, once reassembled). */
    g_autoptr (Client) cl = client_new ();
    g_autoptr (GByteArray) w = g_byte_array_new ();
    add_handshake (w);
    sc_rtmp_write_message (w, 128, 3, 20, 0, 0, NULL, 0);
    assert_rejected (cl, w, "transaction id");
  }
}

static void
test_truncated_input (void)
{
  g_autoptr (GByteArray) w = publish_sequence (128, "good-key");
  g_autofree guint8 *video = pattern (400, 5);
  sc_rtmp_write_message (w, 128, 6, 9, 1, 7, video, 400);
  /* Any prefix is just "not yet": no error, no event from the cut part. */
  for (gsize cut = 0; cut < w->len; cut += 97) {
    g_autoptr (Client) cl = client_new ();
    g_autoptr (GError) error = NULL;
    g_assert_true (feed (cl, w->data, cut, 0, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (cl->media->len, ==, 0);
    g_assert_true (feed (cl, w->data + cut, w->len - cut, 0, &error));
    g_assert_cmpuint (cl->media->len, ==, 1);
    assert_media (cl, 0, SC_RTMP_MEDIA_VIDEO, 7, video, 400);
  }
}

static void
test_refusals (void)
{
  static const struct { ScErrorCode code; const char *status; } cases[] = {
    { SC_ERROR_NOT_FOUND, "NetStream.Publish.BadName" },
    { SC_ERROR_FORBIDDEN, "NetStream.Publish.Unauthorized" },
    { SC_ERROR_UNAUTHORIZED, "NetStream.Publish.Unauthorized" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (Client) cl = client_new ();
    cl->refuse = cases[i].code;
    g_autoptr (GByteArray) w = publish_sequence (128, "bad-key");
    /* Media sent anyway is never delivered. */
    sc_rtmp_write_message (w, 128, 6, 9, 1, 0, (const guint8 *) "\x17\x00", 2);
    g_autoptr (GError) error = NULL;
    g_assert_true (feed (cl, w->data, w->len, 0, &error));
    g_assert_cmpint (cl->publishes, ==, 1);
    g_assert_false (sc_rtmp_proto_is_publishing (cl->p));
    g_assert_cmpuint (cl->media->len, ==, 0);
    g_autoptr (GPtrArray) msgs = parse_output (cl->out);
    g_autoptr (GPtrArray) st = find_command (msgs, "onStatus", 0);
    g_assert_nonnull (st);
    g_assert_cmpstr (sc_amf_get_string (st->pdata[3], "code"), ==,
                     cases[i].status);
    g_assert_cmpstr (sc_amf_get_string (st->pdata[3], "level"), ==, "error");
  }
}

static void
test_control (void)
{
  g_autoptr (Client) cl = publishing_client (128);
  g_autoptr (GByteArray) w = g_byte_array_new ();
  /* ping request */
  static const guint8 ping[] = { 0, 6, 0x11, 0x22, 0x33, 0x44 };
  sc_rtmp_write_message (w, 128, 2, 4, 0, 0, ping, sizeof ping);
  /* abort a half-sent message, then send a whole one on the same csid */
  static const guint8 half[] = { 0x06, 0, 0, 0, 0, 0x01, 0x00, 9, 1, 0, 0, 0 };
  g_byte_array_append (w, half, sizeof half);
  g_autofree guint8 *data = pattern (128, 1);
  g_byte_array_append (w, data, 128);
  add_u32_control (w, 2, 6);
  sc_rtmp_write_message (w, 128, 6, 9, 1, 9, data, 5);
  /* enough bytes to pass the 2500000-byte ack window the client set */
  g_autofree guint8 *big = pattern (1000000, 2);
  for (int i = 0; i < 3; i++)
    sc_rtmp_write_message (w, 128, 8, 18, 1, 10, big, 1000000);
  add_command (w, 128, 1, sc_amf_string ("FCUnpublish"), sc_amf_number (6),
               sc_amf_null (), sc_amf_string ("good-key"), NULL);
  sc_rtmp_write_message (w, 128, 6, 9, 1, 11, data, 5);
  g_autoptr (GError) error = NULL;
  g_assert_true (feed (cl, w->data, w->len, 65536, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (cl->media->len, ==, 4);
  assert_media (cl, 0, SC_RTMP_MEDIA_VIDEO, 9, data, 5);
  g_assert_cmpint (cl->unpublishes, ==, 1);
  g_assert_false (sc_rtmp_proto_is_publishing (cl->p));

  g_autoptr (GPtrArray) msgs = parse_output (cl->out);
  gboolean pong = FALSE;
  for (guint i = 0; i < msgs->len; i++) {
    OutMsg *m = msgs->pdata[i];
    if (m->type == 4 && m->payload->len == 6 && m->payload->data[1] == 7)
      pong = memcmp (m->payload->data + 2, ping + 2, 4) == 0;
  }
  g_assert_true (pong);
  g_assert_nonnull (find_type (msgs, 3));     /* acknowledgement */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rtmp-proto/session", test_session);
  g_test_add_func ("/rtmp-proto/header-formats", test_header_formats);
  g_test_add_func ("/rtmp-proto/extended-timestamp-chunks",
                   test_extended_timestamp_chunks);
  g_test_add_func ("/rtmp-proto/csid-forms", test_csid_forms);
  g_test_add_func ("/rtmp-proto/limits/chunk-size", test_chunk_size_limits);
  g_test_add_func ("/rtmp-proto/limits/messages", test_message_limits);
  g_test_add_func ("/rtmp-proto/limits/unpublished", test_unpublished_limits);
  g_test_add_func ("/rtmp-proto/limits/commands", test_command_errors);
  g_test_add_func ("/rtmp-proto/truncated-input", test_truncated_input);
  g_test_add_func ("/rtmp-proto/refusals", test_refusals);
  g_test_add_func ("/rtmp-proto/control", test_control);
  return g_test_run ();
}
