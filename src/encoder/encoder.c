/* Encoder fragments and the runtime probe.  See include/spacecast/encoder.h. */
#include "spacecast/encoder.h"
#include "spacecast/core.h"

#include <gio/gio.h>
#include <gst/gst.h>
#include <string.h>
#include <stdlib.h>

#define PROBE_TIMEOUT (8 * GST_SECOND)

guint
sc_encoder_default_video_kbps (int width, int height)
{
  return MIN (width, height) >= 1080 ? 4500 : 3000;
}

void
sc_encoder_settings_resolve (ScEncoderSettings *s)
{
  if (s->width <= 0)
    s->width = 1280;
  if (s->height <= 0)
    s->height = 720;
  if (s->fps <= 0)
    s->fps = 30;
  if (s->video_kbps == 0)
    s->video_kbps = sc_encoder_default_video_kbps (s->width, s->height);
  if (s->gop_frames == 0)
    s->gop_frames = 2 * s->fps;
  if (s->audio_kbps == 0)
    s->audio_kbps = 128;
  if (s->audio_rate == 0)
    s->audio_rate = 48000;
}

const char *
sc_encoder_pipelines_dir (void)
{
  const char *env = g_getenv ("SPACECAST_PIPELINES_DIR");
  return (env && *env) ? env : SC_PIPELINES_DIR;
}

void
sc_encoder_fragment_free (ScEncoderFragment *f)
{
  if (!f)
    return;
  g_free (f->name);
  g_free (f->description);
  g_strfreev (f->factories);
  g_free (f);
}

ScEncoderFragment *
sc_encoder_fragment_copy (const ScEncoderFragment *f)
{
  ScEncoderFragment *c = g_new0 (ScEncoderFragment, 1);
  c->name = g_strdup (f->name);
  c->kind = f->kind;
  c->hardware = f->hardware;
  c->priority = f->priority;
  c->priming = f->priming;
  c->description = g_strdup (f->description);
  c->factories = g_strdupv (f->factories);
  return c;
}

static gboolean
parse_bool (const char *v, gboolean *out)
{
  if (!g_ascii_strcasecmp (v, "yes") || !g_ascii_strcasecmp (v, "true"))
    *out = TRUE;
  else if (!g_ascii_strcasecmp (v, "no") || !g_ascii_strcasecmp (v, "false"))
    *out = FALSE;
  else
    return FALSE;
  return TRUE;
}

/* The element names of a launch description: the first word of every
 * '!'-separated segment that is not a caps string.  Quoted property values
 * never contain '!' in our fragments. */
static char **
factories_of (const char *desc)
{
  g_auto (GStrv) segs = g_strsplit (desc, "!", -1);
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; segs[i]; i++) {
    g_autofree char *seg = g_strstrip (g_strdup (segs[i]));
    g_auto (GStrv) words = g_strsplit_set (seg, " \t\n", 2);
    if (!words[0] || !*words[0] || strchr (words[0], '/') || strchr (words[0], '='))
      continue;
    g_ptr_array_add (out, g_strdup (words[0]));
  }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static gboolean
parse_int (const char *key, const char *val, int min, int *out, GError **error)
{
  char *end = NULL;
  long n = strtol (val, &end, 10);
  if (!*val || *end || n < min || n > G_MAXINT) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "encoder fragment: bad %s '%s'", key, val);
    return FALSE;
  }
  *out = (int) n;
  return TRUE;
}

