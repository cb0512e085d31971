#pragma once

#include "spacecast/metrics.h"

/* metrics-http.c: the requests sc_metrics_observe_http counted, kept only
 * between _start and _stop (while a listener exists). */
void sc_metrics_http_start (void);
void sc_metrics_http_stop  (void);
void sc_metrics_http_write (GString *out);
