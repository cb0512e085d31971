/* spacecast WHIP media engine: one webrtcbin pipeline per publishing
 * participant.  It answers a WHIP offer (recvonly, max-bundle, no trickle),
 * decodes each incoming track exactly once to a fixed raw format (video I420,
 * audio S16LE 48 kHz stereo) and fans the decoded samples out to any number
 * of taps (broadcasts, recorders).  It owns liveness detection for its
 * publisher (ICE/DTLS failure, pipeline errors, and a no-media timeout since
 * GStreamer 1.22 has no consent freshness).  It does not own HTTP, auth or
 * the participants registry: the daemon's WHIP route calls in here.
 *
 * Clock: every peer pipeline uses the system monotonic clock
 * (gst_system_clock_obtain ()), so "base time + buffer PTS" is an absolute
 * time on one clock shared by all peers and by consumer pipelines that also
 * use the system clock.  A tap's buffer PTS is in the running time of the
 * peer pipeline; add sc_whip_peer_get_base_time () to get clock time. */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  char    *ice_host;              /* the only host candidate address, e.g. 127.0.0.1;
                                   * NULL = let libnice pick every interface */
  guint16  udp_port_min;          /* 0,0 = any port */
  guint16  udp_port_max;
  char    *stun_server;           /* stun://host:port or NULL */
  char    *turn_server;           /* turn://user:pass@host:port or NULL */
  guint    no_media_timeout_s;    /* ended after this long without RTP; 0 = 10 s */
  guint    gather_timeout_ms;     /* answer anyway after this long; 0 = 5000 */
} ScWhipConfig;

typedef enum {
  SC_WHIP_TRACK_VIDEO,
  SC_WHIP_TRACK_AUDIO,
} ScWhipTrackKind;

typedef enum {
  SC_WHIP_END_NO_MEDIA,           /* publisher vanished without DELETE */
  SC_WHIP_END_ICE_FAILED,
  SC_WHIP_END_CONNECTION_FAILED,  /* DTLS or peer connection failed */
  SC_WHIP_END_PIPELINE_ERROR,
} ScWhipEndReason;

typedef struct {
  ScWhipTrackKind kind;
  char     codec[16];             /* "VP8", "H264", "OPUS" */
  guint64  frames;                /* decoded video frames / audio buffers */
  gint     width, height;         /* video only; 0 until the first frame */
} ScWhipTrackStats;

/* Called on a streaming thread for every decoded raw sample (caps inside the
 * sample).  Must not block; copy or ref what you keep. */
typedef void (*ScWhipTapFunc) (GstSample *sample, gpointer user_data);

#define SC_TYPE_WHIP_PEER (sc_whip_peer_get_type ())
G_DECLARE_FINAL_TYPE (ScWhipPeer, sc_whip_peer, SC, WHIP_PEER, GObject)

/* Signals, all emitted on the GMainContext that was thread-default when
 * sc_whip_peer_new_async () was called:
 *   "track-added"   (guint kind, const char *codec)
 *   "track-removed" (guint kind, const char *codec)
 *   "first-frame"   (gint64 usec_since_peer_creation)  first decoded video frame
 *   "audio-level"   (gdouble rms_dbov)                 ~10 per second, <= 0
 *   "ended"         (guint ScWhipEndReason, const char *message)  at most once;
 *                   the owner should then sc_whip_peer_close () it. */

/* Builds the pipeline, answers @offer_sdp and waits for ICE gathering.
 * Errors: SC_ERROR_INVALID for unparsable or unsupported offers (no
 * decodable codec, more than one audio or video m-line), SC_ERROR_INTERNAL. */
