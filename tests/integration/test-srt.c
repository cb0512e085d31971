/* SRT ingest against real SRT callers: ffmpeg (`-f mpegts srt://...`) and
 * srt-live-transmit push to the daemon's libsrt listener on 127.0.0.1 with
 * Mux's URL shape (streamid = stream key, passphrase = srt_passphrase), and
 * the control API, live HLS and the finished MP4 show that the same live
 * stream lifecycle as RTMP's runs: active with active_ingest_protocol srt,
 * a reconnect within the window continuing the asset, ready after the
 * window; an encoder switching RTMP → SRT → RTMP within the window keeps
 * its asset; refusals in the handshake leave nothing behind;
 * reset-stream-key, disable and the connection cap.  One daemon for every
 * case. */
#include "harness.h"

#include <math.h>

#define WAIT_S 60.0
#define MAX_CONNECTIONS 2

static ScHarness *daemon_h;
static guint16 srt_port;

typedef struct {
  char *id, *key, *passphrase, *playback_id;
} Stream;

static void
stream_free (Stream *s)
{
  g_free (s->id);
  g_free (s->key);
  g_free (s->passphrase);
  g_free (s->playback_id);
  g_free (s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Stream, stream_free)

static Stream *
create_stream (int reconnect_window)
{
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (daemon_h, reconnect_window);
  Stream *s = g_new0 (Stream, 1);
  s->id = g_strdup (json_object_get_string_member (ls, "id"));
  s->key = g_strdup (json_object_get_string_member (ls, "stream_key"));
  s->passphrase = g_strdup (json_object_get_string_member_with_default (ls, "srt_passphrase", NULL));
  s->playback_id = g_strdup (sc_harness_playback_id (ls));
  g_assert_nonnull (s->passphrase);
  /* Mux's passphrases fit SRT's 10..79 and ffmpeg's 10..64 characters. */
  g_assert_cmpuint (strlen (s->passphrase), >=, 10);
  g_assert_cmpuint (strlen (s->passphrase), <=, 64);
  g_assert_cmpstr (s->passphrase, !=, s->key);
  return s;
}

static char *
stream_path (Stream *s, const char *action)
{
  return g_strdup_printf ("/video/v1/live-streams/%s%s%s", s->id, action ? "/" : "",
                          action ? action : "");
}

/* Mux's SRT URL; a NULL part is left out. */
static char *
srt_url (const char *key, const char *passphrase)
{
  GString *u = g_string_new (NULL);
  g_string_printf (u, "srt://127.0.0.1:%u", srt_port);
  if (key)
    g_string_append_printf (u, "?streamid=%s", key);
  if (passphrase)
    g_string_append_printf (u, "%spassphrase=%s", key ? "&" : "?", passphrase);
  return g_string_free (u, FALSE);
}

static GSubprocess *
ffmpeg_publish (const char *key, const char *passphrase, double seconds)
{
  g_autofree char *url = srt_url (key, passphrase);
  return sc_harness_ffmpeg_publish_srt (url, seconds);
}

/* The same media written to stdout, sent by srt-live-transmit, which
 * stays connected after its input ends: its exit timer ends it 2 s later. */
static GSubprocess *
live_transmit_publish (Stream *s, double seconds)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *url = srt_url (s->key, s->passphrase);
  g_autofree char *cmd = g_strdup_printf (
      "ffmpeg -hide_banner -loglevel error -nostdin -re -f lavfi -i testsrc2=size=640x360:rate=30 "
      "-f lavfi -i sine=frequency=440:sample_rate=48000 -t %.3f -c:v libx264 -preset veryfast "
      "-g 60 -keyint_min 60 -pix_fmt yuv420p -c:a aac -f mpegts - | "
      "srt-live-transmit -q -a:no -t:%d file://con '%s'", seconds, (int) ceil (seconds) + 2, url);
  const char *argv[] = { "sh", "-c", cmd, NULL };
  g_autoptr (GSubprocessLauncher) l = sc_harness_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  GSubprocess *p = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  return p;
}

static JsonObject *
get_stream (Stream *s)
{
  g_autofree char *path = stream_path (s, NULL);
  return sc_harness_get_data (daemon_h, path);
}

static guint
count_assets (Stream *s)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/assets?limit=100&live_stream_id=%s", s->id);
  g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "GET", path, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  return json_array_get_length (sc_response_data_array (r));
}

