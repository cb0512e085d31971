/* The mixing pipeline: filler sources, compositor + audiomixer with fixed
 * output caps, per-participant branches (the layout on them: bcast-tiles.c). */
#include "bcast-private.h"
#include "spacecast/core.h"

#include <gst/video/video.h>
#include <string.h>

#define MIXER_LATENCY (100 * GST_MSECOND)
/* A participant whose timestamps drift this far from our clock (their
 * pipeline restarted, stalled...) is re-anchored. */
#define REANCHOR_LIMIT (1 * GST_SECOND)
/* So is one whose samples keep coming later than the mixers wait for (a
 * stall their pipeline never made up for): the mixers would drop every
 * one of them, silencing the participant for good.  Any sample of theirs
 * in time ends the count: audio and video share the offset, and one of
 * them alone running late is their own A/V skew, which no offset mends. */
#define LATE_HOLD (500 * GST_MSECOND)

static guint slot_counter;

const char *
sc_bcast_state_to_string (ScBcastState s)
{
  switch (s) {
    case SC_BCAST_IDLE: return "idle";
    case SC_BCAST_RUNNING: return "running";
    case SC_BCAST_RECONNECTING: return "reconnecting";
    case SC_BCAST_FAILED: return "failed";
    case SC_BCAST_STOPPED: return "stopped";
  }
  return "unknown";
}

/* ---- slots: one mixer input each ---------------------------------------- */

ScBcastSlot *
sc_bcast_slot_new (ScBcastPipeline *p, GstElement *mixer, const char *desc, GError **error)
{
  /* No automatic ghosting: textoverlay's text pad would become a linked
   * ghost pad, and textoverlay then waits forever for text. */
  GstElement *bin = gst_parse_bin_from_description (desc, FALSE, error);
  if (!bin)
    return NULL;
  g_autoptr (GstElement) last = gst_bin_get_by_name (GST_BIN (bin), "out");
  g_autoptr (GstPad) last_src = gst_element_get_static_pad (last, "src");
  gst_element_add_pad (bin, gst_ghost_pad_new ("src", last_src));
  g_autofree char *name = g_strdup_printf ("slot%u", g_atomic_int_add (&slot_counter, 1));
  gst_object_set_name (GST_OBJECT (bin), name);

  ScBcastSlot *s = g_new0 (ScBcastSlot, 1);
  s->bin = bin;
  s->mixer = mixer;
  s->src = gst_bin_get_by_name (GST_BIN (bin), "src");
  s->crop = gst_bin_get_by_name (GST_BIN (bin), "crop");
  s->text = gst_bin_get_by_name (GST_BIN (bin), "text");
  gst_bin_add (GST_BIN (p->pipeline), bin);
  s->mixpad = gst_element_request_pad_simple (mixer, "sink_%u");
  if (mixer == p->comp)
    /* At stop, sources end in any order: keep the last frames, so the
     * final output frames do not flash to black. */
    g_object_set (s->mixpad, "repeat-after-eos", TRUE, NULL);
  g_autoptr (GstPad) srcpad = gst_element_get_static_pad (bin, "src");
  GstPadLinkReturn link = gst_pad_link (srcpad, s->mixpad);
  if (link != GST_PAD_LINK_OK) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "could not link %s to the %s: %s", name,
                 GST_OBJECT_NAME (mixer), gst_pad_link_get_name (link));
    sc_bcast_slot_free (p, s);
    return NULL;
  }
  return s;
}

/* Called with no data path through the mixer pad any more worth keeping.
 * Releasing the pad first flushes it, so a branch blocked in the aggregator
 * wakes up before we shut it down. */
static GstPadProbeReturn
drop_all (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  return GST_PAD_PROBE_DROP;
}

void
sc_bcast_slot_free (ScBcastPipeline *p, ScBcastSlot *s)
{
  if (!s)
    return;
  /* Between the release and the state change the branch's source may push
   * once more into a pad with no peer: its not-linked error would fail the
   * whole mix (seen: a placeholder retired while participants joined).
   * Dropped data returns OK; probes run before the peer is looked at. */
  g_autoptr (GstPad) out = gst_element_get_static_pad (s->bin, "src");
  gst_pad_add_probe (out, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM, drop_all, NULL, NULL);
  gst_element_release_request_pad (s->mixer, s->mixpad);
  gst_object_unref (s->mixpad);
  gst_element_set_state (s->bin, GST_STATE_NULL);
  g_clear_object (&s->src);
  g_clear_object (&s->crop);
  g_clear_object (&s->text);
  for (guint i = 0; i < SC_BCAST_N_GEOM; i++)
    g_clear_object (&s->cs[i]);
  gst_bin_remove (GST_BIN (p->pipeline), s->bin);
  g_free (s);
}

