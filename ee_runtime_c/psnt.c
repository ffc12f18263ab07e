/* psnt.c — PSNT reader (docs/FORMAT.md). All fields are decoded byte by byte
 * from little-endian, so the reader works on any host. */
#include "psnt.h"

#include <string.h>

#include "crc32.h"

#define SECTOR HAL_SECTOR_SIZE
#define ENTRY_SIZE 64u
#define MAX_SLOT_LAYERS 0xFFFFu

/* ------------------------------------------------------------------ decoding */

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static float rd_f32(const uint8_t *p)
{
    union { uint32_t u; float f; } v;
    v.u = rd_u32(p);
    return v.f;
}

static uint32_t sectors_for(uint32_t bytes)
{
    return (uint32_t)(((uint64_t)bytes + SECTOR - 1) / SECTOR);
}

static void copy_name(char *dst, const uint8_t *src, uint32_t max)
{
    uint32_t i;
    for (i = 0; i < max && src[i]; i++)
        dst[i] = (char)src[i];
    dst[i] = '\0';
}

/* Read `size` bytes at file offset `offset` (sector-aligned) into new arena memory. */
static status_t read_section(const Psnt *p, uint32_t offset, uint32_t size, Arena *a,
                             const char *what, StatusDetail *d, uint8_t **out)
{
    void *buf;
    status_t st = arena_alloc(a, (size_t)sectors_for(size) * SECTOR, what, d, &buf);
    if (st != ST_OK)
        return st;
    *out = (uint8_t *)buf;
    if (size == 0)
        return ST_OK;
    st = hal_read(p->lba + offset / SECTOR, sectors_for(size), buf);
    return st == HAL_OK ? ST_OK : status_fail_plain(d, st, what);
}

/* ------------------------------------------------------------------ roles */

static const char *const role_names[ROLE_COUNT] = {
    "tok_embeddings", "attention_norm", "wq", "wk", "wv", "wo",
    "ffn_norm", "w1", "w2", "w3", "norm", "output"
};

const char *psnt_role_name(PsntRole role)
{
    return (unsigned)role < ROLE_COUNT ? role_names[role] : "?";
}

static int in_layer(unsigned role)
{
    return role != ROLE_TOK_EMBEDDINGS && role != ROLE_NORM && role != ROLE_OUTPUT;
}

static int is_norm(unsigned role)
{
    return role == ROLE_ATTENTION_NORM || role == ROLE_FFN_NORM || role == ROLE_NORM;
}

static uint32_t slot_index(unsigned role, uint32_t layer)
{
    return in_layer(role) ? ROLE_COUNT + layer * ROLE_COUNT + role : role;
}

static void expected_shape(const PsntHeader *h, unsigned role, uint32_t *rows, uint32_t *cols)
{
    uint32_t q_dim = h->n_heads * h->head_dim, kv_dim = h->n_kv_heads * h->head_dim;
    *rows = 1;
    *cols = h->dim;
    switch (role) {
    case ROLE_TOK_EMBEDDINGS: case ROLE_OUTPUT: *rows = h->vocab_size; break;
    case ROLE_WQ: *rows = q_dim; break;
    case ROLE_WK: case ROLE_WV: *rows = kv_dim; break;
    case ROLE_WO: *rows = h->dim; *cols = q_dim; break;
    case ROLE_W1: case ROLE_W3: *rows = h->hidden_dim; break;
    case ROLE_W2: *rows = h->dim; *cols = h->hidden_dim; break;
    default: break;
    }
}

/* "layers.<L>.<role>" or "<role>" into buf (at least 33 bytes). */
static void canonical_name(char *buf, unsigned role, uint32_t layer)
{
    char digits[8];
    int n = 0, i = 0;
    const char *r = role_names[role];
    if (in_layer(role)) {
        memcpy(buf, "layers.", 7);
        i = 7;
        do {
            digits[n++] = (char)('0' + layer % 10);
            layer /= 10;
        } while (layer);
        while (n)
            buf[i++] = digits[--n];
        buf[i++] = '.';
    }
    while (*r)
        buf[i++] = *r++;
    buf[i] = '\0';
}

/* ------------------------------------------------------------------ header */

