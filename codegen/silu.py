"""SwiGLU's gate: gate = silu(gate) * up, silu(g) = g * (1 / (1 + exp(min(-g, 80))))."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SiluMul:
    hidden: int

    template = "silu.c.jinja"

    def symbol(self) -> str:
        return f"silu_mul_{self.hidden}"

    def macs(self) -> int:
        return 2 * self.hidden

    def weight_bytes(self) -> int:
        return 0
