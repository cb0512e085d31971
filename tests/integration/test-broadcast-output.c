/* The broadcast's RTMP output when it fails: the server goes away and comes
 * back (reconnect into the same mix), refusals told apart from network
 * errors, and a server that refuses the stream key (a minimal RTMP server
 * here, refusing the way real ingests do). */
#include "bcast-helpers.h"
#include "spacecast/rtmp.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

/* ---- the output fails: reconnect without touching the mix ----------------- */


static void
test_reconnect (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-bcast-XXXXXX", &error);
  guint16 port = sc_harness_free_port ();
  RtmpServer *srv1 = server_start (dir, "out1.flv", port);

  ScBcastConfig cfg = { .width = OUT_W, .height = OUT_H, .fps = 30, .rtmp_url = srv1->url,
                        .background_argb = BG_ARGB };
  ScBcastPipeline *b = sc_bcast_pipeline_new (&cfg, &error);
  g_assert_no_error (error);
  StateLog log = { g_ptr_array_new_with_free_func (g_free) };
  sc_bcast_pipeline_set_state_func (b, on_state, &log);
  g_assert_true (sc_bcast_pipeline_start (b, &error));
  Participant *red = participant_start (b, "red", RED_ARGB, 440);
  ScTile tile;
  make_tile (&tile, "red", 0, 0, OUT_W, OUT_H);
  sc_bcast_pipeline_set_tiles (b, &tile, 1, 0);
  spin (3000);

  ScBcastHealth h1, h2;
  sc_bcast_pipeline_get_health (b, &h1);
  g_assert_cmpuint (h1.reconnects, ==, 0);
  /* The server dies; a new one comes up on the same address. */
  g_subprocess_force_exit (srv1->proc);
  g_subprocess_wait (srv1->proc, NULL, NULL);
  guint mark = log.states->len;
  RtmpServer *srv2 = server_start (dir, "out2.flv", port);
  for (int i = 0; i < 600 && !(log_has (&log, "reconnecting", mark) &&
                               log_has (&log, "running", mark)); i++)
    spin (50);
  g_assert_true (log_has (&log, "reconnecting", mark));
  g_assert_true (log_has (&log, "running", mark));
  for (guint i = 0; i < log.states->len; i++)
    g_test_message ("state: %s", (char *) g_ptr_array_index (log.states, i));
  spin (4000);
  sc_bcast_pipeline_get_health (b, &h2);
  g_test_message ("after reconnect: state=%s reconnects=%u frames=%" G_GUINT64_FORMAT
                  " dropped=%" G_GUINT64_FORMAT, sc_bcast_state_to_string (h2.state),
                  h2.reconnects, h2.frames_out, h2.frames_dropped);
  g_assert_cmpint (h2.state, ==, SC_BCAST_RUNNING);
  g_assert_cmpuint (h2.reconnects, >=, 1);
  g_assert_cmpuint (h2.frames_out, >, h1.frames_out + 60);
  /* The mix itself never stopped: output time kept pace across the outage. */
  g_assert_cmpuint (h2.position - h1.position, >, 4 * GST_SECOND);

  sc_bcast_pipeline_stop (b);
  participant_stop (red);
  server_wait (srv2);

  /* The new session starts decodable (keyframe first), with audio from
   * that keyframe on. */
  g_autoptr (GArray) frames = probe_frames (srv2->path);
  g_assert_cmpuint (frames->len, >, 60);
  g_assert_true (g_array_index (frames, Frame, 0).key);
  assert_av_in_step (srv2->path, frames);
  const char *sargs[] = { "-show_entries", "stream=codec_type,codec_name",
                          "-of", "compact=p=0", NULL };
  g_autofree char *streams = sc_harness_ffprobe (srv2->path, sargs);
  g_assert_nonnull (strstr (streams, "codec_name=h264|codec_type=video"));
  g_assert_nonnull (strstr (streams, "codec_name=aac|codec_type=audio"));
  g_autoptr (GBytes) raw = decode_small (srv2->path);
  const guint8 *px = g_bytes_get_data (raw, NULL);
  gsize last = (frames->len - 1) * 64 * 36 * 3;
  g_assert_cmpint (classify (px + last + (18 * 64 + 32) * 3), ==, C_RED);

  sc_bcast_pipeline_free (b);
  g_ptr_array_unref (log.states);
  g_unlink (srv1->path);
  g_unlink (srv2->path);
  server_free (srv1);
  server_free (srv2);
  g_rmdir (dir);
}

