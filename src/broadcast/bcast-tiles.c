/* The layout on the compositor: tiles from the layout engine become pad
 * geometry, z-order and sizing, all applied on one output frame.
 *
 * set_tiles (owner's thread) does what needs the pipeline's structure
 * (placeholder branches in and out, labels, crops) and leaves the tiles
 * pending; the compositor's samples-selected signal, emitted in its
 * aggregate thread for every output frame just before it converts and
 * blends the pads, applies them.  So a layout lands on the very next
 * output frame, every pad at once. */
#include "bcast-private.h"

#include <gst/controller/gstdirectcontrolbinding.h>
#include <gst/video/video.h>

static const char *const geom_props[] = { "xpos", "ypos", "width", "height", "alpha" };
G_STATIC_ASSERT (G_N_ELEMENTS (geom_props) == SC_BCAST_N_GEOM);

void
sc_bcast_slot_make_tile (ScBcastSlot *s)
{
  /* Tiles are scaled: bilinear costs half of the default cubic and looks
   * the same at these ratios.  (Any converter-config makes the compositor
   * convert even an unscaled frame, so only tiles get one.) */
  g_autoptr (GstStructure) conv = gst_structure_new ("GstVideoConverter",
      GST_VIDEO_CONVERTER_OPT_RESAMPLER_METHOD, GST_TYPE_VIDEO_RESAMPLER_METHOD,
      GST_VIDEO_RESAMPLER_METHOD_LINEAR,
      GST_VIDEO_CONVERTER_OPT_CHROMA_RESAMPLER_METHOD, GST_TYPE_VIDEO_RESAMPLER_METHOD,
      GST_VIDEO_RESAMPLER_METHOD_LINEAR, NULL);
  g_object_set (s->mixpad, "converter-config", conv, NULL);
  /* Hidden until a tile places it. */
  g_object_set (s->mixpad, "alpha", 0.0, "zorder", SC_BCAST_Z_PARTICIPANTS, NULL);
  for (guint i = 0; i < SC_BCAST_N_GEOM; i++) {
    GstControlSource *cs = gst_interpolation_control_source_new ();
    g_object_set (cs, "mode", GST_INTERPOLATION_MODE_LINEAR, NULL);
    gst_object_add_control_binding (GST_OBJECT (s->mixpad),
        gst_direct_control_binding_new_absolute (GST_OBJECT (s->mixpad), geom_props[i], cs));
    s->cs[i] = GST_TIMED_VALUE_CONTROL_SOURCE (cs);
  }
}

static double
pad_prop_as_double (GstPad *pad, const char *prop)
{
  GParamSpec *ps = g_object_class_find_property (G_OBJECT_GET_CLASS (pad), prop);
  g_auto (GValue) v = G_VALUE_INIT;
  g_value_init (&v, ps->value_type);
  g_object_get_property (G_OBJECT (pad), prop, &v);
  return ps->value_type == G_TYPE_INT ? g_value_get_int (&v) : g_value_get_double (&v);
}

static void
pad_prop_set_double (GstPad *pad, const char *prop, double v)
{
  GParamSpec *ps = g_object_class_find_property (G_OBJECT_GET_CLASS (pad), prop);
  if (ps->value_type == G_TYPE_INT)
    g_object_set (pad, prop, (int) v, NULL);
  else
    g_object_set (pad, prop, v, NULL);
}

/* Aggregate thread.  The compositor has already synced this frame's
 * control values (@t is its stream time), so the frame itself gets the
 * values set directly; the control points carry them (or the animation)
 * on from there. */
static void
slot_move (ScBcastSlot *s, const double target[SC_BCAST_N_GEOM], GstClockTime t,
           GstClockTime dur)
{
  double cur[SC_BCAST_N_GEOM];
  for (guint i = 0; i < SC_BCAST_N_GEOM; i++)
    cur[i] = pad_prop_as_double (s->mixpad, geom_props[i]);
  gboolean was_hidden = cur[SC_BCAST_N_GEOM - 1] <= 0.0;
  for (guint i = 0; i < SC_BCAST_N_GEOM; i++) {
    gboolean is_alpha = i == SC_BCAST_N_GEOM - 1;
    /* A hidden tile appears in place (fading in), it does not fly in. */
    gboolean animate = dur > 0 && (is_alpha || !was_hidden);
    gst_timed_value_control_source_unset_all (s->cs[i]);
    if (animate) {
      gst_timed_value_control_source_set (s->cs[i], t, cur[i]);
      gst_timed_value_control_source_set (s->cs[i], t + dur, target[i]);
    } else {
      gst_timed_value_control_source_set (s->cs[i], t, target[i]);
      pad_prop_set_double (s->mixpad, geom_props[i], target[i]);
    }
  }
}

