/* WHIP offer checks.  Everything webrtcbin 1.22 would silently get wrong
 * (answering an unusable m-line with port 0, picking a codec we cannot
 * decode) is caught here so the client gets a 400/422 that says why. */
#include "spacecast/sdp.h"
#include "spacecast/core.h"

#include <gst/sdp/sdp.h>
#include <string.h>

#define AUDIO_LEVEL_URI "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

static void
media_info_clear (ScSdpMediaInfo *m)
{
  g_free (m->mid);
  g_free (m->codec);
  g_free (m->rtpmap);
  g_free (m->fmtp);
  g_free (m->direction);
  gst_clear_caps (&m->caps);
  memset (m, 0, sizeof *m);
}

void
sc_sdp_offer_info_clear (ScSdpOfferInfo *info)
{
  media_info_clear (&info->video);
  media_info_clear (&info->audio);
  g_strfreev (info->mids);
  g_strfreev (info->bundle_mids);
  g_free (info->setup);
  g_free (info->webrtcbin_offer);
  memset (info, 0, sizeof *info);
}

/* The value of the first @key attribute at media level, else session level. */
static const char *
attr_media_or_session (const GstSDPMessage *msg, const GstSDPMedia *media,
                       const char *key)
{
  const char *v = gst_sdp_media_get_attribute_val (media, key);
  return v != NULL ? v : gst_sdp_message_get_attribute_val (msg, key);
}

/* The value of the @key attribute for payload type @pt ("<pt> value"),
 * without the PT. */
static const char *
attr_for_pt (const GstSDPMedia *media, const char *key, guint pt)
{
  const char *v;

  for (guint i = 0; (v = gst_sdp_media_get_attribute_val_n (media, key, i));
       i++) {
    char *end = NULL;
    guint64 n = g_ascii_strtoull (v, &end, 10);
    if (end != v && n == pt && (*end == ' ' || *end == '\0')) {
      while (*end == ' ')
        end++;
      return end;
    }
  }
  return NULL;
}

/* One "key=value" parameter out of an fmtp line (case-insensitive key). */
static char *
fmtp_param (const char *fmtp, const char *key)
{
  if (fmtp == NULL)
    return NULL;
  g_auto (GStrv) params = g_strsplit (fmtp, ";", -1);
  for (guint i = 0; params[i]; i++) {
    char *eq = strchr (params[i], '=');
    if (eq == NULL)
      continue;
    *eq = '\0';
    if (g_ascii_strcasecmp (g_strstrip (params[i]), key) == 0)
      return g_strdup (g_strstrip (eq + 1));
  }
  return NULL;
}

enum { H264_UNSUPPORTED, H264_MAIN, H264_BASELINE, H264_CONSTRAINED_BASELINE };

/* The profile part of profile-level-id (RFC 6184 §8.1), reduced to what
 * matters here.  Patterns as in libwebrtc's h264_profile_level_id. */
static int
h264_profile (const char *fmtp)
{
  g_autofree char *plid = fmtp_param (fmtp, "profile-level-id");
  if (plid == NULL)
    return H264_BASELINE;   /* RFC 6184 default: 42000A */
  if (strlen (plid) != 6 || !g_ascii_isxdigit (plid[0]))
    return H264_UNSUPPORTED;
  for (int i = 0; i < 6; i++)
    if (!g_ascii_isxdigit (plid[i]))
      return H264_UNSUPPORTED;
  guint idc = g_ascii_xdigit_value (plid[0]) << 4 | g_ascii_xdigit_value (plid[1]);
  guint iop = g_ascii_xdigit_value (plid[2]) << 4 | g_ascii_xdigit_value (plid[3]);
  switch (idc) {
  case 0x42: return (iop & 0x40) ? H264_CONSTRAINED_BASELINE : H264_BASELINE;
  case 0x4d: return (iop & 0x80) ? H264_CONSTRAINED_BASELINE : H264_MAIN;
  case 0x58:
    if ((iop & 0xc0) == 0xc0)
      return H264_CONSTRAINED_BASELINE;
    return (iop & 0x80) ? H264_BASELINE : H264_UNSUPPORTED;
  default: return H264_UNSUPPORTED;
  }
}

