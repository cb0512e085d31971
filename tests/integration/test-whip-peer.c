/* WHIP engine end to end, in process: a tiny libsoup WHIP endpoint (this
 * test's own, not the daemon's route) answers with sc_whip_peer_new_async,
 * and the publishing client sends a solid red picture and a 440 Hz tone to
 * it over 127.0.0.1.  Checks what a broadcast would see through a tap. */
#include "spacecast/core.h"
#include "spacecast/publish.h"
#include "spacecast/whip.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/audio/audio.h>
#include <gst/video/video.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

#define TOKEN "test-token"

typedef struct {
  SoupServer *server;
  char       *url;
  guint       reply_status;    /* 0 = answer normally */
  guint       no_media_s;
  const char *codec;            /* the publisher's video codec */
  const char *file;             /* publish this file instead of test sources */
  guint32     expect_rgb;       /* centre colour the taps should see */
  char       *answer;
  guint16     port_min, port_max;
  guint       candidates;       /* a=candidate lines in the answer */
  guint       bad_candidates;   /* not 127.0.0.1 UDP inside the port range */
  ScWhipPeer *peer;
  ScWhipPeer *peer2;            /* a second publisher's peer, if any */
  gboolean    ended2;
  guint       second_tap_frames;
  gint        second_tap_notified;   /* atomic: may run on a streaming thread */
  gboolean    deleted;
  char       *delete_auth;
  char       *post_auth;

  /* filled from the peer's signals (main context) */
  guint       tracks_added;
  gint64      first_frame_us;
  guint       level_count;
  gdouble     last_level;
  gboolean    ended;
  guint       end_reason;

  /* filled from taps (streaming threads) */
  GMutex      lock;
  guint       red_frames;
  guint       other_frames;
  guint       loud_audio;
  gboolean    audio_caps_ok;
  gint        last_rgb[3];

  /* publisher */
  gboolean    publishing;
  gboolean    pub_failed;
  gboolean    pub_finished;
  char       *pub_error;
} Fixture;

typedef struct {
  Fixture *f;
  SoupServerMessage *msg;
} Pending;

