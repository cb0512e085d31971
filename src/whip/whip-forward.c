/* The viewer side of forwarding: sendonly transceivers for the tracks a
 * viewer is given, one leaky appsrc per negotiated sink pad, and the
 * per-packet rewrite that makes a source's RTP this viewer's own:
 *   sc_whip_viewer_send → [copy, PT, SSRC, no extensions] → appsrc → webrtcbin
 * Video goes into the appsrc a frame (a buffer list) at a time: its thread
 * then wakes once a frame rather than once a packet, and a context switch
 * per packet per viewer was most of what a viewer cost.  A frame's packets
 * arrive back to back, so holding them until its last one (the marker, or
 * failing that the next frame's first) delays none of them noticeably.
 * The source's pipeline never waits for a viewer: appsrc drops its oldest
 * packets when the viewer cannot keep up (GStreamer 1.22 webrtcbin also
 * blocks its sink pads until DTLS is up).  Key frame requests leave through
 * an upstream probe on the appsrc, where webrtcbin's rtpfunnel routes them
 * by the SSRC in the caps (realtime notes §1.3, §1.6). */
#define GST_USE_UNSTABLE_API
#include "whip-private.h"
#include "spacecast/core.h"

#include <gst/app/gstappsrc.h>
#include <gst/rtp/rtp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>
#include <string.h>

/* Packets a viewer may fall behind by before it drops its oldest: about a
 * second of 2.5 Mbit/s video, much more of Opus. */
#define QUEUE_PACKETS 256
#define VIEWER_MIN_TIMEOUT_S 8

static guint
clock_rate_of (const char *codec)
{
  return g_str_equal (codec, "OPUS") ? 48000 : 90000;
}

/* libwebrtc compares H.264 profiles, not levels (notes §1.7): ask for
 * the publisher's profile so that the viewer's matching payload type wins. */
static const char *
h264_profile (const char *plid)
{
  if (g_ascii_strncasecmp (plid, "4d", 2) == 0)
    return "main";
  if (g_ascii_strncasecmp (plid, "64", 2) == 0)
    return "high";
  if (g_ascii_strncasecmp (plid, "4200", 4) == 0)
    return "baseline";
  return "constrained-baseline";
}

static GstCaps *
slot_caps (const ScWhipSendSlot *slot, gboolean with_pt)
{
  const char *codec = slot->info.codec;
  GstCaps *caps = gst_caps_new_simple ("application/x-rtp",
      "media", G_TYPE_STRING, slot->info.kind == SC_WHIP_TRACK_VIDEO ? "video" : "audio",
      "encoding-name", G_TYPE_STRING, codec,
      "clock-rate", G_TYPE_INT, (gint) clock_rate_of (codec),
      /* In the preferences it puts a=ssrc/msid in the answer; on the pad it
       * is how rtpfunnel finds the pad for a key frame request. */
      "ssrc", G_TYPE_UINT, slot->ssrc, NULL);

  if (g_str_equal (codec, "H264"))
    gst_caps_set_simple (caps, "packetization-mode", G_TYPE_STRING, "1",
                         "profile", G_TYPE_STRING, h264_profile (slot->info.profile_level_id),
                         NULL);
  /* A payload type in the preferences that differs from the offer's makes
   * 1.22 answer the m-line inactive: only the pad gets one. */
  if (with_pt)
    gst_caps_set_simple (caps, "payload", G_TYPE_INT, slot->pt, NULL);
  return caps;
}

void
sc_whip_forward_add_transceivers (ScWhipPeer *viewer)
{
  for (guint k = 0; k < G_N_ELEMENTS (viewer->send); k++) {
    ScWhipSendSlot *slot = &viewer->send[k];
    g_autoptr (GstCaps) caps = NULL;
    GstWebRTCRTPTransceiver *trans = NULL;

    if (!slot->present)
      continue;
    caps = slot_caps (slot, FALSE);
    g_signal_emit_by_name (viewer->webrtc, "add-transceiver",
                           GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, caps, &trans);
    g_clear_object (&trans);
  }
}

