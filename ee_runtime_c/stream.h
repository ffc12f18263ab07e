/* stream.h — the weight streamer: tensors the plan does not keep resident are
 * read from the disc every token, in the order forward.c uses them, into two
 * buffers, so that the read of block i+1 is in flight while block i computes.
 *
 * The blocks of a token are the plan's (build/<model>/gen/plan.gen.c): each
 * streamed tensor in blocks of block_rows rows. A block is read as the whole
 * sectors that hold it; a sector shared with the previous block of the tensor is
 * copied over, not read again, so a token reads each streamed sector once, in
 * disc order (streamed tensors are one forward run on the disc). A streamed
 * token embedding is read one row per token (its sectors) at token start.
 *
 * Every read is retried (STREAM_MAX_TRIES reads in all) when the drive reports
 * an error or, with verify on, when the CRC32 of what arrived differs from the
 * one codegen computed from the PSNT (per block; per sector for embedding rows).
 * A block is handed out only once it is good, so no computation ever sees bad
 * weights: either the token is right or the run stops with a status naming the
 * tensor. */
#ifndef PS2LLM_STREAM_H
#define PS2LLM_STREAM_H

#include "model_config.gen.h"
#include "psnt.h"

#define STREAM_MAX_TRIES 4u

/* One streamed tensor of the plan, in order of use (generated). */
typedef struct {
    uint8_t role;            /* PsntRole */
    uint16_t layer;          /* PSNT_NO_LAYER outside layers */
    uint32_t block_rows;
    uint32_t n_blocks;
    uint32_t first_block;    /* its first entry in model_stream_block_crc */
    uint32_t crc32;          /* the PSNT table CRC of the tensor codegen saw */
} StreamTensorPlan;

extern const StreamTensorPlan model_stream_tensors[];
extern const uint32_t model_stream_block_crc[];       /* MODEL_STREAM_BLOCKS */
extern const uint32_t model_embedding_sector_crc[];   /* MODEL_EMBED_SECTORS */

#define STREAM_TABLE_LEN (MODEL_STREAM_TENSORS ? MODEL_STREAM_TENSORS : 1u)

/* Rows [r0, r1) of a streamed tensor: data points at row r0, rows row_stride
 * bytes apart. Valid until the next stream_next() or stream_embedding_row(). */
typedef struct {
    const uint8_t *data;
    uint32_t r0, r1;
    int last;                /* the tensor's last block */
} StreamBlock;

typedef struct {
    uint32_t reads;          /* read requests, retries included */
    uint32_t retries;
    uint32_t read_errors;    /* reads the drive reported as failed */
    uint32_t crc_errors;     /* reads whose data had the wrong CRC */
} StreamStats;

typedef struct {
    uint32_t lba;            /* the PSNT file's first sector */
    const PsntTensor *tensor[STREAM_TABLE_LEN];   /* table entries of model_stream_tensors */
    const PsntTensor *embedding;                  /* NULL unless its rows stream */
    uint8_t *buf[2];         /* MODEL_STREAM_BUFFER_BYTES each, 64-byte aligned */
    uint32_t base[2];        /* file sector at buf[i][0] */
    uint32_t count[2];       /* sectors held there (0: nothing valid) */
    uint8_t *row_buf;        /* MODEL_EMBED_ROW_BUFFER_BYTES */
    uint32_t t, i;           /* the block stream_next hands out next: tensor t, block i */
    uint32_t cur;            /* its buffer */
    int started;             /* its read has been started (it may be done) */
    int next_started;        /* the read of the block after it has been started */
    int in_flight;           /* a hal read is outstanding ... */
    uint32_t flight_buf;     /* ... into buffer 0, 1 or 2 (the row buffer) */
    int result[3];           /* hal status of each buffer's latest read, once done */
    int verify;              /* check CRCs (default on) */
    int overlap;             /* start the next read before returning a block (default on) */
    int lookahead;           /* another token follows: read its first block at the end of this one */
    StreamStats stats;
} Streamer;

/* Check that the PSNT is the one the plan was generated from (ST_MODEL_MISMATCH
 * naming the tensor otherwise) and allocate the buffers. */
status_t stream_init(Streamer *s, const Psnt *p, Arena *a, StatusDetail *d);

/* 1 when (role, layer) is read from the disc per token rather than resident. */
int stream_is_streamed(PsntRole role, uint32_t layer);

void stream_configure(Streamer *s, int verify, int overlap);

/* A token begins; more_tokens: another will follow it (so its first block may be
 * read while this token's logits are sampled). */
void stream_begin_token(Streamer *s, int more_tokens);

/* The next block, which must belong to (role, layer) (ST_STREAM_ORDER otherwise). */
status_t stream_next(Streamer *s, PsntRole role, uint32_t layer, StreamBlock *out, StatusDetail *d);

/* Row `token` of the streamed token embedding (read now, checked). */
status_t stream_embedding_row(Streamer *s, uint32_t token, const uint8_t **row, StatusDetail *d);

#endif
