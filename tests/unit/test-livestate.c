/* Live-stream state machine, event by event.  Each step's actions are
 * rendered as a compact string so a test reads like the lifecycle it checks:
 *   CREATE:a  REC:a:new|re  STOP:a  FIN:a  CLOSE:n  TIMER:name:s  CANCEL:name  REMOVE
 * Webhooks are rendered separately by hooks(). */
#include "spacecast/livestate.h"

#include <string.h>

static const char *timer_names[] = { "reconnect", "hold", "max" };

static char *
render (GArray *acts)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < acts->len; i++) {
    ScLiveAction *a = &g_array_index (acts, ScLiveAction, i);
    if (a->type == SC_LIVE_ACT_NOTIFY)
      continue;
    if (s->len)
      g_string_append_c (s, ' ');
    switch (a->type) {
      case SC_LIVE_ACT_CREATE_ASSET: g_string_append_printf (s, "CREATE:%s", a->asset_id); break;
      case SC_LIVE_ACT_START_RECORDING:
        g_string_append_printf (s, "REC:%s:%s", a->asset_id, a->reconnect ? "re" : "new"); break;
      case SC_LIVE_ACT_STOP_RECORDING: g_string_append_printf (s, "STOP:%s", a->asset_id); break;
      case SC_LIVE_ACT_FINALISE_ASSET: g_string_append_printf (s, "FIN:%s", a->asset_id); break;
      case SC_LIVE_ACT_CLOSE_CONNECTION:
        g_string_append_printf (s, "CLOSE:%" G_GUINT64_FORMAT, a->connection_id); break;
      case SC_LIVE_ACT_START_TIMER:
        g_string_append_printf (s, "TIMER:%s:%u", timer_names[a->timer], a->seconds); break;
      case SC_LIVE_ACT_CANCEL_TIMER: g_string_append_printf (s, "CANCEL:%s", timer_names[a->timer]); break;
      case SC_LIVE_ACT_REMOVE: g_string_append (s, "REMOVE"); break;
      default: g_string_append (s, "?"); break;
    }
  }
  return g_string_free (s, FALSE);
}

static char *
hooks (GArray *acts)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < acts->len; i++) {
    ScLiveAction *a = &g_array_index (acts, ScLiveAction, i);
    if (a->type != SC_LIVE_ACT_NOTIFY)
      continue;
    if (s->len)
      g_string_append_c (s, ' ');
    /* "video.live_stream.active" -> "active", "video.asset.created" -> "asset.created" */
    const char *h = a->webhook;
    if (g_str_has_prefix (h, "video.live_stream."))
      h += strlen ("video.live_stream.");
    else if (g_str_has_prefix (h, "video."))
      h += strlen ("video.");
    g_string_append (s, h);
  }
  return g_string_free (s, FALSE);
}

typedef struct {
  ScLiveState s;
  guint gen[SC_LIVE_N_TIMERS];   /* last generation armed, as the daemon keeps it */
  gint64 now;
  char *last_hooks;
} Fixture;

/* Handle one event, remember timer generations like the daemon would, and
 * return the rendered actions. */
static char *
run (Fixture *f, const ScLiveEvent *ev)
{
  g_autoptr (GArray) acts = sc_livestate_handle (&f->s, ev, ++f->now);
  for (guint i = 0; i < acts->len; i++) {
    ScLiveAction *a = &g_array_index (acts, ScLiveAction, i);
    if (a->type == SC_LIVE_ACT_START_TIMER)
      f->gen[a->timer] = a->generation;
    g_assert_cmpint (a->at, ==, f->now);
  }
  g_free (f->last_hooks);
  f->last_hooks = hooks (acts);
  return render (acts);
}

static char *
feed (Fixture *f, ScLiveEventType type, guint64 conn, const char *asset)
{
  ScLiveEvent ev = { .type = type, .connection_id = conn, .new_asset_id = asset };
  return run (f, &ev);
}

