/* arena.c — bump allocator with a high-water mark.
 *
 * Under AddressSanitizer (host tests) the free part of the arena is poisoned and
 * every allocation is followed by a poisoned red zone, so an overrun of one
 * buffer into the next is caught as it would be with malloc. */
#include "arena.h"

#include <stdint.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define RED_ZONE ARENA_ALIGN
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define RED_ZONE 0u
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

void arena_init(Arena *a, void *base, size_t size)
{
    uintptr_t start = ((uintptr_t)base + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
    size_t skip = (size_t)(start - (uintptr_t)base);
    a->base = (unsigned char *)start;
    a->size = size > skip ? size - skip : 0;
    a->used = 0;
    a->high_water = 0;
    POISON(a->base, a->size);
}

status_t arena_alloc(Arena *a, size_t n, const char *what, StatusDetail *detail, void **out)
{
    size_t padded = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    size_t need = padded + RED_ZONE;
    *out = NULL;
    if (padded < n || need > a->size - a->used) {
        size_t left = a->size - a->used;
        return status_fail(detail, ST_OUT_OF_MEMORY, what,
                           (uint32_t)(left > 0xFFFFFFFFu ? 0xFFFFFFFFu : left),
                           (uint32_t)(n > 0xFFFFFFFFu ? 0xFFFFFFFFu : n));
    }
    *out = a->base + a->used;
    UNPOISON(*out, n);
    memset(*out, 0, n);
    a->used += need;
    if (a->used > a->high_water)
        a->high_water = a->used;
    return ST_OK;
}

size_t arena_mark(const Arena *a)
{
    return a->used;
}

void arena_reset(Arena *a, size_t mark)
{
    if (mark < a->used) {
        POISON(a->base + mark, a->used - mark);
        a->used = mark;
    }
}
