#include "record-private.h"

#include "spacecast/core.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <unistd.h>

#define LIVE_WINDOW 5           /* segments listed */
#define LIVE_KEEP_EXTRA 3       /* files kept past the window for slow players */

typedef struct {
  guint64 seq;
  double duration;
  gboolean discontinuity;
} LiveSegment;

struct _ScLivePlaylist {
  char *dir;
  GArray *segments;             /* LiveSegment, the window */
  guint64 next_seq;
  guint64 disc_seq;             /* EXT-X-DISCONTINUITY-SEQUENCE */
  gboolean next_disc;
  guint target;
};

/* Pick up an earlier asset's playlist so the media sequence goes on. */
static void
load (ScLivePlaylist *l)
{
  g_autofree char *path = g_build_filename (l->dir, "index.m3u8", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;

  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint64 seq = 0;
  gboolean disc = FALSE;
  double dur = 0;
  for (guint i = 0; lines[i]; i++) {
    const char *s = lines[i];
    if (g_str_has_prefix (s, "#EXT-X-MEDIA-SEQUENCE:"))
      seq = g_ascii_strtoull (s + 22, NULL, 10);
    else if (g_str_has_prefix (s, "#EXT-X-DISCONTINUITY-SEQUENCE:"))
      l->disc_seq = g_ascii_strtoull (s + 30, NULL, 10);
    else if (g_str_has_prefix (s, "#EXT-X-TARGETDURATION:"))
      l->target = MAX (l->target, (guint) g_ascii_strtoull (s + 22, NULL, 10));
    else if (g_str_equal (s, "#EXT-X-DISCONTINUITY"))
      disc = TRUE;
    else if (g_str_has_prefix (s, "#EXTINF:"))
      dur = g_ascii_strtod (s + 8, NULL);
    else if (s[0] != '#' && s[0] != '\0') {
      LiveSegment seg = { .seq = seq++, .duration = dur, .discontinuity = disc };
      g_array_append_val (l->segments, seg);
      disc = FALSE;
    }
  }
  l->next_seq = seq;
  l->next_disc = l->segments->len > 0;
}

ScLivePlaylist *
sc_live_playlist_new (const char *live_dir)
{
  ScLivePlaylist *l = g_new0 (ScLivePlaylist, 1);
  l->dir = g_strdup (live_dir);
  l->segments = g_array_new (FALSE, TRUE, sizeof (LiveSegment));
  l->target = 2;
  load (l);
  return l;
}

void
sc_live_playlist_free (ScLivePlaylist *l)
{
  if (l == NULL)
    return;
  g_array_unref (l->segments);
  g_free (l->dir);
  g_free (l);
}

gboolean
sc_live_playlist_write (ScLivePlaylist *l, gboolean endlist, GError **error)
{
  GString *m = g_string_new ("#EXTM3U\n#EXT-X-VERSION:3\n");
  g_string_append_printf (m, "#EXT-X-TARGETDURATION:%u\n", l->target);
  g_string_append_printf (m, "#EXT-X-MEDIA-SEQUENCE:%" G_GUINT64_FORMAT "\n",
                          l->segments->len ? g_array_index (l->segments, LiveSegment, 0).seq
                                           : l->next_seq);
  if (l->disc_seq > 0)
    g_string_append_printf (m, "#EXT-X-DISCONTINUITY-SEQUENCE:%" G_GUINT64_FORMAT "\n",
                            l->disc_seq);
  for (guint i = 0; i < l->segments->len; i++) {
    LiveSegment *s = &g_array_index (l->segments, LiveSegment, i);
    if (s->discontinuity)
      g_string_append (m, "#EXT-X-DISCONTINUITY\n");
    g_string_append_printf (m, "#EXTINF:%.3f,\nseg_%" G_GUINT64_FORMAT ".ts\n",
                            s->duration, s->seq);
  }
  if (endlist)
    g_string_append (m, "#EXT-X-ENDLIST\n");
  g_autofree char *path = g_build_filename (l->dir, "index.m3u8", NULL);
  gboolean ok = sc_record_write_atomic (path, m->str, m->len, error);
  g_string_free (m, TRUE);
  return ok;
}

gboolean
sc_live_playlist_add (ScLivePlaylist *l, const char *segment_path, double duration,
                      gboolean discontinuity, GError **error)
{
  LiveSegment s = { .seq = l->next_seq++, .duration = duration,
                    .discontinuity = discontinuity || l->next_disc };
  l->next_disc = FALSE;
  g_autofree char *name = g_strdup_printf ("seg_%" G_GUINT64_FORMAT ".ts", s.seq);
  g_autofree char *dst = g_build_filename (l->dir, name, NULL);

  /* A hard link costs nothing; a copy where the dirs are on different
   * file systems.  Either way the live dir is self-contained. */
  g_unlink (dst);
  if (link (segment_path, dst) != 0) {
    g_autoptr (GFile) from = g_file_new_for_path (segment_path);
    g_autoptr (GFile) to = g_file_new_for_path (dst);
    g_autoptr (GError) local = NULL;
    if (!g_file_copy (from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &local)) {
      g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "live segment: %s", local->message);
      return FALSE;
    }
  }
  g_array_append_val (l->segments, s);
  l->target = MAX (l->target, (guint) lround (duration));

  while (l->segments->len > LIVE_WINDOW) {
    LiveSegment *old = &g_array_index (l->segments, LiveSegment, 0);
    /* Removing a tagged segment from the head moves the sequence on. */
    if (old->discontinuity)
      l->disc_seq++;
    if (old->seq >= LIVE_KEEP_EXTRA) {
      g_autofree char *gone_name = g_strdup_printf ("seg_%" G_GUINT64_FORMAT ".ts",
                                                    old->seq - LIVE_KEEP_EXTRA);
      g_autofree char *gone = g_build_filename (l->dir, gone_name, NULL);
      g_unlink (gone);
    }
    g_array_remove_index (l->segments, 0);
  }
  return sc_live_playlist_write (l, FALSE, error);
}
