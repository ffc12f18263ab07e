/* Tokenizer: the C twin of model/tokenizer.py. Each step here follows the Python
 * one (same symbol lists, same heap order, same float arithmetic), so that both
 * give the same ids; tests/test_tokenizer.py checks it. See tokenizer.h. */
#include "tokenizer.h"

#include <string.h>

#define SECTION_HEADER 64u
#define MAX_TOKENS (1u << 24)
#define FLAG_ADD_BOS 1u
#define FLAG_ADD_SPACE_PREFIX 2u
#define SPECIAL_DEFAULT 1u
#define SPECIAL_CONTROL 2u

static const uint8_t SPACE_MARK[3] = { 0xE2, 0x96, 0x81 };     /* U+2581 '▁' */
static const uint8_t UNK_SURFACE[5] = { 0x20, 0xE2, 0x81, 0x87, 0x20 };  /* " ⁇ " */
static const char IM_START[] = "<|im_start|>";
static const char IM_END[] = "<|im_end|>";
static const char SYSTEM_GUARD[] = "messages[0]['role'] != 'system'";
static const char SYSTEM_OPEN[] = "<|im_start|>system";

/* ======================================================================
 * Little helpers
 * ====================================================================== */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static float rdf32(const uint8_t *p)
{
    uint32_t u = rd32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static size_t align8(size_t n) { return (n + 7u) & ~(size_t)7u; }

static uint8_t *align_ptr(void *p)
{
    uintptr_t u = (uintptr_t)p;
    return (uint8_t *)((u + 7u) & ~(uintptr_t)7u);
}

static const uint8_t *piece(const tokenizer *tok, int32_t id)
{
    return tok->section + tok->piece_off[id];
}

/* First occurrence of needle in hay[from..hlen), or -1. */
static long find_bytes(const uint8_t *hay, size_t hlen, const char *needle, size_t from)
{
    size_t n = strlen(needle), i;
    if (n > hlen)
        return -1;
    for (i = from; i + n <= hlen; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return (long)i;
    return -1;
}

/* One UTF-8 character at s (n > 0 bytes available): its length, and its code point
 * in *cp, or -1 when s[0] does not start a well-formed sequence (then length 1). */
static size_t utf8_unit(const uint8_t *s, size_t n, int32_t *cp)
{
    uint8_t b = s[0];
    size_t len, i;
    uint32_t c, lo = 0x80, hi = 0xBF;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        c = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        c = b & 0x0Fu;
        if (b == 0xE0) lo = 0xA0;        /* no overlongs */
        if (b == 0xED) hi = 0x9F;        /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        c = b & 0x07u;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;        /* nothing above U+10FFFF */
    } else {
        *cp = -1;
        return 1;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        *cp = -1;
        return 1;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0u) != 0x80u) {
            *cp = -1;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    *cp = (int32_t)c;
    return len;
}

static int class_at(const uint8_t *s, size_t end, size_t i, size_t *ulen)
{
    int32_t cp;
    *ulen = utf8_unit(s + i, end - i, &cp);
    return cp < 0 ? TOK_CLASS_OTHER : tok_unicode_class((uint32_t)cp);
}

/* ======================================================================
 * Piece lookup: open addressing over FNV-1a hashes of the token bytes
 * ====================================================================== */

#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u

static uint32_t fnv_step(uint32_t h, const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

/* Id of the eligible token whose bytes are a (alen) then b (blen), or -1. */
static int32_t lookup_hashed(const tokenizer *tok, uint32_t h, const uint8_t *a, size_t alen,
                             const uint8_t *b, size_t blen)
{
    uint32_t i = h & tok->lookup_mask;
    for (;;) {
        int32_t id = tok->lookup[i];
        if (id < 0)
            return -1;
        if (tok->piece_len[id] == alen + blen && memcmp(piece(tok, id), a, alen) == 0
            && (blen == 0 || memcmp(piece(tok, id) + alen, b, blen) == 0))
            return id;
        i = (i + 1) & tok->lookup_mask;
    }
}

static int32_t lookup(const tokenizer *tok, const uint8_t *p, size_t n)
{
    if (n == 0 || n > tok->max_token_len)
        return -1;
    return lookup_hashed(tok, fnv_step(FNV_BASIS, p, n), p, n, NULL, 0);
}

static uint32_t pair_hash(uint32_t a, uint32_t b)
{
    uint32_t h = a * 0x9E3779B1u ^ (b + 0x7F4A7C15u) * 0x85EBCA77u;
    return h ^ (h >> 15);
}

/* Rank of the merge (a, b), or -1. */
static int32_t merge_find(const tokenizer *tok, int32_t a, int32_t b)
{
    uint32_t i = pair_hash((uint32_t)a, (uint32_t)b) & tok->merge_mask;
    if (tok->n_merges == 0)
        return -1;
    for (;;) {
        int32_t k = tok->merge_lookup[i];
        if (k < 0)
            return -1;
        if ((int32_t)rd32(tok->merges + 8u * (uint32_t)k) == a
            && (int32_t)rd32(tok->merges + 8u * (uint32_t)k + 4u) == b)
            return k;
        i = (i + 1) & tok->merge_mask;
    }
}

static int eligible(const tokenizer *tok, uint8_t type)
{
    if (tok->kind == TOK_BYTE_BPE)
        return type != TOK_CONTROL && type != TOK_UNKNOWN;
    return type == TOK_NORMAL || type == TOK_USER_DEFINED;
}

static uint32_t table_size(uint32_t n)
{
    uint32_t cap = 16;
    while (cap < 2u * n)
        cap <<= 1;
    return cap;
}

/* ======================================================================
 * Loading
 * ====================================================================== */

int tok_load(tokenizer *tok, const uint8_t *sec, size_t size, tok_alloc_fn alloc, void *ctx)
{
    uint32_t n, i, longest = 0, tlen;
    size_t pos;
    float min_normal = 0.0f;
    int have_normal = 0;
    long g, o, e;

    if (!tok || !sec || !alloc)
        return TOK_ERR_ARG;
    memset(tok, 0, sizeof *tok);
    if (size < SECTION_HEADER)
        return TOK_ERR_FORMAT;
    tok->section = sec;
    tok->kind = rd32(sec);
    tok->n_tokens = n = rd32(sec + 4);
    tok->n_merges = rd32(sec + 8);
    tok->bos_id = (int32_t)rd32(sec + 12);
    tok->eos_id = (int32_t)rd32(sec + 16);
    tok->unk_id = (int32_t)rd32(sec + 20);
    tok->pad_id = (int32_t)rd32(sec + 24);
    tok->im_start_id = (int32_t)rd32(sec + 28);
    tok->im_end_id = (int32_t)rd32(sec + 32);
    tok->flags = rd32(sec + 36);
    tok->pretokenizer = rd32(sec + 40);
    tok->max_token_len = rd32(sec + 44);
    tlen = rd32(sec + 48);
    for (i = 52; i < SECTION_HEADER; i++)
        if (sec[i])
            return TOK_ERR_FORMAT;
    if (tok->kind < 1 || tok->kind > 3 || n == 0 || n > MAX_TOKENS || (tok->flags & ~3u)
        || tok->pretokenizer > 3)
        return TOK_ERR_FORMAT;
    if (tok->kind != TOK_BYTE_BPE && (tok->n_merges || tok->pretokenizer))
        return TOK_ERR_FORMAT;
    {
        const int32_t ids[6] = { tok->bos_id, tok->eos_id, tok->unk_id, tok->pad_id,
                                 tok->im_start_id, tok->im_end_id };
        for (i = 0; i < 6; i++)
            if (ids[i] < -1 || ids[i] >= (int32_t)n)
                return TOK_ERR_FORMAT;
    }

    tok->piece_off = alloc(ctx, sizeof(uint32_t) * n);
    tok->piece_len = alloc(ctx, sizeof(uint16_t) * n);
    tok->score = alloc(ctx, sizeof(float) * n);
    tok->type = alloc(ctx, n);
    if (!tok->piece_off || !tok->piece_len || !tok->score || !tok->type)
        return TOK_ERR_NOMEM;
    pos = SECTION_HEADER;
    for (i = 0; i < n; i++) {
        uint32_t len;
        uint8_t type;
        if (size - pos < 8)
            return TOK_ERR_FORMAT;
        type = sec[pos + 4];
        len = (uint32_t)sec[pos + 6] | ((uint32_t)sec[pos + 7] << 8);
        if (type < 1 || type > 6 || sec[pos + 5] != 0 || size - pos - 8 < len)
            return TOK_ERR_FORMAT;
        if (type == TOK_BYTE && len != 1)
            return TOK_ERR_FORMAT;
        tok->score[i] = rdf32(sec + pos);
        tok->type[i] = type;
        tok->piece_len[i] = (uint16_t)len;
        tok->piece_off[i] = (uint32_t)(pos + 8);
        if (len > longest)
            longest = len;
        if (type == TOK_NORMAL && (!have_normal || tok->score[i] < min_normal)) {
            min_normal = tok->score[i];
            have_normal = 1;
        }
        pos += 8u + len;
    }
    if (longest != tok->max_token_len)
        return TOK_ERR_FORMAT;
    while (pos % 4u) {
        if (pos >= size || sec[pos])
            return TOK_ERR_FORMAT;
        pos++;
    }
    if ((size - pos) / 8u < tok->n_merges || size - pos - 8u * (size_t)tok->n_merges != tlen)
        return TOK_ERR_FORMAT;
    tok->merges = sec + pos;
    tok->chat_template = sec + pos + 8u * (size_t)tok->n_merges;
    tok->chat_template_len = tlen;
    /* sentencepiece: min_score_ over NORMAL pieces, kUnkPenalty = 10, in float */
    tok->unk_score = min_normal - 10.0f;

    /* pieces the segmentation may produce; the first id wins */
    tok->lookup_mask = table_size(n) - 1u;
    tok->lookup = alloc(ctx, sizeof(int32_t) * (tok->lookup_mask + 1u));
    if (!tok->lookup)
        return TOK_ERR_NOMEM;
    memset(tok->lookup, 0xFF, sizeof(int32_t) * (tok->lookup_mask + 1u));
    for (i = 0; i < n; i++) {
        uint32_t len = tok->piece_len[i], h;
        if (len == 0 || !eligible(tok, tok->type[i]))
            continue;
        h = fnv_step(FNV_BASIS, piece(tok, (int32_t)i), len) & tok->lookup_mask;
        while (tok->lookup[h] >= 0) {
            int32_t other = tok->lookup[h];
            if (tok->piece_len[other] == len && memcmp(piece(tok, other), piece(tok, (int32_t)i), len) == 0)
                break;
            h = (h + 1) & tok->lookup_mask;
        }
        if (tok->lookup[h] < 0)
            tok->lookup[h] = (int32_t)i;
    }

    for (i = 0; i < 256; i++)
        tok->byte_id[i] = -1;
    if (tok->kind == TOK_BYTE_BPE) {
        for (i = 0; i < 256; i++) {
            uint8_t b = (uint8_t)i;
            tok->byte_id[i] = lookup(tok, &b, 1);
        }
    } else {
        tok->byte_fallback = 1;
        for (i = 0; i < n; i++)
            if (tok->type[i] == TOK_BYTE && tok->byte_id[*piece(tok, (int32_t)i)] < 0)
                tok->byte_id[*piece(tok, (int32_t)i)] = (int32_t)i;
        for (i = 0; i < 256; i++)
            if (tok->byte_id[i] < 0)
                tok->byte_fallback = 0;
    }

    if (tok->n_merges) {
        tok->merge_result = alloc(ctx, sizeof(int32_t) * tok->n_merges);
        tok->merge_mask = table_size(tok->n_merges) - 1u;
        tok->merge_lookup = alloc(ctx, sizeof(int32_t) * (tok->merge_mask + 1u));
        if (!tok->merge_result || !tok->merge_lookup)
            return TOK_ERR_NOMEM;
        memset(tok->merge_lookup, 0xFF, sizeof(int32_t) * (tok->merge_mask + 1u));
        for (i = 0; i < tok->n_merges; i++) {
            uint32_t a = rd32(tok->merges + 8u * i), b = rd32(tok->merges + 8u * i + 4u), h;
            const uint8_t *pa, *pb;
            if (a >= n || b >= n)
                return TOK_ERR_FORMAT;
            pa = piece(tok, (int32_t)a);
            pb = piece(tok, (int32_t)b);
            tok->merge_result[i] = lookup_hashed(
                tok, fnv_step(fnv_step(FNV_BASIS, pa, tok->piece_len[a]), pb, tok->piece_len[b]),
                pa, tok->piece_len[a], pb, tok->piece_len[b]);
            if (tok->merge_result[i] < 0)
                return TOK_ERR_FORMAT;   /* a merge must make a token of the vocab */
            /* a pair listed twice keeps its last rank, as HF tokenizers does */
            h = pair_hash(a, b) & tok->merge_mask;
            while (tok->merge_lookup[h] >= 0) {
                uint32_t k = (uint32_t)tok->merge_lookup[h];
                if (rd32(tok->merges + 8u * k) == a && rd32(tok->merges + 8u * k + 4u) == b)
                    break;
                h = (h + 1) & tok->merge_mask;
            }
            tok->merge_lookup[h] = (int32_t)i;
        }
    }

    for (i = 0; i < n; i++)
        if ((tok->type[i] == TOK_CONTROL || tok->type[i] == TOK_USER_DEFINED) && tok->piece_len[i])
            tok->n_special++;
    if (tok->n_special) {
        uint32_t k = 0;
        tok->special = alloc(ctx, sizeof(int32_t) * tok->n_special);
        if (!tok->special)
            return TOK_ERR_NOMEM;
        for (i = 0; i < n; i++) {
            uint8_t t = tok->type[i];
            if ((t != TOK_CONTROL && t != TOK_USER_DEFINED) || !tok->piece_len[i])
                continue;
            tok->special[k++] = (int32_t)i;
            tok->special_first[*piece(tok, (int32_t)i)] |= SPECIAL_CONTROL;
            if (t == TOK_USER_DEFINED || tok->kind == TOK_BYTE_BPE)
                tok->special_first[*piece(tok, (int32_t)i)] |= SPECIAL_DEFAULT;
        }
    }

    /* the default system message of a ChatML template (model/tokenizer.py
     * default_system_prompt) */
    g = find_bytes(tok->chat_template, tlen, SYSTEM_GUARD, 0);
    o = g < 0 ? -1 : find_bytes(tok->chat_template, tlen, SYSTEM_OPEN, (size_t)g);
    if (o >= 0) {
        size_t s = (size_t)o + strlen(SYSTEM_OPEN);
        if (s < tlen && tok->chat_template[s] == '\n')
            s += 1;
        else if (s + 1 < tlen && tok->chat_template[s] == '\\' && tok->chat_template[s + 1] == 'n')
            s += 2;
        else
            s = 0;
        e = s ? find_bytes(tok->chat_template, tlen, IM_END, s) : -1;
        if (e >= 0) {
            tok->default_system = tok->chat_template + s;
            tok->default_system_len = (uint32_t)((size_t)e - s);
        }
    }
    return TOK_OK;
}

/* ======================================================================
 * Encoding state: scratch arrays and the output
 * ====================================================================== */

typedef struct {
    float prio;                 /* higher merges first: score, or -rank */
    int32_t left, right, size, result;
} merge_entry;

typedef struct {
    const tokenizer *tok;
    int32_t *out;
    int max_out, n_out;
    /* symbols, one per character (or byte) of the current piece of text */
    int32_t *start, *len, *prev, *next, *id;
    merge_entry *heap;
    int n_heap;
    float *best_score;          /* unigram, (n + 1,) */
    int32_t *best_start, *best_id;
} encoder;

static int emit(encoder *en, int32_t id)
{
    if (en->n_out >= en->max_out)
        return TOK_ERR_OUT_FULL;
    en->out[en->n_out++] = id;
    return TOK_OK;
}

/* a merges before b: higher priority, then further left (model/tokenizer.py _merge) */
static int better(const merge_entry *a, const merge_entry *b)
{
    return a->prio > b->prio || (a->prio == b->prio && a->left < b->left);
}

static void heap_push(encoder *en, merge_entry e)
{
    int i = en->n_heap++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!better(&e, &en->heap[parent]))
            break;
        en->heap[i] = en->heap[parent];
        i = parent;
    }
    en->heap[i] = e;
}