/* Active over SRT, with an asset; its id. */
static char *
wait_active (Stream *s)
{
  g_autofree char *path = stream_path (s, NULL);
  g_assert_true (sc_harness_wait_member (daemon_h, path, "status", "active", WAIT_S));
  g_assert_true (sc_harness_wait_member (daemon_h, path, "active_ingest_protocol", "srt", WAIT_S));
  g_autoptr (JsonObject) ls = get_stream (s);
  g_assert_true (json_object_has_member (ls, "active_asset_id"));
  return g_strdup (json_object_get_string_member (ls, "active_asset_id"));
}

/* A caller the daemon refuses: ffmpeg gives up at once with an error, and
 * the stream stays idle with nothing recorded nor playable. */
static void
assert_refused (Stream *s, const char *key, const char *passphrase, const char *status)
{
  guint assets = count_assets (s);
  g_autoptr (GSubprocess) p = ffmpeg_publish (key, passphrase, 10);
  int exit_status = 0;
  g_assert_true (sc_harness_wait_exit (p, 20, &exit_status));
  g_assert_cmpint (exit_status, !=, 0);
  g_autoptr (JsonObject) ls = get_stream (s);
  g_assert_cmpstr (json_object_get_string_member (ls, "status"), ==, status);
  g_assert_false (json_object_has_member (ls, "active_ingest_protocol"));
  g_assert_false (json_object_has_member (ls, "active_asset_id"));
  g_assert_cmpuint (count_assets (s), ==, assets);
}

/* ffmpeg, then srt-live-transmit within the reconnect window: one asset
 * with both sessions, live HLS while it runs, ready once the window is
 * over. */
static void
test_publish (void)
{
  g_autoptr (Stream) s = create_stream (4);
  g_autoptr (GSubprocess) p = ffmpeg_publish (s->key, s->passphrase, 3);
  g_autofree char *asset_id = wait_active (s);

  /* Live HLS plays: the playlist lists a segment, which ffprobe reads as
   * H.264 and AAC through the playlist's URL. */
  g_autofree char *playlist = sc_harness_wait_live_playlist (daemon_h, s->playback_id, 1, WAIT_S);
  g_autofree char *hls = g_strdup_printf ("%s/stream/%s.m3u8", daemon_h->base_url, s->playback_id);
  const char *codecs[] = { "-show_entries", "stream=codec_name", "-of", "csv=p=0", NULL };
  g_autofree char *live_codecs = sc_harness_ffprobe (hls, codecs);
  g_assert_nonnull (strstr (live_codecs, "h264"));
  g_assert_nonnull (strstr (live_codecs, "aac"));
  sc_harness_wait_exit_ok (p, WAIT_S);

  /* Disconnected: still active (the window runs), no ingest protocol. */
  g_autofree char *path = stream_path (s, NULL);
  g_assert_true (sc_harness_wait_member (daemon_h, path, "active_ingest_protocol", NULL, WAIT_S));
  g_autoptr (JsonObject) between = get_stream (s);
  g_assert_cmpstr (json_object_get_string_member (between, "status"), ==, "active");

  double second = 3;
  g_autofree char *transmit = g_find_program_in_path ("srt-live-transmit");
  if (transmit) {
    g_autoptr (GSubprocess) q = live_transmit_publish (s, second);
    g_autofree char *again = wait_active (s);
    g_assert_cmpstr (again, ==, asset_id);
    g_assert_true (sc_harness_wait_exit (q, WAIT_S, NULL));
  } else {
    g_test_message ("srt-live-transmit not installed: one session only");
    second = 0;
  }

  g_autofree char *apath = g_strdup_printf ("/video/v1/assets/%s", asset_id);
  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (daemon_h, asset_id, WAIT_S);
  g_assert_cmpstr (json_object_get_string_member (a, "ingest_type"), ==, "live_srt");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (a, "recording_times")), ==,
                    second > 0 ? 2 : 1);
  g_assert_true (sc_harness_wait_member (daemon_h, path, "status", "idle", WAIT_S));
  g_assert_cmpuint (count_assets (s), ==, 1);

  g_autofree char *mp4 = sc_harness_download_mp4 (daemon_h, sc_harness_playback_id (a), "srt.mp4");
  sc_harness_assert_h264_aac (mp4);
  double duration = sc_harness_media_duration (mp4);
  g_test_message ("%.0f s + %.0f s over SRT recorded as %.2f s", 3.0, second, duration);
  g_assert_cmpfloat (fabs (duration - (3 + second)), <, 1.0);
  g_assert_cmpfloat (fabs (duration - json_object_get_double_member (a, "duration")), <, 0.5);
}

