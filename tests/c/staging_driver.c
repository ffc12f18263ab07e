/* staging_driver.c — stage_rows (ee_runtime_c/staging.c) over the host's
 * scratchpad (sdk/sim/scratch_sim.c) against the same rows read in place.
 * usage: staging_driver STRIDE N_ROWS OFFSET
 * A fake kernel hashes each row's bytes into out[] and records where its rows
 * came from. Prints "staged CALLS" or "in-place CALLS" and exits 0 when every
 * output equals the in-place one; exits 1 on a mismatch or a misplaced call. */
#include <stdio.h>
#include <stdlib.h>

#include "hal.h"
#include "staging.h"

static uint32_t g_stride;
static uint32_t g_calls, g_in_scratch, g_max_rows;

static float no_prepare(int16_t *xq, const float *x)
{
    (void)xq;
    (void)x;
    return 0.0f;
}

static void hash_rows(float *out, const void *w, const float *x, const int16_t *xq, float xs, uint32_t n)
{
    const uint8_t *p = (const uint8_t *)w;
    const uint8_t *scratch = (const uint8_t *)hal_scratch();
    uint32_t r, i;
    (void)x;
    (void)xq;
    (void)xs;
    g_calls++;
    g_in_scratch += p >= scratch && p + (size_t)n * g_stride <= scratch + HAL_SCRATCH_BYTES;
    if (n > g_max_rows)
        g_max_rows = n;
    for (r = 0; r < n; r++, p += g_stride) {
        uint32_t h = 2166136261u;     /* FNV-1a over the row */
        for (i = 0; i < g_stride; i++)
            h = (h ^ p[i]) * 16777619u;
        out[r] = (float)(h >> 8);
    }
}

int main(int argc, char **argv)
{
    uint32_t n_rows, offset, r;
    uint8_t *mem, *base;
    float *staged, *direct;
    MatmulKernel k = { no_prepare, hash_rows, 0, 0 };
    if (argc != 4)
        return 2;
    g_stride = (uint32_t)strtoul(argv[1], NULL, 10);
    n_rows = (uint32_t)strtoul(argv[2], NULL, 10);
    offset = (uint32_t)strtoul(argv[3], NULL, 10);
    k.n_rows = n_rows;
    k.row_stride = g_stride;
    mem = malloc((size_t)n_rows * g_stride + offset + 64);
    staged = malloc((n_rows + 1) * sizeof(float));
    direct = malloc((n_rows + 1) * sizeof(float));
    if (!mem || !staged || !direct)
        return 2;
    base = mem + (64u - (uintptr_t)mem % 64u) % 64u + offset;
    for (r = 0; r < n_rows * g_stride; r++)
        base[r] = (uint8_t)(r * 2654435761u >> 24);
    hash_rows(direct, base, NULL, NULL, 0.0f, n_rows);
    g_calls = g_in_scratch = g_max_rows = 0;
    stage_rows(&k, staged, base, NULL, NULL, 0.0f, n_rows);
    for (r = 0; r < n_rows; r++)
        if (staged[r] != direct[r]) {
            printf("row %u differs\n", r);
            return 1;
        }
    if (g_in_scratch != 0 && (g_in_scratch != g_calls || g_max_rows * g_stride > HAL_SCRATCH_BYTES / 2)) {
        printf("%u of %u calls read the scratchpad, up to %u rows\n", g_in_scratch, g_calls, g_max_rows);
        return 1;
    }
    printf("%s %u\n", g_in_scratch ? "staged" : "in-place", g_calls);
    free(mem);
    free(staged);
    free(direct);
    return 0;
}