ScEncoderFragment *
sc_encoder_fragment_parse (const char *text, const char *fallback_name,
                           GError **error)
{
  g_autoptr (ScEncoderFragment) f = g_new0 (ScEncoderFragment, 1);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GString) desc = g_string_new (NULL);
  gboolean have_kind = FALSE;

  f->name = g_strdup (fallback_name);
  for (guint i = 0; lines[i]; i++) {
    char *line = g_strstrip (lines[i]);
    if (!*line)
      continue;
    if (line[0] != '#') {
      if (desc->len)
        g_string_append_c (desc, ' ');
      g_string_append (desc, line);
      continue;
    }
    char *colon = strchr (line, ':');
    if (!colon)
      continue;
    *colon = '\0';
    char *key = g_strstrip (line + 1);
    char *val = g_strstrip (colon + 1);
    if (!strcmp (key, "name")) {
      g_free (f->name);
      f->name = g_strdup (val);
    } else if (!strcmp (key, "kind")) {
      if (!strcmp (val, "video"))
        f->kind = SC_ENCODER_VIDEO;
      else if (!strcmp (val, "audio"))
        f->kind = SC_ENCODER_AUDIO;
      else {
        g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                     "encoder fragment: kind must be video or audio, not '%s'", val);
        return NULL;
      }
      have_kind = TRUE;
    } else if (!strcmp (key, "hardware")) {
      if (!parse_bool (val, &f->hardware)) {
        g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                     "encoder fragment: hardware must be yes or no, not '%s'", val);
        return NULL;
      }
    } else if (!strcmp (key, "priority")) {
      if (!parse_int (key, val, G_MININT, &f->priority, error))
        return NULL;
    } else if (!strcmp (key, "priming")) {
      int n;
      if (!parse_int (key, val, 0, &n, error))
        return NULL;
      f->priming = n;
    }
    /* other comment lines are free text */
  }
  if (!f->name || !*f->name || !have_kind || desc->len == 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "encoder fragment %s: needs a name, a kind and a description",
                 f->name ? f->name : "(unnamed)");
    return NULL;
  }
  f->description = g_string_free (g_steal_pointer (&desc), FALSE);
  f->factories = factories_of (f->description);
  return g_steal_pointer (&f);
}

static gint
probe_order (gconstpointer a, gconstpointer b)
{
  const ScEncoderFragment *x = *(ScEncoderFragment **) a;
  const ScEncoderFragment *y = *(ScEncoderFragment **) b;
  if (x->hardware != y->hardware)
    return x->hardware ? -1 : 1;
  if (x->priority != y->priority)
    return y->priority - x->priority;
  return strcmp (x->name, y->name);
}

GPtrArray *
sc_encoder_fragments_load (const char *dir, GError **error)
{
  if (!dir)
    dir = sc_encoder_pipelines_dir ();
  g_autoptr (GDir) d = g_dir_open (dir, 0, error);
  if (!d)
    return NULL;
  g_autoptr (GPtrArray) out =
      g_ptr_array_new_with_free_func ((GDestroyNotify) sc_encoder_fragment_free);
  const char *entry;
  while ((entry = g_dir_read_name (d))) {
    if (!g_str_has_suffix (entry, ".pipeline"))
      continue;
    g_autofree char *path = g_build_filename (dir, entry, NULL);
    g_autofree char *text = NULL;
    g_autofree char *base = g_strndup (entry, strlen (entry) - strlen (".pipeline"));
    if (!g_file_get_contents (path, &text, NULL, error))
      return NULL;
    g_autoptr (GError) perr = NULL;
    ScEncoderFragment *f = sc_encoder_fragment_parse (text, base, &perr);
    if (!f) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "%s: %s", path, perr->message);
      return NULL;
    }
    g_ptr_array_add (out, f);
  }
  g_ptr_array_sort (out, probe_order);
  return g_steal_pointer (&out);
}

