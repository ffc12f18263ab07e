/* staging.c — see staging.h. Chunks alternate between the two halves of the
 * scratchpad: while fn runs over chunk i in one half, DMA fills the other with
 * chunk i + 1; only the first chunk's fill is not hidden. */
#include "staging.h"

#include "hal.h"

#define HALF (HAL_SCRATCH_BYTES / 2u)

void stage(const void *src, uint32_t stride, uint32_t n_items, StagedFn fn, void *ctx)
{
    const uint32_t fit = stride <= HALF ? HALF / stride : 0u;
    const uint32_t chunk = fit >= 4u ? fit & ~3u : fit;       /* items a chunk */
    const uint8_t *from = (const uint8_t *)src;
    uint8_t *half[2];
    uint32_t i = 0, n, b = 0;
    if (chunk == 0 || stride % 16u || (uintptr_t)src % 16u || n_items == 0) {
        fn(ctx, src, 0, n_items);
        return;
    }
    half[0] = (uint8_t *)hal_scratch();
    half[1] = half[0] + HALF;
    hal_scratch_sync();
    n = n_items < chunk ? n_items : chunk;
    hal_scratch_fill(half[0], from, n * stride);
    while (i < n_items) {
        const uint32_t next = i + n;
        const uint32_t next_n = n_items - next < chunk ? n_items - next : chunk;
        hal_scratch_wait();
        if (next_n)
            hal_scratch_fill(half[b ^ 1u], from + (size_t)next * stride, next_n * stride);
        fn(ctx, half[b], i, n);
        i = next;
        n = next_n;
        b ^= 1u;
    }
}

typedef struct {
    const MatmulKernel *k;
    float *out;
    const float *x;
    const int16_t *xq;
    float xs;
} RowsJob;

static void rows_chunk(void *ctx, const void *rows, uint32_t first, uint32_t n)
{
    const RowsJob *j = (const RowsJob *)ctx;
    j->k->rows(j->out + first, rows, j->x, j->xq, j->xs, n);
}

void stage_rows(const MatmulKernel *k, float *out, const void *w, const float *x,
                const int16_t *xq, float xs, uint32_t n_rows)
{
    RowsJob job = { k, out, x, xq, xs };
    stage(w, k->row_stride, n_rows, rows_chunk, &job);
}