/* ---- main-loop helpers -------------------------------------------------- */

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static gboolean
wait_for (gboolean (*cond) (Fixture *), Fixture *f, guint timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  guint id = g_timeout_add (50, tick, NULL);
  gboolean ok;

  while (!(ok = cond (f)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  return ok;
}

/* ---- the test's WHIP endpoint --------------------------------------------- */

static void
on_peer_ended (ScWhipPeer *peer, guint reason, const char *message, Fixture *f)
{
  g_test_message ("peer ended: reason %u (%s)", reason, message);
  if (peer == f->peer2) {
    f->ended2 = TRUE;
    return;
  }
  f->ended = TRUE;
  f->end_reason = reason;
}

static void
on_first_frame (ScWhipPeer *peer, gint64 usec, Fixture *f)
{
  f->first_frame_us = usec;
}

static void
on_level (ScWhipPeer *peer, gdouble db, Fixture *f)
{
  f->level_count++;
  f->last_level = db;
}

static void
on_track_added (ScWhipPeer *peer, guint kind, const char *codec, Fixture *f)
{
  g_test_message ("track added: %s %s", kind == SC_WHIP_TRACK_VIDEO ? "video" : "audio", codec);
  f->tracks_added++;
}

static void
video_tap (GstSample *sample, gpointer data)
{
  Fixture *f = data;
  GstVideoInfo info;
  GstVideoFrame frame;
  int y, u, v, r, g, b;

  if (!gst_video_info_from_caps (&info, gst_sample_get_caps (sample)) ||
      GST_VIDEO_INFO_FORMAT (&info) != GST_VIDEO_FORMAT_I420 ||
      !gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ))
    return;
  {
    int cx = info.width / 2, cy = info.height / 2;
    const guint8 *yp = GST_VIDEO_FRAME_COMP_DATA (&frame, 0);
    const guint8 *up = GST_VIDEO_FRAME_COMP_DATA (&frame, 1);
    const guint8 *vp = GST_VIDEO_FRAME_COMP_DATA (&frame, 2);

    y = yp[cy * GST_VIDEO_FRAME_COMP_STRIDE (&frame, 0) + cx];
    u = up[(cy / 2) * GST_VIDEO_FRAME_COMP_STRIDE (&frame, 1) + cx / 2];
    v = vp[(cy / 2) * GST_VIDEO_FRAME_COMP_STRIDE (&frame, 2) + cx / 2];
  }
  gst_video_frame_unmap (&frame);

  /* BT.601 limited range, which is what videotestsrc → vp8 → I420 gives. */
  r = (int) lround (1.164 * (y - 16) + 1.596 * (v - 128));
  g = (int) lround (1.164 * (y - 16) - 0.392 * (u - 128) - 0.813 * (v - 128));
  b = (int) lround (1.164 * (y - 16) + 2.017 * (u - 128));
  g_mutex_lock (&f->lock);
  f->last_rgb[0] = r;
  f->last_rgb[1] = g;
  f->last_rgb[2] = b;
  if (ABS (r - (int) (f->expect_rgb >> 16)) < 60 &&
      ABS (g - (int) ((f->expect_rgb >> 8) & 0xff)) < 60 &&
      ABS (b - (int) (f->expect_rgb & 0xff)) < 60)
    f->red_frames++;
  else
    f->other_frames++;
  g_mutex_unlock (&f->lock);
}

static void
audio_tap (GstSample *sample, gpointer data)
{
  Fixture *f = data;
  GstAudioInfo info;
  GstMapInfo map;
  gdouble sum = 0;
  gsize n;

  if (!gst_audio_info_from_caps (&info, gst_sample_get_caps (sample)))
    return;
  if (!gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ))
    return;
  n = map.size / 2;
  for (gsize i = 0; i < n; i++) {
    gint16 s = ((const gint16 *) map.data)[i];
    sum += (gdouble) s * s;
  }
  gst_buffer_unmap (gst_sample_get_buffer (sample), &map);

  g_mutex_lock (&f->lock);
  f->audio_caps_ok = GST_AUDIO_INFO_FORMAT (&info) == GST_AUDIO_FORMAT_S16LE &&
                     GST_AUDIO_INFO_RATE (&info) == 48000 &&
                     GST_AUDIO_INFO_CHANNELS (&info) == 2;
  /* A full-scale-ish sine has an RMS in the thousands; silence is ~0. */
  if (n > 0 && sqrt (sum / n) > 500)
    f->loud_audio++;
  g_mutex_unlock (&f->lock);
}

static void
second_video_tap (GstSample *sample, gpointer data)
{
  Fixture *f = data;

  g_mutex_lock (&f->lock);
  f->second_tap_frames++;
  g_mutex_unlock (&f->lock);
}

static void
second_tap_notify (gpointer data)
{
  g_atomic_int_set (&((Fixture *) data)->second_tap_notified, 1);
}

static guint64
video_frames (ScWhipPeer *peer)
{
  g_autoptr (GArray) stats = sc_whip_peer_get_stats (peer);

  for (guint i = 0; i < stats->len; i++) {
    ScWhipTrackStats *st = &g_array_index (stats, ScWhipTrackStats, i);
    if (st->kind == SC_WHIP_TRACK_VIDEO)
      return st->frames;
  }
  return 0;
}

