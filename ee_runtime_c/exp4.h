/* exp4.h — mathf_exp four lanes at a time on the EE: VU0 macro mode for the float
 * operations, MMI on 128-bit GPRs for the bits (docs/KERNELS.md, "exp on VU0"), and
 * the softmax and SiLU loops built on it (templates/softmax.c.jinja, silu.c.jinja).
 * PS2LLM_VU0 (vu0.h) is 1 only when compiling for the EE (-march=r5900) without
 * -DPS2LLM_NO_MMI; everywhere else nothing here is compiled and the kernels are C.
 *
 * Lane by lane these are mathf_exp's f32 operations, in its order (mathf.c):
 *   x = min(x, 88)                      vmini   (x > 88 ? 88 : x)
 *   xc = max(x, -87); d = xc - x        vmax, vsub: d > 0 exactly where x < -87
 *   y = xc * LOG2E                      vmul
 *   h = sign(y) | 0.5                   qmfc2, pand, por, qmtc2: y < 0 ? -0.5f : 0.5f
 *   k = (int32_t)(y + h)                vadd, vftoi0 (truncates toward zero)
 *   r = (xc - k * LN2_HI) - k * LN2_LO  vitof0, vmul, vsub, vmul, vsub
 *   p = 1 + r * (1 + r * (1/2 + ... + r * (1/720 + r * (1/5040))))
 *                                       vmul, vadd x 7, innermost first
 *   2^k = (k << 23) + (127 << 23)       qmfc2, psllw, paddw: (k + 127) << 23 mod 2^32
 *   2^k = 0 where d != 0                qmfc2, pceqw, pand (x < -87: mathf_exp is 0)
 *   e = p * 2^k                         qmtc2, vmul (p > 0, so +0 where 2^k is +0)
 * Where x < -87 mathf_exp returns +0 before computing anything; here the lane goes
 * on with xc = -87 (so every intermediate stays a normal float) and its 2^k is made
 * +0. y = -0 (x = -0) takes -0.5 here where C takes +0.5: both sums truncate to k = 0.
 * A product or sum is one rounding each (PCSX2 pcsx2/VUops.cpp _vuMUL, _vuADD, _vuSUB;
 * Play! Source/ee/VUShared.cpp), as C's with -ffp-contract=off. vmini/vmax compare
 * sign and magnitude (PCSX2 _MINI/_MAX; Play! MINI_base/MAX_base): the float order for
 * normal numbers and zeros. vftoi0 truncates, vitof0 converts (PCSX2 _vuFTOI0,
 * _vuITOF0; Play! FTOI0, ITOF0). pand/por/pceqw/paddw/psllw act on 4 words (PCSX2
 * pcsx2/MMI.cpp; Play! Source/ee/MA_EE.cpp PAND, POR, PCEQW, PADDW, PSLLW).
 *
 * Registers: the loops below take 8 floats a trip as two quadwords, A and B, whose
 * steps alternate so that one hides the other's VU latencies. Per quadword: input
 * $vf1 / $vf9 (min(x, 88) after the first step), xc $vf2 / $vf10, d $vf3 / $vf11,
 * y $vf4 / $vf12, k $vf5 / $vf13, temporaries $vf6 / $vf14, r $vf7 / $vf15, result
 * $vf8 / $vf16; GPR temporaries $8, $9 / $10, $11. Constants (PS2LLM_EXP_CONSTS):
 * $vf20-$vf23 and the 128-bit $13-$15. Only caller-saved GPRs hold 128-bit values
 * (the o32 callee saves 32 bits, mmi.h). Every asm block sets the VF registers it
 * reads (vu0.h); GCC knows neither VF registers nor Q. */
#ifndef PS2LLM_EXP4_H
#define PS2LLM_EXP4_H

#include <stdint.h>

#include "mathf.h"
#include "vu0.h"

#if PS2LLM_VU0

/* $vf20 = (88, -87, LOG2E, LN2_HI), $vf21 = (LN2_LO, 1/5040, 1/720, 1/120),
 * $vf22 = (1/24, 1/6, 1/2, 1), $vf23 = (-1, 80, 0, 0) for SiLU's -g and its clamp;
 * $13 = 0x80000000 (the sign), $14 = 0x3F000000 (0.5), $15 = 0x3F800000 (127 << 23),
 * in every word. The constants are mathf.h's, as mathf_exp's. */
static const struct {
    float vf[16];
    uint32_t gpr[12];
} ps2llm_exp_consts __attribute__((aligned(16))) = {
    { 88.0f, -87.0f, MATHF_LOG2E, MATHF_LN2_HI,
      MATHF_LN2_LO, MATHF_INV5040, MATHF_INV720, MATHF_INV120,
      MATHF_INV24, MATHF_INV6, MATHF_INV2, 1.0f,
      -1.0f, 80.0f, 0.0f, 0.0f },
    { 0x80000000u, 0x80000000u, 0x80000000u, 0x80000000u,
      0x3F000000u, 0x3F000000u, 0x3F000000u, 0x3F000000u,
      0x3F800000u, 0x3F800000u, 0x3F800000u, 0x3F800000u },
};

