/* generated from templates/kernels.gen.c.jinja for golden-tiny (fixed test config);
 * do not edit: change the template or codegen/ and rebuild. */

/* Kernels specialised to the shapes of golden-tiny: every bound is a constant.
 * Built with -ffp-contract=off so float expressions round as written (no fused
 * multiply-add), the same on every target. Weights are little-endian, as are all
 * targets (x86, mipsel, the EE). */
#include "kernels.gen.h"

#include <stddef.h>
#include <string.h>

#include "mathf.h"

/* Matrix kernels stay out of line: each is one symbol in the ELF, whose
 * instructions the cost model (model/cost.py) counts. */
#define NOINLINE __attribute__((noinline))

/* Round half away from zero: f32 v + copysign(0.5, v), truncated (the f32 sum
 * rounds first), as model/quant.py's round_half_away: the activation quantizer's
 * and the q8 KV cache's rule. */
static int32_t round_half_away(float v)
{
    return (int32_t)(v + (v < 0.0f ? -0.5f : 0.5f));
}

/* x (48,) f32 -> xq (48,) int16 values in [-4095, 4095] with one scale xs for
 * the vector (docs/FORMAT.md, model/quant.py quantize_activation): amax = max|x|;
 * xs = amax / 4095; xq = clamp(trunc(x * (4095 / amax) + copysign(0.5, x)), -4095, 4095).
 * 4095 levels, not int8's 127: outliers set amax, and the small values
 * keep their precision. Every group sum of xq times int8 weights stays exact in
 * int32 (groups of at most 4096). The dot products widen only the weights
 * (pmaddwd on x86, pmaddh on the EE's MMI). */
float quantize_q8_48(int16_t *xq, const float *x)
{
    float amax = 0.0f, inv;
    uint32_t i;
    for (i = 0; i < 48u; i++) {
        float a = x[i] < 0.0f ? -x[i] : x[i];
        if (a > amax)
            amax = a;
    }
    if (amax == 0.0f) {
        memset(xq, 0, 48u * sizeof(int16_t));
        return 0.0f;
    }
    inv = 4095.0f / amax;
    for (i = 0; i < 48u; i++) {
        int32_t q = round_half_away(x[i] * inv);
        xq[i] = (int16_t)(q > 4095 ? 4095 : q < -4095 ? -4095 : q);
    }
    return amax / 4095.0f;
}

/* x (80,) f32 -> xq (80,) int16 values in [-4095, 4095] with one scale xs for
 * the vector (docs/FORMAT.md, model/quant.py quantize_activation): amax = max|x|;
 * xs = amax / 4095; xq = clamp(trunc(x * (4095 / amax) + copysign(0.5, x)), -4095, 4095).
 * 4095 levels, not int8's 127: outliers set amax, and the small values
 * keep their precision. Every group sum of xq times int8 weights stays exact in
 * int32 (groups of at most 4096). The dot products widen only the weights
 * (pmaddwd on x86, pmaddh on the EE's MMI). */
float quantize_q8_80(int16_t *xq, const float *x)
{
    float amax = 0.0f, inv;
    uint32_t i;
    for (i = 0; i < 80u; i++) {
        float a = x[i] < 0.0f ? -x[i] : x[i];
        if (a > amax)
            amax = a;
    }
    if (amax == 0.0f) {
        memset(xq, 0, 80u * sizeof(int16_t));
        return 0.0f;
    }
    inv = 4095.0f / amax;
    for (i = 0; i < 80u; i++) {
        int32_t q = round_half_away(x[i] * inv);
        xq[i] = (int16_t)(q > 4095 ? 4095 : q < -4095 ? -4095 : q);
    }
    return amax / 4095.0f;
}

#include "mmi.h"
#if PS2LLM_MMI
#define matvec_q8_48x48_g16_rows matvec_q8_48x48_g16_rows_c
static void matvec_q8_48x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs,
                                 uint32_t n_rows) PS2LLM_KEEP;
#endif
/* W (n_rows <= 48, 48) q8 @ x (48,) -> out (n_rows,); x given as xq * xs.
 * A row is 3 f32 scale(s) padded to 16 bytes, then 48 int8: 64 bytes.
 * out[r] = (sum over the 3 group(s) of 16, in order, of f32(int32 dot) * scale) * xs */