static void
input_free (ScBcastPipeline *p, ScBcastInput *in)
{
  sc_bcast_slot_free (p, in->video);
  sc_bcast_slot_free (p, in->audio);
  g_free (in->id);
  g_free (in);
}

/* ---- construction -------------------------------------------------------- */

static GstPadProbeReturn
comp_out_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  ScBcastPipeline *p = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  g_mutex_lock (&p->lock);
  p->last_out_pts = GST_BUFFER_PTS (buf);
  g_mutex_unlock (&p->lock);
  return GST_PAD_PROBE_OK;
}

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  ScBcastPipeline *p = user_data;
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_LATENCY:
      gst_bin_recalculate_latency (GST_BIN (p->pipeline));
      break;
    case GST_MESSAGE_WARNING: {
      g_autoptr (GError) e = NULL;
      gst_message_parse_warning (msg, &e, NULL);
      g_warning ("bcast: %s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), e->message);
      break;
    }
    case GST_MESSAGE_ERROR: {
      g_autoptr (GError) e = NULL;
      g_autofree char *dbg = NULL;
      gst_message_parse_error (msg, &e, &dbg);
      /* A participant branch failing (bad caps pushed in...) only costs that
       * participant its tile; anything else breaks the mix. */
      g_mutex_lock (&p->lock);
      GHashTableIter it;
      gpointer v;
      ScBcastInput *culprit = NULL;
      g_hash_table_iter_init (&it, p->inputs);
      while (!culprit && g_hash_table_iter_next (&it, NULL, &v)) {
        ScBcastInput *in = v;
        if ((in->video && gst_object_has_as_ancestor (GST_MESSAGE_SRC (msg), GST_OBJECT (in->video->bin))) ||
            (in->audio && gst_object_has_as_ancestor (GST_MESSAGE_SRC (msg), GST_OBJECT (in->audio->bin))))
          culprit = in;
      }
      if (culprit)
        g_hash_table_steal (p->inputs, culprit->id);
      g_mutex_unlock (&p->lock);
      if (culprit) {
        g_warning ("bcast: participant %s dropped: %s", culprit->id, e->message);
        g_autofree char *id = g_strdup (culprit->id);
        input_free (p, culprit);
        if (p->input_failed_func)
          p->input_failed_func (p, id, e->message, p->input_failed_data);
      } else if (!p->stopping) {
        g_autofree char *why = g_strdup_printf ("mixing pipeline: %s", e->message);
        g_warning ("bcast: %s (%s)", why, dbg ? dbg : "");
        sc_bcast_output_teardown (p);
        sc_bcast_set_state (p, SC_BCAST_FAILED, why);
      }
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

ScBcastPipeline *
sc_bcast_pipeline_new (const ScBcastConfig *cfg, GError **error)
{
  gst_init (NULL, NULL);
  if (cfg->width <= 0 || cfg->height <= 0 || cfg->width % 2 || cfg->height % 2) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "broadcast: output size must be positive and even, not %dx%d",
                 cfg->width, cfg->height);
    return NULL;
  }
  if (!cfg->rtmp_url || !(g_str_has_prefix (cfg->rtmp_url, "rtmp://") ||
                          g_str_has_prefix (cfg->rtmp_url, "rtmps://"))) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "broadcast: rtmp_url must be an rtmp:// or rtmps:// URL");
    return NULL;
  }
  g_autoptr (ScEncoderChoice) enc = sc_encoder_probe (cfg->pipelines_dir, cfg->encoder, error);
  if (!enc)
    return NULL;

  ScEncoderSettings es = { .width = cfg->width, .height = cfg->height,
                           .fps = cfg->fps > 0 ? cfg->fps : 30,
                           .video_kbps = cfg->video_kbps };
  g_autofree char *venc = sc_encoder_fragment_render (enc->video, &es, error);
  if (!venc)
    return NULL;
  g_autofree char *aenc = sc_encoder_fragment_render (enc->audio, &es, error);
  if (!aenc)
    return NULL;

  /* force-live: a branch that has not started yet fails the latency query,
   * and a mixer that thereby thinks it is not live races ahead of the
   * clock instead of aggregating on its deadline.
   * Fixed output caps after both mixers: whoever joins or leaves, the
   * encoders never see a new format.  The filler sources keep both mixers
   * producing even with no participant at all. */
  g_autofree char *desc = g_strdup_printf (
      "compositor name=comp background=black force-live=true max-threads=1 latency=%" G_GUINT64_FORMAT
      " ! " SC_BCAST_RAW ",width=%d,height=%d,framerate=%d/1,pixel-aspect-ratio=1/1"
      " ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000"
      " ! %s ! h264parse ! video/x-h264,stream-format=avc,alignment=au"
      " ! appsink name=vsink sync=false async=false"
      " videotestsrc is-live=true pattern=solid-color foreground-color=%u"
      " ! " SC_BCAST_RAW ",width=%d,height=%d,framerate=%d/1 ! comp."
      " audiomixer name=amix force-live=true output-buffer-duration=21333333 latency=%" G_GUINT64_FORMAT
      " ! audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved"
      " ! queue name=aq max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000"
      " ! %s ! aacparse ! appsink name=asink sync=false async=false"
      " audiotestsrc is-live=true wave=silence"
      " ! audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved ! amix.",
      (guint64) MIXER_LATENCY, cfg->width, cfg->height, es.fps, venc,
      cfg->background_argb, cfg->width, cfg->height, es.fps,
      (guint64) MIXER_LATENCY, aenc);
  g_autoptr (GError) perr = NULL;
  GstElement *pipeline = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &perr);
  if (!pipeline) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL,
                 "broadcast: could not build the pipeline: %s", perr->message);
    return NULL;
  }

  ScBcastPipeline *p = g_new0 (ScBcastPipeline, 1);
  g_mutex_init (&p->lock);
  p->ctx = g_main_context_ref_thread_default ();
  p->width = cfg->width;
  p->height = cfg->height;
  p->fps = es.fps;
  p->rtmp_url = g_strdup (cfg->rtmp_url);
  p->background_argb = cfg->background_argb;
  p->placeholder_argb = cfg->placeholder_argb ? cfg->placeholder_argb : 0xff303030;
  p->background_image = g_strdup (cfg->background_image);
  p->backoff_max_s = cfg->backoff_max_s ? cfg->backoff_max_s : 30;
  p->encoders = g_steal_pointer (&enc);
  p->pipeline = pipeline;
  p->comp = gst_bin_get_by_name (GST_BIN (pipeline), "comp");
  p->amix = gst_bin_get_by_name (GST_BIN (pipeline), "amix");
  p->vsink = gst_bin_get_by_name (GST_BIN (pipeline), "vsink");
  p->asink = gst_bin_get_by_name (GST_BIN (pipeline), "asink");
  p->inputs = g_hash_table_new (g_str_hash, g_str_equal);
  p->placeholders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  p->last_out_pts = GST_CLOCK_TIME_NONE;
  p->layout_at = GST_CLOCK_TIME_NONE;
  p->stop_at = GST_CLOCK_TIME_NONE;
  p->state = SC_BCAST_IDLE;
  p->backoff_s = 1;
  sc_bcast_tiles_init (p);
  sc_bcast_preview_init (p);

  g_autoptr (GstPad) filler = gst_element_get_static_pad (p->comp, "sink_0");
  g_object_set (filler, "repeat-after-eos", TRUE, NULL);
  g_autoptr (GstPad) comp_src = gst_element_get_static_pad (p->comp, "src");
  gst_pad_add_probe (comp_src, GST_PAD_PROBE_TYPE_BUFFER, comp_out_probe, p, NULL);

  if (p->background_image) {
    g_autofree char *uri = gst_uri_is_valid (p->background_image)
        ? g_strdup (p->background_image)
        : gst_filename_to_uri (p->background_image, NULL);
    g_autofree char *bdesc = g_strdup_printf (
        "uridecodebin uri=\"%s\" ! videoconvert ! videoscale"
        " ! video/x-raw,width=%d,height=%d ! imagefreeze is-live=true name=src"
        " ! videoconvert ! capsfilter name=out caps=\"" SC_BCAST_RAW ",framerate=%d/1\"", uri, p->width, p->height, p->fps);
    ScBcastSlot *bg = sc_bcast_slot_new (p, p->comp, bdesc, error);
    if (!bg) {
      sc_bcast_pipeline_free (p);
      return NULL;
    }
    g_object_set (bg->mixpad, "zorder", 1, NULL);
    g_hash_table_insert (p->placeholders, g_strdup (""), bg);  /* owned there */
  }

  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  p->bus_watch = gst_bus_create_watch (bus);
  g_source_set_callback (p->bus_watch, G_SOURCE_FUNC (on_bus), p, NULL);
  g_source_attach (p->bus_watch, p->ctx);
  sc_bcast_output_attach_sinks (p);
  /* The URL's last segment is the stream key: never in a log line. */
  g_autofree char *where = g_strndup (p->rtmp_url, strrchr (p->rtmp_url, '/') - p->rtmp_url);
  g_message ("bcast: %dx%d@%d with %s + %s -> %s/…", p->width, p->height, p->fps,
             p->encoders->video->name, p->encoders->audio->name, where);
  return p;
}

