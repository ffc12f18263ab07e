"""PSNT reader and writer (docs/FORMAT.md; the version is VERSION)."""
from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.atomic import atomic_output
from model.config import ModelConfig
from model.quant import (GROUPED, SUPPORTED, QuantDataError, QuantizedQ8, QuantType,
                         group_limit_problem, pack_rows, parse_quant, row_stride, unpack_rows)
from model.vocab import Vocab
from model.vocab_section import vocab_from_section, vocab_to_section
from model.weights import NORM_ROLES, LlamaModel, Role, execution_order, expected_shape, tensor_name

SECTOR = 2048
MAGIC = b"PSNT"
VERSION = 2       # 2: q4/q4m scales became f16 (docs/FORMAT.md "Versions")
BYTE_ORDER = 0x01020304
FLAG_TIED = 1
NO_LAYER = 0xFFFF
NO_QUANT = 0xFF
TABLE_ENTRY = 64
MAX_FILE = 1 << 32

# Header fields after magic, in order (docs/FORMAT.md "Header").
_HEADER = struct.Struct("<4sIII" "8I" "ff" "I" "I" "III" "III" "II" "16s" "64s")
_ENTRY = struct.Struct("<32sBBH" "IIIIIII")
assert _ENTRY.size == TABLE_ENTRY and _HEADER.size == 176


class PsntError(ValueError):
    """A PSNT file that cannot be used; the message names the file and the problem."""


def sector_align(n: int) -> int:
    return (n + SECTOR - 1) // SECTOR * SECTOR


# QUANT=... role names: each names one or more roles (docs/FORMAT.md "Quantization policy").
POLICY_ROLES: dict[str, tuple[Role, ...]] = {
    "embed": (Role.TOK_EMBEDDINGS,),
    "attn": (Role.WQ, Role.WK, Role.WV, Role.WO),
    "ffn": (Role.W1, Role.W2, Role.W3),
    "output": (Role.OUTPUT,),
    **{r.name.lower(): (r,) for r in (Role.WQ, Role.WK, Role.WV, Role.WO, Role.W1, Role.W2, Role.W3)},
}


@dataclass(frozen=True)
class QuantPolicy:
    """Quant type of each role (norms are always f32) and the group size of the
    q8/q4/q4m/ternary ones (0 = one scale per row): `group_size` for the default,
    `groups` per role for the roles in `per_role`."""
    default: QuantType = QuantType.Q8
    per_role: dict[Role, QuantType] = field(default_factory=dict)
    group_size: int = 0
    groups: dict[Role, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, group_size: int = 0) -> "QuantPolicy":
        """`q8`, `q4:32`, `q4m:32`, or a default then role overrides: `q8,ffn=q4m:64,attn=q8,embed=q8`.
        Roles: embed (the token embedding, also the output when tied), attn (wq wk wv
        wo), ffn (w1 w2 w3), output, or one matrix (wq ... w3). `:N` is the group
        size (0 or absent = one scale per row); group_size is the default's
        group when its own has none (the --group option)."""
        parts = [p.strip() for p in text.split(",")]
        if not parts or not parts[0] or "=" in parts[0]:
            raise ValueError(f"quant policy {text!r} must start with a quant type, e.g. q8 or q4:32")

        def quant_group(spec: str, default_group: int) -> tuple[QuantType, int]:
            name, _, group = spec.partition(":")
            qt = parse_quant(name.strip())
            try:
                g = int(group) if group else default_group
            except ValueError:
                raise ValueError(f"quant policy {text!r}: group size {group!r} is not a number") from None
            if g < 0:
                raise ValueError(f"quant policy {text!r}: group size {g} is negative")
            if g and qt not in GROUPED:
                raise ValueError(f"quant policy {text!r}: {qt.name.lower()} has no group size")
            return qt, g

        default, default_group = quant_group(parts[0], group_size)
        per_role: dict[Role, QuantType] = {}
        groups: dict[Role, int] = {}
        for part in parts[1:]:
            key, eq, spec = part.partition("=")
            key = key.strip().lower()
            if not eq or key not in POLICY_ROLES:
                raise ValueError(f"quant policy {text!r}: {part!r} is not ROLE=QUANT[:GROUP]; "
                                 f"roles: {', '.join(POLICY_ROLES)}")
            qt, g = quant_group(spec, 0)
            for role in POLICY_ROLES[key]:
                per_role[role], groups[role] = qt, g
        return cls(default, per_role, default_group, groups)

    def quant_for(self, role: Role) -> QuantType:
        if role in NORM_ROLES:
            return QuantType.F32
        return self.per_role.get(role, self.default)

    def group_for(self, qt: QuantType, cols: int, role: Role | None = None) -> int:
        if qt not in GROUPED:
            return 0
        group = (self.groups.get(role, 0) if role in self.per_role else self.group_size) or cols
        of = f" of {role.name.lower()}" if role is not None else ""
        if cols % group:
            raise ValueError(f"{qt.name.lower()} group size {group} does not divide the row length "
                             f"{cols}{of}")
        problem = group_limit_problem(cols, group)
        if problem:
            raise ValueError(f"{qt.name.lower()}{of}: {problem}")
        return group

    def describe(self) -> str:
        """The policy in QUANT= syntax."""
        def one(qt: QuantType, g: int) -> str:
            return qt.name.lower() + (f":{g}" if g else "")
        parts = [one(self.default, self.group_size)]
        parts += [f"{'embed' if r == Role.TOK_EMBEDDINGS else r.name.lower()}={one(q, self.groups.get(r, 0))}"
                  for r, q in sorted(self.per_role.items())]
        return ",".join(parts)