static merge_entry heap_pop(encoder *en)
{
    merge_entry top = en->heap[0], last = en->heap[--en->n_heap];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= en->n_heap)
            break;
        if (c + 1 < en->n_heap && better(&en->heap[c + 1], &en->heap[c]))
            c++;
        if (!better(&en->heap[c], &last))
            break;
        en->heap[i] = en->heap[c];
        i = c;
    }
    if (en->n_heap > 0)
        en->heap[i] = last;
    return top;
}

/* Queue the pair (l, r) if it can merge. text: the piece of text the symbols'
 * starts refer to (SentencePiece looks the concatenation up). */
static void push_pair(encoder *en, const uint8_t *text, int32_t l, int32_t r)
{
    const tokenizer *tok = en->tok;
    merge_entry e;
    if (l < 0 || r < 0)
        return;
    if (tok->kind == TOK_BYTE_BPE) {
        int32_t k = merge_find(tok, en->id[l], en->id[r]);
        if (k < 0)
            return;
        e.prio = -(float)k;          /* exact: ranks stay below 2^24 */
        e.result = tok->merge_result[k];
    } else {
        int32_t id = lookup(tok, text + en->start[l], (size_t)(en->len[l] + en->len[r]));
        if (id < 0)
            return;
        e.prio = tok->score[id];
        e.result = id;
    }
    e.left = l;
    e.right = r;
    e.size = en->len[l] + en->len[r];
    heap_push(en, e);
}

