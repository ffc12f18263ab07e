"""A Llama in PyTorch with the arithmetic of model/reference.py, for training.

Same shapes and tensor roles as model/weights.py, HF rotate-half rotary on q/k,
RMSNorm, SwiGLU, grouped-query attention, optional tied embeddings, and optional
layer sharing (`share` consecutive layers use one set of weights; the export
writes each layer's copy, so the runtime sees an ordinary model).

Quantization-aware training (`quant` = "float", "q8" or "ternary") fake-quantizes
in the forward pass what the runtime quantizes, with straight-through gradients:
- weights per row: q8 as model/quant.py quantize_q8 (scale = amax/127, round half
  to even, clip to ±127); ternary as BitNet b1.58 (scale = mean |w| of the row,
  round, clip to ±1). Token embeddings (and the tied output head) stay q8 in the
  ternary mode;
- the input vector of every matvec: integers of +-ACT_LEVELS with one scale per
  vector, rounding half away from zero, as model/quant.py quantize_activation (the
  C kernels' scheme).
So a q8-trained model exported to a q8 PSNT computes (nearly) what it computed in
training; tests/test_train.py checks the logits against model/reference.py."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from model.config import ModelConfig
from model.quant import ACT_LEVELS
from model.reference import rope_inv_freq

QUANT_MODES = ("float", "q8", "ternary")


@dataclass(frozen=True)
class TrainShape:
    """The model's shape plus the trainer-only option `share`."""
    dim: int = 256
    hidden_dim: int = 768
    n_layers: int = 6
    n_heads: int = 8
    n_kv_heads: int = 4
    vocab_size: int = 4096
    max_seq_len: int = 512
    share: int = 1                    # consecutive layers per set of weights
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_embeddings: bool = True

    def model_config(self) -> ModelConfig:
        d = asdict(self)
        d.pop("share")
        return ModelConfig(**d)

    def __post_init__(self) -> None:
        self.model_config()       # validates the shape
        if self.share < 1 or self.n_layers % self.share:
            raise ValueError(f"share={self.share} must divide n_layers={self.n_layers}")


# ---------------------------------------------------------------- fake quantization

def ste(x: torch.Tensor, xq: torch.Tensor) -> torch.Tensor:
    """xq forward, identity gradient."""
    return x + (xq - x).detach()


def fake_q8_rows(w: torch.Tensor) -> torch.Tensor:
    """Per-row symmetric int8, as quantize_q8 with one group per row."""
    scale = w.detach().abs().amax(dim=-1, keepdim=True) / 127.0
    safe = torch.where(scale == 0, torch.ones_like(scale), scale)
    return ste(w, torch.clamp(torch.round(w.detach() / safe), -127, 127) * scale)


def fake_ternary_rows(w: torch.Tensor) -> torch.Tensor:
    """BitNet b1.58: per-row absmean scale, weights in {-1, 0, 1} * scale."""
    scale = w.detach().abs().mean(dim=-1, keepdim=True).clamp_min(1e-8)
    return ste(w, torch.clamp(torch.round(w.detach() / scale), -1, 1) * scale)


def fake_act(x: torch.Tensor) -> torch.Tensor:
    """Per-vector integer activations in [-ACT_LEVELS, ACT_LEVELS], rounding half
    away from zero (model/quant.py quantize_activation, the C kernels' scheme)."""
    xd = x.detach()
    amax = xd.abs().amax(dim=-1, keepdim=True)
    safe = torch.where(amax == 0, torch.ones_like(amax), amax)
    q = torch.clamp(torch.trunc(xd * (ACT_LEVELS / safe) + torch.copysign(torch.full_like(xd, 0.5), xd)),
                    -ACT_LEVELS, ACT_LEVELS)
    return ste(x, q * (safe / ACT_LEVELS))


class QLinear(nn.Module):
    """y = W x, W (out, in), fake-quantized per the model's mode."""

    def __init__(self, n_in: int, n_out: int, owner: "TinyLlama") -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        self._owner = [owner]         # a list: not registered as a submodule

    def qweight(self) -> torch.Tensor:
        mode = self._owner[0].quant
        if mode == "q8":
            return fake_q8_rows(self.weight)
        if mode == "ternary":
            return fake_ternary_rows(self.weight)
        return self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._owner[0].quant != "float":
            x = fake_act(x)
        return F.linear(x, self.qweight())


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)) * self.weight


