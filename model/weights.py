"""A model in canonical form: shape, tokenizer and f32 weights under canonical
names. Every importer produces one; the PSNT writer and the reference forward
pass consume one."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from model.config import ModelConfig
from model.vocab import Vocab


class Role(IntEnum):
    """Tensor roles, numbered as in the PSNT tensor table (docs/FORMAT.md)."""
    TOK_EMBEDDINGS = 0
    ATTENTION_NORM = 1
    WQ = 2
    WK = 3
    WV = 4
    WO = 5
    FFN_NORM = 6
    W1 = 7      # gate
    W2 = 8      # down
    W3 = 9      # up
    NORM = 10
    OUTPUT = 11


LAYER_ROLES = (Role.ATTENTION_NORM, Role.WQ, Role.WK, Role.WV, Role.WO,
               Role.FFN_NORM, Role.W1, Role.W3, Role.W2)   # execution order
NORM_ROLES = (Role.ATTENTION_NORM, Role.FFN_NORM, Role.NORM)


def role_name(role: Role) -> str:
    return role.name.lower()


def tensor_name(role: Role, layer: int | None = None) -> str:
    return f"layers.{layer}.{role_name(role)}" if layer is not None else role_name(role)


def expected_shape(cfg: ModelConfig, role: Role) -> tuple[int, int]:
    """(rows, cols) of a tensor of this role; vectors are 1 × n."""
    return {
        Role.TOK_EMBEDDINGS: (cfg.vocab_size, cfg.dim),
        Role.ATTENTION_NORM: (1, cfg.dim),
        Role.WQ: (cfg.q_dim, cfg.dim),
        Role.WK: (cfg.kv_dim, cfg.dim),
        Role.WV: (cfg.kv_dim, cfg.dim),
        Role.WO: (cfg.dim, cfg.q_dim),
        Role.FFN_NORM: (1, cfg.dim),
        Role.W1: (cfg.hidden_dim, cfg.dim),
        Role.W2: (cfg.dim, cfg.hidden_dim),
        Role.W3: (cfg.hidden_dim, cfg.dim),
        Role.NORM: (1, cfg.dim),
        Role.OUTPUT: (cfg.vocab_size, cfg.dim),
    }[role]


def execution_order(cfg: ModelConfig) -> list[tuple[Role, int | None]]:
    """Every tensor of the model, in the order a forward pass uses it."""
    order: list[tuple[Role, int | None]] = [(Role.TOK_EMBEDDINGS, None)]
    for layer in range(cfg.n_layers):
        order += [(role, layer) for role in LAYER_ROLES]
    order.append((Role.NORM, None))
    if not cfg.tie_embeddings:
        order.append((Role.OUTPUT, None))
    return order


@dataclass
class LlamaModel:
    """Weights are f32 arrays of shape expected_shape(); norms are 1-D (dim,).
    wq/wk rows use the Hugging Face rotate-half rotary layout."""
    config: ModelConfig
    vocab: Vocab
    weights: dict[str, np.ndarray]
    name: str = ""

    def tensor(self, role: Role, layer: int | None = None) -> np.ndarray:
        return self.weights[tensor_name(role, layer)]

    def validate(self, source: str) -> None:
        """Raise ValueError naming `source` when a tensor is missing or misshapen."""
        cfg = self.config
        for role, layer in execution_order(cfg):
            name = tensor_name(role, layer)
            if name not in self.weights:
                raise ValueError(f"{source}: missing tensor {name}")
            rows, cols = expected_shape(cfg, role)
            want = (cols,) if role in NORM_ROLES else (rows, cols)
            got = tuple(self.weights[name].shape)
            if got != want:
                raise ValueError(f"{source}: tensor {name} has shape {got}, expected {want} from the model config")
        if len(self.vocab) != cfg.vocab_size:
            raise ValueError(f"{source}: tokenizer has {len(self.vocab)} tokens but the model has vocab_size={cfg.vocab_size}")
