/* RTMP wire protocol, server side, with no I/O: bytes in, events and reply
 * bytes out.  Everything read from the wire is bounded (chunk size, message
 * size, bytes buffered, number of chunk streams, AMF values and nesting),
 * tighter until a publish is accepted, and any violation is a GError, never
 * a crash or an unbounded allocation. */
#pragma once

#include <glib.h>
#include "spacecast/rtmp.h"

G_BEGIN_DECLS

/* ---- AMF0 ---- */

typedef enum {
  SC_AMF_NUMBER = 0x00,
  SC_AMF_BOOLEAN = 0x01,
  SC_AMF_STRING = 0x02,
  SC_AMF_OBJECT = 0x03,
  SC_AMF_NULL = 0x05,
  SC_AMF_UNDEFINED = 0x06,
  SC_AMF_ECMA_ARRAY = 0x08,
  SC_AMF_OBJECT_END = 0x09,
  SC_AMF_STRICT_ARRAY = 0x0a,
  SC_AMF_DATE = 0x0b,
  SC_AMF_LONG_STRING = 0x0c,
} ScAmfType;

#define SC_AMF_MAX_DEPTH 16
/* Values in one decode (every nested one counts).  A command carries a few
 * dozen; without a cap, 8 MiB of one-byte nulls is 8 M allocations. */
#define SC_AMF_MAX_VALUES 1024

typedef struct _ScAmfValue ScAmfValue;
struct _ScAmfValue {
  ScAmfType type;
  double number;        /* NUMBER, DATE */
  gboolean boolean;
  char *string;         /* STRING, LONG_STRING (NUL-terminated copy) */
  gsize string_len;
  GPtrArray *names;     /* OBJECT, ECMA_ARRAY: char*, parallel to values */
  GPtrArray *values;    /* OBJECT, ECMA_ARRAY, STRICT_ARRAY: ScAmfValue* */
};

ScAmfValue  *sc_amf_number      (double n);
ScAmfValue  *sc_amf_boolean     (gboolean b);
ScAmfValue  *sc_amf_string      (const char *s);
ScAmfValue  *sc_amf_null        (void);
ScAmfValue  *sc_amf_undefined   (void);
ScAmfValue  *sc_amf_object      (void);
ScAmfValue  *sc_amf_ecma_array  (void);
ScAmfValue  *sc_amf_strict_array (void);
/* Takes ownership of @v. */
void         sc_amf_set         (ScAmfValue *obj, const char *name, ScAmfValue *v);
void         sc_amf_append      (ScAmfValue *array, ScAmfValue *v);
void         sc_amf_free        (ScAmfValue *v);
/* Property of an OBJECT/ECMA_ARRAY, or NULL. */
ScAmfValue  *sc_amf_get         (const ScAmfValue *obj, const char *name);
const char  *sc_amf_get_string  (const ScAmfValue *obj, const char *name);
/* The same values, encoding alike (numbers compare by their bits). */
gboolean     sc_amf_equal       (const ScAmfValue *a, const ScAmfValue *b);

void         sc_amf_encode      (GByteArray *out, const ScAmfValue *v);
/* Decode one value at @data; *consumed gets its encoded size. */
ScAmfValue  *sc_amf_decode      (const guint8 *data, gsize len,
                                 gsize *consumed, GError **error);
/* Decode a sequence of values filling the whole buffer. */
GPtrArray   *sc_amf_decode_all  (const guint8 *data, gsize len, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScAmfValue, sc_amf_free)

/* ---- RTMP ---- */

#define SC_RTMP_HANDSHAKE_SIZE    1536
#define SC_RTMP_MAX_CHUNK_SIZE    (16 * 1024 * 1024)
#define SC_RTMP_DEFAULT_MAX_MESSAGE (8 * 1024 * 1024)
#define SC_RTMP_MAX_BUFFERED      (16 * 1024 * 1024)
#define SC_RTMP_MAX_CHUNK_STREAMS 64
/* Until a publish is accepted the peer has proved nothing (no key): it gets
 * room for the commands that lead there and no more. */
#define SC_RTMP_UNPUBLISHED_MAX_CHUNK_SIZE (64 * 1024)
#define SC_RTMP_UNPUBLISHED_MAX_MESSAGE    (64 * 1024)
#define SC_RTMP_UNPUBLISHED_MAX_BUFFERED   (128 * 1024)
#define SC_RTMP_OUT_CHUNK_SIZE    4096
#define SC_RTMP_STREAM_ID         1

typedef enum {
  SC_RTMP_EVENT_PUBLISH,   /* app, stream_name: answer with accept/reject */
  SC_RTMP_EVENT_MEDIA,     /* only after accept */
  SC_RTMP_EVENT_UNPUBLISH, /* FCUnpublish/deleteStream/closeStream */
} ScRtmpEventType;

typedef struct {
  ScRtmpEventType type;
  const char *app;
  const char *stream_name;
  ScRtmpMediaType media_type;
  guint64 timestamp_ms;
  const guint8 *data;
  gsize len;
} ScRtmpEvent;

typedef struct _ScRtmpProto ScRtmpProto;
typedef void (*ScRtmpEventFunc) (ScRtmpProto *p, const ScRtmpEvent *ev,
                                 gpointer user_data);

ScRtmpProto *sc_rtmp_proto_new      (ScRtmpEventFunc func, gpointer user_data);
void         sc_rtmp_proto_free     (ScRtmpProto *p);
/* The largest message from an accepted publisher (before that, at most
 * SC_RTMP_UNPUBLISHED_MAX_MESSAGE). */
void         sc_rtmp_proto_set_max_message (ScRtmpProto *p, gsize max);
/* Consume bytes from the peer.  Events are emitted synchronously.  FALSE
 * with @error on any protocol violation; the connection must then go. */
gboolean     sc_rtmp_proto_feed     (ScRtmpProto *p, const guint8 *data,
                                     gsize len, GError **error);
/* Stop emitting events and parsing, e.g. from inside an event handler. */
void         sc_rtmp_proto_stop     (ScRtmpProto *p);
/* Answer the pending PUBLISH event: onStatus Publish.Start, or BadName /
 * Unauthorized per the SC_ERROR code in @why. */
void         sc_rtmp_proto_accept_publish (ScRtmpProto *p);
void         sc_rtmp_proto_reject_publish (ScRtmpProto *p, const GError *why);
gboolean     sc_rtmp_proto_is_publishing (ScRtmpProto *p);
/* Bytes to send to the peer; the caller drains it. */
GByteArray  *sc_rtmp_proto_get_output (ScRtmpProto *p);
/* Build a message into @out as chunks of @chunk_size (fmt 0 then fmt 3);
 * used by the protocol itself and by tests to play the client. */
void         sc_rtmp_write_message  (GByteArray *out, guint chunk_size,
                                     guint32 csid, guint8 type,
                                     guint32 stream_id, guint32 timestamp,
                                     const guint8 *payload, gsize len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScRtmpProto, sc_rtmp_proto_free)

G_END_DECLS
