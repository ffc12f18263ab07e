/* arena.h — the runtime's only allocator: a bump allocator over the region
 * hal_memory() gives at start-up. Nothing is freed one by one; arena_reset()
 * drops everything allocated after a mark. The high-water mark is the peak RAM
 * the runtime used. */
#ifndef PS2LLM_ARENA_H
#define PS2LLM_ARENA_H

#include <stddef.h>

#include "status.h"

#define ARENA_ALIGN 64u     /* a cache line on the EE and on hosts */

typedef struct {
    unsigned char *base;
    size_t size;
    size_t used;
    size_t high_water;
} Arena;

void arena_init(Arena *a, void *base, size_t size);

/* *out = n zeroed bytes aligned to ARENA_ALIGN, or ST_OUT_OF_MEMORY (detail
 * names `what`, with the bytes asked for and the bytes left). */
status_t arena_alloc(Arena *a, size_t n, const char *what, StatusDetail *detail, void **out);

size_t arena_mark(const Arena *a);
void arena_reset(Arena *a, size_t mark);

#endif
