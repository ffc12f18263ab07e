"""The KV cache kernels of one element type (model/kv_cache.py): store one
position's keys or values, computed in f32, and read one head of one position back
as f32 for attention. forward.c calls them through MODEL_KV_STORE / MODEL_KV_HEAD,
so the attention loop is the same C for every type."""
from __future__ import annotations

from dataclasses import dataclass

from model.kv_cache import Q8_LEVELS, check_kv_quant


@dataclass(frozen=True)
class KvCache:
    quant_name: str      # f32, f16 or q8
    n_layers: int
    context: int
    n_kv_heads: int
    head_dim: int

    template = "kv_cache.c.jinja"
    q8_levels = Q8_LEVELS

    def __post_init__(self) -> None:
        check_kv_quant(self.quant_name)

    @property
    def kv_dim(self) -> int:
        return self.n_kv_heads * self.head_dim

    @property
    def vectors(self) -> int:
        """(layer, position, kv head) vectors in the keys (or the values): q8's scales."""
        return self.n_layers * self.context * self.n_kv_heads

    @property
    def scale_bytes(self) -> int:
        """q8: the f32 scales at the start of the keys (or values)."""
        return 4 * self.vectors

    def store_symbol(self) -> str:
        return f"kv_store_{self.quant_name}"

    def head_symbol(self) -> str:
        return f"kv_head_{self.quant_name}"
