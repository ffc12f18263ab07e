/* generate.c — prompt, then sample and feed back. */
#include "generate.h"

#include "profile.h"

static int is_stop(const GenParams *p, uint32_t token)
{
    uint32_t i;
    for (i = 0; i < p->n_stop; i++)
        if (p->stop[i] == token)
            return 1;
    return 0;
}

/* One forward pass; more: another one will follow unless a stop token comes
 * (the streamer then reads ahead into the next token). */
static status_t step(const Weights *w, RunState *s, uint32_t token, uint32_t pos, int more,
                     float **logits, StatusDetail *d)
{
    s->more_tokens = more;
    *logits = forward(w, s, token, pos);
    if (*logits)
        return ST_OK;
    *d = s->detail;
    return s->status;
}

status_t generate(const Weights *w, RunState *s, Sampler *sampler, const uint32_t *prompt,
                  uint32_t n_prompt, const GenParams *params, uint32_t *out, GenStats *stats,
                  StatusDetail *d)
{
    uint32_t pos, token, max_new = params->max_new;
    uint64_t start = hal_ticks(), prompt_end, bytes_start = hal_bytes_read();
    float *logits = NULL;
    status_t st = ST_OK;
    stats->n_prompt = n_prompt;
    stats->n_generated = 0;
    stats->gen_forwards = 0;
    stats->bytes_read = 0;
    if (n_prompt == 0)
        return status_fail_plain(d, ST_PROMPT_EMPTY, "prompt");
    if (n_prompt > MODEL_CONTEXT)
        return status_fail(d, ST_PROMPT_TOO_LONG, "prompt", n_prompt, MODEL_CONTEXT);
    if (max_new > MODEL_CONTEXT - n_prompt)
        max_new = MODEL_CONTEXT - n_prompt;
    for (pos = 0; pos < n_prompt && st == ST_OK; pos++)
        st = step(w, s, prompt[pos], pos, pos + 1 < n_prompt || max_new > 1, &logits, d);
    prompt_end = hal_ticks();
    stats->prompt_ticks = prompt_end - start;
    token = prompt[n_prompt - 1];
    while (st == ST_OK && stats->n_generated < max_new) {
        uint32_t next;
        ProfStage prev = prof_enter(PROF_SAMPLING);
        next = sampler_sample(sampler, logits);
        prof_enter(prev);
        out[stats->n_generated++] = next;
        if (is_stop(params, next))
            break;
        params->emit(params->emit_ctx, token, next);
        token = next;
        if (stats->n_generated == max_new)
            break;
        st = step(w, s, token, pos++, stats->n_generated + 1 < max_new, &logits, d);
        stats->gen_forwards++;
    }
    stats->gen_ticks = hal_ticks() - prompt_end;
    stats->bytes_read = hal_bytes_read() - bytes_start;
    return st;
}
