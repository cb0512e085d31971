#include "spacecast/auth.h"
#include "spacecast/core.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

GBytes *
sc_auth_hash_secret (GBytes *salt, const char *secret)
{
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  gsize salt_len;
  const guint8 *s = g_bytes_get_data (salt, &salt_len);
  g_autoptr (GByteArray) input = g_byte_array_new ();

  g_byte_array_append (input, s, salt_len);
  g_byte_array_append (input, (const guint8 *) secret, strlen (secret));
  if (!EVP_Digest (input->data, input->len, digest, &len, EVP_sha256 (), NULL))
    g_error ("OpenSSL SHA-256 failed");
  return g_bytes_new (digest, len);
}

gboolean
sc_auth_create_token (ScStore *store, const char *id, const char *secret,
                      char **out_id, char **out_secret, GError **error)
{
  guint8 salt_raw[16];
  g_autofree char *new_id = id ? g_strdup (id) : sc_core_new_id ();
  g_autofree char *new_secret = secret ? g_strdup (secret) : sc_core_random_id (32);

  if (RAND_bytes (salt_raw, sizeof salt_raw) != 1) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "no entropy for a token salt");
    return FALSE;
  }
  g_autoptr (GBytes) salt = g_bytes_new (salt_raw, sizeof salt_raw);
  g_autoptr (GBytes) hash = sc_auth_hash_secret (salt, new_secret);
  if (!sc_store_put_token (store, new_id, salt, hash, error))
    return FALSE;
  if (out_id)
    *out_id = g_steal_pointer (&new_id);
  if (out_secret)
    *out_secret = g_steal_pointer (&new_secret);
  return TRUE;
}

static gboolean
unauthorized (GError **error)
{
  g_set_error (error, SC_ERROR, SC_ERROR_UNAUTHORIZED, "Unauthorized request");
  return FALSE;
}

gboolean
sc_auth_check_basic (ScStore *store, const char *authorization, GError **error)
{
  if (!authorization || g_ascii_strncasecmp (authorization, "Basic ", 6) != 0)
    return unauthorized (error);

  gsize len = 0;
  g_autofree guchar *raw = g_base64_decode (authorization + 6, &len);
  g_autofree char *creds = g_strndup ((const char *) raw, len);
  char *colon = strchr (creds, ':');
  if (!colon || strlen (creds) != len)
    return unauthorized (error);
  *colon = '\0';

  g_autoptr (GBytes) salt = NULL, stored = NULL;
  if (!sc_store_get_token (store, creds, &salt, &stored, NULL))
    return unauthorized (error);
  g_autoptr (GBytes) computed = sc_auth_hash_secret (salt, colon + 1);
  gsize a_len, b_len;
  const void *a = g_bytes_get_data (computed, &a_len);
  const void *b = g_bytes_get_data (stored, &b_len);
  if (a_len != b_len || CRYPTO_memcmp (a, b, a_len) != 0)
    return unauthorized (error);
  return TRUE;
}
