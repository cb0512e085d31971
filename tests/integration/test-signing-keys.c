/* Signing keys under both prefixes, and `spacecast sign` with a created key. */
#include "harness.h"

#include <string.h>

static ScHarness *h;

static void
check_prefix (gconstpointer data)
{
  const char *base = data;
  g_autoptr (ScResponse) c = sc_harness_request (h, "POST", base, NULL);
  g_assert_cmpuint (c->status, ==, 201);
  const char *id = sc_response_str (c, "id");
  const char *priv = sc_response_str (c, "private_key");
  g_assert_nonnull (id);
  g_assert_nonnull (sc_response_str (c, "created_at"));
  gsize len;
  g_autofree guchar *pem = g_base64_decode (priv, &len);
  g_assert_nonnull (g_strstr_len ((char *) pem, len, "-----BEGIN"));
  g_assert_nonnull (g_strstr_len ((char *) pem, len, "PRIVATE KEY-----"));

  g_autofree char *path = g_strdup_printf ("%s/%s", base, id);
  g_autoptr (ScResponse) g = sc_harness_request (h, "GET", path, NULL);
  g_assert_cmpuint (g->status, ==, 200);
  g_assert_cmpstr (sc_response_str (g, "id"), ==, id);
  g_assert_null (sc_response_str (g, "private_key"));   /* only at creation */

  g_autoptr (ScResponse) l = sc_harness_request (h, "GET", base, NULL);
  g_assert_cmpuint (l->status, ==, 200);
  gboolean found = FALSE;
  JsonArray *arr = sc_response_data_array (l);
  for (guint i = 0; i < json_array_get_length (arr); i++) {
    JsonObject *o = json_array_get_object_element (arr, i);
    g_assert_false (json_object_has_member (o, "private_key"));
    found |= g_str_equal (json_object_get_string_member (o, "id"), id);
  }
  g_assert_true (found);

  /* `spacecast sign` makes a token this key verifies. */
  g_autofree char *kid_arg = g_strdup_printf ("--key-id=%s", id);
  g_autofree char *key_arg = g_strdup_printf ("--private-key=%s", priv);
  const char *argv[] = { g_getenv ("SC_DAEMON"), "sign", "--space=SPACE1", kid_arg, key_arg,
                         "--role=subscriber", "--participant-id=alice", "--ttl=10m", NULL };
  g_autofree char *out = NULL;
  g_assert_cmpint (sc_harness_run (&out, argv), ==, 0);
  g_strstrip (out);
  g_auto (GStrv) parts = g_strsplit (out, ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);

  g_autoptr (ScResponse) bad = sc_harness_request (h, "POST", base, "{\"name\":\"x\"}");
  g_assert_cmpuint (bad->status, ==, 400);

  g_autoptr (ScResponse) d = sc_harness_request (h, "DELETE", path, NULL);
  g_assert_cmpuint (d->status, ==, 204);
  g_autoptr (ScResponse) g2 = sc_harness_request (h, "GET", path, NULL);
  g_assert_cmpuint (g2->status, ==, 404);
  g_autoptr (ScResponse) d2 = sc_harness_request (h, "DELETE", path, NULL);
  g_assert_cmpuint (d2->status, ==, 404);
  g_autofree char *missing = g_strdup_printf ("%s/nope", base);
  g_autoptr (ScResponse) g3 = sc_harness_request (h, "GET", missing, NULL);
  g_assert_cmpuint (g3->status, ==, 404);
  g_autoptr (ScResponse) noauth = sc_harness_raw (h, "POST", base, NULL, NULL, 0, NULL);
  g_assert_cmpuint (noauth->status, ==, 401);
}

static void
test_sign_cli_errors (void)
{
  g_autofree char *out = NULL;
  const char *argv[] = { g_getenv ("SC_DAEMON"), "sign", "--space=S", NULL };
  g_assert_cmpint (sc_harness_run (&out, argv), ==, 2);
  g_assert_nonnull (strstr (out, "required"));
  g_free (g_steal_pointer (&out));
  const char *argv2[] = { g_getenv ("SC_DAEMON"), "sign", "--space=S", "--key-id=K",
                          "--private-key=bm90IGEga2V5", NULL };
  g_assert_cmpint (sc_harness_run (&out, argv2), !=, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  h = sc_harness_start (NULL);
  g_test_add_data_func ("/signing-keys/system", "/system/v1/signing-keys", check_prefix);
  g_test_add_data_func ("/signing-keys/video", "/video/v1/signing-keys", check_prefix);
  g_test_add_func ("/signing-keys/sign-cli-errors", test_sign_cli_errors);
  int rc = g_test_run ();
  sc_harness_free (h);
  return rc;
}
