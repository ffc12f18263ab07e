"""Residency planner: which tensors stay in RAM, which stream from the disc each
token, how big the two stream buffers are and in how many blocks of rows each
streamed matrix is read (docs/PLANNER.md; the JSON is docs/PLAN_INTERFACE.md).

Pure and deterministic: the same shapes, options and device give the same plan.
The objective is the least disc time per token: bytes read plus seeks (one seek
costs as much as `device.seek_bytes` of reading) plus read requests. Resident
tensors are chosen by an exact 0/1 knapsack over the RAM left after every fixed
reservation (KV cache, run state, tokenizer, sampler, buffers), for each of a few
candidate stream-buffer sizes; the cheapest plan wins."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from model.config import ModelConfig
from model.devices import DeviceProfile, get_device
from model.kv_cache import check_kv_quant, kv_cache_bytes
from model.quant import QuantType, row_stride
from model.weights import Role, execution_order, expected_shape, tensor_name

PLAN_VERSION = 1
SECTOR = 2048
MiB = 1 << 20
PS2_RAM = 32 * MiB            # EE main RAM
KERNEL_BYTES = 1 * MiB        # the first MB belongs to the kernel and EELOAD (REFERENCE §1)
ELF_RESERVE = 1 * MiB         # BOOT.ELF text+data+bss, its 256 KB stack, the top 64 KB (ElfAudit checks it)
DEFAULT_CONTEXT = 512         # as codegen/spec.py: capped at the model's max_seq_len
ARENA_ALIGN = 64              # ee_runtime_c/arena.h
SLACK = 256 * 1024            # allocation padding, PROMPTS.TXT, prompt-encoding scratch
_KNAPSACK_UNIT = 512          # bytes per knapsack weight unit (rounded up per tensor)
_BUFFER_CANDIDATES = tuple(k * 1024 for k in (64, 128, 256, 512, 1024, 2048, 4096))


class PlanError(ValueError):
    """The model cannot run in the RAM given; the message names what does not fit
    and by how many bytes."""


def sector_align(n: int) -> int:
    return (n + SECTOR - 1) // SECTOR * SECTOR


def parse_bytes(text: str | int) -> int:
    """'32M', '32MiB', '1536K', '33554432' -> bytes (K/M/G are powers of 1024)."""
    if isinstance(text, int):
        return text
    s = text.strip().upper().removesuffix("IB").removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:], 1)
    digits = s[:-1] if s[-1:] in "KMG" else s
    try:
        value = float(digits)
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a size (e.g. 32M, 1536K, 33554432)") from None
    if value <= 0:
        raise ValueError(f"size {text!r} must be positive")
    return int(value * scale)


# ----------------------------------------------------------------------------- inputs

@dataclass(frozen=True)
class TensorShape:
    """What the planner needs of a tensor: a PSNT table entry without offset/CRC."""
    name: str
    role: Role
    layer: int | None
    quant: QuantType
    rows: int
    cols: int
    row_stride: int

    @property
    def size(self) -> int:
        return self.rows * self.row_stride

    @property
    def disc_bytes(self) -> int:
        """Bytes on the disc, padded to a sector, as the runtime reads it whole."""
        return sector_align(self.size)


def shapes_from_policy(cfg: ModelConfig, policy: Any) -> list[TensorShape]:
    """Every tensor of `cfg` as a model/psnt.QuantPolicy would write it, in execution order."""
    out = []
    for role, layer in execution_order(cfg):
        rows, cols = expected_shape(cfg, role)
        qt = policy.quant_for(role)
        out.append(TensorShape(tensor_name(role, layer), role, layer, qt, rows, cols,
                               row_stride(qt, cols, policy.group_for(qt, cols, role))))
    return out


def shapes_from_entries(cfg: ModelConfig, entries: Iterable[Any]) -> list[TensorShape]:
    """PSNT table entries (model/psnt.TensorEntry) in execution order, whatever the file's order."""
    by_name = {e.name: e for e in entries}
    out = []
    for role, layer in execution_order(cfg):
        e = by_name[tensor_name(role, layer)]
        out.append(TensorShape(e.name, e.role, e.layer, e.quant, e.rows, e.cols, e.row_stride))
    return out


# ----------------------------------------------------------------------------- the plan

