"""Rotary position embedding, Hugging Face rotate-half layout.

cos/sin are computed per step (once per token, shared by every head and layer)
from an inv_freq table that is model/reference.py's `rope_inv_freq` (one source of
truth), emitted as exact hex literals; angle = f32(pos) * inv_freq[i] is then the
same float on every target and in the reference, and ee_runtime_c/mathf.c's sin/cos
of it is what model/mathf.py computes, bit for bit. No table per position: that
would cost context * head_dim floats of RAM."""
from __future__ import annotations

from dataclasses import dataclass

from model.reference import rope_inv_freq

MAX_ANGLE = 12000.0   # mathf_sincos is accurate for |x| < 2^13 * pi/2


@dataclass(frozen=True)
class Rope:
    head_dim: int
    theta: float
    context: int

    template = "rope.c.jinja"

    def __post_init__(self) -> None:
        if self.head_dim % 2:
            raise ValueError(f"head_dim {self.head_dim} must be even for rotary embeddings")
        if (self.context - 1) * max(self.inv_freq) >= MAX_ANGLE:
            raise ValueError(f"context {self.context} is too long for the rotary sin/cos "
                             f"(angles must stay below {MAX_ANGLE})")

    def symbol(self) -> str:
        return f"rope_{self.head_dim}"

    def angles_symbol(self) -> str:
        return f"rope_angles_{self.head_dim}"

    @property
    def half(self) -> int:
        return self.head_dim // 2

    @property
    def inv_freq(self) -> list[float]:
        return [float(v) for v in rope_inv_freq(self.head_dim, self.theta)]

    def macs(self) -> int:
        return 2 * self.head_dim

    def weight_bytes(self) -> int:
        return 0
