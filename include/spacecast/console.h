/* spacecast console: the producer console, a web page served at /console/
 * from files compiled into the binary (GResource, src/console/web).  It
 * owns only the static files: no credentials are needed to fetch them;
 * the page itself calls the API with the producer's token (Basic). */
#pragma once

#include "spacecast/api.h"

G_BEGIN_DECLS

void sc_console_add_routes (ScApi *api);

G_END_DECLS
