/* act_vu0.h — the activation quantizer's two loops on the EE (templates/quantize.c.jinja,
 * docs/KERNELS.md "The quantizer on VU0"): max |x| on VU0, and the rounding of
 * x * inv to int16 on VU0 with MMI for the sign and the packing, 8 floats a trip.
 * PS2LLM_VU0 (vu0.h) is 1 only when compiling for the EE (-march=r5900) without
 * -DPS2LLM_NO_MMI; everywhere else nothing here is compiled and the quantizer is C.
 *
 * Lane by lane these give the C twin's values:
 *   amax = max |x_i|           vabs, vmax; then vmaxy/z/w into lane x. A maximum
 *                              is exact whatever the order (-0 counts as +0 in both).
 *   v = x_i * inv              vmulx: one rounding, as C's.
 *   q = trunc(min(|v| + 0.5, LEVELS)) with v's sign
 *                              vabs, vaddy, vminiz, vftoi0 (truncates toward zero),
 *                              then qmfc2, psraw 31 (s = -1 where v's sign bit is set),
 *                              pxor, psubw: (q ^ s) - s.
 *   C computes trunc(v + copysign(0.5, v)) and clamps it to +-LEVELS. The same: a sum
 *   of a sign and magnitude rounds symmetrically (round to nearest, and the EE's
 *   round toward zero), truncation is symmetric, and |v| + 0.5 >= LEVELS truncates
 *   to LEVELS either way (LEVELS is an integer). ppach packs the low halfwords of
 *   the 8 words (|q| <= LEVELS < 2^15) into the 8 int16 of xq; sq stores them.
 * Sources: PCSX2 pcsx2/VUops.cpp (_vuABS, _vuMAX, _vuMINIbc, _vuMULbc, _vuADDbc,
 * _vuFTOI0), pcsx2/MMI.cpp (PSRAW, PXOR, PSUBW, PPACH); Play! Source/ee/VUShared.cpp,
 * MA_EE.cpp. Only caller-saved $8-$11 hold 128-bit values (mmi.h); every asm block
 * sets the VF registers it reads (vu0.h). */
#ifndef PS2LLM_ACT_VU0_H
#define PS2LLM_ACT_VU0_H

#include <stdint.h>
#include <string.h>

#include "vu0.h"

#if PS2LLM_VU0

/* max |x_i| over n floats (n a multiple of 8 >= 8, x 16-byte aligned) */
static inline float ps2llm_act_amax(const float *x, uint32_t n)
{
    const float *end = x + n;
    union { uint32_t u; float f; } amax;
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        "vsub.xyzw   $vf3, $vf0, $vf0\n"        /* running maxima: +0 */
        "1:\n\t"
        "lqc2        $vf1, 0(%[x])\n\t"
        "lqc2        $vf2, 16(%[x])\n\t"
        "vabs.xyzw   $vf1, $vf1\n\t"
        "vabs.xyzw   $vf2, $vf2\n\t"
        "vmax.xyzw   $vf3, $vf3, $vf1\n\t"
        "vmax.xyzw   $vf3, $vf3, $vf2\n\t"
        "addiu       %[x], %[x], 32\n\t"
        "bne         %[x], %[end], 1b\n\t"
        "nop\n\t"
        "vmaxy.x     $vf3, $vf3, $vf3y\n\t"
        "vmaxz.x     $vf3, $vf3, $vf3z\n\t"
        "vmaxw.x     $vf3, $vf3, $vf3w\n\t"
        "qmfc2       $8, $vf3\n\t"
        "move        %[m], $8\n\t"
        ".set pop"
        : [m] "=r"(amax.u), [x] "+r"(x)
        : [end] "r"(end)
        : "$8", "memory");
    return amax.f;
}

/* xq_i = the rounding above of x_i * inv, i < n (n a multiple of 8 >= 8; x, xq
 * 16-byte aligned); c = (inv, 0.5, LEVELS, 0), 16-byte aligned. */
static inline void ps2llm_act_round(int16_t *xq, const float *x, const float *c, uint32_t n)
{
    const float *end = x + n;
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        "lqc2        $vf4, 0(%[c])\n"
        "1:\n\t"
        "lqc2        $vf1, 0(%[x])\n\t"
        "lqc2        $vf2, 16(%[x])\n\t"
        "vmulx.xyzw  $vf1, $vf1, $vf4x\n\t"     /* v = x * inv */
        "vmulx.xyzw  $vf2, $vf2, $vf4x\n\t"
        "qmfc2       $8, $vf1\n\t"              /* v's sign bits */
        "qmfc2       $9, $vf2\n\t"
        "vabs.xyzw   $vf1, $vf1\n\t"
        "vabs.xyzw   $vf2, $vf2\n\t"
        "vaddy.xyzw  $vf1, $vf1, $vf4y\n\t"     /* |v| + 0.5 */
        "vaddy.xyzw  $vf2, $vf2, $vf4y\n\t"
        "vminiz.xyzw $vf1, $vf1, $vf4z\n\t"     /* at most LEVELS */
        "vminiz.xyzw $vf2, $vf2, $vf4z\n\t"
        "vftoi0.xyzw $vf1, $vf1\n\t"            /* truncated */
        "vftoi0.xyzw $vf2, $vf2\n\t"
        "qmfc2       $10, $vf1\n\t"
        "qmfc2       $11, $vf2\n\t"
        "psraw       $8, $8, 31\n\t"            /* s = -1 where v < 0 (or -0) */
        "psraw       $9, $9, 31\n\t"
        "pxor        $10, $10, $8\n\t"          /* (q ^ s) - s */
        "pxor        $11, $11, $9\n\t"
        "psubw       $10, $10, $8\n\t"
        "psubw       $11, $11, $9\n\t"
        "ppach       $10, $11, $10\n\t"         /* 8 words -> 8 halfwords, in order */
        "addiu       %[x], %[x], 32\n\t"
        "sq          $10, 0(%[xq])\n\t"
        "bne         %[x], %[end], 1b\n\t"
        "addiu       %[xq], %[xq], 16\n\t"
        ".set pop"
        : [x] "+r"(x), [xq] "+r"(xq)
        : [c] "r"(c), [end] "r"(end)
        : "$8", "$9", "$10", "$11", "memory");
}

/* The quantizer (templates/quantize.c.jinja): xq from x (n a multiple of 8 >= 8; x, xq
 * 16-byte aligned) with values in +-levels; returns the vector's scale, amax / levels. */
static inline float ps2llm_act_quantize(int16_t *xq, const float *x, uint32_t n, float levels)
{
    float c[4] __attribute__((aligned(16)));
    const float amax = ps2llm_act_amax(x, n);
    if (amax == 0.0f) {
        memset(xq, 0, n * sizeof(int16_t));
        return 0.0f;
    }
    c[0] = levels / amax;
    c[1] = 0.5f;
    c[2] = levels;
    c[3] = 0.0f;
    ps2llm_act_round(xq, x, c, n);
    return amax / levels;
}

#endif
#endif