NOINLINE static void matvec_q8_48x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs, uint32_t n_rows)
{
    uint32_t r, g, i;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *row = w + (size_t)r * 64u;
        const int8_t *q = (const int8_t *)(row + 16u);
        float sum = 0.0f;
        for (g = 0; g < 3u; g++) {
            const int8_t *wg = q + g * 16u;
            const int16_t *xg = xq + g * 16u;
            int32_t acc = 0;
            float scale;
            for (i = 0; i < 16u; i++)
                acc += (int32_t)wg[i] * (int32_t)xg[i];
            memcpy(&scale, row + 4u * g, 4);
            sum += (float)acc * scale;
        }
        out[r] = sum * xs;
    }
}
#if PS2LLM_MMI
#undef matvec_q8_48x48_g16_rows

/* The MMI variant of matvec_q8_48x48_g16_rows_c: the same integers and the same f32
 * operations in the same order; 1 block(s) of 16 columns a group. */
NOINLINE static void matvec_q8_48x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs, uint32_t n_rows)
{
    uint32_t r, g;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *row = (const uint8_t *)__builtin_assume_aligned(w + (size_t)r * 64u, 16);
        const int8_t *q = (const int8_t *)(row + 16u);
        float sum = 0.0f;
        for (g = 0; g < 3u; g++) {
            const int8_t *wg = q + g * 16u;
            const int16_t *xg = xq + g * 16u;
            int32_t acc = q8_dot_mmi(wg, xg, 1u);
            float scale;
            __builtin_memcpy(&scale, row + 4u * g, 4);
            sum += (float)acc * scale;
        }
        out[r] = sum * xs;
    }
}
#endif

void matvec_q8_48x48_g16(float *out, const uint8_t *w, const int16_t *xq, float xs)
{
    matvec_q8_48x48_g16_rows(out, w, xq, xs, 48u);
}

#include "mmi.h"
#if PS2LLM_MMI
#define matvec_q8_24x48_g16_rows matvec_q8_24x48_g16_rows_c
static void matvec_q8_24x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs,
                                 uint32_t n_rows) PS2LLM_KEEP;
#endif
/* W (n_rows <= 24, 48) q8 @ x (48,) -> out (n_rows,); x given as xq * xs.
 * A row is 3 f32 scale(s) padded to 16 bytes, then 48 int8: 64 bytes.
 * out[r] = (sum over the 3 group(s) of 16, in order, of f32(int32 dot) * scale) * xs */
NOINLINE static void matvec_q8_24x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs, uint32_t n_rows)
{
    uint32_t r, g, i;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *row = w + (size_t)r * 64u;
        const int8_t *q = (const int8_t *)(row + 16u);
        float sum = 0.0f;
        for (g = 0; g < 3u; g++) {
            const int8_t *wg = q + g * 16u;
            const int16_t *xg = xq + g * 16u;
            int32_t acc = 0;
            float scale;
            for (i = 0; i < 16u; i++)
                acc += (int32_t)wg[i] * (int32_t)xg[i];
            memcpy(&scale, row + 4u * g, 4);
            sum += (float)acc * scale;
        }
        out[r] = sum * xs;
    }
}
#if PS2LLM_MMI
#undef matvec_q8_24x48_g16_rows

/* The MMI variant of matvec_q8_24x48_g16_rows_c: the same integers and the same f32
 * operations in the same order; 1 block(s) of 16 columns a group. */
NOINLINE static void matvec_q8_24x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs, uint32_t n_rows)
{
    uint32_t r, g;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *row = (const uint8_t *)__builtin_assume_aligned(w + (size_t)r * 64u, 16);
        const int8_t *q = (const int8_t *)(row + 16u);
        float sum = 0.0f;
        for (g = 0; g < 3u; g++) {
            const int8_t *wg = q + g * 16u;
            const int16_t *xg = xq + g * 16u;
            int32_t acc = q8_dot_mmi(wg, xg, 1u);
            float scale;
            __builtin_memcpy(&scale, row + 4u * g, 4);
            sum += (float)acc * scale;
        }
        out[r] = sum * xs;
    }
}
#endif

