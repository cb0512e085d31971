/* spacecast sdp: the checks a WHIP (or WHEP) offer must pass before a webrtcbin ever
 * sees it, and the facts the WHIP engine needs from it (which codec and
 * payload type to prefer for each medium, mids, BUNDLE, rtcp-mux, DTLS
 * role).  Pure logic over GstSDPMessage; no pipeline, no I/O.
 *
 * What we receive: at most one audio (Opus/48000/2) and one video (VP8 or
 * H.264 constrained-baseline/baseline/main) m-line, each with a mid,
 * DTLS-SRTP with ICE, sent by the client (sendonly or sendrecv). */
#pragma once

#include <glib.h>
#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  gboolean present;
  guint    mline;           /* index of the m-line in the offer, from 0 */
  char    *mid;             /* a=mid, NULL when the m-line has none */
  char    *codec;           /* chosen codec, upper case: "VP8", "H264", "OPUS" */
  guint    payload_type;
  guint    clock_rate;
  guint    channels;        /* audio only; 0 for video */
  char    *rtpmap;          /* the rtpmap value after the PT: "opus/48000/2" */
  char    *fmtp;            /* the fmtp value after the PT, or NULL */
  char    *direction;       /* "sendonly" or "sendrecv" */
  gboolean rtcp_mux;
  gboolean bundle_only;     /* port 0 with a=bundle-only */
  guint    audio_level_ext; /* extmap id of ssrc-audio-level, 0 if not offered */
  /* application/x-rtp caps for the chosen payload type, as webrtcbin would
   * derive them from this m-line (gst_sdp_media_get_caps_from_media), plus
   * extmap-<id> for ssrc-audio-level on audio and, for H.264, the offer's
   * profile-level-id (which 1.22 otherwise drops from the answer).  Meant as the codec
   * preference of a recvonly transceiver, which makes webrtcbin 1.22 answer
   * with exactly this codec and negotiate the audio-level extension. */
  GstCaps *caps;
} ScSdpMediaInfo;

typedef struct {
  ScSdpMediaInfo video;
  ScSdpMediaInfo audio;
  guint    n_mlines;
  char   **mids;          /* one per m-line, "" where an m-line has no mid */
  gboolean bundle;        /* a=group:BUNDLE present */
  char   **bundle_mids;   /* the BUNDLE group's mids; NULL without one */
  gboolean rtcp_mux;      /* every m-line carries a=rtcp-mux */
  char    *setup;         /* the offer's a=setup (actpass, active, passive) or
                           * NULL; "active" leaves webrtcbin the DTLS server */
  /* The offer to give webrtcbin (set-remote-description), rewritten so that
   * 1.22 takes it: a=setup, ICE credentials, fingerprint and direction
   * copied into every m-line from session level or the BUNDLE tag, and the
   * BUNDLE group put first.  Chromium offers come out unchanged in meaning;
   * libdatachannel (OBS) offers are refused by 1.22 without this. */
  char    *webrtcbin_offer;
} ScSdpOfferInfo;

void sc_sdp_offer_info_clear (ScSdpOfferInfo *info);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ScSdpOfferInfo, sc_sdp_offer_info_clear)

/* Parses and checks a publisher's WHIP offer.  On success fills @info
 * (nullable; it must start zeroed or cleared) and returns TRUE.  Failures:
 * SC_ERROR_UNPROCESSABLE (422) for more than one audio or video m-line,
 * SC_ERROR_INVALID (400) for everything else, each with a message naming
 * the m-line and the rule.  @info stays cleared on failure. */
gboolean sc_sdp_check_offer (const char *sdp_text, ScSdpOfferInfo *info,
                             GError **error);
/* The same for a WHEP viewer's offer, whose m-lines must receive
 * (recvonly or sendrecv); the codec fields say what it would prefer. */
gboolean sc_sdp_check_whep_offer (const char *sdp_text, ScSdpOfferInfo *info,
                                  GError **error);

G_END_DECLS
