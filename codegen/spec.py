"""What code generation needs to know about a model: its shape, the quant type and
group size of each role, and the context length the KV cache is sized for."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from codegen.stream_plan import RESIDENT, StreamPlan, load_stream_plan
from model.config import ModelConfig
from model.quant import GROUPED, QuantType, row_stride
from model.weights import NORM_ROLES, Role, execution_order, expected_shape

DEFAULT_CONTEXT = 512     # KV cache positions unless asked otherwise (capped at max_seq_len)
SECTOR = 2048


@dataclass(frozen=True)
class TensorKind:
    quant: QuantType
    group_size: int       # q8/q4/ternary; 0 for f32/f16


@dataclass(frozen=True)
class ModelSpec:
    name: str
    model_hash: str                  # names the PSNT the code was generated from
    config: ModelConfig
    kinds: tuple[tuple[Role, TensorKind], ...]   # every role the model has, in role order
    context: int                     # KV cache positions
    tokenizer_bytes: int = 0         # size of the PSNT tokenizer section (arena estimate)
    plan: StreamPlan = RESIDENT      # what streams (codegen/stream_plan.py)

    @property
    def kv_quant(self) -> str:
        """The KV cache's element type: the plan's (f32 without one)."""
        return self.plan.kv_quant

    def kind(self, role: Role) -> TensorKind:
        return dict(self.kinds)[role]

    @property
    def output_role(self) -> Role:
        return Role.TOK_EMBEDDINGS if self.config.tie_embeddings else Role.OUTPUT

    def weight_buffer_bytes(self) -> int:
        """Sector-rounded bytes of all tensors, as the runtime reads them resident."""
        total = 0
        for role, _ in execution_order(self.config):
            rows, cols = expected_shape(self.config, role)
            k = self.kind(role)
            size = rows * row_stride(k.quant, cols, k.group_size)
            total += (size + SECTOR - 1) // SECTOR * SECTOR
        return total


def _check_context(cfg: ModelConfig, context: int | None) -> int:
    if context is not None and context <= 0:
        raise ValueError(f"context {context} must be positive")
    return min(cfg.max_seq_len, context or DEFAULT_CONTEXT)


def spec_from_policy(name: str, model_hash: str, cfg: ModelConfig, quant: QuantType,
                     group_size: int = 0, context: int | None = None) -> ModelSpec:
    """The spec a PSNT written with one quant type for all matrices would give
    (norms f32; group 0 = one scale per row). Used for tests and golden files."""
    kinds = []
    roles = sorted({role for role, _ in execution_order(cfg)})
    for role in roles:
        qt = QuantType.F32 if role in NORM_ROLES else quant
        cols = expected_shape(cfg, role)[1]
        kinds.append((role, TensorKind(qt, (group_size or cols) if qt in GROUPED else 0)))
    return ModelSpec(name, model_hash, cfg, tuple(kinds), _check_context(cfg, context))


def spec_from_psnt(path: str | Path, context: int | None = None) -> ModelSpec:
    """Read a PSNT file's header and table (model/psnt.py validates them). Every
    layer must use the same quant type and group size per role, since one kernel
    serves all layers."""
    from model.psnt import read_psnt

    path = Path(path)
    psnt = read_psnt(path)
    psnt.check_data()     # a ternary code 11 fails the build, never a run
    with open(path, "rb") as f:
        header = f.read(96)
    header_crc, = struct.unpack_from("<I", header, 12)
    tok_size, = struct.unpack_from("<I", header, 80)
    kinds: dict[Role, TensorKind] = {}
    for e in psnt.entries:
        kind = TensorKind(e.quant, e.group_size)
        if kinds.setdefault(e.role, kind) != kind:
            raise ValueError(f"{path}: tensor {e.name} is {e.quant.name.lower()} group {e.group_size}, "
                             f"but other {e.role.name.lower()} tensors are "
                             f"{kinds[e.role].quant.name.lower()} group {kinds[e.role].group_size}; "
                             "code generation needs one quant type and group size per role")
    plan = load_stream_plan(path, psnt)
    if plan.context is not None:
        if context is not None and context != plan.context:
            raise ValueError(f"context {context} disagrees with the plan's {plan.context} ({plan.path})")
        if plan.context > psnt.config.max_seq_len:
            raise ValueError(f"{plan.path}: context {plan.context} exceeds the model's "
                             f"max_seq_len {psnt.config.max_seq_len}")
        context = plan.context
    return ModelSpec(psnt.name or path.stem, f"psnt header crc32 {header_crc:08x}", psnt.config,
                     tuple(sorted(kinds.items())), _check_context(psnt.config, context), tok_size,
                     plan)
