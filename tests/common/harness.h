/* Test harness: runs the real spacecast daemon on free loopback ports with a
 * temporary data dir, and talks HTTP to it with libsoup. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <gst/gst.h>

typedef struct {
  char *data_dir;
  char *config_path;      /* optional INI file passed with --config */
  guint16 http_port;
  guint16 rtmp_port;
  char *base_url;         /* http://127.0.0.1:PORT */
  char *token_id;
  char *token_secret;
  GPtrArray *extra_args;  /* extra "serve" arguments */
  GSubprocess *proc;
  SoupSession *session;
} ScHarness;

typedef struct {
  guint status;
  JsonNode *json;         /* parsed body, or NULL */
  GBytes *body;
  SoupMessageHeaders *headers;
} ScResponse;

guint16     sc_harness_free_port  (void);
/* Register test case @path as skipped for @why: a skip outside a test case
 * loses its reason in TAP. */
void        sc_harness_add_skip   (const char *path, const char *why);
/* Start with optional extra serve args (NULL-terminated). */
ScHarness  *sc_harness_start      (const char *const *extra_args);
void        sc_harness_restart    (ScHarness *h);
void        sc_harness_kill9      (ScHarness *h);   /* crash, no restart */
void        sc_harness_launch     (ScHarness *h);   /* (re)start after kill9 */
void        sc_harness_free       (ScHarness *h);   /* stops it, removes the dir */

/* JSON request with the harness' Basic credentials.  body may be NULL. */
ScResponse *sc_harness_request    (ScHarness *h, const char *method,
                                   const char *path, const char *body);
/* Anything: custom content type, headers, auth (auth NULL = no auth header). */
ScResponse *sc_harness_raw        (ScHarness *h, const char *method,
                                   const char *path, const char *content_type,
                                   const char *body, gsize body_len,
                                   const char *authorization);
void        sc_response_free      (ScResponse *r);

/* Helpers over the response JSON. */
const char *sc_response_str       (ScResponse *r, const char *jsonpath_like);
JsonObject *sc_response_data      (ScResponse *r);   /* .data as object */
JsonArray  *sc_response_data_array(ScResponse *r);   /* .data as array */
const char *sc_response_error_type(ScResponse *r);
char       *sc_response_error_text(ScResponse *r);   /* messages joined */

/* Run a command and return its exit status; stdout captured in *out. */
int         sc_harness_run        (char **out, const char *const *argv);

/* Real publishers and bounded waits. */
/* ffmpeg pushing testsrc2 640x360@30 + a 440 Hz sine (H.264 with a keyframe
 * every 2 s, AAC) for @seconds to rtmp://127.0.0.1:RTMP/app/@key. */
GSubprocess *sc_harness_ffmpeg_publish (ScHarness *h, const char *key, double seconds);
/* The same media as MPEG-TS to @url (srt://127.0.0.1:PORT?streamid=...). */
GSubprocess *sc_harness_ffmpeg_publish_srt (const char *url, double seconds);
/* The same through GStreamer's rtmp2sink, @seconds of 30 fps video. */
GSubprocess *sc_harness_gst_publish    (ScHarness *h, const char *key, int seconds);
/* Waits up to @timeout_s for @p to exit; TRUE with its status (-1 when killed
 * by a signal) in *status, FALSE when it still runs. */
gboolean     sc_harness_wait_exit      (GSubprocess *p, double timeout_s, int *status);
/* GET @path; the object under .data (a new reference), NULL unless 200. */
JsonObject  *sc_harness_get_data      (ScHarness *h, const char *path);
/* Polls GET @path until .data.@member is the string @value (or, with @value
 * NULL, until it is absent); FALSE when @timeout_s passes first. */
gboolean     sc_harness_wait_member    (ScHarness *h, const char *path, const char *member,
                                        const char *value, double timeout_s);
/* GET @path without credentials into a file; the HTTP status. */
guint        sc_harness_download       (ScHarness *h, const char *path, const char *file);
/* GET @path without credentials; the body as text, the status in *status. */
char        *sc_harness_get_text       (ScHarness *h, const char *path, guint *status);
/* Lines of @text that start with @prefix. */
guint        sc_harness_count_lines    (const char *text, const char *prefix);
/* Waits up to @timeout_s for @p to exit, and asserts that it exited with 0. */
void         sc_harness_wait_exit_ok   (GSubprocess *p, double timeout_s);

