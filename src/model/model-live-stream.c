/* Live streams and the assets recorded from them, shaped as Mux shapes them
 * (mux-api.md §1.3, §1.4, §4.2). */
#include "spacecast/model.h"
#include "spacecast/core.h"

static const char *const latency_modes[] = { "standard", "reduced", "low", NULL };

/* playback_policies: an array of "public"/"signed", or one such string. */
static gboolean
take_policies (JsonObject *req, const char *field, GPtrArray *out, GError **error)
{
  JsonNode *n = json_object_get_member (req, field);
  if (!n || JSON_NODE_HOLDS_NULL (n))
    return TRUE;

  g_autoptr (JsonArray) arr = NULL;
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING) {
    arr = json_array_new ();
    json_array_add_string_element (arr, json_node_get_string (n));
  } else if (JSON_NODE_HOLDS_ARRAY (n)) {
    arr = json_array_ref (json_node_get_array (n));
  } else {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "%s must be an array of strings", field);
    return FALSE;
  }
  for (guint i = 0; i < json_array_get_length (arr); i++) {
    JsonNode *e = json_array_get_element (arr, i);
    const char *p = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
        ? json_node_get_string (e) : NULL;
    if (!p || !(g_str_equal (p, "public") || g_str_equal (p, "signed"))) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "%s[%u] must be \"public\" or \"signed\"", field, i);
      return FALSE;
    }
    g_ptr_array_add (out, g_strdup (p));
  }
  return TRUE;
}

static gboolean
take_latency_mode (JsonObject *req, JsonObject *doc, GError **error)
{
  g_autofree char *mode = NULL;
  if (!sc_model_take_string (req, "latency_mode", 16, &mode, error))
    return FALSE;
  if (mode && !g_strv_contains (latency_modes, mode)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "latency_mode must be one of standard, reduced, low; got \"%s\"", mode);
    return FALSE;
  }
  if (mode)
    json_object_set_string_member (doc, "latency_mode", mode);
  return TRUE;
}

static gboolean
take_new_asset_settings (JsonObject *req, JsonObject *doc, GError **error)
{
  JsonNode *n = json_object_get_member (req, "new_asset_settings");
  if (!n || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (n)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "new_asset_settings must be an object");
    return FALSE;
  }
  JsonObject *s = json_node_get_object (n);
  static const char *const allowed[] = { "playback_policies", "playback_policy", "passthrough",
                                         "mp4_support", "master_access", "video_quality",
                                         "meta", NULL };
  g_autoptr (GPtrArray) policies = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *passthrough = NULL;
  if (!sc_model_check_fields (s, allowed, "new_asset_settings", error) ||
      !take_policies (s, "playback_policies", policies, error) ||
      !take_policies (s, "playback_policy", policies, error) ||
      !sc_model_take_string (s, "passthrough", 255, &passthrough, error)) {
    g_prefix_error (error, "new_asset_settings: ");
    return FALSE;
  }
  json_object_set_member (doc, "new_asset_settings", json_node_copy (n));
  return TRUE;
}

/* Fields both create and PATCH accept, with their ranges. */
static gboolean
take_common (JsonObject *req, JsonObject *doc, GError **error)
{
  double v;
  gboolean present, b;
  g_autofree char *passthrough = NULL, *slate = NULL;

  if (!sc_model_take_string (req, "passthrough", 255, &passthrough, error) ||
      !sc_model_take_string (req, "reconnect_slate_url", 2048, &slate, error) ||
      !take_latency_mode (req, doc, error) ||
      !take_new_asset_settings (req, doc, error))
    return FALSE;
  if (passthrough)
    json_object_set_string_member (doc, "passthrough", passthrough);
  if (slate)
    json_object_set_string_member (doc, "reconnect_slate_url", slate);

  if (!sc_model_take_number (req, "reconnect_window", 0, 1800, &v, &present, error))
    return FALSE;
  if (present)
    sc_model_set_number (doc, "reconnect_window", v);
  if (!sc_model_take_number (req, "max_continuous_duration", 60, 43200, &v, &present, error))
    return FALSE;
  if (present)
    sc_model_set_number (doc, "max_continuous_duration", (gint64) v);
  if (!sc_model_take_bool (req, "use_slate_for_standard_latency", &b, &present, error))
    return FALSE;
  if (present)
    json_object_set_boolean_member (doc, "use_slate_for_standard_latency", b);

  JsonNode *meta = json_object_get_member (req, "meta");
  if (meta && !JSON_NODE_HOLDS_NULL (meta)) {
    g_autofree char *title = NULL;
    static const char *const meta_fields[] = { "title", NULL };
    if (!JSON_NODE_HOLDS_OBJECT (meta)) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "meta must be an object");
      return FALSE;
    }
    if (!sc_model_check_fields (json_node_get_object (meta), meta_fields, "meta", error) ||
        !sc_model_take_string (json_node_get_object (meta), "title", 512, &title, error)) {
      g_prefix_error (error, "meta: ");
      return FALSE;
    }
    json_object_set_member (doc, "meta", json_node_copy (meta));
  }
  return TRUE;
}

