/* spacecast broadcast media pipeline: composites the participants of a space
 * (raw samples pushed in from their own pipelines) into one fixed-format
 * H.264/AAC stream and publishes it over RTMP.
 *
 * It owns two GStreamer pipelines: the mixing pipeline (always-on filler
 * sources, compositor + audiomixer with fixed output caps, the probed
 * encoders) and a small output pipeline (appsrc → flvmux → rtmp2sink) that is
 * thrown away and rebuilt on every reconnect, so a failing RTMP server can
 * never stop or renegotiate the mixing side; and, while someone watches,
 * a program preview pipeline (RTP for WHEP viewers).  Layout changes only touch
 * compositor pad properties, through control sources keyed to output time,
 * so every tile moves on the same output frame. */
#pragma once

#include <glib.h>
#include <gst/gst.h>
#include "spacecast/layout.h"

G_BEGIN_DECLS

typedef struct _ScBcastPipeline ScBcastPipeline;

typedef struct {
  int width, height;            /* output size, e.g. 1280x720 */
  int fps;                      /* 0 = 30 */
  guint video_kbps;             /* 0 = default by resolution (encoder.h) */
  const char *encoder;          /* NULL = probe; else force this fragment */
  const char *pipelines_dir;    /* NULL = sc_encoder_pipelines_dir () */
  const char *rtmp_url;         /* rtmp:// or rtmps://, stream key included */
  guint32 background_argb;      /* 0xAARRGGBB */
  const char *background_image; /* nullable: a file path or a URI */
  guint32 placeholder_argb;     /* 0 = dark grey; tile colour without video */
  guint backoff_max_s;          /* 0 = 30: reconnect delay cap */
} ScBcastConfig;

typedef enum {
  SC_BCAST_IDLE,          /* created, not started */
  SC_BCAST_RUNNING,
  SC_BCAST_RECONNECTING,  /* output lost; mixing continues; retry pending */
  SC_BCAST_FAILED,        /* output gave up (e.g. key refused): see reason */
  SC_BCAST_STOPPED,
} ScBcastState;

typedef struct {
  ScBcastState state;
  char reason[256];             /* why reconnecting/failed; "" otherwise */
  char video_encoder[64];
  char audio_encoder[64];
  double output_fps;            /* encoded frames/s reaching the output */
  guint64 bitrate_bps;          /* bytes/s * 8 handed to the output */
  guint64 frames_out;           /* video frames handed to rtmp2sink */
  guint64 frames_dropped;       /* frames not delivered (output down) */
  guint reconnects;
  GstClockTime position;        /* output time of the last composited frame */
  GstClockTime session_start;   /* output time of the RTMP session's first
                                 * keyframe, time 0 of what the server receives;
                                 * NONE until it is sent */
  GstClockTime layout_at;       /* output time of the first frame composited
                                 * with the last set_tiles; NONE while that
                                 * layout waits for its frame */
} ScBcastHealth;

/* Called on the owner's main context (the thread-default context at _new)
 * when the state changes: RECONNECTING, RUNNING again, FAILED (permanent,
 * with a reason), STOPPED. */
typedef void (*ScBcastStateFunc) (ScBcastPipeline *p, ScBcastState state,
                                  const char *reason, gpointer user_data);

/* Called on the owner's main context when a participant's branch failed
 * (bad media pushed in...) and was removed: the mix goes on without it,
 * and the owner should no longer lay it out as a video tile. */
typedef void (*ScBcastInputFailedFunc) (ScBcastPipeline *p, const char *participant_id,
                                        const char *reason, gpointer user_data);

const char      *sc_bcast_state_to_string (ScBcastState s);

ScBcastPipeline *sc_bcast_pipeline_new (const ScBcastConfig *cfg, GError **error);
void             sc_bcast_pipeline_free (ScBcastPipeline *p);
void             sc_bcast_pipeline_set_state_func (ScBcastPipeline *p,
                                                   ScBcastStateFunc func,
                                                   gpointer user_data);