static void
slot_hide (ScBcastSlot *s, GstClockTime t)
{
  double target[SC_BCAST_N_GEOM];
  for (guint i = 0; i < SC_BCAST_N_GEOM - 1; i++)
    target[i] = pad_prop_as_double (s->mixpad, geom_props[i]);
  target[SC_BCAST_N_GEOM - 1] = 0.0;
  slot_move (s, target, t, 0);
}

/* Aggregate thread: only pad properties, which the compositor reads after
 * this point of the frame.  Crop and label live upstream in the branch
 * and were set by set_tiles. */
static void
slot_place (ScBcastSlot *s, const ScTile *tile, GstClockTime t, GstClockTime dur)
{
  double target[SC_BCAST_N_GEOM] = { tile->rect.x, tile->rect.y, tile->rect.width,
                                     tile->rect.height, 1.0 };
  guint z = SC_BCAST_Z_PARTICIPANTS + MAX (tile->z, 0), cur_z;
  g_object_get (s->mixpad, "zorder", &cur_z, NULL);
  if (cur_z != z)
    g_object_set (s->mixpad, "zorder", z, NULL);
  gst_util_set_object_arg (G_OBJECT (s->mixpad), "sizing-policy",
                           tile->fit == SC_FIT_CONTAIN ? "keep-aspect-ratio" : "none");
  slot_move (s, target, t, dur);
}

/* Owner's thread: what the branch itself shows (crop to the tile's aspect
 * for fit=cover; the label). */
static void
slot_dress (ScBcastSlot *s, const ScTile *tile)
{
  if (s->crop) {
    int a = tile->rect.width, b = tile->rect.height;
    while (b) { int r = a % b; a = b; b = r; }
    int gcd = MAX (a, 1);
    if (tile->fit == SC_FIT_COVER && tile->rect.height > 0)
      g_object_set (s->crop, "aspect-ratio", tile->rect.width / gcd, tile->rect.height / gcd, NULL);
    else
      g_object_set (s->crop, "aspect-ratio", 0, 1, NULL);
  }
  if (s->text) {
    g_autofree char *escaped = tile->label ? g_markup_escape_text (tile->label, -1) : NULL;
    g_object_set (s->text, "text", escaped ? escaped : "", "silent", tile->label == NULL, NULL);
  }
}

static ScBcastSlot *
placeholder_new (ScBcastPipeline *p)
{
  GstClockTime now = sc_bcast_pipeline_running_time (p);
  g_autofree char *desc = g_strdup_printf (
      "videotestsrc name=src is-live=true pattern=solid-color foreground-color=%u"
      " timestamp-offset=%" G_GINT64_FORMAT
      " ! " SC_BCAST_RAW ",width=320,height=180,framerate=%d/1"
      " ! textoverlay name=text silent=true valignment=center halignment=center"
      "   font-desc=\"Sans 16\" ! capsfilter name=out caps=\"" SC_BCAST_RAW "\"",
      p->placeholder_argb,
      /* a live source added late must start at the current running time,
       * or it would race through frames the compositor throws away */
      (gint64) (GST_CLOCK_TIME_IS_VALID (now) ? now : 0), p->fps);
  g_autoptr (GError) error = NULL;
  ScBcastSlot *s = sc_bcast_slot_new (p, p->comp, desc, &error);
  if (!s) {
    g_warning ("bcast: placeholder: %s", error->message);
    return NULL;
  }
  sc_bcast_slot_make_tile (s);
  gst_element_sync_state_with_parent (s->bin);
  return s;
}

static void
pending_tile_clear (gpointer data)
{
  g_free (((ScTile *) data)->participant_id);
}

static const ScTile *
find_tile (GArray *tiles, const char *id, gboolean placeholder)
{
  for (guint i = 0; i < tiles->len; i++) {
    const ScTile *t = &g_array_index (tiles, ScTile, i);
    if (!t->placeholder == !placeholder && !g_strcmp0 (t->participant_id, id))
      return t;
  }
  return NULL;
}

/* Owner's thread, which alone adds and removes inputs and placeholders:
 * it may read those tables without the lock, and touches branches (new
 * placeholders, crops, labels) without holding it, so no streaming thread
 * ever waits on the aggregate thread while the aggregate thread waits on
 * the lock. */