void
sc_bcast_pipeline_set_state_func (ScBcastPipeline *p, ScBcastStateFunc func,
                                  gpointer user_data)
{
  p->state_func = func;
  p->state_data = user_data;
}

void
sc_bcast_pipeline_set_input_failed_func (ScBcastPipeline *p, ScBcastInputFailedFunc func,
                                         gpointer user_data)
{
  p->input_failed_func = func;
  p->input_failed_data = user_data;
}

gboolean
sc_bcast_pipeline_start (ScBcastPipeline *p, GError **error)
{
  if (gst_element_set_state (p->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL,
                 "broadcast: the mixing pipeline did not start");
    return FALSE;
  }
  if (!sc_bcast_output_start (p, error)) {
    gst_element_set_state (p->pipeline, GST_STATE_NULL);
    return FALSE;
  }
  sc_bcast_set_state (p, SC_BCAST_RUNNING, NULL);
  return TRUE;
}

/* EOS from every source drains the mixers and encoders; the appsink EOS
 * handlers end the output's appsrcs, flvmux finishes, and rtmp2sink sends
 * FCUnpublish/deleteStream.  Returns the output to wait on. */
static GstElement *
stop_begin (ScBcastPipeline *p)
{
  p->stopping = TRUE;
  GstClockTime now = sc_bcast_pipeline_running_time (p);
  g_mutex_lock (&p->lock);
  p->stop_at = now;
  g_mutex_unlock (&p->lock);
  GstElement *out = sc_bcast_output_begin_drain (p);
  gst_element_send_event (p->pipeline, gst_event_new_eos ());
  return out;
}

