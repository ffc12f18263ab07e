/* mmi.h — the R5900 MMI dot products of the q8, q4, q4m and ternary matvec kernels
 * (docs/KERNELS.md). kernels.gen.c includes it before each kernel that has an MMI
 * variant (templates/matvec_mmi.c.jinja). PS2LLM_MMI is 1 only when compiling for the EE
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

/* Always inlined: the loop must sit in the kernel's _rows function, where model/cost.py
 * counts it, and GCC would keep the long ternary asm out of line. */
#define PS2LLM_MMI_INLINE static inline __attribute__((always_inline))

/* The end of every dot product below: the 8 int32 lanes pmaddh added into (LO words
 * 0-3 and HI words 0-3) summed into %[acc]: pmfhi/pmflo copy HI/LO out, paddw adds
 * them lane by lane, pcpyud brings words 2,3 down onto 0,1, and prot3w (d = t.w1,
 * t.w2, t.w0, t.w3) puts word 1 in word 0 for the last addu. Uses $8, $9. */
#define PS2LLM_MMI_SUM_HILO \
        "pmfhi  $8\n\t" \
        "pmflo  $9\n\t" \
        "paddw  $8, $8, $9\n\t" \
        "pcpyud $9, $8, $8\n\t" \
        "paddw  $8, $8, $9\n\t" \
        "prot3w $9, $8\n\t" \
        "addu   %[acc], $8, $9\n\t"

/* One block of q8_dot_mmi: 16 int8 weights at W+WO against 16 int16 activations at
 * X+XO, into HI/LO; A-D are four caller-saved GPRs. lq loads 128 bits; pextlb/pextub
 * interleave the low/high 8 weight bytes with themselves (halfword i = b_i:b_i),
 * psrah 8 leaves b_i sign-extended; pmaddh multiplies 8 halfword pairs and adds the
 * products into 8 int32 lanes of HI and LO. */
#define PS2LLM_Q8_BLOCK(WO, XO, A, B, C, D) \
        "lq     " A ", " #WO "(%[w])\n\t" \
        "lq     " B ", " #XO "(%[x])\n\t" \
        "lq     " C ", 16+" #XO "(%[x])\n\t" \
        "pextlb " D ", " A ", " A "\n\t" \
        "pextub " A ", " A ", " A "\n\t" \
        "psrah  " D ", " D ", 8\n\t" \
        "psrah  " A ", " A ", 8\n\t" \
        "pmaddh $0, " D ", " B "\n\t" \
        "pmaddh $0, " A ", " C "\n\t"

/* sum of w[i] * x[i] over i < 16 * n (n >= 1, a constant where it is inlined) in
 * int32: w (int8) and x (int16) 16-byte aligned. A lone block of 16 columns when n is
 * odd, then a loop of two blocks a trip (the second in other registers, so the two
 * can overlap); the assembler's .if drops what n does not need. HI and LO (zeroed
 * by pmthi/pmtlo) hold 8 int32 lanes, which pmfhi/pmflo + paddw/pcpyud/prot3w sum
 * at the end. Every product and partial sum is exact in int32, so the result equals
 * the C loop's whatever the lane order: |w| <= 127, |x| <= 4095 (ACT_LEVELS) and a
 * group has at most 4096 (MAX_GROUP) columns (model/quant.py, docs/FORMAT.md), so
 * |sum| <= 4096 * 127 * 4095 < 2^31. Only caller-saved $8-$15 hold 128-bit values:
 * the o32 callee saves only 32 bits. */
PS2LLM_MMI_INLINE int32_t q8_dot_mmi(const int8_t *w, const int16_t *x, uint32_t n)
{
    int32_t acc;
    const int8_t *end = w + 16u * n;
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        "pmthi  $0\n\t"
        "pmtlo  $0\n\t"
        ".if %[odd]\n\t"
        PS2LLM_Q8_BLOCK(0, 0, "$8", "$9", "$10", "$11")
        "addiu  %[w], %[w], 16\n\t"
        "addiu  %[x], %[x], 32\n\t"
        ".endif\n\t"
        ".if %[pairs]\n"
        "1:\n\t"
        PS2LLM_Q8_BLOCK(0, 0, "$8", "$9", "$10", "$11")
        PS2LLM_Q8_BLOCK(16, 32, "$12", "$13", "$14", "$15")
        "addiu  %[w], %[w], 32\n\t"
        "bne    %[w], %[end], 1b\n\t"
        "addiu  %[x], %[x], 64\n\t"
        ".endif\n\t"
        PS2LLM_MMI_SUM_HILO
        ".set pop"
        : [acc] "=r"(acc), [w] "+r"(w), [x] "+r"(x)
        : [end] "r"(end), [odd] "i"(n & 1u), [pairs] "i"(n / 2u)
        : "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "hi", "lo", "memory");
    return acc;
}

