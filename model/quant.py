"""Quant types of PSNT tensors: q8, q4, q4m and ternary (docs/FORMAT.md, "Quant types").

A quantized matrix is kept as (q, scales): q int8 (rows, cols) (values in
[-127, 127] for q8, [-8, 7] for q4, [0, 15] for q4m, {-1, 0, 1} for ternary),
scales f32 (rows, ngroups), and for q4m a minimum per group too (w = q * scale
+ min). q4 and q4m store their scales and minimums as f16 (as llama.cpp's Q4_0 and
Q4_1), so their quantizers make them f16-representable; q8 and ternary store f32.
The integer-activation matvec here is the reference the C kernels must reproduce,
whatever the quant type: same int16 activations, exact int32 group sums."""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class QuantType(IntEnum):
    F32 = 0
    F16 = 1
    Q8 = 2
    Q4 = 3
    TERNARY = 4
    Q4M = 5


SUPPORTED = (QuantType.F32, QuantType.F16, QuantType.Q8, QuantType.Q4, QuantType.TERNARY,
             QuantType.Q4M)
# Quant types stored as integers with a scale per group (f32 in a QuantizedQ8; stored
# f32, or f16 for F16_SCALES).
GROUPED = (QuantType.Q8, QuantType.Q4, QuantType.TERNARY, QuantType.Q4M)
# Those with a minimum per group besides the scale (w = q * scale + min).
WITH_MINS = (QuantType.Q4M,)
# Those whose scales (and minimums) are stored as f16, as llama.cpp's Q4_0 and Q4_1
# (ggml-common.h: block_q4_0, block_q4_1 hold `ggml_half d, m`): at group 32 an f32
# scale costs 1 bit per weight, an f16 one half of that.
F16_SCALES = (QuantType.Q4, QuantType.Q4M)


class QuantDataError(ValueError):
    """Packed weights that no writer produces (a ternary code 11)."""


def parse_quant(name: str) -> QuantType:
    try:
        qt = QuantType[name.upper()]
    except KeyError:
        raise ValueError(f"unknown quant type {name!r}; known: "
                         + ", ".join(q.name.lower() for q in SUPPORTED)) from None
    if qt not in SUPPORTED:
        raise ValueError(f"quant type {name!r} is reserved and not supported yet")
    return qt


def align16(n: int) -> int:
    return (n + 15) & ~15