static void
stop_end (ScBcastPipeline *p)
{
  sc_bcast_output_teardown (p);
  gst_element_set_state (p->pipeline, GST_STATE_NULL);
  sc_bcast_set_state (p, SC_BCAST_STOPPED, NULL);
}

void
sc_bcast_pipeline_stop (ScBcastPipeline *p)
{
  if (p->stopping)
    return;
  g_autoptr (GstElement) out = stop_begin (p);
  sc_bcast_output_drain (out);
  stop_end (p);
}

typedef struct {
  ScBcastPipeline *p;
  ScBcastStoppedFunc func;
  gpointer data;
} StopClosure;

static void
drain_thread (GTask *task, gpointer source, gpointer out, GCancellable *cancellable)
{
  sc_bcast_output_drain (out);
  g_task_return_boolean (task, TRUE);
}

static void
drained (GObject *source, GAsyncResult *res, gpointer user_data)
{
  StopClosure *c = user_data;
  stop_end (c->p);
  c->func (c->p, c->data);
  g_free (c);
}

void
sc_bcast_pipeline_stop_async (ScBcastPipeline *p, ScBcastStoppedFunc func, gpointer user_data)
{
  g_return_if_fail (!p->stopping);
  StopClosure *c = g_new0 (StopClosure, 1);
  c->p = p;
  c->func = func;
  c->data = user_data;
  /* The callback comes back on the caller's context, which owns p. */
  g_autoptr (GTask) task = g_task_new (NULL, NULL, drained, c);
  GstElement *out = stop_begin (p);
  g_task_set_task_data (task, out, out ? (GDestroyNotify) gst_object_unref : NULL);
  g_task_run_in_thread (task, drain_thread);
}

