/* Signed playback against the real daemon, as a player sees it: a signed
 * playback id opens only with a token (from C, or from Mux's own Node
 * SDK), a signed playlist's segments load, public stays open; thumbnails
 * refuse bad parameters, come from the cache byte for byte, and while
 * they are decoded the daemon still answers /healthz. */
#include "harness.h"
#include "spacecast/core.h"
#include "spacecast/jwt.h"

#include <math.h>
#include <string.h>

#define WAIT_S 60.0

static ScHarness *h;
static char *kid, *priv;
static char *signed_pid, *other_pid, *public_pid;   /* the live stream's */
static char *asset_pid;
static double asset_duration;

/* ---- requests ----------------------------------------------------------- */

static ScResponse *
get (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

static ScResponse *
get (const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  g_autofree char *path = g_strdup_vprintf (fmt, args);
  va_end (args);
  return sc_harness_raw (h, "GET", path, NULL, NULL, 0, NULL);
}

static void
assert_error (ScResponse *r, guint status, const char *type, const char *needle)
{
  g_autofree char *text = sc_response_error_text (r);
  if (r->status != status || g_strcmp0 (sc_response_error_type (r), type) != 0 ||
      !strstr (text ? text : "", needle))
    g_error ("expected %u %s mentioning \"%s\", got %u %s: %s", status, type, needle, r->status,
             sc_response_error_type (r), text);
}

static void
assert_forbidden (ScResponse *r, const char *needle)
{
  assert_error (r, 403, "forbidden", needle);
}

static const char *
content_type (ScResponse *r)
{
  return r->headers ? soup_message_headers_get_content_type (r->headers, NULL) : NULL;
}

/* An RS256 token from our signing key, kid in the header (Mux's docs),
 * expiring @ttl_s from now, with @extra claims. */
static char *
token (const char *playback_id, const char *aud, gint64 ttl_s, const char *extra)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *header = g_strdup_printf ("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
  g_autofree char *payload = g_strdup_printf (
      "{\"sub\":\"%s\",\"aud\":\"%s\",\"exp\":%" G_GINT64_FORMAT "%s%s}", playback_id, aud,
      sc_core_now_unix () + ttl_s, extra ? "," : "", extra ? extra : "");
  char *t = sc_jwt_sign_rs256 (priv, header, payload, &error);
  g_assert_no_error (error);
  return t;
}

static const char *
pid_with_policy (JsonObject *resource, const char *policy, guint nth)
{
  JsonArray *pids = json_object_get_array_member (resource, "playback_ids");
  for (guint i = 0; i < json_array_get_length (pids); i++) {
    JsonObject *p = json_array_get_object_element (pids, i);
    if (g_str_equal (json_object_get_string_member (p, "policy"), policy) && nth-- == 0)
      return json_object_get_string_member (p, "id");
  }
  g_error ("no playback id #%u with policy %s", nth, policy);
}

/* The first segment line of a playlist. */
static char *
first_segment (GBytes *playlist)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (playlist, NULL), g_bytes_get_size (playlist));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (lines[i][0] && lines[i][0] != '#')
      return g_strdup (lines[i]);
  g_error ("no segment in playlist:\n%s", text);
}

static void
assert_segment_loads (const char *uri)
{
  g_autoptr (ScResponse) seg = get ("/stream/%s", uri);
  g_assert_cmpuint (seg->status, ==, 200);
  g_assert_cmpstr (content_type (seg), ==, "video/mp2t");
  g_assert_cmpuint (g_bytes_get_size (seg->body), >, 188);
  g_assert_cmpint (((const guint8 *) g_bytes_get_data (seg->body, NULL))[0], ==, 0x47);
}

/* The JPEG's size as ffprobe reads it: "WIDTHxHEIGHT". */
static char *
jpeg_size (GBytes *jpeg)
{
  g_autofree char *file = g_build_filename (h->data_dir, "probe.jpg", NULL);
  g_assert_true (g_file_set_contents (file, g_bytes_get_data (jpeg, NULL),
                                      (gssize) g_bytes_get_size (jpeg), NULL));
  const char *args[] = { "-show_entries", "stream=width,height", "-of", "csv=p=0:s=x", NULL };
  char *out = sc_harness_ffprobe (file, args);
  return g_strstrip (out);
}

