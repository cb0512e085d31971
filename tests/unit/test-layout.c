/* Layout engine: geometry to the pixel, option parsing, speaker hysteresis. */
#include "spacecast/core.h"
#include "spacecast/layout.h"

#include <string.h>

static const int resolutions[][2] = {
  { 1920, 1080 }, { 1280, 720 }, { 1080, 1920 }, { 1080, 1080 }, { 720, 1280 },
  { 720, 720 },
};

static const ScLayoutKind all_kinds[] = {
  SC_LAYOUT_GALLERY, SC_LAYOUT_ACTIVE_SPEAKER, SC_LAYOUT_CROP, SC_LAYOUT_SPOTLIGHT,
  SC_LAYOUT_PIP, SC_LAYOUT_SINGLE, SC_LAYOUT_CUSTOM,
};

#define MAXP 30
static char id_buf[MAXP][16];

/* n camera participants p00, p01, ... joined in that order. */
static void
make_participants (ScLayoutParticipant *ps, guint n)
{
  for (guint i = 0; i < n; i++) {
    g_snprintf (id_buf[i], sizeof id_buf[i], "p%02u", i);
    ps[i] = (ScLayoutParticipant) { id_buf[i], TRUE, FALSE, 0.0, i + 1 };
  }
}

static void
opts_for (ScLayoutOptions *o, ScLayoutKind kind, int w, int h)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) lo = json_object_new ();

  if (kind == SC_LAYOUT_CUSTOM) {
    /* A 5x5 grid of regions, every one unassigned. */
    JsonArray *regions = json_array_new ();
    for (int r = 0; r < 5; r++)
      for (int c = 0; c < 5; c++) {
        JsonObject *reg = json_object_new ();
        json_object_set_double_member (reg, "x", c * 0.2);
        json_object_set_double_member (reg, "y", r * 0.2);
        json_object_set_double_member (reg, "width", 0.2);
        json_object_set_double_member (reg, "height", 0.2);
        json_array_add_object_element (regions, reg);
      }
    json_object_set_array_member (lo, "regions", regions);
  }
  g_assert_true (sc_layout_options_init_from_json (o, sc_layout_kind_to_string (kind),
                                                   lo, w, h, &error));
  g_assert_no_error (error);
}

static const ScTile *
tile (GArray *tiles, guint i)
{
  return &g_array_index (tiles, ScTile, i);
}

static const ScTile *
tile_of (GArray *tiles, const char *id)
{
  for (guint i = 0; i < tiles->len; i++)
    if (strcmp (tile (tiles, i)->participant_id, id) == 0)
      return tile (tiles, i);
  return NULL;
}

static void
assert_rect (const ScTile *t, int x, int y, int w, int h)
{
  g_assert_nonnull (t);
  g_assert_cmpint (t->rect.x, ==, x);
  g_assert_cmpint (t->rect.y, ==, y);
  g_assert_cmpint (t->rect.width, ==, w);
  g_assert_cmpint (t->rect.height, ==, h);
}

static gboolean
overlap (const ScRect *a, const ScRect *b)
{
  return a->x < b->x + b->width && b->x < a->x + a->width
      && a->y < b->y + b->height && b->y < a->y + a->height;
}

static guint
expected_count (ScLayoutKind kind, guint n)
{
  switch (kind) {
  case SC_LAYOUT_ACTIVE_SPEAKER:
  case SC_LAYOUT_SINGLE:
    return MIN (n, 1);
  case SC_LAYOUT_PIP:
    return MIN (n, 2);
  default:
    return MIN (n, 25);
  }
}

/* Gallery grid checks: equal gaps between neighbours, rows centred. */
static void
check_gallery_grid (GArray *tiles, const ScLayoutOptions *o)
{
  int gap = o->gap;

  for (guint i = 0; i < tiles->len; i++) {
    const ScRect *a = &tile (tiles, i)->rect;
    int row_left = a->x, row_right = a->x + a->width;
    /* every tile has the same size */
    g_assert_cmpint (a->width, ==, tile (tiles, 0)->rect.width);
    g_assert_cmpint (a->height, ==, tile (tiles, 0)->rect.height);
    /* around: at least the gap from the frame edge */
    g_assert_cmpint (a->x, >=, gap);
    g_assert_cmpint (a->y, >=, gap);
    g_assert_cmpint (a->x + a->width, <=, o->width - gap);
    g_assert_cmpint (a->y + a->height, <=, o->height - gap);
    for (guint j = 0; j < tiles->len; j++) {
      const ScRect *b = &tile (tiles, j)->rect;
      if (b->y == a->y) {
        row_left = MIN (row_left, b->x);
        row_right = MAX (row_right, b->x + b->width);
        if (b->x > a->x && j == i + 1)
          g_assert_cmpint (b->x - (a->x + a->width), ==, gap);
      } else if (b->y > a->y && b->x == a->x && b->y < a->y + 2 * a->height + gap) {
        /* the tile right below */
        g_assert_cmpint (b->y - (a->y + a->height), ==, gap);
      }
    }
    /* each row centred in the frame, to the even pixel */
    g_assert_cmpint (ABS (row_left - (o->width - row_right)), <=, 2);
  }
  if (tiles->len > 0) {
    int top = tile (tiles, 0)->rect.y;
    const ScRect *last = &tile (tiles, tiles->len - 1)->rect;
    g_assert_cmpint (ABS (top - (o->height - last->y - last->height)), <=, 2);
  }
}

