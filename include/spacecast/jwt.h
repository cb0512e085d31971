/* spacecast jwt: the RS256 tokens clients present to join a space (Mux
 * Real-Time "Space JWT": sub = space id, aud = "rt", kid = signing key id,
 * exp, optional role and participant_id), and the RSA signing keys behind
 * them.  It owns token verification, token signing for the CLI and tests,
 * and key-pair generation for the signing-keys API.  It does not own key
 * storage: verification asks the caller for a key through a callback.
 * All crypto goes through OpenSSL EVP. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Clock skew tolerated on exp, nbf and iat, in seconds. */
#define SC_JWT_LEEWAY_S 30

/* Longest token accepted, so a hostile header cannot make us decode megabytes. */
#define SC_JWT_MAX_TOKEN_LEN 8192

#define SC_JWT_MAX_PARTICIPANT_ID_LEN 255

typedef enum {
  SC_JWT_ROLE_PUBLISHER,
  SC_JWT_ROLE_SUBSCRIBER,
} ScJwtRole;

const char *sc_jwt_role_to_string (ScJwtRole role);

typedef struct {
  char     *space_id;        /* sub */
  char     *kid;             /* signing key that verified the token */
  char     *participant_id;  /* NULL when the token has none */
  ScJwtRole role;            /* publisher when the token has none */
  gint64    exp;             /* Unix seconds */
} ScJwtClaims;

void sc_jwt_claims_free (ScJwtClaims *claims);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScJwtClaims, sc_jwt_claims_free)

/* Returns the public key PEM (SPKI or PKCS#1) of signing key @kid, newly
 * allocated.  Returns NULL without an error when no such key exists, and
 * NULL with an error when the key existed but was deleted.  An error in the
 * SC_ERROR domain with code SC_ERROR_INTERNAL or SC_ERROR_UNAVAILABLE means
 * the store itself failed; it is passed through unchanged instead of being
 * reported as an authorization failure. */
typedef char *(*ScJwtKeyLookup) (const char *kid, gpointer user_data,
                                 GError **error);

/* Verifies @token as a space JWT for @space_id (NULL: any space, sub still
 * required) at time @now (Unix seconds; pass sc_core_now_unix ()).
 * A token living longer than @max_lifetime_s (exp - iat, or exp - now when
 * it has no iat) is refused; 0 accepts any lifetime.
 * Every rejection is SC_ERROR_UNAUTHORIZED with a message naming the rule
 * that failed. */
ScJwtClaims *sc_jwt_verify_space_token (const char *token,
                                        const char *space_id,
                                        ScJwtKeyLookup lookup,
                                        gpointer user_data,
                                        gint64 now,
                                        gint64 max_lifetime_s,
                                        GError **error);

/* Signs a space token valid from now for @ttl_s seconds.
 * @private_key_b64 is the base64 of a PEM private key as the signing-keys
 * API returns it; a plain PEM is accepted too.  @role: "publisher",
 * "subscriber" or NULL (claim left out, meaning publisher).  @kid_in_header
 * chooses where kid goes: the JWT header (Node SDK style) or the payload
 * (Mux docs style).  Bad arguments are SC_ERROR_INVALID. */
char *sc_jwt_sign_space_token (const char *private_key_b64,
                               const char *kid,
                               const char *space_id,
                               const char *role,
                               const char *participant_id,
                               gint64 ttl_s,
                               gboolean kid_in_header,
                               GError **error);

/* Lower level: a compact RS256 JWS over the given header and payload JSON
 * texts, used as-is (the header should say "alg":"RS256").  For tests and
 * other token kinds. */
char *sc_jwt_sign_rs256 (const char *private_key_b64,
                         const char *header_json,
                         const char *payload_json,
                         GError **error);

/* "90s", "30m", "1h", "7d", "2w" or bare seconds "600" → seconds.
 * Must be positive and at most SC_JWT_MAX_TTL_S; else SC_ERROR_INVALID. */
#define SC_JWT_MAX_TTL_S (G_GINT64_CONSTANT (3650) * 86400)
gboolean sc_jwt_parse_ttl (const char *text, gint64 *out_seconds,
                           GError **error);

/* A fresh RSA-2048 key pair: the public key as SPKI PEM (kept by the store)
 * and the private key as base64 of a PKCS#1 PEM (returned once to the API
 * client, as Mux does). */
gboolean sc_jwt_generate_keypair (char **public_pem, char **private_pem_b64,
                                  GError **error);

/* Signed playback (stream.mux.com and image.mux.com): a playback id with
 * the "signed" policy opens only with ?token=, an RS256 JWT from one of
 * our signing keys with kid (header or payload), sub = the playback id,
 * aud = what it opens and exp.  Other claims are parameters the signer
 * fixed (Mux's thumbnail time, width...). */
typedef enum {
  SC_JWT_PLAYBACK_VIDEO,      /* aud "v": playlists, segments, MP4 */
  SC_JWT_PLAYBACK_THUMBNAIL,  /* aud "t": thumbnail.jpg */
} ScJwtPlaybackType;

typedef struct {
  char       *playback_id;  /* sub */
  char       *kid;
  gint64      exp;          /* Unix seconds */
  GHashTable *params;       /* claim name -> text, for the string and number
                             * claims beyond the registered ones */
} ScJwtPlaybackClaims;

void sc_jwt_playback_claims_free (ScJwtPlaybackClaims *claims);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScJwtPlaybackClaims, sc_jwt_playback_claims_free)

/* Verifies @token for @playback_id and @type at @now (Unix seconds).
 * Every rejection is SC_ERROR_FORBIDDEN (403, as Mux answers a bad
 * playback token) naming the rule that failed; a failing store passes its
 * error through. */
ScJwtPlaybackClaims *sc_jwt_verify_playback_token (const char *token,
                                                   const char *playback_id,
                                                   ScJwtPlaybackType type,
                                                   ScJwtKeyLookup lookup,
                                                   gpointer user_data,
                                                   gint64 now,
                                                   GError **error);

G_END_DECLS