/* ---- live ---------------------------------------------------------------- */

static void
test_live (void)
{
  g_autoptr (ScResponse) cr = sc_harness_request (h, "POST", "/video/v1/live-streams",
      "{\"playback_policies\":[\"signed\",\"public\"],\"reconnect_window\":1}");
  g_assert_cmpuint (cr->status, ==, 201);
  JsonObject *ls = sc_response_data (cr);
  const char *id = json_object_get_string_member (ls, "id");
  signed_pid = g_strdup (pid_with_policy (ls, "signed", 0));
  public_pid = g_strdup (pid_with_policy (ls, "public", 0));
  g_autofree char *pids_path = g_strdup_printf ("/video/v1/live-streams/%s/playback-ids", id);
  g_autoptr (ScResponse) pr = sc_harness_request (h, "POST", pids_path, "{\"policy\":\"signed\"}");
  g_assert_cmpuint (pr->status, ==, 201);
  other_pid = g_strdup (sc_response_str (pr, "id"));

  g_autoptr (GSubprocess) ffmpeg = sc_harness_ffmpeg_publish (
      h, json_object_get_string_member (ls, "stream_key"), 8);
  g_autofree char *open_text = sc_harness_wait_live_playlist (h, public_pid, 2, WAIT_S);
  g_assert_null (strstr (open_text, "token="));

  /* Signed: nothing without a token, nor with a bad one. */
  g_autoptr (ScResponse) bare = get ("/stream/%s.m3u8", signed_pid);
  assert_forbidden (bare, "is signed: add ?token=");
  g_autofree char *thumb_token = token (signed_pid, "t", 600, NULL);
  g_autoptr (ScResponse) wrong_aud = get ("/stream/%s.m3u8?token=%s", signed_pid, thumb_token);
  assert_forbidden (wrong_aud, "video playback needs \"v\"");
  g_autofree char *other_token = token (other_pid, "v", 600, NULL);
  g_autoptr (ScResponse) other = get ("/stream/%s.m3u8?token=%s", signed_pid, other_token);
  assert_forbidden (other, "token is for playback id");
  g_autofree char *expired = token (signed_pid, "v", -120, NULL);
  g_autoptr (ScResponse) late = get ("/stream/%s.m3u8?token=%s", signed_pid, expired);
  assert_forbidden (late, "token expired");
  g_autoptr (ScResponse) junk = get ("/stream/%s.m3u8?token=abc.def.ghi", signed_pid);
  assert_forbidden (junk, "malformed token");

  /* With one, the playlist and the segments it lists load. */
  g_autofree char *video = token (signed_pid, "v", 600, NULL);
  g_autoptr (ScResponse) pl = get ("/stream/%s.m3u8?token=%s", signed_pid, video);
  g_assert_cmpuint (pl->status, ==, 200);
  g_autofree char *seg = first_segment (pl->body);
  g_autofree char *suffix = g_strconcat ("?token=", video, NULL);
  g_assert_true (g_str_has_suffix (seg, suffix));
  assert_segment_loads (seg);
  /* The segment itself is checked too, not only the playlist. */
  g_autofree char *seg_path = g_strndup (seg, strlen (seg) - strlen (suffix));
  g_autoptr (ScResponse) seg_bare = get ("/stream/%s", seg_path);
  assert_forbidden (seg_bare, "is signed");
  g_autoptr (ScResponse) seg_other = get ("/stream/%s?token=%s", seg_path, other_token);
  assert_forbidden (seg_other, "token is for playback id");
  /* The same segment through the public id, without a token. */
  g_autofree char *public_seg = g_strdup_printf ("%s/%s", public_pid, strchr (seg_path, '/') + 1);
  assert_segment_loads (public_seg);

  sc_harness_wait_exit_ok (ffmpeg, WAIT_S);
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s", id);
  g_assert_true (sc_harness_wait_member (h, path, "status", "idle", WAIT_S));
  g_autoptr (JsonObject) after = sc_harness_get_data (h, path);
  JsonArray *recent = json_object_get_array_member (after, "recent_asset_ids");
  g_autoptr (JsonObject) asset = sc_harness_wait_asset_ready (
      h, json_array_get_string_element (recent, json_array_get_length (recent) - 1), WAIT_S);
  asset_duration = json_object_get_double_member (asset, "duration");
  /* The stream also plays publicly, so its recording does. */
  g_assert_cmpstr (json_object_get_string_member (
      json_array_get_object_element (json_object_get_array_member (asset, "playback_ids"), 0),
      "policy"), ==, "public");
}

