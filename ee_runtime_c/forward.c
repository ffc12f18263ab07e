/* forward.c — the transformer forward pass over the generated kernels. */
#include "forward.h"

#include "kernels.gen.h"

#define KV_GROUP (MODEL_N_HEADS / MODEL_N_KV_HEADS)   /* query heads per kv head */

status_t run_state_init(RunState *s, Arena *a, StatusDetail *d)
{
    struct { void **ptr; size_t bytes; const char *what; } bufs[] = {
        { (void **)&s->x, MODEL_DIM * 4u, "x" },
        { (void **)&s->xb, MODEL_DIM * 4u, "xb" },
        { (void **)&s->xb2, MODEL_DIM * 4u, "xb2" },
        { (void **)&s->q, MODEL_Q_DIM * 4u, "q" },
        { (void **)&s->o, MODEL_Q_DIM * 4u, "attention output" },
        { (void **)&s->att, (size_t)MODEL_N_HEADS * MODEL_CONTEXT * 4u, "attention scores" },
        { (void **)&s->hb, MODEL_HIDDEN_DIM * 4u, "hb" },
        { (void **)&s->hb2, MODEL_HIDDEN_DIM * 4u, "hb2" },
        { (void **)&s->logits, MODEL_VOCAB_SIZE * 4u, "logits" },
        { (void **)&s->key_cache, MODEL_KV_CACHE_BYTES / 2u, "key cache" },
        { (void **)&s->value_cache, MODEL_KV_CACHE_BYTES / 2u, "value cache" },
        { (void **)&s->rope_cos, MODEL_HEAD_DIM / 2u * 4u, "rope cos" },
        { (void **)&s->rope_sin, MODEL_HEAD_DIM / 2u * 4u, "rope sin" },
        { (void **)&s->xq, MODEL_ACT_MAX * 2u, "q8 activations" },
    };
    size_t i;
    for (i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        status_t st = arena_alloc(a, bufs[i].bytes, bufs[i].what, d, bufs[i].ptr);
        if (st != ST_OK)
            return st;
    }
    return ST_OK;
}

/* o (n_heads * head_dim) = attention of q over cache positions 0..pos of layer l. */
static void attention(RunState *s, uint32_t l, uint32_t pos)
{
    const float *keys = s->key_cache + (size_t)l * MODEL_CONTEXT * MODEL_KV_DIM;
    const float *values = s->value_cache + (size_t)l * MODEL_CONTEXT * MODEL_KV_DIM;
    uint32_t h, t, i;
    for (h = 0; h < MODEL_N_HEADS; h++) {
        const float *qh = s->q + h * MODEL_HEAD_DIM;
        float *att = s->att + (size_t)h * MODEL_CONTEXT;
        float *oh = s->o + h * MODEL_HEAD_DIM;
        uint32_t kv_off = h / KV_GROUP * MODEL_HEAD_DIM;
        for (t = 0; t <= pos; t++) {
            const float *k = keys + (size_t)t * MODEL_KV_DIM + kv_off;
            float dot = 0.0f;
            for (i = 0; i < MODEL_HEAD_DIM; i++)
                dot += qh[i] * k[i];
            att[t] = dot * MODEL_ATT_SCALE;
        }
        softmax(att, pos + 1);
        for (i = 0; i < MODEL_HEAD_DIM; i++)
            oh[i] = 0.0f;
        for (t = 0; t <= pos; t++) {
            const float *v = values + (size_t)t * MODEL_KV_DIM + kv_off;
            for (i = 0; i < MODEL_HEAD_DIM; i++)
                oh[i] += att[t] * v[i];
        }
    }
}

static void add(float *x, const float *y)
{
    uint32_t i;
    for (i = 0; i < MODEL_DIM; i++)
        x[i] = x[i] + y[i];
}

float *forward(const Weights *w, RunState *s, uint32_t token, uint32_t pos)
{
    uint32_t l;
    MODEL_EMBED(s->x, w->tok_embeddings, token);
    MODEL_ROPE_ANGLES(s->rope_cos, s->rope_sin, pos);
    for (l = 0; l < MODEL_N_LAYERS; l++) {
        const LayerWeights *lw = &w->layers[l];
        size_t at = ((size_t)l * MODEL_CONTEXT + pos) * MODEL_KV_DIM;
        float *k = s->key_cache + at, *v = s->value_cache + at;

        MODEL_RMSNORM(s->xb, s->x, lw->attention_norm);
        matmul_wq(s->q, lw->wq, s->xb, s->xq);
        matmul_wk(k, lw->wk, s->xb, s->xq);
        matmul_wv(v, lw->wv, s->xb, s->xq);
        MODEL_ROPE(s->q, MODEL_N_HEADS, s->rope_cos, s->rope_sin);
        MODEL_ROPE(k, MODEL_N_KV_HEADS, s->rope_cos, s->rope_sin);
        attention(s, l, pos);
        matmul_wo(s->xb2, lw->wo, s->o, s->xq);
        add(s->x, s->xb2);

        MODEL_RMSNORM(s->xb, s->x, lw->ffn_norm);
        matmul_w1(s->hb, lw->w1, s->xb, s->xq);
        matmul_w3(s->hb2, lw->w3, s->xb, s->xq);
        MODEL_SILU_MUL(s->hb, s->hb2);
        matmul_w2(s->xb2, lw->w2, s->hb, s->xq);
        add(s->x, s->xb2);
    }
    MODEL_RMSNORM(s->xb, s->x, w->norm);
    matmul_output(s->logits, w->output, s->xb, s->xq);
    return s->logits;
}