/* How much we want this payload: 0 = cannot receive it.  VP8 first: it has
 * no profiles to get wrong, and webrtcbin 1.22 mangles H.264 answers
 * (drops profile-level-id).  Among H.264, packetization-mode 1 first, as
 * single-NAL mode caps the slice size. */
static guint
codec_score (gboolean video, const char *name, guint clock, guint channels,
             const char *fmtp)
{
  if (!video)
    return g_ascii_strcasecmp (name, "opus") == 0 && clock == 48000 &&
           channels == 2 ? 10 : 0;
  if (clock != 90000)
    return 0;
  if (g_ascii_strcasecmp (name, "VP8") == 0)
    return 40;
  if (g_ascii_strcasecmp (name, "H264") != 0)
    return 0;

  int profile = h264_profile (fmtp);
  g_autofree char *mode = fmtp_param (fmtp, "packetization-mode");
  if (profile == H264_UNSUPPORTED)
    return 0;
  if (mode == NULL || strcmp (mode, "0") == 0)
    return 20 + profile;
  if (strcmp (mode, "1") == 0)
    return 30 + profile;
  return 0;
}

/* A decimal number of 1 to 9 digits (so it fits a guint), nothing else. */
static gboolean
parse_small_uint (const char *text, guint *out)
{
  gsize len = strlen (text);
  if (len == 0 || len > 9)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (text[i]))
      return FALSE;
  *out = (guint) g_ascii_strtoull (text, NULL, 10);
  return TRUE;
}

/* "<encoding name>/<clock rate>[/<channels>]" (RFC 8866 §6.6), strictly:
 * webrtcbin parses every payload type of an m-line, so a malformed one is
 * refused even when it names a codec we would not take. */
static gboolean
parse_rtpmap (const char *rtpmap, char **name, guint *clock, guint *channels)
{
  g_auto (GStrv) parts = g_strsplit (rtpmap, "/", -1);
  guint n = g_strv_length (parts);
  if (n < 2 || n > 3 || *parts[0] == '\0' || strpbrk (parts[0], " \t") != NULL ||
      !parse_small_uint (parts[1], clock) || *clock == 0)
    return FALSE;
  *channels = 0;
  if (n == 3 && (!parse_small_uint (parts[2], channels) || *channels == 0))
    return FALSE;
  *name = g_strdup (parts[0]);
  return TRUE;
}

static gboolean
is_repair_codec (const char *name)
{
  return g_ascii_strcasecmp (name, "rtx") == 0 ||
         g_ascii_strcasecmp (name, "red") == 0 ||
         g_ascii_strcasecmp (name, "ulpfec") == 0 ||
         g_ascii_strncasecmp (name, "flexfec", 7) == 0;
}

/* A short "m-line 1 (audio, mid "1")" for messages. */
static char *
describe_mline (const GstSDPMedia *media, guint idx)
{
  const char *mid = gst_sdp_media_get_attribute_val (media, "mid");
  const char *kind = gst_sdp_media_get_media (media);
  if (mid != NULL)
    return g_strdup_printf ("m-line %u (%s, mid \"%s\")", idx,
                            kind ? kind : "?", mid);
  return g_strdup_printf ("m-line %u (%s)", idx, kind ? kind : "?");
}

static guint
find_audio_level_ext (const GstSDPMedia *media)
{
  const char *v;

  for (guint i = 0;
       (v = gst_sdp_media_get_attribute_val_n (media, "extmap", i)); i++) {
    /* "<id>[/<direction>] <uri> [<attributes>]" */
    char *end = NULL;
    guint64 id = g_ascii_strtoull (v, &end, 10);
    if (end == v || id == 0 || id > 255)
      continue;
    const char *uri = strchr (end, ' ');
    if (uri == NULL)
      continue;
    while (*uri == ' ')
      uri++;
    if (g_str_has_prefix (uri, AUDIO_LEVEL_URI) &&
        (uri[strlen (AUDIO_LEVEL_URI)] == '\0' ||
         uri[strlen (AUDIO_LEVEL_URI)] == ' '))
      return (guint) id;
  }
  return 0;
}

