/* Host driver for ee_runtime_c/tokenizer.c, run by tests/test_tokenizer.py.
 *
 *   tokenizer_driver SECTION encode   stdin: records  u8 op ('E' encode, 'C' chat),
 *                                     i8 add_bos, i8 special, u32 len, len bytes;
 *                                     stdout per record: "n id id ...\n" (or "ERR code\n")
 *                                     then "D hexbytes\n", the ids decoded piece by piece
 *                                     op 'T': encode into max_out = 1 (must fail when
 *                                     the text needs more), op 'S': scratch one byte short
 *   tokenizer_driver - classes        stdout: tok_unicode_class of U+0000..U+10FFFF,
 *                                     one digit each
 *   tokenizer_driver - load           stdin: records u32 len, len bytes (sections);
 *                                     stdout: tok_load's status per record
 * Every input gets a malloc'd buffer of its exact size, so that AddressSanitizer
 * catches any read past its end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

typedef struct { uint8_t *base; size_t used, cap; } arena;

static void *arena_alloc(void *ctx, size_t n)
{
    arena *a = ctx;
    size_t at = (a->used + 7u) & ~(size_t)7u;
    if (at > a->cap || a->cap - at < n)
        return NULL;
    a->used = at + n;
    return a->base + at;
}

static int read_exact(void *dst, size_t n)
{
    return fread(dst, 1, n, stdin) == n;
}

static uint8_t *read_blob(size_t *len)
{
    uint8_t hdr[4], *buf;
    if (!read_exact(hdr, 4))
        return NULL;
    *len = (size_t)hdr[0] | ((size_t)hdr[1] << 8) | ((size_t)hdr[2] << 16) | ((size_t)hdr[3] << 24);
    buf = malloc(*len ? *len : 1);
    if (!buf || !read_exact(buf, *len)) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int run_load(void)
{
    size_t len;
    uint8_t *sec;
    arena a = { NULL, 0, 64u << 20 };
    a.base = malloc(a.cap);
    while ((sec = read_blob(&len)) != NULL) {
        tokenizer tok;
        a.used = 0;
        printf("%d\n", tok_load(&tok, sec, len, arena_alloc, &a));
        free(sec);
    }
    free(a.base);
    return 0;
}

static int run_encode(const char *path)
{
    FILE *f = fopen(path, "rb");
    long size;
    uint8_t *sec, op_hdr[3];
    arena a = { NULL, 0, 64u << 20 };
    tokenizer tok;
    int st;
    if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        return 2;
    sec = malloc((size_t)size ? (size_t)size : 1);
    if (!sec || fread(sec, 1, (size_t)size, f) != (size_t)size)
        return 2;
    fclose(f);
    a.base = malloc(a.cap);
    st = tok_load(&tok, sec, (size_t)size, arena_alloc, &a);
    if (st != TOK_OK) {
        printf("LOAD %d\n", st);
        return 1;
    }
    while (read_exact(op_hdr, 3)) {
        size_t len, scratch_size, k;
        uint8_t *text = read_blob(&len), piece[1024];
        int max_out, n, i, prev = -1;
        int32_t *ids;
        void *scratch;
        if (!text)
            return 2;
        scratch_size = op_hdr[0] == 'C' ? tok_chat_scratch_size(&tok, len) : tok_scratch_size(&tok, len);
        max_out = (int)(len * 3 + 8 + (op_hdr[0] == 'C' ? 256 + tok.default_system_len : 0));
        if (op_hdr[0] == 'T')
            max_out = 1;
        if (op_hdr[0] == 'S')
            scratch_size -= 1;
        ids = malloc(sizeof(int32_t) * (size_t)max_out);
        scratch = malloc(scratch_size);
        if (op_hdr[0] == 'C')
            n = tok_encode_chat(&tok, text, len, ids, max_out, scratch, scratch_size);
        else
            n = tok_encode(&tok, text, len, (int8_t)op_hdr[1], (int8_t)op_hdr[2], ids, max_out,
                           scratch, scratch_size);
        if (n < 0) {
            printf("ERR %d\nD \n", n);
        } else {
            printf("%d", n);
            for (i = 0; i < n; i++)
                printf(" %d", (int)ids[i]);
            printf("\nD ");
            for (i = 0; i < n; i++) {
                int m = tok_decode_piece(&tok, prev, ids[i], piece, sizeof piece);
                if (m < 0) {
                    printf("ERR%d", m);
                    break;
                }
                for (k = 0; k < (size_t)m; k++)
                    printf("%02x", piece[k]);
                prev = ids[i];
            }
            printf("\n");
        }
        free(ids);
        free(scratch);
        free(text);
    }
    free(a.base);
    free(sec);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SECTION encode | - load\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[2], "classes") == 0) {
        uint32_t cp;
        for (cp = 0; cp <= 0x10FFFFu; cp++)
            putchar('0' + tok_unicode_class(cp));
        return 0;
    }
    if (strcmp(argv[2], "load") == 0)
        return run_load();
    return run_encode(argv[1]);
}
