/* sampler.h — next token from logits: greedy (temperature 0), or sampled with
 * temperature, top-k and top-p from a seeded xorshift64* generator, so a seed
 * gives the same tokens on every target. No doubles. */
#ifndef PS2LLM_SAMPLER_H
#define PS2LLM_SAMPLER_H

#include <stdint.h>

#include "arena.h"

typedef struct {
    float prob;
    uint32_t index;
} ProbIndex;

typedef struct {
    uint32_t vocab_size;
    float temperature;   /* 0: greedy */
    uint32_t top_k;      /* 0: off */
    float top_p;         /* >= 1: off */
    uint64_t rng;
    ProbIndex *candidates;   /* (vocab_size,) */
} Sampler;

status_t sampler_init(Sampler *s, uint32_t vocab_size, float temperature, uint32_t top_k,
                      float top_p, uint64_t seed, Arena *a, StatusDetail *d);

/* The next token; logits (vocab_size,) are overwritten. */
uint32_t sampler_sample(Sampler *s, float *logits);

/* Index of the first largest value. */
uint32_t sampler_argmax(const float *x, uint32_t n);

#endif
