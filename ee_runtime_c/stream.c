/* stream.c — see stream.h. */
#include "stream.h"

#include <string.h>

#include "crc32.h"
#include "profile.h"

#define SECTOR HAL_SECTOR_SIZE

/* A variable, not the macro: with nothing streamed the loops below are empty,
 * and comparing with a literal 0 would be a warning. */
static const uint32_t n_streams = MODEL_STREAM_TENSORS;

/* ------------------------------------------------------------------ plan */

int stream_is_streamed(PsntRole role, uint32_t layer)
{
    uint32_t i;
    if (role == ROLE_TOK_EMBEDDINGS && MODEL_EMBEDDING_STREAMED)
        return 1;
    for (i = 0; i < n_streams; i++) {
        const StreamTensorPlan *t = &model_stream_tensors[i];
        if (t->role == role && (t->layer == PSNT_NO_LAYER || t->layer == layer))
            return 1;
    }
    return 0;
}

static status_t check_tensor(const PsntTensor *t, uint32_t crc, StatusDetail *d)
{
    if (!t)
        return status_fail_plain(d, ST_MODEL_MISMATCH, "streamed tensor missing");
    return t->crc32 == crc ? ST_OK : status_fail(d, ST_STREAM_PLAN, t->name, t->crc32, crc);
}

status_t stream_init(Streamer *s, const Psnt *p, Arena *a, StatusDetail *d)
{
    status_t st = ST_OK;
    uint32_t i;
    memset(s, 0, sizeof *s);
    s->lba = p->lba;
    s->verify = 1;
    s->overlap = 1;
    for (i = 0; st == ST_OK && i < n_streams; i++) {
        const StreamTensorPlan *t = &model_stream_tensors[i];
        s->tensor[i] = psnt_tensor(p, (PsntRole)t->role, t->layer == PSNT_NO_LAYER ? 0 : t->layer);
        st = check_tensor(s->tensor[i], t->crc32, d);
    }
    if (st == ST_OK && MODEL_EMBEDDING_STREAMED) {
        s->embedding = psnt_tensor(p, ROLE_TOK_EMBEDDINGS, 0);
        st = check_tensor(s->embedding, MODEL_EMBED_CRC32, d);
        if (st == ST_OK)
            st = arena_alloc(a, MODEL_EMBED_ROW_BUFFER_BYTES, "embedding row buffer", d, (void **)&s->row_buf);
    }
    for (i = 0; st == ST_OK && n_streams && i < 2; i++)
        st = arena_alloc(a, MODEL_STREAM_BUFFER_BYTES, "stream buffer", d, (void **)&s->buf[i]);
    return st;
}

void stream_configure(Streamer *s, int verify, int overlap)
{
    if (s) {
        s->verify = verify;
        s->overlap = overlap;
    }
}

/* ------------------------------------------------------------------ blocks */

#define ROW_BUF 2u      /* reads into the embedding row buffer */

/* File byte range [*a, *b) and rows [*r0, *r1) of block i of stream tensor t. */
static void block_range(const Streamer *s, uint32_t t, uint32_t i, uint32_t *a, uint32_t *b,
                        uint32_t *r0, uint32_t *r1)
{
    const PsntTensor *pt = s->tensor[t];
    uint32_t rows = model_stream_tensors[t].block_rows;
    *r0 = i * rows;
    *r1 = *r0 + rows < pt->rows ? *r0 + rows : pt->rows;
    *a = pt->offset + *r0 * pt->row_stride;
    *b = pt->offset + *r1 * pt->row_stride;
}

/* Start reading file sectors [first, end) into buf, which holds sectors from
 * `base` on; buffer number k (0, 1 or ROW_BUF) gets the outcome. */
static void start_read(Streamer *s, uint32_t k, uint8_t *buf, uint32_t base, uint32_t first, uint32_t end)
{
    int r;
    s->stats.reads++;
    r = hal_read_start(s->lba + first, end - first, buf + (size_t)(first - base) * SECTOR);
    s->in_flight = r == HAL_OK;
    s->flight_buf = k;
    s->result[k] = r;
}

/* Wait for the read in flight, if any; its outcome goes to its buffer's result. */
static void wait_read(Streamer *s)
{
    ProfStage prev;
    if (!s->in_flight)
        return;
    prev = prof_enter(PROF_WAIT);
    s->result[s->flight_buf] = hal_read_wait();
    prof_enter(prev);
    s->in_flight = 0;
}

static void wait_buffer(Streamer *s, uint32_t k)
{
    if (s->in_flight && s->flight_buf == k)
        wait_read(s);
}

/* Start block (t, i) into buffer k. The sector it shares with the block in the
 * other buffer (read, maybe not yet checked: this block's CRC covers its part)
 * is copied from there instead of read again. */
static void start_block(Streamer *s, uint32_t t, uint32_t i, uint32_t k)
{
    uint32_t a, b, r0, r1, first, end, o = 1u - k;
    block_range(s, t, i, &a, &b, &r0, &r1);
    first = a / SECTOR;
    end = (b + SECTOR - 1) / SECTOR;
    s->base[k] = first;
    s->count[k] = end - first;
    if (s->count[o] && s->result[o] == HAL_OK && !(s->in_flight && s->flight_buf == o)
        && first >= s->base[o] && first < s->base[o] + s->count[o]) {
        memcpy(s->buf[k], s->buf[o] + (size_t)(first - s->base[o]) * SECTOR, SECTOR);
        first++;
    }
    if (first == end)
        s->result[k] = HAL_OK;             /* nothing left to read */
    else
        start_read(s, k, s->buf[k], s->base[k], first, end);
}