/* A stream that plays only signed leaves a signed recording. */
static void
test_signed_recording (void)
{
  g_autoptr (ScResponse) cr = sc_harness_request (h, "POST", "/video/v1/live-streams",
      "{\"playback_policies\":[\"signed\"],\"reconnect_window\":1}");
  g_assert_cmpuint (cr->status, ==, 201);
  JsonObject *ls = sc_response_data (cr);
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s",
                                           json_object_get_string_member (ls, "id"));
  g_autoptr (GSubprocess) ffmpeg = sc_harness_ffmpeg_publish (
      h, json_object_get_string_member (ls, "stream_key"), 5);
  sc_harness_wait_exit_ok (ffmpeg, WAIT_S);
  g_assert_true (sc_harness_wait_member (h, path, "status", "idle", WAIT_S));
  g_autoptr (JsonObject) after = sc_harness_get_data (h, path);
  JsonArray *recent = json_object_get_array_member (after, "recent_asset_ids");
  g_autoptr (JsonObject) asset = sc_harness_wait_asset_ready (
      h, json_array_get_string_element (recent, 0), WAIT_S);
  asset_pid = g_strdup (pid_with_policy (asset, "signed", 0));
  asset_duration = json_object_get_double_member (asset, "duration");
}

/* ---- the asset ------------------------------------------------------------ */

static void
test_asset (void)
{
  g_autofree char *video = token (asset_pid, "v", 600, NULL);
  g_autofree char *thumb = token (asset_pid, "t", 600, NULL);
  g_autofree char *live_video = token (signed_pid, "v", 600, NULL);

  g_autoptr (ScResponse) mp4_bare = get ("/stream/%s/highest.mp4", asset_pid);
  assert_forbidden (mp4_bare, "is signed");
  g_autoptr (ScResponse) mp4_live = get ("/stream/%s/highest.mp4?token=%s", asset_pid, live_video);
  assert_forbidden (mp4_live, "token is for playback id");
  g_autoptr (ScResponse) mp4 = get ("/stream/%s/highest.mp4?token=%s", asset_pid, video);
  g_assert_cmpuint (mp4->status, ==, 200);
  g_assert_cmpstr (content_type (mp4), ==, "video/mp4");
  g_assert_cmpint (memcmp ((const char *) g_bytes_get_data (mp4->body, NULL) + 4, "ftyp", 4), ==, 0);

  g_autoptr (ScResponse) vod = get ("/stream/%s.m3u8?token=%s", asset_pid, video);
  g_assert_cmpuint (vod->status, ==, 200);
  g_autofree char *seg = first_segment (vod->body);
  assert_segment_loads (seg);

  g_autoptr (ScResponse) img_bare = get ("/image/%s/thumbnail.jpg?time=1", asset_pid);
  assert_forbidden (img_bare, "is signed");
  g_autoptr (ScResponse) img_video = get ("/image/%s/thumbnail.jpg?time=1&token=%s", asset_pid, video);
  assert_forbidden (img_video, "thumbnail playback needs \"t\"");
  g_autoptr (ScResponse) img = get ("/image/%s/thumbnail.jpg?time=1&width=200&token=%s",
                                    asset_pid, thumb);
  g_assert_cmpuint (img->status, ==, 200);
  g_assert_cmpstr (content_type (img), ==, "image/jpeg");
  g_autofree char *size = jpeg_size (img->body);
  g_assert_cmpstr (size, ==, "200x112");

  /* Parameters signed into the token, as Mux has them: they apply, and
   * the query may not ask for others. */
  g_autofree char *fixed = token (asset_pid, "t", 600, "\"time\":\"2\",\"width\":\"320\"");
  g_autoptr (ScResponse) by_claims = get ("/image/%s/thumbnail.jpg?token=%s", asset_pid, fixed);
  g_assert_cmpuint (by_claims->status, ==, 200);
  g_autofree char *fixed_size = jpeg_size (by_claims->body);
  g_assert_cmpstr (fixed_size, ==, "320x180");
  g_autoptr (ScResponse) by_query = get ("/image/%s/thumbnail.jpg?time=2&width=320&token=%s",
                                         asset_pid, thumb);
  g_assert_cmpuint (by_query->status, ==, 200);
  g_assert_true (g_bytes_equal (by_claims->body, by_query->body));
  g_autoptr (ScResponse) overridden = get ("/image/%s/thumbnail.jpg?width=640&token=%s",
                                           asset_pid, fixed);
  assert_forbidden (overridden, "the token fixes width=320");
}

