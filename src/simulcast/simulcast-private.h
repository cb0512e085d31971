/* Inside src/simulcast: an srt:// target's connection attempt (libsrt,
 * as a caller) and the tail of its pipeline that re-muxes the FLV tags
 * into MPEG-TS and sends them over that connection. */
#pragma once

#include <gst/gst.h>

#include "spacecast/model.h"

G_BEGIN_DECLS

typedef struct _ScSimulcastSrt ScSimulcastSrt;

typedef enum {
  SC_SIMULCAST_SRT_CONNECTING,
  SC_SIMULCAST_SRT_CONNECTED,
  SC_SIMULCAST_SRT_REFUSED,  /* the listener said no: passphrase, stream id */
  SC_SIMULCAST_SRT_FAILED,   /* no answer, no such host, a lost connection */
} ScSimulcastSrtState;

/* Resolves the host and connects without blocking, on the thread-default
 * context; the owner polls sc_simulcast_srt_state() for the outcome. */
ScSimulcastSrt     *sc_simulcast_srt_new   (const ScModelSrtUrl *url);
/* @why (when not NULL) gets the reason of a refusal or failure. */
ScSimulcastSrtState sc_simulcast_srt_state (ScSimulcastSrt *srt, char **why);
/* Once connected: a bin whose sink pad takes an FLV stream (file header
 * first) and sends its H.264 and AAC as MPEG-TS over the connection, no
 * decode, no encode.  A lost connection is an error on the bus. */
GstElement         *sc_simulcast_srt_bin   (ScSimulcastSrt *srt);
/* TRUE once any media went out. */
gboolean            sc_simulcast_srt_sent  (ScSimulcastSrt *srt);
/* After the bin's pipeline is in NULL. */
void                sc_simulcast_srt_free  (ScSimulcastSrt *srt);

/* The 13 bytes before an FLV stream's first tag (audio and video). */
GBytes             *sc_simulcast_flv_header (void);

G_END_DECLS
