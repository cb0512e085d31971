/* Shared by the api-*.c files: a paginated list reply. */
#pragma once

#include "spacecast/api.h"

/* Reply {"data": [...]} with the rendered documents of @kind matching
 * @filters (see sc_store_list), honouring limit/page. */
/* The stored document as the API shows it, for resources with nothing to add. */
JsonNode *sc_api_render_plain (ScRequest *req, JsonObject *doc);

void sc_api_reply_list (ScRequest *req, ScKind kind, const char *const *filters,
                        JsonNode *(*render) (ScRequest *req, JsonObject *doc));