static void
test_invariants (void)
{
  ScLayoutParticipant ps[MAXP];
  make_participants (ps, MAXP);

  for (guint r = 0; r < G_N_ELEMENTS (resolutions); r++) {
    int w = resolutions[r][0], h = resolutions[r][1];
    for (guint k = 0; k < G_N_ELEMENTS (all_kinds); k++) {
      ScLayoutOptions o;
      opts_for (&o, all_kinds[k], w, h);
      for (guint n = 0; n <= 27; n++) {
        g_autoptr (GArray) tiles = sc_layout_compute (&o, ps, n, NULL);
        gint64 area = 0;

        g_assert_cmpuint (tiles->len, ==, expected_count (all_kinds[k], n));
        for (guint i = 0; i < tiles->len; i++) {
          const ScTile *t = tile (tiles, i);
          g_assert_cmpint (t->rect.x % 2, ==, 0);
          g_assert_cmpint (t->rect.y % 2, ==, 0);
          g_assert_cmpint (t->rect.width % 2, ==, 0);
          g_assert_cmpint (t->rect.height % 2, ==, 0);
          g_assert_cmpint (t->rect.width, >=, 2);
          g_assert_cmpint (t->rect.height, >=, 2);
          g_assert_cmpint (t->rect.x, >=, 0);
          g_assert_cmpint (t->rect.y, >=, 0);
          g_assert_cmpint (t->rect.x + t->rect.width, <=, w);
          g_assert_cmpint (t->rect.y + t->rect.height, <=, h);
          g_assert_null (t->label);
          g_assert_false (t->placeholder);
          area += (gint64) t->rect.width * t->rect.height;
          /* each participant at most once */
          for (guint j = 0; j < i; j++)
            g_assert_cmpstr (tile (tiles, j)->participant_id, !=, t->participant_id);
          if (all_kinds[k] == SC_LAYOUT_PIP)
            continue;
          for (guint j = 0; j < i; j++)
            g_assert_false (overlap (&t->rect, &tile (tiles, j)->rect));
        }
        if (all_kinds[k] == SC_LAYOUT_CROP && n > 0) {
          /* no overlap + total area = frame: every pixel is covered */
          g_assert_cmpint (area, ==, (gint64) w * h);
          for (guint i = 0; i < tiles->len; i++)
            g_assert_cmpint (tile (tiles, i)->fit, ==, SC_FIT_COVER);
        }
        if (all_kinds[k] == SC_LAYOUT_GALLERY) {
          check_gallery_grid (tiles, &o);
          /* the first 25 by order */
          for (guint i = 0; i < tiles->len; i++)
            g_assert_cmpstr (tile (tiles, i)->participant_id, ==, ps[i].id);
        }
        if ((all_kinds[k] == SC_LAYOUT_ACTIVE_SPEAKER || all_kinds[k] == SC_LAYOUT_SINGLE
             || all_kinds[k] == SC_LAYOUT_PIP) && n > 0)
          assert_rect (tile (tiles, 0), 0, 0, w, h);
        if (all_kinds[k] == SC_LAYOUT_PIP && n > 1) {
          const ScTile *inset = tile (tiles, 1);
          g_assert_cmpint (inset->z, >, tile (tiles, 0)->z);
          g_assert_cmpint (inset->rect.width, ==, (w / 4) & ~1);
          g_assert_cmpint (inset->rect.x, >, w / 2);
          g_assert_cmpint (inset->rect.y, >, h / 2);
          g_assert_cmpint (inset->rect.x + inset->rect.width, <, w);
          g_assert_cmpint (inset->rect.y + inset->rect.height, <, h);
          /* same margin right and bottom */
          g_assert_cmpint (w - inset->rect.x - inset->rect.width, ==,
                           h - inset->rect.y - inset->rect.height);
        }
        if (all_kinds[k] == SC_LAYOUT_SPOTLIGHT && n > 1) {
          /* the main tile is the largest */
          gint64 main_area = (gint64) tile (tiles, 0)->rect.width * tile (tiles, 0)->rect.height;
          for (guint i = 1; i < tiles->len; i++)
            g_assert_cmpint ((gint64) tile (tiles, i)->rect.width * tile (tiles, i)->rect.height,
                             <, main_area / 4);
        }
      }
      sc_layout_options_clear (&o);
    }
  }
}

