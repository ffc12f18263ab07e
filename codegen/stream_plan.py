"""The residency plan as the runtime needs it: which tensors stream, in the order
forward.c uses them, in blocks of how many rows, with a CRC32 of every block (and
of every sector of a streamed token embedding) so the streamer can check what it
read, and the KV cache's element type. Read from the plan JSON beside the PSNT
(docs/PLAN_INTERFACE.md): the PSNT's path with `.plan.json` for `.psnt`. No plan
file: every tensor resident, KV cache f32.

The CRCs are computed here from the PSNT's data, so a binary is tied to the PSNT
it was generated from; the runtime checks each streamed tensor's table CRC
against the one recorded here and refuses another file."""
from __future__ import annotations

import json
import mmap
import zlib
from dataclasses import dataclass
from pathlib import Path

from model.config import ModelConfig
from model.kv_cache import KV_QUANTS
from model.weights import Role, execution_order, tensor_name

SECTOR = 2048
PLAN_VERSION = 1


@dataclass(frozen=True)
class StreamedTensor:
    """A tensor read from the disc each token, block by block."""
    name: str
    role: Role
    layer: int | None
    rows: int
    row_stride: int
    offset: int              # in the PSNT file
    crc32: int               # the PSNT table's CRC of the whole tensor
    block_rows: int
    first_block: int         # index of its first block in StreamPlan.block_crcs

    @property
    def n_blocks(self) -> int:
        return -(-self.rows // self.block_rows)

    def block_range(self, i: int) -> tuple[int, int]:
        """Byte range [a, b) of block i in the file."""
        r0, r1 = i * self.block_rows, min(self.rows, (i + 1) * self.block_rows)
        return self.offset + r0 * self.row_stride, self.offset + r1 * self.row_stride


def covering_bytes(a: int, b: int) -> int:
    """Bytes of the whole sectors that hold [a, b)."""
    return (-(-b // SECTOR) - a // SECTOR) * SECTOR


@dataclass(frozen=True)
class StreamPlan:
    path: str                                # the plan file, "" when there is none
    arena_bytes: int                         # the arena's cap; 0: none
    context: int | None
    streams: tuple[StreamedTensor, ...]      # in forward.c's order of use
    block_crcs: tuple[int, ...]
    buffer_bytes: int                        # each of the two stream buffers
    embedding: StreamedTensor | None         # the token embedding, when its rows are read per token
    embedding_sector_crcs: tuple[int, ...]   # CRC32 of each of its sectors (2048 bytes, padding included)
    embedding_row_bytes: int                 # buffer for the sectors of one row
    streamed_bytes_per_token: int            # sectors of `streams`, without the embedding row
    kv_quant: str = "f32"                    # the KV cache's element type (model/kv_cache.py)

    @property
    def streaming(self) -> bool:
        return bool(self.streams) or self.embedding is not None

    @property
    def resident(self) -> frozenset[str]:
        names = {t.name for t in self.streams}
        if self.embedding is not None:
            names.add(self.embedding.name)
        return frozenset(names)


RESIDENT = StreamPlan("", 0, None, (), (), 0, None, (), 0, 0)


def plan_path(psnt_path: str | Path) -> Path:
    p = Path(psnt_path)
    return p.with_name(p.name[:-len(".psnt")] + ".plan.json") if p.name.endswith(".psnt") \
        else p.with_name(p.name + ".plan.json")


def use_order(cfg: ModelConfig) -> list[str]:
    """Tensor names in the order forward.c reads them, the token embedding excepted
    (its row is read at token start) unless it is also the tied output projection."""
    names = [tensor_name(role, layer) for role, layer in execution_order(cfg)
             if role != Role.TOK_EMBEDDINGS]
    if cfg.tie_embeddings:
        names.append(tensor_name(Role.TOK_EMBEDDINGS))
    return names


def load_stream_plan(psnt_path: str | Path, psnt) -> StreamPlan:
    """The plan beside psnt_path (psnt: its model/psnt.PsntFile), or RESIDENT."""
    path = plan_path(psnt_path)
    if not path.exists():
        return RESIDENT
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read the plan: {err}") from None

    def fail(problem: str) -> ValueError:
        return ValueError(f"{path}: {problem}")

    if not isinstance(doc, dict) or doc.get("version") != PLAN_VERSION:
        raise fail(f"plan version {doc.get('version') if isinstance(doc, dict) else None!r}; "
                   f"codegen knows {PLAN_VERSION}")
    try:
        entries = {t["name"]: (bool(t["resident"]), int(t["block_rows"])) for t in doc["tensors"]}
        arena = int(doc["arena_bytes"])
        context = int(doc["context"])
        buffer = int(doc["stream_buffer_bytes"])
        row_buffer = int(doc.get("embedding_row_buffer_bytes", 0))
    except (KeyError, TypeError, ValueError) as err:
        raise fail(f"missing or bad field {err}") from None
    kv_quant = doc.get("kv_quant", "f32")
    if kv_quant not in KV_QUANTS:
        raise fail(f"unknown KV cache precision {kv_quant!r}; known: {', '.join(KV_QUANTS)}")
    cfg = psnt.config
    table = {e.name: e for e in psnt.entries}
    if set(entries) != set(table):
        missing, extra = sorted(set(table) - set(entries)), sorted(set(entries) - set(table))
        raise fail(f"its tensors are not the PSNT's (missing {missing[:3]}, unknown {extra[:3]}): "
                   "made for another model?")

    streams: list[StreamedTensor] = []
    crcs: list[int] = []
    need = 0
    with open(psnt.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for name in use_order(cfg):
            resident, block_rows = entries[name]
            if resident:
                continue
            e = table[name]
            if not 0 < block_rows <= e.rows:
                raise fail(f"{name} streams in blocks of {block_rows} rows; it has {e.rows}")
            t = StreamedTensor(name, e.role, e.layer, e.rows, e.row_stride, e.offset, e.crc32,
                               block_rows, len(crcs))
            for i in range(t.n_blocks):
                a, b = t.block_range(i)
                crcs.append(zlib.crc32(data[a:b]))
                need = max(need, covering_bytes(a, b))
            streams.append(t)
        emb_name = tensor_name(Role.TOK_EMBEDDINGS)
        embedding, sector_crcs, row_bytes = None, (), 0
        if not entries[emb_name][0]:
            e = table[emb_name]
            embedding = StreamedTensor(emb_name, e.role, e.layer, e.rows, e.row_stride, e.offset,
                                       e.crc32, 1, 0)
            n_sectors = -(-e.size // SECTOR)
            sector_crcs = tuple(zlib.crc32(data[e.offset + s * SECTOR:e.offset + (s + 1) * SECTOR])
                                for s in range(n_sectors))
            row_bytes = max(covering_bytes(e.offset + r * e.row_stride, e.offset + (r + 1) * e.row_stride)
                            for r in range(min(e.rows, SECTOR)))
    if need > buffer:
        raise fail(f"a block needs {need} bytes of sectors but the stream buffers are {buffer} bytes")
    if embedding is not None and row_buffer and row_bytes > row_buffer:
        raise fail(f"an embedding row needs {row_bytes} bytes of sectors but the plan gives {row_buffer}")
    per_token = sum(-(-t.rows * t.row_stride // SECTOR) * SECTOR for t in streams)
    return StreamPlan(str(path), arena, context, tuple(streams), tuple(crcs),
                      buffer if streams else 0, embedding, sector_crcs,
                      row_buffer or row_bytes if embedding else 0, per_token, kv_quant)