void             sc_bcast_pipeline_set_input_failed_func (ScBcastPipeline *p,
                                                          ScBcastInputFailedFunc func,
                                                          gpointer user_data);
gboolean         sc_bcast_pipeline_start (ScBcastPipeline *p, GError **error);
/* Sends EOS through both pipelines and waits (bounded) until rtmp2sink has
 * sent its stop commands, so the RTMP stream ends cleanly.  The wait blocks:
 * where the RTMP server is served by the same thread (spacecast's own
 * ingest), use the _async form, which waits on a worker thread and calls
 * func back on the owner's context; free the pipeline there at the soonest. */
typedef void (*ScBcastStoppedFunc) (ScBcastPipeline *p, gpointer user_data);
void             sc_bcast_pipeline_stop (ScBcastPipeline *p);
void             sc_bcast_pipeline_stop_async (ScBcastPipeline *p, ScBcastStoppedFunc func,
                                               gpointer user_data);

/* Participant inputs.  add/remove/set_tiles from the owner's thread; push_*
 * from any thread (typically another pipeline's streaming thread).  Samples
 * are re-timed onto this pipeline's clock with one offset per participant
 * (fixed at its first sample), so its audio and video stay in sync. */
void sc_bcast_pipeline_add_input    (ScBcastPipeline *p, const char *participant_id);
void sc_bcast_pipeline_remove_input (ScBcastPipeline *p, const char *participant_id);
void sc_bcast_pipeline_push_video   (ScBcastPipeline *p, const char *participant_id,
                                     GstSample *s);
void sc_bcast_pipeline_push_audio   (ScBcastPipeline *p, const char *participant_id,
                                     GstSample *s);

/* Tiles from the layout engine.  All pads change on the next output frame
 * the compositor makes after the call; transition_ms > 0 animates linearly. */
void sc_bcast_pipeline_set_tiles (ScBcastPipeline *p, const ScTile *tiles,
                                  guint n, guint transition_ms);

void sc_bcast_pipeline_get_health (ScBcastPipeline *p, ScBcastHealth *out);

/* Program preview: the H.264 the output already gets, packetised for RTP
 * (SPS/PPS before every IDR), and the mix encoded once to Opus, in a small
 * pipeline of its own that runs only while a preview tap is attached; it
 * is fed through leaky queues, so it never holds up the mix or the RTMP
 * output.  @func runs on that pipeline's streaming threads with every RTP
 * packet (@video: H.264, else Opus), borrowed; it must not block.  Packet
 * timestamps are running times of the mixing pipeline (its base time
 * below).  add/remove from the owner's thread; no @func call is made
 * after remove returns, and @notify runs then. */
typedef void (*ScBcastRtpFunc) (gboolean video, GstBuffer *rtp, gpointer user_data);
guint        sc_bcast_pipeline_add_preview    (ScBcastPipeline *p, ScBcastRtpFunc func,
                                               gpointer user_data, GDestroyNotify notify,
                                               GError **error);
void         sc_bcast_pipeline_remove_preview (ScBcastPipeline *p, guint id);
/* The profile-level-id of the encoded H.264 (read off its SPS, e.g.
 * "4d401f"): FALSE until the first frame has been encoded. */
gboolean     sc_bcast_pipeline_get_h264_profile (ScBcastPipeline *p, char out[8]);
GstClockTime sc_bcast_pipeline_get_base_time (ScBcastPipeline *p);
/* Any thread.  Asks the encoder for a key frame; requests are coalesced to
 * at most one per 500 ms (one made within the window is served when it
 * ends).  The RTMP output gets that key frame too: there is one encode. */
void         sc_bcast_pipeline_request_keyframe (ScBcastPipeline *p);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScBcastPipeline, sc_bcast_pipeline_free)

G_END_DECLS
