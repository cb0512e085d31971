/* Space JWT parsing and verification.  The first byte picks what the rest
 * is: 0, a token as a client sends it (never validly signed, so this covers
 * everything before and at the signature); 1, "header JSON \n payload JSON"
 * that the harness signs with the one key, so the claim checks see any
 * claims; else a TTL for sc_jwt_parse_ttl. */
#include "fuzz-common.h"
#include "spacecast/jwt.h"

#define NOW G_GINT64_CONSTANT (1700000000)
#define MAX_LIFETIME_S (7 * 86400)

static char *public_pem, *private_b64;

static char *
lookup (const char *kid, gpointer user_data, GError **error)
{
  if (g_str_equal (kid, "k1"))
    return g_strdup (public_pem);
  if (g_str_equal (kid, "deleted"))
    g_set_error_literal (error, g_quark_from_static_string ("fuzz"), 1, "deleted");
  return NULL;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  sc_fuzz_init_logging ();
  g_autoptr (GError) error = NULL;
  if (!sc_jwt_generate_keypair (&public_pem, &private_b64, &error))
    g_error ("no key pair: %s", error->message);
  return 0;
}

static void
verify (const char *token)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScJwtClaims) claims = sc_jwt_verify_space_token (token, "space1", lookup, NULL,
                                                              NOW, MAX_LIFETIME_S, &error);
  g_assert_true ((claims == NULL) != (error == NULL));
  if (claims != NULL) {
    g_assert_cmpstr (claims->space_id, ==, "space1");
    g_assert_cmpstr (claims->kid, ==, "k1");
    g_assert_cmpint (claims->exp, >, NOW - SC_JWT_LEEWAY_S);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  g_autofree char *text = sc_fuzz_text (data + 1, size - 1);
  if (text == NULL)
    return 0;

  if (data[0] == 0) {
    verify (text);
  } else if (data[0] == 1) {
    char *nl = strchr (text, '\n');
    if (nl == NULL)
      return 0;
    *nl = '\0';
    g_autoptr (GError) error = NULL;
    g_autofree char *token = sc_jwt_sign_rs256 (private_b64, text, nl + 1, &error);
    if (token != NULL)
      verify (token);
  } else {
    gint64 ttl = 0;
    g_autoptr (GError) error = NULL;
    if (sc_jwt_parse_ttl (text, &ttl, &error))
      g_assert_true (ttl > 0 && ttl <= SC_JWT_MAX_TTL_S);
  }
  return 0;
}