@dataclass(frozen=True)
class TensorEntry:
    name: str
    role: Role
    layer: int | None
    quant: QuantType
    rows: int
    cols: int
    group_size: int
    offset: int
    size: int
    crc32: int
    row_stride: int


@dataclass
class PsntFile:
    path: Path
    name: str
    config: ModelConfig
    vocab: Vocab
    entries: list[TensorEntry]
    role_quant: dict[Role, QuantType]
    file_size: int
    tokenizer_size: int = 0     # bytes of the tokenizer section (the planner sizes its tables)

    def entry(self, name: str) -> TensorEntry:
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(name)

    def raw(self, entry: TensorEntry) -> bytes:
        with open(self.path, "rb") as f:
            f.seek(entry.offset)
            data = f.read(entry.size)
        if len(data) != entry.size:
            raise PsntError(f"{self.path}: tensor {entry.name} is truncated")
        if zlib.crc32(data) != entry.crc32:
            raise PsntError(f"{self.path}: CRC mismatch in tensor {entry.name}")
        return data

    def load(self, name: str) -> np.ndarray | QuantizedQ8:
        """f32 array for f32/f16 tensors (1-D for norms), QuantizedQ8 for q8/q4/q4m/ternary."""
        e = self.entry(name)
        try:
            value = unpack_rows(e.quant, self.raw(e), e.rows, e.cols, e.group_size)
        except QuantDataError as err:
            raise PsntError(f"{self.path}: tensor {e.name!r}: {err}") from None
        return value[0] if e.role in NORM_ROLES else value

    def load_f32(self, name: str) -> np.ndarray:
        value = self.load(name)
        return value.dequantize() if isinstance(value, QuantizedQ8) else value

    def check_data(self) -> None:
        """Read every q4/ternary tensor and check its values (a ternary code 11 is
        rejected): the build runs this, so a bad value fails there, not at run time."""
        for e in self.entries:
            if e.quant in (QuantType.Q4, QuantType.TERNARY):
                self.load(e.name)

    def to_model(self) -> LlamaModel:
        """All weights dequantized to f32."""
        return LlamaModel(self.config, self.vocab,
                          {e.name: self.load_f32(e.name) for e in self.entries}, self.name)


# ----------------------------------------------------------------------------- writer

@dataclass
class WriteReport:
    path: Path
    file_size: int
    max_error: dict[str, float]     # tensor name -> max abs quantization error


def _header_bytes(cfg: ModelConfig, *, n_tensors: int, table_crc: int, tok_offset: int,
                  tok_size: int, tok_crc: int, data_offset: int, file_size: int,
                  role_quant: bytes, name: str) -> bytes:
    packed = _HEADER.pack(
        MAGIC, VERSION, BYTE_ORDER, 0,
        cfg.dim, cfg.hidden_dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim,
        cfg.vocab_size, cfg.max_seq_len,
        cfg.norm_eps, cfg.rope_theta,
        FLAG_TIED if cfg.tie_embeddings else 0,
        n_tensors,
        SECTOR, n_tensors * TABLE_ENTRY, table_crc,
        tok_offset, tok_size, tok_crc,
        data_offset, file_size,
        role_quant, name.encode("utf-8")[:64])
    sector = bytearray(SECTOR)
    sector[:len(packed)] = packed
    struct.pack_into("<I", sector, 12, zlib.crc32(sector))
    return bytes(sector)


