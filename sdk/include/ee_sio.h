/* ee_sio.h — EE SIO debug output (REFERENCE.md §5). */
#ifndef PS2LLM_EE_SIO_H
#define PS2LLM_EE_SIO_H

#include <stddef.h>

void ee_sio_putc(char c);
void ee_sio_write(const char *s, size_t n);

#endif
