"""Import a llama2.c checkpoint (`model.bin`) with its tokenizer into a canonical
LlamaModel.

Formats, as written by llama2.c's `export.py` and read by its `run.c` / `runq.c`:
- version 0 (legacy, `legacy_export`): 7 int32 (dim, hidden_dim, n_layers, n_heads,
  n_kv_heads, vocab_size, max_seq_len; vocab_size < 0 means an own classifier),
  then f32 token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
  freq_cis_real, freq_cis_imag (max_seq_len × head_dim/2 each, unused), [wcls];
  each per-layer array holds all layers one after the other.
- version 1 (`version1_export`): 256-byte header: u32 magic 0x616b3432 ("ak42"),
  i32 version, the 7 int32, u8 shared_classifier; then f32 rms_att, rms_ffn,
  rms_final, token_embedding, wq, wk, wv, wo, w1, w2, w3, [wcls].
- version 2 (`version2_export`, Q8_0): as version 1 plus i32 group_size at byte 37;
  f32 norms as above, then int8 values of token_embedding, wq, wk, wv, wo, w1, w2,
  w3, [wcls], then their f32 scales (one per group_size values) in the same order.
llama2.c's rotary rotates pairs (2i, 2i+1) of each head, so wq/wk rows are in the
interleaved layout; we permute them to rotate-half. Rope theta 10000, eps 1e-5.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from model.config import ModelConfig
from model.import_gguf import interleaved_to_rotate_half
from model.vocab import Vocab
from model.weights import LlamaModel, Role, tensor_name

MAGIC = 0x616B3432
HEADER_V1 = 256

_LAYER_MATRICES = (Role.WQ, Role.WK, Role.WV, Role.WO, Role.W1, Role.W2, Role.W3)


def _shapes(cfg: ModelConfig) -> dict[Role, tuple[int, ...]]:
    """Shape of one tensor of each role as llama2.c writes it."""
    d, h, q, kv = cfg.dim, cfg.hidden_dim, cfg.q_dim, cfg.kv_dim
    return {
        Role.TOK_EMBEDDINGS: (cfg.vocab_size, d),
        Role.ATTENTION_NORM: (d,), Role.FFN_NORM: (d,), Role.NORM: (d,),
        Role.WQ: (q, d), Role.WK: (kv, d), Role.WV: (kv, d), Role.WO: (d, q),
        Role.W1: (h, d), Role.W2: (d, h), Role.W3: (h, d),
        Role.OUTPUT: (cfg.vocab_size, d),
    }


class _Reader:
    """Sequential reads of little-endian arrays from a memory map, with a clear
    error when the file ends early."""

    def __init__(self, path: Path, offset: int) -> None:
        self.path = path
        self.data = np.memmap(path, dtype=np.uint8, mode="r")
        self.pos = offset

    def take(self, dtype: str, count: int, what: str) -> np.ndarray:
        n = count * np.dtype(dtype).itemsize
        if self.pos + n > self.data.size:
            raise ValueError(f"{self.path}: truncated llama2.c checkpoint: {what} needs bytes "
                             f"{self.pos}..{self.pos + n}, file has {self.data.size}")
        out = np.array(self.data[self.pos:self.pos + n].view(dtype), copy=True)
        self.pos += n
        return out

    def f32(self, shape: tuple[int, ...], what: str) -> np.ndarray:
        return self.take("<f4", int(np.prod(shape)), what).astype(np.float32).reshape(shape)

    def expect_end(self) -> None:
        if self.pos != self.data.size:
            raise ValueError(f"{self.path}: llama2.c checkpoint has {self.data.size} bytes but its header "
                             f"describes {self.pos}; wrong format or a corrupt header")


def _config(path: Path, header: tuple[int, ...], tied: bool) -> ModelConfig:
    dim, hidden, layers, heads, kv_heads, vocab, seq = header
    if min(dim, hidden, layers, heads, kv_heads, vocab, seq) <= 0 or dim % max(heads, 1):
        raise ValueError(f"{path}: not a llama2.c checkpoint (header dim={dim} hidden_dim={hidden} "
                         f"n_layers={layers} n_heads={heads} n_kv_heads={kv_heads} vocab_size={vocab} "
                         f"max_seq_len={seq})")
    try:
        return ModelConfig(dim=dim, hidden_dim=hidden, n_layers=layers, n_heads=heads,
                           n_kv_heads=kv_heads, vocab_size=vocab, max_seq_len=seq,
                           norm_eps=1e-5, rope_theta=10000.0, tie_embeddings=tied)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def _read_weights(path: Path) -> tuple[ModelConfig, dict[str, np.ndarray]]:
    if not path.is_file():
        raise ValueError(f"{path}: no such llama2.c checkpoint")
    with open(path, "rb") as f:
        head = f.read(HEADER_V1)
    if len(head) < 28:
        raise ValueError(f"{path}: too short for a llama2.c checkpoint ({len(head)} bytes)")
    w: dict[str, np.ndarray] = {}

    if struct.unpack_from("<I", head)[0] == MAGIC:
        if len(head) < HEADER_V1:
            raise ValueError(f"{path}: truncated llama2.c header ({len(head)} of {HEADER_V1} bytes)")
        version = struct.unpack_from("<i", head, 4)[0]
        if version not in (1, 2):
            raise ValueError(f"{path}: llama2.c checkpoint version {version} is not supported (0, 1, 2 are)")
        hdr = struct.unpack_from("<7i", head, 8)
        tied = bool(head[36])
        cfg = _config(path, hdr, tied)
        shapes = _shapes(cfg)
        r = _Reader(path, HEADER_V1)
        L = cfg.n_layers
        for role in (Role.ATTENTION_NORM, Role.FFN_NORM):
            for layer in range(L):
                w[tensor_name(role, layer)] = r.f32(shapes[role], tensor_name(role, layer))
        w[tensor_name(Role.NORM)] = r.f32(shapes[Role.NORM], "norm")
        order = [(Role.TOK_EMBEDDINGS, None)]
        order += [(role, layer) for role in _LAYER_MATRICES for layer in range(L)]
        if not tied:
            order.append((Role.OUTPUT, None))
        if version == 1:
            for role, layer in order:
                w[tensor_name(role, layer)] = r.f32(shapes[role], tensor_name(role, layer))
        else:
            group = struct.unpack_from("<i", head, 37)[0]
            if group <= 0 or any(int(np.prod(shapes[role])) % group for role, _ in order):
                raise ValueError(f"{path}: invalid Q8_0 group size {group}")
            quants = [r.take("<i1", int(np.prod(shapes[role])), tensor_name(role, layer))
                      for role, layer in order]
            for (role, layer), q in zip(order, quants):
                s = r.take("<f4", q.size // group, tensor_name(role, layer) + " scales")
                deq = q.reshape(-1, group).astype(np.float32) * s.astype(np.float32)[:, None]
                w[tensor_name(role, layer)] = deq.reshape(shapes[role])
        r.expect_end()
    else:
        hdr = struct.unpack_from("<7i", head, 0)
        tied = hdr[5] > 0
        hdr = hdr[:5] + (abs(hdr[5]),) + hdr[6:]
        cfg = _config(path, hdr, tied)
        shapes = _shapes(cfg)
        r = _Reader(path, 28)
        L = cfg.n_layers
        w[tensor_name(Role.TOK_EMBEDDINGS)] = r.f32(shapes[Role.TOK_EMBEDDINGS], "token_embedding")
        for role in (Role.ATTENTION_NORM, Role.WQ, Role.WK, Role.WV, Role.WO,
                     Role.FFN_NORM, Role.W1, Role.W2, Role.W3):
            for layer in range(L):
                w[tensor_name(role, layer)] = r.f32(shapes[role], tensor_name(role, layer))
        w[tensor_name(Role.NORM)] = r.f32(shapes[Role.NORM], "rms_final")
        half = cfg.max_seq_len * (cfg.head_dim // 2)
        r.take("<f4", 2 * half, "freq_cis_real/imag")
        if not tied:
            w[tensor_name(Role.OUTPUT)] = r.f32(shapes[Role.OUTPUT], "wcls")
        r.expect_end()

    for layer in range(cfg.n_layers):
        wq, wk = tensor_name(Role.WQ, layer), tensor_name(Role.WK, layer)
        w[wq] = interleaved_to_rotate_half(w[wq], cfg.n_heads)
        w[wk] = interleaved_to_rotate_half(w[wk], cfg.n_kv_heads)
    return cfg, w


def load_llama2c_tokenizer(path: str | Path, vocab_size: int) -> Vocab:
    """llama2.c `tokenizer.bin`, or a SentencePiece `.model` (by suffix)."""
    from model import vocab_import

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such tokenizer file")
    try:
        if path.suffix == ".model":
            return vocab_import.vocab_from_sentencepiece(path)
        return vocab_import.vocab_from_llama2c(path, vocab_size)
    except ValueError as e:
        if str(path) in str(e):
            raise
        raise ValueError(f"{path}: {e}") from None


def load_llama2c(checkpoint_path: str | Path, tokenizer_path: str | Path) -> LlamaModel:
    """Load a llama2.c checkpoint (version 0, 1 or 2) and its tokenizer
    (`tokenizer.bin` or SentencePiece `.model`). Raises ValueError naming the file."""
    path = Path(checkpoint_path)
    cfg, weights = _read_weights(path)
    vocab = load_llama2c_tokenizer(tokenizer_path, cfg.vocab_size)
    model = LlamaModel(config=cfg, vocab=vocab, weights=weights, name=path.stem)
    model.validate(str(path))
    return model
