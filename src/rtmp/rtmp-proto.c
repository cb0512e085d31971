/* RTMP server-side protocol: simple handshake, chunk demultiplexing and
 * reassembly, protocol control, and the publish command sequence that
 * ffmpeg, OBS and GStreamer's rtmp2sink send.  No I/O: the server feeds
 * bytes in and drains the output array. */
#include "rtmp-proto.h"
#include "spacecast/core.h"

#include <string.h>

enum { HS_C0C1, HS_C2, HS_DONE };

enum {
  MSG_SET_CHUNK_SIZE = 1,
  MSG_ABORT = 2,
  MSG_ACK = 3,
  MSG_USER_CONTROL = 4,
  MSG_WINDOW_ACK_SIZE = 5,
  MSG_SET_PEER_BANDWIDTH = 6,
  MSG_AUDIO = 8,
  MSG_VIDEO = 9,
  MSG_DATA_AMF3 = 15,
  MSG_COMMAND_AMF3 = 17,
  MSG_DATA_AMF0 = 18,
  MSG_COMMAND_AMF0 = 20,
};

#define CSID_CONTROL 2
#define CSID_COMMAND 3
#define CSID_STATUS 5
#define SERVER_WINDOW 2500000

typedef struct {
  guint32 csid;
  guint32 timestamp;
  guint32 delta;
  guint32 msg_len;
  guint32 stream_id;
  guint8 type;
  gboolean ext;
  GByteArray *buf;   /* message being reassembled, or NULL */
} ChunkStream;

struct _ScRtmpProto {
  ScRtmpEventFunc func;
  gpointer user_data;
  int hs;
  GByteArray *in;
  GByteArray *out;
  guint32 in_chunk_size;
  gsize max_message;
  gsize buffered;
  ChunkStream cs[SC_RTMP_MAX_CHUNK_STREAMS];
  guint n_cs;
  gboolean connected, stream_created, publish_pending, publishing, stopped;
  gboolean trusted;             /* a publish was accepted: full limits */
  char *app;
  char *stream_name;
  guint32 publish_stream_id;
  guint64 bytes_in, last_ack;
  guint32 peer_window;
  gboolean ts_seen;
  guint32 ts_last;
  guint64 ts_epoch;
};

ScRtmpProto *
sc_rtmp_proto_new (ScRtmpEventFunc func, gpointer user_data)
{
  ScRtmpProto *p = g_new0 (ScRtmpProto, 1);
  p->func = func;
  p->user_data = user_data;
  p->in = g_byte_array_new ();
  p->out = g_byte_array_new ();
  p->in_chunk_size = 128;
  p->max_message = SC_RTMP_DEFAULT_MAX_MESSAGE;
  return p;
}

void
sc_rtmp_proto_free (ScRtmpProto *p)
{
  if (!p)
    return;
  for (guint i = 0; i < p->n_cs; i++)
    if (p->cs[i].buf)
      g_byte_array_unref (p->cs[i].buf);
  g_byte_array_unref (p->in);
  g_byte_array_unref (p->out);
  g_free (p->app);
  g_free (p->stream_name);
  g_free (p);
}

void
sc_rtmp_proto_set_max_message (ScRtmpProto *p, gsize max)
{
  p->max_message = max;
}

void
sc_rtmp_proto_stop (ScRtmpProto *p)
{
  p->stopped = TRUE;
}

gboolean
sc_rtmp_proto_is_publishing (ScRtmpProto *p)
{
  return p->publishing;
}

GByteArray *
sc_rtmp_proto_get_output (ScRtmpProto *p)
{
  return p->out;
}

static guint32
rd_be (const guint8 *d, guint n)
{
  guint32 v = 0;
  for (guint i = 0; i < n; i++)
    v = (v << 8) | d[i];
  return v;
}

static void
wr_be (guint8 *d, guint32 v, guint n)
{
  for (guint i = 0; i < n; i++)
    d[i] = v >> (8 * (n - 1 - i));
}

