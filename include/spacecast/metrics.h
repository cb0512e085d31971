/* spacecast metrics: Prometheus' text format (version 0.0.4) on GET
 * /metrics of a listener of its own (--metrics HOST:PORT, off by default),
 * so that what it exposes is never reachable through the API's door.
 *
 * Everything is computed when scraped, on the main context, from what the
 * services hold in memory (broadcast health, participants, counters) plus
 * two cheap store queries (each live stream's and space's status column,
 * the count of pending webhook deliveries): a scrape costs about what a
 * listing request does.  The one thing recorded as it happens is the HTTP
 * requests, which the API's request log reports through
 * sc_metrics_observe_http. */
#pragma once

#include <glib.h>

#include "spacecast/api.h"
#include "spacecast/broadcast.h"
#include "spacecast/config.h"
#include "spacecast/events.h"
#include "spacecast/ingest.h"
#include "spacecast/space.h"
#include "spacecast/store.h"

G_BEGIN_DECLS

typedef struct _ScMetrics ScMetrics;

/* What is scraped; any may be NULL (its metrics are then left out).
 * Each must outlive the ScMetrics. */
typedef struct {
  ScApi *api;
  ScStore *store;
  ScEvents *events;
  ScIngest *ingest;
  ScSpaces *spaces;
  ScBroadcasts *broadcasts;
} ScMetricsSources;

/* Starts listening on config->metrics_host:metrics_port; NULL with @error
 * when the address cannot be bound. */
ScMetrics *sc_metrics_new  (const ScConfig *config, const ScMetricsSources *sources,
                            GError **error);
void       sc_metrics_free (ScMetrics *metrics);
/* The whole exposition, as GET /metrics answers it. */
char      *sc_metrics_render (ScMetrics *metrics);

/* One answered request: @route_segments is the matched route's pattern
 * split at '/' (NULL when no route matched), so the label is the pattern
 * ("/video/v1/live-streams/ * /enable" without spaces), never the path.
 * Does nothing while no ScMetrics exists.  Main context only. */
void       sc_metrics_observe_http (const char *method, const char *const *route_segments,
                                    guint status, gint64 elapsed_us);

/* The exposition writer, apart for the unit tests. */
/* "# HELP" and "# TYPE" lines of a family. */
void       sc_metrics_write_family (GString *out, const char *name, const char *type,
                                    const char *help);
/* One sample: @labels are NULL-terminated name, value pairs (values are
 * escaped here), or NULL for none. */
void       sc_metrics_write_sample (GString *out, const char *name, const char *const *labels,
                                    double value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScMetrics, sc_metrics_free)

G_END_DECLS