/* Spawned children die with the test (SIGKILL) and run without G_DEBUG:
 * publishers and browsers are not under test (see sc_harness_launch). */
GSubprocessLauncher *sc_harness_launcher_new (GSubprocessFlags flags);

/* The browser tests' tools: node, Chromium ($CHROMIUM or Debian's) and a
 * puppeteer-core script of tests/browser. */
typedef struct {
  char *node, *chromium, *script;
} ScBrowser;
/* Fills @b for tests/browser/@script: NULL when node, Chromium and
 * puppeteer-core are all there, else why not (the reason to skip with). */
char        *sc_harness_browser_find  (ScBrowser *b, const char *script);
/* node @b->script @args... with CHROMIUM set for it. */
GSubprocess *sc_harness_browser_spawn (const ScBrowser *b, const char *const *args,
                                       GSubprocessFlags flags);
void         sc_harness_browser_clear (ScBrowser *b);
/* The file:// URI of samples/web/@name (which must exist). */
char        *sc_harness_sample_page   (const char *name);

/* Live streams and their recordings. */
/* POST a live stream whose playback and recordings are public, with
 * @reconnect_window; its .data (a new reference), asserting 201. */
JsonObject  *sc_harness_create_live_stream (ScHarness *h, int reconnect_window);
/* The id of the first of @resource's playback_ids. */
const char  *sc_harness_playback_id    (JsonObject *resource);
/* Polls the live playlist of @playback_id until it lists @segments complete
 * segments; the playlist. */
char        *sc_harness_wait_live_playlist (ScHarness *h, const char *playback_id,
                                            guint segments, double timeout_s);
/* Polls the asset until it is no longer preparing, asserts it is ready and
 * not live; the asset (a new reference). */
JsonObject  *sc_harness_wait_asset_ready (ScHarness *h, const char *asset_id, double timeout_s);
/* Downloads the highest.mp4 of @playback_id (asserting 200) to @name in the
 * data dir; the file's path. */
char        *sc_harness_download_mp4   (ScHarness *h, const char *playback_id, const char *name);

/* Media probes (ffprobe, ffmpeg). */
/* `ffprobe -v error @args @file`'s output; the test fails when it does. */
char        *sc_harness_ffprobe        (const char *file, const char *const *args);
/* The container's duration in seconds. */
double       sc_harness_media_duration (const char *file);
/* The numbers of `ffprobe @args` with csv output, one per line (doubles). */
GArray      *sc_harness_ffprobe_times  (const char *file, const char *const *args);
/* Presentation times of the video keyframes (doubles), in order. */
GArray      *sc_harness_keyframe_times (const char *file);
/* The file has an H.264 video and an AAC audio stream. */
void         sc_harness_assert_h264_aac (const char *file);
/* Runs a command and returns its stdout as it is (decoded frames, say);
 * stderr goes to the test's, the exit status is not looked at. */
GBytes      *sc_harness_run_raw        (const char *const *argv);

/* Spaces, signing keys and WHIP publishers. */
void         sc_harness_create_signing_key (ScHarness *h, char **id, char **private_key);
/* POST an empty space; its id, asserting 201. */
char        *sc_harness_create_space   (ScHarness *h);
/* The space's status; its active_session_id (or NULL) in *active_session_id
 * when that is not NULL. */
char        *sc_harness_space_status   (ScHarness *h, const char *space_id,
                                        char **active_session_id);
/* The space's participants listing (a new reference), asserting 200. */
JsonArray   *sc_harness_participants   (ScHarness *h, const char *space_id);
/* The participant's track of @type ("video", "audio"), or NULL. */
JsonObject  *sc_harness_find_track     (JsonObject *participant, const char *type);
/* Its frames_decoded, -1 without such a track. */
gint64       sc_harness_frames_decoded (JsonObject *participant, const char *type);
/* Polls the listing until exactly @count participants are there and, when
 * @min_frames > 0, the first has decoded more than that many video and
 * audio frames; the first participant (a new reference; NULL when @count is
 * 0).  The test fails when @timeout_s passes first. */
JsonObject  *sc_harness_wait_participants (ScHarness *h, const char *space_id, guint count,
                                           gint64 min_frames, double timeout_s);
/* `spacecast publish` (its test sources, plus @extra_args, NULL-terminated
 * or NULL) into the space's WHIP endpoint with @token.  With @location it
 * returns once the publisher reports its session, whose path (the Location)
 * goes to *location; without, at once. */