JsonObject *
sc_model_live_stream_new (JsonObject *req, gint64 now, GError **error)
{
  static const char *const allowed[] = {
    "playback_policies", "playback_policy", "new_asset_settings", "reconnect_window",
    "use_slate_for_standard_latency", "reconnect_slate_url", "latency_mode",
    "reduced_latency", "low_latency", "max_continuous_duration", "passthrough", "test",
    "audio_only", "meta", "simulcast_targets", "embedded_subtitles", "generated_subtitles",
    NULL };
  g_autoptr (JsonObject) doc = json_object_new ();
  g_autoptr (GPtrArray) policies = g_ptr_array_new_with_free_func (g_free);
  gboolean test = FALSE, audio_only = FALSE, reduced = FALSE, low = FALSE;

  if (!sc_model_check_fields (req, allowed, "a live stream", error))
    return NULL;
  /* Refuse what spacecast cannot do rather than silently ignoring it. */
  static const char *const unsupported[] = { "embedded_subtitles", "generated_subtitles", NULL };
  for (guint i = 0; unsupported[i]; i++) {
    JsonNode *n = json_object_get_member (req, unsupported[i]);
    if (n && !(JSON_NODE_HOLDS_ARRAY (n) && json_array_get_length (json_node_get_array (n)) == 0)
        && !JSON_NODE_HOLDS_NULL (n)) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID, "%s is not supported by spacecast",
                   unsupported[i]);
      return NULL;
    }
  }

  g_autofree char *id = sc_core_new_id ();
  g_autofree char *key = sc_core_new_secret ();
  g_autofree char *passphrase = sc_core_new_secret ();
  g_autofree char *created = g_strdup_printf ("%" G_GINT64_FORMAT, now);
  json_object_set_string_member (doc, "id", id);
  json_object_set_string_member (doc, "created_at", created);
  json_object_set_string_member (doc, "stream_key", key);
  json_object_set_string_member (doc, "srt_passphrase", passphrase);
  json_object_set_string_member (doc, "status", "idle");
  json_object_set_int_member (doc, "reconnect_window", 60);
  json_object_set_string_member (doc, "latency_mode", "standard");
  json_object_set_int_member (doc, "max_continuous_duration", 43200);

  if (!take_policies (req, "playback_policies", policies, error) ||
      !take_policies (req, "playback_policy", policies, error) ||
      !take_common (req, doc, error) ||
      !sc_model_live_stream_take_simulcast (req, doc, error) ||
      !sc_model_take_bool (req, "test", &test, NULL, error) ||
      !sc_model_take_bool (req, "audio_only", &audio_only, NULL, error) ||
      !sc_model_take_bool (req, "reduced_latency", &reduced, NULL, error) ||
      !sc_model_take_bool (req, "low_latency", &low, NULL, error))
    return NULL;
  if (reduced && low) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "reduced_latency and low_latency cannot both be true");
    return NULL;
  }
  if ((reduced || low) && !json_object_has_member (req, "latency_mode"))
    json_object_set_string_member (doc, "latency_mode", low ? "low" : "reduced");

  json_object_set_boolean_member (doc, "test", test);
  json_object_set_boolean_member (doc, "audio_only", audio_only);
  json_object_set_array_member (doc, "recent_asset_ids", json_array_new ());

  JsonArray *pids = json_array_new ();
  for (guint i = 0; i < policies->len; i++) {
    JsonObject *p = json_object_new ();
    g_autofree char *pid = sc_core_new_id ();
    json_object_set_string_member (p, "id", pid);
    json_object_set_string_member (p, "policy", policies->pdata[i]);
    json_array_add_object_element (pids, p);
  }
  json_object_set_array_member (doc, "playback_ids", pids);
  return g_steal_pointer (&doc);
}

