/* math.c — single-precision math for the EE; accuracy in include/math.h.
 *
 * Method (standard textbook range reductions; no code copied):
 *   expf: x = k ln2 + r, |r| <= ln2/2, ln2 split in two (Cody-Waite) so k*L1
 *         is exact; e^r by its Taylor series to r^7 (truncation < 1e-8
 *         relative); 2^k put into the exponent bits.
 *   logf: x = 2^e m, m in [sqrt(1/2), sqrt(2)), f = m-1, s = f/(2+f);
 *         log(1+f) = f - f^2/2 + s (f^2/2 + R(s^2)), R = atanh series to s^11.
 *   powf: log|x| as a hi+lo pair, y*log exact via Dekker's product, then the
 *         exp core with the low part added to r.
 *   sinf/cosf: k = nearest x*2/pi, r = x - k pi/2 with pi/2 split in three
 *         12-bit-ish parts (exact for |k| < 2^12, i.e. |x| < ~6400); Taylor to
 *         r^9 (sin) / r^10 (cos) on |r| <= pi/4.
 * The EE FPU has no inf/NaN/denormals (REFERENCE.md §9): overflow saturates
 * to FLT_MAX and underflow gives 0 here too, so the host and the EE agree.
 */
#include <math.h>
#include <stdint.h>

#if defined(__mips__) && defined(__mips_hard_float)
#include "ee_fpu.h"
#endif

#define FLT_MAX_ PS2LLM_FLT_MAX

static uint32_t _bits(float x)
{
    union { float f; uint32_t u; } v = {x};
    return v.u;
}

static float _from_bits(uint32_t u)
{
    union { uint32_t u; float f; } v = {u};
    return v.f;
}

float sqrtf(float x)
{
    if (x <= 0.0f)
        return 0.0f;
#if defined(__mips__) && defined(__mips_hard_float)
    return ee_sqrt_s(x); /* EE FPU sqrt; not `sqrt.s` from GAS (ee_fpu.h) */
#else
    return __builtin_sqrtf(x);
#endif
}

float fabsf(float x)
{
    return _from_bits(_bits(x) & 0x7FFFFFFFu);
}

float floorf(float x)
{
    if (fabsf(x) >= 8388608.0f) /* 2^23: already an integer */
        return x;
    float t = (float)(int32_t)x;
    return t > x ? t - 1.0f : t;
}

float ceilf(float x)
{
    if (fabsf(x) >= 8388608.0f)
        return x;
    float t = (float)(int32_t)x;
    return t < x ? t + 1.0f : t;
}

float roundf(float x)
{
    float a = fabsf(x);
    if (a >= 8388608.0f)
        return x;
    float t = floorf(a);
    if (a - t >= 0.5f)
        t += 1.0f;
    return x < 0.0f ? -t : t;
}

float fmaxf(float a, float b) { return a > b ? a : b; }
float fminf(float a, float b) { return a < b ? a : b; }

/* ---- exp ---------------------------------------------------------------- */

#define LOG2E 1.44269502f
#define LN2_HI 0.693115234375f         /* 12 significant bits: k*LN2_HI exact */
#define LN2_LO 3.194618329871446e-05f
#define EXP_MAX_ARG 88.7228393f        /* ln(FLT_MAX) */
#define EXP_MIN_ARG -87.3365479f       /* ln(FLT_MIN): below this, 0 */

static float _scale2(float p, int k) /* p * 2^k for k in [-126, 128] */
{
    if (k > 127)
        return p * 2.0f * _from_bits((uint32_t)(k - 1 + 127) << 23);
    return p * _from_bits((uint32_t)(k + 127) << 23);
}

/* e^(hi + lo) for hi in [EXP_MIN_ARG, EXP_MAX_ARG], |lo| tiny. */
static float _exp_hl(float hi, float lo)
{
    float kf = hi * LOG2E;
    int k = (int)(kf + (kf >= 0.0f ? 0.5f : -0.5f));
    float r = ((hi - (float)k * LN2_HI) - (float)k * LN2_LO) + lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r * r + r;  /* r + r^2/2 + ... */
    p = 1.0f + p;
    return _scale2(p, k);
}

float expf(float x)
{
    if (x > EXP_MAX_ARG)
        return FLT_MAX_;
    if (x < EXP_MIN_ARG)
        return 0.0f;
    return _exp_hl(x, 0.0f);
}

/* ---- log ---------------------------------------------------------------- */

/* log(x) = hi + lo for normal x > 0. */
static void _log_hl(float x, float *hi, float *lo)
{
    uint32_t u = _bits(x);
    int e = (int)(u >> 23) - 127;
    float m = _from_bits((u & 0x007FFFFFu) | 0x3F800000u); /* [1, 2) */
    if (m > 1.41421354f) {
        m *= 0.5f;
        e += 1;
    }
    float f = m - 1.0f; /* exact (Sterbenz) */
    float s = f / (2.0f + f);
    float z = s * s;
    float R = 2.0f / 11.0f;
    R = R * z + 2.0f / 9.0f;
    R = R * z + 2.0f / 7.0f;
    R = R * z + 2.0f / 5.0f;
    R = R * z + 2.0f / 3.0f;
    R = R * z;
    float hfsq = 0.5f * f * f;
    float ef = (float)e;
    float a = ef * LN2_HI; /* exact */
    float h = a + f;
    float err = (a - h) + f; /* exact when |a| >= |f| (Fast2Sum)... */
    if (fabsf(f) > fabsf(a))
        err = (f - h) + a; /* ...or the other way round */
    float l = err + (s * (hfsq + R) - hfsq) + ef * LN2_LO;
    *hi = h + l;
    *lo = l - (*hi - h);
}

