/* mathf.c — exp and sin/cos in single precision without libm.
 *
 * Both reduce the argument with a constant split in parts (Cody and Waite,
 * "Software Manual for the Elementary Functions", 1980) so that k * part is exact,
 * then evaluate a short Taylor polynomial on the reduced interval:
 *   exp: x = k ln2 + r, |r| <= ln2/2, degree 7 (truncation < 3e-9 relative);
 *   sin/cos: x = k pi/2 + r, |r| <= pi/4, degree 9 / 10 (< 2e-9).
 * model/mathf.py does the same f32 operations in the same order, so the numpy
 * reference gets these very bits: change the two together (tests/test_kernels.py
 * compares them). */
#include "mathf.h"

#include <stdint.h>

#define LOG2E MATHF_LOG2E          /* mathf.h: exp4.h's VU0 exp uses them too */
#define LN2_HI MATHF_LN2_HI         /* 12 significant bits: k * LN2_HI is exact */
#define LN2_LO MATHF_LN2_LO
#define TWO_OVER_PI 0x1.45f306p-1f
#define PIO2_1 0x1.92p+0f           /* 11 bits each: k * PIO2_x exact for k < 2^13 */
#define PIO2_2 0x1.fb4p-12f
#define PIO2_3 0x1.4442d2p-24f

static int32_t round_to_int(float x)
{
    return (int32_t)(x + (x < 0.0f ? -0.5f : 0.5f));
}

float mathf_exp(float x)
{
    union { uint32_t u; float f; } two_k;
    float r, p;
    int32_t k;
    if (x > 88.0f)
        x = 88.0f;
    if (x < -87.0f)
        return 0.0f;
    k = round_to_int(x * LOG2E);       /* -126 <= k <= 127: 2^k is a normal float */
    r = (x - (float)k * LN2_HI) - (float)k * LN2_LO;
    p = 1.0f + r * (1.0f + r * (MATHF_INV2 + r * (MATHF_INV6 + r * (MATHF_INV24
        + r * (MATHF_INV120 + r * (MATHF_INV720 + r * MATHF_INV5040))))));
    two_k.u = (uint32_t)(k + 127) << 23;
    return p * two_k.f;
}

void mathf_sincos(float x, float *sin_out, float *cos_out)
{
    int32_t k = round_to_int(x * TWO_OVER_PI);
    float r = ((x - (float)k * PIO2_1) - (float)k * PIO2_2) - (float)k * PIO2_3;
    float r2 = r * r;
    float s = r + r * r2 * (-MATHF_INV6 + r2 * (MATHF_INV120 + r2 * (-MATHF_INV5040
              + r2 * MATHF_INV362880)));
    float c = 1.0f + r2 * (-MATHF_INV2 + r2 * (MATHF_INV24 + r2 * (-MATHF_INV720
              + r2 * (MATHF_INV40320 + r2 * -MATHF_INV3628800))));
    switch ((uint32_t)k & 3u) {
    case 0: *sin_out = s; *cos_out = c; break;
    case 1: *sin_out = c; *cos_out = -s; break;
    case 2: *sin_out = -s; *cos_out = -c; break;
    default: *sin_out = -c; *cos_out = s; break;
    }
}
