/* ee_fpu.h — EE FPU instructions whose R5900 encoding GAS gets wrong.
 *
 * SQRT.S: the EE reads its operand from the ft field (bits 16-20) — the EE
 * Core Instruction Set Manual's "SQRT.S fd, ft"; PCSX2 pcsx2/FPU.cpp SQRT_S
 * and Play! Source/COP_FPU.cpp SQRT_S both take ft, and ran-j/PS2Recomp
 * PR #218 fixed the same mistake in a recompiler. Standard MIPS reads fs
 * (bits 11-15) and leaves ft 0, and that is what binutils 2.40 emits for
 * `sqrt.s` even with -march=r5900 (and what GCC emits for __builtin_sqrtf):
 * on the EE such an instruction takes the square root of $f0, whatever that
 * holds. (GAS does use the EE encodings of c.lt.s/c.le.s and trunc.w.s.)
 *
 * ee_sqrt_s emits the word by hand with the operand in both fields, so it is
 * right on the EE and on any other MIPS FPU. The registers are pinned so the
 * word can be written as a constant: $f2 in, $f0 out (both caller-saved in
 * o32, the way GCC documents local register variables for asm operands).
 */
#ifndef PS2LLM_EE_FPU_H
#define PS2LLM_EE_FPU_H

#if defined(__mips__) && defined(__mips_hard_float)

static inline float ee_sqrt_s(float x)
{
    register float in __asm__("$f2") = x;
    register float out __asm__("$f0");
    /* COP1 0x11 << 26 | fmt S 0x10 << 21 | ft 2 << 16 | fs 2 << 11 | fd 0 << 6
     * | funct SQRT 4 = 0x46021004: sqrt.s $f0, $f2 */
    __asm__(".word 0x46021004" : "=f"(out) : "f"(in));
    return out;
}

#endif
#endif