static void
test_refusal_classification (void)
{
  /* The errors rtmp2sink 1.22 posts (gstrtmp2sink.c connect_task_done). */
  g_autoptr (GError) badname = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED,
      "Failed to connect: publish denied; stream already exists: {code: 'NetStream.Publish.BadName'}");
  g_autoptr (GError) denied = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED,
      "Not authorized to connect: publish denied: {code: 'NetStream.Publish.Denied'}");
  g_autoptr (GError) unauthorized = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED,
      "Failed to connect: 'publish' cmd failed: onStatus: { \"level\": \"error\", "
      "\"code\": \"NetStream.Publish.Unauthorized\", \"description\": \"live stream is disabled\" }");
  g_autoptr (GError) refused = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
      "Connection refused: Could not connect to 127.0.0.1: Connection refused");
  g_autoptr (GError) closed = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE,
      "Connection error: connection closed remotely");
  g_assert_true (sc_rtmp_push_error_is_refusal (badname));
  g_assert_true (sc_rtmp_push_error_is_refusal (denied));
  g_assert_true (sc_rtmp_push_error_is_refusal (unauthorized));
  g_assert_false (sc_rtmp_push_error_is_refusal (refused));
  g_assert_false (sc_rtmp_push_error_is_refusal (closed));
  g_assert_false (sc_rtmp_push_error_is_refusal (NULL));
}

/* ---- a server that refuses the stream key --------------------------------- */

/* Just enough RTMP server to refuse a publish the way real ingests do:
 * handshake, connect → success, createStream → 1, publish → onStatus error
 * NetStream.Publish.BadName.  Counts the connections it accepted. */
typedef struct {
  GSocket *listener;
  guint16 port;
  gint accepted;
  GThread *thread;
} Refuser;

static gboolean
read_exact (GSocket *s, guint8 *buf, gsize n)
{
  while (n > 0) {
    gssize r = g_socket_receive (s, (char *) buf, n, NULL, NULL);
    if (r <= 0)
      return FALSE;
    buf += r;
    n -= r;
  }
  return TRUE;
}

static void
amf_str (GByteArray *b, const char *v)
{
  guint8 h[3] = { 0x02, strlen (v) >> 8, strlen (v) & 0xff };
  g_byte_array_append (b, h, 3);
  g_byte_array_append (b, (const guint8 *) v, strlen (v));
}

static void
amf_num (GByteArray *b, double v)
{
  guint64 bits;
  memcpy (&bits, &v, 8);
  bits = GUINT64_TO_BE (bits);
  guint8 t = 0x00;
  g_byte_array_append (b, &t, 1);
  g_byte_array_append (b, (const guint8 *) &bits, 8);
}

static void
amf_null (GByteArray *b)
{
  guint8 t = 0x05;
  g_byte_array_append (b, &t, 1);
}

static void
amf_status (GByteArray *b, const char *level, const char *code)
{
  guint8 t = 0x03, end[3] = { 0, 0, 9 };
  const char *kv[] = { "level", level, "code", code, "description", "refused by test" };
  g_byte_array_append (b, &t, 1);
  for (int i = 0; i < 6; i += 2) {
    guint8 kl[2] = { 0, strlen (kv[i]) };
    g_byte_array_append (b, kl, 2);
    g_byte_array_append (b, (const guint8 *) kv[i], strlen (kv[i]));
    amf_str (b, kv[i + 1]);
  }
  g_byte_array_append (b, end, 3);
}

static void
send_msg (GSocket *s, guint8 csid, guint8 type, guint32 stream, GByteArray *payload)
{
  guint8 h[12] = { csid, 0, 0, 0, payload->len >> 16, payload->len >> 8, payload->len,
                   type, stream, stream >> 8, stream >> 16, stream >> 24 };
  g_socket_send (s, (const char *) h, 12, NULL, NULL);
  g_socket_send (s, (const char *) payload->data, payload->len, NULL, NULL);
}