/* Gone from the stream, its window still running: nobody is publishing. */
static void
wait_between (Stream *s)
{
  g_autofree char *path = stream_path (s, NULL);
  g_assert_true (sc_harness_wait_member (daemon_h, path, "active_ingest_protocol", NULL, WAIT_S));
  g_autoptr (JsonObject) ls = get_stream (s);
  g_assert_cmpstr (json_object_get_string_member (ls, "status"), ==, "active");
}

/* One encoder drops RTMP and resumes the same live stream over SRT within
 * the reconnect window, then goes back to RTMP: one asset recording all
 * three sessions, active_ingest_protocol following each. */
static void
test_switch (void)
{
  const double part = 2.0;
  g_autoptr (Stream) s = create_stream (3);
  g_autofree char *path = stream_path (s, NULL);

  g_autoptr (GSubprocess) rtmp = sc_harness_ffmpeg_publish (daemon_h, s->key, part);
  g_assert_true (sc_harness_wait_member (daemon_h, path, "active_ingest_protocol", "rtmp", WAIT_S));
  g_autoptr (JsonObject) first = get_stream (s);
  g_autofree char *asset_id = g_strdup (json_object_get_string_member (first, "active_asset_id"));
  sc_harness_wait_exit_ok (rtmp, WAIT_S);
  wait_between (s);

  g_autoptr (GSubprocess) srt = ffmpeg_publish (s->key, s->passphrase, part);
  g_autofree char *again = wait_active (s);
  g_assert_cmpstr (again, ==, asset_id);
  sc_harness_wait_exit_ok (srt, WAIT_S);
  wait_between (s);

  g_autoptr (GSubprocess) back = sc_harness_ffmpeg_publish (daemon_h, s->key, part);
  g_assert_true (sc_harness_wait_member (daemon_h, path, "active_ingest_protocol", "rtmp", WAIT_S));
  g_autoptr (JsonObject) last = get_stream (s);
  g_assert_cmpstr (json_object_get_string_member (last, "active_asset_id"), ==, asset_id);
  sc_harness_wait_exit_ok (back, WAIT_S);

  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (daemon_h, asset_id, WAIT_S);
  /* The asset says how it began. */
  g_assert_cmpstr (json_object_get_string_member (a, "ingest_type"), ==, "live_rtmp");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (a, "recording_times")), ==,
                    3);
  g_assert_true (sc_harness_wait_member (daemon_h, path, "status", "idle", WAIT_S));
  g_assert_cmpuint (count_assets (s), ==, 1);
  g_autofree char *mp4 = sc_harness_download_mp4 (daemon_h, sc_harness_playback_id (a),
                                                  "switch.mp4");
  sc_harness_assert_h264_aac (mp4);
  double duration = sc_harness_media_duration (mp4);
  g_test_message ("%.0f s RTMP + %.0f s SRT + %.0f s RTMP recorded as %.2f s", part, part, part,
                  duration);
  g_assert_cmpfloat (fabs (duration - 3 * part), <, 1.0);
}

static void
test_refused (void)
{
  g_autoptr (Stream) s = create_stream (1);
  g_autoptr (Stream) other = create_stream (1);
  assert_refused (s, s->key, "wrong-passphrase-0123", "idle");
  assert_refused (s, s->key, NULL, "idle");
  assert_refused (s, "no-such-stream-key", s->passphrase, "idle");
  /* Another stream's passphrase is a wrong one. */
  assert_refused (s, s->key, other->passphrase, "idle");
  assert_refused (s, NULL, s->passphrase, "idle");
  /* Nothing of it reached the live playlist: Mux's 412, not playable yet. */
  g_autofree char *live = g_strdup_printf ("/stream/%s.m3u8", s->playback_id);
  guint status = 0;
  g_autofree char *text = sc_harness_get_text (daemon_h, live, &status);
  g_assert_cmpuint (status, ==, 412);
}

static void
test_reset_stream_key (void)
{
  g_autoptr (Stream) s = create_stream (1);
  g_autofree char *path = stream_path (s, "reset-stream-key");
  g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "POST", path, NULL);
  g_assert_cmpuint (r->status, ==, 201);
  JsonObject *d = sc_response_data (r);
  const char *key = json_object_get_string_member (d, "stream_key");
  const char *passphrase = json_object_get_string_member (d, "srt_passphrase");
  g_assert_cmpstr (key, !=, s->key);
  g_assert_cmpstr (passphrase, !=, s->passphrase);

  assert_refused (s, s->key, s->passphrase, "idle");
  assert_refused (s, key, s->passphrase, "idle");
  g_autoptr (GSubprocess) p = ffmpeg_publish (key, passphrase, 2);
  g_autofree char *asset_id = wait_active (s);
  sc_harness_wait_exit_ok (p, WAIT_S);
  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (daemon_h, asset_id, WAIT_S);
}