/* Merge symbols 0..m-1 (linked by prev/next) best pair first, as sentencepiece's
 * BPE and HF's BPE do; a stale entry is recognised by its summed length. */
static void merge_symbols(encoder *en, const uint8_t *text, int32_t m)
{
    int32_t i;
    en->n_heap = 0;
    for (i = 0; i + 1 < m; i++)
        push_pair(en, text, i, i + 1);
    while (en->n_heap > 0) {
        merge_entry e = heap_pop(en);
        int32_t l = e.left, r = e.right;
        if (en->len[l] == 0 || en->len[r] == 0 || en->next[l] != r || en->len[l] + en->len[r] != e.size)
            continue;
        en->len[l] = e.size;
        en->id[l] = e.result;
        en->next[l] = en->next[r];
        if (en->next[r] >= 0)
            en->prev[en->next[r]] = l;
        en->len[r] = 0;
        push_pair(en, text, en->prev[l], l);
        push_pair(en, text, l, en->next[l]);
    }
}

/* ======================================================================
 * SentencePiece
 * ====================================================================== */

/* Emit one piece (id -1: not in the vocab): byte fallback, or one unknown id
 * per run of unknown pieces. */
static int emit_sp(encoder *en, const uint8_t *p, int32_t len, int32_t id, int *prev_unk)
{
    const tokenizer *tok = en->tok;
    int32_t i;
    int st;
    if (id >= 0) {
        *prev_unk = 0;
        return emit(en, id);
    }
    if (tok->byte_fallback) {
        for (i = 0; i < len; i++)
            if ((st = emit(en, tok->byte_id[p[i]])) < 0)
                return st;
        return TOK_OK;
    }
    if (!*prev_unk && tok->unk_id >= 0 && (st = emit(en, tok->unk_id)) < 0)
        return st;
    *prev_unk = 1;
    return TOK_OK;
}