static gsize
basic_header (guint8 *h, guint fmt, guint32 csid)
{
  if (csid < 64) {
    h[0] = (fmt << 6) | csid;
    return 1;
  } else if (csid < 320) {
    h[0] = fmt << 6;
    h[1] = csid - 64;
    return 2;
  }
  h[0] = (fmt << 6) | 1;
  h[1] = (csid - 64) & 0xff;
  h[2] = (csid - 64) >> 8;
  return 3;
}

void
sc_rtmp_write_message (GByteArray *out, guint chunk_size, guint32 csid,
                       guint8 type, guint32 stream_id, guint32 timestamp,
                       const guint8 *payload, gsize len)
{
  guint8 h[18];
  gboolean ext = timestamp >= 0xffffff;
  gsize n = basic_header (h, 0, csid);
  wr_be (h + n, ext ? 0xffffff : timestamp, 3);
  wr_be (h + n + 3, len, 3);
  h[n + 6] = type;
  h[n + 7] = stream_id & 0xff;   /* message stream id is little endian */
  h[n + 8] = (stream_id >> 8) & 0xff;
  h[n + 9] = (stream_id >> 16) & 0xff;
  h[n + 10] = stream_id >> 24;
  n += 11;
  if (ext) {
    wr_be (h + n, timestamp, 4);
    n += 4;
  }
  g_byte_array_append (out, h, n);
  gsize off = 0;
  do {
    gsize c = MIN (chunk_size, len - off);
    if (off > 0) {
      n = basic_header (h, 3, csid);
      if (ext) {
        wr_be (h + n, timestamp, 4);
        n += 4;
      }
      g_byte_array_append (out, h, n);
    }
    if (c > 0)                  /* an empty payload may be NULL */
      g_byte_array_append (out, payload + off, c);
    off += c;
  } while (off < len);
}

static void
send_control (ScRtmpProto *p, guint8 type, const guint8 *payload, gsize len)
{
  sc_rtmp_write_message (p->out, SC_RTMP_OUT_CHUNK_SIZE, CSID_CONTROL, type, 0,
                         0, payload, len);
}

static void
send_u32 (ScRtmpProto *p, guint8 type, guint32 v)
{
  guint8 b[4];
  wr_be (b, v, 4);
  send_control (p, type, b, 4);
}

/* Consumes the NULL-terminated list of values. */
static void
send_command (ScRtmpProto *p, guint32 csid, guint32 stream_id, ...)
{
  g_autoptr (GByteArray) body = g_byte_array_new ();
  va_list ap;
  va_start (ap, stream_id);
  ScAmfValue *v;
  while ((v = va_arg (ap, ScAmfValue *))) {
    sc_amf_encode (body, v);
    sc_amf_free (v);
  }
  va_end (ap);
  sc_rtmp_write_message (p->out, SC_RTMP_OUT_CHUNK_SIZE, csid,
                         MSG_COMMAND_AMF0, stream_id, 0, body->data, body->len);
}

static ScAmfValue *
status_object (const char *level, const char *code, const char *description)
{
  ScAmfValue *o = sc_amf_object ();
  sc_amf_set (o, "level", sc_amf_string (level));
  sc_amf_set (o, "code", sc_amf_string (code));
  sc_amf_set (o, "description", sc_amf_string (description));
  return o;
}

static void
send_status (ScRtmpProto *p, const char *level, const char *code,
             const char *description)
{
  /* No "details" with the stream name: clients print and log the status,
   * and the name is the stream key. */
  ScAmfValue *o = status_object (level, code, description);
  send_command (p, CSID_STATUS, p->publish_stream_id,
                sc_amf_string ("onStatus"), sc_amf_number (0), sc_amf_null (),
                o, NULL);
}

void
sc_rtmp_proto_accept_publish (ScRtmpProto *p)
{
  g_return_if_fail (p->publish_pending);
  p->publish_pending = FALSE;
  p->publishing = TRUE;
  p->trusted = TRUE;
  send_status (p, "status", "NetStream.Publish.Start", "Start publishing");
}

void
sc_rtmp_proto_reject_publish (ScRtmpProto *p, const GError *why)
{
  g_return_if_fail (p->publish_pending);
  p->publish_pending = FALSE;
  gboolean auth = why && why->domain == SC_ERROR &&
      (why->code == SC_ERROR_FORBIDDEN || why->code == SC_ERROR_UNAUTHORIZED);
  send_status (p, "error",
               auth ? "NetStream.Publish.Unauthorized" : "NetStream.Publish.BadName",
               why ? why->message : "refused");
}

