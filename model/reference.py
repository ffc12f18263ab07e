"""The numpy reference forward pass: one token at a time with a KV cache, as
llama2.c's `forward()`, vectorised over rows and heads. It defines the arithmetic
the C runtime must reproduce, and reproduces it bit for bit: every float32 operation
of ee_runtime_c/forward.c and the generated kernels (templates/*.jinja) is done here
in f32, once, in the same order, so on IEEE round-to-nearest hardware (x86 SSE,
qemu MIPS) the logits are identical and greedy decoding gives the same tokens
however long it runs. (The C is built with -ffp-contract=off and without
-ffast-math, so the compiler neither fuses nor reorders float operations.)

How the order is kept in numpy:
- sums are sequential, as the C loops: `seqsum` takes the last element of an f32
  cumsum (numpy accumulates strictly in order; np.sum and BLAS do not);
  vectorised over every other axis;
- elementwise f32 products, sums and quotients round once, as in C;
- exp, sin and cos are model/mathf.py, a port of ee_runtime_c/mathf.c;
- every constant is np.float32 so nothing is promoted to float64 (only the
  constant rotary frequency table is derived through f64, see rope_inv_freq).

A weight is either an f32 array (f32 and f16 tensors: a sequential dot product per
row) or a `QuantizedQ8` (`matvec_q8`: int16 activations, exact int32 group sums, the
C scheme bit for bit).

Per token (x: the residual stream, dim):
    x = tok_embeddings[token]                   q8: q (as f32) * scale of its group (q4m: + its minimum)
    for each layer L:
        xb = rmsnorm(x, attention_norm)
        q = wq @ xb;  k = wk @ xb;  v = wv @ xb
        q, k = rope(q, pos), rope(k, pos)       every head; k, v go to the cache at pos
                                                in the KV type (model/kv_cache.py); attention
                                                reads them back as f32
        for each query head h (kv head g = h // (n_heads / n_kv_heads)):
            s_t = (q_h · k_{t,g}) * f32(1/sqrt(head_dim))        t = 0..pos, · in 4 lanes:
                                        attention_dot
            a = softmax(s)                      exp(s_t - max s) / (sum of them)
            o_h = sum_t a_t * v_{t,g}           in order of t
        x = x + wo @ o
        xb = rmsnorm(x, ffn_norm)
        x = x + w2 @ (silu(w1 @ xb) * (w3 @ xb))
    x = rmsnorm(x, norm)
    logits = output @ x                         tied: tok_embeddings @ x
    next token = first index of the largest logit

Dot products and sums start from 0.0f and add the terms in index order, except
attention's q · k (attention_dot): 4 lane sums, lane j adding the products of
elements i = j mod 4 in index order, then ((l0 + l1) + l2) + l3, the order VU0's
4-lane loop computes on the EE (ee_runtime_c/attention.c, vu0.h).
rmsnorm(x, w) = (x * (1 / sqrt(sum(x*x) / dim + eps))) * w
rope: in each head, element i (i < head_dim/2) pairs with i + head_dim/2 (Hugging
      Face rotate-half); with f = f32(pos) * inv_freq[i], (s, c) = mathf sincos f:
          out[i]       = x[i] * c - x[i + half] * s
          out[i + half] = x[i + half] * c + x[i] * s
      inv_freq[i] = 1 / theta ** (f32(2i) / head_dim) in f32 (see rope_inv_freq;
      codegen emits this very table).
silu(g) = g * (1 / (1 + exp(-g))), with -g clamped to 80 so exp never overflows
      (the EE FPU has no inf); the clamp changes nothing above 1e-33.
"""
from __future__ import annotations

from typing import Callable, Protocol, Union

import numpy as np

from model import mathf
from model.config import ModelConfig
from model.kv_cache import check_kv_quant, round_trip as kv_round_trip
from model.quant import QuantizedQ8, matvec_q8
from model.weights import NORM_ROLES, Role, execution_order, tensor_name

F32 = np.float32
Tensor = Union[np.ndarray, QuantizedQ8]


class WeightSource(Protocol):
    """What the reference reads weights from: a PsntFile, or anything with a model
    config and `load(name)` giving an f32 array or a QuantizedQ8."""
    config: ModelConfig

    def load(self, name: str) -> Tensor: ...


def weight_loader(source) -> Callable[[str], Tensor]:
    """The one adapter: LlamaModel keeps f32 weights in `.weights`, PsntFile (and
    any WeightSource) has `.load(name)`."""
    if hasattr(source, "load"):
        return source.load
    if hasattr(source, "weights"):
        return source.weights.__getitem__
    raise TypeError(f"cannot read weights from {type(source).__name__}: "
                    "expected a LlamaModel, a PsntFile or an object with .config and .load(name)")