#define PS2LLM_EXP_CONSTS \
        "lqc2        $vf20, 0(%[c])\n\t" \
        "lqc2        $vf21, 16(%[c])\n\t" \
        "lqc2        $vf22, 32(%[c])\n\t" \
        "lqc2        $vf23, 48(%[c])\n\t" \
        "lq          $13, 64(%[c])\n\t" \
        "lq          $14, 80(%[c])\n\t" \
        "lq          $15, 96(%[c])\n\t"

/* e = mathf_exp(x) for the 8 floats of $vf1 (A) and $vf9 (B), into $vf8 and $vf16. */
#define PS2LLM_EXP8_CORE \
        "vminix.xyzw $vf1, $vf1, $vf20x\n\t"    /* x = min(x, 88) */ \
        "vminix.xyzw $vf9, $vf9, $vf20x\n\t" \
        "vmaxy.xyzw  $vf2, $vf1, $vf20y\n\t"    /* xc = max(x, -87) */ \
        "vmaxy.xyzw  $vf10, $vf9, $vf20y\n\t" \
        "vmulz.xyzw  $vf4, $vf2, $vf20z\n\t"    /* y = xc * LOG2E */ \
        "vmulz.xyzw  $vf12, $vf10, $vf20z\n\t" \
        "vsub.xyzw   $vf3, $vf2, $vf1\n\t"      /* d = xc - x: +0 unless x < -87 */ \
        "vsub.xyzw   $vf11, $vf10, $vf9\n\t" \
        "qmfc2       $8, $vf4\n\t" \
        "qmfc2       $10, $vf12\n\t" \
        "pand        $8, $8, $13\n\t"           /* the sign of y */ \
        "pand        $10, $10, $13\n\t" \
        "por         $8, $8, $14\n\t"           /* h = y < 0 ? -0.5 : 0.5 */ \
        "por         $10, $10, $14\n\t" \
        "qmtc2       $8, $vf6\n\t" \
        "qmtc2       $10, $vf14\n\t" \
        "vadd.xyzw   $vf4, $vf4, $vf6\n\t"      /* y + h */ \
        "vadd.xyzw   $vf12, $vf12, $vf14\n\t" \
        "vftoi0.xyzw $vf5, $vf4\n\t"            /* k = (int32_t)(y + h) */ \
        "vftoi0.xyzw $vf13, $vf12\n\t" \
        "vitof0.xyzw $vf6, $vf5\n\t"            /* (float)k */ \
        "vitof0.xyzw $vf14, $vf13\n\t" \
        "vmulw.xyzw  $vf7, $vf6, $vf20w\n\t"    /* k * LN2_HI */ \
        "vmulw.xyzw  $vf15, $vf14, $vf20w\n\t" \
        "vsub.xyzw   $vf7, $vf2, $vf7\n\t"      /* xc - k * LN2_HI */ \
        "vsub.xyzw   $vf15, $vf10, $vf15\n\t" \
        "vmulx.xyzw  $vf6, $vf6, $vf21x\n\t"    /* k * LN2_LO */ \
        "vmulx.xyzw  $vf14, $vf14, $vf21x\n\t" \
        "vsub.xyzw   $vf7, $vf7, $vf6\n\t"      /* r */ \
        "vsub.xyzw   $vf15, $vf15, $vf14\n\t" \
        "qmfc2       $8, $vf5\n\t"              /* k in 4 words */ \
        "qmfc2       $10, $vf13\n\t" \
        "vmuly.xyzw  $vf8, $vf7, $vf21y\n\t"    /* p = r * 1/5040 */ \
        "vmuly.xyzw  $vf16, $vf15, $vf21y\n\t" \
        "psllw       $8, $8, 23\n\t"            /* k << 23 */ \
        "psllw       $10, $10, 23\n\t" \
        "vaddz.xyzw  $vf8, $vf8, $vf21z\n\t"    /* 1/720 + p */ \
        "vaddz.xyzw  $vf16, $vf16, $vf21z\n\t" \
        "paddw       $8, $8, $15\n\t"           /* + (127 << 23): the bits of 2^k */ \
        "paddw       $10, $10, $15\n\t" \
        "vmul.xyzw   $vf8, $vf8, $vf7\n\t"      /* r * p */ \
        "vmul.xyzw   $vf16, $vf16, $vf15\n\t" \
        "qmfc2       $9, $vf3\n\t" \
        "qmfc2       $11, $vf11\n\t" \
        "vaddw.xyzw  $vf8, $vf8, $vf21w\n\t"    /* 1/120 + p */ \
        "vaddw.xyzw  $vf16, $vf16, $vf21w\n\t" \
        "pceqw       $9, $9, $0\n\t"            /* all ones where d = +0 (x >= -87) */ \
        "pceqw       $11, $11, $0\n\t" \
        "vmul.xyzw   $vf8, $vf8, $vf7\n\t" \
        "vmul.xyzw   $vf16, $vf16, $vf15\n\t" \
        "pand        $8, $8, $9\n\t"            /* 2^k, or +0 where x < -87 */ \
        "pand        $10, $10, $11\n\t" \
        "vaddx.xyzw  $vf8, $vf8, $vf22x\n\t"    /* 1/24 + p */ \
        "vaddx.xyzw  $vf16, $vf16, $vf22x\n\t" \
        "qmtc2       $8, $vf6\n\t" \
        "qmtc2       $10, $vf14\n\t" \
        "vmul.xyzw   $vf8, $vf8, $vf7\n\t" \
        "vmul.xyzw   $vf16, $vf16, $vf15\n\t" \
        "vaddy.xyzw  $vf8, $vf8, $vf22y\n\t"    /* 1/6 + p */ \
        "vaddy.xyzw  $vf16, $vf16, $vf22y\n\t" \
        "vmul.xyzw   $vf8, $vf8, $vf7\n\t" \
        "vmul.xyzw   $vf16, $vf16, $vf15\n\t" \
        "vaddz.xyzw  $vf8, $vf8, $vf22z\n\t"    /* 1/2 + p */ \
        "vaddz.xyzw  $vf16, $vf16, $vf22z\n\t" \
        "vmul.xyzw   $vf8, $vf8, $vf7\n\t" \
        "vmul.xyzw   $vf16, $vf16, $vf15\n\t" \
        "vaddw.xyzw  $vf8, $vf8, $vf22w\n\t"    /* 1 + p */ \
        "vaddw.xyzw  $vf16, $vf16, $vf22w\n\t" \
        "vmul.xyzw   $vf8, $vf8, $vf7\n\t" \
        "vmul.xyzw   $vf16, $vf16, $vf15\n\t" \
        "vaddw.xyzw  $vf8, $vf8, $vf22w\n\t"    /* 1 + p */ \
        "vaddw.xyzw  $vf16, $vf16, $vf22w\n\t" \
        "vmul.xyzw   $vf8, $vf8, $vf6\n\t"      /* e = p * 2^k */ \
        "vmul.xyzw   $vf16, $vf16, $vf14\n\t"