def write_psnt(path: str | os.PathLike, model: LlamaModel, policy: QuantPolicy,
               order: list[str] | None = None) -> WriteReport:
    """Write `model` as PSNT at `path`, atomically: on any error nothing is left there.

    order: tensor names in the order their data is laid out (a plan's disc_order);
    default execution order. The table always lists tensors in execution order and
    every tensor starts on a sector, whatever the data order."""
    path = Path(path)
    cfg = model.config
    model.validate(model.name or str(path))
    vocab_blob = vocab_to_section(model.vocab)
    table_order = execution_order(cfg)
    data_order = _data_order(path, table_order, order)
    table_size = len(table_order) * TABLE_ENTRY
    tok_offset = SECTOR + sector_align(table_size)
    data_offset = tok_offset + sector_align(len(vocab_blob))

    role_quant = bytearray([NO_QUANT] * 16)
    entries: dict[str, bytes] = {}
    errors: dict[str, float] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        f.seek(data_offset)
        offset = data_offset
        for role, layer in data_order:
            name = tensor_name(role, layer)
            rows, cols = expected_shape(cfg, role)
            qt = policy.quant_for(role)
            group = policy.group_for(qt, cols, role)
            data, errors[name] = pack_rows(qt, model.weights[name].reshape(rows, cols), group)
            f.write(data)
            f.write(bytes(sector_align(len(data)) - len(data)))
            entries[name] = (_ENTRY.pack(
                name.encode("ascii"), role, qt, NO_LAYER if layer is None else layer,
                rows, cols, group, offset, len(data), zlib.crc32(data),
                row_stride(qt, cols, group)))
            role_quant[role] = qt
            offset += sector_align(len(data))
        if offset >= MAX_FILE:
            raise ValueError(f"{path}: PSNT would be {offset} bytes; the format's limit is 4 GiB")
        table = b"".join(entries[tensor_name(r, l)] for r, l in table_order)
        f.seek(0)
        f.write(_header_bytes(cfg, n_tensors=len(table_order), table_crc=zlib.crc32(table),
                              tok_offset=tok_offset, tok_size=len(vocab_blob),
                              tok_crc=zlib.crc32(vocab_blob), data_offset=data_offset,
                              file_size=offset, role_quant=bytes(role_quant),
                              name=model.name))
        f.write(table)
        f.seek(tok_offset)
        f.write(vocab_blob)
    return WriteReport(path, offset, errors)


def _data_order(path: Path, table_order: list[tuple[Role, int | None]],
                order: list[str] | None) -> list[tuple[Role, int | None]]:
    if order is None:
        return table_order
    by_name = {tensor_name(r, l): (r, l) for r, l in table_order}
    unknown = [n for n in order if n not in by_name]
    missing = [n for n in by_name if n not in set(order)]
    if unknown or missing or len(set(order)) != len(order):
        raise ValueError(f"{path}: tensor order does not list each tensor once: "
                         f"unknown {unknown[:5]}, missing {missing[:5]}")
    return [by_name[n] for n in order]


# ----------------------------------------------------------------------------- reader

def _check_entry(path: Path, cfg: ModelConfig, e: TensorEntry, file_size: int) -> None:
    def fail(problem: str) -> PsntError:
        return PsntError(f"{path}: tensor {e.name!r}: {problem}")
    want = expected_shape(cfg, e.role)
    if (e.rows, e.cols) != want:
        raise fail(f"shape {e.rows}x{e.cols} contradicts the header, which implies {want[0]}x{want[1]}")
    if e.quant not in SUPPORTED:
        raise fail(f"quant type {e.quant.name.lower()} is not supported by this reader")
    if e.role in NORM_ROLES and e.quant != QuantType.F32:
        raise fail("norm weights must be f32")
    if e.quant in GROUPED and (e.group_size == 0 or e.cols % e.group_size):
        raise fail(f"group size {e.group_size} does not divide the row length {e.cols}")
    if e.quant in GROUPED and group_limit_problem(e.cols, e.group_size):
        raise fail(group_limit_problem(e.cols, e.group_size))
    stride = row_stride(e.quant, e.cols, e.group_size)
    if e.row_stride != stride or e.size != e.rows * stride:
        raise fail(f"row stride {e.row_stride} / size {e.size} disagree with quant type "
                   f"{e.quant.name.lower()} (expected {stride} / {e.rows * stride})")
    if e.offset % SECTOR or e.offset + e.size > file_size:
        raise fail(f"data at {e.offset}+{e.size} is not sector-aligned or runs past the end of the file")