static void
emit (ScRtmpProto *p, const ScRtmpEvent *ev)
{
  if (!p->stopped)
    p->func (p, ev, p->user_data);
}

/* Strip "?query" and surrounding slashes from an app or stream name. */
static char *
clean_name (const char *s)
{
  gsize n = strcspn (s, "?");
  while (n > 0 && s[n - 1] == '/')
    n--;
  while (n > 0 && *s == '/') {
    s++;
    n--;
  }
  return g_strndup (s, n);
}

static gboolean
proto_error (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
proto_error (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID, msg);
  return FALSE;
}

static gboolean
handle_command (ScRtmpProto *p, guint32 stream_id, const guint8 *data,
                gsize len, GError **error)
{
  g_autoptr (GError) amf_error = NULL;
  g_autoptr (GPtrArray) vals = sc_amf_decode_all (data, len, &amf_error);
  if (!vals)
    return proto_error (error, "bad AMF0 in command: %s", amf_error->message);
  if (vals->len < 2)
    return proto_error (error, "command without a transaction id");
  ScAmfValue *name_v = vals->pdata[0], *txid_v = vals->pdata[1];
  if (name_v->type != SC_AMF_STRING || txid_v->type != SC_AMF_NUMBER)
    return proto_error (error, "malformed command");
  const char *name = name_v->string;
  double txid = txid_v->number;
  ScAmfValue *arg = vals->len > 3 ? vals->pdata[3] : NULL;
  const char *arg_str = arg && (arg->type == SC_AMF_STRING ||
      arg->type == SC_AMF_LONG_STRING) ? arg->string : NULL;

  if (g_str_equal (name, "connect")) {
    if (p->connected)
      return proto_error (error, "connect sent twice");
    ScAmfValue *cmd = vals->len > 2 ? vals->pdata[2] : NULL;
    const char *app = cmd && cmd->type == SC_AMF_OBJECT ?
        sc_amf_get_string (cmd, "app") : NULL;
    if (!app)
      return proto_error (error, "connect without an app");
    p->connected = TRUE;
    p->app = clean_name (app);

    send_u32 (p, MSG_WINDOW_ACK_SIZE, SERVER_WINDOW);
    guint8 bw[5];
    wr_be (bw, SERVER_WINDOW, 4);
    bw[4] = 2;                  /* dynamic */
    send_control (p, MSG_SET_PEER_BANDWIDTH, bw, 5);
    send_u32 (p, MSG_SET_CHUNK_SIZE, SC_RTMP_OUT_CHUNK_SIZE);

    ScAmfValue *props = sc_amf_object ();
    sc_amf_set (props, "fmsVer", sc_amf_string ("FMS/3,0,1,123"));
    sc_amf_set (props, "capabilities", sc_amf_number (31));
    ScAmfValue *info = status_object ("status", "NetConnection.Connect.Success",
                                      "Connection succeeded.");
    sc_amf_set (info, "objectEncoding", sc_amf_number (0));
    send_command (p, CSID_COMMAND, 0, sc_amf_string ("_result"),
                  sc_amf_number (txid), props, info, NULL);
  } else if (g_str_equal (name, "releaseStream")) {
    send_command (p, CSID_COMMAND, 0, sc_amf_string ("_result"),
                  sc_amf_number (txid), sc_amf_null (), sc_amf_undefined (),
                  NULL);
  } else if (g_str_equal (name, "FCPublish")) {
    ScAmfValue *o = sc_amf_object ();
    sc_amf_set (o, "code", sc_amf_string ("NetStream.Publish.Start"));
    sc_amf_set (o, "description", sc_amf_string (arg_str ? arg_str : ""));
    send_command (p, CSID_COMMAND, 0, sc_amf_string ("onFCPublish"),
                  sc_amf_number (0), sc_amf_null (), o, NULL);
    send_command (p, CSID_COMMAND, 0, sc_amf_string ("_result"),
                  sc_amf_number (txid), sc_amf_null (), sc_amf_undefined (),
                  NULL);
  } else if (g_str_equal (name, "createStream")) {
    if (!p->connected)
      return proto_error (error, "createStream before connect");
    p->stream_created = TRUE;
    send_command (p, CSID_COMMAND, 0, sc_amf_string ("_result"),
                  sc_amf_number (txid), sc_amf_null (),
                  sc_amf_number (SC_RTMP_STREAM_ID), NULL);
  } else if (g_str_equal (name, "publish")) {
    if (!p->connected || !p->stream_created)
      return proto_error (error, "publish before connect/createStream");
    if (p->publishing || p->publish_pending || p->stream_name)
      return proto_error (error, "publish sent twice");
    if (!arg_str)
      return proto_error (error, "publish without a stream name");
    p->stream_name = clean_name (arg_str);
    p->publish_stream_id = stream_id;
    p->publish_pending = TRUE;
    ScRtmpEvent ev = { .type = SC_RTMP_EVENT_PUBLISH, .app = p->app,
      .stream_name = p->stream_name };
    emit (p, &ev);
  } else if (g_str_equal (name, "FCUnpublish") ||
      g_str_equal (name, "deleteStream") || g_str_equal (name, "closeStream")) {
    if (p->publishing) {
      p->publishing = FALSE;
      ScRtmpEvent ev = { .type = SC_RTMP_EVENT_UNPUBLISH, .app = p->app,
        .stream_name = p->stream_name };
      emit (p, &ev);
    }
  }
  /* getStreamLength, _checkbw and friends need no answer from an ingest. */
  return TRUE;
}

