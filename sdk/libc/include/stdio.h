/* stdio.h — formatting only (sdk/libc/format.c); output goes through hal_write.
 * Conversions: %d %i %u %x %X %c %s %p %%, flags '-' '0', width, precision for
 * %s, length modifiers l ll z. No floating point (no doubles on the EE). */
#ifndef PS2LLM_STDIO_H
#define PS2LLM_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
