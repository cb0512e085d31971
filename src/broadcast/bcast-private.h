/* Internal state shared by bcast-pipeline.c (mixing) and bcast-output.c
 * (the throw-away RTMP output pipeline). */
#pragma once

#include "spacecast/bcast-pipeline.h"
#include "spacecast/encoder.h"

#include <gst/app/gstappsrc.h>
#include <gst/app/gstappsink.h>
#include <gst/controller/gstinterpolationcontrolsource.h>

/* Every mixer input and the output share one raw format, the one browsers'
 * VP8 decodes to: the compositor then only copies or scales a tile, instead
 * of converting its colour matrix and chroma siting on every frame. */
#define SC_BCAST_RAW "video/x-raw,format=I420,colorimetry=bt601,chroma-site=jpeg"
/* The rate both audio mixers and the audio encoder run at (their caps). */
#define SC_BCAST_AUDIO_RATE 48000
#define SC_BCAST_Z_PARTICIPANTS 2   /* 0: colour, 1: background image */
#define SC_BCAST_N_GEOM 5           /* xpos ypos width height alpha */

/* One mixer input: a branch in its own bin, linked to a mixer pad. */
typedef struct {
  GstElement *bin;
  GstElement *mixer;
  GstPad *mixpad;
  GstElement *src;              /* appsrc or videotestsrc, owned by bin */
  GstElement *crop, *text;      /* video only */
  GstTimedValueControlSource *cs[SC_BCAST_N_GEOM];   /* tiles only */
} ScBcastSlot;

typedef struct {
  char *id;
  ScBcastSlot *video, *audio;
  gboolean anchored;
  GstClockTimeDiff offset;      /* ours = theirs + offset */
  GstClockTime late_since;      /* our running time when it began to come too late, or NONE */
} ScBcastInput;

struct _ScBcastPipeline {
  GMainContext *ctx;            /* owner's context: bus watches, callbacks */
  ScBcastStateFunc state_func;
  gpointer state_data;
  ScBcastInputFailedFunc input_failed_func;
  gpointer input_failed_data;

  /* config (owned copies) */
  int width, height, fps;
  char *rtmp_url;
  guint32 background_argb, placeholder_argb;
  char *background_image;
  guint backoff_max_s;
  ScEncoderChoice *encoders;

  GstElement *pipeline, *comp, *amix, *vsink, *asink;
  GSource *bus_watch;

  GMutex lock;                  /* guards everything below */
  GHashTable *inputs;           /* id -> ScBcastInput* */
  GHashTable *placeholders;     /* id -> ScBcastSlot* */
  GArray *pending_tiles;        /* ScTile, for the next output frame */
  GstClockTime pending_dur;
  GstClockTime layout_at;        /* see ScBcastHealth */
  GPtrArray *retiring;          /* placeholders to hide on that frame */
  GPtrArray *retired;           /* hidden, freed by reap_source */
  GSource *reap_source;
  GstClockTime last_out_pts;    /* compositor output, streaming thread */
  gboolean stopping;
  GstClockTime stop_at;         /* running time of the stop request, or NONE */
  GSList *pending_notes;        /* GSource* of undelivered state callbacks */
  ScBcastState state;
  char *reason;

  /* output session */
  GstElement *out_pipe, *out_vsrc, *out_asrc;
  GSource *out_watch, *retry_source;
  gboolean need_keyframe;
  GstClockTime session_base;    /* running time of the session's first keyframe */
  GQueue early_audio;           /* GstSample*: audio waiting for a session's first keyframe */
  guint backoff_s;
  gint64 session_started_us;
  guint reconnects;
  guint64 frames_out, frames_dropped, bytes_out;
  gint64 rate_t0_us;
  guint64 rate_frames0, rate_bytes0;
  double fps_now;
  guint64 bps_now;

  /* program preview (bcast-preview.c) */
  GstElement *pv_pipe, *pv_vsrc, *pv_asrc;   /* under lock */
  GSource *pv_watch;
  gboolean pv_need_key;         /* under lock: drop video until a key frame */
  char h264_plid[8];            /* under lock; "" until the first frame */
  GMutex pv_lock;               /* the taps; held while they are called */
  GPtrArray *pv_taps;
  guint pv_next_id;
  gint pv_want_key;             /* atomic */
  gint64 pv_last_key_us;        /* the video appsink's streaming thread */
};

/* bcast-pipeline.c */
ScBcastSlot *sc_bcast_slot_new (ScBcastPipeline *p, GstElement *mixer, const char *desc,
                                GError **error);
void         sc_bcast_slot_free (ScBcastPipeline *p, ScBcastSlot *s);
GstClockTime sc_bcast_pipeline_running_time (ScBcastPipeline *p);

/* bcast-tiles.c */
void sc_bcast_tiles_init (ScBcastPipeline *p);
void sc_bcast_tiles_clear (ScBcastPipeline *p);
/* Give a video slot geometry control (hidden until placed). */
void sc_bcast_slot_make_tile (ScBcastSlot *s);

/* bcast-output.c */
gboolean sc_bcast_output_start (ScBcastPipeline *p, GError **error);
void     sc_bcast_output_teardown (ScBcastPipeline *p);
/* Wire the mixing pipeline's appsinks to the output. */
void     sc_bcast_output_attach_sinks (ScBcastPipeline *p);
/* Owner's thread: stop retrying and unwatch the output; returns a ref to the
 * output pipeline (NULL if none) for sc_bcast_output_drain, which blocks on
 * any thread until it has ended its RTMP stream (bounded). */
GstElement *sc_bcast_output_begin_drain (ScBcastPipeline *p);
void        sc_bcast_output_drain (GstElement *out_pipe);
void     sc_bcast_set_state (ScBcastPipeline *p, ScBcastState s, const char *reason);
/* Copies @s into @src with running-time timestamps, @shift earlier
 * (an audio encoder's priming; 0 for video). */
void     sc_bcast_push_retimed (GstElement *src, GstSample *s, GstClockTime shift);

/* bcast-preview.c */
void     sc_bcast_preview_init (ScBcastPipeline *p);
void     sc_bcast_preview_clear (ScBcastPipeline *p);
/* Every encoded frame, from the video appsink: feeds the preview and
 * serves pending key frame requests. */
void     sc_bcast_preview_video (ScBcastPipeline *p, GstSample *s, gboolean key);
void     sc_bcast_cancel_notes (ScBcastPipeline *p);