void matvec_q8_24x48_g16(float *out, const uint8_t *w, const int16_t *xq, float xs)
{
    matvec_q8_24x48_g16_rows(out, w, xq, xs, 24u);
}

#include "mmi.h"
#if PS2LLM_MMI
#define matvec_q8_80x48_g16_rows matvec_q8_80x48_g16_rows_c
static void matvec_q8_80x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs,
                                 uint32_t n_rows) PS2LLM_KEEP;
#endif
/* W (n_rows <= 80, 48) q8 @ x (48,) -> out (n_rows,); x given as xq * xs.
 * A row is 3 f32 scale(s) padded to 16 bytes, then 48 int8: 64 bytes.
 * out[r] = (sum over the 3 group(s) of 16, in order, of f32(int32 dot) * scale) * xs */
NOINLINE static void matvec_q8_80x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs, uint32_t n_rows)
{
    uint32_t r, g, i;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *row = w + (size_t)r * 64u;
        const int8_t *q = (const int8_t *)(row + 16u);
        float sum = 0.0f;
        for (g = 0; g < 3u; g++) {
            const int8_t *wg = q + g * 16u;
            const int16_t *xg = xq + g * 16u;
            int32_t acc = 0;
            float scale;
            for (i = 0; i < 16u; i++)
                acc += (int32_t)wg[i] * (int32_t)xg[i];
            memcpy(&scale, row + 4u * g, 4);
            sum += (float)acc * scale;
        }
        out[r] = sum * xs;
    }
}
#if PS2LLM_MMI
#undef matvec_q8_80x48_g16_rows

/* The MMI variant of matvec_q8_80x48_g16_rows_c: the same integers and the same f32
 * operations in the same order; 1 block(s) of 16 columns a group. */
NOINLINE static void matvec_q8_80x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs, uint32_t n_rows)
{
    uint32_t r, g;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *row = (const uint8_t *)__builtin_assume_aligned(w + (size_t)r * 64u, 16);
        const int8_t *q = (const int8_t *)(row + 16u);
        float sum = 0.0f;
        for (g = 0; g < 3u; g++) {
            const int8_t *wg = q + g * 16u;
            const int16_t *xg = xq + g * 16u;
            int32_t acc = q8_dot_mmi(wg, xg, 1u);
            float scale;
            __builtin_memcpy(&scale, row + 4u * g, 4);
            sum += (float)acc * scale;
        }
        out[r] = sum * xs;
    }
}
#endif

void matvec_q8_80x48_g16(float *out, const uint8_t *w, const int16_t *xq, float xs)
{
    matvec_q8_80x48_g16_rows(out, w, xq, xs, 80u);
}

#include "mmi.h"
#if PS2LLM_MMI
#define matvec_q8_48x80_g16_rows matvec_q8_48x80_g16_rows_c
static void matvec_q8_48x80_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs,
                                 uint32_t n_rows) PS2LLM_KEEP;
#endif
/* W (n_rows <= 48, 80) q8 @ x (80,) -> out (n_rows,); x given as xq * xs.
 * A row is 5 f32 scale(s) padded to 32 bytes, then 80 int8: 112 bytes.
 * out[r] = (sum over the 5 group(s) of 16, in order, of f32(int32 dot) * scale) * xs */
NOINLINE static void matvec_q8_48x80_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs, uint32_t n_rows)
{
    uint32_t r, g, i;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *row = w + (size_t)r * 112u;
        const int8_t *q = (const int8_t *)(row + 32u);
        float sum = 0.0f;
        for (g = 0; g < 5u; g++) {
            const int8_t *wg = q + g * 16u;
            const int16_t *xg = xq + g * 16u;
            int32_t acc = 0;
            float scale;
            for (i = 0; i < 16u; i++)
                acc += (int32_t)wg[i] * (int32_t)xg[i];
            memcpy(&scale, row + 4u * g, 4);
            sum += (float)acc * scale;
        }
        out[r] = sum * xs;
    }
}
#if PS2LLM_MMI
#undef matvec_q8_48x80_g16_rows