/* ---- Mux's Node SDK ------------------------------------------------------- */

static char *
node_sign (const char *node, const char *script, const char *playback_id, const char *type,
           const char *params)
{
  const char *argv[] = { node, script, playback_id, kid, priv, type, params, NULL };
  g_autofree char *out = NULL;
  g_assert_cmpint (sc_harness_run (&out, argv), ==, 0);
  return g_strdup (g_strstrip (out));
}

static void
test_mux_node_sdk (void)
{
  g_autofree char *node = NULL;
  g_autofree char *script = sc_harness_mux_node_script ("sign-playback.js", &node);
  if (!script)
    return;
  g_autofree char *video = node_sign (node, script, asset_pid, "video", NULL);
  g_autofree char *thumb = node_sign (node, script, asset_pid, "thumbnail", NULL);
  g_autofree char *fixed = node_sign (node, script, asset_pid, "thumbnail",
                                      "{\"time\":\"1\",\"width\":\"160\"}");

  g_autoptr (ScResponse) pl = get ("/stream/%s.m3u8?token=%s", asset_pid, video);
  g_assert_cmpuint (pl->status, ==, 200);
  g_autofree char *seg = first_segment (pl->body);
  assert_segment_loads (seg);
  g_autoptr (ScResponse) mp4 = get ("/stream/%s/highest.mp4?token=%s", asset_pid, video);
  g_assert_cmpuint (mp4->status, ==, 200);
  g_autoptr (ScResponse) img = get ("/image/%s/thumbnail.jpg?width=240&token=%s", asset_pid, thumb);
  g_assert_cmpuint (img->status, ==, 200);
  g_autofree char *size = jpeg_size (img->body);
  g_assert_cmpstr (size, ==, "240x134");
  g_autoptr (ScResponse) img_fixed = get ("/image/%s/thumbnail.jpg?token=%s", asset_pid, fixed);
  g_assert_cmpuint (img_fixed->status, ==, 200);
  g_autofree char *fixed_size = jpeg_size (img_fixed->body);
  g_assert_cmpstr (fixed_size, ==, "160x90");

  g_autoptr (ScResponse) cross = get ("/image/%s/thumbnail.jpg?token=%s", asset_pid, video);
  assert_forbidden (cross, "thumbnail playback needs \"t\"");
  g_autofree char *live = node_sign (node, script, signed_pid, "video", NULL);
  g_autoptr (ScResponse) elsewhere = get ("/stream/%s.m3u8?token=%s", asset_pid, live);
  assert_forbidden (elsewhere, "token is for playback id");
}

/* ---- thumbnails ----------------------------------------------------------- */

static void
test_thumbnail_parameters (void)
{
  g_autofree char *thumb = token (asset_pid, "t", 600, NULL);
  g_autofree char *beyond = g_strdup_printf ("%.3f", asset_duration + 1);
  const char *bad_times[] = { "inf", "nan", "-inf", "1e300", "-1", "abc", "", "0x10", " 1", beyond };
  for (guint i = 0; i < G_N_ELEMENTS (bad_times); i++) {
    g_autofree char *q = g_uri_escape_string (bad_times[i], NULL, TRUE);
    g_autoptr (ScResponse) r = get ("/image/%s/thumbnail.jpg?time=%s&token=%s", asset_pid, q, thumb);
    assert_error (r, 400, "invalid_parameters", "time must be a number of seconds");
  }
  const char *bad_widths[] = { "8", "3841", "-320", "abc", "1e3" };
  for (guint i = 0; i < G_N_ELEMENTS (bad_widths); i++) {
    g_autoptr (ScResponse) r = get ("/image/%s/thumbnail.jpg?width=%s&token=%s", asset_pid,
                                    bad_widths[i], thumb);
    assert_error (r, 400, "invalid_parameters", "width must be an integer from 16 to 3840");
  }
  /* The very end is still inside the asset. */
  g_autofree char *end = g_strdup_printf ("%.3f", floor (asset_duration * 1000) / 1000);
  g_autoptr (ScResponse) last = get ("/image/%s/thumbnail.jpg?time=%s&width=64&token=%s",
                                     asset_pid, end, thumb);
  g_assert_cmpuint (last->status, ==, 200);
}