/* The largest gap the API accepts still shows everyone, inside the frame. */
static void
test_big_gap (void)
{
  ScLayoutParticipant ps[MAXP];
  make_participants (ps, MAXP);

  for (guint r = 0; r < G_N_ELEMENTS (resolutions); r++) {
    int w = resolutions[r][0], h = resolutions[r][1];
    int max = (MIN (w, h) / 8) & ~1;
    for (guint k = 0; k < G_N_ELEMENTS (all_kinds); k++) {
      g_autoptr (JsonObject) lo = json_object_new ();
      g_autoptr (GError) error = NULL;
      ScLayoutOptions o;

      if (all_kinds[k] == SC_LAYOUT_CUSTOM)
        continue;
      json_object_set_int_member (lo, "gap", max);
      g_assert_true (sc_layout_options_init_from_json (
          &o, sc_layout_kind_to_string (all_kinds[k]), lo, w, h, &error));
      g_assert_cmpint (o.gap, ==, max);
      {
        ScLayoutOptions bad;
        json_object_set_int_member (lo, "gap", max + 1);
        g_assert_false (sc_layout_options_init_from_json (
            &bad, sc_layout_kind_to_string (all_kinds[k]), lo, w, h, NULL));
      }
      for (guint n = 0; n <= 25; n++) {
        g_autoptr (GArray) tiles = sc_layout_compute (&o, ps, n, NULL);
        g_assert_cmpuint (tiles->len, ==, expected_count (all_kinds[k], n));
        for (guint i = 0; i < tiles->len; i++) {
          const ScRect *a = &tile (tiles, i)->rect;
          g_assert_cmpint (a->x % 2 + a->y % 2 + a->width % 2 + a->height % 2, ==, 0);
          g_assert_cmpint (a->width, >=, 2);
          g_assert_cmpint (a->height, >=, 2);
          g_assert_cmpint (a->x, >=, 0);
          g_assert_cmpint (a->y, >=, 0);
          g_assert_cmpint (a->x + a->width, <=, w);
          g_assert_cmpint (a->y + a->height, <=, h);
          for (guint j = 0; j < i && all_kinds[k] != SC_LAYOUT_PIP; j++)
            g_assert_false (overlap (a, &tile (tiles, j)->rect));
        }
      }
      sc_layout_options_clear (&o);
    }
  }
}


/* Found by fuzzing (fuzz-layout): the default gap of at least 2 px did not
 * fit a 2x2 frame, and spotlight gave its main tile -2x-4.  The smallest
 * frames the options accept still give tiles inside the frame, or none. */
static void
test_tiny_frames (void)
{
  static const int tiny[][2] = { { 2, 2 }, { 4, 4 }, { 2, 8 }, { 8, 2 }, { 6, 14 }, { 16, 16 } };
  ScLayoutParticipant ps[MAXP];
  make_participants (ps, MAXP);

  for (guint r = 0; r < G_N_ELEMENTS (tiny); r++) {
    int w = tiny[r][0], h = tiny[r][1];
    for (guint k = 0; k < G_N_ELEMENTS (all_kinds); k++) {
      ScLayoutOptions o;
      /* Regions of a 5x5 grid are refused as too small here. */
      if (all_kinds[k] == SC_LAYOUT_CUSTOM)
        continue;
      opts_for (&o, all_kinds[k], w, h);
      g_assert_cmpint (o.gap, <=, (MIN (w, h) / 8) & ~1);
      for (guint n = 0; n <= 27; n++) {
        g_autoptr (GArray) tiles = sc_layout_compute (&o, ps, n, n > 1 ? ps[1].id : NULL);
        for (guint i = 0; i < tiles->len; i++) {
          const ScRect *a = &tile (tiles, i)->rect;
          g_assert_cmpint (a->width, >=, 2);
          g_assert_cmpint (a->height, >=, 2);
          g_assert_cmpint (a->x, >=, 0);
          g_assert_cmpint (a->y, >=, 0);
          g_assert_cmpint (a->x + a->width, <=, w);
          g_assert_cmpint (a->y + a->height, <=, h);
        }
      }
      sc_layout_options_clear (&o);
    }
  }
}

static GArray *
gallery (guint n, int w, int h)
{
  ScLayoutParticipant ps[MAXP];
  ScLayoutOptions o;
  GArray *tiles;

  make_participants (ps, n);
  opts_for (&o, SC_LAYOUT_GALLERY, w, h);
  g_assert_cmpint (o.gap, ==, 8);
  tiles = sc_layout_compute (&o, ps, n, NULL);
  sc_layout_options_clear (&o);
  g_assert_cmpuint (tiles->len, ==, MIN (n, 25));
  return tiles;
}

