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
 * Set Manual (COP2). GCC knows neither VF registers nor ACC and never touches them,
 * so there is nothing to declare clobbered; an asm block reads only VF registers
 * (and ACC) that it sets itself or that an earlier asm block of the same function
 * set with no call in between (attention.c's kernels hold the query heads and the
 * outputs in VF registers across their asm blocks: a kernel calls nothing). */
#ifndef PS2LLM_VU0_H
#define PS2LLM_VU0_H

#include <stdint.h>

#include "mmi.h"

#define PS2LLM_VU0 PS2LLM_MMI
#if PS2LLM_VU0

/* Every VU0 kernel reads its vectors from 16-byte aligned addresses (lqc2/sqc2 move
 * aligned quadwords) by octets of 8 floats. vu0_dot and vu0_axpy below stream both
 * vectors from memory, 8 floats a trip (a trip of one quadword would be 6
 * instructions, which the R5900 short-loop erratum concerns, binutils -mfix-r5900):
 * attention.c uses them for heads wider than its register-held kernels reach. */
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
/* ---- the register-held loops (attention.c's att_scores_vu0_* / att_values_vu0_*) ----
 *
 * A head is handled by octets: octet p is floats 8p .. 8p+7, two quadwords (offsets
 * p*32 and p*32+16). The register map, fixed for every head_dim:
 *   first head (query or output) of a kernel: octet p in vf(1+2p), vf(2+2p), p < 8
 *   second head of a pair:                    octet p in vf(9+2p), vf(10+2p), p < 4
 *   scores of a pair: the key, octet p in     vf(17+2p), vf(18+2p), p < 4
 *   scores of one head: the key streamed through vf17, vf18
 *   values: the value streamed through vf17, vf18; products in vf19, vf20 (first
 *           head of a pair), vf17, vf18 (the other head)
 *   scores: a dot product's 4 lanes in vf25 (first head), vf26 (second); the 4
 *           positions of a trip, one lane each, in vf27, vf28; the scale in
 *           vf29 lane x; 1.0 in vf30 (all lanes)
 *   values: the weights of the first head in vf29, of the second in vf30 (4
 *           positions: lanes x, y, z, w; one position: lane x)
 * so one head holds up to 64 floats (16 registers), a pair up to 32 each. */
#define VU0_A_0 "$vf1"
#define VU0_A_1 "$vf3"
#define VU0_A_2 "$vf5"
#define VU0_A_3 "$vf7"
#define VU0_A_4 "$vf9"
#define VU0_A_5 "$vf11"
#define VU0_A_6 "$vf13"
#define VU0_A_7 "$vf15"
#define VU0_B_0 "$vf2"
#define VU0_B_1 "$vf4"
#define VU0_B_2 "$vf6"
#define VU0_B_3 "$vf8"
#define VU0_B_4 "$vf10"
#define VU0_B_5 "$vf12"
#define VU0_B_6 "$vf14"
#define VU0_B_7 "$vf16"
#define VU0_C_0 "$vf9"
#define VU0_C_1 "$vf11"
#define VU0_C_2 "$vf13"
#define VU0_C_3 "$vf15"
#define VU0_D_0 "$vf10"
#define VU0_D_1 "$vf12"
#define VU0_D_2 "$vf14"
#define VU0_D_3 "$vf16"
#define VU0_KA_0 "$vf17"
#define VU0_KA_1 "$vf19"
#define VU0_KA_2 "$vf21"
#define VU0_KA_3 "$vf23"
#define VU0_KB_0 "$vf18"
#define VU0_KB_1 "$vf20"
#define VU0_KB_2 "$vf22"
#define VU0_KB_3 "$vf24"

/* VU0_REP(n, F, x): F(0, x) F(1, x) ... F(n-1, x), n a literal 0..8 */
#define VU0_REP(n, F, x) VU0_REP_(n, F, x)
#define VU0_REP_(n, F, x) VU0_REP##n(F, x)
#define VU0_REP0(F, x)
#define VU0_REP1(F, x) F(0, x)
#define VU0_REP2(F, x) VU0_REP1(F, x) F(1, x)
#define VU0_REP3(F, x) VU0_REP2(F, x) F(2, x)
#define VU0_REP4(F, x) VU0_REP3(F, x) F(3, x)
#define VU0_REP5(F, x) VU0_REP4(F, x) F(4, x)
#define VU0_REP6(F, x) VU0_REP5(F, x) F(5, x)
#define VU0_REP7(F, x) VU0_REP6(F, x) F(6, x)
#define VU0_REP8(F, x) VU0_REP7(F, x) F(7, x)

/* octet p of a head at base into two registers; and back */
#define VU0_LQ(ra, rb, p, base) \
    "lqc2 " ra ", " #p "*32(%[" base "])\n\t" "lqc2 " rb ", " #p "*32+16(%[" base "])\n\t"
#define VU0_SQ(ra, rb, p, base) \
    "sqc2 " ra ", " #p "*32(%[" base "])\n\t" "sqc2 " rb ", " #p "*32+16(%[" base "])\n\t"
