/* Space JWT: every verification rule, both kid placements, signing, key
 * generation and TTL parsing. */
#include "spacecast/core.h"
#include "spacecast/jwt.h"

#include <openssl/encoder.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string.h>

#define NOW G_GINT64_CONSTANT (1700000000)
/* The daemon's default token_max_lifetime: 7 days. */
#define MAX_LIFETIME (7 * 86400)

typedef struct {
  char *pub;
  char *priv_b64;
} KeyPair;

static KeyPair key_a, key_b;

/* The key store stand-in: k1 → key A, k2 → key B, gone → deleted,
 * broken → the store fails, anything else unknown. */
static char *
lookup (const char *kid, gpointer user_data, GError **error)
{
  if (strcmp (kid, "k1") == 0)
    return g_strdup (key_a.pub);
  if (strcmp (kid, "k2") == 0)
    return g_strdup (key_b.pub);
  if (strcmp (kid, "gone") == 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "deleted");
    return NULL;
  }
  if (strcmp (kid, "broken") == 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "database is locked");
    return NULL;
  }
  return NULL;
}

static char *
b64url (const char *text)
{
  char *s = g_base64_encode ((const guchar *) text, strlen (text));
  g_strdelimit (s, "+", '-');
  g_strdelimit (s, "/", '_');
  char *eq = strchr (s, '=');
  if (eq)
    *eq = '\0';
  return s;
}

/* An RS256 token with key A over the given JSON texts. */
static char *
signed_token (const char *header, const char *payload)
{
  g_autoptr (GError) error = NULL;
  char *t = sc_jwt_sign_rs256 (key_a.priv_b64, header, payload, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t);
  return t;
}

/* A payload for space "sp1" that is valid at NOW, with @extra members. */
static char *
payload_with (const char *extra)
{
  return g_strdup_printf ("{\"sub\":\"sp1\",\"aud\":\"rt\",\"exp\":%"
                          G_GINT64_FORMAT "%s%s}", NOW + 3600,
                          extra && *extra ? "," : "", extra ? extra : "");
}

#define HDR_K1 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}"

static void
assert_rejected_at (const char *token, const char *space, gint64 now,
                    const char *expect)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScJwtClaims) c =
      sc_jwt_verify_space_token (token, space, lookup, NULL, now, MAX_LIFETIME,
                                 &error);
  g_assert_null (c);
  g_assert_error (error, SC_ERROR, SC_ERROR_UNAUTHORIZED);
  g_test_message ("rejected: %s", error->message);
  if (strstr (error->message, expect) == NULL)
    g_error ("expected \"%s\" in \"%s\"", expect, error->message);
}

static void
assert_rejected (const char *token, const char *expect)
{
  assert_rejected_at (token, "sp1", NOW, expect);
}

static ScJwtClaims *
assert_accepted_at (const char *token, const char *space, gint64 now)
{
  g_autoptr (GError) error = NULL;
  ScJwtClaims *c =
      sc_jwt_verify_space_token (token, space, lookup, NULL, now, MAX_LIFETIME,
                                 &error);
  g_assert_no_error (error);
  g_assert_nonnull (c);
  return c;
}

static void
assert_payload_rejected (const char *payload, const char *expect)
{
  g_autofree char *t = signed_token (HDR_K1, payload);
  assert_rejected (t, expect);
}