void
sc_bcast_pipeline_free (ScBcastPipeline *p)
{
  if (!p)
    return;
  p->stopping = TRUE;
  sc_bcast_output_teardown (p);
  gst_element_set_state (p->pipeline, GST_STATE_NULL);
  /* Audio waits there for a session even when none is open. */
  g_queue_clear_full (&p->early_audio, (GDestroyNotify) gst_sample_unref);
  if (p->bus_watch) {
    g_source_destroy (p->bus_watch);
    g_source_unref (p->bus_watch);
  }
  sc_bcast_cancel_notes (p);
  sc_bcast_preview_clear (p);
  sc_bcast_tiles_clear (p);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, p->inputs);
  while (g_hash_table_iter_next (&it, NULL, &v))
    input_free (p, v);
  g_hash_table_unref (p->inputs);
  g_hash_table_iter_init (&it, p->placeholders);
  while (g_hash_table_iter_next (&it, NULL, &v))
    sc_bcast_slot_free (p, v);
  g_hash_table_unref (p->placeholders);
  gst_object_unref (p->comp);
  gst_object_unref (p->amix);
  gst_object_unref (p->vsink);
  gst_object_unref (p->asink);
  gst_object_unref (p->pipeline);
  sc_encoder_choice_free (p->encoders);
  g_main_context_unref (p->ctx);
  g_free (p->rtmp_url);
  g_free (p->background_image);
  g_free (p->reason);
  g_mutex_clear (&p->lock);
  g_free (p);
}

/* ---- inputs --------------------------------------------------------------- */

GstClockTime
sc_bcast_pipeline_running_time (ScBcastPipeline *p)
{
  g_autoptr (GstClock) clock = gst_element_get_clock (p->pipeline);
  if (!clock)
    return GST_CLOCK_TIME_NONE;
  GstClockTime now = gst_clock_get_time (clock);
  GstClockTime base = gst_element_get_base_time (p->pipeline);
  return now > base ? now - base : 0;
}

void
sc_bcast_pipeline_add_input (ScBcastPipeline *p, const char *participant_id)
{
  g_mutex_lock (&p->lock);
  gboolean exists = g_hash_table_contains (p->inputs, participant_id);
  g_mutex_unlock (&p->lock);
  if (exists)
    return;

  /* appsrc is not stamping (do-timestamp=false): push_* maps each sample's
   * running time onto ours with a per-participant offset, which keeps the
   * participant's own audio/video alignment and frame spacing.  The leaky
   * queue keeps a slow branch from ever backing up into the caller. */
  g_autoptr (GError) error = NULL;
  ScBcastInput *in = g_new0 (ScBcastInput, 1);
  in->late_since = GST_CLOCK_TIME_NONE;
  in->id = g_strdup (participant_id);
  in->video = sc_bcast_slot_new (p, p->comp,
      "appsrc name=src is-live=true format=time do-timestamp=false block=false"
      " max-bytes=0 max-buffers=5 leaky-type=downstream"
      " ! queue leaky=downstream max-size-buffers=3 max-size-bytes=0 max-size-time=0"
      " ! videoconvert ! aspectratiocrop name=crop"
      " ! textoverlay name=text silent=true valignment=bottom halignment=left"
      "   shaded-background=true font-desc=\"Sans Bold 28\" ! videoconvert"
      " ! capsfilter name=out caps=\"" SC_BCAST_RAW "\"",
      &error);
  if (in->video) {
    sc_bcast_slot_make_tile (in->video);
    in->audio = sc_bcast_slot_new (p, p->amix,
        "appsrc name=src is-live=true format=time do-timestamp=false block=false"
        " max-bytes=0 max-buffers=20 leaky-type=downstream"
        " ! queue leaky=downstream max-size-buffers=0 max-size-bytes=0 max-size-time=300000000"
        " ! audioconvert ! audioresample"
        " ! capsfilter name=out caps=\"audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved\"",
        &error);
  }
  if (!in->video || !in->audio) {
    g_warning ("bcast: cannot add participant %s: %s", participant_id, error->message);
    input_free (p, in);
    return;
  }
  gst_element_sync_state_with_parent (in->video->bin);
  gst_element_sync_state_with_parent (in->audio->bin);
  g_mutex_lock (&p->lock);
  g_hash_table_insert (p->inputs, in->id, in);
  g_mutex_unlock (&p->lock);
}

void
sc_bcast_pipeline_remove_input (ScBcastPipeline *p, const char *participant_id)
{
  g_mutex_lock (&p->lock);
  ScBcastInput *in = g_hash_table_lookup (p->inputs, participant_id);
  if (in)
    g_hash_table_steal (p->inputs, participant_id);
  g_mutex_unlock (&p->lock);
  if (in)
    input_free (p, in);
}

