#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>
#include <string.h>

/* The capture clock (publish-clock.c): 32 bits, most significant first, in
 * SC_CLOCK_ROWS rows of SC_CLOCK_COLS cells over the whole I420 frame. */
#define SC_CLOCK_COLS 8
#define SC_CLOCK_ROWS 4
#define SC_CLOCK_BITS (SC_CLOCK_COLS * SC_CLOCK_ROWS)

void sc_publish_clock_draw   (GstVideoFrame *frame, guint32 ms);
/* Stamps every buffer leaving this element's src pad (I420 caps). */
void sc_publish_clock_attach (GstElement *raw_video);

/* The sync flash (publish-sync.c): @raw_video's frames (I420) go white for
 * SC_SYNC_FLASH_MS once a second and black otherwise; @audio_src's samples
 * are zeroed outside the same instants. */
#define SC_SYNC_FLASH_MS 100
void sc_publish_sync_attach  (GstElement *raw_video, GstElement *audio_src);
