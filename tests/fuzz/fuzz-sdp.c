/* The WHIP offer checks (sc_sdp_check_offer) and, for offers they accept,
 * what the WHIP engine then does with the rewritten offer: its own check
 * and the H.264 answer repair. */
#include "fuzz-common.h"
#include "spacecast/sdp.h"
#include "whip/whip-private.h"

#include <gst/gst.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  sc_fuzz_init_logging ();
  gst_init (NULL, NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = sc_fuzz_text (data, size);
  if (text == NULL)
    return 0;

  g_auto (ScSdpOfferInfo) info = { 0 };
  g_autoptr (GError) error = NULL;
  if (!sc_sdp_check_offer (text, &info, &error)) {
    g_assert_nonnull (error);
    g_assert_false (info.video.present || info.audio.present);
    return 0;
  }
  g_assert_nonnull (info.webrtcbin_offer);
  g_assert_true (info.video.present || info.audio.present);

  g_autoptr (GstSDPMessage) offer = NULL;
  g_assert_cmpint (gst_sdp_message_new_from_text (info.webrtcbin_offer, &offer), ==,
                   GST_SDP_OK);
  gboolean has_video, has_audio;
  g_autoptr (GError) engine_error = NULL;
  (void) sc_whip_sdp_check_offer (offer, &has_video, &has_audio, &engine_error);
  /* The offer standing in for an answer: the repair reads both. */
  g_autoptr (GstSDPMessage) answer = NULL;
  gst_sdp_message_copy (offer, &answer);
  sc_whip_sdp_restore_h264_profile (answer, offer);
  g_autoptr (GError) answer_error = NULL;
  (void) sc_whip_sdp_check_answer (answer, &answer_error);
  g_free (gst_sdp_message_as_text (answer));
  return 0;
}
