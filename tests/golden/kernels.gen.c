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

#include "act_vu0.h"
#if PS2LLM_VU0
#define quantize_q8_48 quantize_q8_48_c
float quantize_q8_48(int16_t *xq, const float *x) PS2LLM_KEEP NOINLINE;
#endif
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
#if PS2LLM_VU0
#undef quantize_q8_48

/* The VU0 variant of quantize_q8_48_c (act_vu0.h); x or xq not 16-byte aligned goes
 * to the C twin. */
float quantize_q8_48(int16_t *xq, const float *x)
{
    if (((uintptr_t)x | (uintptr_t)xq) & 15u)
        return quantize_q8_48_c(xq, x);
    return ps2llm_act_quantize(xq, x, 48u, 4095.0f);
}
#endif

#include "act_vu0.h"
#if PS2LLM_VU0
#define quantize_q8_80 quantize_q8_80_c
float quantize_q8_80(int16_t *xq, const float *x) PS2LLM_KEEP NOINLINE;
#endif
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
#if PS2LLM_VU0
#undef quantize_q8_80

/* The VU0 variant of quantize_q8_80_c (act_vu0.h); x or xq not 16-byte aligned goes
 * to the C twin. */
float quantize_q8_80(int16_t *xq, const float *x)
{
    if (((uintptr_t)x | (uintptr_t)xq) & 15u)
        return quantize_q8_80_c(xq, x);
    return ps2llm_act_quantize(xq, x, 80u, 4095.0f);
}
#endif

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


static void matmul_wq_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_48x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

/* prepare: the quantizer itself, so matrices of one input share its xq (forward.c) */
const MatmulKernel matmul_wq_kernel = {
    quantize_q8_48, matmul_wq_rows, 48u, 64u
};

/* wk: W (24, 48) q8 @ x (48,) -> out (24,) */
void matmul_wk(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_24x48_g16(out, (const uint8_t *)w, xq, xs);
}


static void matmul_wk_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_24x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

/* prepare: the quantizer itself, so matrices of one input share its xq (forward.c) */
const MatmulKernel matmul_wk_kernel = {
    quantize_q8_48, matmul_wk_rows, 24u, 64u
};

/* wv: W (24, 48) q8 @ x (48,) -> out (24,) */
void matmul_wv(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_24x48_g16(out, (const uint8_t *)w, xq, xs);
}


static void matmul_wv_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_24x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

/* prepare: the quantizer itself, so matrices of one input share its xq (forward.c) */
const MatmulKernel matmul_wv_kernel = {
    quantize_q8_48, matmul_wv_rows, 24u, 64u
};

/* wo: W (48, 48) q8 @ x (48,) -> out (48,) */
void matmul_wo(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_48x48_g16(out, (const uint8_t *)w, xq, xs);
}


static void matmul_wo_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_48x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

/* prepare: the quantizer itself, so matrices of one input share its xq (forward.c) */
const MatmulKernel matmul_wo_kernel = {
    quantize_q8_48, matmul_wo_rows, 48u, 64u
};

/* w1: W (80, 48) q8 @ x (48,) -> out (80,) */
void matmul_w1(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_80x48_g16(out, (const uint8_t *)w, xq, xs);
}


static void matmul_w1_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_80x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

/* prepare: the quantizer itself, so matrices of one input share its xq (forward.c) */
const MatmulKernel matmul_w1_kernel = {
    quantize_q8_48, matmul_w1_rows, 80u, 64u
};

/* w3: W (80, 48) q8 @ x (48,) -> out (80,) */
void matmul_w3(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_80x48_g16(out, (const uint8_t *)w, xq, xs);
}


static void matmul_w3_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_80x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

/* prepare: the quantizer itself, so matrices of one input share its xq (forward.c) */
const MatmulKernel matmul_w3_kernel = {
    quantize_q8_48, matmul_w3_rows, 80u, 64u
};

/* w2: W (48, 80) q8 @ x (80,) -> out (48,) */
void matmul_w2(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_80(xq, x);
    matvec_q8_48x80_g16(out, (const uint8_t *)w, xq, xs);
}


static void matmul_w2_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_48x80_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

/* prepare: the quantizer itself, so matrices of one input share its xq (forward.c) */
const MatmulKernel matmul_w2_kernel = {
    quantize_q8_80, matmul_w2_rows, 48u, 112u
};

/* output: W (96, 48) q8 @ x (48,) -> out (96,) */
void matmul_output(float *out, const void *w, const float *x, int16_t *xq)
{
    float xs = quantize_q8_48(xq, x);
    matvec_q8_96x48_g16(out, (const uint8_t *)w, xq, xs);
}


