/* Finalising a recorded asset: remux on a worker thread (it reads and
 * writes the whole recording), then fill the asset in from the media. */
#include "ingest-private.h"
#include "spacecast/core.h"
#include "spacecast/events.h"
#include "spacecast/model.h"

typedef struct {
  ScIngest *ingest;
  char *asset_id;
  char *dir;
  ScAssetMedia media;
  GError *error;
} Finalise;

static void
finalise_free (Finalise *f)
{
  sc_asset_media_clear (&f->media);
  g_clear_error (&f->error);
  g_free (f->asset_id);
  g_free (f->dir);
  g_free (f);
}

static void
finalise_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Finalise *f = data;
  sc_record_finalise (f->dir, &f->media, &f->error);
  g_task_return_boolean (task, TRUE);
}

char *
sc_ingest_iso8601 (double unix_s)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc ((gint64) unix_s);
  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

static void
fill_from_media (JsonObject *a, const ScAssetMedia *m)
{
  JsonArray *tracks = json_array_new ();
  g_autofree char *vid = g_strconcat (json_object_get_string_member (a, "id"), "v", NULL);
  g_autofree char *aid = g_strconcat (json_object_get_string_member (a, "id"), "a", NULL);

  sc_model_set_number (a, "duration", m->duration);
  if (m->has_video) {
    JsonObject *t = json_object_new ();
    json_object_set_string_member (t, "id", vid);
    json_object_set_string_member (t, "type", "video");
    sc_model_set_number (t, "duration", m->duration);
    json_object_set_int_member (t, "max_width", m->max_width);
    json_object_set_int_member (t, "max_height", m->max_height);
    sc_model_set_number (t, "max_frame_rate", m->max_frame_rate);
    json_array_add_object_element (tracks, t);
    sc_model_set_number (a, "max_stored_frame_rate", m->max_frame_rate);
    json_object_set_string_member (a, "aspect_ratio", m->aspect_ratio ? m->aspect_ratio : "");
    json_object_set_string_member (a, "max_stored_resolution",
                                   m->max_height >= 2160 ? "UHD" : m->max_height >= 1080 ? "FHD"
                                   : m->max_height >= 720 ? "HD" : "SD");
  }
  if (m->has_audio) {
    JsonObject *t = json_object_new ();
    json_object_set_string_member (t, "id", aid);
    json_object_set_string_member (t, "type", "audio");
    sc_model_set_number (t, "duration", m->duration);
    json_object_set_int_member (t, "max_channels", m->max_channels);
    json_object_set_boolean_member (t, "primary", TRUE);
    json_array_add_object_element (tracks, t);
  }
  json_object_set_array_member (a, "tracks", tracks);
  if (m->resolution_tier)
    json_object_set_string_member (a, "resolution_tier", m->resolution_tier);

  JsonArray *times = json_array_new ();
  for (guint i = 0; m->recording_times && i < m->recording_times->len; i++) {
    ScRecordingTime *rt = &g_array_index (m->recording_times, ScRecordingTime, i);
    JsonObject *t = json_object_new ();
    g_autofree char *at = sc_ingest_iso8601 (rt->started_at);
    json_object_set_string_member (t, "started_at", at);
    sc_model_set_number (t, "duration", rt->duration);
    json_object_set_string_member (t, "type", "content");
    json_array_add_object_element (times, t);
  }
  json_object_set_array_member (a, "recording_times", times);
}

static void
finalise_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Finalise *f = g_task_get_task_data (G_TASK (res));
  ScIngest *ing = f->ingest;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) a = sc_store_get (ing->store, SC_KIND_ASSET, f->asset_id, &error);

  ing->finalising--;
  if (!a) {
    g_message ("asset %s was deleted while it was finalised", f->asset_id);
    return;
  }
  json_object_set_boolean_member (a, "is_live", FALSE);
  if (f->error) {
    JsonObject *errs = json_object_new ();
    JsonArray *msgs = json_array_new ();
    json_array_add_string_element (msgs, f->error->message);
    json_object_set_string_member (errs, "type", "invalid_input");
    json_object_set_array_member (errs, "messages", msgs);
    json_object_set_object_member (a, "errors", errs);
    json_object_set_string_member (a, "status", "errored");
    g_warning ("asset %s errored: %s", f->asset_id, f->error->message);
  } else {
    fill_from_media (a, &f->media);
    json_object_set_string_member (a, "status", "ready");
    g_message ("asset %s ready: %.2f s", f->asset_id, f->media.duration);
  }
  if (!sc_events_put (ing->store, SC_KIND_ASSET, f->asset_id, a,
                      f->error ? "video.asset.errored" : "video.asset.ready", &error))
    g_warning ("asset %s: cannot save: %s", f->asset_id, error->message);
}

void
sc_ingest_finalise_asset (ScIngest *ing, const char *asset_id)
{
  Finalise *f = g_new0 (Finalise, 1);
  f->ingest = ing;
  f->asset_id = g_strdup (asset_id);
  f->dir = sc_ingest_asset_dir (ing, asset_id);
  ing->finalising++;
  g_autoptr (GTask) task = g_task_new (NULL, NULL, finalise_done, NULL);
  g_task_set_task_data (task, f, (GDestroyNotify) finalise_free);
  g_task_run_in_thread (task, finalise_thread);
}
