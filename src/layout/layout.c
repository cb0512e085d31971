/* The layout engine: participants + options + resolution -> tiles.
 *
 * Every x, y, width and height is even so that tiles start on I420 chroma
 * sample boundaries; where exact centring would need an odd offset the tile
 * moves left/up by one pixel (margins then differ by 2 px at most).
 *
 * Ordering everywhere: the ids in options.order first (in that order), then
 * everyone else by join_order, then by id.  Someone leaving therefore never
 * reshuffles the others, they only close the gap.
 *
 * gallery     grid of up to 25 tiles with the frame's aspect, the column count
 *             that gives the largest tiles, `gap` between and around tiles,
 *             last row and whole grid centred.  With a screen share present it
 *             becomes spotlight with the share as the main tile.
 * spotlight   main tile (pinned, else a screen share, else the active speaker,
 *             else the first) takes 80% of the frame; the others go in a strip
 *             on the right of a landscape frame, at the bottom of a portrait or
 *             square one, laid out as a gallery grid centred in the strip.
 * active-speaker / single   one participant, the whole frame, no gap.
 * pip         main full-frame, the next participant as a 25%-wide inset in the
 *             bottom-right corner, 24 px (at 1080p) from the edges, z = 1.
 * crop        tiles cover the whole frame (fit = fill): rows or columns of
 *             near-equal counts, chosen so tiles are closest to 16:9 cameras;
 *             earlier participants get the larger tiles (3 at 16:9 = 1 big on
 *             the left + 2 stacked).  `gap` defaults to 0 here.
 * custom      regions from the options, rounded to even pixels, z = index;
 *             unassigned regions take the remaining participants in order.
 *
 * Screen shares are always fit = contain: cropping a slide loses its text. */
#include "spacecast/layout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CAMERA_ASPECT (16.0 / 9.0)

static inline int
even_floor (int v)
{
  return v & ~1;
}

static int
even_round (double v)
{
  return 2 * (int) lround (v / 2.0);
}

static void
tile_clear (gpointer data)
{
  ScTile *t = data;
  g_clear_pointer (&t->participant_id, g_free);
  g_clear_pointer (&t->label, g_free);
}

/* ---- ordering ---------------------------------------------------------- */

static guint
order_rank (const ScLayoutOptions *opts, const char *id)
{
  if (opts->order)
    for (guint i = 0; opts->order[i]; i++)
      if (strcmp (opts->order[i], id) == 0)
        return i;
  return G_MAXUINT;
}

static gint
compare_participants (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const ScLayoutParticipant *pa = *(const ScLayoutParticipant *const *) a;
  const ScLayoutParticipant *pb = *(const ScLayoutParticipant *const *) b;
  const ScLayoutOptions *opts = user_data;
  guint ra = order_rank (opts, pa->id), rb = order_rank (opts, pb->id);

  if (ra != rb)
    return ra < rb ? -1 : 1;
  if (pa->join_order != pb->join_order)
    return pa->join_order < pb->join_order ? -1 : 1;
  return strcmp (pa->id, pb->id);
}

/* Participants (pointers into the caller's array) in layout order. */
static GPtrArray *
sorted_participants (const ScLayoutOptions *opts,
                     const ScLayoutParticipant *participants, guint n)
{
  GPtrArray *v = g_ptr_array_sized_new (n);

  for (guint i = 0; i < n; i++)
    if (participants[i].id != NULL)
      g_ptr_array_add (v, (gpointer) &participants[i]);
  g_ptr_array_sort_with_data (v, compare_participants, (gpointer) opts);
  return v;
}

static const ScLayoutParticipant *
find_id (GPtrArray *v, const char *id)
{
  if (id == NULL)
    return NULL;
  for (guint i = 0; i < v->len; i++) {
    const ScLayoutParticipant *p = g_ptr_array_index (v, i);
    if (strcmp (p->id, id) == 0)
      return p;
  }
  return NULL;
}

static const ScLayoutParticipant *
first_share (GPtrArray *v)
{
  for (guint i = 0; i < v->len; i++) {
    const ScLayoutParticipant *p = g_ptr_array_index (v, i);
    if (p->is_screen_share)
      return p;
  }
  return NULL;
}

/* The others, in order, without @main, at most @max of them. */
static GPtrArray *
others_of (GPtrArray *v, const ScLayoutParticipant *main, guint max)
{
  GPtrArray *o = g_ptr_array_new ();

  for (guint i = 0; i < v->len && o->len < max; i++)
    if (g_ptr_array_index (v, i) != main)
      g_ptr_array_add (o, g_ptr_array_index (v, i));
  return o;
}

/* ---- tiles ------------------------------------------------------------- */

