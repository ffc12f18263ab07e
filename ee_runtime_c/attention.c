/* attention.c — attention's inner loops (attention.h). On the EE (-march=r5900,
 * vu0.h) att_scores and att_values run VU0 macro mode kernels that loop over the
 * positions themselves, the query heads (scores) or the outputs (values) held in VF
 * registers from the first position to the last; the portable C below is kept as
 * att_scores_c / att_values_c: their C twins, used when head_dim is not a multiple
 * of 8 or a vector is not 16-byte aligned, and counted by the cost model
 * (docs/KERNELS.md). Everywhere else the C is att_scores / att_values itself. */
#include "attention.h"

#include "vu0.h"

#if PS2LLM_VU0
#define att_scores att_scores_c
#define att_values att_values_c
void att_scores(float *att, const float *q, const float *k, uint32_t n_pos, const AttDims *d)
    __attribute__((noinline));
void att_values(float *o, const float *att, const float *v, uint32_t n_pos, const AttDims *d)
    __attribute__((noinline));
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

void att_scores(float *att, const float *q, const float *k, uint32_t n_pos, const AttDims *d)
{
    const uint32_t n = d->head_dim, n_q = d->n_q, stride = d->stride, kvs = d->kv_stride;
    const float scale = d->scale;      /* locals: a float store could alias d->scale */
    uint32_t t, r;
    for (t = 0; t < n_pos; t++, k += kvs)
        for (r = 0; r < n_q; r++)
            att[r * stride + t] = att_dot(q + r * n, k, n) * scale;
}

void att_values(float *o, const float *att, const float *v, uint32_t n_pos, const AttDims *d)
{
    const uint32_t n = d->head_dim, n_q = d->n_q, stride = d->stride, kvs = d->kv_stride;
    uint32_t t, r, i;
    for (t = 0; t < n_pos; t++, v += kvs) {
        float *out = o;
        for (r = 0; r < n_q; r++, out += n) {
            const float a = att[r * stride + t];
            for (i = 0; i < n; i++)
                out[i] += a * v[i];
        }
    }
}

#if PS2LLM_VU0
#undef att_scores
#undef att_values

/* The VU0 kernels: the same float operations in the same order as the C twins.
 * att_scores_vu0_<g>x<head_dim> and att_values_vu0_<g>x<head_dim> take g = 2 query
 * heads (head_dim <= 32) or 1 (head_dim <= 64) over run->n4 trips of 4 positions,
 * then run->rem single positions (vu0.h has the register map). A trip of 4 packs
 * each head's 4 scores into one quadword (sqc2) and takes each head's 4 weights from
 * one (lqc2): it needs the score rows 16-byte aligned, else n4 is 0. */
typedef struct {
    uint32_t n4, rem;       /* trips of 4 positions, then single positions */
    uint32_t head_dim;      /* floats from one query head (output) to the next */
    uint32_t stride;        /* floats from one query head's scores to the next's */
    uint32_t kv_bytes;      /* bytes from one position's key (value) to the next's */
    uint32_t scale;         /* the bits of the f32 scale */
} AttRun;

typedef void AttKernel(float *att, const float *x, const float *kv, const AttRun *run);

/* Every asm block is noreorder: else the assembler may move its last instruction into
 * the delay slot of a branch after it (jr ra), where COP2 words do not belong. */
#define VU0_NOREORDER ".set push\n\t.set noreorder\n"

/* a kernel's positions: run->n4 trips of TRIP4 (4 positions, att and att1 advancing by
 * a quadword), then run->rem of TRIP1 (one position); TRIP4/TRIP1 advance kv */