static void parse_header(PsntHeader *h, const uint8_t *s)
{
    uint32_t *u[] = {
        &h->dim, &h->hidden_dim, &h->n_layers, &h->n_heads, &h->n_kv_heads, &h->head_dim,
        &h->vocab_size, &h->max_seq_len
    };
    uint32_t *v[] = {
        &h->flags, &h->n_tensors, &h->table_offset, &h->table_size, &h->table_crc32,
        &h->tokenizer_offset, &h->tokenizer_size, &h->tokenizer_crc32,
        &h->data_offset, &h->file_size
    };
    unsigned i;
    h->header_crc32 = rd_u32(s + 12);
    for (i = 0; i < sizeof u / sizeof u[0]; i++)
        *u[i] = rd_u32(s + 16 + 4 * i);
    h->norm_eps = rd_f32(s + 48);
    h->rope_theta = rd_f32(s + 52);
    for (i = 0; i < sizeof v / sizeof v[0]; i++)
        *v[i] = rd_u32(s + 56 + 4 * i);
    memcpy(h->role_quant, s + 96, 16);
    copy_name(h->name, s + 112, 64);
}

static status_t check_header_sector(uint8_t *s, uint32_t size, PsntHeader *h, StatusDetail *d)
{
    uint32_t crc;
    if (memcmp(s, "PSNT", 4) != 0)
        return status_fail(d, ST_PSNT_MAGIC, "magic", rd_u32(s), 0x544E5350u);
    if (rd_u32(s + 8) != 0x01020304u)
        return status_fail(d, ST_PSNT_BYTE_ORDER, "byte_order", rd_u32(s + 8), 0x01020304u);
    if (rd_u32(s + 4) != PSNT_VERSION)
        return status_fail(d, ST_PSNT_VERSION, "version", rd_u32(s + 4), PSNT_VERSION);
    parse_header(h, s);
    memset(s + 12, 0, 4);
    crc = crc32_update(0, s, SECTOR);
    if (crc != h->header_crc32)
        return status_fail(d, ST_PSNT_HEADER_CRC, "header", crc, h->header_crc32);
    if (size < h->file_size)
        return status_fail(d, ST_PSNT_TRUNCATED, "file size", size, h->file_size);
    return ST_OK;
}

static int section_ok(uint32_t offset, uint32_t size, uint32_t file_size)
{
    return offset % SECTOR == 0 && offset <= file_size && size <= file_size - offset;
}

static status_t check_header_fields(const PsntHeader *h, StatusDetail *d)
{
    const uint32_t *dims[] = { &h->dim, &h->hidden_dim, &h->n_layers, &h->n_heads,
                               &h->n_kv_heads, &h->head_dim, &h->vocab_size, &h->max_seq_len };
    static const char *const dim_names[] = { "dim", "hidden_dim", "n_layers", "n_heads",
                                             "n_kv_heads", "head_dim", "vocab_size", "max_seq_len" };
    unsigned i;
    for (i = 0; i < sizeof dims / sizeof dims[0]; i++)
        if (*dims[i] == 0 || *dims[i] > 0x1000000u)
            return status_fail(d, ST_PSNT_HEADER_FIELD, dim_names[i], *dims[i], 1);
    if (h->n_layers >= MAX_SLOT_LAYERS)
        return status_fail(d, ST_PSNT_HEADER_FIELD, "n_layers", h->n_layers, MAX_SLOT_LAYERS - 1);
    if (h->n_heads % h->n_kv_heads)
        return status_fail(d, ST_PSNT_HEADER_FIELD, "n_heads % n_kv_heads", h->n_heads % h->n_kv_heads, 0);
    if (h->head_dim % 2)
        return status_fail(d, ST_PSNT_HEADER_FIELD, "head_dim (must be even)", h->head_dim, h->head_dim + 1);
    if (!(h->norm_eps > 0.0f && h->norm_eps < 1.0f))
        return status_fail_plain(d, ST_PSNT_HEADER_FIELD, "norm_eps");
    if (!(h->rope_theta > 1.0f && h->rope_theta < 1e30f))
        return status_fail_plain(d, ST_PSNT_HEADER_FIELD, "rope_theta");
    if (h->file_size % SECTOR)
        return status_fail(d, ST_PSNT_LAYOUT, "file_size", h->file_size % SECTOR, 0);
    if (h->table_offset != SECTOR)
        return status_fail(d, ST_PSNT_LAYOUT, "table_offset", h->table_offset, SECTOR);
    if (h->n_tensors > ROLE_COUNT + ROLE_COUNT * h->n_layers)    /* bounds the table's memory */
        return status_fail(d, ST_PSNT_HEADER_FIELD, "n_tensors", h->n_tensors, ROLE_COUNT + ROLE_COUNT * h->n_layers);
    if ((uint64_t)h->n_tensors * ENTRY_SIZE != h->table_size)
        return status_fail(d, ST_PSNT_HEADER_FIELD, "table_size", h->table_size, h->n_tensors * ENTRY_SIZE);
    if (!section_ok(h->table_offset, h->table_size, h->file_size))
        return status_fail(d, ST_PSNT_LAYOUT, "tensor table", h->table_offset, h->file_size);
    if (!section_ok(h->tokenizer_offset, h->tokenizer_size, h->file_size))
        return status_fail(d, ST_PSNT_LAYOUT, "tokenizer section", h->tokenizer_offset, h->file_size);
    if (!section_ok(h->data_offset, 0, h->file_size))
        return status_fail(d, ST_PSNT_LAYOUT, "data_offset", h->data_offset, h->file_size);
    return ST_OK;
}