static void
add_tile (GArray *tiles, const ScLayoutOptions *opts, const ScLayoutParticipant *p,
          int x, int y, int w, int h, int z)
{
  ScTile t = { 0 };

  t.participant_id = g_strdup (p->id);
  t.rect = (ScRect) { x, y, w, h };
  t.z = z;
  t.fit = p->is_screen_share ? SC_FIT_CONTAIN : opts->fit;
  t.label = opts->labels ? g_strdup (p->id) : NULL;
  t.placeholder = !p->has_video;
  g_array_append_val (tiles, t);
}

/* The column count giving the largest aw:ah tiles for @n in @area. */
static gboolean
choose_grid (guint n, ScRect area, int gap, int aw, int ah, gboolean portrait,
             guint *cols, int *tile_w, int *tile_h)
{
  int best_c = 0, best_tw = 0, best_th = 0;
  guint best_waste = 0;

  for (guint c = 1; c <= n; c++) {
    guint r = (n + c - 1) / c;
    gint64 avail_w = (area.width - (gint64) (c - 1) * gap) / c;
    gint64 avail_h = (area.height - (gint64) (r - 1) * gap) / r;
    int tw, th;
    guint waste = c * r - n;

    if (avail_w < 2 || avail_h < 2)
      continue;
    tw = even_floor ((int) MIN (avail_w, avail_h * aw / ah));
    th = even_floor ((int) ((gint64) tw * ah / aw));
    if (tw < 2 || th < 2)
      continue;
    /* Largest tiles; then fewest empty cells; then wider grids on a
     * landscape frame, taller ones on a portrait frame. */
    if ((gint64) tw * th > (gint64) best_tw * best_th
        || ((gint64) tw * th == (gint64) best_tw * best_th
            && (waste < best_waste || (waste == best_waste && !portrait)))) {
      best_c = c;
      best_tw = tw;
      best_th = th;
      best_waste = waste;
    }
  }
  *cols = best_c;
  *tile_w = best_tw;
  *tile_h = best_th;
  return best_c > 0;
}

/* Grid of @ps->len tiles with aspect aw:ah, @gap apart, centred in @area;
 * every row (the last one included) centred on its own. */
static void
place_grid (GArray *tiles, const ScLayoutOptions *opts, GPtrArray *ps,
            ScRect area, int gap, int aw, int ah)
{
  guint n = ps->len, c, r;
  int tw, th, grid_h, y0;

  if (n == 0)
    return;
  /* A huge gap in a small strip can leave no room at all; shrink it rather
   * than drop people from the picture. */
  while (!choose_grid (n, area, gap, aw, ah, opts->height > opts->width, &c, &tw, &th)) {
    if (gap == 0)
      return;
    gap = even_floor (gap / 2);
  }

  r = (n + c - 1) / c;
  grid_h = r * th + (r - 1) * gap;
  y0 = area.y + even_floor ((area.height - grid_h) / 2);
  for (guint i = 0; i < n; i++) {
    guint row = i / c, col = i % c;
    guint in_row = row == r - 1 ? n - row * c : c;
    int row_w = in_row * tw + (in_row - 1) * gap;
    /* Centred in the area itself, not in the grid: two even roundings in a
     * row could leave the last row 4 px off centre. */
    int rx = area.x + even_floor ((area.width - row_w) / 2);
    add_tile (tiles, opts, g_ptr_array_index (ps, i),
              rx + col * (tw + gap), y0 + row * (th + gap), tw, th, 0);
  }
}

static ScRect
content_area (const ScLayoutOptions *opts)
{
  return (ScRect) { opts->gap, opts->gap,
                    opts->width - 2 * opts->gap, opts->height - 2 * opts->gap };
}

static void
layout_gallery (GArray *tiles, const ScLayoutOptions *opts, GPtrArray *ps)
{
  g_autoptr (GPtrArray) shown = others_of (ps, NULL, SC_LAYOUT_MAX_TILES);
  place_grid (tiles, opts, shown, content_area (opts), opts->gap,
              opts->width, opts->height);
}

static void
layout_spotlight (GArray *tiles, const ScLayoutOptions *opts, GPtrArray *ps,
                  const ScLayoutParticipant *main)
{
  ScRect area = content_area (opts), main_r = area, strip = area;
  int gap = opts->gap;
  g_autoptr (GPtrArray) rest = others_of (ps, main, SC_LAYOUT_MAX_TILES - 1);

  if (rest->len > 0) {
    if (opts->width > opts->height) {
      strip.width = even_floor (opts->width / 5);
      main_r.width = area.width - strip.width - gap;
      strip.x = area.x + main_r.width + gap;
    } else {
      strip.height = even_floor (opts->height / 5);
      main_r.height = area.height - strip.height - gap;
      strip.y = area.y + main_r.height + gap;
    }
  }
  add_tile (tiles, opts, main, main_r.x, main_r.y, main_r.width, main_r.height, 0);
  place_grid (tiles, opts, rest, strip, gap, opts->width, opts->height);
}

