/* Internals shared by the WHIP peer's negotiation (whip-peer.c), its
 * decode chains and taps (whip-tracks.c) and forwarding (whip-forward.c). */
#pragma once

#include "spacecast/whip.h"

#include <gst/sdp/sdp.h>

typedef struct {
  ScWhipPeer     *peer;           /* not a ref: the peer owns its tracks */
  GstPad         *pad;            /* webrtcbin src pad, not a ref */
  ScWhipTrackKind kind;
  char            codec[16];
  guint64         frames;         /* under peer->lock */
  gint            width, height;  /* under peer->lock */
  gint64          last_key_us;    /* last key unit request sent, this pad's thread */
} ScWhipTrack;

/* A publisher's ScWhipMediaStats, shared (atomic refcounted box) with
 * webrtcbin's statistics replies, which may outlive the peer. */
typedef struct {
  GMutex           lock;
  ScWhipMediaStats stats;
} ScWhipMediaBox;

/* What a viewer sends on one m-line. */
typedef struct {
  gboolean        present;
  ScWhipSendTrack info;
  guint32         ssrc;           /* ours, announced in the answer */
  gint            pt;             /* negotiated; -1 until answered */
  gint            mline;          /* in the answer; -1 until answered */
  GstElement     *appsrc;         /* atomic; a ref once linked */
  GstBufferList  *frame;          /* video: the packets of the frame being sent */
  guint32         frame_ts;       /* their RTP timestamp */
} ScWhipSendSlot;

struct _ScWhipPeer {
  GObject       parent;
  GMainContext *ctx;              /* the owner's: every signal is emitted here */
  char         *label;
  GstElement   *pipeline;
  GstElement   *webrtc;
  gint64        created_us;
  guint         no_media_timeout_s;
  guint         gather_timeout_ms;

  GSource      *bus_source;
  GSource      *watchdog;
  GSource      *gather_timeout;
  GTask        *task;             /* pending negotiation, main context only */
  GstSDPMessage *offer;           /* kept to repair the answer */

  gint          closed;           /* atomic */
  gint          first_frame;      /* atomic */
  gint          last_media_ds;    /* atomic: deciseconds since creation */
  gboolean      ended;            /* main context only */

  GMutex        lock;             /* taps, tracks, audio_level */
  GPtrArray    *taps;
  guint         next_tap_id;
  GPtrArray    *tracks;           /* ScWhipTrack*, freed with the peer */
  gdouble       audio_level;

  ScWhipMediaBox *media;
  guint         ticks;            /* of the watchdog, main context only */

  gint          want_keyframe;    /* atomic: a forwarded viewer asked */
  ScWhipSendTrack published[2];   /* publishers: what the answer negotiated */
  guint         n_published;

  /* Viewers only (whip-forward.c). */
  gboolean      viewer;
  ScWhipSendSlot send[2];         /* by ScWhipTrackKind */
  GstClockTime  base_time;
  ScWhipKeyframeFunc keyframe_cb;
  gpointer      keyframe_data;
  GDestroyNotify keyframe_notify;
};

typedef void (*ScWhipPeerMainFunc) (ScWhipPeer *peer, gpointer data);

/* Run @func on the owner's context (never inline on the calling thread),
 * unless the peer has been closed by then. */
void     sc_whip_peer_defer          (ScWhipPeer *peer, ScWhipPeerMainFunc func,
                                      gpointer data, GDestroyNotify free_data);
void     sc_whip_peer_end            (ScWhipPeer *peer, ScWhipEndReason reason,
                                      const char *message);
void     sc_whip_peer_touch_media    (ScWhipPeer *peer);

/* whip-watch.c: the watchdog (a 500 ms timeout on the owner's context),
 * the bus watch and webrtcbin's notify::*connection-state handler. */
gboolean sc_whip_peer_watchdog_tick  (gpointer peer);
ScWhipMediaBox *sc_whip_media_box_new (void);
void     sc_whip_media_box_release   (gpointer box);
gboolean sc_whip_peer_bus_message    (GstBus *bus, GstMessage *msg, gpointer peer);
void     sc_whip_peer_connection_state (GstElement *webrtc, GParamSpec *pspec, ScWhipPeer *peer);

/* webrtcbin "pad-added"/"pad-removed" handlers (streaming thread). */
void     sc_whip_tracks_pad_added    (GstElement *webrtc, GstPad *pad, ScWhipPeer *peer);
void     sc_whip_tracks_pad_removed  (GstElement *webrtc, GstPad *pad, ScWhipPeer *peer);
void     sc_whip_tracks_free_taps    (ScWhipPeer *peer);
gboolean sc_whip_codec_supported     (const char *encoding_name);
/* Forward @buf to the RTP taps, and send a pending key frame request
 * upstream of @track's pad when its window allows (streaming thread). */
void     sc_whip_tracks_forward      (ScWhipTrack *track, GstBuffer *buf);

/* whip-forward.c: the viewer side. */
void     sc_whip_forward_add_transceivers (ScWhipPeer *viewer);
void     sc_whip_forward_pad_added   (GstElement *webrtc, GstPad *pad, ScWhipPeer *viewer);
/* Its receiver's RTCP is a viewer's sign of life. */
void     sc_whip_forward_watch_rtcp  (ScWhipPeer *viewer);
/* Reads the negotiated payload types off @answer; FALSE with
 * SC_ERROR_UNPROCESSABLE when a track found no m-line to go out on. */
gboolean sc_whip_forward_take_answer (ScWhipPeer *viewer, const GstSDPMessage *answer,
                                      GError **error);
void     sc_whip_forward_clear       (ScWhipPeer *viewer);

/* whip-sdp.c */
gboolean sc_whip_sdp_check_offer     (const GstSDPMessage *offer, gboolean *has_video,
                                      gboolean *has_audio, GError **error);
gboolean sc_whip_sdp_check_answer    (const GstSDPMessage *answer, GError **error);
void     sc_whip_sdp_restore_h264_profile (GstSDPMessage *answer,
                                           const GstSDPMessage *offer);
/* The codec of each served m-line of @answer (room for 2); how many. */
guint    sc_whip_sdp_answer_tracks   (const GstSDPMessage *answer, ScWhipSendTrack *tracks);
