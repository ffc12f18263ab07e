/* attention.c — attention's inner loops (attention.h). On the EE (-march=r5900,
 * vu0.h) att_scores and att_values are VU0 macro mode loops, and the portable C
 * below is kept as att_scores_c / att_values_c: their C twins, used when head_dim is
 * not a multiple of 8 or a vector is not 16-byte aligned, and counted by the cost
 * model (docs/KERNELS.md). Everywhere else the C is att_scores / att_values itself. */
#include "attention.h"

#include "vu0.h"

#if PS2LLM_VU0
#define att_scores att_scores_c
#define att_values att_values_c
void att_scores(float *att, const float *q, const float *k, const AttDims *d) __attribute__((noinline));
void att_values(float *o, const float *att, const float *v, const AttDims *d) __attribute__((noinline));
#endif

/* q · k over n floats in 4 lanes: lane j adds q[i] * k[i] for i = j mod 4, in order */
static float att_dot(const float *q, const float *k, uint32_t n)
{
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    uint32_t i;
    for (i = 0; i + 4u <= n; i += 4u) {
        s0 += q[i] * k[i];
        s1 += q[i + 1u] * k[i + 1u];
        s2 += q[i + 2u] * k[i + 2u];
        s3 += q[i + 3u] * k[i + 3u];
    }
    if (i < n)
        s0 += q[i] * k[i];
    if (i + 1u < n)
        s1 += q[i + 1u] * k[i + 1u];
    if (i + 2u < n)
        s2 += q[i + 2u] * k[i + 2u];
    return ((s0 + s1) + s2) + s3;
}

void att_scores(float *att, const float *q, const float *k, const AttDims *d)
{
    uint32_t r;
    for (r = 0; r < d->n_q; r++)
        att[r * d->stride] = att_dot(q + r * d->head_dim, k, d->head_dim) * d->scale;
}

void att_values(float *o, const float *att, const float *v, const AttDims *d)
{
    uint32_t r, i;
    for (r = 0; r < d->n_q; r++, o += d->head_dim) {
        const float a = att[r * d->stride];
        for (i = 0; i < d->head_dim; i++)
            o[i] += a * v[i];
    }
}

#if PS2LLM_VU0
#undef att_scores
#undef att_values

/* The VU0 variants: the same float operations in the same order as the C twins. The
 * query heads (and outputs) of a kv head lie head_dim floats apart, so one of them
 * aligned with head_dim a multiple of 8 makes them all aligned. */
void att_scores(float *att, const float *q, const float *k, const AttDims *d)
{
    const uint32_t n = d->head_dim, n_q = d->n_q, stride = d->stride;   /* locals: the */
    const float scale = d->scale;                      /* asm's "memory" clobber rereads d */
    uint32_t r;
    if (!vu0_fits(q, k, n)) {
        att_scores_c(att, q, k, d);
        return;
    }
    for (r = 0; r < n_q; r++, q += n, att += stride)
        *att = vu0_dot(q, k, n) * scale;
}

void att_values(float *o, const float *att, const float *v, const AttDims *d)
{
    const uint32_t n = d->head_dim, n_q = d->n_q, stride = d->stride;
    uint32_t r;
    if (!vu0_fits(o, v, n)) {
        att_values_c(o, att, v, d);
        return;
    }
    for (r = 0; r < n_q; r++, o += n, att += stride)
        vu0_axpy(o, *att, v, n);
}
#endif