/* The MMI variant of matvec_q8_48x80_g16_rows_c: the same integers and the same f32
 * operations in the same order; 1 block(s) of 16 columns a group. */
NOINLINE static void matvec_q8_48x80_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs, uint32_t n_rows)
{
    uint32_t r, g;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *row = (const uint8_t *)__builtin_assume_aligned(w + (size_t)r * 112u, 16);
        const int8_t *q = (const int8_t *)(row + 32u);
        float sum = 0.0f;
        for (g = 0; g < 5u; g++) {
            const int8_t *wg = q + g * 16u;
            const int16_t *xg = xq + g * 16u;
            int32_t acc = q8_dot_mmi(wg, xg, 1u);
            float scale;
            __builtin_memcpy(&scale, row + 4u * g, 4);
            sum += (float)acc * scale;
        }
        out[r] = sum * xs;
    }
}
#endif

void matvec_q8_48x80_g16(float *out, const uint8_t *w, const int16_t *xq, float xs)
{
    matvec_q8_48x80_g16_rows(out, w, xq, xs, 48u);
}

#include "mmi.h"
#if PS2LLM_MMI
#define matvec_q8_96x48_g16_rows matvec_q8_96x48_g16_rows_c
static void matvec_q8_96x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs,
                                 uint32_t n_rows) PS2LLM_KEEP;
#endif
/* W (n_rows <= 96, 48) q8 @ x (48,) -> out (n_rows,); x given as xq * xs.
 * A row is 3 f32 scale(s) padded to 16 bytes, then 48 int8: 64 bytes.
 * out[r] = (sum over the 3 group(s) of 16, in order, of f32(int32 dot) * scale) * xs */
NOINLINE static void matvec_q8_96x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs, uint32_t n_rows)
{
    uint32_t r, g, i;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *row = w + (size_t)r * 64u;
        const int8_t *q = (const int8_t *)(row + 16u);
        float sum = 0.0f;
        for (g = 0; g < 3u; g++) {
            const int8_t *wg = q + g * 16u;
            const int16_t *xg = xq + g * 16u;
            int32_t acc = 0;
            float scale;
            for (i = 0; i < 16u; i++)
                acc += (int32_t)wg[i] * (int32_t)xg[i];
            memcpy(&scale, row + 4u * g, 4);
            sum += (float)acc * scale;
        }
        out[r] = sum * xs;
    }
}
#if PS2LLM_MMI
#undef matvec_q8_96x48_g16_rows

/* The MMI variant of matvec_q8_96x48_g16_rows_c: the same integers and the same f32
 * operations in the same order; 1 block(s) of 16 columns a group. */
NOINLINE static void matvec_q8_96x48_g16_rows(float *out, const uint8_t *w, const int16_t *xq, float xs, uint32_t n_rows)
{
    uint32_t r, g;
    for (r = 0; r < n_rows; r++) {
        const uint8_t *row = (const uint8_t *)__builtin_assume_aligned(w + (size_t)r * 64u, 16);
        const int8_t *q = (const int8_t *)(row + 16u);
        float sum = 0.0f;
        for (g = 0; g < 3u; g++) {
            const int8_t *wg = q + g * 16u;
            const int16_t *xg = xq + g * 16u;
            int32_t acc = q8_dot_mmi(wg, xg, 1u);
            float scale;
            __builtin_memcpy(&scale, row + 4u * g, 4);
            sum += (float)acc * scale;
        }
        out[r] = sum * xs;
    }
}
#endif

void matvec_q8_96x48_g16(float *out, const uint8_t *w, const int16_t *xq, float xs)
{
    matvec_q8_96x48_g16_rows(out, w, xq, xs, 96u);
}

/* wq: W (48, 48) q8 @ x (48,) -> out (48,) */
void matmul_wq(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_48x48_g16(out, (const uint8_t *)w, xq, xs);
}

/* wq by blocks of rows: prepare x once, then any rows [r0, r1) of W */
static float matmul_wq_prepare(int16_t *xq, const float *x)
{
    return quantize_q8_48(xq, x);
}