static gboolean
str_equal_nocase (gconstpointer a, gconstpointer b)
{
  return g_ascii_strcasecmp (a, b) == 0;
}

/* Picks the payload type we want from @media, fills @out's codec fields. */
static gboolean
choose_codec (const GstSDPMedia *media, guint idx, gboolean video,
              ScSdpMediaInfo *out, GError **error)
{
  guint best_score = 0;
  guint n = gst_sdp_media_formats_len (media);
  g_autoptr (GPtrArray) offered = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < n; i++) {
    const char *fmt = gst_sdp_media_get_format (media, i);
    char *end = NULL;
    guint64 pt = g_ascii_strtoull (fmt, &end, 10);
    if (end == fmt || *end != '\0' || pt > 127)
      continue;

    const char *rtpmap = attr_for_pt (media, "rtpmap", (guint) pt);
    if (rtpmap == NULL) {
      /* Static payload types (PCMU = 0 ...) need no rtpmap; none of them
       * is a codec we take. */
      g_ptr_array_add (offered, g_strdup_printf ("PT %u", (guint) pt));
      continue;
    }
    g_autofree char *name = NULL;
    guint clock = 0, channels = 0;
    if (!parse_rtpmap (rtpmap, &name, &clock, &channels)) {
      g_autofree char *where = describe_mline (media, idx);
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "%s has a malformed a=rtpmap:%u \"%s\"; expected "
                   "<encoding>/<clock rate>[/<channels>]",
                   where, (guint) pt, rtpmap);
      return FALSE;
    }
    /* Audio without a channel count is mono (RFC 8866 §6.6). */
    if (video)
      channels = 0;
    else if (channels == 0)
      channels = 1;

    const char *fmtp = attr_for_pt (media, "fmtp", (guint) pt);
    guint score = codec_score (video, name, clock, channels, fmtp);

    /* A codec we know by name but refuse in this form is listed in full,
     * so the client sees which profile, mode or rate was the problem. */
    g_autofree char *label = NULL;
    if (score == 0 && (g_ascii_strcasecmp (name, "VP8") == 0 ||
                       g_ascii_strcasecmp (name, "H264") == 0 ||
                       g_ascii_strcasecmp (name, "opus") == 0))
      label = g_strdup_printf ("%s%s%s", rtpmap, fmtp ? " " : "",
                               fmtp ? fmtp : "");
    else
      label = g_strdup (name);
    if (!is_repair_codec (name) &&
        !g_ptr_array_find_with_equal_func (offered, label, str_equal_nocase,
                                           NULL))
      g_ptr_array_add (offered, g_steal_pointer (&label));
    /* Ties keep the client's order: its first choice of equals wins. */
    if (score > best_score) {
      best_score = score;
      g_free (out->codec);
      g_free (out->rtpmap);
      g_free (out->fmtp);
      out->codec = g_ascii_strup (name, -1);
      out->payload_type = (guint) pt;
      out->clock_rate = clock;
      out->channels = channels;
      out->rtpmap = g_strdup (rtpmap);
      out->fmtp = g_strdup (fmtp);
    }
  }

  if (best_score == 0) {
    g_autofree char *where = describe_mline (media, idx);
    g_ptr_array_add (offered, NULL);
    g_autofree char *list = g_strjoinv (", ", (char **) offered->pdata);
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "%s offers no supported codec (offered: %s); supported: %s",
                 where, *list ? list : "none",
                 video ? "VP8, or H264 constrained-baseline/baseline/main "
                         "with packetization-mode 0 or 1"
                       : "opus/48000/2");
    return FALSE;
  }
  return TRUE;
}

