/* Broadcasts end to end: WHIP publishers of solid colours join a space, a
 * broadcast composites them into the daemon's own RTMP ingest, and the
 * recorded asset shows the layouts it was asked for. */
#include "harness.h"
#include "spacecast/layout.h"

#include <string.h>

#define RED   0xFF0000
#define GREEN 0x00FF00
#define BLUE  0x0000FF

typedef struct {
  ScHarness *h;
  char *space_id;
  char *key_id;
  char *private_key;
} Space;

static ScResponse *
api (ScHarness *h, guint expect, const char *method, const char *path, const char *body)
{
  ScResponse *r = sc_harness_request (h, method, path, body);
  if (r->status != expect) {
    g_autofree char *text = sc_response_error_text (r);
    g_error ("%s %s: expected %u, got %u: %s", method, path, expect, r->status,
             text ? text : "");
  }
  return r;
}

static void
space_init (Space *s, ScHarness *h)
{
  s->h = h;
  sc_harness_create_signing_key (h, &s->key_id, &s->private_key);
  s->space_id = sc_harness_create_space (h);
}

static void
space_clear (Space *s)
{
  g_free (s->space_id);
  g_free (s->key_id);
  g_free (s->private_key);
}

static void
wait_participants (Space *s, guint n)
{
  g_autoptr (JsonObject) first = sc_harness_wait_participants (s->h, s->space_id, n, 0, 60);
}

/* A publish CLI process; joins with its own token. */
static GSubprocess *
publisher_start (Space *s, const char *pid, guint32 rgb, int freq)
{
  g_autofree char *token = NULL;
  const char *sign[] = { g_getenv ("SC_DAEMON"), "sign", "--space", s->space_id,
                         "--key-id", s->key_id, "--private-key", s->private_key,
                         "--participant-id", pid, NULL };
  g_assert_cmpint (sc_harness_run (&token, sign), ==, 0);
  g_strstrip (token);
  g_autofree char *color = g_strdup_printf ("0x%06X", rgb);
  g_autofree char *f = g_strdup_printf ("%d", freq);
  const char *args[] = { "--color", color, "--freq", f, NULL };
  return sc_harness_whip_publish (s->h, s->space_id, token, args, NULL);
}

static char *
create_live_stream (ScHarness *h)
{
  g_autoptr (ScResponse) r = api (h, 201, "POST", "/video/v1/live-streams",
                                  "{\"playback_policy\":[\"public\"],"
                                  "\"new_asset_settings\":{\"playback_policy\":[\"public\"]}}");
  return g_strdup (sc_response_str (r, "id"));
}

static char *
create_broadcast (Space *s, const char *ls, const char *layout)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s/broadcasts", s->space_id);
  g_autofree char *body = g_strdup_printf ("{\"live_stream_id\":\"%s\",\"layout\":\"%s\","
                                           "\"resolution\":\"1280x720\"}", ls, layout);
  g_autoptr (ScResponse) r = api (s->h, 201, "POST", path, body);
  return g_strdup (sc_response_str (r, "id"));
}

static ScResponse *
get_broadcast (Space *s, const char *b)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s/broadcasts/%s", s->space_id, b);
  return api (s->h, 200, "GET", path, NULL);
}

static ScResponse *
broadcast_action (Space *s, const char *b, const char *action)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s/broadcasts/%s/%s",
                                           s->space_id, b, action);
  return sc_harness_request (s->h, "POST", path, "{}");
}

static void
wait_live_status (ScHarness *h, const char *ls, const char *want)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s", ls);
  if (!sc_harness_wait_member (h, path, "status", want, 60))
    g_error ("live stream %s never became %s", ls, want);
}

/* Wait until the broadcast's health is running at about 30 fps. */
static void
wait_running (Space *s, const char *b)
{
  double fps = 0;
  const char *state = NULL;
  for (int i = 0; i < 600; i++) {
    g_autoptr (ScResponse) r = get_broadcast (s, b);
    JsonObject *d = sc_response_data (r);
    g_assert_cmpstr (json_object_get_string_member (d, "status"), ==, "active");
    if (json_object_has_member (d, "health")) {
      JsonObject *hl = json_object_get_object_member (d, "health");
      state = json_object_get_string_member (hl, "state");
      fps = json_object_get_double_member (hl, "output_fps");
      /* ~30 on an idle machine; a loaded one only has to be producing, and
       * right after start the rate window can read a catch-up burst. */
      if (g_str_equal (state, "running") && fps > 0) {
        g_test_message ("health running, output_fps %.1f", fps);
        g_assert_nonnull (json_object_get_string_member (d, "encoder"));
        return;
      }
    }
    g_usleep (100 * 1000);
  }
  g_error ("broadcast %s health never running (last %s, %.1f)", b, state, fps);
}

