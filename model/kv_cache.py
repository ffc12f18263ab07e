"""The KV cache's element types, its size, and what the runtime reads back from it.

The runtime (ee_runtime_c/forward.c with the generated kv_cache kernels,
templates/kv_cache.c.jinja) computes each position's keys and values in f32, stores
them in the cache in one of these types, and reads them back as f32 for attention:

- f32: as computed.
- f16: IEEE binary16, rounded to nearest even (a half read back as inf, which only
  values beyond 65504 give, is taken as +-65504, as for f16 weights).
- q8: per (position, kv head), the head_dim values as int8 with one f32 scale:
  scale = amax / 127, q = clamp(round half away from zero(x * (127 / amax)), -127, 127),
  read back as f32(q) * scale. Per position: kv_dim bytes of values + 4 per head.

`kv_cache_bytes` is the one size formula: the planner reserves it and codegen
allocates it (MODEL_KV_CACHE_BYTES). `round_trip` is the reference's side
(model/reference.py keeps the values the runtime reads back)."""
from __future__ import annotations

import numpy as np

from model.config import ModelConfig
from model.quant import f16_to_f32, quantize_symmetric

KV_QUANTS = ("f32", "f16", "q8")
Q8_LEVELS = 127      # int8: the KV cache's own, whatever the activation quantizer uses


def check_kv_quant(kv_quant: str) -> str:
    if kv_quant not in KV_QUANTS:
        raise ValueError(f"unknown KV cache precision {kv_quant!r}; known: {', '.join(KV_QUANTS)}")
    return kv_quant


def kv_position_bytes(cfg: ModelConfig, kv_quant: str) -> int:
    """Bytes of one position's keys (or values) in one layer."""
    return {"f32": 4 * cfg.kv_dim, "f16": 2 * cfg.kv_dim,
            "q8": cfg.kv_dim + 4 * cfg.n_kv_heads}[check_kv_quant(kv_quant)]


def kv_cache_bytes(cfg: ModelConfig, context: int, kv_quant: str) -> int:
    """Keys and values of every layer and position (two arena allocations of half)."""
    return 2 * cfg.n_layers * context * kv_position_bytes(cfg, kv_quant)


def round_trip(x: np.ndarray, kv_quant: str) -> np.ndarray:
    """x (n_kv_heads, head_dim) f32, as the runtime reads it back after storing it."""
    x = np.asarray(x, dtype=np.float32)
    if check_kv_quant(kv_quant) == "f32":
        return x.copy()
    if kv_quant == "f16":
        with np.errstate(over="ignore"):        # beyond 65504: inf, read back as 65504
            return f16_to_f32(x.astype(np.float16))
    q, scale = quantize_symmetric(x, Q8_LEVELS)           # an all-zero head stays zero
    # through int8 as the C stores it: a -0.0 comes back +0.0
    return q.astype(np.int8).astype(np.float32) * scale
