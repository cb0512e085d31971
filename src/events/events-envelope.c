/* What goes on the wire, without any I/O: the body Mux sends, its
 * signature, and when to try again. */
#include "spacecast/events.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static const struct {
  const char *prefix;
  const char *object_type;
  ScKind kind;
  gboolean not_the_resource;    /* data is something else about it */
} prefixes[] = {
  /* Longest first: a broadcast's events start with the space's prefix. */
  { "video.space.broadcast.", "broadcast", SC_KIND_BROADCAST },
  { "video.space.participant.", "space", SC_KIND_SPACE, TRUE },
  { "video.space.", "space", SC_KIND_SPACE },
  /* A target lives inside its stream's document: its id names no stored
   * resource, so its events keep the target as it was when published. */
  { "video.live_stream.simulcast_target.", "simulcast_target", SC_KIND_LIVE_STREAM, TRUE },
  { "video.live_stream.", "live", SC_KIND_LIVE_STREAM },
  { "video.asset.", "asset", SC_KIND_ASSET },
};

static int
find_prefix (const char *type)
{
  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
    if (g_str_has_prefix (type, prefixes[i].prefix) && type[strlen (prefixes[i].prefix)])
      return (int) i;
  return -1;
}

const char *
sc_events_object_type (const char *type, ScKind *kind)
{
  int i = find_prefix (type);
  if (i < 0)
    return NULL;
  *kind = prefixes[i].kind;
  return prefixes[i].object_type;
}

gboolean
sc_events_carries_resource (const char *type)
{
  int i = find_prefix (type);
  return i >= 0 && !prefixes[i].not_the_resource;
}

char *
sc_events_iso8601 (gint64 unix_us)
{
  g_autoptr (GDateTime) s = g_date_time_new_from_unix_utc (unix_us / G_USEC_PER_SEC);
  g_autoptr (GDateTime) t = g_date_time_add (s, unix_us % G_USEC_PER_SEC);
  return g_date_time_format (t, "%Y-%m-%dT%H:%M:%S.%fZ");
}

char *
sc_events_envelope (const ScEvent *e, JsonArray *attempts)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree char *created = sc_events_iso8601 (e->created_at_us);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, e->type);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, e->id);
  json_builder_set_member_name (b, "created_at");
  json_builder_add_string_value (b, created);
  json_builder_set_member_name (b, "object");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, e->object_type);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, e->object_id);
  json_builder_end_object (b);
  /* One daemon is one environment. */
  json_builder_set_member_name (b, "environment");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, "spacecast");
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, "Production");
  json_builder_end_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_add_value (b, json_node_init_object (json_node_alloc (), e->data));
  json_builder_set_member_name (b, "attempts");
  if (attempts)
    json_builder_add_value (b, json_node_init_array (json_node_alloc (), attempts));
  else {
    json_builder_begin_array (b);
    json_builder_end_array (b);
  }
  /* Mux's own requests fill these in; ours have no accessor to name. */
  json_builder_set_member_name (b, "accessor");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "accessor_source");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "request_id");
  json_builder_add_null_value (b);
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

char *
sc_events_signature (const char *secret, gint64 timestamp, const char *body)
{
  g_autofree char *payload = g_strdup_printf ("%" G_GINT64_FORMAT ".%s", timestamp, body);
  guint8 mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;

  if (!HMAC (EVP_sha256 (), secret, (int) strlen (secret), (const guint8 *) payload,
             strlen (payload), mac, &mac_len))
    g_error ("HMAC-SHA256 is not available");
  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "t=%" G_GINT64_FORMAT ",v1=", timestamp);
  for (unsigned int i = 0; i < mac_len; i++)
    g_string_append_printf (out, "%02x", mac[i]);
  return g_string_free (out, FALSE);
}

gint64
sc_events_retry_delay (guint n, guint initial_s)
{
  const gint64 cap = (gint64) 3600 * G_USEC_PER_SEC;
  gint64 d = (gint64) MAX (initial_s, 1) * G_USEC_PER_SEC;
  for (guint i = 1; i < n && d < cap; i++)
    d *= 2;
  return MIN (d, cap);
}
