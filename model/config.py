"""The shape of a Llama-style model, as every importer, the PSNT writer and the
reference forward pass see it."""
from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelConfig:
    dim: int            # residual stream width
    hidden_dim: int     # SwiGLU inner width
    n_layers: int
    n_heads: int
    n_kv_heads: int     # < n_heads means grouped-query attention
    vocab_size: int
    max_seq_len: int    # context length the model was trained for
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_embeddings: bool = False   # output projection = token embedding matrix
    head_dim: int = 0   # 0 means dim // n_heads

    def __post_init__(self) -> None:
        # Stored as f32 in PSNT and used as f32 everywhere: keep the f32 value.
        for name in ("norm_eps", "rope_theta"):
            object.__setattr__(self, name, struct.unpack("<f", struct.pack("<f", getattr(self, name)))[0])
        if self.head_dim == 0:
            object.__setattr__(self, "head_dim", self.dim // max(self.n_heads, 1))
        problems = []
        for name in ("dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads",
                     "vocab_size", "max_seq_len", "head_dim"):
            if getattr(self, name) <= 0:
                problems.append(f"{name}={getattr(self, name)} must be positive")
        if not problems and self.n_heads % self.n_kv_heads:
            problems.append(f"n_heads={self.n_heads} is not a multiple of n_kv_heads={self.n_kv_heads}")
        if not problems and self.head_dim % 2:
            problems.append(f"head_dim={self.head_dim} must be even for rotary embeddings")
        if problems:
            raise ValueError("invalid model shape: " + "; ".join(problems))

    @property
    def kv_dim(self) -> int:
        return self.n_kv_heads * self.head_dim

    @property
    def q_dim(self) -> int:
        return self.n_heads * self.head_dim
