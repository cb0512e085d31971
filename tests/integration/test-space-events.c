/* GET /rt/v1/spaces/ID/events against the real daemon, read as a browser's
 * EventSource would (a raw HTTP/1.1 connection, chunked, line by line): a
 * snapshot first, then a real WHIP publisher's join, tracks and leave;
 * who may open one; the cap per space; a deleted space and a daemon
 * stopping with streams open end them. */
#include "harness.h"
#include "spacecast/jwt.h"

#include <string.h>

#define PARTICIPANT_TIMEOUT_S 5
#define MAX_STREAMS 2
/* Generous: a loaded 2-core machine runs daemon and publisher side by side. */
#define WAIT_S 60

static ScHarness *h;
static char *kid, *priv;

static char *
token_for (const char *space_id, const char *role, const char *participant_id)
{
  g_autoptr (GError) error = NULL;
  char *t = sc_jwt_sign_space_token (priv, kid, space_id, role, participant_id, 3600, TRUE,
                                     &error);
  g_assert_no_error (error);
  return t;
}

/* One open event stream: its connection, the status and headers it got,
 * and what has arrived but not yet been taken as events. */
typedef struct {
  GSocketConnection *conn;
  GDataInputStream *in;
  guint status;
  SoupMessageHeaders *headers;
  GString *pending;
  gboolean ended;               /* the last chunk came */
} Stream;