static int sp_bpe(encoder *en, const uint8_t *s, size_t n)
{
    int32_t m = 0, k;
    size_t pos = 0;
    int prev_unk = 0, st;
    while (pos < n) {
        int32_t cp;
        size_t u = utf8_unit(s + pos, n - pos, &cp);
        en->start[m] = (int32_t)pos;
        en->len[m] = (int32_t)u;
        en->prev[m] = m - 1;
        en->next[m] = m + 1;
        en->id[m] = lookup(en->tok, s + pos, u);
        m++;
        pos += u;
    }
    if (m == 0)
        return TOK_OK;
    en->next[m - 1] = -1;
    merge_symbols(en, s, m);
    for (k = 0; k >= 0; k = en->next[k])
        if ((st = emit_sp(en, s + en->start[k], en->len[k], en->id[k], &prev_unk)) < 0)
            return st;
    return TOK_OK;
}

/* a + b > c with a + b taken exactly, as sentencepiece compares a piece's
 * candidate (a double there); TwoSum gives the rounding error of the float sum. */
static int sum_greater(float a, float b, float sum, float c)
{
    float bb = sum - a;
    float err = (a - (sum - bb)) + (b - bb);
    return sum > c || (sum == c && err > 0.0f);
}

/* sentencepiece's EncodeOptimized: Viterbi over byte positions. */
static int sp_unigram(encoder *en, const uint8_t *s, size_t n)
{
    const tokenizer *tok = en->tok;
    size_t pos = 0, e;
    int32_t m = 0, k;
    int prev_unk = 0, st;
    for (e = 0; e <= n; e++) {
        en->best_score[e] = 0.0f;
        en->best_start[e] = -1;
        en->best_id[e] = -1;
    }
    while (pos < n) {
        int32_t cp;
        size_t mblen = utf8_unit(s + pos, n - pos, &cp);
        size_t last = n - pos < tok->max_token_len ? n : pos + tok->max_token_len;
        float here = en->best_score[pos];
        uint32_t h = FNV_BASIS;
        int has_single = 0;
        for (e = pos + 1; e <= last; e++) {
            int32_t id;
            h = (h ^ s[e - 1]) * FNV_PRIME;
            id = lookup_hashed(tok, h, s + pos, e - pos, NULL, 0);
            if (id < 0)
                continue;
            {
                float a = tok->score[id], sum = a + here;
                if (en->best_start[e] == -1 || sum_greater(a, here, sum, en->best_score[e])) {
                    en->best_score[e] = sum;
                    en->best_start[e] = (int32_t)pos;
                    en->best_id[e] = id;
                }
            }
            if (e - pos == mblen)
                has_single = 1;
        }
        if (!has_single) {
            float c = tok->unk_score + here;
            e = pos + mblen;
            if (en->best_start[e] == -1 || c > en->best_score[e]) {
                en->best_score[e] = c;
                en->best_start[e] = (int32_t)pos;
                en->best_id[e] = -1;
            }
        }
        pos += mblen;
    }
    /* backtrack into the symbol arrays, last piece first */
    for (e = n; e > 0; e = (size_t)en->best_start[e]) {
        en->start[m] = en->best_start[e];
        en->len[m] = (int32_t)e - en->best_start[e];
        en->id[m] = en->best_id[e];
        m++;
    }
    for (k = m - 1; k >= 0; k--)
        if ((st = emit_sp(en, s + en->start[k], en->len[k], en->id[k], &prev_unk)) < 0)
            return st;
    return TOK_OK;
}