char *
sc_encoder_fragment_render (const ScEncoderFragment *f,
                            const ScEncoderSettings *settings, GError **error)
{
  ScEncoderSettings s = *settings;
  sc_encoder_settings_resolve (&s);
  struct { const char *key; guint64 val; } vals[] = {
    { "bitrate_kbps", s.video_kbps },
    { "bitrate_bps", (guint64) s.video_kbps * 1000 },
    { "gop_frames", s.gop_frames },
    { "fps", (guint64) s.fps },
    { "width", (guint64) s.width },
    { "height", (guint64) s.height },
    { "audio_bitrate_kbps", s.audio_kbps },
    { "audio_bitrate_bps", (guint64) s.audio_kbps * 1000 },
    { "audio_rate", s.audio_rate },
  };
  GString *out = g_string_new (NULL);
  const char *p = f->description;
  while (*p) {
    if (*p != '{') {
      g_string_append_c (out, *p++);
      continue;
    }
    const char *end = strchr (p, '}');
    if (!end) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "encoder fragment %s: unclosed placeholder", f->name);
      g_string_free (out, TRUE);
      return NULL;
    }
    g_autofree char *key = g_strndup (p + 1, end - p - 1);
    gboolean found = FALSE;
    for (guint i = 0; i < G_N_ELEMENTS (vals); i++) {
      if (!strcmp (vals[i].key, key)) {
        g_string_append_printf (out, "%" G_GUINT64_FORMAT, vals[i].val);
        found = TRUE;
        break;
      }
    }
    if (!found) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "encoder fragment %s: unknown placeholder {%s}", f->name, key);
      g_string_free (out, TRUE);
      return NULL;
    }
    p = end + 1;
  }
  return g_string_free (out, FALSE);
}

static char *
missing_factory (const ScEncoderFragment *f)
{
  for (guint i = 0; f->factories && f->factories[i]; i++) {
    g_autoptr (GstElementFactory) fac = gst_element_factory_find (f->factories[i]);
    if (!fac)
      return g_strdup (f->factories[i]);
  }
  return NULL;
}

static GstPadProbeReturn
count_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  if (gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info)) > 0)
    g_atomic_int_inc ((gint *) user_data);
  return GST_PAD_PROBE_OK;
}