static void
stream_close (Stream *s)
{
  g_object_unref (s->in);
  g_io_stream_close (G_IO_STREAM (s->conn), NULL, NULL);
  g_object_unref (s->conn);
  soup_message_headers_unref (s->headers);
  g_string_free (s->pending, TRUE);
  g_free (s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Stream, stream_close)

/* GET the space's events with @query appended to the path (may be "") and
 * an Authorization header when @authorization is not NULL; reads the
 * status and headers (and, for a refusal, leaves the body unread). */
static Stream *
stream_open (const char *space_id, const char *query, const char *authorization)
{
  Stream *s = g_new0 (Stream, 1);
  s->conn = sc_harness_connect (h, WAIT_S);
  s->pending = g_string_new (NULL);
  s->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_autofree char *auth = authorization
      ? g_strdup_printf ("Authorization: %s\r\n", authorization) : g_strdup ("");
  g_autofree char *req = g_strdup_printf ("GET /rt/v1/spaces/%s/events%s HTTP/1.1\r\n"
                                          "Host: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                                          "Origin: http://example.test\r\n%s\r\n",
                                          space_id, query, auth);
  g_assert_true (sc_harness_send (s->conn, req));
  s->in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (s->conn)));
  g_data_input_stream_set_newline_type (s->in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  g_autoptr (GError) error = NULL;
  g_autofree char *status_line = g_data_input_stream_read_line (s->in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (status_line);
  g_assert_true (soup_headers_parse_status_line (status_line, NULL, &s->status, NULL));
  for (;;) {
    g_autofree char *line = g_data_input_stream_read_line (s->in, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (line);
    if (!*line)
      break;
    char *colon = strchr (line, ':');
    g_assert_nonnull (colon);
    *colon = '\0';
    soup_message_headers_append (s->headers, line, g_strstrip (colon + 1));
  }
  return s;
}

static void
set_read_timeout (Stream *s, guint seconds)
{
  g_socket_set_timeout (g_socket_connection_get_socket (s->conn), seconds);
}

/* One chunk of the body into s->pending; FALSE at the last chunk. */
static gboolean
read_chunk (Stream *s)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *size_line = g_data_input_stream_read_line (s->in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (size_line);
  guint64 size = g_ascii_strtoull (size_line, NULL, 16);
  if (size == 0)
    return FALSE;
  g_autoptr (GBytes) data = g_input_stream_read_bytes (G_INPUT_STREAM (s->in), size, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (data), ==, size);
  g_string_append_len (s->pending, g_bytes_get_data (data, NULL), size);
  g_autofree char *crlf = g_data_input_stream_read_line (s->in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (crlf, ==, "");
  return TRUE;
}

/* The next event's name and its data parsed (a new reference in *data);
 * comments (keep-alives) are skipped.  FALSE when the stream ends first.
 * A read that takes longer than the stream's timeout fails the test. */
static gboolean
next_event (Stream *s, char **name, JsonObject **data)
{
  for (;;) {
    const char *end = strstr (s->pending->str, "\n\n");
    if (end) {
      g_autofree char *block = g_strndup (s->pending->str, end - s->pending->str);
      g_string_erase (s->pending, 0, end - s->pending->str + 2);
      g_auto (GStrv) lines = g_strsplit (block, "\n", -1);
      g_autofree char *ev = NULL, *text = NULL;
      for (guint i = 0; lines[i]; i++) {
        if (g_str_has_prefix (lines[i], "event: "))
          ev = g_strdup (lines[i] + 7);
        else if (g_str_has_prefix (lines[i], "data: "))
          text = g_strdup (lines[i] + 6);
      }
      if (!ev)
        continue;   /* a comment */
      g_assert_nonnull (text);
      g_autoptr (JsonParser) p = json_parser_new ();
      g_assert_true (json_parser_load_from_data (p, text, -1, NULL));
      *name = g_steal_pointer (&ev);
      *data = json_object_ref (json_node_get_object (json_parser_get_root (p)));
      return TRUE;
    }
    if (s->ended || !read_chunk (s)) {
      s->ended = TRUE;
      return FALSE;
    }
  }
}

/* The next event, which must be called @want; its data. */
static JsonObject *
expect_event (Stream *s, const char *want)
{
  g_autofree char *name = NULL;
  JsonObject *data = NULL;
  g_assert_true (next_event (s, &name, &data));
  g_assert_cmpstr (name, ==, want);
  return data;
}

static guint
snapshot_size (Stream *s)
{
  g_autoptr (JsonObject) snap = expect_event (s, "snapshot");
  return json_array_get_length (json_object_get_array_member (snap, "participants"));
}

static void
assert_stream_ok (Stream *s)
{
  g_assert_cmpuint (s->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (s->headers, "Content-Type"), ==,
                   "text/event-stream");
  g_assert_cmpstr (soup_message_headers_get_one (s->headers, "Access-Control-Allow-Origin"), ==,
                   "*");
}

static void
test_publisher_lifecycle (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *watcher = token_for (space, "subscriber", "viewer");
  g_autofree char *query = g_strdup_printf ("?token=%s", watcher);
  g_autoptr (Stream) s = stream_open (space, query, NULL);
  assert_stream_ok (s);
  g_assert_cmpuint (snapshot_size (s), ==, 0);

  g_autofree char *token = token_for (space, NULL, "alice");
  g_autofree char *location = NULL;
  GSubprocess *pub = sc_harness_whip_publish (h, space, token, NULL, &location);
  const char *connection_id = strrchr (location, '/') + 1;

  g_autoptr (JsonObject) joined = expect_event (s, "participant.joined");
  g_assert_cmpstr (json_object_get_string_member (joined, "participant_id"), ==, "alice");
  g_assert_cmpstr (json_object_get_string_member (joined, "connection_id"), ==, connection_id);
  /* What it publishes, as negotiated, so that a page can subscribe now. */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (joined, "tracks")), ==, 2);
  gboolean video = FALSE, audio = FALSE;
  while (!video || !audio) {
    g_autoptr (JsonObject) track = expect_event (s, "track.added");
    g_assert_cmpstr (json_object_get_string_member (track, "participant_id"), ==, "alice");
    const char *kind = json_object_get_string_member (track, "track");
    video |= g_str_equal (kind, "video");
    audio |= g_str_equal (kind, "audio");
  }

  /* A broadcast's start is told, so that a page can open its program
   * preview. */
  g_autoptr (JsonObject) ls = sc_harness_create_live_stream (h, 0);
  g_autofree char *b = sc_harness_create_broadcast (h, space,
                                                    json_object_get_string_member (ls, "id"),
                                                    "gallery");
  g_assert_cmpuint (sc_harness_broadcast_action (h, space, b, "start"), ==, 200);
  set_read_timeout (s, WAIT_S);
  g_autoptr (JsonObject) active = expect_event (s, "broadcast.active");
  g_assert_cmpstr (json_object_get_string_member (active, "broadcast_id"), ==, b);
  g_assert_cmpstr (json_object_get_string_member (active, "status"), ==, "active");

  /* Someone arriving now sees alice and her tracks, and the broadcast, in
   * the snapshot; with the token in the header, and a publisher's token
   * works too. */
  g_autofree char *pub_token = token_for (space, "publisher", "bob");
  g_autofree char *bearer = g_strdup_printf ("Bearer %s", pub_token);
  g_autoptr (Stream) late = stream_open (space, "", bearer);
  assert_stream_ok (late);
  g_autoptr (JsonObject) snap = expect_event (late, "snapshot");
  JsonArray *ps = json_object_get_array_member (snap, "participants");
  g_assert_cmpuint (json_array_get_length (ps), ==, 1);
  JsonObject *alice = json_array_get_object_element (ps, 0);
  g_assert_cmpstr (json_object_get_string_member (alice, "participant_id"), ==, "alice");
  g_assert_cmpstr (json_object_get_string_member (alice, "connection_id"), ==, connection_id);
  JsonArray *tracks = json_object_get_array_member (alice, "tracks");
  g_assert_cmpuint (json_array_get_length (tracks), ==, 2);
  JsonArray *bs = json_object_get_array_member (snap, "broadcasts");
  g_assert_cmpuint (json_array_get_length (bs), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (bs, 0),
                                                  "status"), ==, "active");

  /* Its end is told too: a program preview's session has ended with it. */
  g_assert_cmpuint (sc_harness_broadcast_action (h, space, b, "stop"), ==, 200);
  g_autoptr (JsonObject) idle = expect_event (s, "broadcast.idle");
  g_assert_cmpstr (json_object_get_string_member (idle, "broadcast_id"), ==, b);
  g_assert_cmpstr (json_object_get_string_member (idle, "idle_reason"), !=, NULL);

  /* The publisher DELETEs its session as it stops: the leave is told at
   * once, not after the participant timeout. */
  sc_harness_stop_publisher (pub, FALSE);
  set_read_timeout (s, 2);
  g_autoptr (JsonObject) left = expect_event (s, "participant.left");
  g_assert_cmpstr (json_object_get_string_member (left, "connection_id"), ==, connection_id);
}