/* ======================================================================
 * Byte-level BPE and its pre-tokenizers
 * ====================================================================== */

static int byte_bpe_word(encoder *en, const uint8_t *w, size_t n)
{
    const tokenizer *tok = en->tok;
    int32_t m = 0, k;
    size_t i;
    int st;
    if (n == 0)
        return TOK_OK;
    if (tok->pretokenizer == TOK_PRE_LLAMA3) {
        /* a word that is a token is taken whole (HF ignore_merges, llama.cpp) */
        int32_t whole = lookup(tok, w, n);
        if (whole >= 0)
            return emit(en, whole);
    }
    for (i = 0; i < n; i++) {
        int32_t id = tok->byte_id[w[i]];
        if (id < 0)
            continue;           /* HF BPE without unk_token drops the byte */
        en->start[m] = (int32_t)i;
        en->len[m] = 1;
        en->prev[m] = m - 1;
        en->next[m] = m + 1;
        en->id[m] = id;
        m++;
    }
    if (m == 0)
        return TOK_OK;
    en->next[m - 1] = -1;
    merge_symbols(en, w, m);
    for (k = 0; k >= 0; k = en->next[k])
        if ((st = emit(en, en->id[k])) < 0)
            return st;
    return TOK_OK;
}

static size_t run_of(const uint8_t *s, size_t i, size_t end, int cls)
{
    size_t u;
    while (i < end && class_at(s, end, i, &u) == cls)
        i += u;
    return i;
}