def rope_inv_freq(head_dim: int, theta: float) -> np.ndarray:
    """inv_freq[i] = 1 / theta ** (f32(2i) / head_dim), (head_dim/2,) f32. The power
    is the correctly rounded f32 result, as torch's pow gives in transformers'
    LlamaRotaryEmbedding (numpy's f32 pow is off by an ulp in places, and at
    position 8192 an ulp of inv_freq moves cos by 2e-4). A per-model constant: the
    C runtime gets this table from codegen rather than calling powf."""
    exponent = np.arange(0, head_dim, 2, dtype=np.int64).astype(F32) / F32(head_dim)
    power = np.power(float(theta), exponent.astype(np.float64)).astype(F32)   # table only
    return F32(1) / power


def rope_tables(head_dim: int, theta: float, n_pos: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of f32(pos) * inv_freq, (n_pos, head_dim/2) f32, as the C's
    rope_angles computes them per position (mathf_sincos)."""
    freqs = np.arange(n_pos, dtype=F32)[:, None] * rope_inv_freq(head_dim, theta)[None, :]
    sin, cos = mathf.sincos(freqs)
    return cos, sin


def seqsum(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Sum along axis in f32, sequentially from 0.0f in index order, as a C loop
    `s = 0.0f; for (i...) s += a[i];` does. A cumsum accumulates in order; its
    last element differs from the C only for an all -0 sum (-0 instead of +0),
    which the final + 0 makes +0."""
    if a.shape[axis] == 0:
        return np.zeros(np.delete(a.shape, axis), F32)
    return np.take(np.cumsum(a, axis=axis, dtype=F32), -1, axis=axis) + F32(0)


def attention_dot(products: np.ndarray) -> np.ndarray:
    """Sum of the last axis as attention.c's att_dot: lane j (of 4) adds the elements
    i = j mod 4 in index order from 0.0f, then ((l0 + l1) + l2) + l3. A ragged end is
    padded with +0, which changes no lane (a lane that starts at +0 is never -0)."""
    n = products.shape[-1]
    pad = np.zeros(products.shape[:-1] + ((-n) % 4,), F32)
    quads = np.concatenate([products, pad], axis=-1).reshape(products.shape[:-1] + (-1, 4))
    lane = seqsum(quads, axis=-2)
    return ((lane[..., 0] + lane[..., 1]) + lane[..., 2]) + lane[..., 3]


def rmsnorm(x: np.ndarray, w: np.ndarray, eps: np.float32) -> np.ndarray:
    ss = seqsum(x * x)
    return (x * (F32(1) / np.sqrt(ss / F32(x.shape[-1]) + eps))) * w


def rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """x: (heads, head_dim); cos, sin: (head_dim/2,) for this position."""
    half = x.shape[-1] // 2
    a, b = x[:, :half], x[:, half:]
    return np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)


def silu(g: np.ndarray) -> np.ndarray:
    return g * (F32(1) / (F32(1) + mathf.exp(np.minimum(-g, F32(80)))))


def softmax(s: np.ndarray) -> np.ndarray:
    """Along the last axis: e = exp(s - max s), then e / (sequential sum of e)."""
    e = mathf.exp(s - s.max(axis=-1, keepdims=True))
    return e / seqsum(e)[..., None]


MATVEC_BLOCK = 1 << 20      # elements of W times x held at once


