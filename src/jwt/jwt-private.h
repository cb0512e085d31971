/* Internal to src/jwt: base64url and PEM key loading shared by the
 * verifier and the signer, and the checks every token kind (space,
 * playback) shares. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>

#include "spacecast/jwt.h"

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

/* What any RS256 token must pass before one of its claims is believed:
 * size, shape, header (alg RS256, no crit), a kid in header or payload,
 * the key @lookup gives for it, and the signature.  Returns the payload
 * and the kid in *kid_out.  Rejections are SC_ERROR_UNAUTHORIZED; a store
 * failure from @lookup passes through. */
JsonObject *sc_jwt_verify_rs256   (const char *token, ScJwtKeyLookup lookup,
                                   gpointer user_data, char **kid_out,
                                   GError **error);
/* A NumericDate claim (integer or fractional seconds, bounded); *present
 * is FALSE when it is absent, an error when it is of another type. */
gboolean    sc_jwt_get_time_claim (JsonObject *payload, const char *name,
                                   gint64 *out, gboolean *present,
                                   GError **error);
/* The checks every token kind makes of its lifetime: "exp" present and not
 * passed, "nbf" (when present) reached, both with SC_JWT_LEEWAY_S; refused
 * with SC_ERROR @code.  *exp_out gets "exp". */
gboolean    sc_jwt_check_expiry   (JsonObject *payload, gint64 now, int code,
                                   gint64 *exp_out, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_MD_CTX, EVP_MD_CTX_free)

G_END_DECLS
