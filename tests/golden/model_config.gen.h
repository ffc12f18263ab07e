/* generated from templates/model_config.gen.h.jinja for golden-tiny (fixed test config);
 * do not edit: change the template or codegen/ and rebuild. */

#ifndef PS2LLM_MODEL_CONFIG_GEN_H
#define PS2LLM_MODEL_CONFIG_GEN_H

#define MODEL_NAME "golden-tiny"

/* shape (the PSNT header must agree; psnt.c checks it) */
#define MODEL_DIM 48u
#define MODEL_HIDDEN_DIM 80u
#define MODEL_N_LAYERS 2u
#define MODEL_N_HEADS 4u
#define MODEL_N_KV_HEADS 2u
#define MODEL_HEAD_DIM 12u
#define MODEL_Q_DIM 48u       /* n_heads * head_dim */
#define MODEL_KV_DIM 24u      /* n_kv_heads * head_dim */
#define MODEL_VOCAB_SIZE 96u
#define MODEL_MAX_SEQ_LEN 32u
#define MODEL_NORM_EPS 0x1.4f8b58p-17f    /* 9.999999747378752e-06 */
#define MODEL_ROPE_THETA 0x1.388p+13f    /* 10000.0 */
#define MODEL_TIED_EMBEDDINGS 0
#define MODEL_ATT_SCALE 0x1.279a74p-2f    /* f32(1 / sqrt(head_dim)) */
#define MODEL_ACT_MAX 80u    /* longest vector a matrix reads: max(dim, hidden, q_dim) */

/* quant type (0 f32, 1 f16, 2 q8) and q8 group size of each role */
#define MODEL_QUANT_TOK_EMBEDDINGS 2u
#define MODEL_GROUP_TOK_EMBEDDINGS 16u
#define MODEL_QUANT_ATTENTION_NORM 0u
#define MODEL_GROUP_ATTENTION_NORM 0u
#define MODEL_QUANT_WQ 2u
#define MODEL_GROUP_WQ 16u
#define MODEL_QUANT_WK 2u
#define MODEL_GROUP_WK 16u
#define MODEL_QUANT_WV 2u
#define MODEL_GROUP_WV 16u
#define MODEL_QUANT_WO 2u
#define MODEL_GROUP_WO 16u
#define MODEL_QUANT_FFN_NORM 0u
#define MODEL_GROUP_FFN_NORM 0u
#define MODEL_QUANT_W1 2u
#define MODEL_GROUP_W1 16u
#define MODEL_QUANT_W2 2u
#define MODEL_GROUP_W2 16u
#define MODEL_QUANT_W3 2u
#define MODEL_GROUP_W3 16u
#define MODEL_QUANT_NORM 0u
#define MODEL_GROUP_NORM 0u
#define MODEL_QUANT_OUTPUT 2u
#define MODEL_GROUP_OUTPUT 16u
/* the same, indexed by role (0xFF: the model has no tensor of that role) */
#define MODEL_ROLE_QUANTS { 2u, 0u, 2u, 2u, 2u, 2u, 0u, 2u, 2u, 2u, 0u, 2u }
#define MODEL_ROLE_GROUPS { 16u, 0u, 16u, 16u, 16u, 16u, 0u, 16u, 16u, 16u, 0u, 16u }

/* memory */
#define MODEL_CONTEXT 32u    /* KV cache positions */
#define MODEL_KV_QUANT "f32"    /* the KV cache's element type (model/kv_cache.py) */
#define MODEL_KV_CACHE_BYTES 12288u    /* 2 (keys, values) * n_layers * context * 96 bytes a position */
#define MODEL_RUN_STATE_BYTES 2944u
#define MODEL_WEIGHT_BYTES 83968u    /* all tensors, sector-rounded */
#define MODEL_ARENA_ESTIMATE_BYTES 1155952u    /* everything resident, rough */

/* streaming: the residency plan (no plan file: every tensor resident) */
#define MODEL_ARENA_BYTES 0u    /* the arena's cap, so peak RAM is the plan's on every port; 0: none */
#define MODEL_STREAM_TENSORS 0u    /* matrices read from the disc every token, in blocks of rows */
#define MODEL_STREAM_BLOCKS 0u
#define MODEL_STREAM_BUFFER_BYTES 0u    /* each of the two stream buffers */
#define MODEL_STREAMED_BYTES_PER_TOKEN 0u    /* their sectors, without the embedding row */
#define MODEL_EMBEDDING_STREAMED 0    /* token embedding rows read from the disc per token */
#define MODEL_EMBED_ROW_BUFFER_BYTES 0u    /* the sectors that hold one row */
#define MODEL_EMBED_SECTORS 0u
#define MODEL_EMBED_CRC32 0x00000000u    /* its PSNT table CRC */

/* cost */
#define MODEL_MACS_PER_TOKEN 41472u    /* matrices only */

#endif
