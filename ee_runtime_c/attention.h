/* attention.h — attention's inner loops (forward.c): one cached key against the
 * query heads of its kv head, and one cached value into their outputs. A dot product
 * sums in 4 lanes (lane j: elements i = j mod 4, in order of i), then adds the lanes
 * as ((0 + 1) + 2) + 3, so that VU0's 4-lane loop (vu0.h) and this C compute the same
 * float operations; model/reference.py (attention_dot) does the same in numpy. */
#ifndef PS2LLM_ATTENTION_H
#define PS2LLM_ATTENTION_H

#include <stdint.h>

typedef struct {
    uint32_t head_dim;   /* floats a head */
    uint32_t n_q;        /* query heads of one kv head */
    uint32_t stride;     /* floats from one query head's scores to the next's */
    float scale;         /* f32(1 / sqrt(head_dim)) */
} AttDims;

/* att[r * stride] = dot(q + r * head_dim, k) * scale for r < n_q */
void att_scores(float *att, const float *q, const float *k, const AttDims *d);
/* (o + r * head_dim)[i] += att[r * stride] * v[i] for r < n_q, i < head_dim */
void att_values(float *o, const float *att, const float *v, const AttDims *d);

#endif