static void
test_roundtrip (gconstpointer data)
{
  gboolean kid_in_header = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_autofree char *t = sc_jwt_sign_space_token (
      key_a.priv_b64, "k1", "space-42", "subscriber", "alice", 3600,
      kid_in_header, &error);
  g_assert_no_error (error);

  /* Where the kid went is visible in the token itself. */
  g_auto (GStrv) parts = g_strsplit (t, ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  gsize n;
  g_strdelimit (parts[0], "-", '+');
  g_strdelimit (parts[0], "_", '/');
  g_autofree char *padded = g_strconcat (parts[0], "===", NULL);
  padded[strlen (parts[0]) + (4 - strlen (parts[0]) % 4) % 4] = '\0';
  g_autofree guchar *hdr = g_base64_decode (padded, &n);
  g_autofree char *hdr_s = g_strndup ((char *) hdr, n);
  g_assert_true ((strstr (hdr_s, "\"kid\"") != NULL) == kid_in_header);
  g_assert_nonnull (strstr (hdr_s, "RS256"));

  gint64 now = sc_core_now_unix ();
  g_autoptr (ScJwtClaims) c = assert_accepted_at (t, "space-42", now);
  g_assert_cmpstr (c->space_id, ==, "space-42");
  g_assert_cmpstr (c->kid, ==, "k1");
  g_assert_cmpstr (c->participant_id, ==, "alice");
  g_assert_cmpint (c->role, ==, SC_JWT_ROLE_SUBSCRIBER);
  g_assert_cmpint (c->exp, >=, now + 3600 - 60);
  g_assert_cmpint (c->exp, <=, now + 3600 + 60);

  /* Past its lifetime plus leeway, the same token is refused. */
  assert_rejected_at (t, "space-42", c->exp + 31, "expired");
  /* For another space it is refused too. */
  assert_rejected_at (t, "space-43", now, "wrong space");
}

static void
test_defaults (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *t = sc_jwt_sign_space_token (
      key_b.priv_b64, "k2", "sp1", NULL, NULL, 60, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (ScJwtClaims) c = assert_accepted_at (t, "sp1",
                                                  sc_core_now_unix ());
  g_assert_cmpint (c->role, ==, SC_JWT_ROLE_PUBLISHER);
  g_assert_null (c->participant_id);
  g_assert_cmpstr (c->kid, ==, "k2");
  g_assert_cmpstr (sc_jwt_role_to_string (c->role), ==, "publisher");

  /* NULL expected space: any space, but sub is still reported. */
  g_autoptr (ScJwtClaims) any = assert_accepted_at (t, NULL,
                                                    sc_core_now_unix ());
  g_assert_cmpstr (any->space_id, ==, "sp1");
}

static void
test_bad_signature (void)
{
  /* Signed by key B while naming key A. */
  g_autoptr (GError) error = NULL;
  g_autofree char *payload = payload_with (NULL);
  g_autofree char *t = sc_jwt_sign_rs256 (key_b.priv_b64, HDR_K1, payload,
                                          &error);
  g_assert_no_error (error);
  assert_rejected (t, "bad signature");

  /* A genuine token whose payload was swapped for another space. */
  g_autofree char *good = signed_token (HDR_K1, payload);
  g_auto (GStrv) parts = g_strsplit (good, ".", -1);
  g_autofree char *other = b64url ("{\"sub\":\"sp2\",\"aud\":\"rt\","
                                   "\"exp\":1700100000}");
  g_autofree char *forged = g_strjoin (".", parts[0], other, parts[2], NULL);
  assert_rejected_at (forged, "sp2", NOW, "bad signature");

  /* One signature character changed. */
  g_autofree char *flipped = g_strdup (good);
  char *c = strrchr (flipped, '.') + 10;
  *c = *c == 'A' ? 'B' : 'A';
  assert_rejected (flipped, "bad signature");

  /* Signature cut short (whole base64 quads, so still valid base64url). */
  g_autofree char *cut = g_strndup (good, strlen (good) - 6 * 4);
  g_autofree char *cut_sig = g_strconcat (cut, "AA", NULL);
  assert_rejected (cut_sig, "bad signature");
}

static void
test_algorithms (void)
{
  g_autofree char *p = payload_with (NULL);
  g_autofree char *pb = b64url (p);

  g_autofree char *none_h = b64url ("{\"alg\":\"none\",\"kid\":\"k1\"}");
  g_autofree char *none_t = g_strconcat (none_h, ".", pb, ".", NULL);
  assert_rejected (none_t, "alg \"none\"");

  /* HS256 keyed with the public key: the classic key-confusion forgery. */
  g_autofree char *hs_h = b64url ("{\"alg\":\"HS256\",\"kid\":\"k1\"}");
  g_autofree char *input = g_strconcat (hs_h, ".", pb, NULL);
  g_autofree char *mac = g_compute_hmac_for_string (
      G_CHECKSUM_SHA256, (const guchar *) key_a.pub, strlen (key_a.pub),
      input, -1);
  g_autofree char *mac_b = b64url (mac);
  g_autofree char *hs_t = g_strconcat (input, ".", mac_b, NULL);
  assert_rejected (hs_t, "unsupported algorithm HS256; only RS256");

  g_autofree char *es = signed_token ("{\"alg\":\"ES256\",\"kid\":\"k1\"}", p);
  assert_rejected (es, "unsupported algorithm ES256");
  g_autofree char *ps = signed_token ("{\"alg\":\"PS256\",\"kid\":\"k1\"}", p);
  assert_rejected (ps, "unsupported algorithm PS256");
  g_autofree char *noalg = signed_token ("{\"kid\":\"k1\"}", p);
  assert_rejected (noalg, "no \"alg\"");
  g_autofree char *crit = signed_token (
      "{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"b64\"]}", p);
  assert_rejected (crit, "crit");
}

static void
test_kid (void)
{
  g_autofree char *p = payload_with (NULL);

  g_autofree char *none = signed_token ("{\"alg\":\"RS256\"}", p);
  assert_rejected (none, "\"kid\" is missing");

  g_autofree char *p_kid = payload_with ("\"kid\":\"k1\"");
  g_autofree char *in_payload = signed_token ("{\"alg\":\"RS256\"}", p_kid);
  g_autoptr (ScJwtClaims) c = assert_accepted_at (in_payload, "sp1", NOW);
  g_assert_cmpstr (c->kid, ==, "k1");

  g_autofree char *p_k2 = payload_with ("\"kid\":\"k2\"");
  g_autofree char *both = signed_token (HDR_K1, p_k2);
  assert_rejected (both, "two different signing keys");

  g_autofree char *unknown = signed_token (
      "{\"alg\":\"RS256\",\"kid\":\"nope\"}", p);
  assert_rejected (unknown, "unknown signing key \"nope\"");

  g_autofree char *gone = signed_token (
      "{\"alg\":\"RS256\",\"kid\":\"gone\"}", p);
  assert_rejected (gone, "signing key \"gone\" has been deleted");

  g_autofree char *num = signed_token ("{\"alg\":\"RS256\",\"kid\":7}", p);
  assert_rejected (num, "\"kid\" must be a string");

  /* A failing store is a server fault, not the client's. */
  g_autofree char *broken = signed_token (
      "{\"alg\":\"RS256\",\"kid\":\"broken\"}", p);
  g_autoptr (GError) error = NULL;
  g_assert_null (sc_jwt_verify_space_token (broken, "sp1", lookup, NULL, NOW, MAX_LIFETIME,
                                            &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INTERNAL);
}

static char *
timed_token (const char *claims)
{
  g_autofree char *p = g_strdup_printf ("{\"sub\":\"sp1\",\"aud\":\"rt\",%s}",
                                        claims);
  return signed_token (HDR_K1, p);
}

static void
test_times (void)
{
  g_autofree char *t = timed_token ("\"exp\":1700000000");
  /* Just expired, within the leeway: still good. */
  g_autoptr (ScJwtClaims) c = assert_accepted_at (t, "sp1", NOW + 29);
  g_assert_cmpint (c->exp, ==, NOW);
  assert_rejected_at (t, "sp1", NOW + 30, "expired");
  assert_rejected_at (t, "sp1", NOW + 3600, "expired 3600 s ago");

  g_autofree char *fraction = timed_token ("\"exp\":1700000100.5");
  g_autoptr (ScJwtClaims) cf = assert_accepted_at (fraction, "sp1", NOW);
  g_assert_cmpint (cf->exp, ==, NOW + 100);

  g_autofree char *no_exp = timed_token ("\"iat\":1700000000");
  assert_rejected (no_exp, "\"exp\" claim is required");
  g_autofree char *str_exp = timed_token ("\"exp\":\"1800000000\"");
  assert_rejected (str_exp, "claim \"exp\" must be a number");
  g_autofree char *bool_exp = timed_token ("\"exp\":true");
  assert_rejected (bool_exp, "claim \"exp\" must be a number");

  g_autofree char *nbf_far = timed_token ("\"exp\":1700100000,"
                                          "\"nbf\":1700000060");
  assert_rejected (nbf_far, "not valid yet");
  g_autofree char *nbf_near = timed_token ("\"exp\":1700100000,"
                                           "\"nbf\":1700000020");
  g_autoptr (ScJwtClaims) cn = assert_accepted_at (nbf_near, "sp1", NOW);
  g_assert_nonnull (cn);

  g_autofree char *iat_far = timed_token ("\"exp\":1700100000,"
                                          "\"iat\":1700000600");
  assert_rejected (iat_far, "issued in the future");
  g_autofree char *iat_past = timed_token ("\"exp\":1700100000,"
                                           "\"iat\":1699990000");
  g_autoptr (ScJwtClaims) ci = assert_accepted_at (iat_past, "sp1", NOW);
  g_assert_nonnull (ci);
  g_autofree char *huge = timed_token ("\"exp\":9223372036854775807");
  assert_rejected (huge, "claim \"exp\" must be a number");
  g_autofree char *tiny = timed_token ("\"exp\":-9223372036854775807");
  assert_rejected (tiny, "claim \"exp\" must be a number");

  g_autofree char *iat_str = timed_token ("\"exp\":1700100000,\"iat\":\"x\"");
  assert_rejected (iat_str, "claim \"iat\" must be a number");
}


/* exp - iat is the lifetime; without iat, exp - now (with the clock-skew
 * leeway, as the signer's clock may be ahead).  0 lifts the limit. */
static void
test_lifetime (void)
{
  g_autofree char *week = g_strdup_printf (
      "{\"sub\":\"sp1\",\"aud\":\"rt\",\"iat\":%" G_GINT64_FORMAT ",\"exp\":%"
      G_GINT64_FORMAT "}", NOW, NOW + MAX_LIFETIME);
  g_autofree char *week_t = signed_token (HDR_K1, week);
  g_autoptr (ScJwtClaims) ok = assert_accepted_at (week_t, "sp1", NOW);

  g_autofree char *decade = g_strdup_printf (
      "{\"sub\":\"sp1\",\"aud\":\"rt\",\"iat\":%" G_GINT64_FORMAT ",\"exp\":%"
      G_GINT64_FORMAT "}", NOW, NOW + G_GINT64_CONSTANT (3650) * 86400);
  g_autofree char *decade_t = signed_token (HDR_K1, decade);
  assert_rejected (decade_t, "token lives too long: \"exp\" is 315360000 s after \"iat\"; "
                   "at most 604800 s");

  /* A week and a second, issued long ago but still unexpired: the
   * lifetime counts, not the time left. */
  g_autofree char *old = g_strdup_printf (
      "{\"sub\":\"sp1\",\"aud\":\"rt\",\"iat\":%" G_GINT64_FORMAT ",\"exp\":%"
      G_GINT64_FORMAT "}", NOW - MAX_LIFETIME, NOW + 1);
  g_autofree char *old_t = signed_token (HDR_K1, old);
  assert_rejected (old_t, "lives too long");

  /* No iat: what is left of it, plus the leeway. */
  g_autofree char *no_iat = g_strdup_printf (
      "{\"sub\":\"sp1\",\"aud\":\"rt\",\"exp\":%" G_GINT64_FORMAT "}",
      NOW + MAX_LIFETIME + SC_JWT_LEEWAY_S);
  g_autofree char *no_iat_t = signed_token (HDR_K1, no_iat);
  g_autoptr (ScJwtClaims) ok2 = assert_accepted_at (no_iat_t, "sp1", NOW);
  assert_rejected_at (no_iat_t, "sp1", NOW - 1, "s after now");

  /* The signing helper with a TTL over the limit makes such a token. */
  g_autoptr (GError) error = NULL;
  g_autofree char *long_t = sc_jwt_sign_space_token (key_a.priv_b64, "k1", "sp1", NULL, NULL,
                                                     MAX_LIFETIME + 60, TRUE, &error);
  g_assert_no_error (error);
  assert_rejected_at (long_t, "sp1", sc_core_now_unix (), "lives too long");

  g_autoptr (ScJwtClaims) unlimited =
      sc_jwt_verify_space_token (decade_t, "sp1", lookup, NULL, NOW, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (unlimited);
}

static void
test_audience (void)
{
  const char *exp = "\"exp\":1700100000";
  g_autofree char *v = g_strdup_printf ("{\"sub\":\"sp1\",\"aud\":\"v\",%s}",
                                        exp);
  assert_payload_rejected (v, "wrong audience");
  g_autofree char *none = g_strdup_printf ("{\"sub\":\"sp1\",%s}", exp);
  assert_payload_rejected (none, "wrong audience: token has no \"aud\"");
  g_autofree char *arr_no = g_strdup_printf (
      "{\"sub\":\"sp1\",\"aud\":[\"v\",\"t\"],%s}", exp);
  assert_payload_rejected (arr_no, "wrong audience");
  g_autofree char *num = g_strdup_printf ("{\"sub\":\"sp1\",\"aud\":1,%s}",
                                          exp);
  assert_payload_rejected (num, "\"aud\" must be a string or an array");

  g_autofree char *arr = g_strdup_printf (
      "{\"sub\":\"sp1\",\"aud\":[\"v\",\"rt\"],%s}", exp);
  g_autofree char *t = signed_token (HDR_K1, arr);
  g_autoptr (ScJwtClaims) c = assert_accepted_at (t, "sp1", NOW);
  g_assert_cmpstr (c->space_id, ==, "sp1");
}

static void
test_subject_role_participant (void)
{
  g_autofree char *p = payload_with (NULL);
  g_autofree char *t = signed_token (HDR_K1, p);
  assert_rejected_at (t, "sp2", NOW,
                      "wrong space: token is for space \"sp1\", not \"sp2\"");

  assert_payload_rejected ("{\"aud\":\"rt\",\"exp\":1700100000}",
                           "token has no \"sub\"");
  assert_payload_rejected ("{\"sub\":5,\"aud\":\"rt\",\"exp\":1700100000}",
                           "claim \"sub\" must be a string");

  g_autofree char *admin = payload_with ("\"role\":\"admin\"");
  assert_payload_rejected (admin, "invalid role \"admin\"");
  g_autofree char *role_num = payload_with ("\"role\":1");
  assert_payload_rejected (role_num, "claim \"role\" must be a string");
  g_autofree char *pub = payload_with ("\"role\":\"publisher\"");
  g_autofree char *pub_t = signed_token (HDR_K1, pub);
  g_autoptr (ScJwtClaims) cp = assert_accepted_at (pub_t, "sp1", NOW);
  g_assert_cmpint (cp->role, ==, SC_JWT_ROLE_PUBLISHER);

  g_autofree char *max_id = g_strnfill (255, 'p');
  g_autofree char *ok_extra = g_strdup_printf ("\"participant_id\":\"%s\"",
                                               max_id);
  g_autofree char *ok_p = payload_with (ok_extra);
  g_autofree char *ok_t = signed_token (HDR_K1, ok_p);
  g_autoptr (ScJwtClaims) c = assert_accepted_at (ok_t, "sp1", NOW);
  g_assert_cmpstr (c->participant_id, ==, max_id);

  g_autofree char *long_id = g_strnfill (256, 'p');
  g_autofree char *long_extra = g_strdup_printf ("\"participant_id\":\"%s\"",
                                                 long_id);
  g_autofree char *long_p = payload_with (long_extra);
  assert_payload_rejected (long_p, "invalid participant_id");
  g_autofree char *empty_p = payload_with ("\"participant_id\":\"\"");
  assert_payload_rejected (empty_p, "invalid participant_id");
  g_autofree char *ctl_p = payload_with ("\"participant_id\":\"a\\nb\"");
  assert_payload_rejected (ctl_p, "control characters");
  g_autofree char *num_p = payload_with ("\"participant_id\":42");
  assert_payload_rejected (num_p, "\"participant_id\" must be a string");
}

static void
test_malformed (void)
{
  g_autofree char *p = payload_with (NULL);
  g_autofree char *good = signed_token (HDR_K1, p);
  g_auto (GStrv) parts = g_strsplit (good, ".", -1);

  assert_rejected ("", "malformed token: empty");
  assert_rejected (NULL, "malformed token: empty");
  g_autofree char *two = g_strjoin (".", parts[0], parts[1], NULL);
  assert_rejected (two, "expected 3 dot-separated parts, found 2");
  g_autofree char *four = g_strconcat (good, ".", parts[2], NULL);
  assert_rejected (four, "found 4");
  assert_rejected ("not-a-token", "found 1");

  assert_rejected ("!!!.???.***", "header is not valid base64url");
  g_autofree char *bad_payload = g_strjoin (".", parts[0], "@@@@", parts[2],
                                            NULL);
  assert_rejected (bad_payload, "payload is not valid base64url");
  g_autofree char *bad_sig = g_strjoin (".", parts[0], parts[1], "a+b/c=",
                                        NULL);
  assert_rejected (bad_sig, "signature is not valid base64url");
  /* Padding is not part of base64url in JWS. */
  g_autofree char *padded = g_strconcat (parts[0], "==.", parts[1], ".",
                                         parts[2], NULL);
  assert_rejected (padded, "header is not valid base64url");

  g_autofree char *junk_h = b64url ("{not json");
  g_autofree char *junk = g_strjoin (".", junk_h, parts[1], parts[2], NULL);
  assert_rejected (junk, "header is not valid JSON");

  g_autofree char *arr_p = b64url ("[1,2,3]");
  g_autofree char *arr = g_strjoin (".", parts[0], arr_p, parts[2], NULL);
  assert_rejected (arr, "payload is not a JSON object");
  g_autofree char *str_h = b64url ("\"RS256\"");
  g_autofree char *str = g_strjoin (".", str_h, parts[1], parts[2], NULL);
  assert_rejected (str, "header is not a JSON object");
  g_autofree char *empty_seg = g_strjoin (".", parts[0], "", parts[2], NULL);
  assert_rejected (empty_seg, "payload is not valid JSON");

  /* A correctly signed array payload is still refused for its shape. */
  g_autofree char *signed_arr = signed_token (HDR_K1, "[\"sp1\"]");
  assert_rejected (signed_arr, "payload is not a JSON object");

  g_autofree char *huge = g_strnfill (SC_JWT_MAX_TOKEN_LEN + 1, 'a');
  assert_rejected (huge, "longer than");
}

static void
test_keys_and_signing (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_str_has_prefix (key_a.pub, "-----BEGIN PUBLIC KEY-----"));
  gsize n = 0;
  g_autofree guchar *pem = g_base64_decode (key_a.priv_b64, &n);
  g_autofree char *pem_s = g_strndup ((char *) pem, n);
  g_assert_true (g_str_has_prefix (pem_s, "-----BEGIN RSA PRIVATE KEY-----"));
  g_assert_cmpstr (key_a.pub, !=, key_b.pub);

  /* A plain PEM works as well as its base64. */
  g_autofree char *t = sc_jwt_sign_space_token (pem_s, "k1", "sp1", NULL,
                                                NULL, 60, TRUE, &error);
  g_assert_no_error (error);
  g_autoptr (ScJwtClaims) c = assert_accepted_at (t, "sp1",
                                                  sc_core_now_unix ());
  g_assert_cmpstr (c->kid, ==, "k1");

  const struct {
    const char *key, *kid, *space, *role, *pid;
    gint64 ttl;
    const char *expect;
  } bad[] = {
    { "bm90IGEga2V5", "k1", "sp1", NULL, NULL, 60, "not a base64-encoded PEM" },
    { "", "k1", "sp1", NULL, NULL, 60, "no signing private key" },
    { key_a.pub, "k1", "sp1", NULL, NULL, 60, "not a base64-encoded PEM" },
    { key_a.priv_b64, "", "sp1", NULL, NULL, 60, "kid" },
    { key_a.priv_b64, "k1", NULL, NULL, NULL, 60, "space id" },
    { key_a.priv_b64, "k1", "sp1", "admin", NULL, 60, "invalid role" },
    { key_a.priv_b64, "k1", "sp1", NULL, "", 60, "participant_id" },
    { key_a.priv_b64, "k1", "sp1", NULL, NULL, 0, "lifetime" },
    { key_a.priv_b64, "k1", "sp1", NULL, NULL, -5, "lifetime" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) e = NULL;
    g_autofree char *tok = sc_jwt_sign_space_token (
        bad[i].key, bad[i].kid, bad[i].space, bad[i].role, bad[i].pid,
        bad[i].ttl, TRUE, &e);
    g_assert_null (tok);
    g_assert_error (e, SC_ERROR, SC_ERROR_INVALID);
    if (strstr (e->message, bad[i].expect) == NULL)
      g_error ("case %u: expected \"%s\" in \"%s\"", i, bad[i].expect,
               e->message);
  }
}

static char *
pem_of (EVP_PKEY *pkey, int selection, const char *structure)
{
  OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey (
      pkey, selection, "PEM", structure, NULL);
  unsigned char *data = NULL;
  size_t len = 0;
  g_assert_nonnull (ectx);
  g_assert_cmpint (OSSL_ENCODER_to_data (ectx, &data, &len), ==, 1);
  OSSL_ENCODER_CTX_free (ectx);
  char *pem = g_strndup ((char *) data, len);
  OPENSSL_free (data);
  return pem;
}

static char *pkcs1_public;

static char *
lookup_pkcs1 (const char *kid, gpointer user_data, GError **error)
{
  return g_strdup (pkcs1_public);
}

static void
test_key_formats (void)
{
  /* Keys made elsewhere: PKCS#8 private, PKCS#1 public. */
  gsize n = 0;
  g_autofree guchar *pem = g_base64_decode (key_a.priv_b64, &n);
  BIO *bio = BIO_new_mem_buf (pem, (int) n);
  EVP_PKEY *pkey = PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL);
  BIO_free (bio);
  g_assert_nonnull (pkey);
  g_autofree char *pkcs8 = pem_of (pkey, EVP_PKEY_KEYPAIR, "PrivateKeyInfo");
  g_assert_true (g_str_has_prefix (pkcs8, "-----BEGIN PRIVATE KEY-----"));
  pkcs1_public = pem_of (pkey, EVP_PKEY_PUBLIC_KEY, "type-specific");
  g_assert_true (g_str_has_prefix (pkcs1_public,
                                   "-----BEGIN RSA PUBLIC KEY-----"));
  EVP_PKEY_free (pkey);

  g_autoptr (GError) error = NULL;
  g_autofree char *pkcs8_b64 = g_base64_encode ((guchar *) pkcs8,
                                                strlen (pkcs8));
  g_autofree char *t = sc_jwt_sign_space_token (pkcs8_b64, "any", "sp1",
                                                NULL, NULL, 60, TRUE, &error);
  g_assert_no_error (error);
  g_autoptr (ScJwtClaims) c = sc_jwt_verify_space_token (
      t, "sp1", lookup_pkcs1, NULL, sc_core_now_unix (), MAX_LIFETIME, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->kid, ==, "any");
  g_clear_pointer (&pkcs1_public, g_free);

  /* Keys too weak to trust are refused for signing. */
  EVP_PKEY *weak = EVP_RSA_gen (1024);
  g_assert_nonnull (weak);
  g_autofree char *weak_pem = pem_of (weak, EVP_PKEY_KEYPAIR, "PrivateKeyInfo");
  EVP_PKEY_free (weak);
  g_autofree char *weak_t = sc_jwt_sign_space_token (weak_pem, "k", "sp1",
                                                     NULL, NULL, 60, TRUE,
                                                     &error);
  g_assert_null (weak_t);
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "at least 2048 bits"));
}

