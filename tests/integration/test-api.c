/* The control API against the real daemon: every route, every error. */
#include "harness.h"

#include <glib/gstdio.h>
#include <string.h>

static ScHarness *h;

#define REQ(method, path, body) sc_harness_request (h, method, path, body)

static void
assert_error (ScResponse *r, guint status, const char *type, const char *needle)
{
  if (r->status != status) {
    g_autofree char *body = g_strndup (g_bytes_get_data (r->body, NULL), g_bytes_get_size (r->body));
    g_error ("expected %u, got %u: %s", status, r->status, body);
  }
  g_assert_cmpstr (sc_response_error_type (r), ==, type);
  g_autofree char *text = sc_response_error_text (r);
  if (needle && !g_strrstr (text, needle))
    g_error ("error \"%s\" does not mention \"%s\"", text, needle);
}

static char *
create_live_stream (const char *body)
{
  g_autoptr (ScResponse) r = REQ ("POST", "/video/v1/live-streams", body);
  g_assert_cmpuint (r->status, ==, 201);
  return g_strdup (sc_response_str (r, "id"));
}

static guint
list_length (const char *path)
{
  g_autoptr (ScResponse) r = REQ ("GET", path, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  return json_array_get_length (sc_response_data_array (r));
}

static void
test_healthz_and_auth (void)
{
  g_autoptr (ScResponse) ok = sc_harness_raw (h, "GET", "/healthz", NULL, NULL, 0, NULL);
  g_assert_cmpuint (ok->status, ==, 200);

  g_autoptr (ScResponse) none = sc_harness_raw (h, "GET", "/video/v1/live-streams", NULL, NULL, 0, NULL);
  assert_error (none, 401, "unauthorized", NULL);
  g_assert_nonnull (soup_message_headers_get_one (none->headers, "WWW-Authenticate"));

  g_autofree char *bad = g_strdup_printf ("Basic %s", "dGVzdC10b2tlbi1pZDp3cm9uZw=="); /* test-token-id:wrong */
  g_autoptr (ScResponse) wrong = sc_harness_raw (h, "GET", "/video/v1/live-streams", NULL, NULL, 0, bad);
  assert_error (wrong, 401, "unauthorized", NULL);
  g_autoptr (ScResponse) garbage = sc_harness_raw (h, "GET", "/video/v1/spaces", NULL, NULL, 0, "Basic !!!");
  assert_error (garbage, 401, "unauthorized", NULL);
  g_autoptr (ScResponse) bearer = sc_harness_raw (h, "GET", "/video/v1/assets", NULL, NULL, 0, "Bearer x");
  assert_error (bearer, 401, "unauthorized", NULL);
  /* A wrong credential changes nothing. */
  g_autoptr (ScResponse) post = sc_harness_raw (h, "POST", "/video/v1/live-streams", "application/json",
                                                "{}", 2, bad);
  assert_error (post, 401, "unauthorized", NULL);
}

static void
test_live_stream_lifecycle (void)
{
  g_autoptr (ScResponse) c = REQ ("POST", "/video/v1/live-streams",
      "{\"playback_policies\":[\"public\"],\"new_asset_settings\":{\"playback_policies\":[\"public\"]},"
      "\"passthrough\":\"hello\",\"reconnect_window\":30,\"latency_mode\":\"reduced\"}");
  g_assert_cmpuint (c->status, ==, 201);
  JsonObject *d = sc_response_data (c);
  const char *id = json_object_get_string_member (d, "id");
  g_autofree char *key = g_strdup (json_object_get_string_member (d, "stream_key"));
  g_assert_cmpstr (json_object_get_string_member (d, "status"), ==, "idle");
  g_assert_cmpint (json_object_get_int_member (d, "reconnect_window"), ==, 30);
  g_assert_cmpint (json_object_get_int_member (d, "max_continuous_duration"), ==, 43200);
  g_assert_cmpstr (json_object_get_string_member (d, "passthrough"), ==, "hello");
  g_assert_true (JSON_NODE_HOLDS_VALUE (json_object_get_member (d, "created_at")));
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (d, "created_at")), ==, G_TYPE_STRING);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (d, "playback_ids")), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (d, "recent_asset_ids")), ==, 0);
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s", id);

  g_autoptr (ScResponse) g = REQ ("GET", path, NULL);
  g_assert_cmpuint (g->status, ==, 200);
  g_assert_cmpstr (sc_response_str (g, "stream_key"), ==, key);

  /* Filter by key and status. */
  g_autofree char *by_key = g_strdup_printf ("/video/v1/live-streams?stream_key=%s", key);
  g_assert_cmpuint (list_length (by_key), ==, 1);
  g_assert_cmpuint (list_length ("/video/v1/live-streams?stream_key=nope"), ==, 0);

  g_autoptr (ScResponse) p = REQ ("PATCH", path, "{\"reconnect_window\":90,\"passthrough\":\"bye\"}");
  g_assert_cmpuint (p->status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (sc_response_data (p), "reconnect_window"), ==, 90);

  g_autofree char *disable = g_strconcat (path, "/disable", NULL);
  g_autoptr (ScResponse) dis = REQ ("PUT", disable, NULL);
  g_assert_cmpuint (dis->status, ==, 200);
  g_assert_nonnull (sc_response_data (dis));
  g_autoptr (ScResponse) g2 = REQ ("GET", path, NULL);
  g_assert_cmpstr (sc_response_str (g2, "status"), ==, "disabled");
  g_assert_cmpuint (list_length ("/video/v1/live-streams?status=disabled"), >=, 1);

  g_autofree char *enable = g_strconcat (path, "/enable", NULL);
  g_autoptr (ScResponse) en = REQ ("PUT", enable, NULL);
  g_assert_cmpuint (en->status, ==, 200);
  g_autoptr (ScResponse) g3 = REQ ("GET", path, NULL);
  g_assert_cmpstr (sc_response_str (g3, "status"), ==, "idle");

  g_autofree char *reset = g_strconcat (path, "/reset-stream-key", NULL);
  g_autoptr (ScResponse) rs = REQ ("POST", reset, NULL);
  g_assert_cmpuint (rs->status, ==, 201);
  g_assert_cmpstr (sc_response_str (rs, "stream_key"), !=, key);
  g_assert_cmpuint (list_length (by_key), ==, 0);

  g_autofree char *complete = g_strconcat (path, "/complete", NULL);
  g_autoptr (ScResponse) co = REQ ("PUT", complete, NULL);
  g_assert_cmpuint (co->status, ==, 200);

  /* Playback ids sub-resource. */
  g_autofree char *pids = g_strconcat (path, "/playback-ids", NULL);
  g_autoptr (ScResponse) pa = REQ ("POST", pids, "{\"policy\":\"signed\"}");
  g_assert_cmpuint (pa->status, ==, 201);
  g_autofree char *pid_path = g_strdup_printf ("%s/%s", pids, sc_response_str (pa, "id"));
  g_autoptr (ScResponse) pg = REQ ("GET", pid_path, NULL);
  g_assert_cmpstr (sc_response_str (pg, "policy"), ==, "signed");
  g_autoptr (ScResponse) pb = REQ ("POST", pids, "{\"policy\":\"open\"}");
  assert_error (pb, 400, "invalid_parameters", "policy");
  g_autoptr (ScResponse) pd = REQ ("DELETE", pid_path, NULL);
  g_assert_cmpuint (pd->status, ==, 204);
  g_autoptr (ScResponse) pg2 = REQ ("GET", pid_path, NULL);
  assert_error (pg2, 404, "not_found", NULL);

  g_autoptr (ScResponse) del = REQ ("DELETE", path, NULL);
  g_assert_cmpuint (del->status, ==, 204);
  g_autoptr (ScResponse) gone = REQ ("GET", path, NULL);
  assert_error (gone, 404, "not_found", NULL);
  g_autoptr (ScResponse) del2 = REQ ("DELETE", path, NULL);
  assert_error (del2, 404, "not_found", NULL);
}