#define ATT_LOOP(N, TRIP, LABEL, STEP)                                                       \
        if (N) {                                                                             \
            end = att + (STEP) / 4u * (N);                                                   \
            __asm__ volatile(VU0_NOREORDER LABEL ":\n\t" TRIP                                \
                             "addiu %[a0], %[a0], " #STEP "\n\t"                             \
                             "bne %[a0], %[end], " LABEL "b\n\t"                             \
                             "addiu %[a1], %[a1], " #STEP "\n\t"                             \
                             ".set pop"                                                      \
                             : [a0] "+r"(att), [a1] "+r"(att1), [kv] "+r"(kv)                \
                             : [end] "r"(end), [kvs] "r"(kvs)                                \
                             : "$8", "$9", "memory");                                        \
        }
#define ATT_TRIPS(TRIP4, TRIP1) ATT_LOOP(n4, TRIP4, "1", 16) ATT_LOOP(rem, TRIP1, "2", 4)

/* scores: set vf29.x = scale and vf30 = 1.0 (VU0_SUM_z), load the query head(s) */
#define ATT_SCORES_KERNEL(name, LOAD_Q, TRIP4, TRIP1)                                        \
    static void __attribute__((noinline))                                                    \
    name(float *att, const float *q, const float *kv, const AttRun *run)                     \
    {                                                                                        \
        float *att1 = att + run->stride, *end;                                               \
        const float *q1 = q + run->head_dim;                                                 \
        const uint32_t kvs = run->kv_bytes, n4 = run->n4, rem = run->rem;                    \
        __asm__ volatile(VU0_NOREORDER LOAD_Q "qmtc2 %[s], $vf29\n\t"                        \
                         "vaddw.xyzw $vf30, $vf0, $vf0w\n\t" ".set pop"                       \
                         : : [q0] "r"(q), [q1] "r"(q1), [s] "r"(run->scale) : "memory");     \
        ATT_TRIPS(TRIP4, TRIP1)                                                              \
    }

/* one position of a pair, its scores into lane L of vf27, vf28 */
#define ATT_POS2(P, PM1, L)                                                                  \
    VU0_REP(P, VU0_LQ_K, _)                                                                  \
    VU0_ACC0 VU0_REP(PM1, VU0_DOT_H0, _) VU0_DOT_H0_LAST(PM1)                                \
    VU0_ACC0 VU0_REP(PM1, VU0_DOT_H1, _) VU0_DOT_H1_LAST(PM1)                                \
    VU0_SUM(L, "$vf27", "$vf25") VU0_SUM(L, "$vf28", "$vf26")                                \
    "addu %[kv], %[kv], %[kvs]\n\t"
#define ATT_POS1(P, PM1, L)                                                                  \
    VU0_ACC0 VU0_REP(PM1, VU0_DOT1, _) VU0_DOT1_LAST(PM1)                                    \
    VU0_SUM(L, "$vf27", "$vf25")                                                             \
    "addu %[kv], %[kv], %[kvs]\n\t"
/* a lone position's dot product in lane x of vf25 (vf26), times the scale, out */
#define ATT_LONE_SCORE(d, gpr, a)                                                            \
    "vaddy.x " d ", " d ", " d "y\n\t" "vaddz.x " d ", " d ", " d "z\n\t"                    \
    "vaddw.x " d ", " d ", " d "w\n\t" "vmulx.x " d ", " d ", $vf29x\n\t"                    \
    "qmfc2 " gpr ", " d "\n\t" "sw " gpr ", 0(%[" a "])\n\t"

#define ATT_SCORES_PAIR(HD, P, PM1)                                                          \
    ATT_SCORES_KERNEL(att_scores_vu0_2x##HD,                                                 \
                      VU0_REP(P, VU0_LQ_H0, "q0") VU0_REP(P, VU0_LQ_H1, "q1"),               \
                      ATT_POS2(P, PM1, x) ATT_POS2(P, PM1, y)                                \
                      ATT_POS2(P, PM1, z) ATT_POS2(P, PM1, w)                                \
                      "vmulx.xyzw $vf27, $vf27, $vf29x\n\t"                                  \
                      "vmulx.xyzw $vf28, $vf28, $vf29x\n\t"                                  \
                      "sqc2 $vf27, 0(%[a0])\n\t" "sqc2 $vf28, 0(%[a1])\n\t",                 \
                      VU0_REP(P, VU0_LQ_K, _)                                                \
                      VU0_ACC0 VU0_REP(PM1, VU0_DOT_H0, _) VU0_DOT_H0_LAST(PM1)              \
                      VU0_ACC0 VU0_REP(PM1, VU0_DOT_H1, _) VU0_DOT_H1_LAST(PM1)              \
                      "addu %[kv], %[kv], %[kvs]\n\t"                                          \
                      ATT_LONE_SCORE("$vf25", "$8", "a0") ATT_LONE_SCORE("$vf26", "$9", "a1"))