static guint64
unwrap_timestamp (ScRtmpProto *p, guint32 ts)
{
  if (!p->ts_seen) {
    p->ts_seen = TRUE;
    p->ts_last = ts;
    return ts;
  }
  if (ts < p->ts_last && p->ts_last - ts > 0x80000000u)
    p->ts_epoch += G_GUINT64_CONSTANT (1) << 32;
  else if (ts > p->ts_last && ts - p->ts_last > 0x80000000u &&
      p->ts_epoch > 0)
    return p->ts_epoch - (G_GUINT64_CONSTANT (1) << 32) + ts;  /* late, pre-wrap */
  p->ts_last = ts;
  return p->ts_epoch + ts;
}

static gboolean
handle_message (ScRtmpProto *p, ChunkStream *cs, const guint8 *d, gsize len,
                GError **error)
{
  switch (cs->type) {
    case MSG_SET_CHUNK_SIZE: {
      if (len < 4)
        return proto_error (error, "short set-chunk-size");
      guint32 v = rd_be (d, 4);
      guint32 max = p->trusted ? SC_RTMP_MAX_CHUNK_SIZE :
          SC_RTMP_UNPUBLISHED_MAX_CHUNK_SIZE;
      if (v == 0 || v > max)
        return proto_error (error, "bad chunk size %u (1 to %u%s)", v, max,
                            p->trusted ? "" : " before publishing");
      p->in_chunk_size = v;
      return TRUE;
    }
    case MSG_ABORT: {
      if (len < 4)
        return proto_error (error, "short abort");
      guint32 id = rd_be (d, 4);
      for (guint i = 0; i < p->n_cs; i++)
        if (p->cs[i].csid == id && p->cs[i].buf && &p->cs[i] != cs) {
          p->buffered -= p->cs[i].buf->len;
          g_clear_pointer (&p->cs[i].buf, g_byte_array_unref);
        }
      return TRUE;
    }
    case MSG_WINDOW_ACK_SIZE:
      if (len < 4)
        return proto_error (error, "short window-ack-size");
      p->peer_window = rd_be (d, 4);
      return TRUE;
    case MSG_USER_CONTROL:
      if (len < 2)
        return proto_error (error, "short user control message");
      if (rd_be (d, 2) == 6 && len >= 6) {      /* ping request -> response */
        guint8 b[6] = { 0, 7, d[2], d[3], d[4], d[5] };
        send_control (p, MSG_USER_CONTROL, b, 6);
      }
      return TRUE;
    case MSG_ACK:
    case MSG_SET_PEER_BANDWIDTH:
      return TRUE;
    case MSG_COMMAND_AMF3:
      if (len < 1)
        return proto_error (error, "empty AMF3 command");
      return handle_command (p, cs->stream_id, d + 1, len - 1, error);
    case MSG_COMMAND_AMF0:
      return handle_command (p, cs->stream_id, d, len, error);
    case MSG_AUDIO:
    case MSG_VIDEO:
    case MSG_DATA_AMF0:
    case MSG_DATA_AMF3: {
      if (!p->publishing)
        return TRUE;            /* nothing is delivered before acceptance */
      if (cs->type == MSG_DATA_AMF3) {
        if (len < 1)
          return TRUE;
        d++;
        len--;
      }
      ScRtmpEvent ev = { .type = SC_RTMP_EVENT_MEDIA, .app = p->app,
        .stream_name = p->stream_name,
        .media_type = cs->type == MSG_DATA_AMF3 ? SC_RTMP_MEDIA_DATA : cs->type,
        .timestamp_ms = unwrap_timestamp (p, cs->timestamp),
        .data = d, .len = len };
      emit (p, &ev);
      return TRUE;
    }
    default:
      return TRUE;              /* aggregate, shared object...: not for us */
  }
}

