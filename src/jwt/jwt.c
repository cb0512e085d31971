/* Verification of space JWTs, and of what a token of any kind must pass
 * first (sc_jwt_verify_rs256, jwt-playback.c uses it too).  The order
 * matters: the header is checked before any key is looked up, and the
 * signature is checked before any claim is believed, so an unsigned or
 * forged token never gets as far as "expired" or "wrong space". */
#include "spacecast/jwt.h"
#include "spacecast/core.h"
#include "jwt-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <openssl/err.h>
#include <string.h>

#define MAX_NUMERIC_DATE G_GINT64_CONSTANT (1000000000000000)

#define REJECT(...) \
  g_set_error (error, SC_ERROR, SC_ERROR_UNAUTHORIZED, __VA_ARGS__)

const char *
sc_jwt_role_to_string (ScJwtRole role)
{
  return role == SC_JWT_ROLE_SUBSCRIBER ? "subscriber" : "publisher";
}

void
sc_jwt_claims_free (ScJwtClaims *claims)
{
  if (claims == NULL)
    return;
  g_free (claims->space_id);
  g_free (claims->kid);
  g_free (claims->participant_id);
  g_free (claims);
}

/* One base64url segment holding a JSON object. */
static JsonObject *
decode_json_segment (const char *seg, gsize len, const char *what,
                     GError **error)
{
  gsize raw_len = 0;
  g_autofree guint8 *raw = sc_jwt_b64url_decode (seg, len, &raw_len);

  if (raw == NULL) {
    REJECT ("malformed token: %s is not valid base64url", what);
    return NULL;
  }
  /* json_from_string takes a C string; an embedded NUL would hide the rest. */
  if (raw_len == 0 || memchr (raw, '\0', raw_len) != NULL ||
      !g_utf8_validate ((const char *) raw, (gssize) raw_len, NULL)) {
    REJECT ("malformed token: %s is not valid JSON", what);
    return NULL;
  }
  g_autofree char *text = g_strndup ((const char *) raw, raw_len);
  g_autoptr (GError) json_error = NULL;
  g_autoptr (JsonNode) node = json_from_string (text, &json_error);
  if (node == NULL) {
    REJECT ("malformed token: %s is not valid JSON", what);
    return NULL;
  }
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    REJECT ("malformed token: %s is not a JSON object", what);
    return NULL;
  }
  return json_object_ref (json_node_get_object (node));
}

/* The string member @name, NULL when absent; FALSE when of another type. */
static gboolean
get_opt_string (JsonObject *obj, const char *name, const char *what,
                const char **out, GError **error)
{
  JsonNode *node = json_object_get_member (obj, name);

  *out = NULL;
  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING) {
    *out = json_node_get_string (node);
    return TRUE;
  }
  REJECT ("malformed token: %s \"%s\" must be a string", what, name);
  return FALSE;
}

/* A NumericDate claim; *present FALSE when absent. */
gboolean
sc_jwt_get_time_claim (JsonObject *obj, const char *name, gint64 *out,
                       gboolean *present, GError **error)
{
  JsonNode *node = json_object_get_member (obj, name);

  *present = FALSE;
  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node)) {
    GType t = json_node_get_value_type (node);
    /* Bounded far beyond any real date so that adding leeway or taking
     * differences can never overflow. */
    if (t == G_TYPE_INT64) {
      gint64 v = json_node_get_int (node);
      if (v > -MAX_NUMERIC_DATE && v < MAX_NUMERIC_DATE) {
        *out = v;
        *present = TRUE;
        return TRUE;
      }
    }
    if (t == G_TYPE_DOUBLE) {
      /* NumericDate may carry a fraction (RFC 7519 §2). */
      double d = json_node_get_double (node);
      if (isfinite (d) && d > -MAX_NUMERIC_DATE && d < MAX_NUMERIC_DATE) {
        *out = (gint64) floor (d);
        *present = TRUE;
        return TRUE;
      }
    }
  }
  REJECT ("malformed token: claim \"%s\" must be a number of seconds", name);
  return FALSE;
}

