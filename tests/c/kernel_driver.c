/* kernel_driver.c — runs one generated kernel on data from stdin, writes the
 * result to stdout; tests/test_kernels.py builds it with kernel_table.h (its
 * list of kernels) against a generated kernels.gen.c and compares with numpy.
 *
 *   kernel_driver SYMBOL    stdin: the kernel's inputs, packed little-endian
 *                           stdout: its outputs */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.gen.h"
#include "mathf.h"

typedef enum { QUANTIZE, MATVEC_Q8, MATVEC_F32, MATVEC_F16, PROJECTION, EMBED, RMSNORM,
               ROPE, SOFTMAX, SILU, EXP, SINCOS } Kind;

typedef struct {
    const char *symbol;
    Kind kind;
    uint32_t rows, cols, row_bytes;   /* meaning depends on kind */
    void (*fn)(void);
} Entry;

#include "kernel_table.h"

static unsigned char *input;
static size_t input_len, input_pos;

static void *take(size_t n)
{
    void *p;
    if (input_pos + n > input_len) {
        fprintf(stderr, "kernel_driver: input too short\n");
        exit(3);
    }
    p = malloc(n ? n : 1);
    memcpy(p, input + input_pos, n);
    input_pos += n;
    return p;
}

static void give(const void *p, size_t n)
{
    fwrite(p, 1, n, stdout);
}

static void read_input(void)
{
    size_t cap = 1 << 20, got;
    input = malloc(cap);
    while ((got = fread(input + input_len, 1, cap - input_len, stdin)) > 0) {
        input_len += got;
        if (input_len == cap)
            input = realloc(input, cap *= 2);
    }
}

static void run(const Entry *e)
{
    uint32_t r = e->rows, c = e->cols;
    switch (e->kind) {
    case QUANTIZE: {
        float *x = take(4 * c);
        int16_t *q = malloc(2 * c);
        float xs = ((float (*)(int16_t *, const float *))e->fn)(q, x);
        give(q, 2 * c);
        give(&xs, 4);
        break;
    }
    case MATVEC_Q8: {
        uint8_t *w = take((size_t)r * e->row_bytes);
        int16_t *xq = take(2 * c);
        float *xs = take(4), *out = malloc(4 * r);
        ((void (*)(float *, const uint8_t *, const int16_t *, float))e->fn)(out, w, xq, *xs);
        give(out, 4 * r);
        break;
    }
    case MATVEC_F32: case MATVEC_F16: {
        void *w = take((size_t)r * e->row_bytes);
        float *x = take(4 * c), *out = malloc(4 * r);
        ((void (*)(float *, const void *, const float *))e->fn)(out, w, x);
        give(out, 4 * r);
        break;
    }
    case PROJECTION: {
        void *w = take((size_t)r * e->row_bytes);
        float *x = take(4 * c), *out = malloc(4 * r);
        int16_t *xq = malloc(2 * c);
        ((void (*)(float *, const void *, const float *, int16_t *))e->fn)(out, w, x, xq);
        give(out, 4 * r);
        break;
    }
    case EMBED: {   /* rows: table rows given; token follows the table */
        void *table = take((size_t)r * e->row_bytes);
        uint32_t *token = take(4);
        float *out = malloc(4 * c);
        ((void (*)(float *, const void *, uint32_t))e->fn)(out, table, *token);
        give(out, 4 * c);
        break;
    }
    case RMSNORM: {
        float *x = take(4 * c), *w = take(4 * c), *out = malloc(4 * c);
        ((void (*)(float *, const float *, const float *))e->fn)(out, x, w);
        give(out, 4 * c);
        break;
    }
    case ROPE: {    /* cols: head_dim; fn: rope; rows unused; angles via rope_angles */
        uint32_t *pos = take(4), *heads = take(4);
        float *x = take((size_t)4 * c * *heads), *cs = malloc(2 * c), *sn = malloc(2 * c);
        ROPE_ANGLES(cs, sn, *pos);
        ((void (*)(float *, uint32_t, const float *, const float *))e->fn)(x, *heads, cs, sn);
        give(x, (size_t)4 * c * *heads);
        break;
    }
    case SOFTMAX: {
        uint32_t *n = take(4);
        float *x = take(4 * *n);
        ((void (*)(float *, uint32_t))e->fn)(x, *n);
        give(x, 4 * *n);
        break;
    }
    case SILU: {
        float *g = take(4 * c), *u = take(4 * c);
        ((void (*)(float *, const float *))e->fn)(g, u);
        give(g, 4 * c);
        break;
    }
    case EXP: {
        uint32_t *n = take(4), i;
        float *x = take(4 * *n);
        for (i = 0; i < *n; i++)
            x[i] = mathf_exp(x[i]);
        give(x, 4 * *n);
        break;
    }
    case SINCOS: {  /* n angles -> n sines, then n cosines */
        uint32_t *n = take(4), i;
        float *x = take(4 * *n), *sn = malloc(4 * *n + 4), *cs = malloc(4 * *n + 4);
        for (i = 0; i < *n; i++)
            mathf_sincos(x[i], &sn[i], &cs[i]);
        give(sn, 4 * *n);
        give(cs, 4 * *n);
        break;
    }
    }
}

int main(int argc, char **argv)
{
    size_t i;
    if (argc != 2)
        return 2;
    read_input();
    for (i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        if (strcmp(entries[i].symbol, argv[1]) == 0) {
            run(&entries[i]);
            return 0;
        }
    }
    fprintf(stderr, "kernel_driver: no kernel %s\n", argv[1]);
    return 2;
}