static GstCaps *
caps_for_choice (const GstSDPMedia *media, const ScSdpMediaInfo *m)
{
  GstCaps *caps = gst_sdp_media_get_caps_from_media (media,
                                                     (gint) m->payload_type);
  if (caps == NULL)
    return NULL;
  GstStructure *s = gst_caps_get_structure (caps, 0);
  /* gst_sdp_media_get_caps_from_media names them application/x-unknown;
   * webrtcbin renames them the same way. */
  gst_structure_set_name (s, "application/x-rtp");
  /* The 1.22 parser turns profile-level-id into a "profile" field and drops
   * it when level-asymmetry-allowed is set, so answers built from it lose
   * it (Pion refuses such answers).  Carrying it here puts it back. */
  if (g_strcmp0 (m->codec, "H264") == 0) {
    g_autofree char *plid = fmtp_param (m->fmtp, "profile-level-id");
    if (plid != NULL)
      gst_structure_set (s, "profile-level-id", G_TYPE_STRING, plid, NULL);
  }
  if (m->audio_level_ext != 0) {
    g_autofree char *field = g_strdup_printf ("extmap-%u", m->audio_level_ext);
    gst_structure_set (s, field, G_TYPE_STRING, AUDIO_LEVEL_URI, NULL);
  }
  return caps;
}

static gboolean
valid_fingerprint (const char *value)
{
  static const char *const hashes[] = { "sha-1", "sha-224", "sha-256",
                                        "sha-384", "sha-512", NULL };
  g_auto (GStrv) parts = g_strsplit (value, " ", 2);
  if (parts[0] == NULL || parts[1] == NULL)
    return FALSE;
  gboolean known = FALSE;
  for (guint i = 0; hashes[i]; i++)
    known |= g_ascii_strcasecmp (parts[0], hashes[i]) == 0;
  if (!known)
    return FALSE;
  g_auto (GStrv) bytes = g_strsplit (g_strstrip (parts[1]), ":", -1);
  guint n = g_strv_length (bytes);
  if (n < 20)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (strlen (bytes[i]) != 2 || !g_ascii_isxdigit (bytes[i][0]) ||
        !g_ascii_isxdigit (bytes[i][1]))
      return FALSE;
  return TRUE;
}

/* The m-line whose transport a BUNDLE group uses: the first mid listed. */
static const GstSDPMedia *
bundle_tag_media (const GstSDPMessage *msg, char **bundle_mids,
                  const GstSDPMedia *media)
{
  const char *mid = gst_sdp_media_get_attribute_val (media, "mid");
  if (bundle_mids == NULL || bundle_mids[0] == NULL || mid == NULL ||
      !g_strv_contains ((const char *const *) bundle_mids, mid))
    return NULL;
  for (guint i = 0; i < gst_sdp_message_medias_len (msg); i++) {
    const GstSDPMedia *m = gst_sdp_message_get_media (msg, i);
    if (g_strcmp0 (gst_sdp_media_get_attribute_val (m, "mid"),
                   bundle_mids[0]) == 0)
      return m;
  }
  return NULL;
}

/* A transport attribute from the m-line, the session, or its BUNDLE tag. */
static const char *
transport_attr (const GstSDPMessage *msg, char **bundle_mids,
                const GstSDPMedia *media, const char *key)
{
  const char *v = attr_media_or_session (msg, media, key);
  if (v == NULL) {
    const GstSDPMedia *tag = bundle_tag_media (msg, bundle_mids, media);
    if (tag != NULL)
      v = gst_sdp_media_get_attribute_val (tag, key);
  }
  return v;
}

