/* Internal state shared by bcast-pipeline.c (mixing) and bcast-output.c
 * (the throw-away RTMP output pipeline). */
#pragma once

#include "spacecast/bcast-pipeline.h"
#include "spacecast/encoder.h"

#include <gst/app/gstappsrc.h>
#include <gst/app/gstappsink.h>
#include <gst/controller/gstinterpolationcontrolsource.h>

typedef struct _ScBcastSlot ScBcastSlot;

struct _ScBcastPipeline {
  GMainContext *ctx;            /* owner's context: bus watches, callbacks */
  ScBcastStateFunc state_func;
  gpointer state_data;

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
  GstClockTime last_out_pts;    /* compositor output, streaming thread */
  gboolean stopping;
  GSList *pending_notes;        /* GSource* of undelivered state callbacks */
  ScBcastState state;
  char *reason;

  /* output session */
  GstElement *out_pipe, *out_vsrc, *out_asrc;
  GSource *out_watch, *retry_source;
  gboolean need_keyframe;
  guint backoff_s;
  gint64 session_started_us;
  guint reconnects;
  guint64 frames_out, frames_dropped, bytes_out;
  gint64 rate_t0_us;
  guint64 rate_frames0, rate_bytes0;
  double fps_now;
  guint64 bps_now;
};

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
void     sc_bcast_cancel_notes (ScBcastPipeline *p);
