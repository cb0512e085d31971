/* What one simulcast target is sent, message by message (simulcast-flv.c). */
#include "spacecast/simulcast.h"

#include <string.h>

static const guint8 avc_config[] = { 0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x1f };
static const guint8 aac_config[] = { 0xaf, 0x00, 0x11, 0x90 };
static const guint8 keyframe[] = { 0x17, 0x01, 0, 0, 0x21, 0xaa, 0xbb };
static const guint8 frame[] = { 0x27, 0x01, 0, 0, 0x21, 0xcc };
static const guint8 aac_frame[] = { 0xaf, 0x01, 0x21, 0x10 };
static const guint8 meta[] = { 0x02, 0x00, 0x0d, '@', 's', 'e', 't', 'D', 'a', 't', 'a', 'F',
                               'r', 'a', 'm', 'e', 0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't',
                               'a', 'D', 'a', 't', 'a', 0x08, 0, 0, 0, 0, 0, 0, 9 };

static guint32
tag_ts (GBytes *tag)
{
  const guint8 *b = g_bytes_get_data (tag, NULL);
  return ((guint32) b[7] << 24) | ((guint32) b[4] << 16) | ((guint32) b[5] << 8) | b[6];
}

static guint8
tag_type (GBytes *tag)
{
  return ((const guint8 *) g_bytes_get_data (tag, NULL))[0];
}

static GPtrArray *
feed (ScSimulcastGate *g, ScSimulcastHeaders *h, ScRtmpMediaType type, guint64 ts,
      const guint8 *data, gsize len)
{
  sc_simulcast_headers_update (h, type, data, len);
  return sc_simulcast_gate (g, h, type, ts, data, len);
}

static void
test_tag (void)
{
  g_autoptr (GBytes) t = sc_simulcast_flv_tag (SC_RTMP_MEDIA_VIDEO, 0x12345678, frame, sizeof frame);
  gsize n;
  const guint8 *b = g_bytes_get_data (t, &n);
  g_assert_cmpuint (n, ==, 11 + sizeof frame + 4);
  g_assert_cmpuint (b[0], ==, 9);
  g_assert_cmpuint ((b[1] << 16) | (b[2] << 8) | b[3], ==, sizeof frame);
  g_assert_cmpuint (tag_ts (t), ==, 0x12345678);
  g_assert_cmpmem (b + 11, sizeof frame, frame, sizeof frame);
  g_assert_cmpuint (b[n - 1], ==, 11 + sizeof frame);
}