static gboolean
check_header (JsonObject *header, GError **error)
{
  const char *alg = NULL;

  if (!get_opt_string (header, "alg", "header field", &alg, error))
    return FALSE;
  if (alg == NULL) {
    REJECT ("malformed token: header has no \"alg\"");
    return FALSE;
  }
  if (g_ascii_strcasecmp (alg, "none") == 0) {
    REJECT ("unsigned token (alg \"none\") is not accepted; only RS256 is "
            "accepted");
    return FALSE;
  }
  if (strcmp (alg, "RS256") != 0) {
    REJECT ("token signed with unsupported algorithm %s; only RS256 is "
            "accepted", alg);
    return FALSE;
  }
  /* RFC 7515 §4.1.11: extensions we do not know must make us refuse. */
  if (json_object_has_member (header, "crit")) {
    REJECT ("token header has critical extensions (\"crit\"), which are not "
            "supported");
    return FALSE;
  }
  return TRUE;
}

static char *
find_kid (JsonObject *header, JsonObject *payload, GError **error)
{
  const char *in_header = NULL, *in_payload = NULL;

  if (!get_opt_string (header, "kid", "header field", &in_header, error) ||
      !get_opt_string (payload, "kid", "claim", &in_payload, error))
    return NULL;
  if (in_header != NULL && *in_header == '\0')
    in_header = NULL;
  if (in_payload != NULL && *in_payload == '\0')
    in_payload = NULL;
  if (in_header == NULL && in_payload == NULL) {
    REJECT ("token names no signing key: \"kid\" is missing from both header "
            "and payload");
    return NULL;
  }
  if (in_header != NULL && in_payload != NULL &&
      strcmp (in_header, in_payload) != 0) {
    REJECT ("token names two different signing keys in its header and "
            "payload \"kid\"");
    return NULL;
  }
  return g_strdup (in_header != NULL ? in_header : in_payload);
}

static gboolean
check_signature (const char *public_pem, const char *kid,
                 const char *signing_input, gsize input_len,
                 const char *sig_b64, gsize sig_b64_len, GError **error)
{
  gsize sig_len = 0;
  g_autofree guint8 *sig = sc_jwt_b64url_decode (sig_b64, sig_b64_len,
                                                 &sig_len);
  if (sig == NULL) {
    REJECT ("malformed token: signature is not valid base64url");
    return FALSE;
  }

  g_autoptr (EVP_PKEY) pkey = sc_jwt_load_rsa_pem (public_pem,
                                                   strlen (public_pem), FALSE);
  if (pkey == NULL) {
    /* Our own store handed us something unusable: a server fault. */
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL,
                 "stored public key of signing key \"%s\" is not a usable "
                 "RSA key", kid);
    return FALSE;
  }

  g_autoptr (EVP_MD_CTX) md = EVP_MD_CTX_new ();
  int rc = 0;
  if (md != NULL &&
      EVP_DigestVerifyInit (md, NULL, EVP_sha256 (), NULL, pkey) == 1)
    rc = EVP_DigestVerify (md, sig, sig_len,
                           (const unsigned char *) signing_input, input_len);
  ERR_clear_error ();
  if (rc != 1) {
    REJECT ("bad signature: token is not signed by signing key \"%s\"", kid);
    return FALSE;
  }
  return TRUE;
}

JsonObject *
sc_jwt_verify_rs256 (const char *token, ScJwtKeyLookup lookup,
                     gpointer user_data, char **kid_out, GError **error)
{
  g_return_val_if_fail (lookup != NULL, NULL);

  if (token == NULL || *token == '\0') {
    REJECT ("malformed token: empty");
    return NULL;
  }
  gsize len = strlen (token);
  if (len > SC_JWT_MAX_TOKEN_LEN) {
    REJECT ("malformed token: longer than %d bytes", SC_JWT_MAX_TOKEN_LEN);
    return NULL;
  }

  const char *dot1 = strchr (token, '.');
  const char *dot2 = dot1 ? strchr (dot1 + 1, '.') : NULL;
  guint n_parts = 1;
  for (const char *p = token; *p; p++)
    n_parts += *p == '.';
  if (n_parts != 3) {
    REJECT ("malformed token: expected 3 dot-separated parts, found %u",
            n_parts);
    return NULL;
  }

  g_autoptr (JsonObject) header =
      decode_json_segment (token, (gsize) (dot1 - token), "header", error);
  if (header == NULL || !check_header (header, error))
    return NULL;
  g_autoptr (JsonObject) payload = decode_json_segment (
      dot1 + 1, (gsize) (dot2 - dot1 - 1), "payload", error);
  if (payload == NULL)
    return NULL;

  g_autofree char *kid = find_kid (header, payload, error);
  if (kid == NULL)
    return NULL;

  g_autoptr (GError) lookup_error = NULL;
  g_autofree char *public_pem = lookup (kid, user_data, &lookup_error);
  if (public_pem == NULL) {
    if (lookup_error == NULL) {
      REJECT ("unknown signing key \"%s\"", kid);
    } else if (lookup_error->domain == SC_ERROR &&
               (lookup_error->code == SC_ERROR_INTERNAL ||
                lookup_error->code == SC_ERROR_UNAVAILABLE)) {
      g_propagate_error (error, g_steal_pointer (&lookup_error));
    } else {
      REJECT ("signing key \"%s\" has been deleted", kid);
    }
    return NULL;
  }

  if (!check_signature (public_pem, kid, token, (gsize) (dot2 - token),
                        dot2 + 1, strlen (dot2 + 1), error))
    return NULL;

  *kid_out = g_steal_pointer (&kid);
  return g_steal_pointer (&payload);
}