static void
on_peer_ready (GObject *source, GAsyncResult *res, gpointer data)
{
  Pending *p = data;
  Fixture *f = p->f;
  g_autoptr (GError) error = NULL;
  g_autofree char *answer = NULL;
  ScWhipPeer *peer = sc_whip_peer_new_finish (res, &answer, &error);

  if (peer == NULL) {
    soup_server_message_set_status (p->msg, sc_error_http_status (error->code), NULL);
    soup_server_message_set_response (p->msg, "text/plain", SOUP_MEMORY_COPY,
                                      error->message, strlen (error->message));
  } else {
    g_auto (GStrv) lines = g_strsplit (answer, "\n", -1);

    for (guint i = 0; lines[i] != NULL; i++) {
      g_auto (GStrv) fields = NULL;
      guint64 port;

      if (!g_str_has_prefix (lines[i], "a=candidate:"))
        continue;
      /* foundation component transport priority address port typ ... */
      fields = g_strsplit (g_strstrip (lines[i]), " ", -1);
      f->candidates++;
      port = g_strv_length (fields) > 5 ? g_ascii_strtoull (fields[5], NULL, 10) : 0;
      if (g_strv_length (fields) < 8 || g_ascii_strcasecmp (fields[2], "UDP") != 0 ||
          !g_str_equal (fields[4], "127.0.0.1") ||
          port < f->port_min || port > f->port_max) {
        g_test_message ("unexpected candidate: %s", lines[i]);
        f->bad_candidates++;
      }
    }
    g_assert_null (f->peer2);
    if (f->peer == NULL) {
      f->peer = peer;
      f->answer = g_strdup (answer);
    } else {
      f->peer2 = peer;
    }
    g_signal_connect (peer, "ended", G_CALLBACK (on_peer_ended), f);
    g_signal_connect (peer, "first-frame", G_CALLBACK (on_first_frame), f);
    g_signal_connect (peer, "audio-level", G_CALLBACK (on_level), f);
    g_signal_connect (peer, "track-added", G_CALLBACK (on_track_added), f);
    sc_whip_peer_add_tap (peer, video_tap, audio_tap, f, NULL);
    soup_server_message_set_status (p->msg, SOUP_STATUS_CREATED, NULL);
    soup_message_headers_replace (soup_server_message_get_response_headers (p->msg),
                                  "Location", "/whip/session");
    soup_server_message_set_response (p->msg, "application/sdp", SOUP_MEMORY_COPY,
                                      answer, strlen (answer));
  }
  soup_server_message_unpause (p->msg);
  g_object_unref (p->msg);
  g_free (p);
}