float logf(float x)
{
    if (x <= 0.0f)
        return -FLT_MAX_;
    float hi, lo;
    _log_hl(x, &hi, &lo);
    return hi + lo;
}

/* ---- pow ---------------------------------------------------------------- */

static void _split(float a, float *h, float *l) /* Veltkamp: 12 + 12 bits */
{
    float c = 4097.0f * a;
    *h = c - (c - a);
    *l = a - *h;
}

static int _is_int(float y, int *odd)
{
    float a = fabsf(y);
    if (a >= 16777216.0f) { /* 2^24: even integer */
        *odd = 0;
        return 1;
    }
    float t = floorf(a);
    if (t != a)
        return 0;
    *odd = ((int32_t)t & 1) != 0;
    return 1;
}

float powf(float x, float y)
{
    if (y == 0.0f || x == 1.0f)
        return 1.0f;
    float sign = 1.0f;
    if (x <= 0.0f) {
        if (x == 0.0f)
            return y > 0.0f ? 0.0f : FLT_MAX_;
        int odd;
        if (!_is_int(y, &odd))
            return 0.0f; /* no NaN on the EE: documented */
        sign = odd ? -1.0f : 1.0f;
        x = -x;
    }
    float lh, ll;
    _log_hl(x, &lh, &ll);
    float p = y * lh;
    float yh, yl, hh, hl;
    _split(y, &yh, &yl);
    _split(lh, &hh, &hl);
    float perr = ((yh * hh - p) + yh * hl + yl * hh) + yl * hl; /* y*lh - p */
    float plo = perr + y * ll;
    float z = p + plo;
    if (z > EXP_MAX_ARG)
        return sign * FLT_MAX_;
    if (z < EXP_MIN_ARG)
        return 0.0f;
    float zlo = plo - (z - p);
    return sign * _exp_hl(z, zlo);
}

/* ---- sin / cos ---------------------------------------------------------- */

#define TWO_OVER_PI 0.636619747f
#define PIO2_1 1.5703125f               /* 12 bits */
#define PIO2_2 0.0004837512969970703f   /* 12 bits */
#define PIO2_3 7.549790126404332e-08f

static float _sin_poly(float r)
{
    float z = r * r;
    float p = 1.0f / 362880.0f;
    p = p * z - 1.0f / 5040.0f;
    p = p * z + 1.0f / 120.0f;
    p = p * z - 1.0f / 6.0f;
    return r + r * z * p;
}

static float _cos_poly(float r)
{
    float z = r * r;
    float p = -1.0f / 3628800.0f;
    p = p * z + 1.0f / 40320.0f;
    p = p * z - 1.0f / 720.0f;
    p = p * z + 1.0f / 24.0f;
    return (1.0f - 0.5f * z) + z * z * p;
}

static float _reduce(float x, int *q)
{
    float kf = x * TWO_OVER_PI;
    int k = (int)(kf + (kf >= 0.0f ? 0.5f : -0.5f));
    float fk = (float)k;
    *q = k & 3;
    return ((x - fk * PIO2_1) - fk * PIO2_2) - fk * PIO2_3;
}

float sinf(float x)
{
    int q;
    float r = _reduce(x, &q);
    switch (q) {
    case 0: return _sin_poly(r);
    case 1: return _cos_poly(r);
    case 2: return -_sin_poly(r);
    default: return -_cos_poly(r);
    }
}

float cosf(float x)
{
    int q;
    float r = _reduce(x, &q);
    switch (q) {
    case 0: return _cos_poly(r);
    case 1: return -_sin_poly(r);
    case 2: return -_cos_poly(r);
    default: return _sin_poly(r);
    }
}

/* ---- tanh --------------------------------------------------------------- */

float tanhf(float x)
{
    float a = fabsf(x);
    float t;
    if (a < 0.3f) { /* Taylor to x^13 */
        float z = a * a;
        float p = 929569.0f / 638512875.0f;
        p = p * z - 21844.0f / 6081075.0f;
        p = p * z + 1382.0f / 155925.0f;
        p = p * z - 62.0f / 2835.0f;
        p = p * z + 17.0f / 315.0f;
        p = p * z - 2.0f / 15.0f;
        p = p * z + 1.0f / 3.0f;
        t = a - a * z * p;
    } else if (a < 9.0f) {
        t = 1.0f - 2.0f / (expf(2.0f * a) + 1.0f);
    } else {
        t = 1.0f;
    }
    return x < 0.0f ? -t : t;
}
