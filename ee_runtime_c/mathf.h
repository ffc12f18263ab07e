/* mathf.h — the few float functions the kernels need, written here so that every
 * target (host, qemu MIPS, the EE with its small libc) computes them the same way
 * and none relies on inf, NaN or denormals (the EE FPU has none of them).
 * Accuracy: a few ulp, checked against numpy in tests/test_kernels.py. */
#ifndef PS2LLM_MATHF_H
#define PS2LLM_MATHF_H

/* e^x; x above 88 is taken as 88 (finite result), x below -87 gives 0. */
float mathf_exp(float x);

/* mathf_exp's constants, shared with its 4-lane VU0 form (exp4.h): log2(e), ln 2
 * split so that k * MATHF_LN2_HI is exact (12 significant bits), and the Taylor
 * coefficients 1/n rounded to nearest, written out (mathf_sincos's too): GCC folds
 * 1.0f / n toward zero for -march=r5900 (mipsel-linux-gnu-gcc 12.2: 0x39500d00 for
 * 1.0f / 5040, where x86 and model/mathf.py have 0x39500d01), so the EE's
 * polynomials differed from the host's in the last bit of 1/6, 1/24, 1/120, 1/720,
 * 1/5040, 1/40320 and 1/3628800. */
#define MATHF_LOG2E 0x1.715476p+0f
#define MATHF_LN2_HI 0x1.62ep-1f
#define MATHF_LN2_LO 0x1.0bfbe8p-15f
#define MATHF_INV2 0x1p-1f
#define MATHF_INV6 0x1.555556p-3f
#define MATHF_INV24 0x1.555556p-5f
#define MATHF_INV120 0x1.111112p-7f
#define MATHF_INV720 0x1.6c16c2p-10f
#define MATHF_INV5040 0x1.a01a02p-13f
#define MATHF_INV40320 0x1.a01a02p-16f
#define MATHF_INV362880 0x1.71de3ap-19f
#define MATHF_INV3628800 0x1.27e4fcp-22f

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