static uint8_t ascii_lower(uint8_t c, int fold)
{
    return (fold && c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* End of 's|'t|'re|'ve|'m|'ll|'d at i, or 0. */
static size_t contraction_end(const uint8_t *s, size_t i, size_t end, int fold)
{
    uint8_t c, c2;
    if (s[i] != '\'' || i + 1 >= end)
        return 0;
    c = ascii_lower(s[i + 1], fold);
    if (c == 's' || c == 't' || c == 'm' || c == 'd')
        return i + 2;
    if (i + 2 < end) {
        c2 = ascii_lower(s[i + 2], fold);
        if ((c == 'r' && c2 == 'e') || (c == 'v' && c2 == 'e') || (c == 'l' && c2 == 'l'))
            return i + 3;
    }
    return 0;
}

/* \s+(?!\S)|\s+ at a whitespace character i */
static size_t space_match(const uint8_t *s, size_t i, size_t end)
{
    size_t j = i, last = i, u, count = 0;
    while (j < end && class_at(s, end, j, &u) == TOK_CLASS_SPACE) {
        last = j;
        j += u;
        count++;
    }
    if (j == end || count == 1)
        return j;
    return last;            /* the last space starts the next word */
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t gpt2_match(const uint8_t *s, size_t i, size_t end)
{
    size_t u, ce = contraction_end(s, i, end, 0);
    int c0, c1;
    if (ce)
        return ce;
    c0 = class_at(s, end, i, &u);
    if (c0 != TOK_CLASS_SPACE)
        return run_of(s, i, end, c0);
    if (s[i] == ' ' && i + 1 < end) {
        c1 = class_at(s, end, i + 1, &u);
        if (c1 != TOK_CLASS_SPACE)
            return run_of(s, i + 1, end, c1);
    }
    return space_match(s, i, end);
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static size_t llama3_match(const uint8_t *s, size_t i, size_t end)
{
    size_t u, u1, j, k, last_nl, ce = contraction_end(s, i, end, 1);
    int c0, count;
    if (ce)
        return ce;
    c0 = class_at(s, end, i, &u);
    if (c0 == TOK_CLASS_LETTER)
        return run_of(s, i, end, TOK_CLASS_LETTER);
    if (c0 != TOK_CLASS_NUMBER && s[i] != '\n' && s[i] != '\r' && i + u < end
        && class_at(s, end, i + u, &u1) == TOK_CLASS_LETTER)
        return run_of(s, i + u, end, TOK_CLASS_LETTER);
    if (c0 == TOK_CLASS_NUMBER) {
        for (j = i, count = 0; count < 3 && j < end && class_at(s, end, j, &u1) == TOK_CLASS_NUMBER; count++)
            j += u1;
        return j;
    }
    j = 0;
    if (c0 == TOK_CLASS_OTHER)
        j = run_of(s, i, end, TOK_CLASS_OTHER);
    else if (s[i] == ' ' && i + 1 < end && class_at(s, end, i + 1, &u1) == TOK_CLASS_OTHER)
        j = run_of(s, i + 1, end, TOK_CLASS_OTHER);
    if (j) {
        while (j < end && (s[j] == '\n' || s[j] == '\r'))
            j++;
        return j;
    }
    /* whitespace: \s*[\r\n]+ ends after the run's last newline */
    last_nl = 0;
    for (k = i; k < end && class_at(s, end, k, &u1) == TOK_CLASS_SPACE; k += u1)
        if (s[k] == '\n' || s[k] == '\r')
            last_nl = k + 1;
    if (last_nl)
        return last_nl;
    return space_match(s, i, end);
}

static int scan_words(encoder *en, const uint8_t *s, size_t i, size_t end, int llama3)
{
    int st;
    while (i < end) {
        size_t j = llama3 ? llama3_match(s, i, end) : gpt2_match(s, i, end);
        if ((st = byte_bpe_word(en, s + i, j - i)) < 0)
            return st;
        i = j;
    }
    return TOK_OK;
}

static int byte_bpe(encoder *en, const uint8_t *s, size_t n)
{
    size_t i = 0, u;
    int st;
    switch (en->tok->pretokenizer) {
    case TOK_PRE_GPT2:
        return scan_words(en, s, 0, n, 0);
    case TOK_PRE_LLAMA3:
        return scan_words(en, s, 0, n, 1);
    case TOK_PRE_SMOLLM:
        /* HF Digits(individual_digits) then ByteLevel: each \p{N} alone, the GPT-2
         * regex on each piece between them */
        while (i < n) {
            size_t j = i;
            if (class_at(s, n, i, &u) == TOK_CLASS_NUMBER) {
                if ((st = byte_bpe_word(en, s + i, u)) < 0)
                    return st;
                i += u;
                continue;
            }
            while (j < n && class_at(s, n, j, &u) != TOK_CLASS_NUMBER)
                j += u;
            if ((st = scan_words(en, s, i, j, 0)) < 0)
                return st;
            i = j;
        }
        return TOK_OK;
    default:
        return byte_bpe_word(en, s, n);
    }
}

/* ======================================================================
 * Encoding: special tokens, then the kind's segmentation
 * ====================================================================== */

static int encode_fragment(encoder *en, const uint8_t *s, size_t n)
{
    if (n == 0)
        return TOK_OK;
    switch (en->tok->kind) {
    case TOK_SP_BPE:
        return sp_bpe(en, s, n);
    case TOK_SP_UNIGRAM:
        return sp_unigram(en, s, n);
    default:
        return byte_bpe(en, s, n);
    }
}

/* Longest special token at s[0..n) allowed in this mode (lowest id on ties), or -1. */
static int32_t match_special(const tokenizer *tok, const uint8_t *s, size_t n, unsigned mode,
                             size_t *len)
{
    int32_t best = -1;
    uint32_t k;
    *len = 0;
    if (!(tok->special_first[s[0]] & mode))
        return -1;
    for (k = 0; k < tok->n_special; k++) {
        int32_t id = tok->special[k];
        size_t l = tok->piece_len[id];
        if (mode == SPECIAL_DEFAULT && tok->kind != TOK_BYTE_BPE && tok->type[id] != TOK_USER_DEFINED)
            continue;
        if (l > *len && l <= n && memcmp(piece(tok, id), s, l) == 0) {
            best = id;
            *len = l;
        }
    }
    return best;
}

static size_t norm_capacity(const tokenizer *tok, size_t len)
{
    return tok->kind == TOK_BYTE_BPE ? len : 3u * len + 3u;
}

size_t tok_scratch_size(const tokenizer *tok, size_t len)
{
    size_t n;
    if (!tok || len > (size_t)-1 / 512u || len > 0x1FFFFFFFu)
        return (size_t)-1;
    n = norm_capacity(tok, len) + 1u;
    return 64u + (tok->kind == TOK_BYTE_BPE ? 0u : align8(n))
         + 5u * align8(sizeof(int32_t) * n)
         + align8(3u * n * sizeof(merge_entry))
         + (tok->kind == TOK_SP_UNIGRAM ? 3u * align8(4u * (n + 1u)) : 0u);
}

int tok_encode(const tokenizer *tok, const uint8_t *text, size_t len, int add_bos, int special,
               int32_t *out, int max_out, void *scratch, size_t scratch_size)
{
    encoder en;
    uint8_t *p;
    const uint8_t *s;
    size_t n, cap, i, frag, sl;
    unsigned mode = special < 0 ? SPECIAL_DEFAULT : special > 0 ? SPECIAL_CONTROL : 0u;
    int st;

    if (!tok || (!text && len) || (!out && max_out > 0) || max_out < 0 || !scratch)
        return TOK_ERR_ARG;
    if (scratch_size < tok_scratch_size(tok, len))
        return TOK_ERR_SCRATCH;
    cap = norm_capacity(tok, len) + 1u;
    p = align_ptr(scratch);
    memset(&en, 0, sizeof en);
    en.tok = tok;
    en.out = out;
    en.max_out = max_out;
    if (add_bos < 0)
        add_bos = (tok->flags & FLAG_ADD_BOS) != 0;
    if (add_bos && tok->bos_id >= 0 && (st = emit(&en, tok->bos_id)) < 0)
        return st;

    if (tok->kind == TOK_BYTE_BPE) {
        s = text;
        n = len;
    } else {
        /* SentencePiece: dummy prefix on the whole text, spaces become '▁' */
        uint8_t *norm = p;
        n = 0;
        if ((tok->flags & FLAG_ADD_SPACE_PREFIX) && len > 0) {
            memcpy(norm, SPACE_MARK, 3);
            n = 3;
        }
        for (i = 0; i < len; i++) {
            if (text[i] == ' ') {
                memcpy(norm + n, SPACE_MARK, 3);
                n += 3;
            } else {
                norm[n++] = text[i];
            }
        }
        s = norm;
        p += align8(cap);
    }
    en.start = (int32_t *)p; p += align8(sizeof(int32_t) * cap);
    en.len = (int32_t *)p;   p += align8(sizeof(int32_t) * cap);
    en.prev = (int32_t *)p;  p += align8(sizeof(int32_t) * cap);
    en.next = (int32_t *)p;  p += align8(sizeof(int32_t) * cap);
    en.id = (int32_t *)p;    p += align8(sizeof(int32_t) * cap);
    en.heap = (merge_entry *)p; p += align8(3u * cap * sizeof(merge_entry));
    if (tok->kind == TOK_SP_UNIGRAM) {
        en.best_score = (float *)p;     p += align8(4u * (cap + 1u));
        en.best_start = (int32_t *)p;   p += align8(4u * (cap + 1u));
        en.best_id = (int32_t *)p;
    }

    frag = 0;
    i = 0;
    while (i < n) {
        int32_t id = mode ? match_special(tok, s + i, n - i, mode, &sl) : -1;
        if (id < 0) {
            i++;
            continue;
        }
        if ((st = encode_fragment(&en, s + frag, i - frag)) < 0 || (st = emit(&en, id)) < 0)
            return st;
        i += sl;
        frag = i;
    }
    if ((st = encode_fragment(&en, s + frag, n - frag)) < 0)
        return st;
    return en.n_out;
}

/* ======================================================================
 * Decoding and chat
 * ====================================================================== */

int tok_decode_piece(const tokenizer *tok, int prev, int id, uint8_t *out, size_t cap)
{
    const uint8_t *p;
    size_t len, i, n = 0;
    if (!tok || (!out && cap) || id < 0 || (uint32_t)id >= tok->n_tokens)
        return TOK_ERR_ARG;
    p = piece(tok, id);
    len = tok->piece_len[id];
    if (tok->kind != TOK_BYTE_BPE) {
        uint8_t t = tok->type[id];
        if (t == TOK_CONTROL)
            return 0;
        if (t == TOK_UNKNOWN) {
            p = UNK_SURFACE;
            len = sizeof UNK_SURFACE;
        } else if (t != TOK_BYTE) {
            if ((tok->flags & FLAG_ADD_SPACE_PREFIX) && (prev < 0 || prev == tok->bos_id)
                && len >= 3 && memcmp(p, SPACE_MARK, 3) == 0) {
                p += 3;
                len -= 3;
            }
            for (i = 0; i < len;) {
                if (n >= cap)
                    return TOK_ERR_OUT_FULL;
                if (i + 3 <= len && memcmp(p + i, SPACE_MARK, 3) == 0) {
                    out[n++] = ' ';
                    i += 3;
                } else {
                    out[n++] = p[i++];
                }
            }
            return (int)n;
        }
    }
    if (len > cap)
        return TOK_ERR_OUT_FULL;
    memcpy(out, p, len);
    return (int)len;
}

static size_t chat_text(const tokenizer *tok, const uint8_t *user, size_t user_len, uint8_t *dst)
{
    static const char sys[] = "system\n", usr[] = "user\n", asst[] = "assistant\n", nl[] = "\n";
    const struct { const void *p; size_t n; } parts[] = {
        { IM_START, sizeof IM_START - 1 }, { sys, sizeof sys - 1 },
        { tok->default_system, tok->default_system_len }, { IM_END, sizeof IM_END - 1 },
        { nl, 1 },
        { IM_START, sizeof IM_START - 1 }, { usr, sizeof usr - 1 }, { user, user_len },
        { IM_END, sizeof IM_END - 1 }, { nl, 1 },
        { IM_START, sizeof IM_START - 1 }, { asst, sizeof asst - 1 },
    };
    size_t k, n = 0;
    for (k = tok->default_system ? 0 : 5; k < sizeof parts / sizeof parts[0]; k++) {
        if (dst && parts[k].n)
            memcpy(dst + n, parts[k].p, parts[k].n);
        n += parts[k].n;
    }
    return n;
}

size_t tok_chat_scratch_size(const tokenizer *tok, size_t user_len)
{
    size_t n, s;
    if (!tok || user_len > 0x1FFFFFFFu)
        return (size_t)-1;
    n = chat_text(tok, NULL, user_len, NULL);
    s = tok_scratch_size(tok, n);
    return s == (size_t)-1 ? s : 8u + align8(n) + s;
}

int tok_encode_chat(const tokenizer *tok, const uint8_t *user, size_t user_len,
                    int32_t *out, int max_out, void *scratch, size_t scratch_size)
{
    uint8_t *text;
    size_t n;
    if (!tok || (!user && user_len) || !scratch)
        return TOK_ERR_ARG;
    if (tok->im_start_id < 0 || tok->im_end_id < 0)
        return TOK_ERR_NO_CHATML;
    if (scratch_size < tok_chat_scratch_size(tok, user_len))
        return TOK_ERR_SCRATCH;
    text = align_ptr(scratch);
    n = chat_text(tok, user, user_len, text);
    return tok_encode(tok, text, n, -1, 1, out, max_out, text + align8(n),
                      scratch_size - (size_t)(text - (uint8_t *)scratch) - align8(n));
}