typedef struct {
  char *url;
  guint status;
  GBytes *body;
  char *retry_after;
  double seconds;
} Fetch;

static gint fetches_done;

static gpointer
fetch_thread (gpointer data)
{
  Fetch *f = data;
  g_autoptr (SoupSession) s = soup_session_new_with_options ("timeout", 60, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", f->url);
  gint64 t0 = g_get_monotonic_time ();
  f->body = soup_session_send_and_read (s, msg, NULL, NULL);
  f->seconds = (g_get_monotonic_time () - t0) / 1e6;
  f->status = soup_message_get_status (msg);
  f->retry_after = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                           "Retry-After"));
  g_atomic_int_inc (&fetches_done);
  return NULL;
}

static void
fetch_clear (Fetch *f)
{
  g_free (f->url);
  g_clear_pointer (&f->body, g_bytes_unref);
  g_free (f->retry_after);
}

/* @n threads each fetching a thumbnail of the asset, each another frame,
 * big enough (3840 wide) that decoding and encoding it takes a while. */
static GPtrArray *
start_fetches (guint n, Fetch *out, const char *tok)
{
  GPtrArray *threads = g_ptr_array_new ();
  g_atomic_int_set (&fetches_done, 0);
  for (guint i = 0; i < n; i++) {
    out[i].url = g_strdup_printf ("%s/image/%s/thumbnail.jpg?time=%.3f&width=3840&token=%s",
                                  h->base_url, asset_pid, asset_duration * (i + 0.5) / n, tok);
    g_ptr_array_add (threads, g_thread_new ("fetch", fetch_thread, &out[i]));
  }
  return threads;
}

static void
join_fetches (GPtrArray *threads)
{
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (threads->pdata[i]);
  g_ptr_array_unref (threads);
}

/* @n thumbnails at once while /healthz is asked all along; its slowest
 * answer. */
static double
parallel_thumbnails (guint n, Fetch *out, const char *tok)
{
  GPtrArray *threads = start_fetches (n, out, tok);
  double worst = 0;
  guint polls = 0;
  while ((guint) g_atomic_int_get (&fetches_done) < n) {
    gint64 t0 = g_get_monotonic_time ();
    g_autoptr (ScResponse) r = sc_harness_raw (h, "GET", "/healthz", NULL, NULL, 0, NULL);
    double dt = (g_get_monotonic_time () - t0) / 1e6;
    g_assert_cmpuint (r->status, ==, 200);
    worst = MAX (worst, dt);
    polls++;
    g_usleep (10 * 1000);
  }
  join_fetches (threads);
  g_test_message ("%u parallel thumbnails: /healthz asked %u times, slowest %.1f ms", n, polls,
                  worst * 1000);
  return worst;
}

