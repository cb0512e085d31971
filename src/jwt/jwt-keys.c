/* Signing side of the space JWT: key generation, private key loading,
 * RS256 signing, TTL parsing, and the base64url helpers the verifier
 * shares. */
#include "spacecast/jwt.h"
#include "spacecast/core.h"
#include "jwt-private.h"

#include <json-glib/json-glib.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string.h>

#define SC_JWT_MIN_RSA_BITS 2048

char *
sc_jwt_b64url_encode (const guint8 *data, gsize len)
{
  char *out = g_base64_encode (data, len);
  gsize n = 0;

  for (char *p = out; *p != '\0'; p++) {
    if (*p == '=')
      break;
    out[n++] = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  }
  out[n] = '\0';
  return out;
}

guint8 *
sc_jwt_b64url_decode (const char *text, gsize text_len, gsize *out_len)
{
  /* g_base64_decode silently skips characters outside its alphabet, so the
   * alphabet is checked here first. */
  if (text_len % 4 == 1)
    return NULL;
  g_autofree char *std = g_malloc (text_len + 3);
  gsize n = 0;
  for (gsize i = 0; i < text_len; i++) {
    char c = text[i];
    if (g_ascii_isalnum (c))
      std[n++] = c;
    else if (c == '-')
      std[n++] = '+';
    else if (c == '_')
      std[n++] = '/';
    else
      return NULL;
  }
  while (n % 4 != 0)
    std[n++] = '=';
  std[n] = '\0';

  gsize len = 0;
  g_autofree guint8 *data = n > 0 ? g_base64_decode (std, &len) : g_malloc0 (1);

  /* Unused low bits of the last character must be zero, or two spellings
   * would decode to the same bytes. */
  g_autofree char *again = sc_jwt_b64url_encode (data, len);
  if (strlen (again) != text_len || memcmp (again, text, text_len) != 0)
    return NULL;

  *out_len = len;
  return g_steal_pointer (&data);
}

EVP_PKEY *
sc_jwt_load_rsa_pem (const char *pem, gsize len, gboolean want_private)
{
  EVP_PKEY *pkey = NULL;
  int selection = want_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
  /* No structure given: both SPKI/PKCS#8 and the traditional PKCS#1 PEM
   * forms decode. */
  OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey (
      &pkey, "PEM", NULL, "RSA", selection, NULL, NULL);
  const unsigned char *data = (const unsigned char *) pem;
  size_t data_len = len;

  if (dctx == NULL) {
    ERR_clear_error ();
    return NULL;
  }
  if (!OSSL_DECODER_from_data (dctx, &data, &data_len))
    pkey = NULL;
  OSSL_DECODER_CTX_free (dctx);
  ERR_clear_error ();

  if (pkey != NULL && (!EVP_PKEY_is_a (pkey, "RSA") ||
                       EVP_PKEY_get_bits (pkey) < SC_JWT_MIN_RSA_BITS)) {
    EVP_PKEY_free (pkey);
    return NULL;
  }
  return pkey;
}

static EVP_PKEY *
load_private_key (const char *private_key_b64, GError **error)
{
  if (private_key_b64 == NULL || *private_key_b64 == '\0') {
    g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID,
                         "no signing private key given");
    return NULL;
  }

  g_autofree guint8 *pem = NULL;
  gsize pem_len = 0;
  const char *p = private_key_b64;
  while (g_ascii_isspace (*p))
    p++;
  if (g_str_has_prefix (p, "-----BEGIN")) {
    pem = (guint8 *) g_strdup (p);
    pem_len = strlen (p);
  } else {
    pem = g_base64_decode (p, &pem_len);
  }

  EVP_PKEY *pkey = sc_jwt_load_rsa_pem ((const char *) pem, pem_len, TRUE);
  if (pem != NULL)
    OPENSSL_cleanse (pem, pem_len);
  if (pkey == NULL)
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "signing private key is not a base64-encoded PEM RSA "
                 "private key of at least %d bits", SC_JWT_MIN_RSA_BITS);
  return pkey;
}