static gboolean
check_transport (const GstSDPMessage *msg, char **bundle_mids,
                 const GstSDPMedia *media, guint idx, GError **error)
{
  g_autofree char *where = describe_mline (media, idx);
  const char *proto = gst_sdp_media_get_proto (media);

  if (proto == NULL || strstr (proto, "SAVP") == NULL) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "%s uses transport %s; WebRTC needs UDP/TLS/RTP/SAVPF "
                 "(DTLS-SRTP)", where, proto ? proto : "(none)");
    return FALSE;
  }
  const char *ufrag = transport_attr (msg, bundle_mids, media, "ice-ufrag");
  const char *pwd = transport_attr (msg, bundle_mids, media, "ice-pwd");
  if (ufrag == NULL || *ufrag == '\0' || pwd == NULL || *pwd == '\0') {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "%s has no ICE credentials (a=ice-ufrag and a=ice-pwd)",
                 where);
    return FALSE;
  }
  const char *fp = transport_attr (msg, bundle_mids, media, "fingerprint");
  if (fp == NULL) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "%s has no DTLS fingerprint (a=fingerprint)", where);
    return FALSE;
  }
  if (!valid_fingerprint (fp)) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "%s has an invalid DTLS fingerprint \"%s\"", where, fp);
    return FALSE;
  }
  return TRUE;
}

static const char *
media_direction (const GstSDPMessage *msg, const GstSDPMedia *media)
{
  static const char *const dirs[] = { "sendonly", "sendrecv", "recvonly",
                                      "inactive" };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    if (gst_sdp_media_get_attribute_val (media, dirs[i]) != NULL)
      return dirs[i];
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    if (gst_sdp_message_get_attribute_val (msg, dirs[i]) != NULL)
      return dirs[i];
  return "sendrecv";  /* RFC 4566 default */
}

static gboolean
check_media (const GstSDPMessage *msg, char **bundle_mids, guint idx,
             gboolean viewer, ScSdpMediaInfo *out, GError **error)
{
  const GstSDPMedia *media = gst_sdp_message_get_media (msg, idx);
  gboolean video = g_strcmp0 (gst_sdp_media_get_media (media), "video") == 0;
  g_autofree char *where = describe_mline (media, idx);
  const char *mid = gst_sdp_media_get_attribute_val (media, "mid");

  /* webrtcbin refuses m-lines without a mid, and BUNDLE needs them. */
  if (mid == NULL || *mid == '\0') {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "%s has no a=mid; every m-line of a WHIP offer needs one",
                 where);
    return FALSE;
  }
  out->present = TRUE;
  out->mline = idx;
  out->mid = g_strdup (mid);
  out->bundle_only =
      gst_sdp_media_get_attribute_val (media, "bundle-only") != NULL;
  if (gst_sdp_media_get_port (media) == 0 &&
      !(out->bundle_only && bundle_tag_media (msg, bundle_mids, media))) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 "%s is disabled (port 0) and not bundled with another "
                 "m-line", where);
    return FALSE;
  }

  const char *dir = media_direction (msg, media);
  if (strcmp (dir, viewer ? "recvonly" : "sendonly") != 0 && strcmp (dir, "sendrecv") != 0) {
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                 viewer ? "%s is %s, but a viewer must receive: use recvonly or sendrecv"
                        : "%s is %s, but a publisher must send: use sendonly or sendrecv",
                 where, dir);
    return FALSE;
  }
  out->direction = g_strdup (dir);

  if (!check_transport (msg, bundle_mids, media, idx, error))
    return FALSE;
  if (!choose_codec (media, idx, video, out, error))
    return FALSE;

  out->rtcp_mux = gst_sdp_media_get_attribute_val (media, "rtcp-mux") != NULL;
  if (!video)
    out->audio_level_ext = find_audio_level_ext (media);
  out->caps = caps_for_choice (media, out);
  return TRUE;
}

/* The BUNDLE group's mids, or NULL when the offer has none. */
static char **
find_bundle (const GstSDPMessage *msg)
{
  const char *v;

  for (guint i = 0; (v = gst_sdp_message_get_attribute_val_n (msg, "group", i));
       i++) {
    if (!g_str_has_prefix (v, "BUNDLE"))
      continue;
    if (v[6] != ' ' && v[6] != '\0')
      continue;
    g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
    g_auto (GStrv) tokens = g_strsplit (v + 6, " ", -1);
    for (guint t = 0; tokens[t]; t++)
      if (*tokens[t] != '\0')
        g_strv_builder_add (b, tokens[t]);
    return g_strv_builder_end (b);
  }
  return NULL;
}