static char *
expire (Fixture *f, ScLiveTimer t)
{
  ScLiveEvent ev = { .type = SC_LIVE_EV_TIMER_EXPIRED, .timer = t, .generation = f->gen[t] };
  return run (f, &ev);
}

#define STEP(expr, expected) G_STMT_START { \
    g_autofree char *_got = (expr); \
    g_assert_cmpstr (_got, ==, expected); \
  } G_STMT_END

static void
fixture_init (Fixture *f, guint window, guint max)
{
  memset (f, 0, sizeof *f);
  sc_livestate_init (&f->s, window, max);
  f->now = 1000;
}

static void
fixture_clear (Fixture *f)
{
  sc_livestate_clear (&f->s);
  g_free (f->last_hooks);
}

/* Connect + media: idle -> active with a new asset. */
static void
go_live (Fixture *f, guint64 conn, const char *asset)
{
  g_autofree char *c = feed (f, SC_LIVE_EV_CONNECTED, conn, asset);
  g_autofree char *m = feed (f, SC_LIVE_EV_MEDIA_STARTED, conn, NULL);
  g_assert_cmpint (f->s.status, ==, SC_LIVE_STATUS_ACTIVE);
}

static void
test_connect_media (void)
{
  Fixture f;
  fixture_init (&f, 60, 0);
  g_assert_cmpuint (f.s.complete_hold, ==, 60);
  g_assert_true (sc_livestate_publish_allowed (&f.s));

  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 1, "a1"), "CREATE:a1 REC:a1:new");
  g_assert_cmpstr (f.last_hooks, ==, "connected asset.created recording");
  /* Mux: recording starts while the stream is still idle. */
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  g_assert_cmpstr (f.s.active_asset_id, ==, "a1");
  g_assert_cmpuint (f.s.recent_asset_ids->len, ==, 1);
  g_assert_true (sc_livestate_should_record (&f.s, 1));
  g_assert_false (sc_livestate_should_record (&f.s, 2));

  STEP (feed (&f, SC_LIVE_EV_MEDIA_STARTED, 1, NULL), "");
  g_assert_cmpstr (f.last_hooks, ==, "active");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_ACTIVE);
  /* A second media-started is harmless. */
  STEP (feed (&f, SC_LIVE_EV_MEDIA_STARTED, 1, NULL), "");
  g_assert_cmpstr (f.last_hooks, ==, "");
  fixture_clear (&f);
}

static void
test_disconnect_reconnect_in_window (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  go_live (&f, 1, "a1");

  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "STOP:a1 TIMER:reconnect:30");
  g_assert_cmpstr (f.last_hooks, ==, "disconnected");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_ACTIVE);
  g_assert_false (sc_livestate_should_record (&f.s, 1));

  /* Same asset, new recording_times entry, no new asset. */
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 2, "a2"), "CANCEL:reconnect REC:a1:re");
  g_assert_cmpstr (f.s.active_asset_id, ==, "a1");
  g_assert_cmpuint (f.s.recent_asset_ids->len, ==, 1);
  g_assert_true (sc_livestate_should_record (&f.s, 2));

  /* The window's expiry was cancelled: a late delivery does nothing. */
  STEP (expire (&f, SC_LIVE_TIMER_RECONNECT), "");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_ACTIVE);
  fixture_clear (&f);
}

static void
test_window_expiry (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "STOP:a1 TIMER:reconnect:30");
  STEP (expire (&f, SC_LIVE_TIMER_RECONNECT), "FIN:a1");
  g_assert_cmpstr (f.last_hooks, ==, "asset.live_stream_completed idle");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  g_assert_null (f.s.active_asset_id);
  /* Delivered twice: ignored. */
  STEP (expire (&f, SC_LIVE_TIMER_RECONNECT), "");

  /* Next publish: a new asset. */
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 2, "a2"), "CREATE:a2 REC:a2:new");
  g_assert_cmpuint (f.s.recent_asset_ids->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f.s.recent_asset_ids, 1), ==, "a2");
  fixture_clear (&f);
}