static void
test_starts_on_keyframe (void)
{
  ScSimulcastHeaders h = { 0 };
  ScSimulcastGate g = { 0 };

  /* Headers and frames before any keyframe: nothing. */
  g_autoptr (GPtrArray) a = feed (&g, &h, SC_RTMP_MEDIA_DATA, 0, meta, sizeof meta);
  g_autoptr (GPtrArray) b = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 0, avc_config, sizeof avc_config);
  g_autoptr (GPtrArray) c = feed (&g, &h, SC_RTMP_MEDIA_AUDIO, 0, aac_config, sizeof aac_config);
  g_autoptr (GPtrArray) d = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 1000, frame, sizeof frame);
  g_autoptr (GPtrArray) e = feed (&g, &h, SC_RTMP_MEDIA_AUDIO, 1990, aac_frame, sizeof aac_frame);
  g_assert_cmpuint (a->len + b->len + c->len + d->len + e->len, ==, 0);
  g_assert_false (g.started);

  /* The keyframe: metadata (without @setDataFrame), both configurations,
   * then the picture, all at 0. */
  g_autoptr (GPtrArray) k = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 2000, keyframe, sizeof keyframe);
  g_assert_cmpuint (k->len, ==, 4);
  g_assert_cmpuint (tag_type (k->pdata[0]), ==, 18);
  gsize n;
  const guint8 *m = g_bytes_get_data (k->pdata[0], &n);
  g_assert_cmpuint (n, ==, 11 + sizeof meta - 16 + 4);
  g_assert_cmpmem (m + 11, 3, "\x02\x00\x0a", 3);
  g_assert_cmpuint (tag_type (k->pdata[1]), ==, 9);
  g_assert_cmpuint (tag_type (k->pdata[2]), ==, 8);
  g_assert_cmpuint (tag_type (k->pdata[3]), ==, 9);
  for (guint i = 0; i < k->len; i++)
    g_assert_cmpuint (tag_ts (k->pdata[i]), ==, 0);

  /* After it, timestamps count from it; late audio from before is dropped. */
  g_autoptr (GPtrArray) late = feed (&g, &h, SC_RTMP_MEDIA_AUDIO, 1995, aac_frame, sizeof aac_frame);
  g_assert_cmpuint (late->len, ==, 0);
  g_autoptr (GPtrArray) f = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 2033, frame, sizeof frame);
  g_assert_cmpuint (f->len, ==, 1);
  g_assert_cmpuint (tag_ts (f->pdata[0]), ==, 33);
  g_autoptr (GPtrArray) au = feed (&g, &h, SC_RTMP_MEDIA_AUDIO, 2021, aac_frame, sizeof aac_frame);
  g_assert_cmpuint (tag_ts (au->pdata[0]), ==, 21);

  /* A new configuration mid-stream goes on at once. */
  g_autoptr (GPtrArray) cfg = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 3000, avc_config, sizeof avc_config);
  g_assert_cmpuint (cfg->len, ==, 1);
  g_assert_cmpuint (tag_ts (cfg->pdata[0]), ==, 1000);

  /* Other data messages and end-of-sequence are not media: not sent. */
  static const guint8 other[] = { 0x02, 0x00, 0x03, 'f', 'o', 'o' };
  static const guint8 eos[] = { 0x17, 0x02, 0, 0, 0 };
  g_autoptr (GPtrArray) o = feed (&g, &h, SC_RTMP_MEDIA_DATA, 3000, other, sizeof other);
  g_autoptr (GPtrArray) x = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 3000, eos, sizeof eos);
  g_assert_cmpuint (o->len + x->len, ==, 0);
  sc_simulcast_headers_clear (&h);
}

static void
test_resync_keeps_timeline (void)
{
  ScSimulcastHeaders h = { 0 };
  ScSimulcastGate g = { 0 };
  g_autoptr (GPtrArray) a = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 0, avc_config, sizeof avc_config);
  g_autoptr (GPtrArray) k = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 500, keyframe, sizeof keyframe);
  g_assert_cmpuint (k->len, ==, 2);   /* no metadata nor audio seen: config + picture */

  /* The caller dropped a tag: nothing until the next keyframe, which comes
   * with its configuration again, on the same timeline. */
  g.resync = TRUE;
  g_autoptr (GPtrArray) f = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 533, frame, sizeof frame);
  g_assert_cmpuint (f->len, ==, 0);
  g_autoptr (GPtrArray) k2 = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 2500, keyframe, sizeof keyframe);
  g_assert_cmpuint (k2->len, ==, 2);
  g_assert_cmpuint (tag_ts (k2->pdata[0]), ==, 2000);
  g_assert_cmpuint (tag_ts (k2->pdata[1]), ==, 2000);
  g_assert_false (g.resync);
  sc_simulcast_headers_clear (&h);
}

static void
test_no_config_no_start (void)
{
  ScSimulcastHeaders h = { 0 };
  ScSimulcastGate g = { 0 };
  g_autoptr (GPtrArray) k = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 0, keyframe, sizeof keyframe);
  g_assert_cmpuint (k->len, ==, 0);
  g_assert_false (g.started);
  static const guint8 tiny[] = { 0x17 };
  g_autoptr (GPtrArray) t = feed (&g, &h, SC_RTMP_MEDIA_VIDEO, 0, tiny, sizeof tiny);
  g_autoptr (GPtrArray) e = feed (&g, &h, SC_RTMP_MEDIA_AUDIO, 0, NULL, 0);
  g_assert_cmpuint (t->len + e->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/simulcast/flv-tag", test_tag);
  g_test_add_func ("/simulcast/starts-on-keyframe", test_starts_on_keyframe);
  g_test_add_func ("/simulcast/resync-keeps-timeline", test_resync_keeps_timeline);
  g_test_add_func ("/simulcast/no-config-no-start", test_no_config_no_start);
  return g_test_run ();
}