/* q4 and q4m: sum of v[i] * x[i] over i < 32 * n (n >= 1) in int32, 32 columns (16
 * bytes, one lq) a trip; p and x 16-byte aligned. Byte b of p holds element 2b in its
 * low nibble and 2b+1 in its high nibble (docs/FORMAT.md). pextlb/pextub double the
 * bytes into halfwords (halfword i = b_i:b_i, as in q8_dot_mmi), so the high nibble of
 * b_i is bits 12-15 (a shift right by 12 gives element 2i+1) and, after a shift left by
 * 4, so is the low one (element 2i). SHR is that right shift: psrah sign-extends q4's
 * two's complement nibbles, psrlh zero-extends q4m's unsigned ones, the C twin's
 * (nib ^ 8) - 8 and nib. pextlh interleaves the two (d.h[2i] = rt.h[i] = element 2i,
 * d.h[2i+1] = rs.h[i] = element 2i+1, i < 4) into elements 0-7, pextuh (lanes 4-7) into
 * 8-15: the order of x's halfwords, which pmaddh multiplies lane by lane. |v| <= 15 and the sums are
 * smaller than q8's, so every lane is exact as there. Uses only caller-saved $8-$13. */
#define PS2LLM_NIBBLE_DOT_MMI(name, SHR) \
PS2LLM_MMI_INLINE int32_t name(const uint8_t *p, const int16_t *x, uint32_t n) \
{ \
    int32_t acc; \
    const uint8_t *end = p + 16u * n; \
    __asm__ volatile( \
        ".set push\n\t" \
        ".set noreorder\n\t" \
        "pmthi  $0\n\t" \
        "pmtlo  $0\n" \
        "1:\n\t" \
        "lq     $8, 0(%[p])\n\t"            /* elements 0-31 */ \
        "lq     $12, 0(%[x])\n\t" \
        "lq     $13, 16(%[x])\n\t" \
        "pextlb $9, $8, $8\n\t"             /* b_i:b_i, i = 0..7: elements 0-15 */ \
        "pextub $8, $8, $8\n\t"             /* i = 8..15: elements 16-31 */ \
        SHR "   $10, $9, 12\n\t"            /* lane i: element 2i + 1 */ \
        "psllh  $9, $9, 4\n\t" \
        SHR "   $9, $9, 12\n\t"             /* lane i: element 2i */ \
        "pextlh $11, $10, $9\n\t"           /* elements 0-7 */ \
        "pextuh $9, $10, $9\n\t"            /* elements 8-15 */ \
        "pmaddh $0, $11, $12\n\t" \
        "pmaddh $0, $9, $13\n\t" \
        "lq     $12, 32(%[x])\n\t" \
        "lq     $13, 48(%[x])\n\t" \
        SHR "   $10, $8, 12\n\t"            /* the same for elements 16-31 */ \
        "psllh  $8, $8, 4\n\t" \
        SHR "   $8, $8, 12\n\t" \
        "pextlh $11, $10, $8\n\t" \
        "pextuh $8, $10, $8\n\t" \
        "addiu  %[p], %[p], 16\n\t" \
        "pmaddh $0, $11, $12\n\t" \
        "pmaddh $0, $8, $13\n\t" \
        "bne    %[p], %[end], 1b\n\t" \
        "addiu  %[x], %[x], 64\n\t" \
        PS2LLM_MMI_SUM_HILO \
        ".set pop" \
        : [acc] "=r"(acc), [p] "+r"(p), [x] "+r"(x) \
        : [end] "r"(end) \
        : "$8", "$9", "$10", "$11", "$12", "$13", "hi", "lo", "memory"); \
    return acc; \
}
PS2LLM_NIBBLE_DOT_MMI(q4_dot_mmi, "psrah")
PS2LLM_NIBBLE_DOT_MMI(q4m_dot_mmi, "psrlh")

