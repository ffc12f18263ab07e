/* psnt.h — reading and validating a PSNT file (docs/FORMAT.md) through hal sector
 * reads: header, tensor table and tokenizer section at open, each tensor's CRC
 * when it is read. Every problem is its own status code; nothing here trusts a
 * field before it has been checked. */
#ifndef PS2LLM_PSNT_H
#define PS2LLM_PSNT_H

#include <stdint.h>

#include "arena.h"
#include "status.h"

#define PSNT_VERSION 2u    /* 2: q4/q4m scales are f16 (docs/FORMAT.md "Versions") */
#define PSNT_NO_LAYER 0xFFFFu
#define PSNT_NO_QUANT 0xFFu
#define PSNT_FLAG_TIED 1u

typedef enum {
    ROLE_TOK_EMBEDDINGS = 0, ROLE_ATTENTION_NORM = 1, ROLE_WQ = 2, ROLE_WK = 3,
    ROLE_WV = 4, ROLE_WO = 5, ROLE_FFN_NORM = 6, ROLE_W1 = 7, ROLE_W2 = 8,
    ROLE_W3 = 9, ROLE_NORM = 10, ROLE_OUTPUT = 11, ROLE_COUNT = 12
} PsntRole;

typedef enum { QUANT_F32 = 0, QUANT_F16 = 1, QUANT_Q8 = 2, QUANT_Q4 = 3, QUANT_TERNARY = 4, QUANT_Q4M = 5 } PsntQuant;

typedef struct {
    uint32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, head_dim;
    uint32_t vocab_size, max_seq_len;
    float norm_eps, rope_theta;
    uint32_t flags, n_tensors;
    uint32_t table_offset, table_size, table_crc32;
    uint32_t tokenizer_offset, tokenizer_size, tokenizer_crc32;
    uint32_t data_offset, file_size, header_crc32;
    uint8_t role_quant[16];
    char name[65];
} PsntHeader;

typedef struct {
    char name[33];
    uint8_t role, quant;
    uint16_t layer;         /* PSNT_NO_LAYER outside layers */
    uint32_t rows, cols, group_size;
    uint32_t offset, size, crc32, row_stride;
} PsntTensor;

typedef struct {
    uint32_t lba;                  /* disc sector of the file's first byte */
    PsntHeader h;
    PsntTensor *tensors;           /* h.n_tensors entries, table order */
    const PsntTensor **slots;      /* by (role, layer): see psnt_tensor() */
    const uint8_t *tokenizer;      /* h.tokenizer_size bytes, CRC checked */
} Psnt;

/* Open the PSNT file of `size` bytes at sector `lba`: validate everything but
 * tensor data; table and tokenizer section are kept in the arena. */
status_t psnt_open(Psnt *p, uint32_t lba, uint32_t size, Arena *a, StatusDetail *d);

/* The tensor of `role` in `layer` (ignored for roles outside layers); NULL for
 * the output projection of a tied model. */
const PsntTensor *psnt_tensor(const Psnt *p, PsntRole role, uint32_t layer);

/* Bytes a buffer for the tensor needs: its size rounded up to whole sectors. */
uint32_t psnt_buffer_size(const PsntTensor *t);

/* Read the tensor into dst (16-byte aligned, psnt_buffer_size bytes) and check
 * its CRC32. */
status_t psnt_read_tensor(const Psnt *p, const PsntTensor *t, void *dst, StatusDetail *d);

/* The role's canonical name ("wq", "tok_embeddings", ...). */
const char *psnt_role_name(PsntRole role);

#endif
