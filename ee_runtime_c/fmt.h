/* fmt.h — a tiny printf for hal_write (the PS2 build has no stdio).
 *
 * Output is buffered and flushed at each newline, when the buffer fills, and by
 * fmt_flush(). fmt_print understands:
 *   %s  const char *         %c  int (one byte)
 *   %d  int                  %u  unsigned
 *   %x  unsigned, hex        %ld / %lu  long / unsigned long
 *   %f  const float * (not a float: varargs would promote it to double),
 *       with an optional precision, %.2f; default 3
 *   %%  a percent sign
 * Floats print in fixed point without doubles; magnitudes beyond 1e9 print as
 * "big". */
#ifndef PS2LLM_FMT_H
#define PS2LLM_FMT_H

#include <stddef.h>
#include <stdint.h>

void fmt_print(const char *format, ...);
void fmt_bytes(const char *bytes, size_t len);
void fmt_str(const char *s);
void fmt_uint(uint64_t v);
void fmt_int(int64_t v);
void fmt_float(float v, int decimals);
void fmt_flush(void);

#endif
