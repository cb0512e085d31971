/* Playback tokens: what Mux's SDKs sign opens, and every rule that shuts a
 * token out says so with a 403. */
#include "spacecast/core.h"
#include "spacecast/jwt.h"

#include <string.h>

#define NOW G_GINT64_CONSTANT (1700000000)

static char *pub_a, *priv_a, *pub_b, *priv_b;

/* k1 → key A, k2 → key B, gone → deleted, broken → the store fails. */
static char *
lookup (const char *kid, gpointer user_data, GError **error)
{
  if (strcmp (kid, "k1") == 0)
    return g_strdup (pub_a);
  if (strcmp (kid, "k2") == 0)
    return g_strdup (pub_b);
  if (strcmp (kid, "gone") == 0)
    g_set_error (error, SC_ERROR, SC_ERROR_NOT_FOUND, "deleted");
  if (strcmp (kid, "broken") == 0)
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "database is locked");
  return NULL;
}

/* Key A over the payload sub = pb1 with @claims, kid k1 in the payload, as
 * mux.jwt.signPlaybackId puts it. */
static char *
token_with (const char *priv, const char *claims)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *payload = g_strdup_printf ("{\"kid\":\"k1\",\"sub\":\"pb1\",%s}", claims);
  char *t = sc_jwt_sign_rs256 (priv, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload, &error);
  g_assert_no_error (error);
  return t;
}

static ScJwtPlaybackClaims *
verify (const char *token, const char *playback_id, ScJwtPlaybackType type, GError **error)
{
  return sc_jwt_verify_playback_token (token, playback_id, type, lookup, NULL, NOW, error);
}

static void
assert_refused (const char *token, const char *playback_id, ScJwtPlaybackType type,
                const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScJwtPlaybackClaims) c = verify (token, playback_id, type, &error);
  g_assert_null (c);
  g_assert_error (error, SC_ERROR, SC_ERROR_FORBIDDEN);
  if (!strstr (error->message, needle))
    g_error ("refusal \"%s\" does not say \"%s\"", error->message, needle);
}

