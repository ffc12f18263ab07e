/* forward_driver.c — the runtime's forward pass on its own: loads the model as
 * app.c does (disc image or bare PSNT, CRCs checked, the plan's arena cap, so
 * streamed tensors stream here too), runs the given token ids
 * through forward() at positions 0, 1, 2, ... and writes each position's logits
 * (vocab_size f32, native byte order) to stdout. tests/test_runtime.py and
 * tests/test_smollm2.py compare them with model/reference.py's, bit for bit.
 *
 *   forward_driver DISC TOKEN...
 * Exit status: 0, 1 on a load error (message on stderr), 2 on bad arguments. */
#include <stdio.h>
#include <stdlib.h>

#include "forward.h"
#include "hal.h"
#include "iso9660.h"
#include "status.h"

static Arena arena;
static Psnt psnt;
static Weights weights;
static RunState state;

static void fail(status_t st, const StatusDetail *d)
{
    fprintf(stderr, "forward_driver: %s: %s [status %d]\n", status_message(st), d->subject, st);
    exit(1);
}

int main(int argc, char **argv)
{
    StatusDetail d = { "", 0, 0, 0 };
    uint32_t lba, size, pos;
    size_t mem_size;
    void *mem;
    status_t st;
    if (argc < 3 || (uint32_t)(argc - 2) > MODEL_CONTEXT) {
        fprintf(stderr, "usage: forward_driver DISC TOKEN... (at most %u tokens)\n", MODEL_CONTEXT);
        return 2;
    }
    if (hal_init(argv[1]) != HAL_OK) {
        fprintf(stderr, "forward_driver: cannot open %s\n", argv[1]);
        return 1;
    }
    mem = hal_memory(&mem_size);
    if (MODEL_ARENA_BYTES && mem_size > MODEL_ARENA_BYTES)
        mem_size = MODEL_ARENA_BYTES;
    arena_init(&arena, mem, mem_size);
    st = iso_find_file("MODEL.PSN", &lba, &size);
    if (st != HAL_OK)
        fail(status_fail_plain(&d, st, "MODEL.PSN"), &d);
    st = psnt_open(&psnt, lba, size, &arena, &d);
    if (st == ST_OK)
        st = model_load(&weights, &psnt, &arena, &d);
    if (st == ST_OK)
        st = run_state_init(&state, &arena, &d);
    if (st != ST_OK)
        fail(st, &d);
    for (pos = 0; pos < (uint32_t)(argc - 2); pos++) {
        char *end;
        unsigned long token = strtoul(argv[pos + 2], &end, 10);
        const float *logits;
        if (*end || end == argv[pos + 2] || token >= MODEL_VOCAB_SIZE) {
            fprintf(stderr, "forward_driver: bad token id %s\n", argv[pos + 2]);
            return 2;
        }
        state.more_tokens = pos + 1 < (uint32_t)(argc - 2);
        logits = forward(&weights, &state, (uint32_t)token, pos);
        if (!logits)
            fail(state.status, &state.detail);
        fwrite(logits, sizeof(float), MODEL_VOCAB_SIZE, stdout);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