static void matmul_output_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs,
                                 uint32_t n_rows)
{
    (void)x;
    matvec_q8_96x48_g16_rows(out, (const uint8_t *)w, xq, xs, n_rows);
}

/* prepare: the quantizer itself, so matrices of one input share its xq (forward.c) */
const MatmulKernel matmul_output_kernel = {
    quantize_q8_48, matmul_output_rows, 96u, 64u
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

#include "norm_rope_vu0.h"
#if PS2LLM_VU0
#define rmsnorm_48 rmsnorm_48_c
void rmsnorm_48(float *out, const float *x, const float *w) PS2LLM_KEEP NOINLINE;
#endif
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
#if PS2LLM_VU0
#undef rmsnorm_48

/* The VU0 variant of rmsnorm_48_c: its sum of squares and inv, then the scaling
 * on VU0 (norm_rope_vu0.h); out, x or w not 16-byte aligned go to the C twin. */
void rmsnorm_48(float *out, const float *x, const float *w)
{
    float ss = 0.0f, inv;
    uint32_t i;
    if ((((uintptr_t)out | (uintptr_t)x | (uintptr_t)w) & 15u) != 0) {
        rmsnorm_48_c(out, x, w);
        return;
    }
    for (i = 0; i < 48u; i++)
        ss += x[i] * x[i];
    inv = 1.0f / mathf_sqrt(ss / 48.0f + 0x1.4f8b58p-17f);
    ps2llm_rmsnorm_scale(out, x, w, inv, 48u);
}
#endif

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

#include "exp4.h"
#if PS2LLM_VU0
#define softmax softmax_c
void softmax(float *x, uint32_t n) PS2LLM_KEEP NOINLINE;
#endif
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
#if PS2LLM_VU0
#undef softmax

/* The VU0 variant of softmax_c: its max and division loops, and between them
 * exp4.h's loop, 8 scores a trip, then the last n % 8 from a padded copy (straight
 * code, switches that fall through: the cost model counts every loop once per
 * element). n = 0 or x not 16-byte aligned goes to the C twin. */
void softmax(float *x, uint32_t n)
{
    static float tail[8] __attribute__((aligned(16)));
    float *const end = x + n, *const end8 = x + (n & ~7u);
    float max = x[0], sum, *p;
    if (n == 0 || ((uintptr_t)x & 15u) != 0) {
        softmax_c(x, n);
        return;
    }
    for (p = x + 1; p != end; p++)
        if (*p > max)
            max = *p;
    tail[0] = -1000.0f;
    tail[1] = -1000.0f;
    tail[2] = -1000.0f;
    tail[3] = -1000.0f;
    tail[4] = -1000.0f;
    tail[5] = -1000.0f;
    tail[6] = -1000.0f;
    tail[7] = -1000.0f;
    switch (n & 7u) {
    case 7:
        tail[6] = end8[6] - max;
        /* fall through */
    case 6:
        tail[5] = end8[5] - max;
        /* fall through */
    case 5:
        tail[4] = end8[4] - max;
        /* fall through */
    case 4:
        tail[3] = end8[3] - max;
        /* fall through */
    case 3:
        tail[2] = end8[2] - max;
        /* fall through */
    case 2:
        tail[1] = end8[1] - max;
        /* fall through */
    case 1:
        tail[0] = end8[0] - max;
        /* fall through */
    default:
        break;
    }
    sum = ps2llm_softmax_exp(x, end8, max, tail, n & 7u);
    switch (n & 7u) {
    case 7:
        end8[6] = tail[6];
        /* fall through */
    case 6:
        end8[5] = tail[5];
        /* fall through */
    case 5:
        end8[4] = tail[4];
        /* fall through */
    case 4:
        end8[3] = tail[3];
        /* fall through */
    case 3:
        end8[2] = tail[2];
        /* fall through */
    case 2:
        end8[1] = tail[1];
        /* fall through */
    case 1:
        end8[0] = tail[0];
        /* fall through */
    default:
        break;
    }
    for (p = x; p != end; p++)
        *p = *p / sum;
}
#endif

#include "exp4.h"
#if PS2LLM_VU0
#define silu_mul_80 silu_mul_80_c
void silu_mul_80(float *gate, const float *up) PS2LLM_KEEP NOINLINE;
#endif
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
#if PS2LLM_VU0
#undef silu_mul_80

/* The VU0 variant of silu_mul_80_c, 8 elements a trip; gate or up not 16-byte
 * aligned go to the C twin. */
void silu_mul_80(float *gate, const float *up)
{
    if ((((uintptr_t)gate | (uintptr_t)up) & 15u) != 0) {
        silu_mul_80_c(gate, up);
        return;
    }
    ps2llm_silu_mul(gate, up, gate + 80u);
}
#endif

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