static gboolean
check_offer (const GstSDPMessage *msg, gboolean viewer, ScSdpOfferInfo *info, GError **error)
{
  guint n = gst_sdp_message_medias_len (msg);
  if (n == 0) {
    g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID,
                         "SDP offer has no m-lines: nothing to receive");
    return FALSE;
  }

  info->bundle_mids = find_bundle (msg);
  info->bundle = info->bundle_mids != NULL;
  info->n_mlines = n;
  info->rtcp_mux = TRUE;
  info->mids = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++) {
    const GstSDPMedia *media = gst_sdp_message_get_media (msg, i);
    const char *kind = gst_sdp_media_get_media (media);
    const char *mid = gst_sdp_media_get_attribute_val (media, "mid");
    for (guint j = 0; mid != NULL && *mid != '\0' && j < i; j++) {
      if (strcmp (info->mids[j], mid) == 0) {
        g_autofree char *where = describe_mline (media, i);
        g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                     "%s repeats the mid of m-line %u; every mid must be "
                     "unique (RFC 8843)", where, j);
        return FALSE;
      }
    }
    info->mids[i] = g_strdup (mid ? mid : "");

    ScSdpMediaInfo *slot;
    if (g_strcmp0 (kind, "video") == 0) {
      slot = &info->video;
    } else if (g_strcmp0 (kind, "audio") == 0) {
      slot = &info->audio;
    } else {
      g_autofree char *where = describe_mline (media, i);
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "%s is not accepted: WHIP and WHEP carry only audio "
                   "and video", where);
      return FALSE;
    }
    if (slot->present) {
      g_autofree char *where = describe_mline (media, i);
      g_set_error (error, SC_ERROR, SC_ERROR_UNPROCESSABLE,
                   "%s is a second %s m-line; WHIP takes at most one audio "
                   "and one video track", where, kind);
      return FALSE;
    }
    if (!check_media (msg, info->bundle_mids, i, viewer, slot, error))
      return FALSE;
    info->rtcp_mux &= slot->rtcp_mux;

    const char *setup = gst_sdp_media_get_attribute_val (media, "setup");
    if (setup == NULL)
      setup = gst_sdp_message_get_attribute_val (msg, "setup");
    if (setup != NULL && strcmp (setup, "actpass") != 0 &&
        strcmp (setup, "active") != 0 && strcmp (setup, "passive") != 0) {
      g_autofree char *where = describe_mline (media, i);
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "%s has a=setup:%s; expected actpass, active or passive",
                   where, setup);
      return FALSE;
    }
    if (info->setup == NULL)
      info->setup = g_strdup (setup);
  }

  for (guint i = 0; info->bundle_mids && info->bundle_mids[i]; i++) {
    if (!g_strv_contains ((const char *const *) info->mids,
                          info->bundle_mids[i])) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "BUNDLE group names mid \"%s\", which no m-line has",
                   info->bundle_mids[i]);
      return FALSE;
    }
  }
  return TRUE;
}

/* Copies @key into @media from wherever the offer defines it for that
 * m-line (session level, BUNDLE tag), if the m-line lacks it. */
static void
push_down_attr (GstSDPMessage *msg, char **bundle_mids, GstSDPMedia *media,
                const char *key, const char *fallback)
{
  if (gst_sdp_media_get_attribute_val (media, key) != NULL)
    return;
  g_autofree char *value =
      g_strdup (transport_attr (msg, bundle_mids, media, key));
  if (value == NULL && fallback == NULL)
    return;
  gst_sdp_media_add_attribute (media, key, value ? value : fallback);
}

/* webrtcbin 1.22 reads a=setup and the direction only at media level,
 * demands identical media-level ICE credentials across a BUNDLE group, and
 * only looks at the first a=group line.  Offers from libdatachannel (OBS)
 * keep setup, ICE and fingerprint at session level and are refused with
 * "media 0 is missing ... 'setup'", so they are rewritten here. */