/* Hand-computed: area 1904x1064 inside an 8 px gap; columns chosen for the
 * largest 16:9 tile; tile width even, height = even(width * 9/16). */
static void
test_gallery_pixels (void)
{
  GArray *t;

  t = gallery (1, 1920, 1080);   /* 1064*16/9 = 1891 -> 1890 x 1062 */
  assert_rect (tile (t, 0), 14, 8, 1890, 1062);
  g_array_unref (t);

  t = gallery (2, 1920, 1080);   /* side by side: (1904-8)/2 = 948 */
  assert_rect (tile (t, 0), 8, 274, 948, 532);
  assert_rect (tile (t, 1), 964, 274, 948, 532);
  g_array_unref (t);

  t = gallery (3, 1920, 1080);   /* 2x2, (1064-8)/2 = 528 high -> 938 x 526 */
  assert_rect (tile (t, 0), 18, 10, 938, 526);
  assert_rect (tile (t, 1), 964, 10, 938, 526);
  assert_rect (tile (t, 2), 490, 544, 938, 526);   /* last row centred */
  g_array_unref (t);

  t = gallery (4, 1920, 1080);
  assert_rect (tile (t, 0), 18, 10, 938, 526);
  assert_rect (tile (t, 1), 964, 10, 938, 526);
  assert_rect (tile (t, 2), 18, 544, 938, 526);
  assert_rect (tile (t, 3), 964, 544, 938, 526);
  g_array_unref (t);

  t = gallery (5, 1920, 1080);   /* 3 + 2, (1904-16)/3 = 629 -> 628 x 352 */
  assert_rect (tile (t, 0), 10, 184, 628, 352);
  assert_rect (tile (t, 1), 646, 184, 628, 352);
  assert_rect (tile (t, 2), 1282, 184, 628, 352);
  assert_rect (tile (t, 3), 328, 544, 628, 352);
  assert_rect (tile (t, 4), 964, 544, 628, 352);
  g_array_unref (t);

  t = gallery (10, 1920, 1080);  /* 4 + 4 + 2, (1904-24)/4 = 470 x 264 */
  assert_rect (tile (t, 0), 8, 136, 470, 264);
  assert_rect (tile (t, 3), 1442, 136, 470, 264);
  assert_rect (tile (t, 4), 8, 408, 470, 264);
  assert_rect (tile (t, 8), 486, 680, 470, 264);
  assert_rect (tile (t, 9), 964, 680, 470, 264);
  g_array_unref (t);

  t = gallery (25, 1920, 1080);  /* 5x5, (1064-32)/5 = 206 high -> 366 x 204 */
  assert_rect (tile (t, 0), 28, 14, 366, 204);
  assert_rect (tile (t, 6), 402, 226, 366, 204);
  assert_rect (tile (t, 24), 1524, 862, 366, 204);
  g_array_unref (t);

  t = gallery (30, 1920, 1080);  /* capped at 25 */
  g_assert_cmpstr (tile (t, 24)->participant_id, ==, "p24");
  g_array_unref (t);
}

static void
test_crop_pixels (void)
{
  ScLayoutParticipant ps[MAXP];
  ScLayoutOptions o;
  g_autoptr (GArray) two = NULL, three = NULL, four = NULL, portrait = NULL;

  make_participants (ps, 4);
  opts_for (&o, SC_LAYOUT_CROP, 1920, 1080);
  g_assert_cmpint (o.gap, ==, 0);
  g_assert_cmpint (o.fit, ==, SC_FIT_COVER);

  two = sc_layout_compute (&o, ps, 2, NULL);
  assert_rect (tile (two, 0), 0, 0, 960, 1080);
  assert_rect (tile (two, 1), 960, 0, 960, 1080);

  three = sc_layout_compute (&o, ps, 3, NULL);   /* 1 big + 2 stacked */
  assert_rect (tile (three, 0), 0, 0, 960, 1080);
  assert_rect (tile (three, 1), 960, 0, 960, 540);
  assert_rect (tile (three, 2), 960, 540, 960, 540);

  four = sc_layout_compute (&o, ps, 4, NULL);
  assert_rect (tile (four, 3), 960, 540, 960, 540);
  sc_layout_options_clear (&o);

  opts_for (&o, SC_LAYOUT_CROP, 1080, 1920);       /* portrait: rows */
  portrait = sc_layout_compute (&o, ps, 3, NULL);
  assert_rect (tile (portrait, 0), 0, 0, 1080, 640);
  assert_rect (tile (portrait, 1), 0, 640, 1080, 640);
  assert_rect (tile (portrait, 2), 0, 1280, 1080, 640);
  sc_layout_options_clear (&o);
}

