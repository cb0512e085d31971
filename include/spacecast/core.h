/* spacecast core: the error domain every module reports through, and the
 * small primitives everyone needs (random ids and keys, constant-time
 * comparison, clock, stopping a pipeline).  Errors carry the Mux error type
 * they map to, so a failure deep in a module becomes the right HTTP status
 * at the API edge. */
#pragma once

#include <glib.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define SC_ERROR (sc_error_quark ())
GQuark sc_error_quark (void);

typedef enum {
  SC_ERROR_INVALID,          /* 400 invalid_parameters */
  SC_ERROR_UNAUTHORIZED,     /* 401 unauthorized */
  SC_ERROR_FORBIDDEN,        /* 403 forbidden */
  SC_ERROR_NOT_FOUND,        /* 404 not_found */
  SC_ERROR_CONFLICT,         /* 409 conflict */
  SC_ERROR_TOO_LARGE,        /* 413 payload_too_large */
  SC_ERROR_UNSUPPORTED_TYPE, /* 415 unsupported_media_type */
  SC_ERROR_UNPROCESSABLE,    /* 422 unprocessable_entity */
  SC_ERROR_INTERNAL,         /* 500 internal_error */
  SC_ERROR_UNAVAILABLE,      /* 503 service_unavailable */
  SC_ERROR_METHOD_NOT_ALLOWED, /* 405 method_not_allowed */
  SC_ERROR_TOO_MANY_REQUESTS,  /* 429 too_many_requests */
} ScErrorCode;

guint        sc_error_http_status (ScErrorCode code);
const char  *sc_error_type_name   (ScErrorCode code);

/* A fresh random identifier, base62, from the OS CSPRNG: @n_bytes of entropy.
 * Resource ids use 18 bytes (~24 chars), stream keys 24 bytes (192 bits). */
char        *sc_core_random_id    (gsize n_bytes);
#define      sc_core_new_id()        sc_core_random_id (18)
#define      sc_core_new_secret()    sc_core_random_id (24)

/* Compare two secrets without leaking where they differ through timing. */
gboolean     sc_core_secret_equal (const char *a, const char *b);

gint64       sc_core_now_unix     (void);

/* Sets @pipeline to NULL, each live appsrc in it flushed first.  Use it for
 * any pipeline whose live appsrc is pushed buffer lists while it runs. */
void         sc_core_pipeline_stop (GstElement *pipeline);

G_END_DECLS