/* sum += e[0], ..., e[7] one at a time in lane x of $vf25: the C loop's order */
#define PS2LLM_EXP8_SUM \
        "vaddx.x     $vf25, $vf25, $vf8x\n\t" \
        "vaddy.x     $vf25, $vf25, $vf8y\n\t" \
        "vaddz.x     $vf25, $vf25, $vf8z\n\t" \
        "vaddw.x     $vf25, $vf25, $vf8w\n\t" \
        "vaddx.x     $vf25, $vf25, $vf16x\n\t" \
        "vaddy.x     $vf25, $vf25, $vf16y\n\t" \
        "vaddz.x     $vf25, $vf25, $vf16z\n\t" \
        "vaddw.x     $vf25, $vf25, $vf16w\n\t"

/* softmax's exp and sum: x[i] = mathf_exp(x[i] - max) for x <= &x[i] < end, then for
 * the 8 floats of tail when has_tail (already minus max; -1000 in the lanes past the
 * end, which give exactly +0), sum += each result in order of i from +0. Returns
 * the sum. x and tail 16-byte aligned, end - x a multiple of 8 floats. The sum of
 * a padding lane adds +0 to a sum that is +0 or positive: no change. */
PS2LLM_MMI_INLINE float ps2llm_softmax_exp(float *x, const float *end, float max,
                                           float *tail, uint32_t has_tail)
{
    float sum;
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        PS2LLM_EXP_CONSTS
        "mfc1        $8, %[max]\n\t"
        "qmtc2       $8, $vf24\n\t"              /* lane x: max */
        "vsub.xyzw   $vf25, $vf0, $vf0\n\t"     /* sum = +0 (lane x; all lanes set for qmfc2) */
        "beq         %[x], %[end], 2f\n\t"
        "nop\n"
        "1:\n\t"
        "lqc2        $vf1, 0(%[x])\n\t"
        "lqc2        $vf9, 16(%[x])\n\t"
        "vsubx.xyzw  $vf1, $vf1, $vf24x\n\t"    /* x[i] - max */
        "vsubx.xyzw  $vf9, $vf9, $vf24x\n\t"
        PS2LLM_EXP8_CORE
        "sqc2        $vf8, 0(%[x])\n\t"
        "sqc2        $vf16, 16(%[x])\n\t"
        PS2LLM_EXP8_SUM
        "addiu       %[x], %[x], 32\n\t"
        "bne         %[x], %[end], 1b\n\t"
        "nop\n"
        "2:\n\t"
        "beq         %[has_tail], $0, 3f\n\t"
        "nop\n\t"
        "lqc2        $vf1, 0(%[tail])\n\t"
        "lqc2        $vf9, 16(%[tail])\n\t"
        PS2LLM_EXP8_CORE
        "sqc2        $vf8, 0(%[tail])\n\t"
        "sqc2        $vf16, 16(%[tail])\n\t"
        PS2LLM_EXP8_SUM
        "3:\n\t"
        "qmfc2       $8, $vf25\n\t"
        "mtc1        $8, %[sum]\n\t"
        ".set pop"
        : [sum] "=f"(sum), [x] "+r"(x)
        : [end] "r"(end), [max] "f"(max), [tail] "r"(tail), [has_tail] "r"(has_tail),
          [c] "r"(&ps2llm_exp_consts)
        : "$8", "$9", "$10", "$11", "$13", "$14", "$15", "memory");
    return sum;
}