static GPtrArray *
ids_in_reading_order (GArray *tiles)
{
  GPtrArray *ids = g_ptr_array_new ();
  for (guint i = 0; i < tiles->len; i++)
    g_ptr_array_add (ids, tile (tiles, i)->participant_id);
  for (guint i = 1; i < tiles->len; i++) {   /* reading order = row-major */
    const ScRect *a = &tile (tiles, i - 1)->rect, *b = &tile (tiles, i)->rect;
    g_assert_true (b->y > a->y || (b->y == a->y && b->x > a->x));
  }
  return ids;
}

static void
test_stable_order (void)
{
  ScLayoutParticipant ps[MAXP], fewer[MAXP];
  ScLayoutOptions o;
  g_autoptr (GArray) before = NULL, after = NULL, ordered = NULL;
  g_autoptr (GPtrArray) ids_before = NULL, ids_after = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  guint m = 0;

  make_participants (ps, 7);
  /* caller's array in a scrambled order: join order is what counts */
  fewer[m++] = ps[4]; fewer[m++] = ps[0]; fewer[m++] = ps[6];
  fewer[m++] = ps[1]; fewer[m++] = ps[5]; fewer[m++] = ps[3];   /* p02 left */

  opts_for (&o, SC_LAYOUT_GALLERY, 1920, 1080);
  before = sc_layout_compute (&o, ps, 7, NULL);
  after = sc_layout_compute (&o, fewer, m, NULL);
  ids_before = ids_in_reading_order (before);
  ids_after = ids_in_reading_order (after);
  g_ptr_array_remove (ids_before, (gpointer) tile_of (before, "p02")->participant_id);
  g_assert_cmpuint (ids_before->len, ==, ids_after->len);
  for (guint i = 0; i < ids_after->len; i++)
    g_assert_cmpstr (g_ptr_array_index (ids_before, i), ==, g_ptr_array_index (ids_after, i));
  sc_layout_options_clear (&o);

  /* "order" puts the named ids first, the rest follow by join order */
  g_assert_true (json_parser_load_from_data (parser, "{\"order\":[\"p05\",\"p03\",\"ghost\"]}",
                                             -1, NULL));
  g_assert_true (sc_layout_options_init_from_json (
      &o, "gallery", json_node_get_object (json_parser_get_root (parser)), 1920, 1080, &error));
  ordered = sc_layout_compute (&o, ps, 7, NULL);
  g_assert_cmpstr (tile (ordered, 0)->participant_id, ==, "p05");
  g_assert_cmpstr (tile (ordered, 1)->participant_id, ==, "p03");
  g_assert_cmpstr (tile (ordered, 2)->participant_id, ==, "p00");
  g_assert_cmpstr (tile (ordered, 6)->participant_id, ==, "p06");
  sc_layout_options_clear (&o);
}

static void
test_screen_share (void)
{
  ScLayoutParticipant ps[MAXP];
  ScLayoutOptions o;

  for (guint r = 0; r < G_N_ELEMENTS (resolutions); r++) {
    int w = resolutions[r][0], h = resolutions[r][1];
    make_participants (ps, 6);
    ps[3].is_screen_share = TRUE;
    opts_for (&o, SC_LAYOUT_GALLERY, w, h);
    o.fit = SC_FIT_COVER;
    for (guint n = 4; n <= 6; n++) {
      g_autoptr (GArray) tiles = sc_layout_compute (&o, ps, n, NULL);
      const ScTile *share = tile_of (tiles, "p03");
      gint64 share_area = (gint64) share->rect.width * share->rect.height;

      g_assert_cmpuint (tiles->len, ==, n);
      g_assert_cmpint (share->fit, ==, SC_FIT_CONTAIN);   /* never crop a share */
      g_assert_cmpint (share_area, >, (gint64) w * h / 2);
      for (guint i = 0; i < tiles->len; i++) {
        if (tile (tiles, i) == share)
          continue;
        g_assert_cmpint ((gint64) tile (tiles, i)->rect.width * tile (tiles, i)->rect.height,
                         <, share_area);
        g_assert_cmpint (tile (tiles, i)->fit, ==, SC_FIT_COVER);
        g_assert_false (overlap (&share->rect, &tile (tiles, i)->rect));
      }
    }
    sc_layout_options_clear (&o);
  }

  /* 1920x1080: share at the left, 80%; strip of 384 on the right */
  {
    g_autoptr (GArray) tiles = NULL;
    make_participants (ps, 3);
    ps[2].is_screen_share = TRUE;
    opts_for (&o, SC_LAYOUT_GALLERY, 1920, 1080);
    tiles = sc_layout_compute (&o, ps, 3, NULL);
    assert_rect (tile_of (tiles, "p02"), 8, 8, 1512, 1064);
    g_assert_cmpint (tile_of (tiles, "p00")->rect.x, ==, 1528);
    g_assert_cmpint (tile_of (tiles, "p00")->rect.width, ==, 384);
    g_assert_cmpint (tile_of (tiles, "p01")->rect.y, >, tile_of (tiles, "p00")->rect.y);
    sc_layout_options_clear (&o);
  }
}

