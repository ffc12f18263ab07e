/* ee_kernel.h — EE kernel syscalls, interrupt control and cache helpers.
 *
 * Syscall numbers: sdk/kernel/syscallnr.h; stubs: sdk/kernel/syscalls.S.
 * Prototypes follow ps2sdk ee/kernel/include/kernel.h and israpps/ps2tek
 * PS2/BIOS/EE_Syscalls.md (REFERENCE.md §2).
 */
#ifndef PS2LLM_EE_KERNEL_H
#define PS2LLM_EE_KERNEL_H

#include <stdint.h>

/* Address aliases of main RAM (REFERENCE.md §1, TEK PS2/memory_maps.md). */
#define EE_UNCACHED(p) ((void *)((uintptr_t)(p) | 0x20000000u))
#define EE_PHYS(p) ((uint32_t)(uintptr_t)(p) & 0x1FFFFFFFu)
#define EE_RAM_SIZE (32u * 1024u * 1024u)

/* I/O register access (user mode writes them directly, REFERENCE.md §1). */
#define EE_REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

/* 64-bit registers (the GS privileged registers at 0x12000000, ps2sdk
 * common/include/gs_privileged.h) take one 64-bit `sd`; ps2sdk's own code can
 * write them as plain u64 because its ABI has 64-bit registers. Under the o32
 * ABI (Debian's gcc, -mabi=32) a volatile uint64_t store is two `sw`, and GAS
 * even expands an explicit `sd $r` into `sw $r; sw $r+1` (a register pair),
 * which wrote the low word into both halves (Play! GSHandler.cpp W_REG merges
 * each 32-bit half separately). So: `.set gp=64` makes GAS emit the real
 * MIPS III instructions, and the 64-bit value is built and stored inside one
 * asm block (no compiler code in between; interrupts save the full registers:
 * Play! PS2OS.cpp ThreadSaveContext, ps2sdk's kernel with `sq`). Only scratch
 * registers hold 64-bit values; the C inputs stay sign-extended 32-bit values. */
static inline void ee_write64(uint32_t addr, uint64_t v)
{
    uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32), t0, t1;
    __asm__ volatile(".set push\n\t"
                     ".set gp=64\n\t"
                     "dsll32 %[t0], %[hi], 0\n\t" /* t0 = hi << 32 */
                     "dsll32 %[t1], %[lo], 0\n\t"
                     "dsrl32 %[t1], %[t1], 0\n\t" /* t1 = lo, zero-extended */
                     "or     %[t0], %[t0], %[t1]\n\t"
                     "sd     %[t0], 0(%[a])\n\t"
                     ".set pop"
                     : [t0] "=&r"(t0), [t1] "=&r"(t1)
                     : [hi] "r"(hi), [lo] "r"(lo), [a] "r"(addr)
                     : "memory");
}

/* One 64-bit `ld`, split into two 32-bit halves (same reasons as above). */
static inline uint64_t ee_read64(uint32_t addr)
{
    uint32_t lo, hi;
    __asm__ volatile(".set push\n\t"
                     ".set gp=64\n\t"
                     "ld     %[lo], 0(%[a])\n\t"
                     "dsra32 %[hi], %[lo], 0\n\t" /* high word, sign-extended */
                     "sll    %[lo], %[lo], 0\n\t" /* low word, sign-extended */
                     ".set pop"
                     : [lo] "=&r"(lo), [hi] "=&r"(hi)
                     : [a] "r"(addr)
                     : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* SIF DMA transfer descriptor for SifSetDma (REFERENCE.md §3). */
typedef struct {
    uint32_t src;  /* EE address, 16-byte aligned */
    uint32_t dest; /* IOP address */
    uint32_t size; /* bytes, rounded up to quadwords by the DMAC */
    uint32_t attr; /* SIF_DMA_* */
} sif_dma_transfer;

#define SIF_DMA_INT_I 0x02
#define SIF_DMA_INT_O 0x04
#define SIF_DMA_ERT 0x40

typedef int (*dmac_handler_fn)(int channel);

/* Syscalls (kernel/syscalls.S). */
int ResetEE(uint32_t flags);
void SetGsCrt(int16_t interlace, int16_t mode, int16_t ffmd);
void Exit(int status) __attribute__((noreturn));
int AddIntcHandler(int cause, int (*handler)(int), int next);
int RemoveIntcHandler(int cause, int id);
int AddDmacHandler(int channel, dmac_handler_fn handler, int next);
int RemoveDmacHandler(int channel, int id);
int _EnableIntc(int cause);
int _DisableIntc(int cause);
int _EnableDmac(int channel);
int _DisableDmac(int channel);
void *SetupThread(void *gp, void *stack, int stack_size, void *args, void *root);
void *SetupHeap(void *start, int size);
void *EndOfHeap(void);
void FlushCache(int mode);
/* GsPutIMR's argument and result are 64-bit registers in the kernel; o32 passes
 * a uint64_t in a0:a1 and returns one in v0:v1, so only the low word is
 * declared (IMR bits 8-14 are the masks, ps2sdk gs_privileged.h). */
uint32_t GsPutIMR(uint32_t imr);
int SifDmaStat(uint32_t id);
int iSifDmaStat(uint32_t id);
uint32_t SifSetDma(const sif_dma_transfer *list, int n);
uint32_t iSifSetDma(const sif_dma_transfer *list, int n);
void SifSetDChain(void);
void iSifSetDChain(void);
int SifSetReg(uint32_t reg, uint32_t value);
uint32_t SifGetReg(uint32_t reg);
int Deci2Call(int fn, uint32_t *param);
uint32_t GetMemorySize(void);

/* Interrupts (kernel/kernel.c). ee_intr_disable returns whether they were on. */
int ee_intr_disable(void);
void ee_intr_enable(void);
void ee_intr_restore(int was_enabled);
int ee_enable_dmac(int channel);

/* D-cache maintenance on [p, p+size) (kernel/kernel.c): write back dirty lines
 * and invalidate them, so the CPU next reads what DMA put in memory. */
void ee_dcache_writeback_invalidate(const void *p, uint32_t size);
void ee_dcache_writeback_all(void);

#endif
