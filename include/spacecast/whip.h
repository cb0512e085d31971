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
/* Last measured audio level (dBov), -127 when none yet. */
gdouble      sc_whip_peer_get_audio_level (ScWhipPeer *peer);

/* Restricts a webrtcbin's ICE agent: host candidates only on @ice_host (when
 * non-NULL), UDP only, ports in [min,max] (when max != 0).  Shared with the
 * publishing client.  Call before any negotiation. */
gboolean     sc_whip_configure_ice      (GstElement *webrtcbin,
                                         const char *ice_host,
                                         guint16 udp_port_min,
                                         guint16 udp_port_max,
                                         GError **error);

G_END_DECLS
