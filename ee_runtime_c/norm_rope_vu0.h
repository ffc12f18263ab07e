/* norm_rope_vu0.h — RMSNorm's scaling loop and RoPE's rotation on VU0 in macro mode
 * (templates/rmsnorm.c.jinja, templates/rope.c.jinja; docs/KERNELS.md "RMSNorm and
 * RoPE on VU0"). PS2LLM_VU0 (vu0.h) is 1 only when compiling for the EE
 * (-march=r5900) without -DPS2LLM_NO_MMI; everywhere else nothing here is compiled and
 * both kernels are C.
 *
 * Lane by lane these are the C twins' f32 operations in the C's order, each rounded
 * once (vmul, vmulx, vadd, vsub: PCSX2 pcsx2/VUops.cpp _vuMUL, _vuMULx, _vuADD,
 * _vuSUB; Play! Source/ee/VUShared.cpp), as C computes them with -ffp-contract=off:
 *   RMSNorm   out_i = (x_i * inv) * w_i       vmulx by inv's lane x, then vmul by w
 *   RoPE      a' = a * c - b * s              vmul, vmul, vsub (fs - ft)
 *             b' = b * c + a * s              vmul, vmul, vadd
 * RMSNorm's sum of squares stays the C's sequential loop (its order is the result).
 * Only VF registers are written (GCC never touches them, vu0.h); every asm block
 * sets the VF registers it reads. Vectors are 16-byte aligned (lqc2/sqc2). */
#ifndef PS2LLM_NORM_ROPE_VU0_H
#define PS2LLM_NORM_ROPE_VU0_H

#include <stdint.h>

#include "vu0.h"

#if PS2LLM_VU0

/* out[i] = (x[i] * inv) * w[i], i < n (n a positive multiple of 8; out, x, w 16-byte
 * aligned; out may be x): 8 floats a trip, two quadwords. qmtc2 sets lane x of vf5
 * from the GPR holding inv's bits (the other lanes are not read: vmulx). */
PS2LLM_MMI_INLINE void ps2llm_rmsnorm_scale(float *out, const float *x, const float *w,
                                            float inv, uint32_t n)
{
    const float *end = x + n;
    union { float f; uint32_t u; } bits = { inv };
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        "qmtc2       %[inv], $vf5\n"
        "1:\n\t"
        "lqc2        $vf1, 0(%[x])\n\t"
        "lqc2        $vf2, 16(%[x])\n\t"
        "lqc2        $vf3, 0(%[w])\n\t"
        "lqc2        $vf4, 16(%[w])\n\t"
        "vmulx.xyzw  $vf1, $vf1, $vf5x\n\t"     /* x * inv */
        "vmulx.xyzw  $vf2, $vf2, $vf5x\n\t"
        "vmul.xyzw   $vf1, $vf1, $vf3\n\t"      /* (x * inv) * w */
        "vmul.xyzw   $vf2, $vf2, $vf4\n\t"
        "sqc2        $vf1, 0(%[o])\n\t"
        "sqc2        $vf2, 16(%[o])\n\t"
        "addiu       %[x], %[x], 32\n\t"
        "addiu       %[w], %[w], 32\n\t"
        "bne         %[x], %[end], 1b\n\t"
        "addiu       %[o], %[o], 32\n\t"
        ".set pop"
        : [o] "+r"(out), [x] "+r"(x), [w] "+r"(w)
        : [inv] "r"(bits.u), [end] "r"(end)
        : "memory");
}

/* RoPE on one quadword, in steps: a = v[k..k+3] at byte offset A of v, b at offset B =
 * A + 4 * half, c and s at offset C of the cos and sin tables (into registers va, vb,
 * vc, vs); the products into p1-p4; the sums into p1 and p3, stored back over a and
 * b. A loop trip takes two quadwords step by step, so that their products overlap. */
#define PS2LLM_ROPE_LOAD(A, B, C, va, vb, vc, vs)                        \
    "lqc2        " va ", " A "(%[v])\n\t"                                \
    "lqc2        " vb ", " B "(%[v])\n\t"                                \
    "lqc2        " vc ", " C "(%[c])\n\t"                                \
    "lqc2        " vs ", " C "(%[s])\n\t"