static void
whip_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
              GHashTable *query, gpointer data)
{
  Fixture *f = data;
  const char *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *hdrs = soup_server_message_get_request_headers (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  ScWhipConfig cfg = { .ice_host = "127.0.0.1", .udp_port_min = f->port_min,
                       .udp_port_max = f->port_max, .no_media_timeout_s = f->no_media_s };
  g_autofree char *offer = NULL;
  Pending *p;

  if (g_str_equal (method, "DELETE") && g_str_equal (path, "/whip/session")) {
    f->deleted = TRUE;
    g_free (f->delete_auth);
    f->delete_auth = g_strdup (soup_message_headers_get_one (hdrs, "Authorization"));
    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
    return;
  }
  if (!g_str_equal (method, "POST") || !g_str_equal (path, "/whip")) {
    soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
    return;
  }
  g_free (f->post_auth);
  f->post_auth = g_strdup (soup_message_headers_get_one (hdrs, "Authorization"));
  if (f->reply_status != 0) {
    soup_server_message_set_status (msg, f->reply_status, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
                                      "go away", 7);
    return;
  }
  g_assert_cmpstr (soup_message_headers_get_content_type (hdrs, NULL), ==,
                   "application/sdp");
  offer = g_strndup (body->data, body->length);
  p = g_new0 (Pending, 1);
  p->f = f;
  p->msg = g_object_ref (msg);
  soup_server_message_pause (msg);
  sc_whip_peer_new_async (&cfg, "alice", offer, NULL, on_peer_ready, p);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  GSList *uris;

  g_mutex_init (&f->lock);
  f->codec = data;
  f->expect_rgb = 0xFF0000;
  f->no_media_s = 3;
  f->port_min = (guint16) g_random_int_range (20000, 60000);
  f->port_max = f->port_min + 200;
  f->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->server, "/whip", whip_handler, f, NULL);
  g_assert_true (soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY,
                                           &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (f->server);
  f->url = g_strdup_printf ("http://127.0.0.1:%d/whip", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static gboolean peer_closed_cond (Fixture *f);

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->peer != NULL) {
    sc_whip_peer_close (f->peer);
    g_clear_object (&f->peer);
  }
  if (f->peer2 != NULL) {
    sc_whip_peer_close (f->peer2);
    g_clear_object (&f->peer2);
  }
  /* Let the close task and pending idles run before the next test. */
  wait_for (peer_closed_cond, f, 1);
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  g_free (f->url);
  g_free (f->delete_auth);
  g_free (f->post_auth);
  g_free (f->pub_error);
  g_free (f->answer);
  g_mutex_clear (&f->lock);
}

static void
on_pub_event (ScPublish *pub, ScPublishEvent ev, const GError *error, gpointer data)
{
  Fixture *f = data;

  if (ev == SC_PUBLISH_EVENT_PUBLISHING)
    f->publishing = TRUE;
  else if (ev == SC_PUBLISH_EVENT_FAILED) {
    f->pub_failed = TRUE;
    f->pub_error = g_strdup (error->message);
  } else
    f->pub_finished = TRUE;
}

static ScPublish *
start_red (Fixture *f)
{
  ScPublishOptions opts = {
    .whip_url = f->url, .token = TOKEN, .has_color = TRUE, .color = 0xFF0000,
    .freq = 440, .width = 320, .height = 240, .ice_host = "127.0.0.1",
    .on_event = on_pub_event, .user_data = f, .video_codec = f->codec, .file = f->file,
  };
  g_autoptr (GError) error = NULL;
  ScPublish *pub = sc_publish_start (&opts, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pub);
  return pub;
}

/* ---- conditions ------------------------------------------------------------ */

static gboolean peer_closed_cond (Fixture *f) { return FALSE; }
static gboolean publishing_cond (Fixture *f) { return f->publishing || f->pub_failed; }
static gboolean ended_cond (Fixture *f) { return f->ended; }
static gboolean finished_cond (Fixture *f) { return f->pub_finished; }

static gboolean
tap_released_cond (Fixture *f)
{
  return g_atomic_int_get (&f->second_tap_notified);
}

static gboolean
media_cond (Fixture *f)
{
  gboolean ok;

  g_mutex_lock (&f->lock);
  ok = f->red_frames >= 10 && f->loud_audio >= 10;
  g_mutex_unlock (&f->lock);
  return ok && f->level_count >= 3 && f->first_frame_us > 0;
}

/* ---- tests -------------------------------------------------------------------- */

static void
test_publish_decode_and_vanish (Fixture *f, gconstpointer data)
{
  g_autoptr (ScPublish) pub = start_red (f);
  g_autoptr (GArray) stats = NULL;
  gboolean saw_video = FALSE;
  guint tap2;

  g_assert_true (wait_for (publishing_cond, f, 20));
  g_assert_false (f->pub_failed);
  g_assert_cmpstr (f->post_auth, ==, "Bearer " TOKEN);
  g_assert_nonnull (f->peer);
  g_test_message ("answer offers %u candidates", f->candidates);
  g_assert_cmpuint (f->candidates, >, 0);
  g_assert_cmpuint (f->bad_candidates, ==, 0);
  g_assert_true (g_str_has_suffix (sc_publish_get_location (pub), "/whip/session"));
  tap2 = sc_whip_peer_add_tap (f->peer, second_video_tap, NULL, f, second_tap_notify);

  if (!wait_for (media_cond, f, 30))
    g_error ("no decoded media: red %u other %u (last rgb %d,%d,%d), loud audio %u, "
             "levels %u, first frame %" G_GINT64_FORMAT, f->red_frames, f->other_frames,
             f->last_rgb[0], f->last_rgb[1], f->last_rgb[2], f->loud_audio,
             f->level_count, f->first_frame_us);
  g_assert_true (f->audio_caps_ok);
  g_assert_cmpuint (f->tracks_added, ==, 2);
  g_assert_cmpfloat (f->last_level, <, 0);
  g_assert_cmpfloat (f->last_level, >, -40);   /* a tone, not silence */
  g_test_message ("join-to-first-decoded-frame: %.1f ms (from peer creation)",
                  f->first_frame_us / 1000.0);

  stats = sc_whip_peer_get_stats (f->peer);
  for (guint i = 0; i < stats->len; i++) {
    ScWhipTrackStats *st = &g_array_index (stats, ScWhipTrackStats, i);
    if (st->kind == SC_WHIP_TRACK_VIDEO) {
      saw_video = TRUE;
      g_assert_cmpstr (st->codec, ==, "VP8");
      g_assert_cmpint (st->width, ==, 320);
      g_assert_cmpint (st->height, ==, 240);
      g_assert_cmpuint (st->frames, >, 0);
    } else {
      g_assert_cmpstr (st->codec, ==, "OPUS");
    }
  }
  g_assert_true (saw_video);
  g_assert_false (f->ended);

  /* Both consumers saw the one decode; a removed tap is released. */
  g_mutex_lock (&f->lock);
  g_assert_cmpuint (f->second_tap_frames, >, 0);
  g_mutex_unlock (&f->lock);
  sc_whip_peer_remove_tap (f->peer, tap2);
  g_assert_true (wait_for (tap_released_cond, f, 5));

  /* The publisher dies without DELETE: only the no-media timeout can tell. */
  sc_publish_abort (pub);
  g_assert_true (wait_for (ended_cond, f, 20));
  g_assert_cmpuint (f->end_reason, ==, SC_WHIP_END_NO_MEDIA);
  g_assert_false (f->deleted);
}

/* H.264 through avdec_h264, and an answer that keeps profile-level-id. */
static void
test_h264 (Fixture *f, gconstpointer data)
{
  g_autoptr (ScPublish) pub = start_red (f);
  g_autoptr (GArray) stats = NULL;
  gboolean saw_h264 = FALSE;

  g_assert_true (wait_for (publishing_cond, f, 20));
  if (f->pub_failed)
    g_error ("publish failed: %s", f->pub_error);
  g_assert_nonnull (strstr (f->answer, "H264/90000"));
  {
    const char *fmtp = strstr (f->answer, "a=fmtp:");
    g_test_message ("answer %.*s", fmtp ? (int) strcspn (fmtp, "\r\n") : 0, fmtp);
  }
  g_assert_nonnull (strstr (f->answer, "profile-level-id="));
  if (!wait_for (media_cond, f, 30))
    g_error ("no decoded H.264: red %u other %u (last rgb %d,%d,%d)", f->red_frames,
             f->other_frames, f->last_rgb[0], f->last_rgb[1], f->last_rgb[2]);
  stats = sc_whip_peer_get_stats (f->peer);
  for (guint i = 0; i < stats->len; i++) {
    ScWhipTrackStats *st = &g_array_index (stats, ScWhipTrackStats, i);
    if (st->kind == SC_WHIP_TRACK_VIDEO && g_str_equal (st->codec, "H264") &&
        st->width == 320 && st->height == 240 && st->frames > 0)
      saw_h264 = TRUE;
  }
  g_assert_true (saw_h264);
  sc_publish_stop (pub);
  g_assert_true (wait_for (finished_cond, f, 10));
  g_assert_true (f->deleted);
}

/* A media file (green picture, tone) is played in real time; its end stops
 * the publisher, which DELETEs its session. */
static void
test_file (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_dir_make_tmp ("sc-whip-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "clip.webm", NULL);
  g_autofree char *desc = g_strdup_printf (
      "webmmux name=m ! filesink location=\"%s\" "
      "videotestsrc num-buffers=150 pattern=green ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "vp8enc deadline=1 ! m. "
      "audiotestsrc num-buffers=250 freq=880 ! audio/x-raw,rate=48000,channels=2 ! "
      "opusenc ! m.", path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) writer = gst_parse_launch (desc, &error);
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) msg = NULL;
  g_autoptr (ScPublish) pub = NULL;

  g_assert_no_error (error);
  bus = gst_element_get_bus (writer);
  gst_element_set_state (writer, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_element_set_state (writer, GST_STATE_NULL);

  f->file = path;
  f->expect_rgb = 0x00FF00;
  pub = start_red (f);
  g_assert_true (wait_for (publishing_cond, f, 20));
  if (f->pub_failed)
    g_error ("publish failed: %s", f->pub_error);
  if (!wait_for (media_cond, f, 30))
    g_error ("no decoded media: green %u other %u (last rgb %d,%d,%d), loud audio %u",
             f->red_frames, f->other_frames, f->last_rgb[0], f->last_rgb[1],
             f->last_rgb[2], f->loud_audio);
  /* 5 s of media: the end of the file ends the session. */
  g_assert_true (wait_for (finished_cond, f, 30));
  g_assert_false (f->pub_failed);
  g_assert_true (f->deleted);
  g_unlink (path);
  g_rmdir (dir);
}

static gboolean peers_flowing_cond (Fixture *f)
{
  return f->peer2 != NULL && video_frames (f->peer) > 0 && video_frames (f->peer2) > 0;
}

/* Two publishers, two peers: one vanishing ends only its own peer. */
static void
test_two_peers_isolated (Fixture *f, gconstpointer data)
{
  g_autoptr (ScPublish) pub1 = start_red (f);
  g_autoptr (ScPublish) pub2 = NULL;
  guint64 before;
  gint64 until;

  g_assert_true (wait_for (publishing_cond, f, 20));
  g_assert_false (f->pub_failed);
  f->publishing = FALSE;
  pub2 = start_red (f);
  g_assert_true (wait_for (publishing_cond, f, 20));
  g_assert_false (f->pub_failed);
  g_assert_true (wait_for (peers_flowing_cond, f, 30));

  sc_publish_abort (pub1);
  g_assert_true (wait_for (ended_cond, f, 20));
  g_assert_false (f->ended2);
  sc_whip_peer_close (f->peer);

  before = video_frames (f->peer2);
  until = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (10000), TRUE);
  g_assert_cmpuint (video_frames (f->peer2), >, before);
  g_assert_false (f->ended2);
}

static void
test_stop_sends_delete (Fixture *f, gconstpointer data)
{
  g_autoptr (ScPublish) pub = start_red (f);

  g_assert_true (wait_for (publishing_cond, f, 20));
  g_assert_false (f->pub_failed);
  sc_publish_stop (pub);
  g_assert_true (wait_for (finished_cond, f, 10));
  g_assert_true (f->deleted);
  g_assert_cmpstr (f->delete_auth, ==, "Bearer " TOKEN);
}

static void
test_publish_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (ScPublish) pub = NULL;

  f->reply_status = SOUP_STATUS_UNAUTHORIZED;
  pub = start_red (f);
  g_assert_true (wait_for (finished_cond, f, 20));
  g_assert_true (f->pub_failed);
  g_assert_false (f->publishing);
  g_assert_cmpuint (sc_publish_get_status (pub), ==, 401);
  g_assert_nonnull (strstr (f->pub_error, "401"));
  g_assert_nonnull (strstr (f->pub_error, "go away"));
  g_assert_false (f->deleted);
}