static void
test_main_choice (void)
{
  ScLayoutParticipant ps[MAXP];
  ScLayoutOptions o;

  make_participants (ps, 4);
  ps[1].has_video = FALSE;

  opts_for (&o, SC_LAYOUT_ACTIVE_SPEAKER, 1280, 720);
  {
    g_autoptr (GArray) a = sc_layout_compute (&o, ps, 4, "p02");
    g_autoptr (GArray) b = sc_layout_compute (&o, ps, 4, NULL);
    g_autoptr (GArray) c = sc_layout_compute (&o, ps, 4, "gone");
    g_assert_cmpuint (a->len, ==, 1);
    g_assert_cmpstr (tile (a, 0)->participant_id, ==, "p02");
    g_assert_cmpstr (tile (b, 0)->participant_id, ==, "p00");
    g_assert_cmpstr (tile (c, 0)->participant_id, ==, "p00");
  }
  sc_layout_options_clear (&o);

  opts_for (&o, SC_LAYOUT_SINGLE, 1280, 720);
  o.pinned_id = g_strdup ("p01");
  o.labels = TRUE;
  {
    g_autoptr (GArray) a = sc_layout_compute (&o, ps, 4, "p02");
    g_assert_cmpuint (a->len, ==, 1);
    g_assert_cmpstr (tile (a, 0)->participant_id, ==, "p01");
    g_assert_true (tile (a, 0)->placeholder);       /* no video */
    g_assert_cmpstr (tile (a, 0)->label, ==, "p01");
  }
  sc_layout_options_clear (&o);

  opts_for (&o, SC_LAYOUT_PIP, 1920, 1080);
  {
    g_autoptr (GArray) a = sc_layout_compute (&o, ps, 4, "p02");
    assert_rect (tile (a, 0), 0, 0, 1920, 1080);
    g_assert_cmpstr (tile (a, 0)->participant_id, ==, "p02");
    g_assert_cmpstr (tile (a, 1)->participant_id, ==, "p00");
    assert_rect (tile (a, 1), 1416, 786, 480, 270);   /* 24 px from the corner */
  }
  sc_layout_options_clear (&o);

  opts_for (&o, SC_LAYOUT_SPOTLIGHT, 1080, 1920);   /* portrait: strip at the bottom */
  o.pinned_id = g_strdup ("p03");
  {
    g_autoptr (GArray) a = sc_layout_compute (&o, ps, 4, "p02");
    g_assert_cmpstr (tile (a, 0)->participant_id, ==, "p03");
    assert_rect (tile (a, 0), 8, 8, 1064, 1904 - 384 - 8);
    for (guint i = 1; i < a->len; i++)
      g_assert_cmpint (tile (a, i)->rect.y, >=, 8 + 1904 - 384);
  }
  sc_layout_options_clear (&o);
}

static void
test_custom (void)
{
  ScLayoutParticipant ps[MAXP];
  ScLayoutOptions o;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) tiles = NULL, absent = NULL;

  make_participants (ps, 4);
  g_assert_true (json_parser_load_from_data (parser,
      "{\"regions\":["
      "{\"x\":0,\"y\":0,\"width\":0.5,\"height\":1,\"participant_id\":\"p01\"},"
      "{\"x\":0.5,\"y\":0,\"width\":0.5,\"height\":0.5},"
      "{\"x\":0.5,\"y\":0.5,\"width\":0.5,\"height\":0.5},"
      "{\"x\":0.7,\"y\":0.7,\"width\":0.2999,\"height\":0.2999}]}", -1, NULL));
  g_assert_true (sc_layout_options_init_from_json (
      &o, "custom", json_node_get_object (json_parser_get_root (parser)), 1920, 1080, &error));
  g_assert_no_error (error);
  tiles = sc_layout_compute (&o, ps, 4, NULL);
  g_assert_cmpuint (tiles->len, ==, 4);
  assert_rect (tile_of (tiles, "p01"), 0, 0, 960, 1080);
  assert_rect (tile_of (tiles, "p00"), 960, 0, 960, 540);
  assert_rect (tile_of (tiles, "p02"), 960, 540, 960, 540);
  /* 0.7*1920 = 1344; 0.9999*1920 = 1919.8 rounds to even 1920;
   * 0.7*1080 = 756; 0.9999*1080 = 1079.9 rounds to 1080 */
  assert_rect (tile_of (tiles, "p03"), 1344, 756, 576, 324);
  g_assert_cmpint (tile_of (tiles, "p03")->z, >, tile_of (tiles, "p02")->z);

  /* a named participant who is absent leaves the region empty */
  absent = sc_layout_compute (&o, &ps[2], 2, NULL);
  g_assert_cmpuint (absent->len, ==, 2);
  assert_rect (tile_of (absent, "p02"), 960, 0, 960, 540);
  assert_rect (tile_of (absent, "p03"), 960, 540, 960, 540);
  sc_layout_options_clear (&o);
}

