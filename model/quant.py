"""Quant types of PSNT tensors and the q8 scheme (docs/FORMAT.md, "Quant types").

A quantized matrix is kept as (q, scales): q int8 (rows, cols), scales f32
(rows, ngroups). The integer-activation matvec here is the reference the C
kernels must reproduce: same int8 activations, exact int32 group sums."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class QuantType(IntEnum):
    F32 = 0
    F16 = 1
    Q8 = 2
    Q4 = 3        # reserved in PSNT v1
    TERNARY = 4   # reserved in PSNT v1


SUPPORTED = (QuantType.F32, QuantType.F16, QuantType.Q8)


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
    if qt == QuantType.Q8:
        return align16(4 * (cols // group_size)) + align16(cols)
    raise ValueError(f"quant type {qt.name} is not supported in PSNT v1")


@dataclass
class QuantizedQ8:
    q: np.ndarray        # int8 (rows, cols)
    scales: np.ndarray   # f32 (rows, cols // group_size)
    group_size: int

    def dequantize(self) -> np.ndarray:
        rows, cols = self.q.shape
        g = self.q.reshape(rows, cols // self.group_size, self.group_size).astype(np.float32)
        return (g * self.scales[:, :, None]).reshape(rows, cols)

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


def pack_rows(qt: QuantType, w: np.ndarray, group_size: int = 0) -> tuple[bytes, float]:
    """Encode a (rows, cols) f32 matrix in PSNT row layout; returns bytes and max abs error."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    if qt == QuantType.F32:
        return w.astype("<f4").tobytes(), 0.0
    if qt == QuantType.F16:
        h = w.astype("<f2")
        return h.tobytes(), float(np.abs(h.astype(np.float32) - w).max())
    if qt == QuantType.Q8:
        quant, err = quantize_q8(w, group_size)
        ngroups = cols // group_size
        scale_bytes = align16(4 * ngroups)
        out = np.zeros((rows, row_stride(qt, cols, group_size)), dtype=np.uint8)
        out[:, :4 * ngroups] = quant.scales.astype("<f4").view(np.uint8).reshape(rows, 4 * ngroups)
        out[:, scale_bytes:scale_bytes + cols] = quant.q.view(np.uint8)
        return out.tobytes(), err
    raise ValueError(f"quant type {qt.name} is not supported in PSNT v1")


def unpack_q8(data: bytes | np.ndarray, rows: int, cols: int, group_size: int) -> QuantizedQ8:
    ngroups = cols // group_size
    stride = row_stride(QuantType.Q8, cols, group_size)
    raw = np.frombuffer(data, dtype=np.uint8, count=rows * stride).reshape(rows, stride)
    scales = raw[:, :4 * ngroups].copy().view("<f4").astype(np.float32).reshape(rows, ngroups)
    off = align16(4 * ngroups)
    q = raw[:, off:off + cols].copy().view(np.int8)
    return QuantizedQ8(q, scales, group_size)


def unpack_rows(qt: QuantType, data: bytes | np.ndarray, rows: int, cols: int, group_size: int):
    """Decode PSNT row layout: an f32 array for f32/f16, a QuantizedQ8 for q8."""
    if qt == QuantType.F32:
        return np.frombuffer(data, dtype="<f4", count=rows * cols).astype(np.float32).reshape(rows, cols)
    if qt == QuantType.F16:
        w = np.frombuffer(data, dtype="<f2", count=rows * cols).astype(np.float32).reshape(rows, cols)
        bad = ~np.isfinite(w)       # the C's f16_to_f32 reads inf and NaN halves as +-65504
        if bad.any():
            w[bad] = np.copysign(np.float32(65504), w[bad])
        return w
    if qt == QuantType.Q8:
        return unpack_q8(data, rows, cols, group_size)
    raise ValueError(f"quant type {qt.name} is not supported in PSNT v1")


def quantize_activation_q8(x: np.ndarray) -> tuple[np.ndarray, np.float32]:
    """int8 activations with one scale for the vector, rounding half away from zero,
    in f32 exactly as docs/FORMAT.md specifies (the C kernels do the same)."""
    x = np.asarray(x, dtype=np.float32)
    amax = np.float32(np.abs(x).max()) if x.size else np.float32(0)
    if amax == 0:
        return np.zeros(x.shape, dtype=np.int8), np.float32(0)
    inv = np.float32(127) / amax
    xs = amax / np.float32(127)
    q = np.trunc(x * inv + np.copysign(np.float32(0.5), x)).astype(np.float32)
    return np.clip(q, -127, 127).astype(np.int8), np.float32(xs)


def matvec_q8(w: QuantizedQ8, x: np.ndarray) -> np.ndarray:
    """W (rows, cols) @ x (cols,) -> (rows,), with int8 activations and int32 group sums."""
    xq, xs = quantize_activation_q8(x)
    rows, cols = w.q.shape
    ng = cols // w.group_size
    acc = w.group_sums(xq)                 # exact integers, as the C's int32 sums
    partial = acc.astype(np.float32) * w.scales
    out = np.zeros(rows, dtype=np.float32)
    for g in range(ng):               # groups summed in order, as the C kernel does
        out += partial[:, g]
    return out * xs
