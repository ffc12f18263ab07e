"""SwiGLU's gate: gate = silu(gate) * up, silu(g) = g * (1 / (1 + exp(min(-g, 80)))).

On the EE the kernel is exp4.h's VU0 loop, 8 elements a trip, when hidden is a
multiple of 8 (`vu0`), with the C loop kept as its twin `<symbol>_c`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SiluMul:
    hidden: int

    template = "silu.c.jinja"

    def symbol(self) -> str:
        return f"silu_mul_{self.hidden}"

    @property
    def vu0(self) -> bool:
        """Whether the EE build has the VU0 variant (8 elements a trip, no tail)."""
        return self.hidden % 8 == 0

    def macs(self) -> int:
        return 2 * self.hidden

    def weight_bytes(self) -> int:
        return 0
