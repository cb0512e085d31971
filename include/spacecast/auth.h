/* spacecast auth: API access tokens (HTTP Basic, token id + secret, as Mux
 * does).  Secrets are 192-bit random strings, so a salted SHA-256 is the
 * right stored form: a slow password hash only helps low-entropy secrets. */
#pragma once

#include "spacecast/store.h"

G_BEGIN_DECLS

/* Create (or, with both given, ensure) a token.  New ids/secrets are random;
 * the secret is returned to the caller only here. */
gboolean sc_auth_create_token (ScStore *store, const char *id, const char *secret,
                               char **out_id, char **out_secret, GError **error);

/* Check an Authorization header value ("Basic base64(id:secret)"). */
gboolean sc_auth_check_basic (ScStore *store, const char *authorization, GError **error);

/* The hash stored for @secret with @salt (exposed for unit tests). */
GBytes  *sc_auth_hash_secret (GBytes *salt, const char *secret);

G_END_DECLS