static gpointer
refuser_thread (gpointer data)
{
  Refuser *r = data;
  g_autoptr (GSocket) c = g_socket_accept (r->listener, NULL, NULL);
  if (!c)
    return NULL;
  g_atomic_int_inc (&r->accepted);
  guint8 c01[1537], s012[1 + 1536 * 2] = { 3 }, c2[1536];
  if (!read_exact (c, c01, sizeof c01))
    return NULL;
  memcpy (s012 + 1 + 1536, c01 + 1, 1536);     /* S2 echoes C1 */
  g_socket_send (c, (const char *) s012, sizeof s012, NULL, NULL);
  if (!read_exact (c, c2, sizeof c2))
    return NULL;
  /* Our chunks fit in one piece once the client knows our chunk size. */
  g_autoptr (GByteArray) cs = g_byte_array_new ();
  guint8 size[4] = { 0, 0, 0x10, 0 };
  g_byte_array_append (cs, size, 4);
  send_msg (c, 2, 1, 0, cs);

  guint32 in_chunk = 128;
  struct { guint32 len, type, stream; GByteArray *buf; } st[64] = { { 0 } };
  for (;;) {
    guint8 bh;
    if (!read_exact (c, &bh, 1))
      break;
    guint fmt = bh >> 6, id = bh & 0x3f;
    if (id < 2 || id >= 64)
      break;     /* the client only uses small chunk stream ids */
    guint8 mh[11];
    gsize mlen = fmt == 0 ? 11 : fmt == 1 ? 7 : fmt == 2 ? 3 : 0;
    if (!read_exact (c, mh, mlen))
      break;
    if (fmt <= 1) {
      st[id].len = (mh[3] << 16) | (mh[4] << 8) | mh[5];
      st[id].type = mh[6];
    }
    if (fmt == 0)
      st[id].stream = mh[7] | (mh[8] << 8) | (mh[9] << 16) | ((guint32) mh[10] << 24);
    if (mlen && mh[0] == 0xff && mh[1] == 0xff && mh[2] == 0xff) {
      guint8 ext[4];
      if (!read_exact (c, ext, 4))
        break;
    }
    if (!st[id].buf)
      st[id].buf = g_byte_array_new ();
    guint32 want = MIN (in_chunk, st[id].len - st[id].buf->len);
    guint8 tmp[65536];
    if (!read_exact (c, tmp, want))
      break;
    g_byte_array_append (st[id].buf, tmp, want);
    if (st[id].buf->len < st[id].len)
      continue;
    GByteArray *m = st[id].buf;
    st[id].buf = NULL;
    if (st[id].type == 1 && m->len >= 4) {
      in_chunk = ((m->data[0] & 0x7f) << 24) | (m->data[1] << 16) | (m->data[2] << 8) | m->data[3];
      in_chunk = MIN (in_chunk, sizeof tmp);
    } else if (st[id].type == 20 && m->len > 3 && m->data[0] == 0x02) {
      guint n = (m->data[1] << 8) | m->data[2];
      g_autofree char *name = g_strndup ((const char *) m->data + 3, MIN (n, m->len - 3));
      double txn = 0;
      if (m->len >= 3 + n + 9 && m->data[3 + n] == 0x00) {
        guint64 bits;
        memcpy (&bits, m->data + 3 + n + 1, 8);
        bits = GUINT64_FROM_BE (bits);
        memcpy (&txn, &bits, 8);
      }
      g_autoptr (GByteArray) out = g_byte_array_new ();
      if (!strcmp (name, "connect")) {
        amf_str (out, "_result"); amf_num (out, txn); amf_null (out);
        amf_status (out, "status", "NetConnection.Connect.Success");
        send_msg (c, 3, 20, 0, out);
      } else if (!strcmp (name, "createStream")) {
        amf_str (out, "_result"); amf_num (out, txn); amf_null (out); amf_num (out, 1);
        send_msg (c, 3, 20, 0, out);
      } else if (!strcmp (name, "publish")) {
        amf_str (out, "onStatus"); amf_num (out, 0); amf_null (out);
        amf_status (out, "error", "NetStream.Publish.BadName");
        send_msg (c, 5, 20, 1, out);
        g_byte_array_unref (m);
        break;     /* and hang up, as ingest servers do */
      }
    }
    g_byte_array_unref (m);
  }
  for (int i = 0; i < 64; i++)
    if (st[i].buf)
      g_byte_array_unref (st[i].buf);
  return NULL;
}

static void
test_key_refused (void)
{
  g_autoptr (GError) error = NULL;
  Refuser r = { 0 };
  r.listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (r.listener, any, TRUE, &error));
  g_assert_true (g_socket_listen (r.listener, &error));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (r.listener, &error);
  r.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  r.thread = g_thread_new ("refuser", refuser_thread, &r);

  g_autofree char *url = g_strdup_printf ("rtmp://127.0.0.1:%u/app/wrong-key", r.port);
  ScBcastConfig cfg = { .width = OUT_W, .height = OUT_H, .fps = 30, .rtmp_url = url };
  ScBcastPipeline *b = sc_bcast_pipeline_new (&cfg, &error);
  g_assert_no_error (error);
  StateLog log = { g_ptr_array_new_with_free_func (g_free) };
  sc_bcast_pipeline_set_state_func (b, on_state, &log);
  g_assert_true (sc_bcast_pipeline_start (b, &error));
  ScBcastHealth h;
  for (int i = 0; i < 400; i++) {
    spin (50);
    sc_bcast_pipeline_get_health (b, &h);
    if (h.state == SC_BCAST_FAILED)
      break;
  }
  g_test_message ("refused: %s", h.reason);
  g_assert_cmpint (h.state, ==, SC_BCAST_FAILED);
  g_assert_nonnull (strstr (h.reason, "publish denied"));
  g_assert_nonnull (strstr (h.reason, "NetStream.Publish.BadName"));
  /* Given up at once: no retry, no reconnect counted, the owner told. */
  spin (2500);
  sc_bcast_pipeline_get_health (b, &h);
  g_assert_cmpint (h.state, ==, SC_BCAST_FAILED);
  g_assert_cmpuint (h.reconnects, ==, 0);
  g_assert_cmpint (g_atomic_int_get (&r.accepted), ==, 1);
  g_assert_true (log_has (&log, "failed: ", 0));
  g_assert_false (log_has (&log, "reconnecting", 0));

  sc_bcast_pipeline_free (b);
  g_socket_close (r.listener, NULL);
  g_thread_join (r.thread);
  g_object_unref (r.listener);
  g_ptr_array_unref (log.states);
}

int
main (int argc, char **argv)
{
  bcast_test_init (&argc, &argv);
  g_test_add_func ("/broadcast-output/reconnect", test_reconnect);
  g_test_add_func ("/broadcast-output/refusal-classification", test_refusal_classification);
  g_test_add_func ("/broadcast-output/key-refused", test_key_refused);
  return g_test_run ();
}