static void
push_sample (ScBcastPipeline *p, const char *participant_id, GstSample *sample,
             gboolean video)
{
  GstBuffer *buf = gst_sample_get_buffer (sample);
  if (!buf || !GST_BUFFER_PTS_IS_VALID (buf))
    return;
  GstClockTime now = sc_bcast_pipeline_running_time (p);
  if (!GST_CLOCK_TIME_IS_VALID (now))
    return;   /* not started */
  const GstSegment *seg = gst_sample_get_segment (sample);
  GstClockTime theirs = GST_BUFFER_PTS (buf);
  if (seg && seg->format == GST_FORMAT_TIME) {
    GstClockTime rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME, theirs);
    if (GST_CLOCK_TIME_IS_VALID (rt))
      theirs = rt;
  }

  g_mutex_lock (&p->lock);
  ScBcastInput *in = g_hash_table_lookup (p->inputs, participant_id);
  GstElement *src = NULL;
  GstClockTimeDiff mapped = 0;
  if (in) {
    ScBcastSlot *s = video ? in->video : in->audio;
    src = gst_object_ref (s->src);
    GstClockTimeDiff ahead = (GstClockTimeDiff) theirs + in->offset - (GstClockTimeDiff) now;
    if (ahead >= -(GstClockTimeDiff) MIXER_LATENCY)
      in->late_since = GST_CLOCK_TIME_NONE;
    else if (!GST_CLOCK_TIME_IS_VALID (in->late_since))
      in->late_since = now;
    if (!in->anchored || ABS (ahead) > REANCHOR_LIMIT ||
        (GST_CLOCK_TIME_IS_VALID (in->late_since) && now - in->late_since > LATE_HOLD)) {
      in->offset = (GstClockTimeDiff) now - (GstClockTimeDiff) theirs;
      in->anchored = TRUE;
      in->late_since = GST_CLOCK_TIME_NONE;
    }
    mapped = (GstClockTimeDiff) theirs + in->offset;
  }
  g_mutex_unlock (&p->lock);
  if (!src)
    return;

  GstCaps *caps = gst_sample_get_caps (sample);
  g_autoptr (GstCaps) cur = gst_app_src_get_caps (GST_APP_SRC (src));
  if (caps && (!cur || !gst_caps_is_equal (cur, caps)))
    gst_app_src_set_caps (GST_APP_SRC (src), caps);
  GstBuffer *out = gst_buffer_copy (buf);   /* shares the memory */
  GST_BUFFER_PTS (out) = mapped > 0 ? (GstClockTime) mapped : 0;
  GST_BUFFER_DTS (out) = GST_CLOCK_TIME_NONE;
  gst_app_src_push_buffer (GST_APP_SRC (src), out);
  gst_object_unref (src);
}

void
sc_bcast_pipeline_push_video (ScBcastPipeline *p, const char *participant_id, GstSample *s)
{
  push_sample (p, participant_id, s, TRUE);
}

void
sc_bcast_pipeline_push_audio (ScBcastPipeline *p, const char *participant_id, GstSample *s)
{
  push_sample (p, participant_id, s, FALSE);
}

void
sc_bcast_pipeline_get_health (ScBcastPipeline *p, ScBcastHealth *out)
{
  memset (out, 0, sizeof *out);
  g_strlcpy (out->video_encoder, p->encoders->video->name, sizeof out->video_encoder);
  g_strlcpy (out->audio_encoder, p->encoders->audio->name, sizeof out->audio_encoder);
  gint64 now = g_get_monotonic_time ();
  g_mutex_lock (&p->lock);
  /* Rates are measured by the output itself (bcast-output.c), once a
   * second; a window that has not closed for two means nothing came out. */
  gboolean stale = now - p->rate_t0_us > 2 * G_USEC_PER_SEC;
  out->state = p->state;
  g_strlcpy (out->reason, p->reason ? p->reason : "", sizeof out->reason);
  out->output_fps = stale ? 0 : p->fps_now;
  out->bitrate_bps = stale ? 0 : p->bps_now;
  out->frames_out = p->frames_out;
  out->frames_dropped = p->frames_dropped;
  out->reconnects = p->reconnects;
  out->position = p->last_out_pts;
  out->layout_at = p->layout_at;
  out->session_start = p->out_vsrc && !p->need_keyframe ? p->session_base : GST_CLOCK_TIME_NONE;
  g_mutex_unlock (&p->lock);
}
