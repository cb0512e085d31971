/* The HTTP door (api-door.c): the listening socket and every connection
 * through it, owned here rather than by libsoup, because libsoup 3.2.3's
 * own listener stops accepting for good after one failed accept, has no
 * connection limit or timeouts, and never lets go of a kept-alive
 * connection that the client closes.  libsoup still parses and writes
 * every request on them (soup_server_accept_iostream). */
#pragma once

#include "spacecast/api.h"

typedef struct _ScApiDoor ScApiDoor;

/* Listens on config->http_host:http_port and hands what it accepts to
 * @server, within the config's http_* limits. */
ScApiDoor *sc_api_door_new   (SoupServer *server, const ScConfig *config, GError **error);
/* Closes the listener and every connection. */
void       sc_api_door_free  (ScApiDoor *door);
guint16    sc_api_door_get_port  (ScApiDoor *door);
void       sc_api_door_get_stats (ScApiDoor *door, ScApiConnectionStats *stats);

/* Sends @msg's response as it stands (status, headers, body) with
 * Connection: close, and closes the connection, without reading the rest
 * of the request: libsoup reads a whole request body before it writes
 * any answer.  @msg must be a request still being read. */
void       sc_api_door_answer_and_close (ScApiDoor *door, SoupServerMessage *msg);
