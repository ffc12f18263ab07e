"""RMSNorm: out = (x * (1 / sqrt(mean(x*x) + eps))) * w."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rmsnorm:
    dim: int
    eps: float

    template = "rmsnorm.c.jinja"

    def symbol(self) -> str:
        return f"rmsnorm_{self.dim}"

    def macs(self) -> int:
        return 2 * self.dim

    def weight_bytes(self) -> int:
        return 4 * self.dim
