"""exp and sin/cos in float32, vectorised, bit for bit as ee_runtime_c/mathf.c
computes them (on IEEE round-to-nearest hardware: x86 SSE, qemu MIPS).

Each numpy expression below is one f32 operation of the C, in the C's order; all
constants are np.float32, so no step is promoted to float64 (NEP 50 scalar rules:
an np.float32 operand keeps an f32 array f32). Keep this file and mathf.c in step:
tests/test_kernels.py checks them against each other on many arguments.
"""
from __future__ import annotations

import numpy as np

F32 = np.float32

LOG2E = F32(float.fromhex("0x1.715476p+0"))
LN2_HI = F32(float.fromhex("0x1.62ep-1"))
LN2_LO = F32(float.fromhex("0x1.0bfbe8p-15"))
TWO_OVER_PI = F32(float.fromhex("0x1.45f306p-1"))
PIO2_1 = F32(float.fromhex("0x1.92p+0"))
PIO2_2 = F32(float.fromhex("0x1.fb4p-12"))
PIO2_3 = F32(float.fromhex("0x1.4442d2p-24"))

# The polynomial coefficients as C folds `1.0f / n`: one f32 division each.
ONE = F32(1)
_INV = {n: ONE / F32(n) for n in (2, 6, 24, 120, 720, 5040, 40320, 362880, 3628800)}


def _round_to_int(y: np.ndarray) -> np.ndarray:
    """(int32_t)(y + (y < 0 ? -0.5f : 0.5f)): the f32 add rounds, then truncation."""
    half = np.where(y < F32(0), F32(-0.5), F32(0.5))
    return np.trunc(y + half).astype(np.int32)


def exp(x: np.ndarray) -> np.ndarray:
    """mathf_exp: e^x, x above 88 taken as 88, x below -87 gives 0."""
    x = np.asarray(x, dtype=F32)
    x = np.minimum(x, F32(88))
    under = x < F32(-87)
    xc = np.maximum(x, F32(-87))            # keeps 2^k normal where the result is 0 anyway
    k = _round_to_int(xc * LOG2E)
    kf = k.astype(F32)
    r = xc - kf * LN2_HI
    r = r - kf * LN2_LO
    p = _INV[5040]
    for c in (_INV[720], _INV[120], _INV[24], _INV[6], _INV[2], ONE, ONE):
        p = r * p
        p = c + p
    two_k = ((k + 127).astype(np.uint32) << np.uint32(23)).view(F32)
    out = p * two_k
    return np.where(under, F32(0), out).astype(F32)


def sincos(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mathf_sincos: (sin x, cos x) for |x| < 2^13 * pi/2."""
    x = np.asarray(x, dtype=F32)
    k = _round_to_int(x * TWO_OVER_PI)
    kf = k.astype(F32)
    r = x - kf * PIO2_1
    r = r - kf * PIO2_2
    r = r - kf * PIO2_3
    r2 = r * r
    # s = r + r * r2 * (-1/6 + r2 * (1/120 + r2 * (-1/5040 + r2 * (1/362880))))
    ps = _INV[362880]
    for c in (-_INV[5040], _INV[120], -_INV[6]):
        ps = r2 * ps
        ps = c + ps
    s = r * r2
    s = s * ps
    s = r + s
    # c = 1 + r2 * (-1/2 + r2 * (1/24 + r2 * (-1/720 + r2 * (1/40320 + r2 * (-1/3628800)))))
    pc = -_INV[3628800]
    for c in (_INV[40320], -_INV[720], _INV[24], -_INV[2]):
        pc = r2 * pc
        pc = c + pc
    c = r2 * pc
    c = ONE + c
    quadrant = k & 3                        # (uint32_t)k & 3u: two's complement
    sin = np.select([quadrant == 0, quadrant == 1, quadrant == 2], [s, c, -s], -c).astype(F32)
    cos = np.select([quadrant == 0, quadrant == 1, quadrant == 2], [c, -s, -c], s).astype(F32)
    return sin, cos