static gboolean
check_audience (JsonObject *payload, GError **error)
{
  JsonNode *aud = json_object_get_member (payload, "aud");

  if (aud == NULL) {
    REJECT ("wrong audience: token has no \"aud\"; expected \"rt\"");
    return FALSE;
  }
  if (JSON_NODE_HOLDS_VALUE (aud) &&
      json_node_get_value_type (aud) == G_TYPE_STRING) {
    if (strcmp (json_node_get_string (aud), "rt") == 0)
      return TRUE;
  } else if (JSON_NODE_HOLDS_ARRAY (aud)) {
    JsonArray *arr = json_node_get_array (aud);
    for (guint i = 0; i < json_array_get_length (arr); i++) {
      JsonNode *el = json_array_get_element (arr, i);
      if (JSON_NODE_HOLDS_VALUE (el) &&
          json_node_get_value_type (el) == G_TYPE_STRING &&
          strcmp (json_node_get_string (el), "rt") == 0)
        return TRUE;
    }
  } else {
    REJECT ("malformed token: claim \"aud\" must be a string or an array of "
            "strings");
    return FALSE;
  }
  REJECT ("wrong audience: token is not for \"rt\" (real-time spaces)");
  return FALSE;
}

/* A token is a bearer credential that cannot be revoked short of deleting
 * its signing key, so how long one may live is bounded here rather than
 * left to whoever signs it. */
static gboolean
check_lifetime (gint64 exp, gint64 iat, gboolean has_iat, gint64 now,
                gint64 max_lifetime_s, GError **error)
{
  if (max_lifetime_s <= 0)
    return TRUE;
  /* Without iat only the time left is known, and the signer's clock may
   * run ahead of ours. */
  gint64 lifetime = has_iat ? exp - iat : exp - now;
  gint64 allowed = has_iat ? max_lifetime_s : max_lifetime_s + SC_JWT_LEEWAY_S;
  if (lifetime > allowed) {
    REJECT ("token lives too long: \"exp\" is %" G_GINT64_FORMAT " s after %s; "
            "at most %" G_GINT64_FORMAT " s is accepted (token_max_lifetime)",
            lifetime, has_iat ? "\"iat\"" : "now", max_lifetime_s);
    return FALSE;
  }
  return TRUE;
}

gboolean
sc_jwt_check_expiry (JsonObject *payload, gint64 now, int code, gint64 *exp_out,
                     GError **error)
{
  gint64 exp = 0, nbf = 0;
  gboolean has_exp, has_nbf;

  if (!sc_jwt_get_time_claim (payload, "exp", &exp, &has_exp, error) ||
      !sc_jwt_get_time_claim (payload, "nbf", &nbf, &has_nbf, error))
    return FALSE;
  if (!has_exp) {
    g_set_error (error, SC_ERROR, code, "token has no expiry: the \"exp\" claim is required");
    return FALSE;
  }
  if (now - SC_JWT_LEEWAY_S >= exp) {
    g_set_error (error, SC_ERROR, code, "token expired %" G_GINT64_FORMAT " s ago (exp %"
                 G_GINT64_FORMAT ")", now - exp, exp);
    return FALSE;
  }
  if (has_nbf && nbf > now + SC_JWT_LEEWAY_S) {
    g_set_error (error, SC_ERROR, code, "token not valid yet: \"nbf\" is %" G_GINT64_FORMAT
                 " s in the future", nbf - now);
    return FALSE;
  }
  *exp_out = exp;
  return TRUE;
}