static void
test_window_zero (void)
{
  Fixture f;
  fixture_init (&f, 0, 0);
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "STOP:a1 FIN:a1");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  fixture_clear (&f);
}

static void
test_complete_while_connected (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  go_live (&f, 1, "a1");

  STEP (feed (&f, SC_LIVE_EV_COMPLETE, 0, NULL), "STOP:a1 FIN:a1 TIMER:hold:60");
  g_assert_cmpstr (f.last_hooks, ==, "asset.live_stream_completed idle");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  /* Media in between is not recorded, and does not make the stream active. */
  g_assert_false (sc_livestate_should_record (&f.s, 1));
  STEP (feed (&f, SC_LIVE_EV_MEDIA_STARTED, 1, NULL), "");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  /* complete again: nothing left to complete. */
  STEP (feed (&f, SC_LIVE_EV_COMPLETE, 0, NULL), "");

  STEP (expire (&f, SC_LIVE_TIMER_COMPLETE_HOLD), "CLOSE:1");
  g_assert_cmpstr (f.last_hooks, ==, "disconnected");
  g_assert_cmpuint (f.s.connection_id, ==, 0);
  /* The closed connection's disconnect arrives: nothing more to do. */
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "");

  /* The encoder reconnects: a new asset. */
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 2, "a2"), "CREATE:a2 REC:a2:new");
  fixture_clear (&f);
}

static void
test_complete_then_encoder_leaves (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_COMPLETE, 0, NULL), "STOP:a1 FIN:a1 TIMER:hold:60");
  /* No reconnect window: the asset is already final. */
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "CANCEL:hold");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  STEP (expire (&f, SC_LIVE_TIMER_COMPLETE_HOLD), "");
  fixture_clear (&f);
}

static void
test_complete_then_instant_reconnect (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_COMPLETE, 0, NULL), "STOP:a1 FIN:a1 TIMER:hold:60");
  /* A second publisher while the first drains: it replaces it, new asset. */
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 2, "a2"), "CLOSE:1 CANCEL:hold CREATE:a2 REC:a2:new");
  g_assert_cmpstr (f.s.active_asset_id, ==, "a2");
  fixture_clear (&f);
}

static void
test_complete_hold_parameter (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  f.s.complete_hold = 0;
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_COMPLETE, 0, NULL), "STOP:a1 FIN:a1 CLOSE:1");
  fixture_clear (&f);

  fixture_init (&f, 30, 0);
  f.s.complete_hold = 5;
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_COMPLETE, 0, NULL), "STOP:a1 FIN:a1 TIMER:hold:5");
  fixture_clear (&f);
}

static void
test_complete_in_window (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "STOP:a1 TIMER:reconnect:30");
  STEP (feed (&f, SC_LIVE_EV_COMPLETE, 0, NULL), "CANCEL:reconnect FIN:a1");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  STEP (expire (&f, SC_LIVE_TIMER_RECONNECT), "");
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 2, "a2"), "CREATE:a2 REC:a2:new");
  fixture_clear (&f);
}

static void
test_complete_idle (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  STEP (feed (&f, SC_LIVE_EV_COMPLETE, 0, NULL), "");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  fixture_clear (&f);
}

static void
test_disable_connected (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_DISABLE, 0, NULL), "STOP:a1 FIN:a1 CLOSE:1");
  g_assert_cmpstr (f.last_hooks, ==, "asset.live_stream_completed disconnected");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_DISABLED);
  g_assert_false (sc_livestate_publish_allowed (&f.s));
  /* The closed encoder's own disconnect changes nothing. */
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "");
  /* A publish sneaking through is closed at once, no asset. */
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 2, "a2"), "CLOSE:2");
  g_assert_cmpuint (f.s.recent_asset_ids->len, ==, 1);
  /* Disable twice: nothing. */
  STEP (feed (&f, SC_LIVE_EV_DISABLE, 0, NULL), "");

  STEP (feed (&f, SC_LIVE_EV_ENABLE, 0, NULL), "");
  g_assert_cmpstr (f.last_hooks, ==, "idle");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  g_assert_true (sc_livestate_publish_allowed (&f.s));
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 3, "a3"), "CREATE:a3 REC:a3:new");
  /* Enable on an enabled stream: nothing. */
  STEP (feed (&f, SC_LIVE_EV_ENABLE, 0, NULL), "");
  fixture_clear (&f);
}

