/* spacecast layout engine: pure geometry, no GStreamer.  Given who is in a
 * space, a layout and its options and the output resolution, it says where
 * each participant's video goes (tiles) — deterministic and testable to the
 * pixel.  The broadcast pipeline maps tiles onto compositor pads. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  SC_LAYOUT_GALLERY,
  SC_LAYOUT_ACTIVE_SPEAKER,
  SC_LAYOUT_CROP,
  SC_LAYOUT_SPOTLIGHT,
  SC_LAYOUT_PIP,
  SC_LAYOUT_SINGLE,
  SC_LAYOUT_CUSTOM,
} ScLayoutKind;

typedef enum {
  SC_FIT_CONTAIN,   /* "fit": whole picture visible, letterboxed in the tile */
  SC_FIT_COVER,     /* "fill": picture scaled to cover the tile, edges cropped */
} ScFit;

typedef struct {
  int x, y, width, height;
} ScRect;

typedef struct {
  const char *id;
  gboolean has_video;
  gboolean is_screen_share;
  double audio_level;        /* linear 0.0 (silence) .. 1.0 (full scale) */
  guint join_order;          /* smaller joined earlier */
} ScLayoutParticipant;

typedef struct {
  double x, y, width, height;  /* fractions of the output frame, 0..1 */
  char *participant_id;        /* NULL: filled in join order */
} ScLayoutRegion;

typedef struct {
  ScLayoutKind kind;
  int width, height;           /* output resolution */
  int gap;                     /* pixels between and around tiles */
  ScFit fit;
  gboolean labels;             /* draw participant_id labels */
  char **order;                /* ids placed first, in this order (NULL-terminated) */
  char *pinned_id;             /* single / spotlight / pip: the main participant */
  guint32 background_argb;
  guint32 placeholder_argb;    /* tile colour for a participant without video */
  GArray *regions;             /* of ScLayoutRegion, for SC_LAYOUT_CUSTOM */
} ScLayoutOptions;

typedef struct {
  char *participant_id;
  ScRect rect;
  int z;                       /* higher draws on top */
  ScFit fit;
  char *label;                 /* NULL when labels are off */
  gboolean placeholder;        /* no video: draw placeholder_argb and the name */
} ScTile;

/* Limits and defaults (see layout.c for how each layout uses them). */
#define SC_LAYOUT_MAX_TILES          25     /* gallery / crop / spotlight show at most this many */
#define SC_LAYOUT_MAX_REGIONS        25
#define SC_LAYOUT_DEFAULT_GAP_1080   8      /* gap at 1080 px short side, scaled with resolution */
#define SC_LAYOUT_DEFAULT_BACKGROUND 0xFF1A1A1Au
#define SC_LAYOUT_DEFAULT_PLACEHOLDER 0xFF333333u
#define SC_LAYOUT_SPEAKER_HOLD_MS    1500
#define SC_LAYOUT_SPEAKER_SILENCE    0.01   /* linear level (-40 dBFS) below which nobody leads */

/* Defaults for @kind at @width x @height (both even, > 0): gap scaled from
 * 8 px at 1080p (0 for crop), fit = contain (cover for crop), labels off,
 * background #1A1A1A, placeholder #333333. */
void         sc_layout_options_init (ScLayoutOptions *opts, ScLayoutKind kind,
                                     int width, int height);

/* Parse "layout" (string, NULL = gallery) and "layout_options" (object or
 * NULL) as the broadcast API takes them; unspecified options keep their
 * defaults.  On failure @opts holds nothing to free (clearing it is safe)
 * and @error is SC_ERROR_INVALID naming the field. */
gboolean     sc_layout_options_init_from_json (ScLayoutOptions *opts,
                                               const char *layout,
                                               JsonObject *layout_options,
                                               int width, int height,
                                               GError **error);
void         sc_layout_options_clear (ScLayoutOptions *opts);
const char  *sc_layout_kind_to_string (ScLayoutKind kind);
gboolean     sc_layout_kind_from_string (const char *s, ScLayoutKind *kind);
/* Parse "#RRGGBB" into opaque ARGB. */
gboolean     sc_layout_parse_color (const char *s, guint32 *argb);

/* What each layout does (details at the top of src/layout/layout.c):
 *   gallery         grid of up to 25 equal tiles (frame aspect), rows centred;
 *                   with a screen share it is spotlight with the share as main
 *   spotlight       main (pinned > screen share > active speaker > first) in
 *                   ~80% of the frame, others in a strip on the right
 *                   (landscape) or at the bottom (portrait / square)
 *   active-speaker  @active_speaker_id (else the first) full-frame
 *   single          pinned (else the first) full-frame
 *   pip             main (pinned > active speaker > first) full-frame, the
 *                   next one as a 25%-wide inset bottom-right, z = 1
 *   crop            tiles cover every pixel, fit = fill
 *   custom          one tile per region, z = region index
 * Order: options.order first, then join_order.  Tiles come back main first,
 * then the others in that order (custom: region order); every coordinate and
 * size is even.  Screen shares
 * are always SC_FIT_CONTAIN.  Tiles are drawn in increasing z (equal z never
 * overlap). */
/* Tiles (GArray of ScTile, freed with g_array_unref) for the participants.
 * @active_speaker_id is what an ScLayoutSpeaker tracker says (may be NULL). */
GArray      *sc_layout_compute (const ScLayoutOptions *opts,
                                const ScLayoutParticipant *participants,
                                guint n_participants,
                                const char *active_speaker_id);

/* Active-speaker tracking with hysteresis: a new speaker takes over only
 * after leading for hold_ms (about 1500) of continuous updates. */
typedef struct _ScLayoutSpeaker ScLayoutSpeaker;
ScLayoutSpeaker *sc_layout_speaker_new (guint hold_ms);
void             sc_layout_speaker_free (ScLayoutSpeaker *s);
/* Feed current levels at time now_ms; returns the current speaker id (owned
 * by the tracker, valid until the next call) or NULL with nobody present. */
const char      *sc_layout_speaker_update (ScLayoutSpeaker *s,
                                           const ScLayoutParticipant *participants,
                                           guint n_participants,
                                           gint64 now_ms);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScLayoutSpeaker, sc_layout_speaker_free)

G_END_DECLS