typedef struct {
  gboolean done;
  GError *error;
  ScWhipPeer *peer;
} NewResult;

static void
on_new_done (GObject *source, GAsyncResult *res, gpointer data)
{
  NewResult *r = data;

  char *answer = NULL;

  r->peer = sc_whip_peer_new_finish (res, &answer, &r->error);
  if (r->peer != NULL)
    g_object_set_data_full (G_OBJECT (r->peer), "answer", answer, g_free);
  else
    g_free (answer);
  r->done = TRUE;
}

static void
expect_invalid (const char *offer)
{
  ScWhipConfig cfg = { .ice_host = "127.0.0.1" };
  NewResult r = { 0 };
  gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  sc_whip_peer_new_async (&cfg, "bad", offer, NULL, on_new_done, &r);
  while (!r.done && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (r.done);
  g_assert_null (r.peer);
  g_assert_error (r.error, SC_ERROR, SC_ERROR_INVALID);
  g_clear_error (&r.error);
}

static void
test_invalid_offer (void)
{
  expect_invalid ("this is not SDP");
  expect_invalid ("");
  /* Well-formed, but only VP9, which the engine does not decode. */
  expect_invalid ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                  "a=group:BUNDLE 0\r\n"
                  "m=video 9 UDP/TLS/RTP/SAVPF 98\r\nc=IN IP4 0.0.0.0\r\n"
                  "a=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n"
                  "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                  "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                  "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
                  "a=setup:actpass\r\na=rtpmap:98 VP9/90000\r\n");
}