static void matmul_wq_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_48x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

const MatmulKernel matmul_wq_kernel = {
    matmul_wq_prepare, matmul_wq_rows, 48u, 64u
};

/* wk: W (24, 48) q8 @ x (48,) -> out (24,) */
void matmul_wk(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_24x48_g16(out, (const uint8_t *)w, xq, xs);
}

/* wk by blocks of rows: prepare x once, then any rows [r0, r1) of W */
static float matmul_wk_prepare(int16_t *xq, const float *x)
{
    return quantize_q8_48(xq, x);
}

static void matmul_wk_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_24x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

const MatmulKernel matmul_wk_kernel = {
    matmul_wk_prepare, matmul_wk_rows, 24u, 64u
};

/* wv: W (24, 48) q8 @ x (48,) -> out (24,) */
void matmul_wv(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_24x48_g16(out, (const uint8_t *)w, xq, xs);
}

/* wv by blocks of rows: prepare x once, then any rows [r0, r1) of W */
static float matmul_wv_prepare(int16_t *xq, const float *x)
{
    return quantize_q8_48(xq, x);
}

static void matmul_wv_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_24x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

const MatmulKernel matmul_wv_kernel = {
    matmul_wv_prepare, matmul_wv_rows, 24u, 64u
};

/* wo: W (48, 48) q8 @ x (48,) -> out (48,) */
void matmul_wo(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_48x48_g16(out, (const uint8_t *)w, xq, xs);
}

/* wo by blocks of rows: prepare x once, then any rows [r0, r1) of W */
static float matmul_wo_prepare(int16_t *xq, const float *x)
{
    return quantize_q8_48(xq, x);
}

static void matmul_wo_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_48x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

const MatmulKernel matmul_wo_kernel = {
    matmul_wo_prepare, matmul_wo_rows, 48u, 64u
};

/* w1: W (80, 48) q8 @ x (48,) -> out (80,) */
void matmul_w1(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_80x48_g16(out, (const uint8_t *)w, xq, xs);
}

/* w1 by blocks of rows: prepare x once, then any rows [r0, r1) of W */
static float matmul_w1_prepare(int16_t *xq, const float *x)
{
    return quantize_q8_48(xq, x);
}

static void matmul_w1_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_80x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

const MatmulKernel matmul_w1_kernel = {
    matmul_w1_prepare, matmul_w1_rows, 80u, 64u
};

/* w3: W (80, 48) q8 @ x (48,) -> out (80,) */
void matmul_w3(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_80x48_g16(out, (const uint8_t *)w, xq, xs);
}

/* w3 by blocks of rows: prepare x once, then any rows [r0, r1) of W */
static float matmul_w3_prepare(int16_t *xq, const float *x)
{
    return quantize_q8_48(xq, x);
}

static void matmul_w3_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_80x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

const MatmulKernel matmul_w3_kernel = {
    matmul_w3_prepare, matmul_w3_rows, 80u, 64u
};

/* w2: W (48, 80) q8 @ x (80,) -> out (48,) */
void matmul_w2(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_80(xq, x);
    matvec_q8_48x80_g16(out, (const uint8_t *)w, xq, xs);
}

/* w2 by blocks of rows: prepare x once, then any rows [r0, r1) of W */
static float matmul_w2_prepare(int16_t *xq, const float *x)
{
    return quantize_q8_80(xq, x);
}

static void matmul_w2_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_48x80_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

const MatmulKernel matmul_w2_kernel = {
    matmul_w2_prepare, matmul_w2_rows, 48u, 112u
};

/* output: W (96, 48) q8 @ x (48,) -> out (96,) */
void matmul_output(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_96x48_g16(out, (const uint8_t *)w, xq, xs);
}

/* output by blocks of rows: prepare x once, then any rows [r0, r1) of W */
static float matmul_output_prepare(int16_t *xq, const float *x)
{
    return quantize_q8_48(xq, x);
}

static void matmul_output_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_96x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

const MatmulKernel matmul_output_kernel = {
    matmul_output_prepare, matmul_output_rows, 96u, 64u
};