void
sc_bcast_pipeline_set_tiles (ScBcastPipeline *p, const ScTile *tiles, guint n,
                             guint transition_ms)
{
  GArray *pending = g_array_sized_new (FALSE, TRUE, sizeof (ScTile), n);
  g_array_set_clear_func (pending, pending_tile_clear);
  g_autoptr (GHashTable) fresh = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++) {
    ScTile t = tiles[i];
    if (!t.participant_id)
      continue;
    ScBcastSlot *s;
    if (t.placeholder) {
      t.fit = SC_FIT_COVER;   /* a placeholder fills its tile */
      s = g_hash_table_lookup (p->placeholders, t.participant_id);
      if (!s)
        s = g_hash_table_lookup (fresh, t.participant_id);
      if (!s && (s = placeholder_new (p)))
        g_hash_table_insert (fresh, t.participant_id, s);
    } else {
      ScBcastInput *in = g_hash_table_lookup (p->inputs, t.participant_id);
      s = in ? in->video : NULL;
    }
    if (s)
      slot_dress (s, &t);
    t.participant_id = g_strdup (t.participant_id);
    t.label = NULL;
    g_array_append_val (pending, t);
  }

  g_mutex_lock (&p->lock);
  /* Placeholders no longer wanted retire (hidden on the frame the new
   * layout lands, then freed); the background image, stored under "",
   * stays. */
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, p->placeholders);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    if (*(char *) k && !find_tile (pending, k, TRUE)) {
      g_ptr_array_add (p->retiring, v);
      g_hash_table_iter_remove (&it);
    }
  }
  g_hash_table_iter_init (&it, fresh);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_hash_table_insert (p->placeholders, g_strdup (k), v);
  g_clear_pointer (&p->pending_tiles, g_array_unref);
  p->pending_tiles = pending;
  p->pending_dur = transition_ms * GST_MSECOND;
  p->layout_at = GST_CLOCK_TIME_NONE;
  g_mutex_unlock (&p->lock);
}

static gboolean
reap_retired (gpointer user_data)
{
  ScBcastPipeline *p = user_data;
  g_mutex_lock (&p->lock);
  g_autoptr (GPtrArray) dead = g_steal_pointer (&p->retired);
  p->retired = g_ptr_array_new ();
  g_clear_pointer (&p->reap_source, g_source_unref);
  g_mutex_unlock (&p->lock);
  for (guint i = 0; i < dead->len; i++)
    sc_bcast_slot_free (p, dead->pdata[i]);
  return G_SOURCE_REMOVE;
}

static void
on_samples_selected (GstAggregator *comp, GstSegment *segment, GstClockTime pts,
                     GstClockTime dts, GstClockTime duration, GstStructure *info,
                     gpointer user_data)
{
  ScBcastPipeline *p = user_data;
  g_mutex_lock (&p->lock);
  g_autoptr (GArray) tiles = g_steal_pointer (&p->pending_tiles);
  if (!tiles) {
    g_mutex_unlock (&p->lock);
    return;
  }
  p->layout_at = pts;
  GstClockTime t = gst_segment_to_stream_time (segment, GST_FORMAT_TIME, pts);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, p->placeholders);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    const ScTile *tile = find_tile (tiles, k, TRUE);
    if (tile)
      slot_place (v, tile, t, p->pending_dur);
  }
  g_hash_table_iter_init (&it, p->inputs);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    ScBcastInput *in = v;
    const ScTile *tile = find_tile (tiles, in->id, FALSE);
    if (tile)
      slot_place (in->video, tile, t, p->pending_dur);
    else
      slot_hide (in->video, t);
  }
  for (guint i = 0; i < p->retiring->len; i++) {
    slot_hide (p->retiring->pdata[i], t);
    g_ptr_array_add (p->retired, p->retiring->pdata[i]);
  }
  g_ptr_array_set_size (p->retiring, 0);
  if (p->retired->len && !p->reap_source) {
    /* Freeing a branch releases a compositor pad: not from in here. */
    p->reap_source = g_idle_source_new ();
    g_source_set_callback (p->reap_source, reap_retired, p, NULL);
    g_source_attach (p->reap_source, p->ctx);
  }
  g_mutex_unlock (&p->lock);
}

void
sc_bcast_tiles_init (ScBcastPipeline *p)
{
  p->retiring = g_ptr_array_new ();
  p->retired = g_ptr_array_new ();
  g_object_set (p->comp, "emit-signals", TRUE, NULL);
  g_signal_connect (p->comp, "samples-selected", G_CALLBACK (on_samples_selected), p);
}

/* Owner's thread, with the pipeline stopped. */
void
sc_bcast_tiles_clear (ScBcastPipeline *p)
{
  if (p->reap_source) {
    g_source_destroy (p->reap_source);
    g_clear_pointer (&p->reap_source, g_source_unref);
  }
  g_clear_pointer (&p->pending_tiles, g_array_unref);
  for (guint i = 0; i < p->retiring->len; i++)
    sc_bcast_slot_free (p, p->retiring->pdata[i]);
  for (guint i = 0; i < p->retired->len; i++)
    sc_bcast_slot_free (p, p->retired->pdata[i]);
  g_clear_pointer (&p->retiring, g_ptr_array_unref);
  g_clear_pointer (&p->retired, g_ptr_array_unref);
}