def read_psnt(path: str | os.PathLike) -> PsntFile:
    """Read and validate header, table and tokenizer; tensors are checked when loaded."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(SECTOR)
            actual_size = os.fstat(f.fileno()).st_size
    except OSError as err:
        raise PsntError(f"{path}: cannot read: {err.strerror}") from None
    if len(head) < SECTOR:
        raise PsntError(f"{path}: truncated: {len(head)} bytes, shorter than the 2048-byte header")
    fields = _HEADER.unpack_from(head)
    (magic, version, byte_order, header_crc, dim, hidden, n_layers, n_heads, n_kv, head_dim,
     vocab_size, max_seq, eps, theta, flags, n_tensors, table_off, table_size, table_crc,
     tok_off, tok_size, tok_crc, data_off, file_size, role_quant, name) = fields
    if magic != MAGIC:
        raise PsntError(f"{path}: not a PSNT file (magic {magic!r}, expected b'PSNT')")
    if byte_order != BYTE_ORDER:
        raise PsntError(f"{path}: byte-order mark is {byte_order:#010x}, expected 0x01020304")
    if version != VERSION:
        older = ": an older ps2llm wrote it, rebuild it from the model" if version < VERSION else ""
        raise PsntError(f"{path}: PSNT version {version}; this reader knows version {VERSION}{older}")
    blank = bytearray(head)
    struct.pack_into("<I", blank, 12, 0)
    if zlib.crc32(blank) != header_crc:
        raise PsntError(f"{path}: header CRC mismatch (header is corrupt)")
    if actual_size < file_size:
        raise PsntError(f"{path}: truncated: {actual_size} bytes, header says {file_size}")
    for what, off, size in (("tensor table", table_off, table_size), ("tokenizer", tok_off, tok_size)):
        if off % SECTOR or off + size > file_size:
            raise PsntError(f"{path}: {what} at {off}+{size} is not sector-aligned or runs past the end")
    if table_size != n_tensors * TABLE_ENTRY:
        raise PsntError(f"{path}: table size {table_size} does not match {n_tensors} entries")
    try:
        cfg = ModelConfig(dim=dim, hidden_dim=hidden, n_layers=n_layers, n_heads=n_heads,
                          n_kv_heads=n_kv, vocab_size=vocab_size, max_seq_len=max_seq,
                          norm_eps=float(eps), rope_theta=float(theta),
                          tie_embeddings=bool(flags & FLAG_TIED), head_dim=head_dim)
    except ValueError as err:
        raise PsntError(f"{path}: {err}") from None

    with open(path, "rb") as f:
        f.seek(table_off)
        table = f.read(table_size)
        f.seek(tok_off)
        tok_blob = f.read(tok_size)
    if zlib.crc32(table) != table_crc:
        raise PsntError(f"{path}: tensor table CRC mismatch (table is corrupt)")
    if zlib.crc32(tok_blob) != tok_crc:
        raise PsntError(f"{path}: tokenizer CRC mismatch (tokenizer section is corrupt)")

    entries = []
    for i in range(n_tensors):
        (raw_name, role, quant, layer, rows, cols, group, off, size, crc,
         stride) = _ENTRY.unpack_from(table, i * TABLE_ENTRY)
        tname = raw_name.rstrip(b"\0").decode("ascii", "replace")
        try:
            role, quant = Role(role), QuantType(quant)
        except ValueError as err:
            raise PsntError(f"{path}: tensor {tname!r}: {err}") from None
        entry = TensorEntry(tname, role, None if layer == NO_LAYER else layer, quant, rows,
                            cols, group, off, size, crc, stride)
        _check_entry(path, cfg, entry, file_size)
        entries.append(entry)
    want = {tensor_name(r, l) for r, l in execution_order(cfg)}
    have = [e.name for e in entries]
    if len(set(have)) != len(have):
        raise PsntError(f"{path}: duplicated tensor in the table")
    if set(have) != want:
        missing = sorted(want - set(have))
        extra = sorted(set(have) - want)
        raise PsntError(f"{path}: tensor table does not match the header: missing {missing}, unexpected {extra}")
    for e in entries:
        if e.name != tensor_name(e.role, e.layer):
            raise PsntError(f"{path}: tensor {e.name!r} has role {e.role.name} / layer {e.layer}")
    try:
        vocab = vocab_from_section(tok_blob)
    except ValueError as err:
        raise PsntError(f"{path}: tokenizer section: {err}") from None
    if len(vocab) != vocab_size:
        raise PsntError(f"{path}: tokenizer has {len(vocab)} tokens, header says vocab_size={vocab_size}")
    try:
        quants = {Role(r): QuantType(q) for r, q in enumerate(role_quant[:12]) if q != NO_QUANT}
    except ValueError as err:
        raise PsntError(f"{path}: header role_quant: {err}") from None
    return PsntFile(path, name.rstrip(b"\0").decode("utf-8", "replace"), cfg, vocab, entries,
                    quants, file_size, tok_size)