#define CHUNK_FAIL(...) \
  do { proto_error (error, __VA_ARGS__); return -1; } while (0)

static ChunkStream *
find_chunk_stream (ScRtmpProto *p, guint32 csid, GError **error)
{
  for (guint i = 0; i < p->n_cs; i++)
    if (p->cs[i].csid == csid)
      return &p->cs[i];
  if (p->n_cs == SC_RTMP_MAX_CHUNK_STREAMS) {
    proto_error (error, "more than %d chunk streams", SC_RTMP_MAX_CHUNK_STREAMS);
    return NULL;
  }
  ChunkStream *cs = &p->cs[p->n_cs++];
  memset (cs, 0, sizeof *cs);
  cs->csid = csid;
  return cs;
}

/* Parse one chunk at @d.  Returns the bytes consumed, 0 when more input is
 * needed, -1 on error.  Nothing is committed until the whole chunk is here. */
static gssize
parse_chunk (ScRtmpProto *p, const guint8 *d, gsize avail, GError **error)
{
  static const guint mh_size[4] = { 11, 7, 3, 0 };
  if (avail < 1)
    return 0;
  guint fmt = d[0] >> 6;
  guint32 csid = d[0] & 0x3f;
  gsize n = 1;
  if (csid == 0) {
    if (avail < 2)
      return 0;
    csid = 64 + d[1];
    n = 2;
  } else if (csid == 1) {
    if (avail < 3)
      return 0;
    csid = 64 + d[1] + d[2] * 256;
    n = 3;
  }
  if (avail < n + mh_size[fmt])
    return 0;
  ChunkStream *cs = find_chunk_stream (p, csid, error);
  if (!cs)
    return -1;
  const guint8 *h = d + n;
  n += mh_size[fmt];
  guint32 ts_field = fmt < 3 ? rd_be (h, 3) : 0;
  gboolean ext = fmt < 3 ? ts_field == 0xffffff : cs->ext;
  guint32 ts = ts_field;
  if (ext) {
    if (avail < n + 4)
      return 0;
    ts = rd_be (d + n, 4);
    n += 4;
  }
  gboolean cont = cs->buf != NULL;
  if (cont && fmt != 3)
    CHUNK_FAIL ("chunk stream %u: new header inside a message", csid);
  guint32 msg_len = fmt < 2 ? rd_be (h + 3, 3) : cs->msg_len;
  gsize max_message = p->trusted ? p->max_message :
      MIN (p->max_message, SC_RTMP_UNPUBLISHED_MAX_MESSAGE);
  if (!cont && msg_len > max_message)
    CHUNK_FAIL ("message of %u bytes exceeds the %" G_GSIZE_FORMAT
                " byte limit%s", msg_len, max_message,
                p->trusted ? "" : " before publishing");
  gsize have = cont ? cs->buf->len : 0;
  gsize payload = MIN (p->in_chunk_size, msg_len - have);
  if (avail < n + payload)
    return 0;

  if (!cont) {
    switch (fmt) {
      case 0:
        cs->timestamp = ts;
        cs->delta = 0;
        cs->stream_id = h[7] | (h[8] << 8) | (h[9] << 16) | ((guint32) h[10] << 24);
        break;
      case 1:
      case 2:
        cs->delta = ts;
        cs->timestamp += ts;
        break;
      case 3:
        cs->timestamp += cs->delta;
        break;
    }
    if (fmt < 2) {
      cs->msg_len = msg_len;
      cs->type = h[6];
    }
    if (fmt < 3)
      cs->ext = ext;
    cs->buf = g_byte_array_sized_new (MIN (msg_len, 65536));
  }
  gsize max_buffered = p->trusted ? SC_RTMP_MAX_BUFFERED :
      SC_RTMP_UNPUBLISHED_MAX_BUFFERED;
  if (p->buffered + payload > max_buffered)
    CHUNK_FAIL ("more than %" G_GSIZE_FORMAT " bytes of partial messages%s",
                max_buffered, p->trusted ? "" : " before publishing");
  g_byte_array_append (cs->buf, d + n, payload);
  p->buffered += payload;
  n += payload;

  if (cs->buf->len == cs->msg_len) {
    g_autoptr (GByteArray) msg = g_steal_pointer (&cs->buf);
    p->buffered -= msg->len;
    if (!handle_message (p, cs, msg->data, msg->len, error))
      return -1;
  }
  return n;
}