static void
expect_invalid (const char *layout, const char *json, const char *needle)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  ScLayoutOptions o;
  JsonObject *obj = NULL;

  if (json) {
    g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
    obj = json_node_get_object (json_parser_get_root (parser));
  }
  g_assert_false (sc_layout_options_init_from_json (&o, layout, obj, 1920, 1080, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  if (g_test_verbose ())
    g_printerr ("%s\n", error->message);
  g_assert_nonnull (strstr (error->message, needle));
}

static void
test_options (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  ScLayoutOptions o;
  ScLayoutKind k;

  expect_invalid ("grid", NULL, "layout must be one of gallery, active-speaker, crop");
  expect_invalid ("gallery", "{\"gap\":\"8\"}", "layout_options.gap must be a non-negative integer");
  expect_invalid ("gallery", "{\"gap\":-2}", "layout_options.gap must be a non-negative integer");
  expect_invalid ("gallery", "{\"gap\":8.5}", "layout_options.gap");
  expect_invalid ("gallery", "{\"gap\":5000}", "layout_options.gap must be at most 134");
  expect_invalid ("gallery", "{\"fit\":\"stretch\"}", "layout_options.fit");
  expect_invalid ("gallery", "{\"labels\":1}", "layout_options.labels must be a boolean");
  expect_invalid ("gallery", "{\"order\":\"a\"}", "layout_options.order must be an array");
  expect_invalid ("gallery", "{\"order\":[\"a\",3]}", "layout_options.order[1]");
  expect_invalid ("gallery", "{\"gap_px\":4}", "layout_options.gap_px is not a known option");
  expect_invalid ("single", "{\"participant_id\":5}", "layout_options.participant_id");
  expect_invalid ("single", "{\"participant_id\":\"a\",\"pinned_participant_id\":\"b\"}",
                  "disagree");
  expect_invalid ("gallery", "{\"background_color\":\"red\"}", "layout_options.background_color");
  expect_invalid ("gallery", "{\"placeholder_color\":\"#12345G\"}", "layout_options.placeholder_color");
  expect_invalid ("custom", "{}", "layout_options.regions is required");
  expect_invalid ("gallery", "{\"regions\":[{\"x\":0,\"y\":0,\"width\":1,\"height\":1}]}",
                  "only valid with layout \"custom\"");
  expect_invalid ("custom", "{\"regions\":[{\"x\":0,\"y\":0,\"width\":1.5,\"height\":1}]}",
                  "layout_options.regions[0].width must be a number between 0 and 1");
  expect_invalid ("custom", "{\"regions\":[{\"x\":0,\"y\":0,\"width\":1,\"height\":1},"
                  "{\"x\":0.6,\"y\":0,\"width\":0.6,\"height\":1}]}",
                  "layout_options.regions[1] must lie inside the frame");
  expect_invalid ("custom", "{\"regions\":[{\"x\":0,\"y\":0,\"height\":1}]}",
                  "layout_options.regions[0].width");
  expect_invalid ("custom", "{\"regions\":[{\"x\":0,\"y\":0,\"width\":1,\"height\":1,\"z\":2}]}",
                  "layout_options.regions[0].z is not a known field");
  expect_invalid ("custom", "{\"regions\":[{\"x\":0,\"y\":0,\"width\":0.0001,\"height\":1}]}",
                  "too small");

  /* defaults */
  g_assert_true (sc_layout_options_init_from_json (&o, NULL, NULL, 1920, 1080, &error));
  g_assert_cmpint (o.kind, ==, SC_LAYOUT_GALLERY);
  g_assert_cmpint (o.gap, ==, 8);
  g_assert_cmpint (o.fit, ==, SC_FIT_CONTAIN);
  g_assert_false (o.labels);
  g_assert_cmphex (o.background_argb, ==, 0xFF1A1A1A);
  g_assert_cmphex (o.placeholder_argb, ==, 0xFF333333);
  sc_layout_options_clear (&o);
  g_assert_true (sc_layout_options_init_from_json (&o, "gallery", NULL, 1280, 720, &error));
  g_assert_cmpint (o.gap, ==, 6);
  sc_layout_options_clear (&o);

  /* everything set */
  g_assert_true (json_parser_load_from_data (parser,
      "{\"gap\":5,\"fit\":\"fill\",\"labels\":true,\"order\":[\"b\",\"a\"],"
      "\"participant_id\":\"a\",\"background_color\":\"#00ff80\","
      "\"placeholder_color\":\"#102030\"}", -1, NULL));
  g_assert_true (sc_layout_options_init_from_json (
      &o, "spotlight", json_node_get_object (json_parser_get_root (parser)), 1920, 1080, &error));
  g_assert_no_error (error);
  g_assert_cmpint (o.kind, ==, SC_LAYOUT_SPOTLIGHT);
  g_assert_cmpint (o.gap, ==, 6);          /* odd gaps go up to even */
  g_assert_cmpint (o.fit, ==, SC_FIT_COVER);
  g_assert_true (o.labels);
  g_assert_cmpstr (o.order[0], ==, "b");
  g_assert_cmpstr (o.order[1], ==, "a");
  g_assert_null (o.order[2]);
  g_assert_cmpstr (o.pinned_id, ==, "a");
  g_assert_cmphex (o.background_argb, ==, 0xFF00FF80);
  g_assert_cmphex (o.placeholder_argb, ==, 0xFF102030);
  sc_layout_options_clear (&o);

  for (guint i = 0; i < G_N_ELEMENTS (all_kinds); i++) {
    g_assert_true (sc_layout_kind_from_string (sc_layout_kind_to_string (all_kinds[i]), &k));
    g_assert_cmpint (k, ==, all_kinds[i]);
  }
  g_assert_false (sc_layout_kind_from_string ("Gallery", &k));
}

static void
test_speaker (void)
{
  g_autoptr (ScLayoutSpeaker) s = sc_layout_speaker_new (SC_LAYOUT_SPEAKER_HOLD_MS);
  ScLayoutParticipant ps[MAXP];
  gint64 t = 0;

  make_participants (ps, 3);
  g_assert_null (sc_layout_speaker_update (s, ps, 0, t));

  /* nobody talking: the first by join order */
  g_assert_cmpstr (sc_layout_speaker_update (s, ps, 3, t), ==, "p00");

  /* p01 leads for 1 s, then p00 is loudest again: no switch */
  ps[1].audio_level = 0.5;
  for (; t <= 1000; t += 100)
    g_assert_cmpstr (sc_layout_speaker_update (s, ps, 3, t), ==, "p00");
  ps[1].audio_level = 0.0;
  ps[0].audio_level = 0.3;
  g_assert_cmpstr (sc_layout_speaker_update (s, ps, 3, t), ==, "p00");
  t += 100;

  /* p01 leads again: the count restarted, so 1.4 s is not enough, 1.6 s is */
  ps[0].audio_level = 0.05;
  ps[1].audio_level = 0.4;
  {
    gint64 start = t;
    for (; t <= start + 1400; t += 100)
      g_assert_cmpstr (sc_layout_speaker_update (s, ps, 3, t), ==, "p00");
    t = start + 1600;
    g_assert_cmpstr (sc_layout_speaker_update (s, ps, 3, t), ==, "p01");
  }

  /* a level under the silence threshold never leads */
  ps[1].audio_level = 0.0;
  ps[2].audio_level = SC_LAYOUT_SPEAKER_SILENCE / 2;
  ps[0].audio_level = 0.0;
  for (gint64 end = t + 5000; t < end; t += 100)
    g_assert_cmpstr (sc_layout_speaker_update (s, ps, 3, t), ==, "p01");

  /* the speaker leaves: replaced at once by whoever leads (p02 now) */
  ps[2].audio_level = 0.2;
  ps[1] = ps[2];
  g_assert_cmpstr (sc_layout_speaker_update (s, ps, 2, t), ==, "p02");

  /* a screen share is never the speaker */
  ps[1].is_screen_share = TRUE;
  ps[1].id = "p02-screen";
  ps[1].audio_level = 0.9;
  g_assert_cmpstr (sc_layout_speaker_update (s, ps, 2, t), ==, "p00");
  for (gint64 end = t + 3000; t < end; t += 100)
    g_assert_cmpstr (sc_layout_speaker_update (s, ps, 2, t), ==, "p00");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layout/invariants", test_invariants);
  g_test_add_func ("/layout/big-gap", test_big_gap);
  g_test_add_func ("/layout/tiny-frames", test_tiny_frames);
  g_test_add_func ("/layout/gallery-pixels", test_gallery_pixels);
  g_test_add_func ("/layout/crop-pixels", test_crop_pixels);
  g_test_add_func ("/layout/stable-order", test_stable_order);
  g_test_add_func ("/layout/screen-share", test_screen_share);
  g_test_add_func ("/layout/main-choice", test_main_choice);
  g_test_add_func ("/layout/custom", test_custom);
  g_test_add_func ("/layout/options", test_options);
  g_test_add_func ("/layout/speaker", test_speaker);
  return g_test_run ();
}