static void
layout_pip (GArray *tiles, const ScLayoutOptions *opts, GPtrArray *ps,
            const ScLayoutParticipant *main)
{
  g_autoptr (GPtrArray) rest = others_of (ps, main, 1);
  int margin = MAX (2, even_round (24.0 * MIN (opts->width, opts->height) / 1080.0));
  int w, h;

  add_tile (tiles, opts, main, 0, 0, opts->width, opts->height, 0);
  if (rest->len == 0)
    return;
  w = even_floor (opts->width / 4);
  h = even_floor ((int) ((gint64) w * opts->height / opts->width));
  /* A frame too small for an inset shows none: a 0 px pad size would make
   * the compositor draw the inset at its own full size. */
  if (w < 2 || h < 2 || margin + w > opts->width || margin + h > opts->height)
    return;
  add_tile (tiles, opts, g_ptr_array_index (rest, 0),
            opts->width - margin - w, opts->height - margin - h, w, h, 1);
}

/* Split @len (even) into @k even parts with @gap between and around them. */
static void
split_even (int len, guint k, int gap, int *pos, int *size)
{
  int half_units;
  int base, extra;
  int at;

  if (len - (int) (k + 1) * gap < 2 * (int) k)   /* gap too big for k parts */
    gap = MAX (0, even_floor ((len - 2 * (int) k) / (int) (k + 1)));
  half_units = (len - (int) (k + 1) * gap) / 2;
  base = half_units / (int) k;
  extra = half_units % (int) k;
  at = gap;
  for (guint i = 0; i < k; i++) {
    size[i] = 2 * (base + ((int) i < extra ? 1 : 0));
    pos[i] = at;
    at += size[i] + gap;
  }
}

/* Crop: @g groups (columns when @by_columns, else rows), counts differing by
 * at most one with the smaller groups first. */
static double
crop_cost (const ScLayoutOptions *opts, guint n, guint g, gboolean by_columns)
{
  double cost = 0;
  int along = by_columns ? opts->width : opts->height;
  int across = by_columns ? opts->height : opts->width;

  for (guint i = 0; i < g; i++) {
    guint cnt = n / g + (i >= g - n % g ? 1 : 0);
    double gw = (double) along / g, gh = (double) across / cnt;
    double aspect = by_columns ? gw / gh : gh / gw;
    /* Cover-cropping loses |log(aspect / camera)|, per tile. */
    cost += cnt * fabs (log (aspect / CAMERA_ASPECT));
  }
  return cost;
}

static void
layout_crop (GArray *tiles, const ScLayoutOptions *opts, GPtrArray *ps)
{
  /* Every tile needs 2x2 pixels: a tiny frame shows fewer people. */
  guint room = (guint) (opts->width / 2) * (guint) (opts->height / 2);
  g_autoptr (GPtrArray) shown = others_of (ps, NULL, MIN (SC_LAYOUT_MAX_TILES, room));
  guint n = shown->len, best_g = 1;
  gboolean best_cols = TRUE, landscape = opts->width >= opts->height;
  double best = INFINITY;
  int gpos[SC_LAYOUT_MAX_TILES], gsize[SC_LAYOUT_MAX_TILES];
  int tpos[SC_LAYOUT_MAX_TILES], tsize[SC_LAYOUT_MAX_TILES];
  guint idx = 0;

  if (n == 0)
    return;
  /* Groups along the long axis, and more of them, are tried first so that
   * ties go to side-by-side (2 at 16:9) and to the big tile on the left
   * beside two stacked ones (3 at 16:9). */
  for (int pass = 0; pass < 2; pass++) {
    gboolean cols = (pass == 0) == landscape;
    for (guint g = n; g >= 1; g--) {
      int along = cols ? opts->width : opts->height;
      int across = cols ? opts->height : opts->width;
      if ((int) g > along / 2 || (int) ((n + g - 1) / g) > across / 2)
        continue;
      double c = crop_cost (opts, n, g, cols);
      if (c < best - 1e-9) {
        best = c;
        best_g = g;
        best_cols = cols;
      }
    }
  }

  split_even (best_cols ? opts->width : opts->height, best_g, opts->gap, gpos, gsize);
  for (guint i = 0; i < best_g; i++) {
    guint cnt = n / best_g + (i >= best_g - n % best_g ? 1 : 0);
    split_even (best_cols ? opts->height : opts->width, cnt, opts->gap, tpos, tsize);
    for (guint j = 0; j < cnt; j++, idx++) {
      const ScLayoutParticipant *p = g_ptr_array_index (shown, idx);
      if (best_cols)
        add_tile (tiles, opts, p, gpos[i], tpos[j], gsize[i], tsize[j], 0);
      else
        add_tile (tiles, opts, p, tpos[j], gpos[i], tsize[j], gsize[i], 0);
    }
  }
}

