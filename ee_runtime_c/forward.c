/* forward.c — the transformer forward pass over the generated kernels. A matrix
 * the plan streams is multiplied block by block as the streamer hands its rows
 * over (the next block's read in flight meanwhile); the products are the same
 * integers as in one call, so tokens do not depend on the RAM budget. */
#include "forward.h"

#include "attention.h"
#include "kernels.gen.h"
#include "profile.h"
#include "staging.h"

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
        { (void **)&s->k, MODEL_KV_DIM * 4u, "keys" },
        { (void **)&s->v, MODEL_KV_DIM * 4u, "values" },
        { (void **)&s->kv_head, MODEL_HEAD_DIM * 4u, "kv head" },
        { (void **)&s->key_cache, MODEL_KV_CACHE_BYTES / 2u, "key cache" },
        { (void **)&s->value_cache, MODEL_KV_CACHE_BYTES / 2u, "value cache" },
        { (void **)&s->rope_cos, MODEL_HEAD_DIM / 2u * 4u, "rope cos" },
        { (void **)&s->rope_sin, MODEL_HEAD_DIM / 2u * 4u, "rope sin" },
        { (void **)&s->xq, MODEL_ACT_MAX * 2u, "q8 activations" },
    };
    size_t i;
    s->status = ST_OK;
    s->more_tokens = 0;
    for (i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        status_t st = arena_alloc(a, bufs[i].bytes, bufs[i].what, d, bufs[i].ptr);
        if (st != ST_OK)
            return st;
    }
    return ST_OK;
}

/* out = W @ x, W (role, layer): resident (w) in one call, or streamed by blocks.
 * x is prepared (quantized into s->xq, s->xs) unless `after`, the matrix multiplied
 * just before by the same x, prepared it with the same function: wq, wk and wv
 * share their input, as do w1 and w3. */
static status_t project(const Weights *w, RunState *s, const MatmulKernel *k, const MatmulKernel *after,
                        const void *resident, PsntRole role, uint32_t layer, float *out, const float *x)
{
    ProfStage prev = prof_enter(PROF_MATMUL);
    const float xs = !after || after->prepare != k->prepare ? (s->xs = k->prepare(s->xq, x)) : s->xs;
    status_t st = ST_OK;
    if (resident) {
        stage_rows(k, out, resident, x, s->xq, xs, k->n_rows);
    } else {
        StreamBlock b;
        do {
            st = stream_next(w->stream, role, layer, &b, &s->detail);
            if (st != ST_OK)
                break;
            stage_rows(k, out + b.r0, b.data, x, s->xq, xs, b.r1 - b.r0);
        } while (!b.last);
    }
    prof_enter(prev);
    return st;
}

/* A norm's weights: resident, or its one streamed block. */
static status_t norm_weights(const Weights *w, RunState *s, const float *resident, PsntRole role,
                             uint32_t layer, const float **out)
{
    StreamBlock b;
    status_t st;
    *out = resident;
    if (resident)
        return ST_OK;
    st = stream_next(w->stream, role, layer, &b, &s->detail);
    *out = (const float *)b.data;
    return st;
}

static const AttDims cache_dims = { MODEL_HEAD_DIM, KV_GROUP, MODEL_CONTEXT, MODEL_KV_DIM,
                                    MODEL_ATT_SCALE };

/* Softmax of query heads h0 .. h0 + n_heads - 1 over n positions; their outputs zeroed. */
static void softmax_heads(RunState *s, uint32_t h0, uint32_t n_heads, uint32_t n)
{
    uint32_t h, i;
    for (h = h0; h < h0 + n_heads; h++) {
        softmax(s->att + (size_t)h * MODEL_CONTEXT, n);
        for (i = 0; i < MODEL_HEAD_DIM; i++)
            s->o[h * MODEL_HEAD_DIM + i] = 0.0f;
    }
}

/* staging.c's chunks of an f32 cache: positions [first, first + n) of every kv head
 * (MODEL_KV_DIM floats a position), against that kv head's query heads. */
static void scores_chunk(void *ctx, const void *keys, uint32_t first, uint32_t n)
{
    RunState *s = (RunState *)ctx;
    uint32_t g;
    for (g = 0; g < MODEL_N_KV_HEADS; g++)
        att_scores(s->att + (size_t)g * KV_GROUP * MODEL_CONTEXT + first, s->q + g * KV_GROUP * MODEL_HEAD_DIM,
                   (const float *)keys + g * MODEL_HEAD_DIM, n, &cache_dims);
}

static void values_chunk(void *ctx, const void *values, uint32_t first, uint32_t n)
{
    RunState *s = (RunState *)ctx;
    uint32_t g;
    for (g = 0; g < MODEL_N_KV_HEADS; g++)
        att_values(s->o + g * KV_GROUP * MODEL_HEAD_DIM, s->att + (size_t)g * KV_GROUP * MODEL_CONTEXT + first,
                   (const float *)values + g * MODEL_HEAD_DIM, n, &cache_dims);
}

/* o (n_heads * head_dim) = attention of q over cache positions 0..pos of layer l.
 * Kv head g serves query heads g * KV_GROUP .. + KV_GROUP - 1; attention.c's loops
 * (VU0 on the EE) take its cached vectors against all of them, many positions a call.
 * An f32 cache (position t of every kv head MODEL_KV_DIM floats after t - 1) goes
 * through the scratchpad by chunks of positions (staging.c); f16 and q8 are converted
 * to f32 ATT_BLOCK positions of one kv head at a time into block. The values are
 * added in order of position either way. */
