/* generated from templates/kernels.gen.h.jinja for golden-tiny (fixed test config);
 * do not edit: change the template or codegen/ and rebuild. */

#ifndef PS2LLM_KERNELS_GEN_H
#define PS2LLM_KERNELS_GEN_H

#include <stdint.h>

#include "matmul.h"

/* ---- integer activations: x (n,) -> xq (n,) int16 values, returns the vector's scale ---- */
float quantize_q8_48(int16_t *xq, const float *x);
float quantize_q8_80(int16_t *xq, const float *x);

/* ---- matrix-vector products: W (rows, cols) @ x (cols,) -> out (rows,) ---- */
void matvec_q8_48x48_g16(float *out, const uint8_t *w, const int16_t *xq, float xs);
void matvec_q8_24x48_g16(float *out, const uint8_t *w, const int16_t *xq, float xs);
void matvec_q8_80x48_g16(float *out, const uint8_t *w, const int16_t *xq, float xs);
void matvec_q8_48x80_g16(float *out, const uint8_t *w, const int16_t *xq, float xs);
void matvec_q8_96x48_g16(float *out, const uint8_t *w, const int16_t *xq, float xs);

/* ---- the model's matrices: out = W @ x, whatever W's quant type; xq is
 * MODEL_ACT_MAX int16 of scratch for q8 activations ---- */
void matmul_wq(float *out, const void *w, const float *x, int16_t *xq);    /* matvec_q8_48x48_g16 */
void matmul_wk(float *out, const void *w, const float *x, int16_t *xq);    /* matvec_q8_24x48_g16 */
void matmul_wv(float *out, const void *w, const float *x, int16_t *xq);    /* matvec_q8_24x48_g16 */
void matmul_wo(float *out, const void *w, const float *x, int16_t *xq);    /* matvec_q8_48x48_g16 */
void matmul_w1(float *out, const void *w, const float *x, int16_t *xq);    /* matvec_q8_80x48_g16 */
void matmul_w3(float *out, const void *w, const float *x, int16_t *xq);    /* matvec_q8_80x48_g16 */
void matmul_w2(float *out, const void *w, const float *x, int16_t *xq);    /* matvec_q8_48x80_g16 */
void matmul_output(float *out, const void *w, const float *x, int16_t *xq);    /* matvec_q8_96x48_g16 */

/* ---- the same, by blocks of rows (matmul.h) ---- */

extern const MatmulKernel matmul_wq_kernel;
extern const MatmulKernel matmul_wk_kernel;
extern const MatmulKernel matmul_wv_kernel;
extern const MatmulKernel matmul_wo_kernel;
extern const MatmulKernel matmul_w1_kernel;
extern const MatmulKernel matmul_w3_kernel;
extern const MatmulKernel matmul_w2_kernel;
extern const MatmulKernel matmul_output_kernel;

/* ---- the rest of a layer ---- */
/* table (vocab, 48) q8: row `token` -> out (48,) */
void embed_q8_48_g16(float *out, const void *table, uint32_t token);
/* out (48,) = rmsnorm(x (48,), w (48,)) */
void rmsnorm_48(float *out, const float *x, const float *w);
/* cos, sin (6,) of position pos */
void rope_angles_12(float *cos_out, float *sin_out, uint32_t pos);
/* rotate n_heads heads of x (n_heads, 12) in place */
void rope_12(float *x, uint32_t n_heads, const float *cos_in, const float *sin_in);
/* x (n,) <- softmax(x), n <= 32 */
void softmax(float *x, uint32_t n);
/* gate (80,) <- silu(gate) * up */
void silu_mul_80(float *gate, const float *up);

/* ---- the KV cache, f32: keys and values are two caches of MODEL_KV_CACHE_BYTES / 2 ---- */
/* x (24,) f32, the keys (or values) of (layer, pos) -> cache */
void kv_store_f32(void *cache, uint32_t layer, uint32_t pos, const float *x);
/* kv head g of (layer, position t) as f32 (12,): in scratch, or in the cache itself */
const float *kv_head_f32(float *scratch, const void *cache, uint32_t layer, uint32_t t, uint32_t g);

/* ---- the names forward.c calls them by ---- */
#define MODEL_EMBED embed_q8_48_g16
#define MODEL_RMSNORM rmsnorm_48
#define MODEL_ROPE_ANGLES rope_angles_12
#define MODEL_ROPE rope_12
#define MODEL_SILU_MUL silu_mul_80
#define MODEL_KV_STORE kv_store_f32
#define MODEL_KV_HEAD kv_head_f32

#endif
