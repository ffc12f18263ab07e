/* mathf.h — the few float functions the kernels need, written here so that every
 * target (host, qemu MIPS, the EE with its small libc) computes them the same way
 * and none relies on inf, NaN or denormals (the EE FPU has none of them).
 * Accuracy: a few ulp, checked against numpy in tests/test_kernels.py. */
#ifndef PS2LLM_MATHF_H
#define PS2LLM_MATHF_H

/* e^x; x above 88 is taken as 88 (finite result), x below -87 gives 0. */
float mathf_exp(float x);

/* sin and cos of x for |x| < 2^13 * pi/2 (positions times rotary frequencies). */
void mathf_sincos(float x, float *sin_out, float *cos_out);

/* Square root of x >= 0 (the FPU's instruction; built with -fno-math-errno).
 * On the EE not GCC's sqrt.s: GAS encodes its operand where the EE does not
 * read it (sdk/include/ee_fpu.h). */
#if defined(_MIPS_ARCH_R5900) && defined(__mips_hard_float)
#include "ee_fpu.h"
static inline float mathf_sqrt(float x)
{
    return ee_sqrt_s(x);
}
#else
static inline float mathf_sqrt(float x)
{
    return __builtin_sqrtf(x);
}
#endif

#endif