#define ATT_SCORES_ONE(HD, P, PM1)                                                           \
    ATT_SCORES_KERNEL(att_scores_vu0_1x##HD, VU0_REP(P, VU0_LQ_H0, "q0"),                    \
                      ATT_POS1(P, PM1, x) ATT_POS1(P, PM1, y)                                \
                      ATT_POS1(P, PM1, z) ATT_POS1(P, PM1, w)                                \
                      "vmulx.xyzw $vf27, $vf27, $vf29x\n\t" "sqc2 $vf27, 0(%[a0])\n\t",      \
                      VU0_ACC0 VU0_REP(PM1, VU0_DOT1, _) VU0_DOT1_LAST(PM1)                  \
                      "addu %[kv], %[kv], %[kvs]\n\t" ATT_LONE_SCORE("$vf25", "$8", "a0"))

/* values: load the output head(s), the loops, store them back */
#define ATT_VALUES_KERNEL(name, LOAD_O, TRIP4, TRIP1, STORE_O)                               \
    static void __attribute__((noinline))                                                    \
    name(float *att, const float *o, const float *kv, const AttRun *run)                     \
    {                                                                                        \
        float *att1 = att + run->stride, *end;                                               \
        const float *o1 = o + run->head_dim;                                                 \
        const uint32_t kvs = run->kv_bytes, n4 = run->n4, rem = run->rem;                    \
        __asm__ volatile(VU0_NOREORDER LOAD_O ".set pop"                                     \
                         : : [o0] "r"(o), [o1] "r"(o1) : "memory");                          \
        ATT_TRIPS(TRIP4, TRIP1)                                                              \
        __asm__ volatile(VU0_NOREORDER STORE_O ".set pop"                                    \
                         : : [o0] "r"(o), [o1] "r"(o1) : "memory");                          \
    }

#define ATT_VPOS(P, AXPY, L) VU0_REP(P, AXPY, L) "addu %[kv], %[kv], %[kvs]\n\t"
#define ATT_VALUES_PAIR(HD, P)                                                               \
    ATT_VALUES_KERNEL(att_values_vu0_2x##HD,                                                 \
                      VU0_REP(P, VU0_LQ_H0, "o0") VU0_REP(P, VU0_LQ_H1, "o1"),               \
                      "lqc2 $vf29, 0(%[a0])\n\t" "lqc2 $vf30, 0(%[a1])\n\t"                  \
                      ATT_VPOS(P, VU0_AXPY2, x) ATT_VPOS(P, VU0_AXPY2, y)                    \
                      ATT_VPOS(P, VU0_AXPY2, z) ATT_VPOS(P, VU0_AXPY2, w),                   \
                      "lw $8, 0(%[a0])\n\t" "lw $9, 0(%[a1])\n\t"                            \
                      "qmtc2 $8, $vf29\n\t" "qmtc2 $9, $vf30\n\t"                            \
                      ATT_VPOS(P, VU0_AXPY2, x),                                             \
                      VU0_REP(P, VU0_SQ_H0, "o0") VU0_REP(P, VU0_SQ_H1, "o1"))
