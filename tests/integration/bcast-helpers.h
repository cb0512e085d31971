/* Shared by the broadcast pipeline suites (test-broadcast-pipeline.c, the
 * mix; test-broadcast-output.c, its RTMP output): synthetic participants
 * pushed in as samples, an `ffmpeg -listen 1` RTMP server on loopback, and
 * probes of what it recorded. */
#pragma once

#include "spacecast/bcast-pipeline.h"
#include "harness.h"

#include <gst/gst.h>

#define OUT_W 640
#define OUT_H 360
#define BG_ARGB 0xff00c000u      /* green */
#define RED_ARGB 0xffff0000u
#define BLUE_ARGB 0xff0000ffu

typedef struct {
  ScBcastPipeline *bcast;
  char *id;
  GstElement *video, *audio;
  gint lag_ms;          /* their clock falls behind by this much (atomic) */
} Participant;

typedef struct {
  GSubprocess *proc;
  char *path;
  char *url;
} RtmpServer;

typedef struct { double pts; gboolean key; } Frame;

typedef enum { C_OTHER, C_RED, C_BLUE, C_BG } Colour;

typedef struct {
  GPtrArray *states;
} StateLog;


Participant *participant_start (ScBcastPipeline *bcast, const char *id, guint32 argb, int freq);
void participant_stop (Participant *pt);
void spin (guint ms);
RtmpServer *server_start (const char *dir, const char *name, guint16 port);
void server_wait (RtmpServer *s);
void server_free (RtmpServer *s);
char *run_out (const char *const *argv);
GArray *probe_frames (const char *path);
void assert_av_in_step (const char *path, GArray *frames);
double stream_time (const ScBcastHealth *h);
Colour classify (const guint8 *px);
GBytes *decode_small (const char *path);
/* ffmpeg's volumedetect mean (dB) of the audio from @from seconds on. */
double mean_volume (const char *path, double from);
void make_tile (ScTile *t, const char *id, int x, int y, int w, int h);
void on_state (ScBcastPipeline *p, ScBcastState state, const char *reason, gpointer data);
gboolean log_has (StateLog *log, const char *prefix, guint from);
/* gst_init, g_test_init, and fatal criticals but for rtmp2sink's harmless
 * one against ffmpeg's server (see log_writer). */
void bcast_test_init (int *argc, char ***argv);