/* The newest asset of the live stream, once ready: its playback id. */
static char *
wait_asset_ready (ScHarness *h, const char *ls, double *duration)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s", ls);
  g_autofree char *asset = NULL;
  for (int i = 0; i < 600 && !asset; i++) {
    g_autoptr (ScResponse) r = api (h, 200, "GET", path, NULL);
    JsonArray *ids = json_object_get_array_member (sc_response_data (r), "recent_asset_ids");
    guint n = json_array_get_length (ids);
    if (n)
      asset = g_strdup (json_array_get_string_element (ids, n - 1));
    else
      g_usleep (100 * 1000);
  }
  g_assert_nonnull (asset);
  g_autoptr (JsonObject) a = sc_harness_wait_asset_ready (h, asset, 60);
  if (duration)
    *duration = json_object_get_double_member_with_default (a, "duration", 0);
  return g_strdup (sc_harness_playback_id (a));
}

/* One frame at time t, scaled to 128x72 RGB. */
static GBytes *
frame_at (const char *file, double t)
{
  g_autofree char *ts = g_strdup_printf ("%.2f", t);
  const char *argv[] = { "ffmpeg", "-nostdin", "-v", "error", "-ss", ts, "-i", file,
                         "-frames:v", "1", "-vf", "scale=128:72,format=rgb24",
                         "-f", "rawvideo", "-", NULL };
  GBytes *bytes = sc_harness_run_raw (argv);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 128 * 72 * 3);
  return bytes;
}

static guint32
classify (const guint8 *px)
{
  int r = px[0], g = px[1], b = px[2];
  if (r > 170 && g < 80 && b < 80) return RED;
  if (g > 140 && r < 80 && b < 80) return GREEN;
  if (b > 170 && r < 80 && g < 80) return BLUE;
  return 0;
}

static guint32
colour_at (GBytes *frame, int x, int y)
{
  const guint8 *px = g_bytes_get_data (frame, NULL);
  int sx = x * 128 / 1280, sy = y * 72 / 720;
  return classify (px + (sy * 128 + sx) * 3);
}

static double
fraction_of (GBytes *frame, guint32 colour)
{
  const guint8 *px = g_bytes_get_data (frame, NULL);
  guint n = 0;
  for (int i = 0; i < 128 * 72; i++)
    n += classify (px + i * 3) == colour;
  return n / (128.0 * 72.0);
}

static void
check_probe (const char *file, double switch_at)
{
  sc_harness_assert_h264_aac (file);

  g_autoptr (GArray) kt = sc_harness_keyframe_times (file);
  g_assert_cmpuint (kt->len, >=, 4);
  for (guint i = 1; i < kt->len; i++) {
    double d = g_array_index (kt, double, i) - g_array_index (kt, double, i - 1);
    g_test_message ("keyframe at %.3f (+%.3f)", g_array_index (kt, double, i), d);
    g_assert_cmpfloat (d, >, 1.9);
    g_assert_cmpfloat (d, <, 2.1);
  }

  /* Every video packet follows the last within a frame or two, switch included. */
  const char *pkts[] = { "-select_streams", "v:0", "-show_entries", "packet=dts_time",
                         "-of", "csv=p=0", NULL };
  g_autoptr (GArray) pt = sc_harness_ffprobe_times (file, pkts);
  g_assert_cmpuint (pt->len, >, 100);
  double max_gap = 0, gap_at = 0;
  for (guint i = 1; i < pt->len; i++) {
    double d = g_array_index (pt, double, i) - g_array_index (pt, double, i - 1);
    if (d > max_gap) {
      max_gap = d;
      gap_at = g_array_index (pt, double, i);
    }
  }
  g_test_message ("largest video dts gap %.3f s at %.2f (switch near %.1f)", max_gap, gap_at,
                  switch_at);
  g_assert_cmpfloat (max_gap, <, 0.15);
}

static guint32
colour_of (const char *participant_id)
{
  return g_str_equal (participant_id, "red") ? RED
       : g_str_equal (participant_id, "blue") ? BLUE : GREEN;
}

