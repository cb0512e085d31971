/* Shared by the libFuzzer harnesses: criticals abort (as under the tests'
 * G_DEBUG=fatal-criticals), and input becomes a C string only when the
 * daemon would have let it through as text (UTF-8, no NUL). */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <string.h>

static inline void
sc_fuzz_init_logging (void)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_FATAL_MASK);
  g_setenv ("G_DEBUG", "fatal-criticals", TRUE);
  g_log_set_writer_func (g_log_writer_default, NULL, NULL);
}

/* A new string of @data, or NULL when it is not NUL-free UTF-8. */
static inline char *
sc_fuzz_text (const uint8_t *data, size_t size)
{
  if (memchr (data, '\0', size) != NULL ||
      !g_utf8_validate ((const char *) data, (gssize) size, NULL))
    return NULL;
  return g_strndup ((const char *) data, size);
}
