#include "record-private.h"

#include "spacecast/core.h"

#include <json-glib/json-glib.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <math.h>
#include <string.h>

#define SIDECAR "recording.json"

static void
segment_clear (gpointer p)
{
  ScSegmentInfo *s = p;
  g_clear_pointer (&s->uri, g_free);
}

void
sc_recording_info_init (ScRecordingInfo *info)
{
  info->segments = g_array_new (FALSE, TRUE, sizeof (ScSegmentInfo));
  g_array_set_clear_func (info->segments, segment_clear);
  info->connections = g_array_new (FALSE, TRUE, sizeof (double));
  info->closed = FALSE;
}

void
sc_recording_info_clear (ScRecordingInfo *info)
{
  g_clear_pointer (&info->segments, g_array_unref);
  g_clear_pointer (&info->connections, g_array_unref);
}

gboolean
sc_record_write_atomic (const char *path, const char *contents, gssize len,
                        GError **error)
{
  /* g_file_set_contents writes a temporary file and renames it over path. */
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents_full (path, contents, len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0644, &local)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "%s", local->message);
    return FALSE;
  }
  return TRUE;
}

void
sc_record_set_av_error (GError **error, int code, int averr, const char *what,
                        const char *path)
{
  char buf[AV_ERROR_MAX_STRING_SIZE] = "";
  av_strerror (averr, buf, sizeof buf);
  g_set_error (error, SC_ERROR, code, "%s%s%s: %s", what, path ? " " : "",
               path ? path : "", buf);
}

int
sc_record_add_stream (AVFormatContext *oc, const AVCodecParameters *par, GError **error)
{
  AVStream *st = avformat_new_stream (oc, NULL);
  if (!st) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "cannot add a stream to the %s muxer",
                 oc->oformat->name);
    return -1;
  }
  int ret = avcodec_parameters_copy (st->codecpar, par);
  if (ret < 0) {
    sc_record_set_av_error (error, SC_ERROR_INTERNAL, ret, "cannot copy codec parameters", NULL);
    return -1;
  }
  return st->index;
}

gboolean
sc_recording_info_load (const char *asset_dir, ScRecordingInfo *info, GError **error)
{
  g_autofree char *path = g_build_filename (asset_dir, SIDECAR, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!json_parser_load_from_file (parser, path, &local)) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE,
                 "recording metadata unreadable: %s", local->message);
    return FALSE;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE, "recording metadata malformed");
    return FALSE;
  }
  JsonObject *o = json_node_get_object (root);
  info->closed = json_object_get_boolean_member_with_default (o, "closed", FALSE);

  JsonArray *conns = json_object_get_array_member (o, "connections");
  for (guint i = 0; conns && i < json_array_get_length (conns); i++) {
    double started = json_array_get_double_element (conns, i);
    g_array_append_val (info->connections, started);
  }
  JsonArray *segs = json_object_get_array_member (o, "segments");
  for (guint i = 0; segs && i < json_array_get_length (segs); i++) {
    JsonObject *so = json_array_get_object_element (segs, i);
    const char *uri = so ? json_object_get_string_member_with_default (so, "uri", NULL) : NULL;
    /* Only plain names inside the asset dir, whatever the file says. */
    if (uri == NULL || strchr (uri, '/') != NULL || uri[0] == '.')
      continue;
    ScSegmentInfo s = {
      .uri = g_strdup (uri),
      .duration = json_object_get_double_member_with_default (so, "duration", 0),
      .connection = json_object_get_int_member_with_default (so, "connection", 0),
      .discontinuity = json_object_get_boolean_member_with_default (so, "discontinuity", FALSE),
    };
    g_array_append_val (info->segments, s);
  }
  return TRUE;
}

gboolean
sc_recording_info_save (const char *asset_dir, const ScRecordingInfo *info, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "closed");
  json_builder_add_boolean_value (b, info->closed);
  json_builder_set_member_name (b, "connections");
  json_builder_begin_array (b);
  for (guint i = 0; i < info->connections->len; i++)
    json_builder_add_double_value (b, g_array_index (info->connections, double, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "segments");
  json_builder_begin_array (b);
  for (guint i = 0; i < info->segments->len; i++) {
    const ScSegmentInfo *s = &g_array_index (info->segments, ScSegmentInfo, i);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "uri");
    json_builder_add_string_value (b, s->uri);
    json_builder_set_member_name (b, "duration");
    json_builder_add_double_value (b, s->duration);
    json_builder_set_member_name (b, "connection");
    json_builder_add_int_value (b, s->connection);
    json_builder_set_member_name (b, "discontinuity");
    json_builder_add_boolean_value (b, s->discontinuity);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, FALSE);
  g_autofree char *path = g_build_filename (asset_dir, SIDECAR, NULL);
  return sc_record_write_atomic (path, text, -1, error);
}

guint
sc_recording_info_target_duration (const ScRecordingInfo *info)
{
  /* HLS: every EXTINF rounded to the nearest integer must fit. */
  guint target = 2;
  for (guint i = 0; i < info->segments->len; i++) {
    double d = g_array_index (info->segments, ScSegmentInfo, i).duration;
    target = MAX (target, (guint) lround (d));
  }
  return target;
}

gboolean
sc_recording_write_playlist (const char *asset_dir, const ScRecordingInfo *info,
                             GError **error)
{
  GString *m = g_string_new ("#EXTM3U\n#EXT-X-VERSION:3\n");
  g_string_append_printf (m, "#EXT-X-TARGETDURATION:%u\n",
                          sc_recording_info_target_duration (info));
  g_string_append (m, "#EXT-X-MEDIA-SEQUENCE:0\n");
  g_string_append_printf (m, "#EXT-X-PLAYLIST-TYPE:%s\n", info->closed ? "VOD" : "EVENT");
  g_string_append (m, "#EXT-X-INDEPENDENT-SEGMENTS\n");
  for (guint i = 0; i < info->segments->len; i++) {
    const ScSegmentInfo *s = &g_array_index (info->segments, ScSegmentInfo, i);
    if (s->discontinuity)
      g_string_append (m, "#EXT-X-DISCONTINUITY\n");
    g_string_append_printf (m, "#EXTINF:%.3f,\n%s\n", s->duration, s->uri);
  }
  if (info->closed)
    g_string_append (m, "#EXT-X-ENDLIST\n");

  g_autofree char *path = g_build_filename (asset_dir, "index.m3u8", NULL);
  gboolean ok = sc_record_write_atomic (path, m->str, m->len, error);
  g_string_free (m, TRUE);
  return ok;
}

static void
av_log_to_glib (void *avcl, int level, const char *fmt, va_list vl)
{
  if (level > av_log_get_level ())
    return;
  char line[1024];
  int print_prefix = 1;
  av_log_format_line2 (avcl, level, fmt, vl, line, sizeof line, &print_prefix);
  g_strchomp (line);
  if (line[0] == '\0')
    return;
  GLogLevelFlags gl = level <= AV_LOG_ERROR ? G_LOG_LEVEL_MESSAGE
                      : level <= AV_LOG_WARNING ? G_LOG_LEVEL_INFO
                      : G_LOG_LEVEL_DEBUG;
  g_log_structured ("ffmpeg", gl, "MESSAGE", "%s", line);
}

void
sc_record_setup_logging (void)
{
  av_log_set_callback (av_log_to_glib);
}
