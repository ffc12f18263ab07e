/* staging.h — data reaches the kernels through the scratchpad (hal.h): DMA fills
 * one half while a kernel reads the other, so the kernels read weights and cached
 * keys and values at the scratchpad's speed, never waiting on a RAM cache miss. */
#ifndef PS2LLM_STAGING_H
#define PS2LLM_STAGING_H

#include "matmul.h"

/* What runs on each chunk: items [first, first + n) of the array, now at `items`. */
typedef void (*StagedFn)(void *ctx, const void *items, uint32_t first, uint32_t n);

/* fn over n_items items of `stride` bytes at src, by chunks of whole items staged
 * through the scratchpad, in order: as many as fit half of it, rounded down to a
 * multiple of 4 where 4 fit (so a chunk's first item is a multiple of 4, which keeps
 * attention's rows of 4-byte scores 16-byte aligned at every chunk). Items that do not
 * fit half the scratchpad, or are not 16-byte aligned, are handed over in place, in
 * one call. */
void stage(const void *src, uint32_t stride, uint32_t n_items, StagedFn fn, void *ctx);

/* k->rows(out, w, x, xq, xs, n_rows) by staged chunks of rows: the same integers and
 * floats as in one call. */
void stage_rows(const MatmulKernel *k, float *out, const void *w, const float *x,
                const int16_t *xq, float xs, uint32_t n_rows);

#endif