static void
test_thumbnail_load (void)
{
  g_autofree char *thumb = token (asset_pid, "t", 600, NULL);

  /* One at a time first, for the figure. */
  g_autofree char *path = g_strdup_printf ("/image/%s/thumbnail.jpg?time=1.5&width=3840&token=%s",
                                           asset_pid, thumb);
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (ScResponse) first = get ("%s", path);
  double made = (g_get_monotonic_time () - t0) / 1e3;
  g_assert_cmpuint (first->status, ==, 200);
  t0 = g_get_monotonic_time ();
  g_autoptr (ScResponse) again = get ("%s", path);
  double cached = (g_get_monotonic_time () - t0) / 1e3;
  g_assert_cmpuint (again->status, ==, 200);
  g_assert_true (g_bytes_equal (first->body, again->body));
  g_test_message ("3840-wide thumbnail: %.1f ms made, %.1f ms from the cache", made, cached);
  /* Making it again would cost about as much as the first time. */
  g_assert_cmpfloat (cached, <, made / 2);

  Fetch f[4] = { 0 };
  double worst = parallel_thumbnails (G_N_ELEMENTS (f), f, thumb);
  double fastest = G_MAXDOUBLE;
  for (guint i = 0; i < G_N_ELEMENTS (f); i++) {
    g_assert_cmpuint (f[i].status, ==, 200);
    g_test_message ("thumbnail %u: %.1f ms", i, f[i].seconds * 1000);
    fastest = MIN (fastest, f[i].seconds);
    fetch_clear (&f[i]);
  }
  /* Bounds relative to the thumbnails, which slow down with the machine
   * as much as /healthz does: decoded on the main loop, /healthz waited
   * at least one whole decode. */
  g_assert_cmpfloat (worst, <, fastest / 2);
}

/* One worker, four waiting: the rest are told to come back. */
static void
test_thumbnail_queue_full (void)
{
  g_ptr_array_add (h->extra_args, g_strdup ("--thumbnail-workers=1"));
  sc_harness_restart (h);
  g_autofree char *thumb = token (asset_pid, "t", 600, NULL);

  Fetch f[16] = { 0 };
  parallel_thumbnails (G_N_ELEMENTS (f), f, thumb);
  guint ok = 0, busy = 0;
  for (guint i = 0; i < G_N_ELEMENTS (f); i++) {
    if (f[i].status == 200) {
      ok++;
    } else {
      g_autoptr (ScResponse) r = g_new0 (ScResponse, 1);
      r->status = f[i].status;
      r->body = g_bytes_ref (f[i].body);
      g_autofree char *text = g_strndup (g_bytes_get_data (f[i].body, NULL),
                                         g_bytes_get_size (f[i].body));
      r->json = json_from_string (text, NULL);
      assert_error (r, 503, "service_unavailable", "thumbnail workers are busy");
      g_assert_cmpstr (f[i].retry_after, ==, "1");
      busy++;
    }
    fetch_clear (&f[i]);
  }
  g_test_message ("16 at once on one worker: %u made, %u told to retry", ok, busy);
  g_assert_cmpuint (ok, >=, 5);
  g_assert_cmpuint (busy, >=, 1);

  /* SIGTERM with a full queue: what was taken is answered or dropped with
   * the connection, and the daemon still exits at once with status 0
   * (which the harness checks). */
  Fetch q[5] = { 0 };
  GPtrArray *threads = start_fetches (G_N_ELEMENTS (q), q, thumb);
  g_usleep (200 * 1000);
  gint64 t0 = g_get_monotonic_time ();
  sc_harness_restart (h);
  double restart_s = (g_get_monotonic_time () - t0) / 1e6;
  join_fetches (threads);
  for (guint i = 0; i < G_N_ELEMENTS (q); i++) {
    g_test_message ("queued at SIGTERM: %u", q[i].status);
    g_assert_true (q[i].status == 200 || q[i].status == 503 || q[i].status == SOUP_STATUS_NONE);
    fetch_clear (&q[i]);
  }
  g_test_message ("restart with 5 thumbnails taken: %.1f s", restart_s);
  g_assert_cmpfloat (restart_s, <, 20);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  h = sc_harness_start (NULL);
  sc_harness_create_signing_key (h, &kid, &priv);

  g_test_add_func ("/playback-signed/live", test_live);
  g_test_add_func ("/playback-signed/signed-recording", test_signed_recording);
  g_test_add_func ("/playback-signed/asset", test_asset);
  g_test_add_func ("/playback-signed/mux-node-sdk", test_mux_node_sdk);
  g_test_add_func ("/playback-signed/thumbnail-parameters", test_thumbnail_parameters);
  g_test_add_func ("/playback-signed/thumbnail-load", test_thumbnail_load);
  g_test_add_func ("/playback-signed/thumbnail-queue-full", test_thumbnail_queue_full);
  int rc = g_test_run ();
  sc_harness_free (h);
  g_free (kid);
  g_free (priv);
  g_free (signed_pid);
  g_free (other_pid);
  g_free (public_pid);
  g_free (asset_pid);
  return rc;
}
