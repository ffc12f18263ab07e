/* model.c — check a PSNT against the generated config; load the resident weights. */
#include "model.h"

static status_t check_u32(const char *field, uint32_t got, uint32_t want, StatusDetail *d)
{
    return got == want ? ST_OK : status_fail(d, ST_MODEL_MISMATCH, field, got, want);
}

static uint32_t float_bits(float f)
{
    union { float f; uint32_t u; } v;
    v.f = f;
    return v.u;
}

status_t model_check(const Psnt *p, StatusDetail *d)
{
    static const uint8_t quants[ROLE_COUNT] = MODEL_ROLE_QUANTS;
    static const uint32_t groups[ROLE_COUNT] = MODEL_ROLE_GROUPS;
    const PsntHeader *h = &p->h;
    status_t st = ST_OK;
    uint32_t i;
    if (st == ST_OK) st = check_u32("dim", h->dim, MODEL_DIM, d);
    if (st == ST_OK) st = check_u32("hidden_dim", h->hidden_dim, MODEL_HIDDEN_DIM, d);
    if (st == ST_OK) st = check_u32("n_layers", h->n_layers, MODEL_N_LAYERS, d);
    if (st == ST_OK) st = check_u32("n_heads", h->n_heads, MODEL_N_HEADS, d);
    if (st == ST_OK) st = check_u32("n_kv_heads", h->n_kv_heads, MODEL_N_KV_HEADS, d);
    if (st == ST_OK) st = check_u32("head_dim", h->head_dim, MODEL_HEAD_DIM, d);
    if (st == ST_OK) st = check_u32("vocab_size", h->vocab_size, MODEL_VOCAB_SIZE, d);
    if (st == ST_OK) st = check_u32("tied embeddings", h->flags & PSNT_FLAG_TIED, MODEL_TIED_EMBEDDINGS, d);
    if (st == ST_OK) st = check_u32("norm_eps bits", float_bits(h->norm_eps), float_bits(MODEL_NORM_EPS), d);
    if (st == ST_OK) st = check_u32("rope_theta bits", float_bits(h->rope_theta), float_bits(MODEL_ROPE_THETA), d);
    if (st == ST_OK && h->max_seq_len < MODEL_CONTEXT)
        st = status_fail(d, ST_MODEL_MISMATCH, "max_seq_len", h->max_seq_len, MODEL_CONTEXT);
    for (i = 0; st == ST_OK && i < h->n_tensors; i++) {
        const PsntTensor *t = &p->tensors[i];
        if (t->quant != quants[t->role])
            st = status_fail(d, ST_MODEL_MISMATCH, t->name, t->quant, quants[t->role]);
        else if (t->group_size != groups[t->role])
            st = status_fail(d, ST_MODEL_MISMATCH, t->name, t->group_size, groups[t->role]);
    }
    return st;
}

static status_t load_tensor(const Psnt *p, PsntRole role, uint32_t layer, Arena *a,
                            StatusDetail *d, const void **out)
{
    const PsntTensor *t = psnt_tensor(p, role, layer);
    void *buf;
    status_t st;
    *out = NULL;
    if (stream_is_streamed(role, layer))
        return ST_OK;
    st = arena_alloc(a, psnt_buffer_size(t), t->name, d, &buf);
    if (st == ST_OK)
        st = psnt_read_tensor(p, t, buf, d);
    *out = buf;
    return st;
}

status_t model_load(Weights *w, const Psnt *p, Arena *a, StatusDetail *d)
{
    status_t st = model_check(p, d);
    uint32_t l;
    const void *v;
    w->stream = NULL;
    if (st == ST_OK && (MODEL_STREAM_TENSORS || MODEL_EMBEDDING_STREAMED)) {
        st = arena_alloc(a, sizeof(Streamer), "streamer", d, (void **)&w->stream);
        if (st == ST_OK)
            st = stream_init(w->stream, p, a, d);
    }
    if (st == ST_OK)
        st = load_tensor(p, ROLE_TOK_EMBEDDINGS, 0, a, d, &w->tok_embeddings);
    for (l = 0; st == ST_OK && l < MODEL_N_LAYERS; l++) {
        LayerWeights *lw = &w->layers[l];
        st = load_tensor(p, ROLE_ATTENTION_NORM, l, a, d, &v);
        lw->attention_norm = (const float *)v;
        if (st == ST_OK) st = load_tensor(p, ROLE_WQ, l, a, d, &lw->wq);
        if (st == ST_OK) st = load_tensor(p, ROLE_WK, l, a, d, &lw->wk);
        if (st == ST_OK) st = load_tensor(p, ROLE_WV, l, a, d, &lw->wv);
        if (st == ST_OK) st = load_tensor(p, ROLE_WO, l, a, d, &lw->wo);
        if (st == ST_OK) {
            st = load_tensor(p, ROLE_FFN_NORM, l, a, d, &v);
            lw->ffn_norm = (const float *)v;
        }
        if (st == ST_OK) st = load_tensor(p, ROLE_W1, l, a, d, &lw->w1);
        if (st == ST_OK) st = load_tensor(p, ROLE_W3, l, a, d, &lw->w3);
        if (st == ST_OK) st = load_tensor(p, ROLE_W2, l, a, d, &lw->w2);
    }
    if (st == ST_OK) {
        st = load_tensor(p, ROLE_NORM, 0, a, d, &v);
        w->norm = (const float *)v;
    }
    if (st == ST_OK) {
        if (MODEL_TIED_EMBEDDINGS)
            w->output = w->tok_embeddings;
        else
            st = load_tensor(p, ROLE_OUTPUT, 0, a, d, &w->output);
    }
    return st;
}