static void
assert_refused (const char *space, const char *query, const char *authorization, guint status)
{
  g_autoptr (Stream) s = stream_open (space, query, authorization);
  g_assert_cmpuint (s->status, ==, status);
  g_assert_cmpstr (soup_message_headers_get_one (s->headers, "Access-Control-Allow-Origin"), ==,
                   "*");
}

static void
test_refusals (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *other = sc_harness_create_space (h);
  g_autofree char *for_other = token_for (other, "subscriber", NULL);
  g_autofree char *wrong_space = g_strdup_printf ("?token=%s", for_other);
  g_autofree char *garbage = g_strdup_printf ("?token=%s", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln");

  assert_refused (space, "", NULL, 401);
  assert_refused (space, garbage, NULL, 401);
  assert_refused (space, "", "Bearer not-a-jwt", 401);
  assert_refused (space, wrong_space, NULL, 401);

  /* A browser's preflight before a fetch() with an Authorization header. */
  g_autofree char *path = g_strdup_printf ("/rt/v1/spaces/%s/events", space);
  g_autoptr (ScResponse) pre = sc_harness_raw (h, "OPTIONS", path, NULL, NULL, 0, NULL);
  g_assert_cmpuint (pre->status, ==, 204);
  g_assert_cmpstr (soup_message_headers_get_one (pre->headers, "Access-Control-Allow-Origin"), ==, "*");
  g_assert_nonnull (strstr (soup_message_headers_get_one (pre->headers,
                                                          "Access-Control-Allow-Headers"),
                            "Authorization"));
}

/* MAX_STREAMS per space; a closed one frees its place. */
static void
test_cap (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *other = sc_harness_create_space (h);
  g_autofree char *token = token_for (space, "subscriber", NULL);
  g_autofree char *query = g_strdup_printf ("?token=%s", token);
  g_autofree char *other_token = token_for (other, "subscriber", NULL);
  g_autofree char *other_query = g_strdup_printf ("?token=%s", other_token);

  Stream *open[MAX_STREAMS];
  for (guint i = 0; i < MAX_STREAMS; i++) {
    open[i] = stream_open (space, query, NULL);
    assert_stream_ok (open[i]);
    g_assert_cmpuint (snapshot_size (open[i]), ==, 0);
  }
  assert_refused (space, query, NULL, 429);
  /* Per space: another is not affected. */
  g_autoptr (Stream) elsewhere = stream_open (other, other_query, NULL);
  assert_stream_ok (elsewhere);

  stream_close (open[0]);
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  guint status = 0;
  while (status != 200 && g_get_monotonic_time () < deadline) {
    g_autoptr (Stream) again = stream_open (space, query, NULL);
    status = again->status;
    if (status != 200)
      g_usleep (100 * 1000);
  }
  g_assert_cmpuint (status, ==, 200);
  stream_close (open[1]);
}

static void
test_space_deleted (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *token = token_for (space, "subscriber", NULL);
  g_autofree char *query = g_strdup_printf ("?token=%s", token);
  g_autoptr (Stream) s = stream_open (space, query, NULL);
  assert_stream_ok (s);
  g_assert_cmpuint (snapshot_size (s), ==, 0);

  g_autofree char *path = g_strdup_printf ("/video/v1/spaces/%s", space);
  g_autoptr (ScResponse) r = sc_harness_request (h, "DELETE", path, NULL);
  g_assert_cmpuint (r->status, ==, 204);
  g_autoptr (JsonObject) gone = expect_event (s, "space.deleted");
  g_autofree char *name = NULL;
  g_autoptr (JsonObject) data = NULL;
  g_assert_false (next_event (s, &name, &data));
}

/* SIGTERM with a stream open: the stream ends and the daemon exits 0
 * (sc_harness_stop asserts it). */
static void
test_shutdown (void)
{
  g_autofree char *space = sc_harness_create_space (h);
  g_autofree char *token = token_for (space, "subscriber", NULL);
  g_autofree char *query = g_strdup_printf ("?token=%s", token);
  g_autoptr (Stream) s = stream_open (space, query, NULL);
  assert_stream_ok (s);
  g_assert_cmpuint (snapshot_size (s), ==, 0);
  sc_harness_stop (h);
  g_autoptr (GError) error = NULL;
  /* Its last chunk, or the connection closed under it: either way no more. */
  g_autofree char *line = g_data_input_stream_read_line (s->in, NULL, NULL, &error);
  g_assert_true (line == NULL || g_ascii_strtoull (line, NULL, 16) == 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *timeout = g_strdup_printf ("--participant-timeout=%d", PARTICIPANT_TIMEOUT_S);
  g_autofree char *cap = g_strdup_printf ("--space-max-event-streams=%d", MAX_STREAMS);
  h = sc_harness_start ((const char *[]) { timeout, cap, NULL });
  sc_harness_create_signing_key (h, &kid, &priv);

  g_test_add_func ("/space-events/publisher-lifecycle", test_publisher_lifecycle);
  g_test_add_func ("/space-events/refusals", test_refusals);
  g_test_add_func ("/space-events/cap", test_cap);
  g_test_add_func ("/space-events/space-deleted", test_space_deleted);
  /* Last: it stops the daemon. */
  g_test_add_func ("/space-events/shutdown", test_shutdown);
  int rc = g_test_run ();
  sc_harness_free (h);
  g_free (kid);
  g_free (priv);
  return rc;
}