char *
sc_jwt_sign_rs256 (const char *private_key_b64, const char *header_json,
                   const char *payload_json, GError **error)
{
  g_return_val_if_fail (header_json != NULL && payload_json != NULL, NULL);

  g_autoptr (EVP_PKEY) pkey = load_private_key (private_key_b64, error);
  if (pkey == NULL)
    return NULL;

  g_autofree char *h = sc_jwt_b64url_encode ((const guint8 *) header_json,
                                             strlen (header_json));
  g_autofree char *p = sc_jwt_b64url_encode ((const guint8 *) payload_json,
                                             strlen (payload_json));
  g_autofree char *signing_input = g_strconcat (h, ".", p, NULL);
  gsize input_len = strlen (signing_input);

  g_autoptr (EVP_MD_CTX) md = EVP_MD_CTX_new ();
  size_t sig_len = 0;
  if (md == NULL ||
      EVP_DigestSignInit (md, NULL, EVP_sha256 (), NULL, pkey) != 1 ||
      EVP_DigestSign (md, NULL, &sig_len,
                      (const unsigned char *) signing_input, input_len) != 1) {
    ERR_clear_error ();
    g_set_error_literal (error, SC_ERROR, SC_ERROR_INTERNAL,
                         "could not set up RS256 signing");
    return NULL;
  }
  g_autofree guint8 *sig = g_malloc (sig_len);
  if (EVP_DigestSign (md, sig, &sig_len,
                      (const unsigned char *) signing_input, input_len) != 1) {
    ERR_clear_error ();
    g_set_error_literal (error, SC_ERROR, SC_ERROR_INTERNAL,
                         "RS256 signing failed");
    return NULL;
  }

  g_autofree char *s = sc_jwt_b64url_encode (sig, sig_len);
  return g_strconcat (signing_input, ".", s, NULL);
}

static char *
object_to_json (JsonObject *obj)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, obj);
  return json_to_string (node, FALSE);
}

char *
sc_jwt_sign_space_token (const char *private_key_b64, const char *kid,
                         const char *space_id, const char *role,
                         const char *participant_id, gint64 ttl_s,
                         gboolean kid_in_header, GError **error)
{
  if (kid == NULL || *kid == '\0') {
    g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID,
                         "a signing key id (kid) is required");
    return NULL;
  }
  if (space_id == NULL || *space_id == '\0') {
    g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID,
                         "a space id is required");
    return NULL;
  }
  if (role != NULL && g_strcmp0 (role, "publisher") != 0 &&
      g_strcmp0 (role, "subscriber") != 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "invalid role \"%s\": expected publisher or subscriber", role);
    return NULL;
  }
  if (participant_id != NULL &&
      (*participant_id == '\0' ||
       strlen (participant_id) > SC_JWT_MAX_PARTICIPANT_ID_LEN ||
       !g_utf8_validate (participant_id, -1, NULL))) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "participant_id must be 1 to %d bytes of UTF-8",
                 SC_JWT_MAX_PARTICIPANT_ID_LEN);
    return NULL;
  }
  if (ttl_s <= 0 || ttl_s > SC_JWT_MAX_TTL_S) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "token lifetime must be between 1 s and %" G_GINT64_FORMAT
                 " s", SC_JWT_MAX_TTL_S);
    return NULL;
  }

  gint64 now = sc_core_now_unix ();
  g_autoptr (JsonObject) header = json_object_new ();
  json_object_set_string_member (header, "alg", "RS256");
  json_object_set_string_member (header, "typ", "JWT");
  if (kid_in_header)
    json_object_set_string_member (header, "kid", kid);

  g_autoptr (JsonObject) payload = json_object_new ();
  json_object_set_string_member (payload, "sub", space_id);
  json_object_set_string_member (payload, "aud", "rt");
  json_object_set_int_member (payload, "iat", now);
  json_object_set_int_member (payload, "exp", now + ttl_s);
  if (!kid_in_header)
    json_object_set_string_member (payload, "kid", kid);
  if (role != NULL)
    json_object_set_string_member (payload, "role", role);
  if (participant_id != NULL)
    json_object_set_string_member (payload, "participant_id", participant_id);

  g_autofree char *header_json = object_to_json (header);
  g_autofree char *payload_json = object_to_json (payload);
  return sc_jwt_sign_rs256 (private_key_b64, header_json, payload_json, error);
}