/* ------------------------------------------------------------------ table */

static uint32_t align16(uint32_t n)
{
    return (n + 15) & ~15u;
}

/* grouped types: a scale per group (q4m: then a block of minimums), each block padded
 * to 16, then the values; f16 scales for q4 and q4m (as llama.cpp's Q4_0/Q4_1), f32 for
 * q8 and ternary */
static uint32_t expected_row_stride(unsigned quant, uint32_t cols, uint32_t group)
{
    switch (quant) {
    case QUANT_F32: return 4 * cols;
    case QUANT_F16: return 2 * cols;
    case QUANT_Q4: return align16(2 * (cols / group)) + align16((cols + 1) / 2);
    case QUANT_Q4M: return 2 * align16(2 * (cols / group)) + align16((cols + 1) / 2);
    case QUANT_TERNARY: return align16(4 * (cols / group)) + align16((cols + 3) / 4);
    default: return align16(4 * (cols / group)) + align16(cols);
    }
}

static status_t check_entry(const PsntHeader *h, const PsntTensor *t, StatusDetail *d)
{
    char want_name[40];
    uint32_t rows, cols, stride;
    if (t->role >= ROLE_COUNT)
        return status_fail(d, ST_PSNT_ROLE, t->name, t->role, ROLE_COUNT - 1);
    if (in_layer(t->role) ? t->layer >= h->n_layers : t->layer != PSNT_NO_LAYER)
        return status_fail(d, ST_PSNT_ROLE, t->name, t->layer, in_layer(t->role) ? h->n_layers - 1 : PSNT_NO_LAYER);
    canonical_name(want_name, t->role, t->layer);
    if (strcmp(want_name, t->name) != 0)
        return status_fail_plain(d, ST_PSNT_ROLE, t->name);
    if (t->role == ROLE_OUTPUT && (h->flags & PSNT_FLAG_TIED))
        return status_fail_plain(d, ST_PSNT_ROLE, t->name);
    if (t->quant > QUANT_Q4M || (is_norm(t->role) && t->quant != QUANT_F32))
        return status_fail(d, ST_PSNT_QUANT, t->name, t->quant, is_norm(t->role) ? QUANT_F32 : QUANT_Q4M);
    expected_shape(h, t->role, &rows, &cols);
    if (t->rows != rows)
        return status_fail(d, ST_PSNT_SHAPE, t->name, t->rows, rows);
    if (t->cols != cols)
        return status_fail(d, ST_PSNT_SHAPE, t->name, t->cols, cols);
    if (t->quant >= QUANT_Q8 ? t->group_size == 0 || cols % t->group_size : t->group_size != 0)
        return status_fail(d, ST_PSNT_GROUP, t->name, t->group_size, t->quant >= QUANT_Q8 ? cols : 0);
    stride = expected_row_stride(t->quant, cols, t->group_size);
    if (t->row_stride != stride)
        return status_fail(d, ST_PSNT_STRIDE, t->name, t->row_stride, stride);
    if ((uint64_t)rows * stride != t->size)
        return status_fail(d, ST_PSNT_STRIDE, t->name, t->size, (uint32_t)((uint64_t)rows * stride));
    if (!section_ok(t->offset, t->size, h->file_size) || t->offset < h->data_offset)
        return status_fail(d, ST_PSNT_LAYOUT, t->name, t->offset, h->file_size);
    return ST_OK;
}

static void parse_entry(PsntTensor *t, const uint8_t *e)
{
    copy_name(t->name, e, 32);
    t->role = e[32];
    t->quant = e[33];
    t->layer = rd_u16(e + 34);
    t->rows = rd_u32(e + 36);
    t->cols = rd_u32(e + 40);
    t->group_size = rd_u32(e + 44);
    t->offset = rd_u32(e + 48);
    t->size = rd_u32(e + 52);
    t->crc32 = rd_u32(e + 56);
    t->row_stride = rd_u32(e + 60);
}