static void
test_ttl (void)
{
  const struct { const char *text; gint64 secs; } good[] = {
    { "1h", 3600 }, { "30m", 1800 }, { "7d", 604800 }, { "90s", 90 },
    { "600", 600 }, { "2w", 1209600 }, { "3650d", 3650 * 86400 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr (GError) error = NULL;
    gint64 secs = -1;
    g_assert_true (sc_jwt_parse_ttl (good[i].text, &secs, &error));
    g_assert_no_error (error);
    g_assert_cmpint (secs, ==, good[i].secs);
  }

  const char *bad[] = { "", "h", "1x", "1h30m", "-5m", "0s", "0", " 1h",
                        "1h ", "1.5h", "3651d", "99999999999999999999999d" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    gint64 secs = -1;
    g_assert_false (sc_jwt_parse_ttl (bad[i], &secs, &error));
    g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
    g_assert_cmpint (secs, ==, -1);
  }
  g_autoptr (GError) error = NULL;
  gint64 secs = -1;
  g_assert_false (sc_jwt_parse_ttl (NULL, &secs, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_autoptr (GError) error = NULL;
  if (!sc_jwt_generate_keypair (&key_a.pub, &key_a.priv_b64, &error) ||
      !sc_jwt_generate_keypair (&key_b.pub, &key_b.priv_b64, &error))
    g_error ("key generation failed: %s", error->message);

  g_test_add_data_func ("/jwt/roundtrip/kid-in-header", GINT_TO_POINTER (TRUE),
                        test_roundtrip);
  g_test_add_data_func ("/jwt/roundtrip/kid-in-payload",
                        GINT_TO_POINTER (FALSE), test_roundtrip);
  g_test_add_func ("/jwt/defaults", test_defaults);
  g_test_add_func ("/jwt/bad-signature", test_bad_signature);
  g_test_add_func ("/jwt/algorithms", test_algorithms);
  g_test_add_func ("/jwt/kid", test_kid);
  g_test_add_func ("/jwt/times", test_times);
  g_test_add_func ("/jwt/lifetime", test_lifetime);
  g_test_add_func ("/jwt/audience", test_audience);
  g_test_add_func ("/jwt/subject-role-participant",
                   test_subject_role_participant);
  g_test_add_func ("/jwt/malformed", test_malformed);
  g_test_add_func ("/jwt/keys-and-signing", test_keys_and_signing);
  g_test_add_func ("/jwt/key-formats", test_key_formats);
  g_test_add_func ("/jwt/ttl", test_ttl);

  int rc = g_test_run ();
  g_free (key_a.pub);
  g_free (key_a.priv_b64);
  g_free (key_b.pub);
  g_free (key_b.priv_b64);
  return rc;
}
