/* libgcc.c — the libgcc helpers a freestanding -march=r5900 build calls.
 *
 * Debian's libgcc.a must not be linked: it is mips32r2 + PIC and uses clz/mul,
 * whose encodings are MMI instructions on the R5900 (REFERENCE.md §9). Found
 * by linking: GCC 12 calls these for 64-bit division/modulo, clz, and
 * 64-bit <-> float conversions. Doubles are deliberately absent, so any
 * double arithmetic fails to link.
 */
#include <stdint.h>

#pragma GCC optimize("no-tree-loop-distribute-patterns")

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
int64_t __divdi3(int64_t n, int64_t d);
int64_t __moddi3(int64_t n, int64_t d);
int __clzsi2(uint32_t x);
int __ctzsi2(uint32_t x);
float __floatdisf(int64_t v);
float __floatundisf(uint64_t v);
int64_t __fixsfdi(float f);
uint64_t __fixunssfdi(float f);

/* Shift-subtract division; d == 0 gives all-ones (no trap on the EE). */
uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
    if (d == 0) {
        if (rem)
            *rem = n;
        return ~(uint64_t)0;
    }
    if ((n >> 32) == 0 && (d >> 32) == 0) { /* 32-bit divu is native */
        uint32_t q = (uint32_t)n / (uint32_t)d;
        if (rem)
            *rem = (uint32_t)n - q * (uint32_t)d;
        return q;
    }
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1u);
        if (r >= d) {
            r -= d;
            q |= (uint64_t)1 << i;
        }
    }
    if (rem)
        *rem = r;
    return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d) { return __udivmoddi4(n, d, 0); }

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
    uint64_t r;
    __udivmoddi4(n, d, &r);
    return r;
}

int64_t __divdi3(int64_t n, int64_t d)
{
    uint64_t un = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    uint64_t ud = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    uint64_t q = __udivmoddi4(un, ud, 0);
    return (int64_t)(((n < 0) != (d < 0)) ? (uint64_t)0 - q : q);
}

int64_t __moddi3(int64_t n, int64_t d)
{
    uint64_t un = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    uint64_t ud = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    uint64_t r;
    __udivmoddi4(un, ud, &r);
    return (int64_t)(n < 0 ? (uint64_t)0 - r : r);
}

int __clzsi2(uint32_t x)
{
    int n = 0;
    if (!x)
        return 32;
    if (!(x & 0xFFFF0000u)) { n += 16; x <<= 16; }
    if (!(x & 0xFF000000u)) { n += 8; x <<= 8; }
    if (!(x & 0xF0000000u)) { n += 4; x <<= 4; }
    if (!(x & 0xC0000000u)) { n += 2; x <<= 2; }
    if (!(x & 0x80000000u)) { n += 1; }
    return n;
}

int __ctzsi2(uint32_t x)
{
    int n = 0;
    if (!x)
        return 32;
    while (!(x & 1u)) {
        x >>= 1;
        n++;
    }
    return n;
}

/* Conversions, truncating like the EE FPU's cvt (round toward zero). */
float __floatundisf(uint64_t v)
{
    uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v;
    /* Only signed 32-bit -> float conversions (cvt.s.w) are used. */
    if (hi == 0)
        return (float)(int32_t)(lo >> 1) * 2.0f + (float)(int32_t)(lo & 1u);
    float h = (float)(int32_t)(hi >> 1) * 2.0f + (float)(int32_t)(hi & 1u);
    return h * 4294967296.0f + (float)(int32_t)(lo >> 8) * 256.0f;
}

float __floatdisf(int64_t v)
{
    return v < 0 ? -__floatundisf((uint64_t)0 - (uint64_t)v) : __floatundisf((uint64_t)v);
}

uint64_t __fixunssfdi(float f)
{
    if (f <= 0.0f)
        return 0;
    if (f >= 18446744073709551616.0f)
        return ~(uint64_t)0;
    if (f < 2147483648.0f)
        return (uint64_t)(uint32_t)(int32_t)f;
    float hi = f / 4294967296.0f;
    uint32_t h = hi < 2147483648.0f ? (uint32_t)(int32_t)hi
                                    : (uint32_t)(int32_t)(hi - 2147483648.0f) + 0x80000000u;
    float rest = f - (float)h * 4294967296.0f;
    uint32_t l = rest <= 0.0f ? 0u
                 : rest < 2147483648.0f ? (uint32_t)(int32_t)rest
                                        : (uint32_t)(int32_t)(rest - 2147483648.0f) + 0x80000000u;
    return ((uint64_t)h << 32) | l;
}

int64_t __fixsfdi(float f)
{
    return f < 0.0f ? -(int64_t)__fixunssfdi(-f) : (int64_t)__fixunssfdi(f);
}
