/* generate.h — the decoding loop: the prompt through the model one token at a
 * time, then sample, emit and feed back until the token budget, a stop token or
 * the end of the context. Timed with the hal clock. */
#ifndef PS2LLM_GENERATE_H
#define PS2LLM_GENERATE_H

#include "forward.h"
#include "sampler.h"

typedef struct {
    uint32_t n_prompt;        /* prompt tokens run through the model */
    uint32_t n_generated;     /* tokens emitted */
    uint64_t prompt_ticks;    /* time of the prompt's forward passes */
    uint64_t gen_ticks;       /* time of the rest: forward passes of generated tokens */
    uint32_t gen_forwards;    /* forward passes in gen_ticks */
    uint64_t bytes_read;      /* from the disc by the forward passes (streamed weights) */
} GenStats;

/* Called with each generated token as soon as it is chosen (not for stop tokens). */
typedef void (*EmitFn)(void *ctx, uint32_t prev_token, uint32_t token);

typedef struct {
    const uint32_t *stop;     /* tokens that end generation (kept in out, not emitted) */
    uint32_t n_stop;
    uint32_t max_new;         /* at most this many new tokens */
    EmitFn emit;
    void *emit_ctx;
} GenParams;

/* Run prompt (n_prompt >= 1 tokens, at most MODEL_CONTEXT) and generate; the
 * generated ids go to out (max_new entries). A failure (streamed weights that
 * cannot be read) stops the run with its status and d filled in. */
status_t generate(const Weights *w, RunState *s, Sampler *sampler, const uint32_t *prompt,
                  uint32_t n_prompt, const GenParams *params, uint32_t *out, GenStats *stats,
                  StatusDetail *d);

#endif