static char *
offer_for_webrtcbin (GstSDPMessage *msg, const ScSdpOfferInfo *info)
{
  for (guint i = 0; i < gst_sdp_message_medias_len (msg); i++) {
    /* GstSDPMessage has no mutable getter; the message is ours to edit. */
    GstSDPMedia *media = (GstSDPMedia *) gst_sdp_message_get_media (msg, i);
    const ScSdpMediaInfo *m =
        info->video.present && info->video.mline == i ? &info->video
                                                      : &info->audio;

    /* No setup anywhere: actpass, which webrtcbin answers as it would
     * have answered none (as the DTLS client). */
    push_down_attr (msg, info->bundle_mids, media, "setup", "actpass");
    push_down_attr (msg, info->bundle_mids, media, "ice-ufrag", NULL);
    push_down_attr (msg, info->bundle_mids, media, "ice-pwd", NULL);
    push_down_attr (msg, info->bundle_mids, media, "fingerprint", NULL);
    if (gst_sdp_media_get_attribute_val (media, m->direction) == NULL)
      gst_sdp_media_add_attribute (media, m->direction, "");
  }

  /* Now that every m-line carries its fingerprint, drop the session-level
   * one: webrtcbin 1.22.0 refuses an offer that has both (its check is
   * inverted), which Debian 12's point releases before deb12u8 still ship. */
  for (guint i = gst_sdp_message_attributes_len (msg); i > 0; i--)
    if (g_strcmp0 (gst_sdp_message_get_attribute (msg, i - 1)->key, "fingerprint") == 0)
      gst_sdp_message_remove_attribute (msg, i - 1);

  if (info->bundle) {
    int first_group = -1, bundle_at = -1;
    for (guint i = 0; i < gst_sdp_message_attributes_len (msg); i++) {
      const GstSDPAttribute *a = gst_sdp_message_get_attribute (msg, i);
      if (g_strcmp0 (a->key, "group") != 0)
        continue;
      if (first_group < 0)
        first_group = (int) i;
      if (bundle_at < 0 && a->value && g_str_has_prefix (a->value, "BUNDLE"))
        bundle_at = (int) i;
    }
    if (bundle_at > first_group) {
      GstSDPAttribute moved = { 0 };
      gst_sdp_attribute_set (&moved, "group",
                             gst_sdp_message_get_attribute (msg, bundle_at)->value);
      gst_sdp_message_remove_attribute (msg, (guint) bundle_at);
      /* insert takes ownership of the attribute's strings */
      gst_sdp_message_insert_attribute (msg, first_group, &moved);
    }
  }
  return gst_sdp_message_as_text (msg);
}

static gboolean
check_offer_text (const char *sdp_text, gboolean viewer, ScSdpOfferInfo *info,
                  GError **error)
{
  g_auto (ScSdpOfferInfo) local = { 0 };
  g_autoptr (GstSDPMessage) msg = NULL;

  if (sdp_text == NULL || *sdp_text == '\0') {
    g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID,
                         "empty SDP offer");
    return FALSE;
  }
  /* The parser is lenient and takes almost any text; a missing v=0 line
   * is how garbage shows. */
  if (gst_sdp_message_new_from_text (sdp_text, &msg) != GST_SDP_OK ||
      g_strcmp0 (gst_sdp_message_get_version (msg), "0") != 0) {
    g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID,
                         "body is not an SDP offer (no \"v=0\" line)");
    return FALSE;
  }
  if (!check_offer (msg, viewer, &local, error))
    return FALSE;
  local.webrtcbin_offer = offer_for_webrtcbin (msg, &local);

  if (info != NULL) {
    *info = local;
    memset (&local, 0, sizeof local);
  }
  return TRUE;
}

gboolean
sc_sdp_check_offer (const char *sdp_text, ScSdpOfferInfo *info, GError **error)
{
  return check_offer_text (sdp_text, FALSE, info, error);
}

gboolean
sc_sdp_check_whep_offer (const char *sdp_text, ScSdpOfferInfo *info, GError **error)
{
  return check_offer_text (sdp_text, TRUE, info, error);
}