static void
test_disable (void)
{
  g_autoptr (Stream) s = create_stream (60);
  g_autoptr (GSubprocess) p = ffmpeg_publish (s->key, s->passphrase, 30);
  g_autofree char *asset_id = wait_active (s);
  g_autofree char *disable = stream_path (s, "disable");
  g_autoptr (ScResponse) r = sc_harness_request (daemon_h, "PUT", disable, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  /* Dropped at once (ffmpeg notices within a few seconds), far below the
   * 30 s it would run; the asset is finalised without the window. */
  g_assert_true (sc_harness_wait_exit (p, 20, NULL));
  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (daemon_h, asset_id, WAIT_S);
  assert_refused (s, s->key, s->passphrase, "disabled");

  g_autofree char *enable = stream_path (s, "enable");
  g_autoptr (ScResponse) e = sc_harness_request (daemon_h, "PUT", enable, NULL);
  g_assert_cmpuint (e->status, ==, 200);
  g_autoptr (GSubprocess) q = ffmpeg_publish (s->key, s->passphrase, 2);
  g_autofree char *second = wait_active (s);
  g_assert_cmpstr (second, !=, asset_id);
  sc_harness_wait_exit_ok (q, WAIT_S);
}

/* --srt-max-connections: a caller beyond it is rejected in the handshake;
 * the ones connected are untouched, and a place frees when one leaves. */
static void
test_connection_cap (void)
{
  Stream *s[MAX_CONNECTIONS + 1];
  GSubprocess *p[MAX_CONNECTIONS];
  for (guint i = 0; i <= MAX_CONNECTIONS; i++)
    s[i] = create_stream (1);
  for (guint i = 0; i < MAX_CONNECTIONS; i++)
    p[i] = ffmpeg_publish (s[i]->key, s[i]->passphrase, 8);
  for (guint i = 0; i < MAX_CONNECTIONS; i++)
    g_free (wait_active (s[i]));
  assert_refused (s[MAX_CONNECTIONS], s[MAX_CONNECTIONS]->key, s[MAX_CONNECTIONS]->passphrase,
                  "idle");
  for (guint i = 0; i < MAX_CONNECTIONS; i++) {
    g_autoptr (JsonObject) ls = get_stream (s[i]);
    g_assert_cmpstr (json_object_get_string_member (ls, "active_ingest_protocol"), ==, "srt");
  }
  for (guint i = 0; i < MAX_CONNECTIONS; i++) {
    sc_harness_wait_exit_ok (p[i], WAIT_S);
    g_object_unref (p[i]);
  }
  for (guint i = 0; i < MAX_CONNECTIONS; i++) {
    g_autofree char *path = stream_path (s[i], NULL);
    g_assert_true (sc_harness_wait_member (daemon_h, path, "active_ingest_protocol", NULL, WAIT_S));
  }
  g_autoptr (GSubprocess) last = ffmpeg_publish (s[MAX_CONNECTIONS]->key,
                                                 s[MAX_CONNECTIONS]->passphrase, 2);
  g_free (wait_active (s[MAX_CONNECTIONS]));
  sc_harness_wait_exit_ok (last, WAIT_S);
  for (guint i = 0; i <= MAX_CONNECTIONS; i++)
    stream_free (s[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  srt_port = sc_harness_free_port ();
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", srt_port);
  g_autofree char *cap = g_strdup_printf ("%u", MAX_CONNECTIONS);
  const char *args[] = { "--srt", listen, "--srt-max-connections", cap, NULL };
  daemon_h = sc_harness_start (args);
  g_test_add_func ("/srt/publish", test_publish);
  g_test_add_func ("/srt/switch", test_switch);
  g_test_add_func ("/srt/refused", test_refused);
  g_test_add_func ("/srt/reset-stream-key", test_reset_stream_key);
  g_test_add_func ("/srt/disable", test_disable);
  g_test_add_func ("/srt/connection-cap", test_connection_cap);
  int status = g_test_run ();
  sc_harness_free (daemon_h);
  return status;
}