#define VU0_LQ_H0(p, base) VU0_LQ(VU0_A_##p, VU0_B_##p, p, base)
#define VU0_LQ_H1(p, base) VU0_LQ(VU0_C_##p, VU0_D_##p, p, base)
#define VU0_SQ_H0(p, base) VU0_SQ(VU0_A_##p, VU0_B_##p, p, base)
#define VU0_SQ_H1(p, base) VU0_SQ(VU0_C_##p, VU0_D_##p, p, base)

/* Scores. A dot product as vu0_dot's: ACC = +0, ACC.j += q.j * k.j over the
 * quadwords in order, the last product added by vmadd into vf25 (vf26) instead of
 * ACC: fd = ACC + fs * ft, the same two roundings as vmadda. */
#define VU0_ACC0 "vsuba.xyzw $ACC, $vf0, $vf0\n\t"
#define VU0_MADDA(q, k) "vmadda.xyzw $ACC, " q ", " k "\n\t"
#define VU0_LQ_K(p, _) VU0_LQ(VU0_KA_##p, VU0_KB_##p, p, "kv")
#define VU0_DOT_H0(p, _) VU0_MADDA(VU0_A_##p, VU0_KA_##p) VU0_MADDA(VU0_B_##p, VU0_KB_##p)
#define VU0_DOT_H1(p, _) VU0_MADDA(VU0_C_##p, VU0_KA_##p) VU0_MADDA(VU0_D_##p, VU0_KB_##p)
#define VU0_DOT_H0_LAST(p) VU0_MADDA(VU0_A_##p, VU0_KA_##p) "vmadd.xyzw $vf25, " VU0_B_##p ", " VU0_KB_##p "\n\t"
#define VU0_DOT_H1_LAST(p) VU0_MADDA(VU0_C_##p, VU0_KA_##p) "vmadd.xyzw $vf26, " VU0_D_##p ", " VU0_KB_##p "\n\t"
/* one head, the key streamed */
#define VU0_DOT1(p, _) VU0_LQ("$vf17", "$vf18", p, "kv") VU0_MADDA(VU0_A_##p, "$vf17") VU0_MADDA(VU0_B_##p, "$vf18")
#define VU0_DOT1_LAST(p) \
    VU0_LQ("$vf17", "$vf18", p, "kv") VU0_MADDA(VU0_A_##p, "$vf17") "vmadd.xyzw $vf25, " VU0_B_##p ", $vf18\n\t"

/* The lanes of a dot product d into lane L of s as ((x + y) + z) + w: lanes x and y
 * start from d's own lane (d.y + d.x is x + y: IEEE addition commutes); lanes z and w
 * first copy d.x by a product with 1.0 (exact, -0 kept): vf30 = 1, vf0.w = 1. */
#define VU0_SUM_x(s, d) \
    "vaddy.x " s ", " d ", " d "y\n\t" "vaddz.x " s ", " s ", " d "z\n\t" "vaddw.x " s ", " s ", " d "w\n\t"
#define VU0_SUM_y(s, d) \
    "vaddx.y " s ", " d ", " d "x\n\t" "vaddz.y " s ", " s ", " d "z\n\t" "vaddw.y " s ", " s ", " d "w\n\t"
#define VU0_SUM_z(s, d) "vmulx.z " s ", $vf30, " d "x\n\t" \
    "vaddy.z " s ", " s ", " d "y\n\t" "vaddz.z " s ", " s ", " d "z\n\t" "vaddw.z " s ", " s ", " d "w\n\t"
#define VU0_SUM_w(s, d) "vmulx.w " s ", $vf0, " d "x\n\t" \
    "vaddy.w " s ", " s ", " d "y\n\t" "vaddz.w " s ", " s ", " d "z\n\t" "vaddw.w " s ", " s ", " d "w\n\t"
#define VU0_SUM(L, s, d) VU0_SUM_##L(s, d)

/* Values: o += a * v, the product rounded, then the sum (vu0_axpy's operations),
 * a = lane L of vf29 (first head), vf30 (second head). */
#define VU0_AXPY2(p, L) VU0_LQ("$vf17", "$vf18", p, "kv") \
    "vmul" #L ".xyzw $vf19, $vf17, $vf29" #L "\n\t" "vmul" #L ".xyzw $vf20, $vf18, $vf29" #L "\n\t" \
    "vmul" #L ".xyzw $vf17, $vf17, $vf30" #L "\n\t" "vmul" #L ".xyzw $vf18, $vf18, $vf30" #L "\n\t" \
    "vadd.xyzw " VU0_A_##p ", " VU0_A_##p ", $vf19\n\t" "vadd.xyzw " VU0_B_##p ", " VU0_B_##p ", $vf20\n\t" \
    "vadd.xyzw " VU0_C_##p ", " VU0_C_##p ", $vf17\n\t" "vadd.xyzw " VU0_D_##p ", " VU0_D_##p ", $vf18\n\t"
#define VU0_AXPY1(p, L) VU0_LQ("$vf17", "$vf18", p, "kv") \
    "vmul" #L ".xyzw $vf17, $vf17, $vf29" #L "\n\t" "vmul" #L ".xyzw $vf18, $vf18, $vf29" #L "\n\t" \
    "vadd.xyzw " VU0_A_##p ", " VU0_A_##p ", $vf17\n\t" "vadd.xyzw " VU0_B_##p ", " VU0_B_##p ", $vf18\n\t"
#endif

#endif