static void
test_valid (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *video = token_with (priv_a, "\"aud\":\"v\",\"exp\":1700003600");
  g_autoptr (ScJwtPlaybackClaims) c = verify (video, "pb1", SC_JWT_PLAYBACK_VIDEO, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->playback_id, ==, "pb1");
  g_assert_cmpstr (c->kid, ==, "k1");
  g_assert_cmpint (c->exp, ==, 1700003600);
  g_assert_cmpuint (g_hash_table_size (c->params), ==, 0);

  /* kid in the header works as well, and an aud array holding ours. */
  g_autofree char *in_header = sc_jwt_sign_rs256 (
      priv_a, "{\"alg\":\"RS256\",\"kid\":\"k1\"}",
      "{\"sub\":\"pb1\",\"aud\":[\"x\",\"t\"],\"exp\":1700003600.5}", &error);
  g_assert_no_error (error);
  g_autoptr (ScJwtPlaybackClaims) t = verify (in_header, "pb1", SC_JWT_PLAYBACK_THUMBNAIL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (t->exp, ==, 1700003600);
}

static void
test_params (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *token = token_with (priv_a, "\"aud\":\"t\",\"exp\":1700003600,"
                                               "\"time\":\"2.5\",\"width\":320,\"iat\":1699990000");
  g_autoptr (ScJwtPlaybackClaims) c = verify (token, "pb1", SC_JWT_PLAYBACK_THUMBNAIL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (c->params, "time"), ==, "2.5");
  g_assert_cmpstr (g_hash_table_lookup (c->params, "width"), ==, "320");
  /* Registered claims are not parameters. */
  g_assert_null (g_hash_table_lookup (c->params, "iat"));
  g_assert_null (g_hash_table_lookup (c->params, "kid"));
  g_assert_cmpuint (g_hash_table_size (c->params), ==, 2);

  g_autofree char *object = token_with (priv_a, "\"aud\":\"t\",\"exp\":1700003600,\"time\":{}");
  assert_refused (object, "pb1", SC_JWT_PLAYBACK_THUMBNAIL, "\"time\" must be a string or a number");
  g_autofree char *restricted = token_with (priv_a, "\"aud\":\"v\",\"exp\":1700003600,"
                                                    "\"playback_restriction_id\":\"r1\"");
  assert_refused (restricted, "pb1", SC_JWT_PLAYBACK_VIDEO, "playback restriction");
}

static void
test_refusals (void)
{
  g_autofree char *video = token_with (priv_a, "\"aud\":\"v\",\"exp\":1700003600");
  assert_refused (video, "pb2", SC_JWT_PLAYBACK_VIDEO,
                  "token is for playback id \"pb1\", not \"pb2\"");
  assert_refused (video, "pb1", SC_JWT_PLAYBACK_THUMBNAIL,
                  "token is for \"v\" (video); thumbnail playback needs \"t\"");

  g_autofree char *gif = token_with (priv_a, "\"aud\":\"g\",\"exp\":1700003600");
  assert_refused (gif, "pb1", SC_JWT_PLAYBACK_THUMBNAIL, "\"g\" (gif)");
  g_autofree char *no_aud = token_with (priv_a, "\"exp\":1700003600");
  assert_refused (no_aud, "pb1", SC_JWT_PLAYBACK_VIDEO, "no \"aud\"");

  g_autofree char *expired = token_with (priv_a, "\"aud\":\"v\",\"exp\":1699999000");
  assert_refused (expired, "pb1", SC_JWT_PLAYBACK_VIDEO, "token expired 1000 s ago");
  g_autofree char *no_exp = token_with (priv_a, "\"aud\":\"v\"");
  assert_refused (no_exp, "pb1", SC_JWT_PLAYBACK_VIDEO, "\"exp\" claim is required");
  g_autofree char *early = token_with (priv_a, "\"aud\":\"v\",\"exp\":1700003600,\"nbf\":1700000600");
  assert_refused (early, "pb1", SC_JWT_PLAYBACK_VIDEO, "not valid yet");

  /* Signed by key B while naming k1. */
  g_autofree char *forged = token_with (priv_b, "\"aud\":\"v\",\"exp\":1700003600");
  assert_refused (forged, "pb1", SC_JWT_PLAYBACK_VIDEO, "bad signature");
  assert_refused ("not-a-token", "pb1", SC_JWT_PLAYBACK_VIDEO, "malformed token");
  assert_refused ("", "pb1", SC_JWT_PLAYBACK_VIDEO, "malformed token");

  g_autoptr (GError) error = NULL;
  g_autofree char *unknown = sc_jwt_sign_rs256 (priv_a, "{\"alg\":\"RS256\",\"kid\":\"k9\"}",
                                                "{\"sub\":\"pb1\",\"aud\":\"v\",\"exp\":1700003600}",
                                                &error);
  assert_refused (unknown, "pb1", SC_JWT_PLAYBACK_VIDEO, "unknown signing key \"k9\"");
  g_autofree char *gone = sc_jwt_sign_rs256 (priv_a, "{\"alg\":\"RS256\",\"kid\":\"gone\"}",
                                             "{\"sub\":\"pb1\",\"aud\":\"v\",\"exp\":1700003600}",
                                             &error);
  assert_refused (gone, "pb1", SC_JWT_PLAYBACK_VIDEO, "has been deleted");
}

/* A store that fails is a server fault, not the client's bad token. */
static void
test_store_failure (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *token = sc_jwt_sign_rs256 (priv_a, "{\"alg\":\"RS256\",\"kid\":\"broken\"}",
                                              "{\"sub\":\"pb1\",\"aud\":\"v\",\"exp\":1700003600}",
                                              &error);
  g_autoptr (ScJwtPlaybackClaims) c = verify (token, "pb1", SC_JWT_PLAYBACK_VIDEO, &error);
  g_assert_null (c);
  g_assert_error (error, SC_ERROR, SC_ERROR_INTERNAL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_jwt_generate_keypair (&pub_a, &priv_a, &error));
  g_assert_true (sc_jwt_generate_keypair (&pub_b, &priv_b, &error));
  g_test_add_func ("/jwt-playback/valid", test_valid);
  g_test_add_func ("/jwt-playback/params", test_params);
  g_test_add_func ("/jwt-playback/refusals", test_refusals);
  g_test_add_func ("/jwt-playback/store-failure", test_store_failure);
  int rc = g_test_run ();
  g_free (pub_a);
  g_free (priv_a);
  g_free (pub_b);
  g_free (priv_b);
  return rc;
}
