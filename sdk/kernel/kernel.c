/* kernel.c — interrupt enable/disable and D-cache maintenance for the EE.
 *
 * Sources: REFERENCE.md §2 (di/ei, the `di` race), §3 and §9 (caches);
 * ps2sdk ee/kernel/src/glue.c:19-38 (DI loop), kernel.S:698-823 (DHWBIN and
 * index-op loops, 64-byte lines, 64 sets x 2 ways = 8 KB). The kernel's
 * initial Status has EDI and CU0 set (REFERENCE.md §9), so `ei`/`di` and
 * `cache` are legal in user mode.
 */
#include "ee_kernel.h"

#define STATUS_EIE 0x10000u /* COP0 Status bit 16 */

static uint32_t _status(void)
{
    uint32_t s;
    __asm__ volatile("mfc0 %0, $12" : "=r"(s));
    return s;
}

int ee_intr_disable(void)
{
    int was = (_status() & STATUS_EIE) != 0;
    /* `di` can be overtaken by a pending interrupt: repeat until EIE reads 0
     * (ps2sdk glue.c:19-38). */
    while (_status() & STATUS_EIE)
        __asm__ volatile("di\n\tsync.p" ::: "memory");
    return was;
}

void ee_intr_enable(void)
{
    __asm__ volatile("ei" ::: "memory");
}

void ee_intr_restore(int was_enabled)
{
    if (was_enabled)
        ee_intr_enable();
}

int ee_enable_dmac(int channel)
{
    int was = ee_intr_disable();
    int r = _EnableDmac(channel);
    __asm__ volatile("sync.l" ::: "memory");
    ee_intr_restore(was);
    return r;
}

#define DCACHE_LINE 64u
#define DCACHE_SIZE 8192u
#define DCACHE_SETS_BYTES 4096u /* 64 sets x 64 bytes per way */

void ee_dcache_writeback_all(void)
{
    /* DXWBIN (0x14) on every set of both ways: address bits 6-11 pick the
     * set, bit 0 the way (ps2sdk kernel.S opDCache). */
    for (uint32_t a = 0; a < DCACHE_SETS_BYTES; a += DCACHE_LINE) {
        __asm__ volatile("sync.l\n\tcache 0x14, 0(%0)\n\tsync.l\n\t"
                         "cache 0x14, 1(%0)\n\tsync.l" ::"r"(a)
                         : "memory");
    }
}

void ee_dcache_writeback_invalidate(const void *p, uint32_t size)
{
    uint32_t seg = (uint32_t)(uintptr_t)p >> 28;
    if (size == 0 || seg == 2u || seg == 3u)
        return; /* uncached (0x2...) or uncached-accelerated (0x3...) alias */
    if (size >= DCACHE_SIZE) {
        /* Cheaper to write back and invalidate the whole 8 KB cache. */
        ee_dcache_writeback_all();
        return;
    }
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(DCACHE_LINE - 1);
    uintptr_t end = (uintptr_t)p + size;
    for (; a < end; a += DCACHE_LINE) /* DHWBIN (0x18) */
        __asm__ volatile("sync.l\n\tcache 0x18, 0(%0)\n\tsync.l" ::"r"(a) : "memory");
}