static gboolean
check_times (JsonObject *payload, gint64 now, gint64 max_lifetime_s,
             gint64 *exp_out, GError **error)
{
  gint64 exp = 0, iat = 0;
  gboolean has_iat;

  if (!sc_jwt_check_expiry (payload, now, SC_ERROR_UNAUTHORIZED, &exp, error) ||
      !sc_jwt_get_time_claim (payload, "iat", &iat, &has_iat, error))
    return FALSE;
  if (has_iat && iat > now + SC_JWT_LEEWAY_S) {
    REJECT ("token issued in the future: \"iat\" is %" G_GINT64_FORMAT
            " s ahead", iat - now);
    return FALSE;
  }
  if (!check_lifetime (exp, iat, has_iat, now, max_lifetime_s, error))
    return FALSE;
  *exp_out = exp;
  return TRUE;
}

static gboolean
check_participant_id (const char *pid, GError **error)
{
  if (*pid == '\0' || strlen (pid) > SC_JWT_MAX_PARTICIPANT_ID_LEN) {
    REJECT ("invalid participant_id: must be 1 to %d bytes",
            SC_JWT_MAX_PARTICIPANT_ID_LEN);
    return FALSE;
  }
  /* It ends up in logs and API output; control characters have no place. */
  for (const char *p = pid; *p; p = g_utf8_next_char (p)) {
    if (g_unichar_iscntrl (g_utf8_get_char (p))) {
      REJECT ("invalid participant_id: contains control characters");
      return FALSE;
    }
  }
  return TRUE;
}

/* Claims after the signature is known good. */
static ScJwtClaims *
read_claims (JsonObject *payload, const char *space_id, gint64 now,
             gint64 max_lifetime_s, GError **error)
{
  const char *sub = NULL, *role = NULL, *pid = NULL;
  gint64 exp = 0;

  if (!get_opt_string (payload, "sub", "claim", &sub, error) ||
      !get_opt_string (payload, "role", "claim", &role, error) ||
      !get_opt_string (payload, "participant_id", "claim", &pid, error))
    return NULL;
  if (!check_times (payload, now, max_lifetime_s, &exp, error) ||
      !check_audience (payload, error))
    return NULL;
  if (sub == NULL || *sub == '\0') {
    REJECT ("wrong space: token has no \"sub\" (space id)");
    return NULL;
  }
  if (space_id != NULL && strcmp (sub, space_id) != 0) {
    REJECT ("wrong space: token is for space \"%s\", not \"%s\"", sub,
            space_id);
    return NULL;
  }

  ScJwtRole r = SC_JWT_ROLE_PUBLISHER;
  if (role != NULL) {
    if (strcmp (role, "subscriber") == 0) {
      r = SC_JWT_ROLE_SUBSCRIBER;
    } else if (strcmp (role, "publisher") != 0) {
      REJECT ("invalid role \"%s\": expected publisher or subscriber", role);
      return NULL;
    }
  }
  if (pid != NULL && !check_participant_id (pid, error))
    return NULL;

  ScJwtClaims *claims = g_new0 (ScJwtClaims, 1);
  claims->space_id = g_strdup (sub);
  claims->participant_id = g_strdup (pid);
  claims->role = r;
  claims->exp = exp;
  return claims;
}

ScJwtClaims *
sc_jwt_verify_space_token (const char *token, const char *space_id,
                           ScJwtKeyLookup lookup, gpointer user_data,
                           gint64 now, gint64 max_lifetime_s,
                           GError **error)
{
  /* The signature first: no claim of a forged token is looked at. */
  g_autofree char *kid = NULL;
  g_autoptr (JsonObject) payload = sc_jwt_verify_rs256 (token, lookup,
                                                        user_data, &kid, error);
  if (!payload)
    return NULL;

  ScJwtClaims *claims = read_claims (payload, space_id, now, max_lifetime_s,
                                     error);
  if (claims != NULL)
    claims->kid = g_steal_pointer (&kid);
  return claims;
}
