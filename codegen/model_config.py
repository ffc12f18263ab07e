"""Values for model_config.gen.h beyond the model's shape: KV cache and run-state
sizes, and an estimate of the arena the runtime needs with every weight resident."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from codegen.spec import ModelSpec
from model.kv_cache import kv_cache_bytes, kv_position_bytes
from model.weights import Role

if TYPE_CHECKING:
    from codegen.kernels import KernelSet

SECTOR = 2048
ARENA_SLACK = 1 << 20        # allocation alignment, sector buffers, tokenizer tables


def config_context(spec: ModelSpec, ks: KernelSet) -> dict:
    cfg = spec.config
    kv_bytes = kv_cache_bytes(cfg, spec.context, spec.kv_quant)
    act_max = max(cfg.dim, cfg.hidden_dim, cfg.q_dim)
    run_state_bytes = 4 * (3 * cfg.dim + 2 * cfg.hidden_dim + 2 * cfg.q_dim + 2 * cfg.kv_dim
                           + cfg.n_heads * spec.context + cfg.vocab_size + 2 * cfg.head_dim) + 2 * act_max
    sampler_bytes = 8 * cfg.vocab_size
    n_tensors = 9 * cfg.n_layers + (2 if cfg.tie_embeddings else 3)
    table_bytes = n_tensors * (64 + 80) + 8 * 12 * (cfg.n_layers + 1) + 2 * SECTOR
    tokenizer_bytes = 3 * spec.tokenizer_bytes
    arena = (spec.weight_buffer_bytes() + kv_bytes + run_state_bytes + sampler_bytes
             + table_bytes + tokenizer_bytes + ARENA_SLACK)
    roles = [(role, spec.kind(role)) for role in Role if role in dict(spec.kinds)]
    return {
        "att_scale": float(np.float32(1.0 / np.sqrt(cfg.head_dim))),
        "act_max": act_max,
        "kv_cache_bytes": kv_bytes,
        "kv_position_bytes": kv_position_bytes(cfg, spec.kv_quant),
        "run_state_bytes": run_state_bytes,
        "arena_estimate": arena,
        "weight_bytes": spec.weight_buffer_bytes(),
        "roles": roles,
        "role_table": [(k.quant.value, k.group_size) if k else (0xFF, 0)
                       for k in (dict(spec.kinds).get(role) for role in Role)],
        "macs_per_token": ks.macs_per_token(),
    }