gboolean
sc_model_live_stream_patch (JsonObject *doc, JsonObject *req, GError **error)
{
  static const char *const allowed[] = {
    "passthrough", "latency_mode", "reconnect_window", "use_slate_for_standard_latency",
    "reconnect_slate_url", "max_continuous_duration", "meta", "new_asset_settings", NULL };

  if (!sc_model_check_fields (req, allowed, "a live stream update", error))
    return FALSE;
  /* Validate into a scratch object first so a bad field changes nothing. */
  g_autoptr (JsonObject) changes = json_object_new ();
  if (!take_common (req, changes, error))
    return FALSE;
  g_autoptr (GList) members = json_object_get_members (changes);
  for (GList *l = members; l; l = l->next)
    json_object_set_member (doc, l->data, json_node_copy (json_object_get_member (changes, l->data)));
  /* Mux: an empty string clears passthrough and restores the default slate. */
  static const char *const clearable[] = { "passthrough", "reconnect_slate_url" };
  for (guint i = 0; i < G_N_ELEMENTS (clearable); i++)
    if (json_object_has_member (doc, clearable[i]) &&
        g_str_equal (json_object_get_string_member (doc, clearable[i]), ""))
      json_object_remove_member (doc, clearable[i]);
  return TRUE;
}

gboolean
sc_model_live_stream_status_valid (const char *status)
{
  static const char *const statuses[] = { "idle", "active", "disabled", NULL };
  return g_strv_contains (statuses, status);
}

/* playback_policy is the deprecated spelling; both were checked on create. */
static const char *const policy_fields[] = { "playback_policies", "playback_policy" };

/* "signed" when the stream plays only signed, else "public". */
static const char *
live_policy (JsonObject *ls)
{
  JsonArray *pids = json_object_has_member (ls, "playback_ids")
      ? json_object_get_array_member (ls, "playback_ids") : NULL;
  gboolean any_signed = FALSE;
  for (guint i = 0; pids && i < json_array_get_length (pids); i++) {
    const char *policy = json_object_get_string_member (json_array_get_object_element (pids, i),
                                                        "policy");
    if (g_strcmp0 (policy, "public") == 0)
      return "public";
    any_signed = any_signed || g_strcmp0 (policy, "signed") == 0;
  }
  return any_signed ? "signed" : "public";
}

JsonObject *
sc_model_asset_new_live (JsonObject *ls, gint64 now)
{
  JsonObject *a = json_object_new ();
  g_autofree char *id = sc_core_new_id ();
  g_autofree char *created = g_strdup_printf ("%" G_GINT64_FORMAT, now);
  JsonObject *settings = json_object_has_member (ls, "new_asset_settings")
      ? json_object_get_object_member (ls, "new_asset_settings") : NULL;

  json_object_set_string_member (a, "id", id);
  json_object_set_string_member (a, "created_at", created);
  json_object_set_string_member (a, "status", "preparing");
  json_object_set_string_member (a, "live_stream_id", json_object_get_string_member (ls, "id"));
  json_object_set_boolean_member (a, "is_live", TRUE);
  json_object_set_string_member (a, "ingest_type", "live_rtmp");
  json_object_set_string_member (a, "master_access", "none");
  json_object_set_string_member (a, "mp4_support", "standard");
  json_object_set_array_member (a, "tracks", json_array_new ());
  json_object_set_array_member (a, "recording_times", json_array_new ());
  json_object_set_boolean_member (a, "test", json_object_get_boolean_member_with_default (ls, "test", FALSE));
  if (settings && json_object_has_member (settings, "passthrough"))
    json_object_set_string_member (a, "passthrough",
                                   json_object_get_string_member (settings, "passthrough"));

  /* Every recording gets a playback id, so it can be watched: of the
   * policy the stream's asset settings ask for, else one no more open than
   * the stream's own (a signed stream must not leave a public recording). */
  JsonArray *pids = json_array_new ();
  g_autofree char *pid = sc_core_new_id ();
  JsonObject *p = json_object_new ();
  const char *policy = NULL;
  for (guint i = 0; settings && !policy && i < G_N_ELEMENTS (policy_fields); i++) {
    JsonNode *n = json_object_get_member (settings, policy_fields[i]);
    if (n && JSON_NODE_HOLDS_ARRAY (n) && json_array_get_length (json_node_get_array (n)) > 0)
      policy = json_array_get_string_element (json_node_get_array (n), 0);
    else if (n && JSON_NODE_HOLDS_VALUE (n))
      policy = json_node_get_string (n);
  }
  if (!policy)
    policy = live_policy (ls);
  json_object_set_string_member (p, "id", pid);
  json_object_set_string_member (p, "policy", policy);
  json_array_add_object_element (pids, p);
  json_object_set_array_member (a, "playback_ids", pids);
  return a;
}