static int block_good(Streamer *s, uint32_t k)
{
    uint32_t a, b, r0, r1, crc;
    ProfStage prev;
    if (!s->verify)
        return 1;
    block_range(s, s->t, s->i, &a, &b, &r0, &r1);
    prev = prof_enter(PROF_VERIFY);
    crc = crc32_update(0, s->buf[k] + a % SECTOR, b - a);
    prof_enter(prev);
    return crc == model_stream_block_crc[model_stream_tensors[s->t].first_block + s->i];
}

/* Finish block (t, i), started into buffer k: wait for its read, check it, and
 * read it again whole until it is good or the tries run out. A retry first lets
 * the next block's read (in the other buffer) complete: one read at a time. */
static status_t finish_block(Streamer *s, uint32_t k, StatusDetail *d)
{
    uint32_t tries = 1;
    for (;;) {
        int r;
        wait_buffer(s, k);
        r = s->result[k];
        if (r == HAL_OK && block_good(s, k))
            return ST_OK;
        if (r != HAL_OK)
            s->stats.read_errors++;
        else
            s->stats.crc_errors++;
        if (tries == STREAM_MAX_TRIES) {
            s->count[k] = 0;
            return status_fail_plain(d, r != HAL_OK ? ST_STREAM_READ : ST_STREAM_CRC, s->tensor[s->t]->name);
        }
        tries++;
        s->stats.retries++;
        wait_read(s);
        start_read(s, k, s->buf[k], s->base[k], s->base[k], s->base[k] + s->count[k]);
    }
}

/* Start the block after the current one into the other buffer, if there is one
 * to read now; sets s->next_started. */
static void start_next(Streamer *s)
{
    uint32_t t = s->t, i = s->i + 1;
    if (!s->overlap || s->next_started || s->in_flight)
        return;
    if (i == model_stream_tensors[t].n_blocks) {
        i = 0;
        if (++t == n_streams) {
            if (!s->lookahead)
                return;
            t = 0;
        }
    }
    start_block(s, t, i, 1u - s->cur);
    s->next_started = 1;
}

void stream_begin_token(Streamer *s, int more_tokens)
{
    if (s)
        s->lookahead = more_tokens && !s->embedding;
}

status_t stream_next(Streamer *s, PsntRole role, uint32_t layer, StreamBlock *out, StatusDetail *d)
{
    const StreamTensorPlan *tp;
    uint32_t a, b, k;
    status_t st;
    if (s->t >= n_streams)
        return status_fail_plain(d, ST_STREAM_ORDER, "past the last streamed block");
    tp = &model_stream_tensors[s->t];
    if (tp->role != role || (tp->layer != PSNT_NO_LAYER && tp->layer != layer))
        return status_fail_plain(d, ST_STREAM_ORDER, s->tensor[s->t]->name);
    k = s->cur;
    if (!s->started)
        start_block(s, s->t, s->i, k);
    wait_buffer(s, k);
    if (s->result[k] == HAL_OK)
        start_next(s);                     /* read block i+1 while block i is checked and used */
    st = finish_block(s, k, d);
    if (st != ST_OK)
        return st;
    start_next(s);                         /* when a retry came first */
    block_range(s, s->t, s->i, &a, &b, &out->r0, &out->r1);
    out->data = s->buf[k] + a % SECTOR;
    out->last = s->i + 1 == tp->n_blocks;
    /* the next block is in (or will go to) the other buffer */
    s->cur = 1u - k;
    s->started = s->next_started;
    s->next_started = 0;
    if (++s->i == tp->n_blocks) {
        s->i = 0;
        if (++s->t == n_streams)
            s->t = 0;
    }
    return ST_OK;
}

/* ------------------------------------------------------------------ embedding rows */

static int row_good(const Streamer *s, uint32_t first, uint32_t n)
{
    uint32_t i, base = s->embedding->offset / SECTOR, crc;
    int good = 1;
    ProfStage prev;
    if (!s->verify)
        return 1;
    prev = prof_enter(PROF_VERIFY);
    for (i = 0; i < n && good; i++) {
        crc = crc32_update(0, s->row_buf + (size_t)i * SECTOR, SECTOR);
        good = crc == model_embedding_sector_crc[first + i - base];
    }
    prof_enter(prev);
    return good;
}

status_t stream_embedding_row(Streamer *s, uint32_t token, const uint8_t **row, StatusDetail *d)
{
    const PsntTensor *e = s->embedding;
    uint32_t a = e->offset + token * e->row_stride, b = a + e->row_stride;
    uint32_t first = a / SECTOR, end = (b + SECTOR - 1) / SECTOR, tries;
    wait_read(s);                          /* one read at a time: a block's, checked when asked for */
    for (tries = 1;; tries++) {
        int r;
        start_read(s, ROW_BUF, s->row_buf, first, first, end);
        wait_read(s);
        r = s->result[ROW_BUF];
        if (r == HAL_OK && row_good(s, first, end - first))
            break;
        if (r != HAL_OK)
            s->stats.read_errors++;
        else
            s->stats.crc_errors++;
        if (tries == STREAM_MAX_TRIES)
            return status_fail_plain(d, r != HAL_OK ? ST_STREAM_READ : ST_STREAM_CRC, e->name);
        s->stats.retries++;
    }
    *row = s->row_buf + a % SECTOR;
    return ST_OK;
}
