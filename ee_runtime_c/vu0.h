/* vu0.h — the VU0 macro mode loops of the attention kernels (attention.c,
 * docs/KERNELS.md). PS2LLM_VU0 is mmi.h's PS2LLM_MMI: 1 only when compiling for the
 * EE (-march=r5900) without -DPS2LLM_NO_MMI; everywhere else nothing here is compiled.
 *
 * In macro mode the EE core issues VU0 instructions itself as COP2: lqc2/sqc2 move
 * 128 bits between memory and a VF register, qmtc2/qmfc2 between a GPR and a VF
 * register; vadd/vmul/vmadd act on the lanes their dest field names (.xyzw, .x),
 * the bc forms (vaddy, vmulx, ...) use one lane of ft for every lane, and the A forms
 * (vmadda, vsuba) write the accumulator ACC instead of fd: vmadda ACC += fs * ft.
 * VF0 always reads (0, 0, 0, 1). Sources: PCSX2 pcsx2/VU0.cpp (LQC2, SQC2, QMFC2,
 * QMTC2), pcsx2/VUops.cpp (_vuMADDA, _vuADDy, _vuMULx, ...); Play! Source/ee/COP_VU.cpp
 * and VUShared.cpp; the VU User's Manual (macro instructions) and EE Core Instruction
 * Set Manual (COP2). GCC knows neither VF registers nor ACC: each asm block below
 * sets every VF register and ACC it reads, and nothing else in the runtime uses VU0,
 * so there is nothing to declare clobbered. */
#ifndef PS2LLM_VU0_H
#define PS2LLM_VU0_H

#include <stdint.h>

#include "mmi.h"

#define PS2LLM_VU0 PS2LLM_MMI
#if PS2LLM_VU0

/* The loops take 8 floats a trip (two quadwords: a trip of one would be 6
 * instructions, which the R5900 short-loop erratum concerns, binutils -mfix-r5900),
 * from 16-byte aligned addresses (lqc2/sqc2 move aligned quadwords). */
static inline int vu0_fits(const void *a, const void *b, uint32_t n)
{
    return n > 0 && n % 8u == 0 && (((uintptr_t)a | (uintptr_t)b) & 15u) == 0;
}

/* q · k over n floats (vu0_fits), as attention.c's att_dot: lane j of ACC sums the
 * products of elements i = j mod 4 in order of i, from +0; then x = ((x + y) + z) + w.
 * vmadda rounds the product, then the sum (PCSX2 _vuMADDA), as C's s += q * k does
 * with -ffp-contract=off. The result leaves VU0 through $8, caller-saved (qmfc2
 * writes all 128 bits; the o32 callee saves only 32, mmi.h). */
static inline float vu0_dot(const float *q, const float *k, uint32_t n)
{
    const float *end = q + n;
    union { uint32_t u; float f; } dot;
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        "vsuba.xyzw  $ACC, $vf0, $vf0\n"       /* ACC = +0 in every lane */
        "1:\n\t"
        "lqc2        $vf1, 0(%[q])\n\t"
        "lqc2        $vf2, 0(%[k])\n\t"
        "lqc2        $vf3, 16(%[q])\n\t"
        "lqc2        $vf4, 16(%[k])\n\t"
        "vmadda.xyzw $ACC, $vf1, $vf2\n\t"     /* ACC.j += q[i+j] * k[i+j] */
        "vmadda.xyzw $ACC, $vf3, $vf4\n\t"     /* ACC.j += q[i+4+j] * k[i+4+j] */
        "addiu       %[q], %[q], 32\n\t"
        "bne         %[q], %[end], 1b\n\t"
        "addiu       %[k], %[k], 32\n\t"
        "vmaddx.xyzw $vf5, $vf0, $vf0x\n\t"    /* vf5 = ACC + 0 * 0: ACC into a register */
        "vaddy.x     $vf5, $vf5, $vf5y\n\t"    /* x = x + y */
        "vaddz.x     $vf5, $vf5, $vf5z\n\t"    /* x = (x + y) + z */
        "vaddw.x     $vf5, $vf5, $vf5w\n\t"    /* x = ((x + y) + z) + w */
        "qmfc2       $8, $vf5\n\t"
        "move        %[dot], $8\n\t"
        ".set pop"
        : [dot] "=r"(dot.u), [q] "+r"(q), [k] "+r"(k)
        : [end] "r"(end)
        : "$8", "memory");
    return dot.f;
}

/* o[i] += a * v[i] over n floats (vu0_fits for o and v): the product rounded, then
 * the sum, lane by lane (PCSX2 _vuMULx, _vuADD), as C's o[i] += a * v[i]. qmtc2 sets
 * all four lanes of vf5 from the GPR holding a; only lane x is read (vmulx). */
static inline void vu0_axpy(float *o, float a, const float *v, uint32_t n)
{
    const float *end = v + n;
    union { float f; uint32_t u; } bits = { a };
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        "qmtc2       %[a], $vf5\n"
        "1:\n\t"
        "lqc2        $vf1, 0(%[o])\n\t"
        "lqc2        $vf2, 0(%[v])\n\t"
        "lqc2        $vf3, 16(%[o])\n\t"
        "lqc2        $vf4, 16(%[v])\n\t"
        "vmulx.xyzw  $vf2, $vf2, $vf5x\n\t"    /* a * v[i..i+3] */
        "vmulx.xyzw  $vf4, $vf4, $vf5x\n\t"
        "vadd.xyzw   $vf1, $vf1, $vf2\n\t"     /* o[i..i+3] + a * v[i..i+3] */
        "vadd.xyzw   $vf3, $vf3, $vf4\n\t"
        "sqc2        $vf1, 0(%[o])\n\t"
        "sqc2        $vf3, 16(%[o])\n\t"
        "addiu       %[v], %[v], 32\n\t"
        "bne         %[v], %[end], 1b\n\t"
        "addiu       %[o], %[o], 32\n\t"
        ".set pop"
        : [o] "+r"(o), [v] "+r"(v)
        : [a] "r"(bits.u), [end] "r"(end)
        : "memory");
}
#endif

#endif