gboolean
sc_whip_forward_take_answer (ScWhipPeer *viewer, const GstSDPMessage *answer, GError **error)
{
  for (guint i = 0; i < gst_sdp_message_medias_len (answer); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (answer, i);
    ScWhipTrackKind kind = g_strcmp0 (gst_sdp_media_get_media (m), "audio") == 0
                           ? SC_WHIP_TRACK_AUDIO : SC_WHIP_TRACK_VIDEO;
    ScWhipSendSlot *slot = &viewer->send[kind];

    if (!slot->present || slot->mline >= 0 || gst_sdp_media_get_port (m) == 0 ||
        gst_sdp_media_get_attribute_val (m, "inactive") != NULL ||
        gst_sdp_media_formats_len (m) == 0)
      continue;
    slot->pt = (gint) g_ascii_strtoll (gst_sdp_media_get_format (m, 0), NULL, 10);
    slot->mline = (gint) i;
  }
  for (guint k = 0; k < G_N_ELEMENTS (viewer->send); k++) {
    ScWhipSendSlot *slot = &viewer->send[k];

    if (slot->present && slot->mline < 0) {
      const char *plid = slot->info.profile_level_id;
      g_set_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE,
                   "the offer cannot receive the %s track (%s%s%s): offer a recvonly %s "
                   "m-line with that codec%s",
                   k == SC_WHIP_TRACK_VIDEO ? "video" : "audio", slot->info.codec,
                   plid[0] ? ", profile-level-id " : "", plid,
                   k == SC_WHIP_TRACK_VIDEO ? "video" : "audio",
                   plid[0] ? " and profile" : "");
      return FALSE;
    }
  }
  return TRUE;
}

/* ---- streaming ------------------------------------------------------------ */

static GstPadProbeReturn
on_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  ScWhipPeer *viewer = user_data;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

  if (!gst_video_event_is_force_key_unit (event))
    return GST_PAD_PROBE_OK;
  /* The source makes its own request; this one carries our SSRC, which
   * means nothing upstream of the appsrc. */
  if (viewer->keyframe_cb != NULL && !g_atomic_int_get (&viewer->closed))
    viewer->keyframe_cb (viewer->keyframe_data);
  return GST_PAD_PROBE_DROP;
}

/* GStreamer 1.22 webrtcbin puts a clocksync (sync=TRUE) behind each sink
 * pad.  What we forward is already paced by its arrival, yet the times the
 * source's jitter buffer gives video frames were (measured) a few ms ahead
 * of the clock when a frame's last packet came: 9 frames in 10 waited
 * ~3 ms on a clock timer before leaving.  Without it glass to glass is
 * ~4 ms shorter. */
static void
unpace (GstPad *pad)
{
  g_autoptr (GstPad) target = gst_ghost_pad_get_target (GST_GHOST_PAD (pad));
  g_autoptr (GstElement) el = target ? gst_pad_get_parent_element (target) : NULL;
  GstElementFactory *f = el ? gst_element_get_factory (el) : NULL;

  if (f != NULL && g_str_equal (GST_OBJECT_NAME (f), "clocksync"))
    g_object_set (el, "sync", FALSE, NULL);
}

void
sc_whip_forward_pad_added (GstElement *webrtc, GstPad *pad, ScWhipPeer *viewer)
{
  g_autoptr (GstWebRTCRTPTransceiver) trans = NULL;
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GstPad) srcpad = NULL;
  ScWhipSendSlot *slot = NULL;
  GstElement *src;
  guint mline = G_MAXUINT;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SINK || g_atomic_int_get (&viewer->closed))
    return;
  g_object_get (pad, "transceiver", &trans, NULL);
  if (trans != NULL)
    g_object_get (trans, "mlineindex", &mline, NULL);
  for (guint k = 0; k < G_N_ELEMENTS (viewer->send); k++)
    if (viewer->send[k].present && viewer->send[k].mline == (gint) mline)
      slot = &viewer->send[k];
  if (slot == NULL || g_atomic_pointer_get (&slot->appsrc) != NULL)
    return;

  src = gst_element_factory_make ("appsrc", NULL);
  if (src == NULL) {
    sc_whip_peer_end (viewer, SC_WHIP_END_PIPELINE_ERROR, "appsrc is not available");
    return;
  }
  caps = slot_caps (slot, TRUE);
  /* Timestamps come from the source, whose base time this pipeline shares. */
  g_object_set (src, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp", FALSE,
                "caps", caps, "max-buffers", (guint64) QUEUE_PACKETS, "max-bytes", (guint64) 0,
                "leaky-type", GST_APP_LEAKY_TYPE_DOWNSTREAM, "block", FALSE, NULL);
  gst_bin_add (GST_BIN (viewer->pipeline), src);
  srcpad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event, viewer, NULL);
  if (gst_pad_link (srcpad, pad) != GST_PAD_LINK_OK) {
    sc_whip_peer_end (viewer, SC_WHIP_END_PIPELINE_ERROR, "cannot link a forwarded track");
    return;
  }
  unpace (pad);
  gst_element_sync_state_with_parent (src);
  g_atomic_pointer_set (&slot->appsrc, gst_object_ref (src));
}

