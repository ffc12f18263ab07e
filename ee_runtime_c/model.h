/* model.h — the weights of the model this binary was generated for, and how they
 * get into memory. The runtime is compiled against build/<model>/gen/
 * model_config.gen.h, so a PSNT file must match that shape and those quant types.
 *
 * model_load() is the one place weights are brought in: it reads the tensors the
 * plan keeps resident into the arena and leaves the others NULL; those stream
 * from the disc during the forward pass (stream.h), block by block. */
#ifndef PS2LLM_MODEL_H
#define PS2LLM_MODEL_H

#include "model_config.gen.h"
#include "psnt.h"
#include "stream.h"

typedef struct {
    const float *attention_norm; /* (dim,) */
    const void *wq;              /* (n_heads * head_dim, dim) */
    const void *wk;              /* (n_kv_heads * head_dim, dim) */
    const void *wv;              /* (n_kv_heads * head_dim, dim) */
    const void *wo;              /* (dim, n_heads * head_dim) */
    const float *ffn_norm;       /* (dim,) */
    const void *w1;              /* (hidden_dim, dim) gate */
    const void *w2;              /* (dim, hidden_dim) down */
    const void *w3;              /* (hidden_dim, dim) up */
} LayerWeights;

/* Matrices are in their PSNT row layout (quant type MODEL_QUANT_<role>); NULL
 * when the tensor streams. */
typedef struct {
    const void *tok_embeddings;  /* (vocab_size, dim) */
    LayerWeights layers[MODEL_N_LAYERS];
    const float *norm;           /* (dim,) */
    const void *output;          /* (vocab_size, dim); tok_embeddings when tied */
    Streamer *stream;            /* NULL when every tensor is resident */
} Weights;

/* ST_MODEL_MISMATCH (detail: the field) unless the file has this binary's shape,
 * quant types and group sizes. */
status_t model_check(const Psnt *p, StatusDetail *d);

/* Bring the resident tensors in (CRC checked), point w at them, and set up the
 * streamer for the rest. */
status_t model_load(Weights *w, const Psnt *p, Arena *a, StatusDetail *d);

#endif