/* 32 ternary elements: halfword i of $9 is b_i:b_i (pextlb/pextub of the weights), whose
 * bits 8+2j, 9+2j hold the code of element 4i + j (docs/FORMAT.md: four codes a byte
 * from the low bits up). Shifting that field to bits 14-15 (psllh 6 - 2j) and back
 * arithmetically (psrah 14) gives s = 0, 1, -2, -1 for codes 00, 01, 10, 11; s - (s >> 1)
 * is then 0, +1, -1, 0: the C twin's (code & 1) - (code >> 1), for every code. That puts
 * element 4i + j in lane i of register j ($10-$13); pextlh/pextuh of registers 0, 1
 * give lanes (4i, 4i + 1) and of registers 2, 3 lanes (4i + 2, 4i + 3), and pextlw/pextuw
 * (d.w[2i] = t.w[i], d.w[2i+1] = s.w[i]) merge those pairs into elements 0-7, 8-15,
 * 16-23, 24-31, the order of the activations at X (byte offsets into x) they meet. */
#define PS2LLM_TERNARY_VALUE(r) \
        "psrah  $14, " r ", 1\n\t" \
        "psubh  " r ", " r ", $14\n\t"      /* s - (s >> 1) */
#define PS2LLM_TERNARY_32(X0, X1, X2, X3) \
        "psllh  $10, $9, 6\n\t"             /* j = 0: bits 8-9 to 14-15 */ \
        "psrah  $10, $10, 14\n\t" \
        PS2LLM_TERNARY_VALUE("$10") \
        "psllh  $11, $9, 4\n\t"             /* j = 1: bits 10-11 */ \
        "psrah  $11, $11, 14\n\t" \
        PS2LLM_TERNARY_VALUE("$11") \
        "psllh  $12, $9, 2\n\t"             /* j = 2: bits 12-13 */ \
        "psrah  $12, $12, 14\n\t" \
        PS2LLM_TERNARY_VALUE("$12") \
        "psrah  $13, $9, 14\n\t"            /* j = 3: bits 14-15 already */ \
        PS2LLM_TERNARY_VALUE("$13") \
        "pextlh $14, $11, $10\n\t"          /* 4i, 4i+1 for i = 0..3 */ \
        "pextuh $10, $11, $10\n\t"          /* i = 4..7 */ \
        "pextlh $11, $13, $12\n\t"          /* 4i+2, 4i+3 for i = 0..3 */ \
        "pextuh $12, $13, $12\n\t"          /* i = 4..7 */ \
        "lq     $15, " X0 "(%[x])\n\t" \
        "lq     $24, " X1 "(%[x])\n\t" \
        "pextlw $9, $11, $14\n\t"           /* elements 0-7 */ \
        "pextuw $13, $11, $14\n\t"          /* 8-15 */ \
        "pmaddh $0, $9, $15\n\t" \
        "pmaddh $0, $13, $24\n\t" \
        "lq     $15, " X2 "(%[x])\n\t" \
        "lq     $24, " X3 "(%[x])\n\t" \
        "pextlw $9, $12, $10\n\t"           /* 16-23 */ \
        "pextuw $13, $12, $10\n\t"          /* 24-31 */ \
        "pmaddh $0, $9, $15\n\t" \
        "pmaddh $0, $13, $24\n\t"

/* ternary: sum of v[i] * x[i] over i < 64 * n (n >= 1) in int32, 64 columns (16
 * bytes, one lq) a trip, 32 from the low 8 bytes and 32 from the high 8; p and x
 * 16-byte aligned; |v| <= 1. Uses only caller-saved $8-$15 and $24. */
PS2LLM_MMI_INLINE int32_t ternary_dot_mmi(const uint8_t *p, const int16_t *x, uint32_t n)
{
    int32_t acc;
    const uint8_t *end = p + 16u * n;
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        "pmthi  $0\n\t"
        "pmtlo  $0\n"
        "1:\n\t"
        "lq     $8, 0(%[p])\n\t"
        "pextlb $9, $8, $8\n\t"             /* bytes 0-7: elements 0-31 */
        PS2LLM_TERNARY_32("0", "16", "32", "48")
        "pextub $9, $8, $8\n\t"             /* bytes 8-15: elements 32-63 */
        PS2LLM_TERNARY_32("64", "80", "96", "112")
        "addiu  %[p], %[p], 16\n\t"
        "bne    %[p], %[end], 1b\n\t"
        "addiu  %[x], %[x], 128\n\t"
        PS2LLM_MMI_SUM_HILO
        ".set pop"
        : [acc] "=r"(acc), [p] "+r"(p), [x] "+r"(x)
        : [end] "r"(end)
        : "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$24", "hi", "lo", "memory");
    return acc;
}
#endif

#endif