static status_t read_table(Psnt *p, Arena *a, StatusDetail *d)
{
    const PsntHeader *h = &p->h;
    uint32_t n_slots = ROLE_COUNT + h->n_layers * ROLE_COUNT, i, crc;
    uint8_t *raw;
    void *mem;
    size_t mark;
    status_t st = arena_alloc(a, (size_t)h->n_tensors * sizeof(PsntTensor), "tensor table", d, &mem);
    if (st != ST_OK)
        return st;
    p->tensors = (PsntTensor *)mem;
    st = arena_alloc(a, (size_t)n_slots * sizeof(PsntTensor *), "tensor index", d, &mem);
    if (st != ST_OK)
        return st;
    p->slots = (const PsntTensor **)mem;
    mark = arena_mark(a);
    st = read_section(p, h->table_offset, h->table_size, a, "tensor table", d, &raw);
    if (st != ST_OK)
        return st;
    crc = crc32_update(0, raw, h->table_size);
    if (crc != h->table_crc32)
        return status_fail(d, ST_PSNT_TABLE_CRC, "tensor table", crc, h->table_crc32);
    for (i = 0; i < h->n_tensors; i++) {
        PsntTensor *t = &p->tensors[i];
        uint32_t slot;
        parse_entry(t, raw + (size_t)i * ENTRY_SIZE);
        st = check_entry(h, t, d);
        if (st != ST_OK)
            return st;
        slot = slot_index(t->role, t->layer);
        if (p->slots[slot])
            return status_fail_plain(d, ST_PSNT_DUPLICATE, t->name);
        p->slots[slot] = t;
    }
    arena_reset(a, mark);
    return ST_OK;
}

static status_t check_complete(const Psnt *p, StatusDetail *d)
{
    char name[40];
    unsigned role;
    uint32_t layer;
    for (role = 0; role < ROLE_COUNT; role++) {
        uint32_t n = in_layer(role) ? p->h.n_layers : 1;
        if (role == ROLE_OUTPUT && (p->h.flags & PSNT_FLAG_TIED))
            continue;
        for (layer = 0; layer < n; layer++) {
            if (!p->slots[slot_index(role, layer)]) {
                canonical_name(name, role, layer);
                return status_fail_plain(d, ST_PSNT_MISSING, name);
            }
        }
    }
    return ST_OK;
}

/* ------------------------------------------------------------------ public */

status_t psnt_open(Psnt *p, uint32_t lba, uint32_t size, Arena *a, StatusDetail *d)
{
    uint8_t *buf;
    uint32_t crc;
    size_t mark = arena_mark(a);
    status_t st;
    memset(p, 0, sizeof *p);
    p->lba = lba;
    if (size < SECTOR)
        return status_fail(d, ST_PSNT_TRUNCATED, "file size", size, SECTOR);
    st = read_section(p, 0, SECTOR, a, "header", d, &buf);
    if (st != ST_OK)
        return st;
    st = check_header_sector(buf, size, &p->h, d);
    arena_reset(a, mark);
    if (st == ST_OK)
        st = check_header_fields(&p->h, d);
    if (st == ST_OK)
        st = read_table(p, a, d);
    if (st == ST_OK)
        st = check_complete(p, d);
    if (st != ST_OK)
        return st;
    st = read_section(p, p->h.tokenizer_offset, p->h.tokenizer_size, a, "tokenizer section", d, &buf);
    if (st != ST_OK)
        return st;
    crc = crc32_update(0, buf, p->h.tokenizer_size);
    if (crc != p->h.tokenizer_crc32)
        return status_fail(d, ST_PSNT_TOKENIZER_CRC, "tokenizer section", crc, p->h.tokenizer_crc32);
    p->tokenizer = buf;
    return ST_OK;
}

const PsntTensor *psnt_tensor(const Psnt *p, PsntRole role, uint32_t layer)
{
    if ((unsigned)role >= ROLE_COUNT || (in_layer(role) && layer >= p->h.n_layers))
        return NULL;
    return p->slots[slot_index(role, in_layer(role) ? layer : 0)];
}

uint32_t psnt_buffer_size(const PsntTensor *t)
{
    return sectors_for(t->size) * SECTOR;
}

status_t psnt_read_tensor(const Psnt *p, const PsntTensor *t, void *dst, StatusDetail *d)
{
    uint32_t crc;
    int st = hal_read(p->lba + t->offset / SECTOR, sectors_for(t->size), dst);
    if (st != HAL_OK)
        return status_fail_plain(d, st, t->name);
    crc = crc32_update(0, dst, t->size);
    if (crc != t->crc32)
        return status_fail(d, ST_PSNT_TENSOR_CRC, t->name, crc, t->crc32);
    return ST_OK;
}
