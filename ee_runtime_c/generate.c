/* generate.c — prompt, then sample and feed back. */
#include "generate.h"

static int is_stop(const GenParams *p, uint32_t token)
{
    uint32_t i;
    for (i = 0; i < p->n_stop; i++)
        if (p->stop[i] == token)
            return 1;
    return 0;
}

status_t generate(const Weights *w, RunState *s, Sampler *sampler, const uint32_t *prompt,
                  uint32_t n_prompt, const GenParams *params, uint32_t *out, GenStats *stats)
{
    uint32_t pos, token, max_new = params->max_new;
    uint64_t start = hal_ticks(), prompt_end;
    float *logits = NULL;
    stats->n_prompt = n_prompt;
    stats->n_generated = 0;
    stats->gen_forwards = 0;
    if (n_prompt == 0)
        return ST_PROMPT_EMPTY;
    if (n_prompt > MODEL_CONTEXT)
        return ST_PROMPT_TOO_LONG;
    if (max_new > MODEL_CONTEXT - n_prompt)
        max_new = MODEL_CONTEXT - n_prompt;
    for (pos = 0; pos < n_prompt; pos++)
        logits = forward(w, s, prompt[pos], pos);
    prompt_end = hal_ticks();
    stats->prompt_ticks = prompt_end - start;
    token = prompt[n_prompt - 1];
    while (stats->n_generated < max_new) {
        uint32_t next = sampler_sample(sampler, logits);
        out[stats->n_generated++] = next;
        if (is_stop(params, next))
            break;
        params->emit(params->emit_ctx, token, next);
        token = next;
        if (stats->n_generated == max_new)
            break;
        logits = forward(w, s, token, pos++);
        stats->gen_forwards++;
    }
    stats->gen_ticks = hal_ticks() - prompt_end;
    return ST_OK;
}
