"""Softmax over attention scores, in place: x_i = exp(x_i - max) / sum.

On the EE the exps and their sum are exp4.h's VU0 loop, 8 scores a trip and a
padded tail (templates/softmax.c.jinja), with the C loop kept as its twin
`softmax_c`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Softmax:
    max_len: int     # the context: scores per head never exceed it

    template = "softmax.c.jinja"

    def symbol(self) -> str:
        return "softmax"

    def macs(self) -> int:
        return 2 * self.max_len

    def weight_bytes(self) -> int:
        return 0
