/* Test harness: broadcasts through the API. */
#include "harness.h"

#include <string.h>

/* ---- broadcasts ---------------------------------------------------------- */

char *
sc_harness_sign (ScHarness *h, const char *space_id, const char *key_id,
                 const char *private_key, const char *participant_id)
{
  char *token = NULL;
  const char *argv[] = { g_getenv ("SC_DAEMON"), "sign", "--space", space_id, "--key-id", key_id,
                         "--private-key", private_key, "--participant-id", participant_id, NULL };
  g_assert_cmpint (sc_harness_run (&token, argv), ==, 0);
  return g_strstrip (token);
}

char *
sc_harness_create_broadcast (ScHarness *h, const char *space_id, const char *live_stream_id,
                             const char *layout)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s/broadcasts", space_id);
  g_autofree char *body = g_strdup_printf ("{\"live_stream_id\":\"%s\",\"layout\":\"%s\","
                                           "\"resolution\":\"1280x720\"}", live_stream_id, layout);
  g_autoptr (ScResponse) r = sc_harness_request (h, "POST", path, body);
  g_assert_cmpuint (r->status, ==, 201);
  return g_strdup (sc_response_str (r, "id"));
}

guint
sc_harness_broadcast_action (ScHarness *h, const char *space_id, const char *b,
                             const char *action)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s/broadcasts/%s/%s",
                                           space_id, b, action);
  g_autoptr (ScResponse) r = sc_harness_request (h, "POST", path, "{}");
  return r->status;
}

JsonObject *
sc_harness_wait_broadcast_running (ScHarness *h, const char *space_id, const char *b,
                                   double timeout_s)
{
  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s/broadcasts/%s", space_id, b);
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  for (;;) {
    JsonObject *d = sc_harness_get_data (h, path);
    JsonObject *hl = d && json_object_has_member (d, "health")
        ? json_object_get_object_member (d, "health") : NULL;
    if (hl && g_str_equal (json_object_get_string_member (hl, "state"), "running") &&
        json_object_get_int_member (hl, "frames_out") > 0)
      return d;
    g_clear_pointer (&d, json_object_unref);
    if (g_get_monotonic_time () > deadline)
      g_error ("broadcast %s: health never running within %.0f s", b, timeout_s);
    g_usleep (100 * 1000);
  }
}