def row_stride(qt: QuantType, cols: int, group_size: int) -> int:
    if qt == QuantType.F32:
        return 4 * cols
    if qt == QuantType.F16:
        return 2 * cols
    if qt in GROUPED:
        return values_offset(qt, cols // group_size) + align16(packed_bytes(qt, cols))
    raise ValueError(f"quant type {qt.name} is not supported in PSNT")


def scale_dtype(qt: QuantType) -> str:
    """How a grouped row stores its scales (and minimums): f16 for q4 and q4m, f32 otherwise."""
    return "<f2" if qt in F16_SCALES else "<f4"


def scale_block(qt: QuantType, ngroups: int) -> int:
    """Bytes of a row's block of scales (or of q4m's minimums), padded to 16."""
    return align16(np.dtype(scale_dtype(qt)).itemsize * ngroups)


def values_offset(qt: QuantType, ngroups: int) -> int:
    """Where a grouped row's integer values start: after its scales, padded to 16
    bytes, and for q4m its minimums, padded the same way."""
    return scale_block(qt, ngroups) * (2 if qt in WITH_MINS else 1)


def to_f16(v: np.ndarray) -> np.ndarray:
    """f32 values rounded to the nearest f16 (kept as f32), clamped to +-65504 so
    that none becomes inf: the scales and minimums of q4 and q4m as stored."""
    return np.clip(np.asarray(v, dtype=np.float32), -65504, 65504).astype(np.float16).astype(np.float32)


def packed_bytes(qt: QuantType, cols: int) -> int:
    """Bytes of one row's integer values, before padding: 8, 4 or 2 bits each."""
    return {QuantType.Q8: cols, QuantType.Q4: (cols + 1) // 2, QuantType.Q4M: (cols + 1) // 2,
            QuantType.TERNARY: (cols + 3) // 4}[qt]


@dataclass
class QuantizedQ8:
    q: np.ndarray        # int8 (rows, cols)
    scales: np.ndarray   # f32 (rows, cols // group_size)
    group_size: int
    quant: QuantType = QuantType.Q8     # q8, q4, q4m or ternary: the same arithmetic
    mins: np.ndarray | None = None      # f32 (rows, ngroups), q4m only

    def dequantize(self, rows=slice(None)) -> np.ndarray:
        """f32 weights of `rows` (all; or a row index, a slice, an index array), in
        f32 as the C computes them: q * scale, then + min for q4m."""
        q = self.q[rows]
        g = q.reshape(*q.shape[:-1], -1, self.group_size).astype(np.float32) * self.scales[rows][..., None]
        if self.mins is not None:
            g = g + self.mins[rows][..., None]
        return g.reshape(q.shape)

    def group_sums(self, xq: np.ndarray) -> np.ndarray:
        """(rows, ngroups) int64: the sum over each group of q * xq, exact (integer
        arithmetic; einsum casts the int8 weights in chunks, so no int copy of the
        whole matrix is made)."""
        rows, cols = self.q.shape
        ng = cols // self.group_size
        return np.einsum("rgc,gc->rg", self.q.reshape(rows, ng, self.group_size),
                         xq.reshape(ng, self.group_size).astype(np.int64))


def quantize_q8(w: np.ndarray, group_size: int) -> tuple[QuantizedQ8, float]:
    """Symmetric int8 with one f32 scale per group; returns it and the max abs error."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    if group_size <= 0 or cols % group_size:
        raise ValueError(f"group size {group_size} does not divide the row length {cols}")
    groups = w.reshape(rows, cols // group_size, group_size)
    amax = np.abs(groups).max(axis=2)
    scales = (amax / np.float32(127)).astype(np.float32)
    safe = np.where(scales == 0, np.float32(1), scales)
    q = np.clip(np.round(groups / safe[:, :, None]), -127, 127).astype(np.int8)
    qt = QuantizedQ8(q.reshape(rows, cols), scales, group_size)
    return qt, float(np.abs(qt.dequantize() - w).max())


def _check_group(cols: int, group_size: int) -> None:
    if group_size <= 0 or cols % group_size:
        raise ValueError(f"group size {group_size} does not divide the row length {cols}")


def quantize_q4(w: np.ndarray, group_size: int) -> tuple[QuantizedQ8, float]:
    """Symmetric 4-bit as llama.cpp's Q4_0 (quantize_row_q4_0_ref in ggml/src/ggml-quants.c):
    per group, scale = p / -8 where p is the element of largest magnitude, so p is
    exactly -8 * scale and the other elements get all 16 levels of [-8, 7] (the sign
    of the scale follows p's); the scale is rounded to f16 (stored so, as Q4_0's d), then
    q = clamp(round(w / scale), -8, 7) against the rounded scale. scale = max|w| / 7
    with q in [-7, 7] wasted a level: SmolLM2-135M q4:32 (f32 activations) cost +79%
    perplexity on the stories text against +41% this way."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    _check_group(cols, group_size)
    groups = w.reshape(rows, cols // group_size, group_size)
    peak = np.take_along_axis(groups, np.abs(groups).argmax(axis=2)[:, :, None], axis=2)[:, :, 0]
    scales = to_f16(peak / np.float32(-8))
    safe = np.where(scales == 0, np.float32(1), scales)
    q = np.clip(np.round(groups / safe[:, :, None]), -8, 7).astype(np.int8)
    qt = QuantizedQ8(q.reshape(rows, cols), scales, group_size, QuantType.Q4)
    return qt, float(np.abs(qt.dequantize() - w).max())


def quantize_ternary(w: np.ndarray, group_size: int) -> tuple[QuantizedQ8, float]:
    """BitNet b1.58 absmean: scale = mean|w| per group, q = clamp(round(w / scale), -1, 1).
    Post-training ternarization is lossy: a model not trained for it degrades a lot.
    A group that is already ternary (every nonzero |w| equal: weights imported from
    GGUF TQ1_0/TQ2_0 or a BitNet checkpoint) gets scale = max|w| instead, so it is
    stored exactly: absmean would shrink its scale by its fraction of nonzeros."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    _check_group(cols, group_size)
    groups = w.reshape(rows, cols // group_size, group_size)
    mags = np.abs(groups)
    amax = mags.max(axis=2)
    exact = ((mags == amax[:, :, None]) | (mags == 0)).all(axis=2)
    absmean = mags.astype(np.float64).mean(axis=2).astype(np.float32)
    scales = np.where(exact, amax, absmean).astype(np.float32)
    safe = np.where(scales == 0, np.float32(1), scales)
    q = np.clip(np.round(groups / safe[:, :, None]), -1, 1).astype(np.int8)
    qt = QuantizedQ8(q.reshape(rows, cols), scales, group_size, QuantType.TERNARY)
    return qt, float(np.abs(qt.dequantize() - w).max())


def quantize_q4m(w: np.ndarray, group_size: int) -> tuple[QuantizedQ8, float]:
    """4-bit with a minimum, as llama.cpp's Q4_1 (quantize_row_q4_1_ref in
    ggml/src/ggml-quants.c): per group m = min w, d = (max w - m) / 15 in f32, both
    rounded to f16 (stored so, as Q4_1's d and m), then, against the rounded d and m,
    q = clamp(trunc((w - m) * (1/d) + 0.5), 0, 15) (q = 0 where d = 0), so w ~ q * d + m
    with all 16 levels between the group's minimum and maximum. (Q4_1 takes the codes
    from the unrounded d and m; the rounded ones give the codes best for what is
    stored. The clamp at 0: the rounded m may lie above the group's minimum.) Weights
    that came from a Q4_1 file (SmolLM2-135M's GGUF) keep their grid, bit for bit where
    a group uses codes 0 and 15, which symmetric q4 cannot reproduce (docs/RESULTS.md)."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    _check_group(cols, group_size)
    groups = w.reshape(rows, cols // group_size, group_size)
    lo = groups.min(axis=2)
    scales = to_f16((groups.max(axis=2) - lo) / np.float32(15))
    mins = to_f16(lo)
    safe = np.where(scales == 0, np.float32(1), scales)
    inv = np.where(scales == 0, np.float32(0), np.float32(1) / safe)
    q = np.clip(np.trunc((groups - mins[:, :, None]) * inv[:, :, None] + np.float32(0.5)), 0, 15)
    qt = QuantizedQ8(q.astype(np.int8).reshape(rows, cols), scales, group_size, QuantType.Q4M, mins)
    return qt, float(np.abs(qt.dequantize() - w).max())


QUANTIZERS = {QuantType.Q8: quantize_q8, QuantType.Q4: quantize_q4,
              QuantType.TERNARY: quantize_ternary, QuantType.Q4M: quantize_q4m}


def _pack_values(qt: QuantType, q: np.ndarray) -> np.ndarray:
    """(rows, cols) int8 -> (rows, packed_bytes) uint8; q4 and q4m: low nibble = even
    element, ternary 2-bit codes (00 0, 01 +1, 10 -1) from the low bits up."""
    rows, cols = q.shape
    if qt == QuantType.Q8:
        return q.view(np.uint8)
    per = 4 if qt == QuantType.TERNARY else 2
    padded = np.zeros((rows, packed_bytes(qt, cols) * per), dtype=np.uint8)
    if per == 2:
        padded[:, :cols] = q.astype(np.uint8) & 0xF
        return padded[:, 0::2] | (padded[:, 1::2] << 4)
    padded[:, :cols] = np.where(q > 0, 1, np.where(q < 0, 2, 0)).astype(np.uint8)
    return padded[:, 0::4] | (padded[:, 1::4] << 2) | (padded[:, 2::4] << 4) | (padded[:, 3::4] << 6)


def _unpack_values(qt: QuantType, raw: np.ndarray, cols: int) -> np.ndarray:
    rows = raw.shape[0]
    if qt == QuantType.Q8:
        return raw[:, :cols].copy().view(np.int8)
    if qt in (QuantType.Q4, QuantType.Q4M):
        nib = np.empty((rows, raw.shape[1] * 2), dtype=np.int8)
        nib[:, 0::2] = raw & 0xF
        nib[:, 1::2] = raw >> 4
        nib = nib[:, :cols]
        return nib.copy() if qt == QuantType.Q4M else ((nib ^ 8) - 8).astype(np.int8)
    codes = np.empty((rows, raw.shape[1] * 4), dtype=np.uint8)
    for k in range(4):
        codes[:, k::4] = (raw >> (2 * k)) & 3
    codes = codes[:, :cols]
    if (codes == 3).any():
        r, c = np.argwhere(codes == 3)[0]
        raise QuantDataError(f"ternary value outside {{-1,0,1}} (code 11) at row {r}, column {c}")
    return np.where(codes == 1, 1, np.where(codes == 2, -1, 0)).astype(np.int8)


def pack_rows(qt: QuantType, w: np.ndarray, group_size: int = 0) -> tuple[bytes, float]:
    """Encode a (rows, cols) f32 matrix in PSNT row layout; returns bytes and max abs error."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    if qt == QuantType.F32:
        return w.astype("<f4").tobytes(), 0.0
    if qt == QuantType.F16:
        h = w.astype("<f2")
        return h.tobytes(), float(np.abs(h.astype(np.float32) - w).max())
    if qt in GROUPED:
        quant, err = QUANTIZERS[qt](w, group_size)
        return pack_quantized(quant), err
    raise ValueError(f"quant type {qt.name} is not supported in PSNT")


def pack_quantized(quant: QuantizedQ8) -> bytes:
    """A QuantizedQ8 (q8, q4, q4m or ternary values) in PSNT row layout."""
    qt, (rows, cols) = quant.quant, quant.q.shape
    ngroups = cols // quant.group_size
    blocks = (quant.scales, quant.mins) if qt in WITH_MINS else (quant.scales,)
    if qt in F16_SCALES and not all(np.array_equal(v, to_f16(v)) for v in blocks):   # quantizers round them
        raise ValueError(f"{qt.name.lower()} scales and minimums must be f16 values (to_f16)")
    out = np.zeros((rows, row_stride(qt, cols, quant.group_size)), dtype=np.uint8)

    def put_block(at: int, v: np.ndarray) -> None:     # (rows, ngroups) at byte `at` of each row
        raw = v.astype(scale_dtype(qt)).view(np.uint8).reshape(rows, -1)
        out[:, at:at + raw.shape[1]] = raw
    put_block(0, quant.scales)
    if qt in WITH_MINS:
        put_block(scale_block(qt, ngroups), quant.mins)
    off = values_offset(qt, ngroups)
    out[:, off:off + packed_bytes(qt, cols)] = _pack_values(qt, quant.q)
    return out.tobytes()


def unpack_q8(data: bytes | np.ndarray, rows: int, cols: int, group_size: int,
              qt: QuantType = QuantType.Q8) -> QuantizedQ8:
    """PSNT rows of q8, q4, q4m or ternary -> QuantizedQ8; raises QuantDataError on a
    ternary code 11 and ValueError on a group size that does not divide cols."""
    _check_group(cols, group_size)
    ngroups = cols // group_size
    stride = row_stride(qt, cols, group_size)
    raw = np.frombuffer(data, dtype=np.uint8, count=rows * stride).reshape(rows, stride)

    dtype = np.dtype(scale_dtype(qt))

    def get_block(at: int) -> np.ndarray:     # (rows, ngroups) f32 from byte `at` of each row
        v = raw[:, at:at + dtype.itemsize * ngroups].copy().view(dtype).reshape(rows, ngroups)
        return f16_to_f32(v) if qt in F16_SCALES else v.astype(np.float32)
    mins = get_block(scale_block(qt, ngroups)) if qt in WITH_MINS else None
    off = values_offset(qt, ngroups)
    q = _unpack_values(qt, raw[:, off:off + packed_bytes(qt, cols)], cols)
    return QuantizedQ8(q, get_block(0), group_size, qt, mins)


def unpack_rows(qt: QuantType, data: bytes | np.ndarray, rows: int, cols: int, group_size: int):
    """Decode PSNT row layout: an f32 array for f32/f16, a QuantizedQ8 for q8/q4/q4m/ternary."""
    if qt == QuantType.F32:
        return np.frombuffer(data, dtype="<f4", count=rows * cols).astype(np.float32).reshape(rows, cols)
    if qt == QuantType.F16:
        return f16_to_f32(np.frombuffer(data, dtype="<f2", count=rows * cols)).reshape(rows, cols)
    if qt in GROUPED:
        return unpack_q8(data, rows, cols, group_size, qt)
    raise ValueError(f"quant type {qt.name} is not supported in PSNT")


def f16_to_f32(h: np.ndarray) -> np.ndarray:
    """f16 -> f32 as the C's f16_to_f32 (kernels.gen.c) reads it: inf and NaN halves
    as +-65504 (the EE FPU has no inf)."""
    w = np.asarray(h, dtype=np.float16).astype(np.float32)
    bad = ~np.isfinite(w)
    if bad.any():
        w[bad] = np.copysign(np.float32(65504), w[bad])
    return w


def round_half_away(v: np.ndarray) -> np.ndarray:
    """trunc(v + copysign(0.5, v)) in f32, as the C writes it: (int32_t)(v + (v < 0 ? -0.5f : 0.5f))."""
    v = np.asarray(v, dtype=np.float32)
    return np.trunc(v + np.copysign(np.float32(0.5), v))


# Activations: one scale per vector, integers in [-ACT_LEVELS, ACT_LEVELS] held as
# int16 (the kernels multiply int8 weights by int16 activations: pmaddh on the EE).
# 127 levels (int8) lost 3-6% perplexity on SmolLM2-135M, whose activation vectors
# have a few large outliers that set the scale (LLM.int8(), arXiv:2208.07339);
# 4095 levels keep it within 1%. The bound: a group sum of q_w * q_x must be exact
# in int32, and |q_w| <= 127 (q8; q4, q4m and ternary are smaller), so a group may
# hold at most MAX_GROUP elements: MAX_GROUP * 127 * ACT_LEVELS < 2^31. q4m also
# sums the activations of a group (its minimum's term), within MAX_GROUP * ACT_LEVELS;
# that sum is even exact as an f32 (below 2^24).
ACT_LEVELS = 4095
MAX_GROUP = 4096
assert MAX_GROUP * 127 * ACT_LEVELS < 1 << 31
assert MAX_GROUP * 15 * ACT_LEVELS < 1 << 31 and MAX_GROUP * ACT_LEVELS < 1 << 24


def group_limit_problem(cols: int, group_size: int) -> str | None:
    """Why a group of group_size cannot be computed exactly (longer than MAX_GROUP:
    its int32 sums could overflow), with a group size that would do; None if it can."""
    if group_size <= MAX_GROUP:
        return None
    # a power of two (MAX_GROUP is one) likely divides the other rows too; 16 and up
    # keeps the MMI kernels (docs/KERNELS.md)
    good = math.gcd(cols, MAX_GROUP)
    if good < 16:
        good = next(g for g in range(MAX_GROUP, 0, -1) if cols % g == 0)
    return (f"group size {group_size} (row length {cols}) exceeds {MAX_GROUP}, the most whose "
            f"int32 sums of int8 weights times activations of +-{ACT_LEVELS} are exact; "
            f"use a smaller group that divides {cols}, e.g. GROUP={good} (or :{good} after "
            f"the type in QUANT)")


def quantize_symmetric(x: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Each vector along the last axis of x as integers in [-levels, levels] (held in
    f32) with one f32 scale (shape x.shape[:-1] + (1,)): scale = amax / levels,
    q = clamp(round_half_away(x * (levels / amax)), -levels, levels); an all-zero
    vector gives zeros and scale 0. The rule of the activations (quantize_activation)
    and of the q8 KV cache (model/kv_cache.py), in the f32 operations of the C."""
    x = np.asarray(x, dtype=np.float32)
    lv = np.float32(levels)
    amax = np.abs(x).max(axis=-1, keepdims=True, initial=np.float32(0))
    safe = np.where(amax == 0, np.float32(1), amax)
    return np.clip(round_half_away(x * (lv / safe)), -levels, levels), amax / lv


def quantize_activation(x: np.ndarray) -> tuple[np.ndarray, np.float32]:
    """Integers in [-ACT_LEVELS, ACT_LEVELS] (int16) with one f32 scale for the
    vector, rounding half away from zero, in f32 exactly as docs/FORMAT.md specifies
    (the C kernels do the same)."""
    q, scale = quantize_symmetric(x, ACT_LEVELS)
    return q.astype(np.int16), np.float32(scale.reshape(-1)[0])


def matvec_q8(w: QuantizedQ8, x: np.ndarray) -> np.ndarray:
    """W (rows, cols) @ x (cols,) -> (rows,), with int16 activations (quantize_activation)
    and int32 group sums; the same for q8, q4 and ternary weights. q4m adds each
    group's minimum times the group's sum of activations:
    term_g = f32(sum q * xq) * scale_g + f32(sum xq) * min_g (docs/FORMAT.md)."""
    xq, xs = quantize_activation(x)
    rows, cols = w.q.shape
    ng = cols // w.group_size
    acc = w.group_sums(xq)                 # exact integers, as the C's int32 sums
    partial = acc.astype(np.float32) * w.scales
    if w.mins is not None:
        xsum = xq.reshape(ng, w.group_size).sum(axis=1, dtype=np.int64).astype(np.float32)
        partial = partial + xsum * w.mins
    out = np.zeros(rows, dtype=np.float32)
    for g in range(ng):               # groups summed in order, as the C kernel does
        out += partial[:, g]
    return out * xs