gboolean
sc_encoder_try (const ScEncoderFragment *f, GError **error)
{
  gst_init (NULL, NULL);
  g_autofree char *missing = missing_factory (f);
  if (missing) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE,
                 "not installed (no element %s)", missing);
    return FALSE;
  }
  /* Small, but large enough for hardware encoders' minimum sizes. */
  ScEncoderSettings s = { .width = 640, .height = 360, .fps = 30 };
  g_autoptr (GError) rerr = NULL;
  g_autofree char *frag = sc_encoder_fragment_render (f, &s, &rerr);
  if (!frag) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE, "failed: %s", rerr->message);
    return FALSE;
  }
  g_autofree char *launch = f->kind == SC_ENCODER_VIDEO
      ? g_strdup_printf ("videotestsrc num-buffers=30 ! "
                         "video/x-raw,width=640,height=360,framerate=30/1 ! %s ! "
                         "fakesink name=sink sync=false", frag)
      : g_strdup_printf ("audiotestsrc num-buffers=30 ! "
                         "audio/x-raw,format=S16LE,rate=48000,channels=2 ! %s ! "
                         "fakesink name=sink sync=false", frag);
  g_autoptr (GError) perr = NULL;
  g_autoptr (GstElement) pipe = gst_parse_launch_full (launch, NULL,
                                                       GST_PARSE_FLAG_FATAL_ERRORS, &perr);
  if (!pipe) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE, "failed: %s", perr->message);
    return FALSE;
  }
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  g_autoptr (GstBus) bus = gst_element_get_bus (pipe);
  g_autoptr (GstPad) sinkpad = gst_element_get_static_pad (sink, "sink");
  gint encoded = 0;
  gst_pad_add_probe (sinkpad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &encoded, NULL);
  gboolean ok = FALSE;
  g_autofree char *why = NULL;

  if (gst_element_set_state (pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    why = g_strdup ("could not start");
  /* Wait for EOS or an error; EOS alone is not proof (an encoder may
   * swallow everything), so an encoded buffer must have reached the sink. */
  while (!why) {
    g_autoptr (GstMessage) msg = gst_bus_timed_pop_filtered (bus, PROBE_TIMEOUT,
                                                             GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (!msg) {
      why = g_strdup ("no output within the timeout");
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      g_autoptr (GError) e = NULL;
      g_autofree char *dbg = NULL;
      gst_message_parse_error (msg, &e, &dbg);
      /* "Internal data stream error" alone hides the cause (not-negotiated...). */
      const char *reason = dbg ? strstr (dbg, "reason ") : NULL;
      why = g_strdup_printf ("%s: %s%s%s%s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
                             e->message, reason ? " (" : "", reason ? reason : "",
                             reason ? ")" : "");
    } else {
      if (g_atomic_int_get (&encoded) > 0)
        ok = TRUE;
      else
        why = g_strdup ("produced no encoded buffer");
      break;
    }
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  if (!ok)
    g_set_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE, "failed: %s", why);
  return ok;
}

void
sc_encoder_choice_free (ScEncoderChoice *c)
{
  if (!c)
    return;
  sc_encoder_fragment_free (c->video);
  sc_encoder_fragment_free (c->audio);
  g_clear_pointer (&c->skipped, g_ptr_array_unref);
  g_free (c);
}

static void
skip_free (ScEncoderSkip *s)
{
  g_free (s->name);
  g_free (s->reason);
  g_free (s);
}

static ScEncoderChoice *
choice_copy (const ScEncoderChoice *c)
{
  ScEncoderChoice *n = g_new0 (ScEncoderChoice, 1);
  n->video = c->video ? sc_encoder_fragment_copy (c->video) : NULL;
  n->audio = c->audio ? sc_encoder_fragment_copy (c->audio) : NULL;
  n->skipped = g_ptr_array_new_with_free_func ((GDestroyNotify) skip_free);
  for (guint i = 0; i < c->skipped->len; i++) {
    const ScEncoderSkip *s = g_ptr_array_index (c->skipped, i);
    ScEncoderSkip *d = g_new0 (ScEncoderSkip, 1);
    d->name = g_strdup (s->name);
    d->reason = g_strdup (s->reason);
    g_ptr_array_add (n->skipped, d);
  }
  return n;
}

const char *
sc_encoder_choice_skip_reason (const ScEncoderChoice *c, const char *name)
{
  for (guint i = 0; i < c->skipped->len; i++) {
    const ScEncoderSkip *s = g_ptr_array_index (c->skipped, i);
    if (!strcmp (s->name, name))
      return s->reason;
  }
  return NULL;
}

/* A probe's outcome, success or failure: a failing hardware encoder can
 * take seconds to fail, so that is never found out twice. */
typedef struct {
  ScEncoderChoice *choice;
  GError *error;
} Outcome;

static void
outcome_free (Outcome *o)
{
  sc_encoder_choice_free (o->choice);
  g_clear_error (&o->error);
  g_free (o);
}

static GMutex cache_lock;   /* held across a probe */
static GHashTable *cache;   /* "dir\nforce" -> Outcome* */
static GMutex state_lock;   /* never held across a probe */
static GHashTable *state;   /* "dir\nforce" -> "running" | "done" */

void
sc_encoder_probe_clear_cache (void)
{
  g_mutex_lock (&cache_lock);
  g_clear_pointer (&cache, g_hash_table_unref);
  g_mutex_unlock (&cache_lock);
  g_mutex_lock (&state_lock);
  g_clear_pointer (&state, g_hash_table_unref);
  g_mutex_unlock (&state_lock);
}

static char *
probe_key (const char **dir, const char **force)
{
  if (!*dir)
    *dir = sc_encoder_pipelines_dir ();
  if (*force && !**force)
    *force = NULL;
  return g_strdup_printf ("%s\n%s", *dir, *force ? *force : "");
}

static void
set_state (const char *key, const char *value)
{
  g_mutex_lock (&state_lock);
  if (!state)
    state = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_insert (state, g_strdup (key), (gpointer) value);
  g_mutex_unlock (&state_lock);
}

static ScEncoderChoice *
probe_uncached (const char *dir, const char *force, GError **error)
{
  g_autoptr (GPtrArray) frags = sc_encoder_fragments_load (dir, error);
  if (!frags)
    return NULL;
  const ScEncoderFragment *forced = NULL;
  if (force) {
    for (guint i = 0; i < frags->len && !forced; i++)
      if (!strcmp (((ScEncoderFragment *) frags->pdata[i])->name, force))
        forced = frags->pdata[i];
    if (!forced) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "encoder %s: no such encoder fragment in %s", force, dir);
      return NULL;
    }
  }

  g_autoptr (ScEncoderChoice) c = g_new0 (ScEncoderChoice, 1);
  c->skipped = g_ptr_array_new_with_free_func ((GDestroyNotify) skip_free);
  for (guint i = 0; i < frags->len; i++) {
    ScEncoderFragment *f = frags->pdata[i];
    ScEncoderFragment **slot = f->kind == SC_ENCODER_VIDEO ? &c->video : &c->audio;
    if (*slot)
      continue;
    if (forced && forced->kind == f->kind && forced != f)
      continue;
    g_autoptr (GError) err = NULL;
    if (sc_encoder_try (f, &err)) {
      *slot = sc_encoder_fragment_copy (f);
      continue;
    }
    if (f == forced) {
      g_set_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE,
                   "encoder %s does not work: %s", f->name, err->message);
      return NULL;
    }
    ScEncoderSkip *s = g_new0 (ScEncoderSkip, 1);
    s->name = g_strdup (f->name);
    s->reason = g_strdup (err->message);
    g_ptr_array_add (c->skipped, s);
  }
  if (!c->video || !c->audio) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNAVAILABLE,
                 "no working %s encoder in %s", c->video ? "audio" : "video", dir);
    return NULL;
  }
  g_message ("encoder: using %s (video%s) and %s (audio)", c->video->name,
             c->video->hardware ? ", hardware" : ", software", c->audio->name);
  for (guint i = 0; i < c->skipped->len; i++) {
    const ScEncoderSkip *s = g_ptr_array_index (c->skipped, i);
    g_message ("encoder: skipped %s: %s", s->name, s->reason);
  }
  return g_steal_pointer (&c);
}