@dataclass(frozen=True)
class TensorPlan:
    name: str
    role: str              # role name, e.g. "wq"
    layer: int | None
    quant: str             # "f32", "f16", "q8"
    resident: bool
    block_rows: int        # rows per streamed block; 0 when resident
    rows: int
    cols: int
    row_stride: int
    bytes: int             # tensor size (without sector padding)
    reads_per_token: int   # read requests per token (blocks, or 1 for an embedding row)
    bytes_per_token: int   # bytes read from the disc per token for this tensor


@dataclass(frozen=True)
class Plan:
    version: int
    model: str
    device: str
    ram_bytes: int
    arena_bytes: int
    elf_reserve_bytes: int
    context: int
    kv_quant: str
    kv_bytes: int
    stream_buffer_bytes: int
    embedding_row_buffer_bytes: int
    tensors: tuple[TensorPlan, ...]
    disc_order: tuple[str, ...]
    resident_bytes: int
    streamed_bytes_per_token: int
    seeks_per_token: int
    reads_per_token: int
    reservations: dict[str, int]          # arena use, by what
    free_bytes: int                       # arena left over
    disc_seconds_per_token: float         # on `device`: bytes / rate + seeks + requests
    tokenizer_bytes: int = 0

    def tensor(self, name: str) -> TensorPlan:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def streamed(self) -> list[TensorPlan]:
        return [t for t in self.tensors if not t.resident]

    @property
    def fully_resident(self) -> bool:
        return not self.streamed

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tensors"] = [asdict(t) for t in self.tensors]
        d["disc_order"] = list(self.disc_order)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        if d.get("version") != PLAN_VERSION:
            raise ValueError(f"plan version {d.get('version')!r}; this reader knows {PLAN_VERSION}")
        d = dict(d)
        d["tensors"] = tuple(TensorPlan(**t) for t in d["tensors"])
        d["disc_order"] = tuple(d["disc_order"])
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        return cls.from_dict(json.loads(text))


# ----------------------------------------------------------------------------- memory

def resolve_context(cfg: ModelConfig, context: int | None) -> int:
    if context is not None and context < 0:
        raise ValueError(f"context {context} must be positive")
    return min(cfg.max_seq_len, context or DEFAULT_CONTEXT)


def _alloc(n: int) -> int:
    return (n + ARENA_ALIGN - 1) // ARENA_ALIGN * ARENA_ALIGN


def run_state_bytes(cfg: ModelConfig, context: int) -> int:
    """RunState buffers of ee_runtime_c/forward.c without the KV cache, plus the
    prompt and output token arrays of app.c, each padded as the arena pads it."""
    act_max = max(cfg.dim, cfg.hidden_dim, cfg.q_dim)
    sizes = [4 * cfg.dim] * 3 + [4 * cfg.q_dim] * 2 + [4 * cfg.n_heads * context] \
        + [4 * cfg.hidden_dim] * 2 + [4 * cfg.vocab_size] + [4 * cfg.kv_dim] * 2 \
        + [4 * cfg.head_dim] + [2 * cfg.head_dim] * 2 + [2 * act_max] + [4 * context] * 2
    return sum(_alloc(s) for s in sizes)


def table_bytes(cfg: ModelConfig, n_tensors: int) -> int:
    """psnt_open: the header, the tensor table (PsntTensor ~ 64 bytes) and its index."""
    return SECTOR + _alloc(n_tensors * 64) + _alloc(4 * 12 * (cfg.n_layers + 1))