static void
layout_custom (GArray *tiles, const ScLayoutOptions *opts, GPtrArray *ps)
{
  g_autoptr (GPtrArray) free_ps = g_ptr_array_new ();
  guint next = 0;

  if (opts->regions == NULL)
    return;
  /* Whoever is named by a region is not available to unassigned ones. */
  for (guint i = 0; i < ps->len; i++) {
    const ScLayoutParticipant *p = g_ptr_array_index (ps, i);
    gboolean named = FALSE;
    for (guint r = 0; r < opts->regions->len && !named; r++) {
      const char *rid = g_array_index (opts->regions, ScLayoutRegion, r).participant_id;
      named = rid && strcmp (rid, p->id) == 0;
    }
    if (!named)
      g_ptr_array_add (free_ps, (gpointer) p);
  }

  for (guint r = 0; r < opts->regions->len; r++) {
    const ScLayoutRegion *reg = &g_array_index (opts->regions, ScLayoutRegion, r);
    const ScLayoutParticipant *p;
    int x0 = CLAMP (even_round (reg->x * opts->width), 0, opts->width);
    int y0 = CLAMP (even_round (reg->y * opts->height), 0, opts->height);
    int x1 = CLAMP (even_round ((reg->x + reg->width) * opts->width), 0, opts->width);
    int y1 = CLAMP (even_round ((reg->y + reg->height) * opts->height), 0, opts->height);

    if (reg->participant_id)
      p = find_id (ps, reg->participant_id);   /* absent: region stays empty */
    else
      p = next < free_ps->len ? g_ptr_array_index (free_ps, next++) : NULL;
    if (p != NULL && x1 > x0 && y1 > y0)
      add_tile (tiles, opts, p, x0, y0, x1 - x0, y1 - y0, (int) r);
  }
}

GArray *
sc_layout_compute (const ScLayoutOptions *opts,
                   const ScLayoutParticipant *participants, guint n_participants,
                   const char *active_speaker_id)
{
  GArray *tiles = g_array_new (FALSE, TRUE, sizeof (ScTile));
  g_autoptr (GPtrArray) ps = NULL;
  const ScLayoutParticipant *main;

  g_array_set_clear_func (tiles, tile_clear);
  g_return_val_if_fail (opts != NULL, tiles);
  g_return_val_if_fail (opts->width > 0 && opts->height > 0, tiles);

  ps = sorted_participants (opts, participants, participants ? n_participants : 0);
  if (ps->len == 0)
    return tiles;

  switch (opts->kind) {
  case SC_LAYOUT_GALLERY:
    if ((main = find_id (ps, opts->pinned_id)) == NULL || !main->is_screen_share)
      main = first_share (ps);
    if (main)
      layout_spotlight (tiles, opts, ps, main);
    else
      layout_gallery (tiles, opts, ps);
    break;
  case SC_LAYOUT_SPOTLIGHT:
  case SC_LAYOUT_PIP:
    if ((main = find_id (ps, opts->pinned_id)) == NULL
        && (opts->kind == SC_LAYOUT_PIP || (main = first_share (ps)) == NULL)
        && (main = find_id (ps, active_speaker_id)) == NULL)
      main = g_ptr_array_index (ps, 0);
    if (opts->kind == SC_LAYOUT_PIP)
      layout_pip (tiles, opts, ps, main);
    else
      layout_spotlight (tiles, opts, ps, main);
    break;
  case SC_LAYOUT_ACTIVE_SPEAKER:
    if ((main = find_id (ps, active_speaker_id)) == NULL)
      main = g_ptr_array_index (ps, 0);
    add_tile (tiles, opts, main, 0, 0, opts->width, opts->height, 0);
    break;
  case SC_LAYOUT_SINGLE:
    if ((main = find_id (ps, opts->pinned_id)) == NULL)
      main = g_ptr_array_index (ps, 0);
    add_tile (tiles, opts, main, 0, 0, opts->width, opts->height, 0);
    break;
  case SC_LAYOUT_CROP:
    layout_crop (tiles, opts, ps);
    break;
  case SC_LAYOUT_CUSTOM:
    layout_custom (tiles, opts, ps);
    break;
  }
  return tiles;
}