ScEncoderChoice *
sc_encoder_probe (const char *dir, const char *force, GError **error)
{
  g_autofree char *key = probe_key (&dir, &force);

  /* Held across the probe so that concurrent callers wait for one probe
   * rather than running several encoders at once. */
  g_mutex_lock (&cache_lock);
  if (!cache)
    cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) outcome_free);
  Outcome *o = g_hash_table_lookup (cache, key);
  if (!o) {
    o = g_new0 (Outcome, 1);
    o->choice = probe_uncached (dir, force, &o->error);
    g_hash_table_insert (cache, g_strdup (key), o);
  }
  ScEncoderChoice *result = o->choice ? choice_copy (o->choice) : NULL;
  if (o->error)
    g_propagate_error (error, g_error_copy (o->error));
  g_mutex_unlock (&cache_lock);
  set_state (key, "done");
  return result;
}

static void
probe_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  char **args = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (ScEncoderChoice) c = sc_encoder_probe (args[0], args[1], &error);
  if (!c)
    g_warning ("encoder: %s", error->message);
}

gboolean
sc_encoder_probe_ready (const char *dir, const char *force)
{
  g_autofree char *key = probe_key (&dir, &force);
  g_mutex_lock (&state_lock);
  const char *st = state ? g_hash_table_lookup (state, key) : NULL;
  g_mutex_unlock (&state_lock);
  if (st)
    return g_str_equal (st, "done");
  set_state (key, "running");
  char **args = g_new0 (char *, 3);
  args[0] = g_strdup (dir);
  args[1] = g_strdup (force);
  g_autoptr (GTask) task = g_task_new (NULL, NULL, NULL, NULL);
  g_task_set_task_data (task, args, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, probe_thread);
  return FALSE;
}