def fixed_reservations(cfg: ModelConfig, n_tensors: int, *, context: int, kv_quant: str,
                       tokenizer_bytes: int) -> dict[str, int]:
    """Arena use that does not depend on the residency choice."""
    return {
        "KV cache": 2 * _alloc(kv_cache_bytes(cfg, context, kv_quant) // 2),   # keys, values
        "run state": run_state_bytes(cfg, context),
        "tokenizer": _alloc(3 * tokenizer_bytes),       # section + lookup tables (tokenizer.c)
        "tensor table": table_bytes(cfg, n_tensors),
        "sampler": _alloc(8 * cfg.vocab_size),
        "slack": SLACK,
    }


# ----------------------------------------------------------------------------- streaming

def row_read_bytes(stride: int) -> int:
    """Bytes read for one embedding row: the whole sectors that hold it, worst case."""
    return (stride + SECTOR - 2) // SECTOR * SECTOR + SECTOR


def block_rows_for(t: TensorShape, buffer: int) -> int:
    """Rows per streamed block: the whole tensor when its sectors fit a buffer,
    else as many rows as fit with one sector to spare (a block need not start on
    a sector, and is read as the whole sectors that hold it)."""
    if t.disc_bytes <= buffer:
        return t.rows
    return max(0, (buffer - SECTOR) // t.row_stride)


def _min_buffer(shapes: Sequence[TensorShape]) -> int:
    """The smallest buffer that holds one row of every matrix, with a sector to spare."""
    return sector_align(max(t.row_stride for t in shapes)) + SECTOR


def _is_embedding(t: TensorShape) -> bool:
    return t.role == Role.TOK_EMBEDDINGS


@dataclass
class _Costs:
    """Per-token disc cost of each tensor if it streams, in bytes and seeks."""
    bytes: list[int]
    seeks: list[int]
    reads: list[int]


def _stream_costs(shapes: Sequence[TensorShape], tied: bool, buffer: int) -> _Costs:
    b, s, r = [], [], []
    for t in shapes:
        if _is_embedding(t):
            whole = t.disc_bytes if tied else 0
            blocks = math.ceil(t.rows / block_rows_for(t, buffer)) if tied else 0
            b.append(row_read_bytes(t.row_stride) + whole)
            s.append(1)                      # the row is away from the run
            r.append(1 + blocks)
        else:
            b.append(t.disc_bytes)
            s.append(0)
            r.append(math.ceil(t.rows / block_rows_for(t, buffer)))
    return _Costs(b, s, r)


def _knapsack(weights: list[int], values: list[float], capacity: int) -> list[bool]:
    """Exact 0/1 knapsack: which items to take to maximise value within capacity.
    Deterministic: an item is taken only when strictly better."""
    n = len(weights)
    if capacity <= 0:
        return [False] * n
    best = np.zeros(capacity + 1)
    take = np.zeros((n, capacity + 1), dtype=bool)
    for i, (w, v) in enumerate(zip(weights, values)):
        if w > capacity or v <= 0:
            continue
        cand = best[:-w] + v if w else best + v
        better = cand > best[w:] + 1e-9
        take[i, w:] = better
        best[w:] = np.where(better, cand, best[w:])
    chosen = [False] * n
    c = capacity
    for i in range(n - 1, -1, -1):
        if take[i, c]:
            chosen[i] = True
            c -= weights[i]
    return chosen


def _resident_cost(t: TensorShape) -> int:
    """Arena bytes of a resident tensor: model.c allocates its sectors."""
    return _alloc(t.disc_bytes)


def _evaluate(shapes, tied, buffer, budget_without_row, row_buffer, device):
    """Best resident set for one buffer size: (disc seconds, resident flags, costs)."""
    costs = _stream_costs(shapes, tied, buffer)
    emb = next(i for i, t in enumerate(shapes) if _is_embedding(t))
    values = [device.read_time(costs.bytes[i], costs.seeks[i], costs.reads[i])
              for i in range(len(shapes))]
    unit = _KNAPSACK_UNIT
    weights = [math.ceil(_resident_cost(t) / unit) for t in shapes]
    # A resident embedding does not need the row buffer: give it that room back.
    weights[emb] = max(0, math.ceil((_resident_cost(shapes[emb]) - row_buffer) / unit))
    capacity = (budget_without_row - row_buffer) // unit
    chosen = _knapsack(weights, values, capacity)
    streamed = [i for i, c in enumerate(chosen) if not c]
    seconds = sum(values[i] for i in streamed)
    if any(not _is_embedding(shapes[i]) or tied for i in streamed):
        seconds += device.seek_s            # back to the start of the run, once a token
    return seconds, chosen, costs


def make_plan(config: ModelConfig, entries_or_policy: Any, *, ram_bytes: int = PS2_RAM,
              context: int | None = None, kv_quant: str = "f32",
              device: str | DeviceProfile = "ps2-cd", tokenizer_bytes: int = 0,
              model: str = "", elf_reserve: int = ELF_RESERVE,
              stream_buffer_bytes: int | None = None) -> Plan:
    """Plan which tensors of `config` stay resident in `ram_bytes` of EE RAM.

    entries_or_policy: the PSNT's tensor entries (anything with name, role, layer,
    quant, rows, cols, row_stride), or a QuantPolicy to plan from shapes alone.
    stream_buffer_bytes: force the size of each stream buffer (default: chosen)."""
    cfg = config
    dev = device if isinstance(device, DeviceProfile) else get_device(device)
    check_kv_quant(kv_quant)
    ctx = resolve_context(cfg, context)
    if hasattr(entries_or_policy, "quant_for"):
        shapes = shapes_from_policy(cfg, entries_or_policy)
    else:
        shapes = shapes_from_entries(cfg, entries_or_policy)
    tied = cfg.tie_embeddings
    arena = ram_bytes - KERNEL_BYTES - elf_reserve
    fixed = fixed_reservations(cfg, len(shapes), context=ctx, kv_quant=kv_quant,
                               tokenizer_bytes=tokenizer_bytes)
    fixed_total = sum(fixed.values())
    all_weights = sum(_resident_cost(t) for t in shapes)
    emb = next(t for t in shapes if _is_embedding(t))
    row_buffer = _alloc(row_read_bytes(emb.row_stride))
    min_buf = _min_buffer(shapes)

    def shortfall(what: str, need: int) -> PlanError:
        parts = ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in fixed.items())
        return PlanError(
            f"{model or 'model'}: does not fit in RAM={ram_bytes / MiB:g} MiB even when streaming: "
            f"the arena is {arena} bytes ({ram_bytes} - kernel {KERNEL_BYTES} - ELF {elf_reserve}) "
            f"and needs {need} bytes for {what} ({parts}, context {ctx}, KV {kv_quant}); "
            f"short by {need - arena} bytes")

    if arena <= 0:
        raise PlanError(f"RAM={ram_bytes} bytes leaves nothing after the kernel ({KERNEL_BYTES}) "
                        f"and the ELF reservation ({elf_reserve}): short by {1 - arena} bytes")

    if stream_buffer_bytes is None and fixed_total + all_weights <= arena:
        chosen, buffer = [True] * len(shapes), 0          # everything resident
    else:
        if stream_buffer_bytes is not None:
            if stream_buffer_bytes < min_buf:
                raise PlanError(f"stream buffer {stream_buffer_bytes} bytes cannot hold one row "
                                f"with a sector to spare: it needs at least {min_buf} bytes")
            candidates = [sector_align(stream_buffer_bytes)]
        else:
            biggest = max(t.disc_bytes for t in shapes if not _is_embedding(t) or tied)
            sizes = set(_BUFFER_CANDIDATES) | {t.disc_bytes for t in shapes if t.disc_bytes <= 4 * MiB}
            candidates = sorted({max(min_buf, s) for s in sizes if s <= max(biggest, min_buf)})
        need = fixed_total + 2 * candidates[0] + row_buffer
        if need > arena:
            raise shortfall("the fixed reservations, two stream buffers and the embedding row", need)
        best = None
        for buf in candidates:
            budget = arena - fixed_total - 2 * buf
            if budget < row_buffer:
                continue
            seconds, flags, _ = _evaluate(shapes, tied, buf, budget, row_buffer, dev)
            if best is None or seconds < best[0] - 1e-12:
                best = (seconds, flags, buf)
        assert best is not None
        _, chosen, buffer = best
    return _build(cfg, shapes, chosen, buffer, dev, model=model, ram=ram_bytes, arena=arena,
                  elf_reserve=elf_reserve, context=ctx, kv_quant=kv_quant, fixed=fixed,
                  row_buffer=row_buffer, tokenizer_bytes=tokenizer_bytes)


def _build(cfg, shapes, chosen, buffer, dev, *, model, ram, arena, elf_reserve, context,
           kv_quant, fixed, row_buffer, tokenizer_bytes) -> Plan:
    tied = cfg.tie_embeddings
    tensors = []
    streamed_bytes = reads = 0
    emb_streamed = False
    for t, resident in zip(shapes, chosen):
        if resident:
            tensors.append(TensorPlan(t.name, t.role.name.lower(), t.layer, t.quant.name.lower(),
                                      True, 0, t.rows, t.cols, t.row_stride, t.size, 0, 0))
            continue
        block = block_rows_for(t, buffer)
        if _is_embedding(t):
            emb_streamed = True
            n_reads = 1 + (math.ceil(t.rows / block) if tied else 0)
            n_bytes = row_read_bytes(t.row_stride) + (t.disc_bytes if tied else 0)
            if not tied:
                block = 1
        else:
            n_reads = math.ceil(t.rows / block)
            n_bytes = t.disc_bytes
        tensors.append(TensorPlan(t.name, t.role.name.lower(), t.layer, t.quant.name.lower(),
                                  False, block, t.rows, t.cols, t.row_stride, t.size, n_reads,
                                  n_bytes))
        streamed_bytes += n_bytes
        reads += n_reads
    run = [t for t in tensors if not t.resident and (t.role != "tok_embeddings" or tied)]
    seeks = (1 if run else 0) + (1 if emb_streamed else 0)
    resident_order = [t.name for t in tensors if t.resident]
    streamed_order = [t.name for t in tensors if not t.resident and t.role != "tok_embeddings"]
    if emb_streamed:
        emb = next(t.name for t in tensors if t.role == "tok_embeddings")
        # Tied: at the end of the run, where the output projection reads it whole
        # (the row read is a seek away in any case). Untied: just before the run.
        streamed_order = streamed_order + [emb] if tied else [emb] + streamed_order
    reservations = dict(fixed)
    reservations["stream buffers"] = 2 * buffer
    reservations["embedding row"] = row_buffer if emb_streamed else 0
    resident_bytes = sum(_resident_cost(t) for t, r in zip(shapes, chosen) if r)
    reservations["resident weights"] = resident_bytes
    free = arena - sum(reservations.values())
    if free < 0:                       # only when a forced buffer size overfills it
        raise PlanError(f"{model or 'model'}: plan overfills the arena by {-free} bytes")
    return Plan(
        version=PLAN_VERSION, model=model, device=dev.name, ram_bytes=ram, arena_bytes=arena,
        elf_reserve_bytes=elf_reserve, context=context, kv_quant=kv_quant,
        kv_bytes=kv_cache_bytes(cfg, context, kv_quant), stream_buffer_bytes=buffer,
        embedding_row_buffer_bytes=row_buffer if emb_streamed else 0,
        tensors=tuple(tensors), disc_order=tuple(resident_order + streamed_order),
        resident_bytes=sum(t.size for t, r in zip(shapes, chosen) if r),
        streamed_bytes_per_token=streamed_bytes, seeks_per_token=seeks, reads_per_token=reads,
        reservations=reservations, free_bytes=free,
        disc_seconds_per_token=dev.read_time(streamed_bytes, seeks, reads),
        tokenizer_bytes=tokenizer_bytes)


# ----------------------------------------------------------------------------- the trade

@dataclass(frozen=True)
class TradeRow:
    context: int
    kv_quant: str
    kv_bytes: int
    resident_bytes: int
    streamed_bytes_per_token: int
    seeks_per_token: int
    disc_seconds_per_token: float
    error: str = ""


def context_trade(config: ModelConfig, entries_or_policy: Any, contexts: Iterable[int],
                  kv_quants: Iterable[str] = ("f32",), **kwargs) -> list[TradeRow]:
    """The plan at each context length and KV precision: what a longer context costs
    in resident weights and bytes read per token."""
    rows = []
    for kv in kv_quants:
        for ctx in contexts:
            if ctx > config.max_seq_len:
                continue
            try:
                p = make_plan(config, entries_or_policy, context=ctx, kv_quant=kv, **kwargs)
            except PlanError as err:
                rows.append(TradeRow(ctx, kv, kv_cache_bytes(config, ctx, kv), 0, 0, 0,
                                     math.inf, str(err)))
                continue
            rows.append(TradeRow(ctx, kv, p.kv_bytes, p.resident_bytes,
                                 p.streamed_bytes_per_token, p.seeks_per_token,
                                 p.disc_seconds_per_token))
    return rows


def read_plan(path) -> Plan:
    with open(path) as f:
        return Plan.from_json(f.read())


def tensor_shapes_for_plan(config: ModelConfig, entries_or_policy: Any) -> list[TensorShape]:
    if hasattr(entries_or_policy, "quant_for"):
        return shapes_from_policy(config, entries_or_policy)
    return shapes_from_entries(config, entries_or_policy)