static void attention(RunState *s, uint32_t l, uint32_t pos)
{
    static const AttDims block_dims = { MODEL_HEAD_DIM, KV_GROUP, MODEL_CONTEXT, MODEL_HEAD_DIM,
                                        MODEL_ATT_SCALE };
    static float block[ATT_BLOCK * MODEL_HEAD_DIM] __attribute__((aligned(64)));
    const uint32_t n = pos + 1;
    uint32_t g, t, j;
    if (MODEL_KV_QUANT[0] == 'f' && MODEL_KV_QUANT[1] == '3') {     /* "f32" */
        stage(MODEL_KV_HEAD(s->kv_head, s->key_cache, l, 0, 0), MODEL_KV_DIM * 4u, n, scores_chunk, s);
        softmax_heads(s, 0, MODEL_N_HEADS, n);
        stage(MODEL_KV_HEAD(s->kv_head, s->value_cache, l, 0, 0), MODEL_KV_DIM * 4u, n, values_chunk, s);
        return;
    }
    for (g = 0; g < MODEL_N_KV_HEADS; g++) {
        const uint32_t h0 = g * KV_GROUP;
        float *att = s->att + (size_t)h0 * MODEL_CONTEXT;
        for (t = 0; t < n; t += ATT_BLOCK) {
            const uint32_t m = n - t < ATT_BLOCK ? n - t : ATT_BLOCK;
            for (j = 0; j < m; j++)       /* the kernel fills the scratch it is given */
                MODEL_KV_HEAD(block + j * MODEL_HEAD_DIM, s->key_cache, l, t + j, g);
            att_scores(att + t, s->q + h0 * MODEL_HEAD_DIM, block, m, &block_dims);
        }
        softmax_heads(s, h0, KV_GROUP, n);
        for (t = 0; t < n; t += ATT_BLOCK) {
            const uint32_t m = n - t < ATT_BLOCK ? n - t : ATT_BLOCK;
            for (j = 0; j < m; j++)
                MODEL_KV_HEAD(block + j * MODEL_HEAD_DIM, s->value_cache, l, t + j, g);
            att_values(s->o + h0 * MODEL_HEAD_DIM, att + t, block, m, &block_dims);
        }
    }
}

static void add(float *x, const float *y)
{
    uint32_t i;
    for (i = 0; i < MODEL_DIM; i++)
        x[i] = x[i] + y[i];
}

/* Stop the pass on a failed step; s->status and s->detail say why. */
#define TRY(step)                          \
    do {                                   \
        if ((s->status = (step)) != ST_OK) \
            return NULL;                   \
    } while (0)

float *forward(const Weights *w, RunState *s, uint32_t token, uint32_t pos)
{
    const float *nw;
    const void *emb = w->tok_embeddings;
    uint32_t l;
    ProfStage prev = prof_enter(PROF_NORM);
    s->status = ST_OK;
    stream_begin_token(w->stream, s->more_tokens);
    if (!emb) {
        const uint8_t *row;
        TRY(stream_embedding_row(w->stream, token, &row, &s->detail));
        emb = row;
        token = 0;
    }
    MODEL_EMBED(s->x, emb, token);
    MODEL_ROPE_ANGLES(s->rope_cos, s->rope_sin, pos);
    for (l = 0; l < MODEL_N_LAYERS; l++) {
        const LayerWeights *lw = &w->layers[l];

        TRY(norm_weights(w, s, lw->attention_norm, ROLE_ATTENTION_NORM, l, &nw));
        MODEL_RMSNORM(s->xb, s->x, nw);
        TRY(project(w, s, &matmul_wq_kernel, NULL, lw->wq, ROLE_WQ, l, s->q, s->xb));
        TRY(project(w, s, &matmul_wk_kernel, &matmul_wq_kernel, lw->wk, ROLE_WK, l, s->k, s->xb));
        TRY(project(w, s, &matmul_wv_kernel, &matmul_wk_kernel, lw->wv, ROLE_WV, l, s->v, s->xb));
        MODEL_ROPE(s->q, MODEL_N_HEADS, s->rope_cos, s->rope_sin);
        MODEL_ROPE(s->k, MODEL_N_KV_HEADS, s->rope_cos, s->rope_sin);
        prof_enter(PROF_ATTENTION);
        MODEL_KV_STORE(s->key_cache, l, pos, s->k);
        MODEL_KV_STORE(s->value_cache, l, pos, s->v);
        attention(s, l, pos);
        prof_enter(PROF_NORM);
        TRY(project(w, s, &matmul_wo_kernel, NULL, lw->wo, ROLE_WO, l, s->xb2, s->o));
        add(s->x, s->xb2);

        TRY(norm_weights(w, s, lw->ffn_norm, ROLE_FFN_NORM, l, &nw));
        MODEL_RMSNORM(s->xb, s->x, nw);
        TRY(project(w, s, &matmul_w1_kernel, NULL, lw->w1, ROLE_W1, l, s->hb, s->xb));
        TRY(project(w, s, &matmul_w3_kernel, &matmul_w1_kernel, lw->w3, ROLE_W3, l, s->hb2, s->xb));
        MODEL_SILU_MUL(s->hb, s->hb2);
        TRY(project(w, s, &matmul_w2_kernel, NULL, lw->w2, ROLE_W2, l, s->xb2, s->hb));
        add(s->x, s->xb2);
    }
    TRY(norm_weights(w, s, w->norm, ROLE_NORM, 0, &nw));
    MODEL_RMSNORM(s->xb, s->x, nw);
    TRY(project(w, s, &matmul_output_kernel, NULL, w->output,
                MODEL_TIED_EMBEDDINGS ? ROLE_TOK_EMBEDDINGS : ROLE_OUTPUT, 0, s->logits, s->xb));
    prof_enter(prev);
    return s->logits;
}