#define ATT_VALUES_ONE(HD, P)                                                                \
    ATT_VALUES_KERNEL(att_values_vu0_1x##HD, VU0_REP(P, VU0_LQ_H0, "o0"),                    \
                      "lqc2 $vf29, 0(%[a0])\n\t"                                             \
                      ATT_VPOS(P, VU0_AXPY1, x) ATT_VPOS(P, VU0_AXPY1, y)                    \
                      ATT_VPOS(P, VU0_AXPY1, z) ATT_VPOS(P, VU0_AXPY1, w),                   \
                      "lw $8, 0(%[a0])\n\t" "qmtc2 $8, $vf29\n\t" ATT_VPOS(P, VU0_AXPY1, x), \
                      VU0_REP(P, VU0_SQ_H0, "o0"))

/* pairs of query heads up to head_dim 32; one head up to 64 */
ATT_SCORES_PAIR(8, 1, 0)
ATT_SCORES_PAIR(16, 2, 1)
ATT_SCORES_PAIR(24, 3, 2)
ATT_SCORES_PAIR(32, 4, 3)
ATT_SCORES_ONE(8, 1, 0)
ATT_SCORES_ONE(16, 2, 1)
ATT_SCORES_ONE(24, 3, 2)
ATT_SCORES_ONE(32, 4, 3)
ATT_SCORES_ONE(40, 5, 4)
ATT_SCORES_ONE(48, 6, 5)
ATT_SCORES_ONE(56, 7, 6)
ATT_SCORES_ONE(64, 8, 7)
ATT_VALUES_PAIR(8, 1)
ATT_VALUES_PAIR(16, 2)
ATT_VALUES_PAIR(24, 3)
ATT_VALUES_PAIR(32, 4)
ATT_VALUES_ONE(8, 1)
ATT_VALUES_ONE(16, 2)
ATT_VALUES_ONE(24, 3)
ATT_VALUES_ONE(32, 4)
ATT_VALUES_ONE(40, 5)
ATT_VALUES_ONE(48, 6)
ATT_VALUES_ONE(56, 7)
ATT_VALUES_ONE(64, 8)

#define ATT_PAIR_MAX 32u      /* head_dim of the widest pair kernel */
#define ATT_ONE_MAX 64u       /* of the widest one-head kernel */

static AttKernel *const scores_pair[] = {
    0, att_scores_vu0_2x8, att_scores_vu0_2x16, att_scores_vu0_2x24, att_scores_vu0_2x32,
};
static AttKernel *const scores_one[] = {
    0, att_scores_vu0_1x8, att_scores_vu0_1x16, att_scores_vu0_1x24, att_scores_vu0_1x32,
    att_scores_vu0_1x40, att_scores_vu0_1x48, att_scores_vu0_1x56, att_scores_vu0_1x64,
};
static AttKernel *const values_pair[] = {
    0, att_values_vu0_2x8, att_values_vu0_2x16, att_values_vu0_2x24, att_values_vu0_2x32,
};
static AttKernel *const values_one[] = {
    0, att_values_vu0_1x8, att_values_vu0_1x16, att_values_vu0_1x24, att_values_vu0_1x32,
    att_values_vu0_1x40, att_values_vu0_1x48, att_values_vu0_1x56, att_values_vu0_1x64,
};

/* Heads wider than ATT_ONE_MAX: vu0.h's streaming loops, one position and head at a
 * time (both vectors from memory). */
static void __attribute__((noinline))
att_scores_vu0_stream(float *att, const float *q, const float *k, uint32_t n_pos, const AttDims *d)
{
    const uint32_t n = d->head_dim, n_q = d->n_q, stride = d->stride, kvs = d->kv_stride;
    const float scale = d->scale;
    uint32_t t, r;
    for (t = 0; t < n_pos; t++, k += kvs)
        for (r = 0; r < n_q; r++)
            att[r * stride + t] = vu0_dot(q + r * n, k, n) * scale;
}

static void __attribute__((noinline))
att_values_vu0_stream(float *o, const float *att, const float *v, uint32_t n_pos, const AttDims *d)
{
    const uint32_t n = d->head_dim, n_q = d->n_q, stride = d->stride, kvs = d->kv_stride;
    uint32_t t, r;
    for (t = 0; t < n_pos; t++, v += kvs)
        for (r = 0; r < n_q; r++)
            vu0_axpy(o + r * n, att[r * stride + t], v, n);
}