static gboolean
handshake (ScRtmpProto *p, gsize *pos, GError **error)
{
  gsize avail = p->in->len - *pos;
  const guint8 *d = p->in->data + *pos;
  if (p->hs == HS_C0C1) {
    if (avail < 1)
      return TRUE;
    if (d[0] != 3)
      return proto_error (error, "unsupported RTMP version %u", d[0]);
    if (avail < 1 + SC_RTMP_HANDSHAKE_SIZE)
      return TRUE;
    guint8 s0s1[1 + SC_RTMP_HANDSHAKE_SIZE];
    s0s1[0] = 3;
    wr_be (s0s1 + 1, (guint32) (g_get_monotonic_time () / 1000), 4);
    memset (s0s1 + 5, 0, 4);    /* zero version: simple handshake, no digest */
    for (gsize i = 9; i < sizeof s0s1; i += 4) {
      guint32 r = g_random_int ();
      memcpy (s0s1 + i, &r, MIN (4, sizeof s0s1 - i));
    }
    g_byte_array_append (p->out, s0s1, sizeof s0s1);
    g_byte_array_append (p->out, d + 1, SC_RTMP_HANDSHAKE_SIZE);   /* S2 = C1 */
    *pos += 1 + SC_RTMP_HANDSHAKE_SIZE;
    p->hs = HS_C2;
  } else if (p->hs == HS_C2) {
    if (avail < SC_RTMP_HANDSHAKE_SIZE)
      return TRUE;
    *pos += SC_RTMP_HANDSHAKE_SIZE;
    p->hs = HS_DONE;
  }
  return TRUE;
}

gboolean
sc_rtmp_proto_feed (ScRtmpProto *p, const guint8 *data, gsize len,
                    GError **error)
{
  if (p->stopped)
    return TRUE;
  g_byte_array_append (p->in, data, len);
  p->bytes_in += len;
  gsize pos = 0;
  gboolean ok = TRUE;
  while (ok && !p->stopped) {
    if (p->hs != HS_DONE) {
      int before = p->hs;
      ok = handshake (p, &pos, error);
      if (p->hs == before)
        break;
      continue;
    }
    gssize n = parse_chunk (p, p->in->data + pos, p->in->len - pos, error);
    if (n < 0)
      ok = FALSE;
    else if (n == 0)
      break;
    else
      pos += n;
  }
  g_byte_array_remove_range (p->in, 0, MIN (pos, p->in->len));
  if (ok && p->peer_window && p->bytes_in - p->last_ack >= p->peer_window) {
    p->last_ack = p->bytes_in;
    send_u32 (p, MSG_ACK, (guint32) p->bytes_in);
  }
  return ok;
}