static void
assert_gallery (const char *file, double t, const ScLayoutParticipant *parts, guint n)
{
  ScLayoutOptions opts = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_layout_options_init_from_json (&opts, "gallery", NULL, 1280, 720, &error));
  g_autoptr (GArray) tiles = sc_layout_compute (&opts, parts, n, NULL);
  g_assert_cmpuint (tiles->len, ==, n);
  g_autoptr (GBytes) frame = frame_at (file, t);
  for (guint i = 0; i < tiles->len; i++) {
    ScTile *tl = &g_array_index (tiles, ScTile, i);
    int cx = tl->rect.x + tl->rect.width / 2, cy = tl->rect.y + tl->rect.height / 2;
    g_test_message ("at %.1f s: tile %s at %d,%d %dx%d", t, tl->participant_id, tl->rect.x,
                    tl->rect.y, tl->rect.width, tl->rect.height);
    g_assert_cmphex (colour_at (frame, cx, cy), ==, colour_of (tl->participant_id));
  }
  sc_layout_options_clear (&opts);
}

static void
test_errors (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  Space s;
  space_init (&s, h);
  g_autofree char *bpath = g_strdup_printf ("/video/v1/spaces/%s/broadcasts", s.space_id);

  g_autoptr (ScResponse) bad = sc_harness_request (h, "POST", bpath,
                                                   "{\"live_stream_id\":\"nope\"}");
  g_assert_cmpuint (bad->status, ==, 400);

  g_autofree char *ls = create_live_stream (h);
  g_autofree char *b = create_broadcast (&s, ls, "gallery");

  g_autoptr (ScResponse) idle = broadcast_action (&s, b, "start");
  g_assert_cmpuint (idle->status, ==, 409);
  g_autofree char *idle_text = sc_response_error_text (idle);
  g_assert_nonnull (strstr (idle_text, "idle"));

  g_autofree char *one = g_strdup_printf ("%s/%s", bpath, b);
  g_autoptr (ScResponse) lay = sc_harness_request (h, "PATCH", one, "{\"layout\":\"mosaic\"}");
  g_assert_cmpuint (lay->status, ==, 400);
  g_autofree char *lay_text = sc_response_error_text (lay);
  g_assert_nonnull (strstr (lay_text, "layout"));

  GSubprocess *p = publisher_start (&s, "red", RED, 440);
  wait_participants (&s, 1);
  g_autoptr (ScResponse) st = broadcast_action (&s, b, "start");
  g_assert_cmpuint (st->status, ==, 200);
  g_autoptr (ScResponse) twice = broadcast_action (&s, b, "start");
  g_assert_cmpuint (twice->status, ==, 409);
  g_autoptr (ScResponse) del = sc_harness_request (h, "DELETE", one, NULL);
  g_assert_cmpuint (del->status, ==, 409);
  g_autoptr (ScResponse) stop = broadcast_action (&s, b, "stop");
  g_assert_cmpuint (stop->status, ==, 200);
  g_autoptr (ScResponse) g = get_broadcast (&s, b);
  g_assert_cmpstr (sc_response_str (g, "status"), ==, "idle");
  g_autoptr (ScResponse) del2 = sc_harness_request (h, "DELETE", one, NULL);
  g_assert_cmpuint (del2->status, ==, 204);
  sc_harness_stop_publisher (p, FALSE);
  space_clear (&s);
}

