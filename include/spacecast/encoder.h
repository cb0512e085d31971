/* spacecast encoder: which H.264 and AAC encoders this machine can really use.
 * Each encoder is a text fragment in pipelines/ (a gst-launch bin description
 * with {placeholders} and a '#'-comment header giving name, kind, hardware and
 * priority).  The probe tries them hardware first, by running a tiny pipeline
 * through each, and keeps the first that actually produces encoded output.
 * The broadcast pipeline renders the chosen fragments with its settings. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  SC_ENCODER_VIDEO,
  SC_ENCODER_AUDIO,
} ScEncoderKind;

typedef struct {
  char *name;            /* "x264enc"; what an `encoder` setting names */
  ScEncoderKind kind;
  gboolean hardware;
  int priority;          /* higher is tried first (after hardware-first) */
  guint priming;         /* audio: samples of encoder delay a decoder plays
                          * before the first input sample (AAC has no way to
                          * say so over RTMP/FLV, so the output retimes) */
  char *description;     /* bin description with {placeholders} */
  char **factories;      /* element factories the description needs */
} ScEncoderFragment;

/* Values substituted into fragments.  Placeholders:
 * {bitrate_kbps} {bitrate_bps} {gop_frames} {fps} {width} {height}
 * {audio_bitrate_kbps} {audio_bitrate_bps} {audio_rate} */
typedef struct {
  int width, height, fps;
  guint video_kbps;      /* 0 = default for the resolution */
  guint gop_frames;      /* 0 = 2 s worth of frames */
  guint audio_kbps;      /* 0 = 128 */
  guint audio_rate;      /* 0 = 48000 */
} ScEncoderSettings;

typedef struct {
  char *name;
  char *reason;          /* "not installed (...)" or "failed: ..." */
} ScEncoderSkip;

typedef struct {
  ScEncoderFragment *video;  /* owned */
  ScEncoderFragment *audio;  /* owned */
  GPtrArray *skipped;        /* of ScEncoderSkip*, in the order tried */
} ScEncoderChoice;

/* Default bitrate: 4500 kbit/s from 1080 lines up, 3000 below. */
guint        sc_encoder_default_video_kbps (int width, int height);
/* Fill unset (0) fields with the ingest defaults. */
void         sc_encoder_settings_resolve (ScEncoderSettings *s);

/* $SPACECAST_PIPELINES_DIR, else the build-time SC_PIPELINES_DIR. */
const char  *sc_encoder_pipelines_dir (void);

ScEncoderFragment *sc_encoder_fragment_parse (const char *text,
                                              const char *fallback_name,
                                              GError **error);
ScEncoderFragment *sc_encoder_fragment_copy (const ScEncoderFragment *f);
void         sc_encoder_fragment_free (ScEncoderFragment *f);

/* All *.pipeline files of @dir (NULL = default), sorted in probe order:
 * hardware first, then priority descending, then name. */
GPtrArray   *sc_encoder_fragments_load (const char *dir, GError **error);

/* The description with every placeholder replaced; an unknown or unclosed
 * placeholder is an error, so a typo in a fragment cannot reach GStreamer. */
char        *sc_encoder_fragment_render (const ScEncoderFragment *f,
                                         const ScEncoderSettings *s,
                                         GError **error);

/* Probe: the first working video and audio encoder, trying them in probe
 * order.  @force (NULL = none) names one encoder that must be used for its
 * kind: if it is missing or fails, the probe fails with the reason.  Results,
 * failures included, are cached per process, keyed by dir and force.
 * Returns a new copy. */
ScEncoderChoice *sc_encoder_probe (const char *dir, const char *force,
                                   GError **error);
/* Never blocks: TRUE once sc_encoder_probe (@dir, @force) would answer at
 * once from the cache.  Otherwise starts that probe on a worker thread (if
 * it is not running yet) and returns FALSE: callers on a main loop ask
 * again later instead of waiting seconds for a failing hardware encoder. */
gboolean     sc_encoder_probe_ready (const char *dir, const char *force);
/* Test a single fragment: TRUE if it produced an encoded buffer. */
gboolean     sc_encoder_try (const ScEncoderFragment *f, GError **error);
void         sc_encoder_choice_free (ScEncoderChoice *c);
/* Reason recorded for @name among the skipped, or NULL. */
const char  *sc_encoder_choice_skip_reason (const ScEncoderChoice *c,
                                            const char *name);
void         sc_encoder_probe_clear_cache (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScEncoderFragment, sc_encoder_fragment_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScEncoderChoice, sc_encoder_choice_free)

G_END_DECLS
