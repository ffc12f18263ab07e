/* matmul.h — a model matrix's product by blocks of rows, whatever its quant type
 * (kernels.gen.h declares one MatmulKernel per matrix: matmul_<role>_kernel).
 * xs = prepare(xq, x) once per input vector (integer-activation types quantize x
 * into xq), then rows(out, w, x, xq, xs, n) for any rows [r0, r0 + n): w points at
 * row r0, out at out[r0]; rows are row_stride bytes apart. Integer results are the
 * same as in one call, whatever the blocks: forward.c streams matrices from the
 * disc by blocks, and staging.c moves them through the scratchpad by chunks. */
#ifndef PS2LLM_MATMUL_H
#define PS2LLM_MATMUL_H

#include <stdint.h>

typedef struct {
    float (*prepare)(int16_t *xq, const float *x);
    void (*rows)(float *out, const void *w, const float *x, const int16_t *xq, float xs, uint32_t n_rows);
    uint32_t n_rows;
    uint32_t row_stride;
} MatmulKernel;

#endif
