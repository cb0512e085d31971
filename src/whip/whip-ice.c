/* ICE restrictions for webrtcbin on GStreamer 1.22: the libnice-backed
 * GstWebRTCICE exposes the knobs as properties and an action signal rather
 * than API (gst_webrtc_ice_set_port_range only appeared later). */
#include "spacecast/whip.h"
#include "spacecast/core.h"

gboolean
sc_whip_configure_ice (GstElement *webrtcbin, const char *ice_host,
                       guint16 udp_port_min, guint16 udp_port_max,
                       GError **error)
{
  g_autoptr (GObject) ice = NULL;
  GObjectClass *klass;

  g_object_get (webrtcbin, "ice-agent", &ice, NULL);
  if (ice == NULL) {
    g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL, "webrtcbin has no ICE agent");
    return FALSE;
  }
  klass = G_OBJECT_GET_CLASS (ice);

  /* No UPnP port mapping: a media server has its addresses configured, and
   * libnice's IGD discovery sends SSDP multicast and binds a port of its
   * own, which fails (with a warning) when that port is taken. */
  if (g_object_class_find_property (klass, "agent")) {
    g_autoptr (GObject) agent = NULL;
    g_object_get (ice, "agent", &agent, NULL);
    if (agent && g_object_class_find_property (G_OBJECT_GET_CLASS (agent), "upnp"))
      g_object_set (agent, "upnp", FALSE, NULL);
  }

  /* TCP candidates would only add ports outside the configured range. */
  if (g_object_class_find_property (klass, "ice-tcp"))
    g_object_set (ice, "ice-tcp", FALSE, NULL);

  if (udp_port_max != 0) {
    if (udp_port_min > udp_port_max) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "UDP port range %u-%u is empty", udp_port_min, udp_port_max);
      return FALSE;
    }
    if (!g_object_class_find_property (klass, "min-rtp-port")) {
      g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL,
                   "ICE agent cannot restrict ports");
      return FALSE;
    }
    /* Set max first: min is validated against the current max. */
    g_object_set (ice, "max-rtp-port", (guint) udp_port_max,
                  "min-rtp-port", (guint) udp_port_min, NULL);
  }

  if (ice_host != NULL && *ice_host != '\0') {
    gboolean ok = FALSE;

    /* Once an address is added libnice stops discovering interfaces, so this
     * is the only host candidate; it also admits loopback, which libnice
     * otherwise skips. */
    if (g_signal_lookup ("add-local-ip-address", G_OBJECT_TYPE (ice)) == 0) {
      g_set_error (error, SC_ERROR, SC_ERROR_INTERNAL,
                   "ICE agent cannot pin a local address");
      return FALSE;
    }
    g_signal_emit_by_name (ice, "add-local-ip-address", ice_host, &ok);
    if (!ok) {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID,
                   "invalid ICE host address '%s'", ice_host);
      return FALSE;
    }
  }
  return TRUE;
}