static void
test_live_stream_bad_input (void)
{
  g_autofree char *id = create_live_stream ("{\"passthrough\":\"keep\"}");
  g_autofree char *path = g_strdup_printf ("/video/v1/live-streams/%s", id);
  guint before = list_length ("/video/v1/live-streams?limit=100");
  struct { const char *body; const char *field; } bad[] = {
    { "{\"reconnect_window\": 1801}", "reconnect_window" },
    { "{\"reconnect_window\": \"x\"}", "reconnect_window" },
    { "{\"max_continuous_duration\": 10}", "max_continuous_duration" },
    { "{\"latency_mode\": \"ultra\"}", "latency_mode" },
    { "{\"playback_policies\": [\"nope\"]}", "playback_policies" },
    { "{\"passthrough\": 5}", "passthrough" },
    { "{\"audio_only\": \"yes\"}", "audio_only" },
    { "{\"unknown_field\": 1}", "unknown_field" },
    { "[1,2]", "JSON object" },
    { "{\"reconnect_window\": ", "malformed JSON" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (ScResponse) r = REQ ("POST", "/video/v1/live-streams", bad[i].body);
    assert_error (r, 400, "invalid_parameters", bad[i].field);
    g_autoptr (ScResponse) p = REQ ("PATCH", path, bad[i].body);
    g_assert_cmpuint (p->status, ==, 400);
  }
  g_assert_cmpuint (list_length ("/video/v1/live-streams?limit=100"), ==, before);
  g_autoptr (ScResponse) g = REQ ("GET", path, NULL);
  g_assert_cmpstr (sc_response_str (g, "passthrough"), ==, "keep");

  g_autoptr (ScResponse) ro = REQ ("PATCH", path, "{\"stream_key\":\"mine\"}");
  assert_error (ro, 400, "invalid_parameters", "stream_key");

  /* Wrong content type, oversized body. */
  g_autofree char *auth_creds = g_strdup_printf ("%s:%s", h->token_id, h->token_secret);
  g_autofree char *b64 = g_base64_encode ((guchar *) auth_creds, strlen (auth_creds));
  g_autofree char *auth = g_strconcat ("Basic ", b64, NULL);
  g_autoptr (ScResponse) ct = sc_harness_raw (h, "POST", "/video/v1/live-streams", "text/plain",
                                              "{}", 2, auth);
  assert_error (ct, 415, "unsupported_media_type", "application/json");
  gsize big_len = 1024 * 1024 + 10;
  g_autofree char *big = g_malloc (big_len);
  memset (big, ' ', big_len);
  big[0] = '{';
  big[big_len - 1] = '}';
  g_autoptr (ScResponse) tl = sc_harness_raw (h, "POST", "/video/v1/live-streams",
                                              "application/json", big, big_len, auth);
  g_assert_cmpuint (tl->status, ==, 413);
  g_assert_cmpuint (list_length ("/video/v1/live-streams?limit=100"), ==, before);

  /* Unknown ids on every live-stream route. */
  const char *routes[][2] = {
    { "GET", "/video/v1/live-streams/nope" }, { "PATCH", "/video/v1/live-streams/nope" },
    { "DELETE", "/video/v1/live-streams/nope" }, { "PUT", "/video/v1/live-streams/nope/enable" },
    { "PUT", "/video/v1/live-streams/nope/disable" }, { "PUT", "/video/v1/live-streams/nope/complete" },
    { "POST", "/video/v1/live-streams/nope/reset-stream-key" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++) {
    g_autoptr (ScResponse) r = REQ (routes[i][0], routes[i][1], NULL);
    assert_error (r, 404, "not_found", NULL);
  }
  g_autoptr (ScResponse) st = REQ ("GET", "/video/v1/live-streams?status=busy", NULL);
  assert_error (st, 400, "invalid_parameters", "status");
  g_autoptr (ScResponse) unknown = REQ ("GET", "/video/v1/nothing-here", NULL);
  assert_error (unknown, 404, "not_found", NULL);
  g_autoptr (ScResponse) method = REQ ("PUT", "/video/v1/live-streams", NULL);
  g_assert_cmpuint (method->status, ==, 405);
}

static void
test_pagination (void)
{
  for (int i = 0; i < 7; i++)
    g_free (create_live_stream ("{}"));
  g_assert_cmpuint (list_length ("/video/v1/live-streams?limit=3"), ==, 3);
  guint total = list_length ("/video/v1/live-streams?limit=100");
  g_assert_cmpuint (total, >=, 7);
  g_autofree char *last = g_strdup_printf ("/video/v1/live-streams?limit=3&page=%u", (total + 2) / 3);
  g_assert_cmpuint (list_length (last), ==, total % 3 ? total % 3 : 3);
  g_autofree char *past = g_strdup_printf ("/video/v1/live-streams?limit=3&page=%u", total + 1);
  g_assert_cmpuint (list_length (past), ==, 0);

  /* Pages do not overlap. */
  g_autoptr (ScResponse) p1 = REQ ("GET", "/video/v1/live-streams?limit=2&page=1", NULL);
  g_autoptr (ScResponse) p2 = REQ ("GET", "/video/v1/live-streams?limit=2&page=2", NULL);
  const char *a = json_object_get_string_member (json_array_get_object_element (sc_response_data_array (p1), 1), "id");
  const char *b = json_object_get_string_member (json_array_get_object_element (sc_response_data_array (p2), 0), "id");
  g_assert_cmpstr (a, !=, b);

  const char *bad[] = { "limit=0", "limit=101", "limit=abc", "page=0", "page=-1" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    const char *lists[] = { "/video/v1/live-streams", "/video/v1/spaces", "/video/v1/assets" };
    for (guint j = 0; j < G_N_ELEMENTS (lists); j++) {
      g_autofree char *p = g_strdup_printf ("%s?%s", lists[j], bad[i]);
      g_autoptr (ScResponse) r = REQ ("GET", p, NULL);
      assert_error (r, 400, "invalid_parameters", bad[i][0] == 'l' ? "limit" : "page");
    }
  }
}

static void
test_spaces (void)
{
  g_autofree char *ls = create_live_stream ("{}");
  g_autofree char *body = g_strdup_printf (
      "{\"type\":\"server\",\"passthrough\":\"room\",\"broadcasts\":[{\"live_stream_id\":\"%s\","
      "\"layout\":\"crop\",\"resolution\":\"1280x720\"}]}", ls);
  g_autoptr (ScResponse) c = REQ ("POST", "/video/v1/spaces", body);
  g_assert_cmpuint (c->status, ==, 201);
  JsonObject *d = sc_response_data (c);
  const char *id = json_object_get_string_member (d, "id");
  g_assert_cmpstr (json_object_get_string_member (d, "status"), ==, "idle");
  g_assert_cmpstr (json_object_get_string_member (d, "type"), ==, "server");
  g_assert_false (json_object_has_member (d, "active_session_id"));
  JsonArray *bs = json_object_get_array_member (d, "broadcasts");
  g_assert_cmpuint (json_array_get_length (bs), ==, 1);
  JsonObject *b = json_array_get_object_element (bs, 0);
  g_assert_cmpstr (json_object_get_string_member (b, "layout"), ==, "crop");
  g_assert_cmpstr (json_object_get_string_member (b, "status"), ==, "idle");
  g_assert_false (json_object_has_member (b, "_space_id"));
  g_autofree char *bid = g_strdup (json_object_get_string_member (b, "id"));
  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s", id);

  g_autoptr (ScResponse) g = REQ ("GET", path, NULL);
  g_assert_cmpuint (g->status, ==, 200);
  g_assert_cmpstr (sc_response_str (g, "passthrough"), ==, "room");
  g_assert_cmpuint (list_length ("/video/v1/spaces"), >=, 1);

  /* Broadcasts as sub-resources. */
  g_autofree char *bpath = g_strdup_printf ("%s/broadcasts/%s", path, bid);
  g_autoptr (ScResponse) bg = REQ ("GET", bpath, NULL);
  g_assert_cmpuint (bg->status, ==, 200);
  g_assert_cmpstr (sc_response_str (bg, "live_stream_id"), ==, ls);
  g_autofree char *bcoll = g_strdup_printf ("%s/broadcasts", path);
  g_autofree char *b2 = g_strdup_printf ("{\"live_stream_id\":\"%s\"}", ls);
  g_autoptr (ScResponse) bc = REQ ("POST", bcoll, b2);
  g_assert_cmpuint (bc->status, ==, 201);
  g_assert_cmpstr (sc_response_str (bc, "layout"), ==, "gallery");
  g_assert_cmpstr (sc_response_str (bc, "resolution"), ==, "1920x1080");
  g_autoptr (ScResponse) bmissing = REQ ("POST", bcoll, "{\"live_stream_id\":\"nope\"}");
  assert_error (bmissing, 400, "invalid_parameters", "live_stream_id");
  g_autoptr (ScResponse) bnols = REQ ("POST", bcoll, "{}");
  assert_error (bnols, 400, "invalid_parameters", "live_stream_id");
  g_autoptr (ScResponse) blayout = REQ ("POST", bcoll, "{\"live_stream_id\":\"x\",\"layout\":\"grid\"}");
  assert_error (blayout, 400, "invalid_parameters", "layout");
  g_autoptr (ScResponse) bdel = REQ ("DELETE", bpath, NULL);
  g_assert_cmpuint (bdel->status, ==, 204);
  g_autoptr (ScResponse) bgone = REQ ("GET", bpath, NULL);
  assert_error (bgone, 404, "not_found", NULL);

  /* Bad spaces change nothing. */
  guint before = list_length ("/video/v1/spaces?limit=100");
  const char *bad[][2] = {
    { "{\"type\":\"p2p\"}", "type" },
    { "{\"passthrough\":[]}", "passthrough" },
    { "{\"broadcasts\":[{\"layout\":\"gallery\"}]}", "live_stream_id" },
    { "{\"broadcasts\":[{\"live_stream_id\":\"missing\"}]}", "live_stream_id" },
    { "{\"broadcasts\":\"x\"}", "broadcasts" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (ScResponse) r = REQ ("POST", "/video/v1/spaces", bad[i][0]);
    assert_error (r, 400, "invalid_parameters", bad[i][1]);
  }
  g_assert_cmpuint (list_length ("/video/v1/spaces?limit=100"), ==, before);

  g_autoptr (ScResponse) del = REQ ("DELETE", path, NULL);
  g_assert_cmpuint (del->status, ==, 204);
  g_autoptr (ScResponse) gone = REQ ("GET", path, NULL);
  assert_error (gone, 404, "not_found", NULL);
  g_autoptr (ScResponse) gone_b = REQ ("GET", "/video/v1/spaces/nope/broadcasts/x", NULL);
  assert_error (gone_b, 404, "not_found", NULL);
}

static void
test_assets (void)
{
  g_assert_cmpuint (list_length ("/video/v1/assets?live_stream_id=none"), ==, 0);
  g_autoptr (ScResponse) g = REQ ("GET", "/video/v1/assets/nope", NULL);
  assert_error (g, 404, "not_found", NULL);
  g_autoptr (ScResponse) d = REQ ("DELETE", "/video/v1/assets/nope", NULL);
  assert_error (d, 404, "not_found", NULL);
}

/* A request path is the client's: whatever it holds (a %0A decoded into a
 * newline, quotes, '='), it stays inside one log line's quoted value. */
static void
test_log_lines_cannot_be_forged (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sc-log-XXXXXX", &error);
  g_autofree char *log = g_build_filename (dir, "daemon.log", NULL);
  ScHarness *h = sc_harness_start_logged (NULL, log);
  g_autoptr (GSocketConnection) c = sc_harness_connect (h, 10);
  g_assert_true (sc_harness_send (c, "GET /nope%0Alevel=error%20msg=%22forged%22 HTTP/1.1\r\n"
                                     "Host: 127.0.0.1\r\n\r\n"));
  g_assert_cmpuint (sc_harness_read_response (c, NULL, NULL), ==, 404);
  sc_harness_free (h);

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint forged = 0;
  for (guint i = 0; lines[i]; i++) {
    if (!*lines[i])
      continue;
    g_assert_true (g_str_has_prefix (lines[i], "ts="));
    if (strstr (lines[i], "forged")) {
      g_test_message ("%s", lines[i]);
      forged++;
    }
  }
  g_assert_cmpuint (forged, >=, 1);
  g_unlink (log);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  h = sc_harness_start (NULL);
  g_test_add_func ("/api/healthz-and-auth", test_healthz_and_auth);
  g_test_add_func ("/api/live-streams/lifecycle", test_live_stream_lifecycle);
  g_test_add_func ("/api/live-streams/bad-input", test_live_stream_bad_input);
  g_test_add_func ("/api/pagination", test_pagination);
  g_test_add_func ("/api/spaces", test_spaces);
  g_test_add_func ("/api/assets", test_assets);
  g_test_add_func ("/api/log-lines-cannot-be-forged", test_log_lines_cannot_be_forged);
  int rc = g_test_run ();
  sc_harness_free (h);
  return rc;
}