GSubprocess *sc_harness_whip_publish   (ScHarness *h, const char *space_id, const char *token,
                                        const char *const *extra_args, char **location);
/* SIGTERM (a publisher DELETEs its session) or, with @crash, SIGKILL; waits
 * for @p and drops it. */
void         sc_harness_stop_publisher (GSubprocess *p, gboolean crash);

/* WHEP subscribers (harness-whep.c): a webrtcbin in this process that
 * subscribes as a browser does.  Call gst_init () first. */
typedef struct {
  GstElement *pipeline, *webrtc;
  gboolean decode;             /* decode the video, or only depayload it */
  gboolean h264;               /* offer H.264 (a program preview), not VP8 */
  gint frames;                 /* video frames out of vp8dec/rtpvp8depay, atomic */
  gint audio_buffers;          /* audio packets received, atomic */
  gssize video_bytes;           /* encoded video received (not decoding), g_atomic_pointer_* */
  gint64 posted_us;            /* when the offer went out */
  gint64 first_frame_us;       /* when the first frame came out */
  char *location;              /* the session URL's path, once started */
  /* Set before start: called with every decoded video frame (streaming thread). */
  void (*on_video) (GstBuffer *frame, GstCaps *caps, gpointer data);
  gpointer on_video_data;
} ScHarnessWhep;
ScHarnessWhep *sc_harness_whep_new   (gboolean decode);
/* One that offers H.264 as Chromium does (constrained baseline and main,
 * packetization-mode 1, level-asymmetry-allowed) instead of VP8. */
ScHarnessWhep *sc_harness_whep_new_h264 (gboolean decode);
/* Its offer, candidates gathered (up to 5 s); set as its local description. */
char        *sc_harness_whep_offer     (ScHarnessWhep *s);
/* POST @sdp to @path with @token (NULL: no Authorization). */
ScResponse  *sc_harness_whep_post      (ScHarness *h, const char *path, const char *token,
                                        const char *ctype, const char *sdp);
/* Offers, POSTs to @path, asserts the 201 (a sendonly VP8 or H.264
 * answer with SSRCs) and applies the answer. */
void         sc_harness_whep_start     (ScHarness *h, ScHarnessWhep *s, const char *path,
                                        const char *token);
/* Receiver reports every second, as browsers send them (GStreamer's
 * default is RFC 3550's 5 s).  After start. */
void         sc_harness_whep_report_often (ScHarnessWhep *s);
/* Waits until @frames video frames and some audio came; fails the test
 * when @timeout_s passes first. */
void         sc_harness_whep_wait      (ScHarnessWhep *s, gint frames, double timeout_s);
/* DELETE @location with @token; the status. */
guint        sc_harness_whep_delete    (ScHarness *h, const char *location, const char *token);
void         sc_harness_whep_free      (ScHarnessWhep *s);

/* Reads `spacecast publish --capture-clock` cells off decoded frames (as a
 * viewer's on_video): the age of each distinct captured frame, in ms,
 * while measuring. */
typedef struct {
  GMutex lock;
  GArray *ages;                 /* double ms */
  guint32 last;
  gboolean measuring;
} ScHarnessClock;
ScHarnessClock *sc_harness_clock_new     (void);
void         sc_harness_clock_on_video (GstBuffer *frame, GstCaps *caps, gpointer clock);
void         sc_harness_clock_measure  (ScHarnessClock *c, gboolean on);
/* Prints "@what (N frames, ms): min M median M p95 M max M"; FALSE (and
 * nothing printed) when no clock was read. */
gboolean     sc_harness_clock_print    (ScHarnessClock *c, const char *what);
void         sc_harness_clock_free     (ScHarnessClock *c);

/* The daemon's process and raw HTTP (tests of the HTTP door). */
/* The daemon's pid. */
GPid         sc_harness_pid            (ScHarness *h);
/* Its open fds (/proc/PID/fd). */
guint        sc_harness_daemon_fds     (ScHarness *h);
/* Polls until it has at most @count open fds; FALSE when @timeout_s passes
 * first. */