#define PS2LLM_ROPE_MUL(va, vb, vc, vs, p1, p2, p3, p4)                  \
    "vmul.xyzw   " p1 ", " va ", " vc "\n\t"     /* a * c */              \
    "vmul.xyzw   " p2 ", " vb ", " vs "\n\t"     /* b * s */              \
    "vmul.xyzw   " p3 ", " vb ", " vc "\n\t"     /* b * c */              \
    "vmul.xyzw   " p4 ", " va ", " vs "\n\t"     /* a * s */
#define PS2LLM_ROPE_SUM(p1, p2, p3, p4)                                  \
    "vsub.xyzw   " p1 ", " p1 ", " p2 "\n\t"     /* a * c - b * s */      \
    "vadd.xyzw   " p3 ", " p3 ", " p4 "\n\t"     /* b * c + a * s */
#define PS2LLM_ROPE_STORE(A, B, p1, p3)                                  \
    "sqc2        " p1 ", " A "(%[v])\n\t"                                \
    "sqc2        " p3 ", " B "(%[v])\n\t"

/* One head of RoPE in place, rotate-half layout: for i < half (a multiple of 4 and a
 * constant where it is inlined), v[i], v[i + half] <- v[i] c - v[i + half] s,
 * v[i + half] c + v[i] s with c = cos[i], s = sin[i]; v, cos, sin 16-byte aligned.
 * A loop of 8 pairs a trip (two quadwords, in other registers so that they overlap)
 * when half is a multiple of 8, else of 4 pairs a trip (one quadword, 16
 * instructions); the assembler's .if keeps the one that half needs. */
PS2LLM_MMI_INLINE void ps2llm_rope_head(float *v, const float *cos_in, const float *sin_in,
                                        uint32_t half)
{
    const float *end = cos_in + half;
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        ".if %[octets]\n"
        "1:\n\t"
        PS2LLM_ROPE_LOAD("0", "%[b0]", "0", "$vf1", "$vf2", "$vf3", "$vf4")
        PS2LLM_ROPE_LOAD("16", "%[b1]", "16", "$vf5", "$vf6", "$vf7", "$vf8")
        PS2LLM_ROPE_MUL("$vf1", "$vf2", "$vf3", "$vf4", "$vf9", "$vf10", "$vf11", "$vf12")
        PS2LLM_ROPE_MUL("$vf5", "$vf6", "$vf7", "$vf8", "$vf13", "$vf14", "$vf15", "$vf16")
        PS2LLM_ROPE_SUM("$vf9", "$vf10", "$vf11", "$vf12")
        PS2LLM_ROPE_SUM("$vf13", "$vf14", "$vf15", "$vf16")
        PS2LLM_ROPE_STORE("0", "%[b0]", "$vf9", "$vf11")
        PS2LLM_ROPE_STORE("16", "%[b1]", "$vf13", "$vf15")
        "addiu       %[c], %[c], 32\n\t"
        "addiu       %[s], %[s], 32\n\t"
        "bne         %[c], %[end], 1b\n\t"
        "addiu       %[v], %[v], 32\n\t"
        ".else\n"
        "1:\n\t"
        PS2LLM_ROPE_LOAD("0", "%[b0]", "0", "$vf1", "$vf2", "$vf3", "$vf4")
        PS2LLM_ROPE_MUL("$vf1", "$vf2", "$vf3", "$vf4", "$vf9", "$vf10", "$vf11", "$vf12")
        PS2LLM_ROPE_SUM("$vf9", "$vf10", "$vf11", "$vf12")
        PS2LLM_ROPE_STORE("0", "%[b0]", "$vf9", "$vf11")
        "addiu       %[c], %[c], 16\n\t"
        "addiu       %[s], %[s], 16\n\t"
        "bne         %[c], %[end], 1b\n\t"
        "addiu       %[v], %[v], 16\n\t"
        ".endif\n\t"
        ".set pop"
        : [v] "+r"(v), [c] "+r"(cos_in), [s] "+r"(sin_in)
        : [end] "r"(end), [b0] "i"(4u * half), [b1] "i"(4u * half + 16u),
          [octets] "i"(half % 8u == 0u)
        : "memory");
}

#endif
#endif