static void
test_disable_in_window (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "STOP:a1 TIMER:reconnect:30");
  STEP (feed (&f, SC_LIVE_EV_DISABLE, 0, NULL), "CANCEL:reconnect FIN:a1");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_DISABLED);
  STEP (expire (&f, SC_LIVE_TIMER_RECONNECT), "");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_DISABLED);
  fixture_clear (&f);
}

static void
test_disable_idle (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  STEP (feed (&f, SC_LIVE_EV_DISABLE, 0, NULL), "");
  g_assert_cmpstr (f.last_hooks, ==, "");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_DISABLED);
  g_assert_false (sc_livestate_publish_allowed (&f.s));
  fixture_clear (&f);
}

static void
test_double_connect (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  go_live (&f, 1, "a1");
  /* A second publisher replaces a stale first one, same asset continues. */
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 2, "a2"), "STOP:a1 CLOSE:1 REC:a1:re");
  g_assert_cmpstr (f.s.active_asset_id, ==, "a1");
  g_assert_cmpuint (f.s.connection_id, ==, 2);
  g_assert_false (sc_livestate_should_record (&f.s, 1));
  g_assert_true (sc_livestate_should_record (&f.s, 2));
  /* The replaced publisher's late disconnect and media are ignored. */
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_ACTIVE);
  g_assert_true (sc_livestate_should_record (&f.s, 2));
  /* The same connection announced twice: nothing. */
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 2, "a3"), "");
  fixture_clear (&f);
}

static void
test_delete_active (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_DELETE, 0, NULL), "STOP:a1 FIN:a1 CLOSE:1 REMOVE");
  g_assert_false (sc_livestate_publish_allowed (&f.s));
  /* Nothing happens to a deleted stream any more. */
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "");
  STEP (feed (&f, SC_LIVE_EV_DELETE, 0, NULL), "");
  fixture_clear (&f);

  fixture_init (&f, 30, 0);
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "STOP:a1 TIMER:reconnect:30");
  STEP (feed (&f, SC_LIVE_EV_DELETE, 0, NULL), "CANCEL:reconnect FIN:a1 REMOVE");
  fixture_clear (&f);

  fixture_init (&f, 30, 0);
  STEP (feed (&f, SC_LIVE_EV_DELETE, 0, NULL), "REMOVE");
  fixture_clear (&f);
}

static void
test_max_duration (void)
{
  Fixture f;
  fixture_init (&f, 30, 3600);
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 1, "a1"), "CREATE:a1 TIMER:max:3600 REC:a1:new");
  STEP (feed (&f, SC_LIVE_EV_MEDIA_STARTED, 1, NULL), "");
  /* A reconnect in the window continues the same clock. */
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "STOP:a1 TIMER:reconnect:30");
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 2, NULL), "CANCEL:reconnect REC:a1:re");
  /* Reached: as complete. */
  STEP (expire (&f, SC_LIVE_TIMER_MAX_DURATION), "STOP:a1 FIN:a1 TIMER:hold:60");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  STEP (expire (&f, SC_LIVE_TIMER_COMPLETE_HOLD), "CLOSE:2");
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 3, "a2"), "CREATE:a2 TIMER:max:3600 REC:a2:new");
  fixture_clear (&f);

  /* An asset that ended before the cap cancels its clock. */
  fixture_init (&f, 0, 3600);
  go_live (&f, 1, "a1");
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "STOP:a1 CANCEL:max FIN:a1");
  STEP (expire (&f, SC_LIVE_TIMER_MAX_DURATION), "");
  fixture_clear (&f);
}

