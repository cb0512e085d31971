/* `spacecast publish`: the command-line face of the publishing client. */
#include "spacecast/publish.h"

#include <gst/gst.h>
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  GMainLoop *loop;
  int rc;
} Cli;

static void
on_event (ScPublish *pub, ScPublishEvent event, const GError *error, gpointer data)
{
  Cli *cli = data;

  switch (event) {
    case SC_PUBLISH_EVENT_PUBLISHING:
      g_print ("publishing; session %s\n",
               sc_publish_get_location (pub) ? sc_publish_get_location (pub) : "(no Location)");
      break;
    case SC_PUBLISH_EVENT_FAILED:
      g_printerr ("publish failed: %s\n", error ? error->message : "unknown error");
      cli->rc = 1;
      break;
    case SC_PUBLISH_EVENT_FINISHED:
      g_main_loop_quit (cli->loop);
      break;
  }
}

static gboolean
on_signal (gpointer data)
{
  sc_publish_stop (data);
  return G_SOURCE_CONTINUE;
}

int
sc_publish_main (int argc, char **argv)
{
  g_autofree char *whip = NULL, *token = NULL, *pattern = NULL, *color = NULL;
  g_autofree char *file = NULL, *ice_host = NULL, *codec = NULL;
  gdouble freq = 440;
  gint duration = 0, width = 640, height = 360, keyframes = 60, kbps = 800, speed = 0;
  gboolean clock = FALSE, flash = FALSE;
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (ScPublish) pub = NULL;
  ScPublishOptions opts = { 0 };
  Cli cli = { 0 };
  guint sigint, sigterm;
  GOptionEntry entries[] = {
    { "whip", 0, 0, G_OPTION_ARG_STRING, &whip, "WHIP endpoint URL", "URL" },
    { "token", 0, 0, G_OPTION_ARG_STRING, &token, "Bearer token (JWT)", "JWT" },
    { "video-pattern", 0, 0, G_OPTION_ARG_STRING, &pattern,
      "videotestsrc pattern (ball, smpte, snow, ...)", "NAME" },
    { "video-speed", 0, 0, G_OPTION_ARG_INT, &speed,
      "scroll the pattern N pixels a frame (moving content an encoder spends bits on)", "N" },
    { "color", 0, 0, G_OPTION_ARG_STRING, &color, "solid colour", "0xRRGGBB" },
    { "freq", 0, 0, G_OPTION_ARG_DOUBLE, &freq, "sine frequency (Hz)", "HZ" },
    { "file", 0, 0, G_OPTION_ARG_FILENAME, &file, "media file instead of test sources", "PATH" },
    { "duration", 0, 0, G_OPTION_ARG_INT, &duration, "stop after S seconds", "S" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "video width", "W" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "video height", "H" },
    { "video-codec", 0, 0, G_OPTION_ARG_STRING, &codec, "vp8 (default) or h264", "CODEC" },
    { "video-kbps", 0, 0, G_OPTION_ARG_INT, &kbps, "video bitrate in kbit/s (800)", "KBPS" },
    { "keyframe-interval", 0, 0, G_OPTION_ARG_INT, &keyframes,
      "a key frame every N frames at most, besides those a receiver asks for (60)", "N" },
    { "capture-clock", 0, 0, G_OPTION_ARG_NONE, &clock,
      "draw each frame's capture time (wall-clock ms mod 2^32) as 8x4 black/white cells", NULL },
    { "sync-flash", 0, 0, G_OPTION_ARG_NONE, &flash,
      "A/V sync pattern: black video that turns white, and silence that beeps (--freq), "
      "for 100 ms from the same instant once a second", NULL },
    { "ice-host", 0, 0, G_OPTION_ARG_STRING, &ice_host,
      "only offer host candidates on this address", "ADDR" },
    { NULL }
  };

  ctx = g_option_context_new ("- publish test media to a WHIP endpoint");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("publish: %s\n", error->message);
    return 2;
  }
  if (whip == NULL) {
    g_printerr ("publish: --whip URL is required\n");
    return 2;
  }
  if (width <= 0 || height <= 0 || duration < 0 || freq <= 0 || keyframes <= 0 ||
      kbps <= 0 || speed < 0) {
    g_printerr ("publish: --width, --height, --freq, --keyframe-interval, --video-kbps must be "
                "positive, --video-speed not negative\n");
    return 2;
  }
  if (color != NULL) {
    char *end = NULL;
    guint64 v = g_ascii_strtoull (color, &end, 16);

    if (end == color || *end != '\0' || v > 0xffffff) {
      g_printerr ("publish: --color wants 0xRRGGBB\n");
      return 2;
    }
    opts.has_color = TRUE;
    opts.color = (guint32) v;
  }
  gst_init (NULL, NULL);

  opts.whip_url = whip;
  opts.token = token;
  opts.video_pattern = pattern;
  opts.video_speed = speed;
  opts.freq = freq;
  opts.file = file;
  opts.duration_s = (guint) duration;
  opts.width = width;
  opts.height = height;
  opts.ice_host = ice_host;
  opts.video_codec = codec;
  opts.keyframe_frames = (guint) keyframes;
  opts.video_kbps = (guint) kbps;
  opts.capture_clock = clock;
  opts.sync_flash = flash;
  opts.on_event = on_event;
  opts.user_data = &cli;

  cli.loop = g_main_loop_new (NULL, FALSE);
  pub = sc_publish_start (&opts, &error);
  if (pub == NULL) {
    g_printerr ("publish: %s\n", error->message);
    g_main_loop_unref (cli.loop);
    return 1;
  }
  sigint = g_unix_signal_add (SIGINT, on_signal, pub);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, pub);
  g_main_loop_run (cli.loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_main_loop_unref (cli.loop);
  return cli.rc;
}
