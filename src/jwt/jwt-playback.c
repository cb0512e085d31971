/* Signed playback tokens, checked as stream.mux.com checks them, so that
 * what Mux's SDKs sign (mux.jwt.signPlaybackId: RS256, kid in the payload,
 * sub, aud, exp, no iat, thumbnail parameters as extra claims) opens the
 * same playback here. */
#include "spacecast/jwt.h"
#include "spacecast/core.h"
#include "jwt-private.h"

#include <string.h>

#define REJECT(...) \
  g_set_error (error, SC_ERROR, SC_ERROR_FORBIDDEN, __VA_ARGS__)

static const struct {
  const char *aud;
  const char *what;
} types[] = {
  [SC_JWT_PLAYBACK_VIDEO] = { "v", "video" },
  [SC_JWT_PLAYBACK_THUMBNAIL] = { "t", "thumbnail" },
};

/* Claims with a meaning of their own, never parameters. */
static const char *const registered[] = {
  "sub", "aud", "exp", "nbf", "iat", "kid", "iss", "jti", NULL
};

void
sc_jwt_playback_claims_free (ScJwtPlaybackClaims *claims)
{
  if (claims == NULL)
    return;
  g_free (claims->playback_id);
  g_free (claims->kid);
  g_clear_pointer (&claims->params, g_hash_table_unref);
  g_free (claims);
}

/* Mux's other audiences, named so a refusal says what the token was for. */
static const char *
audience_name (const char *aud)
{
  static const char *const known[][2] = {
    { "v", "video" }, { "t", "thumbnail" }, { "g", "gif" },
    { "s", "storyboard" }, { "d", "DRM license" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    if (strcmp (aud, known[i][0]) == 0)
      return known[i][1];
  return "something else";
}

static gboolean
check_audience (JsonObject *payload, ScJwtPlaybackType type, GError **error)
{
  JsonNode *aud = json_object_get_member (payload, "aud");
  const char *want = types[type].aud;

  if (aud == NULL) {
    REJECT ("wrong audience: token has no \"aud\"; %s playback needs \"%s\"",
            types[type].what, want);
    return FALSE;
  }
  /* RFC 7519 allows an array; Mux's SDKs sign one string. */
  g_autoptr (JsonArray) auds = NULL;
  if (JSON_NODE_HOLDS_ARRAY (aud)) {
    auds = json_array_ref (json_node_get_array (aud));
  } else {
    auds = json_array_new ();
    json_array_add_element (auds, json_node_copy (aud));
  }
  const char *first = NULL;
  for (guint i = 0; i < json_array_get_length (auds); i++) {
    JsonNode *el = json_array_get_element (auds, i);
    if (!JSON_NODE_HOLDS_VALUE (el) ||
        json_node_get_value_type (el) != G_TYPE_STRING) {
      REJECT ("malformed token: claim \"aud\" must be a string or an array "
              "of strings");
      return FALSE;
    }
    if (strcmp (json_node_get_string (el), want) == 0)
      return TRUE;
    first = first ? first : json_node_get_string (el);
  }
  if (first == NULL) {
    REJECT ("wrong audience: token has an empty \"aud\"; %s playback needs "
            "\"%s\"", types[type].what, want);
    return FALSE;
  }
  REJECT ("wrong audience: token is for \"%s\" (%s); %s playback needs "
          "\"%s\"", first, audience_name (first), types[type].what, want);
  return FALSE;
}

/* The claims a signer added as parameters, as text, the way they would
 * have been written in the query. */
static GHashTable *
read_params (JsonObject *payload, GError **error)
{
  g_autoptr (GHashTable) params = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                         g_free, g_free);
  g_autoptr (GList) members = json_object_get_members (payload);

  for (GList *m = members; m; m = m->next) {
    const char *name = m->data;
    JsonNode *node = json_object_get_member (payload, name);
    if (g_strv_contains (registered, name))
      continue;
    /* We have no playback restrictions to enforce: a token that asks for
     * one must not open more than its signer meant. */
    if (strcmp (name, "playback_restriction_id") == 0) {
      REJECT ("token names a playback restriction; spacecast has none to "
              "apply");
      return NULL;
    }
    GType t = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node)
                                           : G_TYPE_INVALID;
    char *text = NULL;
    if (t == G_TYPE_STRING)
      text = g_strdup (json_node_get_string (node));
    else if (t == G_TYPE_INT64)
      text = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    else if (t == G_TYPE_DOUBLE)
      text = g_strdup_printf ("%.17g", json_node_get_double (node));
    if (text == NULL) {
      REJECT ("malformed token: parameter claim \"%s\" must be a string or "
              "a number", name);
      return NULL;
    }
    g_hash_table_insert (params, g_strdup (name), text);
  }
  return g_steal_pointer (&params);
}

ScJwtPlaybackClaims *
sc_jwt_verify_playback_token (const char *token, const char *playback_id,
                              ScJwtPlaybackType type, ScJwtKeyLookup lookup,
                              gpointer user_data, gint64 now, GError **error)
{
  g_return_val_if_fail (playback_id != NULL, NULL);
  g_return_val_if_fail (type < G_N_ELEMENTS (types), NULL);

  g_autoptr (GError) local = NULL;
  g_autofree char *kid = NULL;
  g_autoptr (JsonObject) payload = sc_jwt_verify_rs256 (token, lookup,
                                                        user_data, &kid,
                                                        &local);
  if (payload == NULL) {
    /* Playback answers 403 for any bad token, as Mux does. */
    if (g_error_matches (local, SC_ERROR, SC_ERROR_UNAUTHORIZED))
      local->code = SC_ERROR_FORBIDDEN;
    g_propagate_error (error, g_steal_pointer (&local));
    return NULL;
  }

  JsonNode *sub = json_object_get_member (payload, "sub");
  const char *sub_s = sub && JSON_NODE_HOLDS_VALUE (sub) &&
                      json_node_get_value_type (sub) == G_TYPE_STRING
                    ? json_node_get_string (sub) : NULL;
  /* A playback token cannot be revoked short of deleting its key: one
   * without an end would open the video for ever, so "exp" is required. */
  gint64 exp = 0;
  if (!sc_jwt_check_expiry (payload, now, SC_ERROR_FORBIDDEN, &exp, error) ||
      !check_audience (payload, type, error))
    return NULL;
  if (sub_s == NULL || *sub_s == '\0') {
    REJECT ("wrong playback id: token has no \"sub\" (playback id)");
    return NULL;
  }
  if (strcmp (sub_s, playback_id) != 0) {
    REJECT ("wrong playback id: token is for playback id \"%s\", not \"%s\"",
            sub_s, playback_id);
    return NULL;
  }
  g_autoptr (GHashTable) params = read_params (payload, error);
  if (params == NULL)
    return NULL;

  ScJwtPlaybackClaims *claims = g_new0 (ScJwtPlaybackClaims, 1);
  claims->playback_id = g_strdup (sub_s);
  claims->kid = g_steal_pointer (&kid);
  claims->exp = exp;
  claims->params = g_steal_pointer (&params);
  return claims;
}