void
sc_whip_viewer_send (ScWhipPeer *viewer, ScWhipTrackKind kind, GstBuffer *rtp)
{
  GstRTPBuffer r = GST_RTP_BUFFER_INIT;
  ScWhipSendSlot *slot;
  GstElement *src;
  GstBuffer *out;

  g_return_if_fail (kind < G_N_ELEMENTS (viewer->send));
  slot = &viewer->send[kind];
  src = g_atomic_pointer_get (&slot->appsrc);
  if (src == NULL || g_atomic_int_get (&viewer->closed))
    return;
  /* Every viewer rewrites the header in its own copy; the payload is
   * shared until then and at most one packet (~1.2 kB) is copied. */
  out = gst_buffer_copy_deep (rtp);
  if (!gst_rtp_buffer_map (out, GST_MAP_READWRITE, &r)) {
    gst_buffer_unref (out);
    return;
  }
  gst_rtp_buffer_set_payload_type (&r, (guint8) slot->pt);
  gst_rtp_buffer_set_ssrc (&r, slot->ssrc);
  /* Extension ids were negotiated with the publisher, not with us. */
  if (gst_rtp_buffer_get_extension (&r))
    gst_rtp_buffer_remove_extension_data (&r);
  guint32 ts = gst_rtp_buffer_get_timestamp (&r);
  gboolean last = gst_rtp_buffer_get_marker (&r);
  gst_rtp_buffer_unmap (&r);
  if (kind != SC_WHIP_TRACK_VIDEO) {
    gst_app_src_push_buffer (GST_APP_SRC (src), out);
    return;
  }
  if (slot->frame != NULL && ts != slot->frame_ts)
    gst_app_src_push_buffer_list (GST_APP_SRC (src), g_steal_pointer (&slot->frame));
  if (slot->frame == NULL) {
    slot->frame = gst_buffer_list_new ();
    slot->frame_ts = ts;
  }
  gst_buffer_list_add (slot->frame, out);
  if (last)
    gst_app_src_push_buffer_list (GST_APP_SRC (src), g_steal_pointer (&slot->frame));
}

/* ---- liveness ------------------------------------------------------------- */

static void
on_ssrc_active (GstElement *rtpbin, guint session, guint ssrc, ScWhipPeer *viewer)
{
  sc_whip_peer_touch_media (viewer);
}

void
sc_whip_forward_watch_rtcp (ScWhipPeer *viewer)
{
  g_autoptr (GstIterator) it =
      gst_bin_iterate_all_by_element_factory_name (GST_BIN (viewer->webrtc), "rtpbin");
  GValue v = G_VALUE_INIT;

  /* A receiver reports at least every 7.5 s (RFC 3550's 5 s minimum,
   * randomised); browsers every second or so. */
  viewer->no_media_timeout_s = MAX (viewer->no_media_timeout_s, VIEWER_MIN_TIMEOUT_S);
  if (it != NULL && gst_iterator_next (it, &v) == GST_ITERATOR_OK) {
    g_signal_connect (g_value_get_object (&v), "on-ssrc-active",
                      G_CALLBACK (on_ssrc_active), viewer);
    g_value_unset (&v);
  }
}

void
sc_whip_forward_clear (ScWhipPeer *viewer)
{
  /* At finalize: nothing sends any more (senders hold a reference). */
  for (guint k = 0; k < G_N_ELEMENTS (viewer->send); k++) {
    g_clear_pointer (&viewer->send[k].appsrc, gst_object_unref);
    g_clear_pointer (&viewer->send[k].frame, gst_buffer_list_unref);
  }
  if (viewer->keyframe_notify != NULL)
    viewer->keyframe_notify (viewer->keyframe_data);
  viewer->keyframe_notify = NULL;
}
