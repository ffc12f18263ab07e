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
#define EE_REG64(a) (*(volatile uint64_t *)(uintptr_t)(a))

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
uint64_t GsPutIMR(uint64_t imr);
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
