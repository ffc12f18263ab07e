/* attention.h — attention's inner loops (forward.c): the cached keys of one kv head
 * against its query heads, and its cached values into their outputs, over n_pos
 * positions in one call. A dot product sums in 4 lanes (lane j: elements i = j mod
 * 4, in order of i), then adds the lanes as ((0 + 1) + 2) + 3, so that VU0's 4-lane
 * loops (vu0.h) and this C compute the same float operations; model/reference.py
 * (attention_dot) does the same in numpy. */
#ifndef PS2LLM_ATTENTION_H
#define PS2LLM_ATTENTION_H

#include <stdint.h>

typedef struct {
    uint32_t head_dim;   /* floats a head */
    uint32_t n_q;        /* query heads of one kv head */
    uint32_t stride;     /* floats from one query head's scores to the next's */
    uint32_t kv_stride;  /* floats from one position's key (value) to the next's */
    float scale;         /* f32(1 / sqrt(head_dim)) */
} AttDims;

/* Positions taken at a time where a kv head's positions pass more than once (the
 * VU0 loops with more query heads than their registers hold: the block's keys stay
 * in the D-cache between passes), and forward.c's block of f16/q8 keys or values
 * converted to f32 (docs/KERNELS.md). */
#define ATT_BLOCK 16u

/* att[r * stride + t] = dot(q + r * head_dim, k + t * kv_stride) * scale
 * for r < n_q, t < n_pos */
void att_scores(float *att, const float *q, const float *k, uint32_t n_pos, const AttDims *d);
/* (o + r * head_dim)[i] += att[r * stride + t] * (v + t * kv_stride)[i]
 * for t < n_pos in order of t, r < n_q, i < head_dim */
void att_values(float *o, const float *att, const float *v, uint32_t n_pos, const AttDims *d);

#endif
