/* sampler.c — greedy, temperature, top-k and top-p sampling.
 *
 * Candidates are ranked by probability, ties by lower token id, so top-k = 1 is
 * greedy. Ranking pops a binary max-heap only as far as top-k / top-p need
 * (O(vocab + k log vocab)) instead of sorting the whole vocabulary. */
#include "sampler.h"

#include "mathf.h"

status_t sampler_init(Sampler *s, uint32_t vocab_size, float temperature, uint32_t top_k,
                      float top_p, uint64_t seed, Arena *a, StatusDetail *d)
{
    void *mem;
    status_t st = arena_alloc(a, (size_t)vocab_size * sizeof(ProbIndex), "sampler", d, &mem);
    s->vocab_size = vocab_size;
    s->temperature = temperature;
    s->top_k = top_k;
    s->top_p = top_p;
    s->rng = seed ? seed : 0x9E3779B97F4A7C15u;   /* xorshift state must not be 0 */
    s->candidates = (ProbIndex *)mem;
    return st;
}

uint32_t sampler_argmax(const float *x, uint32_t n)
{
    uint32_t i, best = 0;
    for (i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
 * generators, scrambled", 2016): 24 random bits -> [0, 1). */
static float random_unit(Sampler *s)
{
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return (float)((x * 0x2545F4914F6CDD1Du) >> 40) * (1.0f / 16777216.0f);
}

static int ranks_before(const ProbIndex *a, const ProbIndex *b)
{
    return a->prob > b->prob || (a->prob == b->prob && a->index < b->index);
}

static void sift_down(ProbIndex *h, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t best = i, l = 2 * i + 1, r = l + 1;
        ProbIndex tmp;
        if (l < n && ranks_before(&h[l], &h[best]))
            best = l;
        if (r < n && ranks_before(&h[r], &h[best]))
            best = r;
        if (best == i)
            return;
        tmp = h[i];
        h[i] = h[best];
        h[best] = tmp;
        i = best;
    }
}

/* Rank the first candidates: afterwards c[n-1], c[n-2], ... are the best in order.
 * Stops after top_k of them, or once they hold top_p of `total`. Returns how many. */
static uint32_t rank_candidates(ProbIndex *c, uint32_t n, uint32_t top_k, float top_p, float total)
{
    uint32_t i, taken = 0, heap = n;
    float mass = 0.0f;
    for (i = n / 2; i-- > 0;)
        sift_down(c, n, i);
    while (heap > 0) {
        ProbIndex best = c[0];
        c[0] = c[heap - 1];
        c[heap - 1] = best;
        heap--;
        sift_down(c, heap, 0);
        taken++;
        mass += best.prob;
        if ((top_k && taken >= top_k) || mass >= top_p * total)
            break;
    }
    return taken;
}

uint32_t sampler_sample(Sampler *s, float *logits)
{
    ProbIndex *c = s->candidates;
    uint32_t n = s->vocab_size, i, kept;
    float max, total = 0.0f, r, cum = 0.0f;
    if (s->temperature <= 0.0f)
        return sampler_argmax(logits, n);
    max = logits[sampler_argmax(logits, n)];
    for (i = 0; i < n; i++) {
        c[i].prob = mathf_exp((logits[i] - max) / s->temperature);
        c[i].index = i;
        total += c[i].prob;
    }
    if ((s->top_k == 0 || s->top_k >= n) && s->top_p >= 1.0f) {
        r = random_unit(s) * total;
        for (i = 0; i < n; i++) {
            cum += c[i].prob;
            if (r < cum)
                return i;
        }
        return sampler_argmax(logits, n);   /* rounding left r at the very top */
    }
    kept = rank_candidates(c, n, s->top_k, s->top_p, total);
    for (i = 0; i < kept; i++)
        cum += c[n - 1 - i].prob;
    r = random_unit(s) * cum;
    cum = 0.0f;
    for (i = 0; i < kept; i++) {
        cum += c[n - 1 - i].prob;
        if (r < cum)
            return c[n - 1 - i].index;
    }
    return c[n - kept].index;
}