class Block(nn.Module):
    def __init__(self, s: TrainShape, owner: "TinyLlama") -> None:
        super().__init__()
        cfg = s.model_config()
        self.n_heads, self.n_kv, self.hd = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.attention_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.wq = QLinear(cfg.dim, cfg.q_dim, owner)
        self.wk = QLinear(cfg.dim, cfg.kv_dim, owner)
        self.wv = QLinear(cfg.dim, cfg.kv_dim, owner)
        self.wo = QLinear(cfg.q_dim, cfg.dim, owner)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.w1 = QLinear(cfg.dim, cfg.hidden_dim, owner)
        self.w2 = QLinear(cfg.hidden_dim, cfg.dim, owner)
        self.w3 = QLinear(cfg.dim, cfg.hidden_dim, owner)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        xb = self.attention_norm(x)
        q = rotate(self.wq(xb).view(B, T, self.n_heads, self.hd), cos, sin)
        k = rotate(self.wk(xb).view(B, T, self.n_kv, self.hd), cos, sin)
        v = self.wv(xb).view(B, T, self.n_kv, self.hd)
        rep = self.n_heads // self.n_kv           # query head h reads kv head h // rep
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.wo(o.transpose(1, 2).reshape(B, T, -1))
        xb = self.ffn_norm(x)
        return x + self.w2(F.silu(self.w1(xb)) * self.w3(xb))


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """HF rotate-half per head: x (B, T, heads, hd); cos, sin (T, hd/2)."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    c, s = cos[:, None, :], sin[:, None, :]
    return torch.cat([a * c - b * s, b * c + a * s], dim=-1)


class TinyLlama(nn.Module):
    def __init__(self, s: TrainShape) -> None:
        super().__init__()
        self.shape = s
        self.quant = "float"
        cfg = s.model_config()
        self.tok_embeddings = nn.Parameter(torch.empty(cfg.vocab_size, cfg.dim))
        self.blocks = nn.ModuleList(Block(s, self) for _ in range(cfg.n_layers // s.share))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.output = None if cfg.tie_embeddings else QLinear(cfg.dim, cfg.vocab_size, self)
        inv = torch.from_numpy(rope_inv_freq(cfg.head_dim, cfg.rope_theta))
        ang = torch.arange(cfg.max_seq_len, dtype=torch.float32)[:, None] * inv[None, :]
        self.register_buffer("cos", torch.cos(ang), persistent=False)
        self.register_buffer("sin", torch.sin(ang), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        g = torch.Generator().manual_seed(0)
        std = 0.02
        out_std = std / math.sqrt(2 * self.shape.n_layers)     # GPT-2 scaled residual init
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                nn.init.ones_(p)
            else:
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=g) * (out_std if name.endswith(("wo.weight", "w2.weight")) else std))

    def set_quant(self, mode: str) -> None:
        if mode not in QUANT_MODES:
            raise ValueError(f"quant mode {mode!r} is not one of {', '.join(QUANT_MODES)}")
        self.quant = mode

    def embedding_matrix(self) -> torch.Tensor:
        return self.tok_embeddings if self.quant == "float" else fake_q8_rows(self.tok_embeddings)

    def layers(self) -> list[Block]:
        """The block that runs at each layer (shared blocks repeat)."""
        return [b for b in self.blocks for _ in range(self.shape.share)]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, vocab) for ids (B, T)."""
        T = ids.shape[1]
        emb = self.embedding_matrix()
        x = F.embedding(ids, emb)
        cos, sin = self.cos[:T], self.sin[:T]
        for block in self.layers():
            x = block(x, cos, sin)
        x = self.norm(x)
        if self.output is not None:
            return self.output(x)
        if self.quant != "float":
            x = fake_act(x)
        return F.linear(x, emb)

    def loss(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = self(ids)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    def n_params(self) -> int:
        """Parameters of the exported model (shared layers counted once per layer)."""
        per_block = sum(p.numel() for p in self.blocks[0].parameters())
        rest = sum(p.numel() for n, p in self.named_parameters() if not n.startswith("blocks."))
        return rest + per_block * self.shape.n_layers

    def n_unique_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
