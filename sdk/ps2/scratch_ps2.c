/* scratch_ps2.c — hal.h's scratchpad on the PS2: the EE's 16 KB scratchpad RAM at
 * 0x70000000 (TEK PS2/memory_maps.md; Play! Source/ee/Ee_SubSystem.cpp maps
 * EE_SPR_ADDR there), filled by DMA channel 9 (toSPR) in normal mode:
 *   D9_CHCR 0x1000D400, D9_MADR 0x1000D410 (RAM source, physical), D9_QWC 0x1000D420
 *   (quadwords), D9_SADR 0x1000D480 (scratchpad offset) (TEK PS2/DMAC/IO.md; Play!
 *   Source/ee/DMAC.h D9_*, DMAC.cpp ReceiveDMA9); CHCR bit 8 (STR) starts the
 *   transfer and clears when it ends; D_CTRL bit 0 (DMAE, set by gs_video_init)
 *   enables the DMAC.
 * The DMAC moves a quadword per bus cycle (147.456 MHz) on the EE's internal bus
 * while the CPU computes from the other half of the scratchpad, which the CPU
 * reads in one cycle without the D-cache (EE Core User's Manual §6.4 via the
 * frno7/linux SPRAM notes). */
#include "ee_kernel.h"
#include "hal.h"

#define SPR_BASE 0x70000000u
#define D9_CHCR 0x1000D400u
#define D9_MADR 0x1000D410u
#define D9_QWC 0x1000D420u
#define D9_SADR 0x1000D480u
#define CHCR_STR 0x100u

void *hal_scratch(void)
{
    return (void *)(uintptr_t)SPR_BASE;
}

void hal_scratch_sync(void)
{
    ee_dcache_writeback_all();
}

void hal_scratch_fill(void *dst, const void *src, uint32_t bytes)
{
    hal_scratch_wait();
    EE_REG32(D9_MADR) = EE_PHYS(src);
    EE_REG32(D9_SADR) = (uint32_t)(uintptr_t)dst - SPR_BASE;
    EE_REG32(D9_QWC) = bytes / 16u;
    EE_REG32(D9_CHCR) = CHCR_STR; /* normal mode, start */
}

void hal_scratch_wait(void)
{
    while (EE_REG32(D9_CHCR) & CHCR_STR)
        ;
}
