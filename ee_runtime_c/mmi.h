/* mmi.h — the R5900 MMI dot product of the q8 matvec kernels (docs/KERNELS.md).
 * kernels.gen.c includes it before each q8 kernel that has an MMI variant
 * (templates/matvec_mmi.c.jinja). PS2LLM_MMI is 1 only when compiling for the EE
 * (-march=r5900) without -DPS2LLM_NO_MMI; everywhere else nothing here is compiled. */
#ifndef PS2LLM_MMI_H
#define PS2LLM_MMI_H

#include <stdint.h>

#if defined(_MIPS_ARCH_R5900) && !defined(PS2LLM_NO_MMI)
#define PS2LLM_MMI 1
#else
#define PS2LLM_MMI 0
#endif
#if PS2LLM_MMI
#if defined(__has_attribute) && __has_attribute(retain)
#define PS2LLM_KEEP __attribute__((used, retain))
#else
#define PS2LLM_KEEP __attribute__((used))
#endif

/* sum of w[i] * x[i] over i < 16 * n (n >= 1) in int32, 16 columns a trip:
 * w (int8) and x (int16) 16-byte aligned. lq loads 128 bits; pextlb/pextub
 * interleave the low/high 8 weight bytes with themselves (halfword i = b_i:b_i),
 * psrah 8 leaves b_i sign-extended; pmaddh multiplies 8 halfword pairs and adds
 * the products into 8 int32 lanes of HI and LO (zeroed by pmthi/pmtlo), which
 * pmfhi/pmflo + paddw/pcpyud/prot3w sum at the end. Every product and partial sum
 * is exact in int32, so the result equals the C loop's whatever the lane order:
 * |w| <= 127, |x| <= 4095 (ACT_LEVELS) and a group has at most 4096 (MAX_GROUP)
 * columns (model/quant.py, docs/FORMAT.md), so |sum| <= 4096 * 127 * 4095 < 2^31.
 * Only caller-saved $8-$11 hold 128-bit values: the o32 callee saves only 32 bits. */
static inline int32_t q8_dot_mmi(const int8_t *w, const int16_t *x, uint32_t n)
{
    int32_t acc;
    const int8_t *end = w + 16u * n;
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        "pmthi  $0\n\t"
        "pmtlo  $0\n"
        "1:\n\t"
        "lq     $8, 0(%[w])\n\t"
        "lq     $9, 0(%[x])\n\t"
        "lq     $10, 16(%[x])\n\t"
        "pextlb $11, $8, $8\n\t"
        "pextub $8, $8, $8\n\t"
        "psrah  $11, $11, 8\n\t"
        "psrah  $8, $8, 8\n\t"
        "addiu  %[w], %[w], 16\n\t"
        "pmaddh $0, $11, $9\n\t"
        "pmaddh $0, $8, $10\n\t"
        "bne    %[w], %[end], 1b\n\t"
        "addiu  %[x], %[x], 32\n\t"
        "pmfhi  $8\n\t"
        "pmflo  $9\n\t"
        "paddw  $8, $8, $9\n\t"
        "pcpyud $9, $8, $8\n\t"
        "paddw  $8, $8, $9\n\t"
        "prot3w $9, $8\n\t"
        "addu   %[acc], $8, $9\n\t"
        ".set pop"
        : [acc] "=r"(acc), [w] "+r"(w), [x] "+r"(x)
        : [end] "r"(end)
        : "$8", "$9", "$10", "$11", "hi", "lo", "memory");
    return acc;
}
#endif

#endif
