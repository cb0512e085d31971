/* libFuzzer: the server side of the RTMP wire protocol (sc_rtmp_proto),
 * handshake, chunk reassembly, control messages and the publish command
 * sequence, as the server feeds it.  The first byte of an input says how
 * the rest is fed: bit 0 refuses publishes instead of accepting them (the
 * limits differ), bit 1 leaves the handshake to the input (else a valid one
 * goes first, so that mutations reach the chunks), bits 2-3 pick the size
 * of the pieces. */
#include <stdint.h>
#include "spacecast/core.h"
#include "rtmp/rtmp-proto.h"

typedef struct {
  gboolean refuse;
  guint8 media_xor;
} Peer;

static void
on_event (ScRtmpProto *p, const ScRtmpEvent *ev, gpointer data)
{
  Peer *peer = data;
  switch (ev->type) {
    case SC_RTMP_EVENT_PUBLISH:
      g_assert_nonnull (ev->app);
      g_assert_nonnull (ev->stream_name);
      if (peer->refuse) {
        g_autoptr (GError) why = g_error_new_literal (SC_ERROR, SC_ERROR_NOT_FOUND, "refused");
        sc_rtmp_proto_reject_publish (p, why);
      } else {
        sc_rtmp_proto_accept_publish (p);
      }
      break;
    case SC_RTMP_EVENT_MEDIA:
      /* Nothing before acceptance, and every byte handed out is readable. */
      g_assert_true (sc_rtmp_proto_is_publishing (p));
      for (gsize i = 0; i < ev->len; i++)
        peer->media_xor ^= ev->data[i];
      break;
    case SC_RTMP_EVENT_UNPUBLISH:
      break;
  }
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* A critical (a g_return_if_fail) is a bug the fuzzer must report. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const gsize steps[] = { 0, 1, 13, 4096 };
  if (size < 1)
    return 0;
  Peer peer = { .refuse = data[0] & 1 };
  gboolean own_handshake = data[0] & 2;
  gsize step = steps[(data[0] >> 2) & 3];
  data++;
  size--;

  g_autoptr (ScRtmpProto) p = sc_rtmp_proto_new (on_event, &peer);
  g_autoptr (GError) error = NULL;
  if (!own_handshake) {
    guint8 hs[1 + 2 * SC_RTMP_HANDSHAKE_SIZE] = { 3 };
    g_assert_true (sc_rtmp_proto_feed (p, hs, sizeof hs, &error));
  }
  gboolean ok = TRUE;
  for (gsize off = 0; ok && off < size;) {
    gsize n = step ? MIN (step, size - off) : size - off;
    ok = sc_rtmp_proto_feed (p, data + off, n, &error);
    off += n;
    /* The server drains the replies after every read. */
    g_byte_array_set_size (sc_rtmp_proto_get_output (p), 0);
  }
  if (!ok)
    g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  return 0;
}
