/* forward.h — one token through the transformer, with a KV cache. The op order
 * is model/reference.py's, step for step (see its docstring). */
#ifndef PS2LLM_FORWARD_H
#define PS2LLM_FORWARD_H

#include "model.h"

typedef struct {
    float *x;            /* (dim,) residual stream */
    float *xb;           /* (dim,) normed input of a block */
    float *xb2;          /* (dim,) output of a block */
    float *q;            /* (n_heads * head_dim,) */
    float *o;            /* (n_heads * head_dim,) attention output */
    float *att;          /* (n_heads, context) scores, then weights */
    float *hb;           /* (hidden_dim,) gate, then silu(gate) * up */
    float *hb2;          /* (hidden_dim,) up */
    float *logits;       /* (vocab_size,) */
    float *k;            /* (n_kv_heads * head_dim,) this position's keys, before the cache */
    float *v;            /* (n_kv_heads * head_dim,) its values */
    float *kv_head;      /* (head_dim,) one cached key or value head read back as f32 */
    void *key_cache;     /* (n_layers, context, n_kv_heads * head_dim) in MODEL_KV_QUANT, */
    void *value_cache;   /* written and read by MODEL_KV_STORE and MODEL_KV_HEAD only */
    float *rope_cos;     /* (head_dim / 2,) of the current position */
    float *rope_sin;     /* (head_dim / 2,) */
    int16_t *xq;         /* (act_max,) q8 activations */
    float xs;            /* their scale */
    int more_tokens;     /* set by the caller: another forward pass follows this one */
    status_t status;     /* why forward() returned NULL */
    StatusDetail detail;
} RunState;

status_t run_state_init(RunState *s, Arena *a, StatusDetail *d);

/* Logits (vocab_size,) of `token` at position pos (< MODEL_CONTEXT); the cache
 * must hold positions 0..pos-1. Returns s->logits, or NULL when streamed weights
 * could not be read (s->status, s->detail). */
float *forward(const Weights *w, RunState *s, uint32_t token, uint32_t pos);

#endif