static void
test_connect_no_media_then_leave (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 1, "a1"), "CREATE:a1 REC:a1:new");
  STEP (feed (&f, SC_LIVE_EV_DISCONNECTED, 1, NULL), "STOP:a1 TIMER:reconnect:30");
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  STEP (expire (&f, SC_LIVE_TIMER_RECONNECT), "FIN:a1");
  /* Never went active, so no idle webhook. */
  g_assert_cmpstr (f.last_hooks, ==, "asset.live_stream_completed");
  fixture_clear (&f);
}

static void
test_recover_after_restart (void)
{
  Fixture f;
  fixture_init (&f, 30, 0);
  f.s.status = SC_LIVE_STATUS_ACTIVE;
  f.s.active_asset_id = g_strdup ("a1");
  g_ptr_array_add (f.s.recent_asset_ids, g_strdup ("a1"));
  g_autoptr (GArray) acts = sc_livestate_recover (&f.s, 5000);
  g_autofree char *r = render (acts);
  g_assert_cmpstr (r, ==, "STOP:a1 TIMER:reconnect:30");
  g_assert_true (f.s.in_reconnect_window);
  g_assert_cmpuint (f.s.connection_id, ==, 0);
  STEP (feed (&f, SC_LIVE_EV_CONNECTED, 7, "a2"), "CANCEL:reconnect REC:a1:re");
  fixture_clear (&f);

  fixture_init (&f, 0, 0);
  f.s.status = SC_LIVE_STATUS_ACTIVE;
  g_autoptr (GArray) acts2 = sc_livestate_recover (&f.s, 5000);
  g_assert_cmpuint (acts2->len, ==, 1);   /* just the idle webhook */
  g_assert_cmpint (f.s.status, ==, SC_LIVE_STATUS_IDLE);
  fixture_clear (&f);
}

static void
test_status_names (void)
{
  ScLiveStatus st;
  g_assert_cmpstr (sc_livestate_status_name (SC_LIVE_STATUS_DISABLED), ==, "disabled");
  g_assert_true (sc_livestate_status_parse ("active", &st));
  g_assert_cmpint (st, ==, SC_LIVE_STATUS_ACTIVE);
  g_assert_false (sc_livestate_status_parse ("bogus", &st));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/livestate/connect-media", test_connect_media);
  g_test_add_func ("/livestate/reconnect-in-window", test_disconnect_reconnect_in_window);
  g_test_add_func ("/livestate/window-expiry", test_window_expiry);
  g_test_add_func ("/livestate/window-zero", test_window_zero);
  g_test_add_func ("/livestate/complete-connected", test_complete_while_connected);
  g_test_add_func ("/livestate/complete-encoder-leaves", test_complete_then_encoder_leaves);
  g_test_add_func ("/livestate/complete-instant-reconnect", test_complete_then_instant_reconnect);
  g_test_add_func ("/livestate/complete-hold-parameter", test_complete_hold_parameter);
  g_test_add_func ("/livestate/complete-in-window", test_complete_in_window);
  g_test_add_func ("/livestate/complete-idle", test_complete_idle);
  g_test_add_func ("/livestate/disable-connected", test_disable_connected);
  g_test_add_func ("/livestate/disable-in-window", test_disable_in_window);
  g_test_add_func ("/livestate/disable-idle", test_disable_idle);
  g_test_add_func ("/livestate/double-connect", test_double_connect);
  g_test_add_func ("/livestate/delete", test_delete_active);
  g_test_add_func ("/livestate/max-duration", test_max_duration);
  g_test_add_func ("/livestate/connect-no-media", test_connect_no_media_then_leave);
  g_test_add_func ("/livestate/recover", test_recover_after_restart);
  g_test_add_func ("/livestate/status-names", test_status_names);
  return g_test_run ();
}
