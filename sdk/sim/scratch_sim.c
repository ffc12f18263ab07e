/* scratch_sim.c — hal.h's scratchpad for the ports without one (host, linux-mips):
 * a static buffer, and a fill that copies at once. The runtime's staging code runs
 * unchanged over it, so the tests exercise its chunking on every port. */
#include <string.h>

#include "hal.h"

static uint8_t s_scratch[HAL_SCRATCH_BYTES] __attribute__((aligned(64)));

void *hal_scratch(void)
{
    return s_scratch;
}

void hal_scratch_sync(void)
{
}

void hal_scratch_fill(void *dst, const void *src, uint32_t bytes)
{
    memcpy(dst, src, bytes);
}

void hal_scratch_wait(void)
{
}