void         sc_whip_peer_new_async     (const ScWhipConfig *cfg,
                                         const char *participant_label,
                                         const char *offer_sdp,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
ScWhipPeer  *sc_whip_peer_new_finish    (GAsyncResult *result,
                                         char **answer_sdp,
                                         GError **error);

/* Attach a consumer of the decoded media; either callback may be NULL.
 * @notify runs when the tap is removed or the peer is finalized. */
guint        sc_whip_peer_add_tap       (ScWhipPeer *peer,
                                         ScWhipTapFunc video_cb,
                                         ScWhipTapFunc audio_cb,
                                         gpointer user_data,
                                         GDestroyNotify notify);
void         sc_whip_peer_remove_tap    (ScWhipPeer *peer, guint tap_id);

/* Tears the pipeline down on a worker thread (never a streaming thread);
 * no signal is emitted afterwards.  Idempotent.  Drop your ref after it. */
void         sc_whip_peer_close         (ScWhipPeer *peer);

const char  *sc_whip_peer_get_label     (ScWhipPeer *peer);
GstClockTime sc_whip_peer_get_base_time (ScWhipPeer *peer);
/* Array of ScWhipTrackStats, one per track seen so far. */
GArray      *sc_whip_peer_get_stats     (ScWhipPeer *peer);
/* What a publisher's media has been through so far: webrtcbin's
 * inbound-rtp statistics (read every 2 s, summed over its tracks) and its
 * decoders' errors.  All 0 for a viewer. */
typedef struct {
  guint64  packets_received;
  guint64  packets_lost;          /* never reached the jitterbuffer in time */
  guint64  nacks_sent;            /* retransmissions asked of the publisher */
  guint64  keyframe_requests;     /* PLI and FIR sent to the publisher */
  guint64  decode_errors;         /* frames or packets a decoder refused */
} ScWhipMediaStats;
void         sc_whip_peer_get_media_stats (ScWhipPeer *peer, ScWhipMediaStats *stats);
/* Last measured audio level (dBov), -127 when none yet. */
gdouble      sc_whip_peer_get_audio_level (ScWhipPeer *peer);

/* ---- forwarding: viewers (WHEP) ------------------------------------------
 * A viewer is a peer that answers a recvonly offer and sends RTP that
 * someone else already has (a publisher's tracks, a broadcast's program),
 * without decoding or encoding: the source pushes packets, the viewer
 * rewrites payload type and SSRC to what it negotiated, strips header
 * extensions and queues them leakily (a slow viewer drops its own oldest
 * packets and never blocks the source).  It answers with exactly the tracks
 * it is given.  Its "ended" signal fires on ICE/DTLS failure or when its
 * receiver stops sending RTCP for no_media_timeout_s (at least 8 s: RTCP
 * may come only every 7.5 s).  No other signal. */

typedef struct {
  ScWhipTrackKind kind;
  char     codec[16];             /* "VP8", "H264", "OPUS" */
  char     profile_level_id[8];   /* H.264 only, e.g. "42e01f"; "" = unknown */
} ScWhipSendTrack;

/* Called on a streaming thread when the viewer's receiver asks for a key
 * frame (PLI/FIR) on its video track, and once it connects.  Must not block. */
typedef void (*ScWhipKeyframeFunc) (gpointer user_data);

/* Called on a streaming thread with every RTP packet a publisher receives,
 * before decoding; borrowed, must not block. */
typedef void (*ScWhipRtpFunc) (ScWhipTrackKind kind, GstBuffer *rtp, gpointer user_data);

/* Answers a recvonly WHEP @offer_sdp with sendonly m-lines for @tracks (one
 * per kind at most).  @base_time is the running-time origin of the packets
 * that will be pushed (their source's pipeline base time): the viewer's
 * pipeline takes it so that their timestamps stay valid.  @keyframe_notify
 * frees @keyframe_data when the viewer is finalized.  Finish with
 * sc_whip_peer_new_finish.  Errors as sc_whip_peer_new_async, and
 * SC_ERROR_UNPROCESSABLE when the offer cannot receive one of @tracks. */
void         sc_whip_viewer_new_async   (const ScWhipConfig *cfg,
                                         const char *label,
                                         const char *offer_sdp,
                                         const ScWhipSendTrack *tracks,
                                         guint n_tracks,
                                         GstClockTime base_time,
                                         ScWhipKeyframeFunc keyframe_cb,
                                         gpointer keyframe_data,
                                         GDestroyNotify keyframe_notify,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
/* Any thread; never blocks; @rtp stays the caller's.  Packets pushed before
 * the viewer is connected, or for a kind it does not send, are dropped. */
void         sc_whip_viewer_send        (ScWhipPeer *viewer, ScWhipTrackKind kind,
                                         GstBuffer *rtp);
/* RTP packets a publishing peer receives, for forwarding; remove it with
 * sc_whip_peer_remove_tap, after which no callback runs any more. */
guint        sc_whip_peer_add_rtp_tap   (ScWhipPeer *peer, ScWhipRtpFunc cb,
                                         gpointer user_data, GDestroyNotify notify);
/* Asks the publisher for a video key frame.  Any thread.  Requests are
 * coalesced: at most one reaches the publisher per 500 ms, and one made
 * within that window is sent when it ends, not lost. */
void         sc_whip_peer_request_keyframe (ScWhipPeer *peer);
/* What a publishing peer sends, as its answer negotiated it: fills @tracks
 * (room for 2) and returns how many. */
guint        sc_whip_peer_get_send_tracks (ScWhipPeer *peer, ScWhipSendTrack *tracks);

/* Restricts a webrtcbin's ICE agent: host candidates only on @ice_host (when
 * non-NULL), UDP only, ports in [min,max] (when max != 0).  Shared with the
 * publishing client.  Call before any negotiation. */
gboolean     sc_whip_configure_ice      (GstElement *webrtcbin,
                                         const char *ice_host,
                                         guint16 udp_port_min,
                                         guint16 udp_port_max,
                                         GError **error);

G_END_DECLS