static void
test_end_to_end (void)
{
  g_autoptr (ScHarness) h = sc_harness_start (NULL);
  Space s;
  space_init (&s, h);
  static const struct { const char *id; guint32 rgb; int freq; } who[] = {
    { "red", RED, 440 }, { "blue", BLUE, 660 }, { "green", GREEN, 880 },
  };
  GSubprocess *pubs[3];
  ScLayoutParticipant parts[3] = { { 0 } };
  /* One at a time, so the join order (and the gallery order) is known. */
  for (guint i = 0; i < 3; i++) {
    pubs[i] = publisher_start (&s, who[i].id, who[i].rgb, who[i].freq);
    wait_participants (&s, i + 1);
    parts[i] = (ScLayoutParticipant) { .id = who[i].id, .has_video = TRUE, .join_order = i };
  }
  g_autofree char *ls = create_live_stream (h);
  g_autofree char *b = create_broadcast (&s, ls, "gallery");
  g_autoptr (ScResponse) st = broadcast_action (&s, b, "start");
  g_assert_cmpuint (st->status, ==, 200);
  wait_live_status (h, ls, "active");
  wait_running (&s, b);
  gint64 t0 = g_get_monotonic_time ();
  g_usleep (5 * G_USEC_PER_SEC);
  /* Green leaves mid-broadcast: the output goes on, and the gallery closes
   * up around the two who stay. */
  sc_harness_stop_publisher (pubs[2], FALSE);
  wait_participants (&s, 2);
  g_usleep (4 * G_USEC_PER_SEC);

  g_autofree char *one = g_strdup_printf ("/video/v1/spaces/%s/broadcasts/%s", s.space_id, b);
  g_autoptr (ScResponse) pr = api (h, 200, "PATCH", one,
                                   "{\"layout\":\"single\","
                                   "\"layout_options\":{\"participant_id\":\"blue\"}}");
  g_assert_cmpstr (sc_response_str (pr, "layout"), ==, "single");
  double switch_at = (g_get_monotonic_time () - t0) / 1e6;
  g_usleep (3 * G_USEC_PER_SEC);
  g_autoptr (ScResponse) running = get_broadcast (&s, b);
  g_assert_cmpstr (sc_response_str (running, "status"), ==, "active");
  double total = (g_get_monotonic_time () - t0) / 1e6;

  g_autoptr (ScResponse) sp = broadcast_action (&s, b, "stop");
  g_assert_cmpuint (sp->status, ==, 200);
  g_autoptr (ScResponse) gb = get_broadcast (&s, b);
  g_assert_cmpstr (sc_response_str (gb, "status"), ==, "idle");
  g_assert_false (json_object_has_member (sc_response_data (gb), "health"));
  double duration = 0;
  g_autofree char *pid = wait_asset_ready (h, ls, &duration);
  g_test_message ("asset duration %.2f s, broadcast ran %.2f s after running", duration, total);
  g_assert_cmpfloat (duration, >=, total - 1.0);
  g_assert_cmpfloat (duration, <=, total + 10.0);
  g_autofree char *file = sc_harness_download_mp4 (h, pid, "out.mp4");

  /* Each colour where the gallery puts it: three at first, then, after
   * green left and before the switch, the two who stayed. */
  assert_gallery (file, 3.0, parts, 3);
  assert_gallery (file, switch_at - 1.0, parts, 2);
  g_autoptr (GBytes) left = frame_at (file, switch_at - 1.0);
  g_assert_cmpfloat (fraction_of (left, GREEN), <, 0.02);

  g_autoptr (GBytes) after = frame_at (file, duration - 1.5);
  double blue = fraction_of (after, BLUE);
  g_test_message ("after the switch %.0f%% of the frame is blue", blue * 100);
  g_assert_cmpfloat (blue, >, 0.6);
  g_assert_cmpfloat (fraction_of (after, RED), <, 0.02);

  check_probe (file, switch_at);

  sc_harness_stop_publisher (pubs[0], FALSE);
  sc_harness_stop_publisher (pubs[1], FALSE);
  space_clear (&s);
}

static void
test_idle_grace (void)
{
  const char *args[] = { "--broadcast-idle-grace=3", NULL };
  g_autoptr (ScHarness) h = sc_harness_start (args);
  Space s;
  space_init (&s, h);
  GSubprocess *p = publisher_start (&s, "red", RED, 440);
  wait_participants (&s, 1);
  g_autofree char *ls = create_live_stream (h);
  g_autofree char *b = create_broadcast (&s, ls, "gallery");
  g_autoptr (ScResponse) st = broadcast_action (&s, b, "start");
  g_assert_cmpuint (st->status, ==, 200);
  wait_live_status (h, ls, "active");
  wait_running (&s, b);
  g_usleep (2 * G_USEC_PER_SEC);

  sc_harness_stop_publisher (p, FALSE);
  wait_participants (&s, 0);
  gint64 left = g_get_monotonic_time ();
  gboolean idle = FALSE;
  for (int i = 0; i < 300 && !idle; i++) {
    g_autoptr (ScResponse) g = get_broadcast (&s, b);
    idle = g_str_equal (sc_response_str (g, "status"), "idle");
    if (!idle)
      g_usleep (100 * 1000);
  }
  g_assert_true (idle);
  double after = (g_get_monotonic_time () - left) / 1e6;
  g_test_message ("broadcast stopped itself %.1f s after the space went idle", after);
  /* Not before the grace period. */
  g_assert_cmpfloat (after, >=, 2.5);
  g_autofree char *pid = wait_asset_ready (h, ls, NULL);
  g_assert_nonnull (pid);
  space_clear (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/broadcast/errors", test_errors);
  g_test_add_func ("/broadcast/end-to-end", test_end_to_end);
  g_test_add_func ("/broadcast/idle-grace", test_idle_grace);
  return g_test_run ();
}
