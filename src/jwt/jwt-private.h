/* Internal to src/jwt: base64url and PEM key loading shared by the
 * verifier and the signer. */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

G_BEGIN_DECLS

char     *sc_jwt_b64url_encode (const guint8 *data, gsize len);
/* Strict: only the URL-safe alphabet, no padding, canonical trailing bits.
 * Returns NULL on anything else. */
guint8   *sc_jwt_b64url_decode (const char *text, gsize text_len,
                                gsize *out_len);

/* An RSA key of at least 2048 bits from PEM text; NULL if it is not one.
 * @want_private selects a private key, else a public key. */
EVP_PKEY *sc_jwt_load_rsa_pem  (const char *pem, gsize len,
                                gboolean want_private);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_MD_CTX, EVP_MD_CTX_free)

G_END_DECLS