#define FAKE_ICE_DTLS \
  "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" \
  "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:" \
  "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\n"

/* A browser-style offer: H.264 with level-asymmetry-allowed, audio marked
 * bundle-only.  1.22 would drop profile-level-id and, without max-bundle,
 * reject the audio m-line. */
static void
test_browser_style_answer (void)
{
  ScWhipConfig cfg = { .ice_host = "127.0.0.1" };
  NewResult r = { 0 };
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  g_autofree char *answer = NULL;
  const char *offer =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 98 102\r\nc=IN IP4 0.0.0.0\r\n"
    "a=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n" FAKE_ICE_DTLS
    "a=rtpmap:98 VP9/90000\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=rtcp-fb:102 nack pli\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
    "a=mid:1\r\na=sendonly\r\na=bundle-only\r\na=rtcp-mux\r\n" FAKE_ICE_DTLS
    "a=rtpmap:111 opus/48000/2\r\n";

  sc_whip_peer_new_async (&cfg, "browser", offer, NULL, on_new_done, &r);
  while (!r.done && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (r.done);
  g_assert_no_error (r.error);
  g_assert_nonnull (r.peer);
  answer = g_strdup (g_object_get_data (G_OBJECT (r.peer), "answer"));
  sc_whip_peer_close (r.peer);
  g_clear_object (&r.peer);
  g_assert_nonnull (answer);
  g_test_message ("%s", answer);
  g_assert_nonnull (strstr (answer, "a=rtpmap:102 H264/90000"));
  g_assert_nonnull (strstr (answer, "profile-level-id=42e01f"));
  g_assert_nonnull (strstr (answer, "a=recvonly"));
  g_assert_null (strstr (answer, "m=audio 0 "));
  g_assert_null (strstr (answer, "VP9"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);

  g_test_add_func ("/whip-peer/invalid-offer", test_invalid_offer);
  g_test_add_func ("/whip-peer/browser-style-answer", test_browser_style_answer);
  g_test_add ("/whip-peer/publish-decode-vanish", Fixture, NULL, fixture_setup,
              test_publish_decode_and_vanish, fixture_teardown);
  g_test_add ("/whip-peer/h264", Fixture, "h264", fixture_setup,
              test_h264, fixture_teardown);
  g_test_add ("/whip-peer/file", Fixture, NULL, fixture_setup,
              test_file, fixture_teardown);
  g_test_add ("/whip-peer/two-peers-isolated", Fixture, NULL, fixture_setup,
              test_two_peers_isolated, fixture_teardown);
  g_test_add ("/whip-peer/stop-sends-delete", Fixture, NULL, fixture_setup,
              test_stop_sends_delete, fixture_teardown);
  g_test_add ("/whip-peer/publish-refused", Fixture, NULL, fixture_setup,
              test_publish_refused, fixture_teardown);
  return g_test_run ();
}