/* More query heads (outputs) than one kernel holds: pairs where the pair kernels
 * reach, the odd one alone; a kv head's positions then pass once a group of heads,
 * so by blocks of ATT_BLOCK (t a multiple of 4 keeps the score rows aligned). */
static void __attribute__((noinline))
att_groups(AttKernel *const pair, AttKernel *const one, float *att, const float *x, const float *kv,
           uint32_t n_pos, const AttDims *d, AttRun *run, int packed)
{
    const uint32_t n = d->head_dim, n_q = d->n_q, stride = d->stride, kvs = d->kv_stride;
    const uint32_t paired = pair ? n_q / 2u * 2u : 0u;
    uint32_t t, r;
    for (t = 0; t < n_pos; t += ATT_BLOCK) {
        const uint32_t m = n_pos - t < ATT_BLOCK ? n_pos - t : ATT_BLOCK;
        run->n4 = packed ? m / 4u : 0u;
        run->rem = m - 4u * run->n4;
        for (r = 0; r < paired; r += 2u)
            pair(att + r * stride + t, x + r * n, kv + t * kvs, run);
        for (; r < n_q; r++)
            one(att + r * stride + t, x + r * n, kv + t * kvs, run);
    }
}

/* The kernels for head_dim d->head_dim (pair: 0 beyond ATT_PAIR_MAX) over n_pos
 * positions: one call where one kernel holds every head, else att_groups. A trip of
 * 4 positions needs the score rows 16-byte aligned. */
static inline void att_run(AttKernel *const pair, AttKernel *const one, float *att, const float *x,
                           const float *kv, uint32_t n_pos, const AttDims *d, uint32_t scale_bits)
{
    const uint32_t n_q = d->n_q;
    const int packed = ((uintptr_t)att & 15u) == 0 && d->stride % 4u == 0;
    AttKernel *const all = n_q == 1u ? one : n_q == 2u ? pair : 0;
    AttRun run;
    run.head_dim = d->head_dim;
    run.stride = d->stride;
    run.kv_bytes = d->kv_stride * 4u;
    run.scale = scale_bits;
    if (!all) {
        att_groups(pair, one, att, x, kv, n_pos, d, &run, packed);
        return;
    }
    run.n4 = packed ? n_pos / 4u : 0u;
    run.rem = n_pos - 4u * run.n4;
    all(att, x, kv, &run);
}

void att_scores(float *att, const float *q, const float *k, uint32_t n_pos, const AttDims *d)
{
    const uint32_t n = d->head_dim;
    union { float f; uint32_t u; } scale = { d->scale };
    if (!vu0_fits(q, k, n) || d->kv_stride % 4u) {
        att_scores_c(att, q, k, n_pos, d);
        return;
    }
    if (n > ATT_ONE_MAX) {
        att_scores_vu0_stream(att, q, k, n_pos, d);
        return;
    }
    att_run(n <= ATT_PAIR_MAX ? scores_pair[n / 8u] : 0, scores_one[n / 8u], att, q, k, n_pos, d,
            scale.u);
}

/* The kernels take the weights where att_scores puts the scores (att) and the
 * outputs where it takes the queries (x). */
void att_values(float *o, const float *att, const float *v, uint32_t n_pos, const AttDims *d)
{
    const uint32_t n = d->head_dim;
    if (!vu0_fits(o, v, n) || d->kv_stride % 4u) {
        att_values_c(o, att, v, n_pos, d);
        return;
    }
    if (n > ATT_ONE_MAX) {
        att_values_vu0_stream(o, att, v, n_pos, d);
        return;
    }
    att_run(n <= ATT_PAIR_MAX ? values_pair[n / 8u] : 0, values_one[n / 8u], (float *)att, o, v,
            n_pos, d, 0);
}
#endif
