/* spacecast publishing client: a WHIP client built on webrtcbin (sendonly,
 * max-bundle, no trickle) that sends a test pattern and a sine tone, or a
 * media file, to a WHIP endpoint with libsoup 3.  It owns the
 * `spacecast publish` subcommand (sc_publish_main) and an in-process API for
 * tests and demos.  It knows nothing about spaces: it just POSTs an offer
 * with a Bearer token, applies the 201 answer and DELETEs the Location. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _ScPublish ScPublish;

typedef enum {
  SC_PUBLISH_EVENT_PUBLISHING,  /* 201 received and the answer applied */
  SC_PUBLISH_EVENT_FAILED,      /* POST refused, network or pipeline error */
  SC_PUBLISH_EVENT_FINISHED,    /* stopped (after DELETE when one was sent) */
} ScPublishEvent;

/* Called on the GMainContext that was thread-default at sc_publish_start.
 * @error is set for FAILED only. */
typedef void (*ScPublishEventFunc) (ScPublish *pub, ScPublishEvent event,
                                    const GError *error, gpointer user_data);

typedef struct {
  const char *whip_url;         /* required */
  const char *token;            /* Bearer token, may be NULL */
  const char *video_pattern;    /* videotestsrc pattern nick; NULL = "ball" */
  gint video_speed;             /* its horizontal scroll, pixels a frame */
  gboolean    has_color;        /* solid colour instead of a pattern */
  guint32     color;            /* 0xRRGGBB */
  gdouble     freq;             /* sine Hz; 0 = 440 */
  const char *file;             /* path or URI: replaces the test sources */
  guint       duration_s;       /* 0 = until stopped */
  gint        width, height;    /* 0 = 640x360 */
  const char *ice_host;         /* only host candidate address, or NULL */
  const char *video_codec;      /* "vp8" (default) or "h264" */
  guint       video_kbps;       /* video bitrate; 0 = 800 */
  guint       keyframe_frames;  /* a key frame every N frames at most
                                 * (besides those asked for); 0 = 60 */
  gboolean    capture_clock;    /* draw each frame's capture time (wall-clock
                                 * ms mod 2^32) as 8x4 black/white cells, for
                                 * glass-to-glass latency measurements */
  gboolean    sync_flash;       /* black video that is white, and silence
                                 * that is the sine, for 100 ms from the
                                 * same running time once a second: A/V
                                 * sync measurements (test sources only) */
  ScPublishEventFunc on_event;
  gpointer    user_data;
} ScPublishOptions;

/* Builds and starts the media pipeline, then negotiates asynchronously on the
 * caller's thread-default main context.  Fails at once for bad options or a
 * pipeline that cannot start (SC_ERROR_INVALID / SC_ERROR_INTERNAL). */
ScPublish  *sc_publish_start        (const ScPublishOptions *opts, GError **error);
/* Stops the media; if a session was created, DELETEs it (asynchronously)
 * before FINISHED is reported.  Idempotent. */
void        sc_publish_stop         (ScPublish *pub);
/* Stops the media without DELETE, as a crashed publisher would. */
void        sc_publish_abort        (ScPublish *pub);
/* The session URL from the 201's Location (absolute), or NULL. */
const char *sc_publish_get_location (ScPublish *pub);
/* HTTP status of the POST, 0 before it completes. */
guint       sc_publish_get_status   (ScPublish *pub);
void        sc_publish_free         (ScPublish *pub);

/* `spacecast publish --whip URL --token JWT [...]`; argv[0] = "publish". */
int         sc_publish_main         (int argc, char **argv);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScPublish, sc_publish_free)

G_END_DECLS