gboolean
sc_jwt_parse_ttl (const char *text, gint64 *out_seconds, GError **error)
{
  const char *p = text;
  guint64 value = 0;
  gint64 unit = 1;

  if (p == NULL || !g_ascii_isdigit (*p))
    goto bad;
  while (g_ascii_isdigit (*p)) {
    value = value * 10 + (guint64) (*p - '0');
    if (value > (guint64) SC_JWT_MAX_TTL_S)
      goto range;
    p++;
  }
  switch (*p) {
  case '\0': unit = 1; break;
  case 's': unit = 1; p++; break;
  case 'm': unit = 60; p++; break;
  case 'h': unit = 3600; p++; break;
  case 'd': unit = 86400; p++; break;
  case 'w': unit = 7 * 86400; p++; break;
  default: goto bad;
  }
  if (*p != '\0')
    goto bad;
  if (value == 0 || value > (guint64) (SC_JWT_MAX_TTL_S / unit))
    goto range;
  *out_seconds = (gint64) value * unit;
  return TRUE;

bad:
  g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
               "invalid duration \"%s\": expected a number with an optional "
               "unit s, m, h, d or w (e.g. 90s, 30m, 1h, 7d)",
               text ? text : "");
  return FALSE;
range:
  g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
               "invalid duration \"%s\": must be more than 0 and at most "
               "%" G_GINT64_FORMAT " days", text, SC_JWT_MAX_TTL_S / 86400);
  return FALSE;
}

static char *
bio_to_string (BIO *bio)
{
  char *data = NULL;
  long len = BIO_get_mem_data (bio, &data);
  return len > 0 ? g_strndup (data, (gsize) len) : NULL;
}

gboolean
sc_jwt_generate_keypair (char **public_pem, char **private_pem_b64,
                         GError **error)
{
  g_return_val_if_fail (public_pem != NULL && private_pem_b64 != NULL, FALSE);

  g_autoptr (EVP_PKEY) pkey = EVP_RSA_gen (SC_JWT_MIN_RSA_BITS);
  if (pkey == NULL) {
    ERR_clear_error ();
    g_set_error_literal (error, SC_ERROR, SC_ERROR_INTERNAL,
                         "RSA key generation failed");
    return FALSE;
  }

  BIO *pub = BIO_new (BIO_s_mem ());
  BIO *priv = BIO_new (BIO_s_secmem ());
  g_autofree char *pub_text = NULL;
  char *priv_data = NULL;
  long priv_len = 0;
  gboolean ok = pub != NULL && priv != NULL &&
                PEM_write_bio_PUBKEY (pub, pkey) == 1 &&
                /* PKCS#1 ("BEGIN RSA PRIVATE KEY"), the form Mux hands out. */
                PEM_write_bio_PrivateKey_traditional (priv, pkey, NULL, NULL,
                                                      0, NULL, NULL) == 1;
  if (ok) {
    pub_text = bio_to_string (pub);
    priv_len = BIO_get_mem_data (priv, &priv_data);
    ok = pub_text != NULL && priv_len > 0;
  }
  if (ok) {
    *public_pem = g_steal_pointer (&pub_text);
    *private_pem_b64 = g_base64_encode ((const guchar *) priv_data,
                                        (gsize) priv_len);
  }
  BIO_free (pub);
  BIO_free (priv);   /* secure memory: cleared on free */
  ERR_clear_error ();

  if (!ok)
    g_set_error_literal (error, SC_ERROR, SC_ERROR_INTERNAL,
                         "could not encode the generated RSA key pair");
  return ok;
}
