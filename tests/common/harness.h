/* Test harness: runs the real spacecast daemon on free loopback ports with a
 * temporary data dir, and talks HTTP to it with libsoup. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

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

/* Real publishers and bounded waits, for the ingest and recording tests. */
/* ffmpeg pushing testsrc2 640x360@30 + a 440 Hz sine (H.264 with a keyframe
 * every 2 s, AAC) for @seconds to rtmp://127.0.0.1:RTMP/app/@key. */
GSubprocess *sc_harness_ffmpeg_publish (ScHarness *h, const char *key, double seconds);
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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScResponse, sc_response_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScHarness, sc_harness_free)