/* table (vocab, 48) q8, 64-byte rows: out (48,) = q of row `token` * its group's scale */
void embed_q8_48_g16(float *out, const void *table, uint32_t token)
{
    const uint8_t *row = (const uint8_t *)table + (size_t)token * 64u;
    const int8_t *q = (const int8_t *)(row + 16u);
    uint32_t g, i;
    for (g = 0; g < 3u; g++) {
        float scale;
        memcpy(&scale, row + 4u * g, 4);
        for (i = g * 16u; i < (g + 1u) * 16u; i++)
            out[i] = (float)q[i] * scale;
    }
}

/* out (48,) = (x * (1 / sqrt(mean(x * x) + eps))) * w, eps = 9.999999747378752e-06 */
void rmsnorm_48(float *out, const float *x, const float *w)
{
    float ss = 0.0f, inv;
    uint32_t i;
    for (i = 0; i < 48u; i++)
        ss += x[i] * x[i];
    inv = 1.0f / mathf_sqrt(ss / 48.0f + 0x1.4f8b58p-17f);
    for (i = 0; i < 48u; i++)
        out[i] = (x[i] * inv) * w[i];
}

/* inv_freq[i] = 1 / theta^(f32(2i) / 12), theta = 10000.0: model/reference.py's rope_inv_freq */
static const float rope_inv_freq_12[6] = {
    0x1p+0f,
    0x1.b93a6ap-3f,
    0x1.7c3d2ap-5f,
    0x1.47ae14p-7f,
    0x1.1a62d2p-9f,
    0x1.e6b4b8p-12f,
};

/* cos, sin (6,) of angle f32(pos) * inv_freq[i]; pos < 32 */
void rope_angles_12(float *cos_out, float *sin_out, uint32_t pos)
{
    float p = (float)pos;
    uint32_t i;
    for (i = 0; i < 6u; i++)
        mathf_sincos(p * rope_inv_freq_12[i], &sin_out[i], &cos_out[i]);
}

/* x (n_heads, 12), each head rotated in place, rotate-half layout:
 * x[i], x[i + 6] <- x[i] c - x[i + 6] s, x[i + 6] c + x[i] s */
void rope_12(float *x, uint32_t n_heads, const float *cos_in, const float *sin_in)
{
    uint32_t h, i;
    for (h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * 12u;
        for (i = 0; i < 6u; i++) {
            float a = v[i], b = v[i + 6u];
            v[i] = a * cos_in[i] - b * sin_in[i];
            v[i + 6u] = b * cos_in[i] + a * sin_in[i];
        }
    }
}

/* x (n,) <- exp(x - max x) / sum, n <= 32 (attention scores of one head) */
void softmax(float *x, uint32_t n)
{
    float max = x[0], sum = 0.0f;
    uint32_t i;
    for (i = 1; i < n; i++)
        if (x[i] > max)
            max = x[i];
    for (i = 0; i < n; i++) {
        x[i] = mathf_exp(x[i] - max);
        sum += x[i];
    }
    for (i = 0; i < n; i++)
        x[i] = x[i] / sum;
}

/* gate (80,) <- silu(gate) * up, silu(g) = g * (1 / (1 + exp(min(-g, 80)))) */
void silu_mul_80(float *gate, const float *up)
{
    uint32_t i;
    for (i = 0; i < 80u; i++) {
        float g = gate[i], t = -g;
        if (t > 80.0f)
            t = 80.0f;
        gate[i] = (g * (1.0f / (1.0f + mathf_exp(t)))) * up[i];
    }
}

/* KV cache, f32: keys (or values) (layers 2, positions 32, 24) as computed. */
void kv_store_f32(void *cache, uint32_t layer, uint32_t pos, const float *x)
{
    float *c = (float *)cache + ((size_t)layer * 32u + pos) * 24u;
    memcpy(c, x, 24u * sizeof(float));
}

/* head g of (layer, position t): the cache itself, no copy */
const float *kv_head_f32(float *scratch, const void *cache, uint32_t layer, uint32_t t, uint32_t g)
{
    (void)scratch;
    return (const float *)cache + ((size_t)layer * 32u + t) * 24u + g * 12u;
}