def matvec_f32(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """W (rows, cols) f32 @ x (cols,): per row, the products summed in column order."""
    rows, cols = w.shape
    out = np.empty(rows, F32)
    step = max(1, MATVEC_BLOCK // max(cols, 1))
    for r in range(0, rows, step):
        out[r:r + step] = seqsum(w[r:r + step] * x)
    return out


def matvec(w: Tensor, x: np.ndarray) -> np.ndarray:
    """W (rows, cols) @ x (cols,) -> (rows,)."""
    if isinstance(w, QuantizedQ8):
        return matvec_q8(w, x)
    return matvec_f32(w, x)


def embedding_row(w: Tensor, token: int) -> np.ndarray:
    if isinstance(w, QuantizedQ8):
        return w.dequantize(token)
    return w[token].copy()


class ReferenceModel:
    """Decodes one token at a time; `forward(token, pos)` writes this position's
    keys and values into the cache and attends to positions 0..pos.

    `source` is a LlamaModel (all f32), a PsntFile, or any WeightSource.
    `max_seq_len` caps the context below the model's own (to bound the cache).
    `kv_quant` is the KV cache's element type, f32, f16 or q8 (a plan's kv_quant)."""

    def __init__(self, source, *, max_seq_len: int | None = None, kv_quant: str = "f32") -> None:
        cfg: ModelConfig = source.config
        self.config = cfg
        self.kv_quant = check_kv_quant(kv_quant)
        self.max_seq_len = min(cfg.max_seq_len, max_seq_len or cfg.max_seq_len)
        load = weight_loader(source)
        self.w: dict[str, Tensor] = {}
        for role, layer in execution_order(cfg):
            t = load(tensor_name(role, layer))
            if role in NORM_ROLES:
                t = np.asarray(t, dtype=F32).reshape(-1)
            elif not isinstance(t, QuantizedQ8):
                t = np.asarray(t, dtype=F32)
            self.w[tensor_name(role, layer)] = t
        self.output = self.w[tensor_name(Role.TOK_EMBEDDINGS if cfg.tie_embeddings else Role.OUTPUT)]
        self.eps = F32(cfg.norm_eps)
        self.att_scale = F32(1.0 / np.sqrt(cfg.head_dim))
        self.cos, self.sin = rope_tables(cfg.head_dim, cfg.rope_theta, self.max_seq_len)
        # cache: (layer, position, kv head, head_dim), the f32 values the runtime reads
        # back from its cache (kv_round_trip), grown on demand
        self.k_cache = np.zeros((cfg.n_layers, 0, cfg.n_kv_heads, cfg.head_dim), F32)
        self.v_cache = np.zeros_like(self.k_cache)
        self.n_pos = 0          # positions 0..n_pos-1 hold keys and values

    def reset(self) -> None:
        self.n_pos = 0

    def _reserve(self, pos: int) -> None:
        have = self.k_cache.shape[1]
        if pos < have:
            return
        grow = min(max(2 * have, pos + 1, 16), self.max_seq_len) - have
        pad = ((0, 0), (0, grow), (0, 0), (0, 0))
        self.k_cache = np.pad(self.k_cache, pad)
        self.v_cache = np.pad(self.v_cache, pad)

    def forward(self, token: int, pos: int) -> np.ndarray:
        """Logits (vocab_size,) f32 for the token at position `pos`."""
        cfg, w = self.config, self.w
        if not 0 <= token < cfg.vocab_size:
            raise ValueError(f"token id {token} is outside the vocabulary (0..{cfg.vocab_size - 1})")
        if not 0 <= pos <= min(self.n_pos, self.max_seq_len - 1):
            raise ValueError(f"position {pos} is not in 0..{min(self.n_pos, self.max_seq_len - 1)} "
                             f"(positions filled: {self.n_pos}, context: {self.max_seq_len})")
        self._reserve(pos)
        hd, n_kv = cfg.head_dim, cfg.n_kv_heads
        n_rep = cfg.n_heads // n_kv
        cos, sin = self.cos[pos], self.sin[pos]

        x = embedding_row(w[tensor_name(Role.TOK_EMBEDDINGS)], token)
        for L in range(cfg.n_layers):
            def t(role: Role) -> Tensor:
                return w[tensor_name(role, L)]

            xb = rmsnorm(x, t(Role.ATTENTION_NORM), self.eps)
            q = rope(matvec(t(Role.WQ), xb).reshape(cfg.n_heads, hd), cos, sin)
            k = rope(matvec(t(Role.WK), xb).reshape(n_kv, hd), cos, sin)
            self.k_cache[L, pos] = kv_round_trip(k, self.kv_quant)
            self.v_cache[L, pos] = kv_round_trip(matvec(t(Role.WV), xb).reshape(n_kv, hd), self.kv_quant)

            keys = self.k_cache[L, :pos + 1].transpose(1, 0, 2)       # (kv head, t, hd)
            values = self.v_cache[L, :pos + 1].transpose(1, 0, 2)
            qg = q.reshape(n_kv, n_rep, hd)                            # query head h = g*n_rep + r
            dots = attention_dot(qg[:, :, None, :] * keys[:, None, :, :])   # (g, r, t)
            att = softmax(dots * self.att_scale)
            o = seqsum(att[..., None] * values[:, None, :, :], axis=2)  # (g, r, hd), in order of t
            o = o.reshape(cfg.q_dim)
            x = x + matvec(t(Role.WO), o)

            xb = rmsnorm(x, t(Role.FFN_NORM), self.eps)
            hb = silu(matvec(t(Role.W1), xb)) * matvec(t(Role.W3), xb)
            x = x + matvec(t(Role.W2), hb)

        x = rmsnorm(x, w[tensor_name(Role.NORM)], self.eps)
        self.n_pos = pos + 1
        return matvec(self.output, x)

    def generate_greedy(self, prompt_ids: list[int], n_new: int, eos_id: int | None = None,
                        logits_out: list[np.ndarray] | None = None) -> list[int]:
        """Up to n_new new token ids after the prompt (the prompt is not included),
        each the first argmax of the logits. Starts from an empty cache. Stops after
        emitting eos_id (when given) or when prompt + new tokens fill max_seq_len.
        logits_out, when given, gets the logits of every forward pass appended
        (positions 0, 1, ...: the prompt's, then those each new token came from)."""
        if not prompt_ids:
            raise ValueError("the prompt needs at least one token (e.g. BOS)")
        if len(prompt_ids) > self.max_seq_len:
            raise ValueError(f"prompt of {len(prompt_ids)} tokens is longer than the context "
                             f"of {self.max_seq_len}")
        self.reset()
        n_new = min(n_new, self.max_seq_len - len(prompt_ids))
        out: list[int] = []
        record = logits_out.append if logits_out is not None else (lambda logits: None)
        for pos, token in enumerate(prompt_ids[:-1]):
            record(self.forward(token, pos))
        token, pos = prompt_ids[-1], len(prompt_ids) - 1
        while len(out) < n_new:
            logits = self.forward(token, pos)
            record(logits)
            token = int(np.argmax(logits))
            out.append(token)
            pos += 1
            if token == eos_id:
                break
        return out