gboolean     sc_harness_wait_daemon_fds (ScHarness *h, guint count, double timeout_s);
/* A numeric /proc/PID/status field: "VmRSS", "VmHWM" (kB), "Threads". */
guint64      sc_harness_status_field   (ScHarness *h, const char *field);
/* Its CPU time so far, user + system, in seconds. */
double       sc_harness_cpu_seconds    (ScHarness *h);
/* Sets its RLIMIT_NOFILE, soft and hard, to @nofile (prlimit(2)). */
void         sc_harness_set_fd_limit   (ScHarness *h, guint nofile);
/* A new TCP connection to the HTTP port; connecting and each read or
 * write on it time out after @timeout_s. */
GSocketConnection *sc_harness_connect  (ScHarness *h, guint timeout_s);
/* Writes @request as it is; FALSE when the connection fails. */
gboolean     sc_harness_send           (GSocketConnection *c, const char *request);
/* Reads one HTTP/1.1 response (a body only by Content-Length); the status,
 * or 0 when the connection ends or fails first.  Headers and body go to
 * @headers and @body when not NULL. */
guint        sc_harness_read_response  (GSocketConnection *c, SoupMessageHeaders **headers,
                                        char **body);
/* tests/browser/@script for node with Mux's Node SDK: its path, with node's
 * in *node; or NULL once the current test case is skipped saying which of
 * node and @mux/mux-node is missing. */
char        *sc_harness_mux_node_script (const char *script, char **node);
/* "Authorization: Basic ..." for the harness' token. */
char        *sc_harness_basic_auth     (ScHarness *h);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScResponse, sc_response_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScHarness, sc_harness_free)

/* Load on the daemon: its threads (from /proc). */
guint        sc_harness_daemon_threads (ScHarness *h);
/* @n requests sent at once, each on its own connection, with
 * @authorizations[i] (NULL for none) and the same body; the responses in
 * order (free with g_ptr_array_unref).  While they run the daemon's fds and
 * threads are sampled: their peaks go to *peak_fds and *peak_threads. */
GPtrArray   *sc_harness_parallel_raw   (ScHarness *h, guint n, const char *method,
                                        const char *path, const char *content_type,
                                        const char *body, const char *const *authorizations,
                                        guint *peak_fds, guint *peak_threads);

/* Broadcasts, and stopping the daemon without dropping its data dir. */
/* A publisher token for @participant_id from `spacecast sign`. */
char        *sc_harness_sign           (ScHarness *h, const char *space_id, const char *key_id,
                                        const char *private_key, const char *participant_id);
/* POST a 1280x720 broadcast of @layout to @live_stream_id; its id, asserting 201. */
char        *sc_harness_create_broadcast (ScHarness *h, const char *space_id,
                                          const char *live_stream_id, const char *layout);
/* POST .../broadcasts/@b/@action ("start", "stop"); the HTTP status. */
guint        sc_harness_broadcast_action (ScHarness *h, const char *space_id, const char *b,
                                          const char *action);
/* Polls the broadcast until its health is running with frames coming out;
 * its .data (a new reference).  The test fails when @timeout_s passes. */
JsonObject  *sc_harness_wait_broadcast_running (ScHarness *h, const char *space_id,
                                                const char *b, double timeout_s);
/* SIGTERM, asserting a clean exit as sc_harness_free does, keeping the data
 * dir (to look at, or to unmount what a test mounted on it). */
void         sc_harness_stop           (ScHarness *h);

/* sc_harness_start with the daemon's stderr (its whole log) in @log_path
 * instead of the test's; a sc_harness_restart logs to the test's again.  A
 * test that then fails (assertion, g_error) prints the log's last 16 KB. */
ScHarness   *sc_harness_start_logged   (const char *const *extra_args, const char *log_path);
/* The share of one CPU it used over the next @seconds (1.0 = one core). */
double       sc_harness_cpu_share      (ScHarness *h, double seconds);

/* Seeds for the fuzzers (tests/fuzz): with SC_FUZZ_SEEDS=DIR set, a unit
 * test's input (its first SC_HARNESS_FUZZ_SEED_MAX bytes) goes to
 * DIR/@fuzzer/<its SHA-1>, so that `SC_FUZZ_SEEDS=tests/fuzz/corpus
 * build/tests/test-X` refreshes fuzz-@fuzzer's seed corpus.  Without, nothing. */
#define SC_HARNESS_FUZZ_SEED_MAX (16 * 1024)
void         sc_harness_fuzz_seed      (const char *fuzzer, const guint8 *data, gsize len);