/* One lane of SiLU's quotient: O.L = G.L * (1 / D.L), the quotient rounded first
 * (VU0's Q register: vdiv Q = fs.fsf / ft.ftf, vwaitq until Q is written, vmulq
 * fd = fs * Q; PCSX2 _vuDIV, _vuMULq; Play! DIV, WAITQ, MULq). 1.0 is $vf0's w. */
#define PS2LLM_SILU_LANE(O, G, D, L) \
        "vdiv        $Q, $vf0w, " D L "\n\t" \
        "vwaitq\n\t" \
        "vmulq." L "      " O ", " G ", $Q\n\t"

/* gate[i] = (g * (1 / (1 + mathf_exp(min(-g, 80))))) * up[i], g = gate[i], for
 * gate <= &gate[i] < end (a positive multiple of 8 floats): the SiLU kernel's C,
 * operation for operation. gate and up 16-byte aligned. -g is g * -1 (exact, -0 for
 * +0 as in C); min(-g, 80) is C's `if (t > 80) t = 80`. */
PS2LLM_MMI_INLINE void ps2llm_silu_mul(float *gate, const float *up, const float *end)
{
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        PS2LLM_EXP_CONSTS
        "1:\n\t"
        "lqc2        $vf17, 0(%[g])\n\t"
        "lqc2        $vf18, 16(%[g])\n\t"
        "vmulx.xyzw  $vf1, $vf17, $vf23x\n\t"   /* t = -g */
        "vmulx.xyzw  $vf9, $vf18, $vf23x\n\t"
        "vminiy.xyzw $vf1, $vf1, $vf23y\n\t"    /* t = min(t, 80) */
        "vminiy.xyzw $vf9, $vf9, $vf23y\n\t"
        PS2LLM_EXP8_CORE
        "vaddw.xyzw  $vf8, $vf8, $vf0w\n\t"     /* 1 + exp(t) */
        "vaddw.xyzw  $vf16, $vf16, $vf0w\n\t"
        PS2LLM_SILU_LANE("$vf19", "$vf17", "$vf8", "x")
        PS2LLM_SILU_LANE("$vf19", "$vf17", "$vf8", "y")
        PS2LLM_SILU_LANE("$vf19", "$vf17", "$vf8", "z")
        PS2LLM_SILU_LANE("$vf19", "$vf17", "$vf8", "w")
        PS2LLM_SILU_LANE("$vf26", "$vf18", "$vf16", "x")
        PS2LLM_SILU_LANE("$vf26", "$vf18", "$vf16", "y")
        PS2LLM_SILU_LANE("$vf26", "$vf18", "$vf16", "z")
        PS2LLM_SILU_LANE("$vf26", "$vf18", "$vf16", "w")
        "lqc2        $vf6, 0(%[up])\n\t"
        "lqc2        $vf14, 16(%[up])\n\t"
        "vmul.xyzw   $vf19, $vf19, $vf6\n\t"    /* (g * (1 / (1 + e))) * up */
        "vmul.xyzw   $vf26, $vf26, $vf14\n\t"
        "sqc2        $vf19, 0(%[g])\n\t"
        "sqc2        $vf26, 16(%[g])\n\t"
        "addiu       %[g], %[g], 32\n\t"
        "bne         %[g], %[end], 1b\n\t"
        "addiu       %[up], %[up], 32\n\t"
        ".set pop"
        : [g] "+r"(gate), [up] "+r"(up)
        : [end] "r"(end), [c] "r"(&ps2llm_exp_consts)
        : "$8", "$9", "$10", "$11", "$13", "$14", "$15", "memory");
}
#endif

#endif
