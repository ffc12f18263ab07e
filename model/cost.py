"""PS2 cost model: predicted seconds per token, per stage (docs/PLANNER.md).

- Disc: bytes, seeks and read requests of the plan times the device profile.
- Compute: the instructions of the compiled R5900 kernels, read from BOOT.ELF
  (objdump): each loop's body times its trip count (known from the kernel's
  shape, which its symbol spells), plus the code outside loops; times a CPI
  assumption, plus a D-cache miss per 64-byte line of weights and KV cache.
- Overlap: on the PS2 the IOP reads the drive and DMAs sectors straight into EE
  RAM (../shared/ps2/REFERENCE.md §4, cdvdfsv), so reading the next block overlaps
  computing this one. A token is simulated block by block with two buffers; the
  runtime's measured "stream wait" time checks this assumption.

Everything here is a prediction; docs/PLANNER.md says what is measured instead."""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from model.config import ModelConfig
from model.devices import DeviceProfile
from model.plan import Plan, row_read_bytes

EE_HZ = 294_912_000            # EE clock (PCSX2 pcsx2/Common.h; ps2tek), REFERENCE §7
# Cycles per instruction of the kernels' loops. The R5900 issues two instructions a
# cycle at best, but these loops are one dependency chain (load -> multiply ->
# accumulate) compiled at -O2 without unrolling, so load-use and multiply latencies
# stall; 1.5 is our nominal figure and 1.0..2.0 the range we report (estimate; the
# runtime's per-stage timings on PCSX2 or hardware replace it).
CPI = 1.5
CPI_RANGE = (1.0, 2.0)
MISS_CYCLES = 40               # D-cache miss to RDRAM, ps2tek COP0Caches / REFERENCE §9
LINE = 64                      # D-cache line
# Scratchpad staging (ee_runtime_c/staging.c, sdk/ps2/scratch_ps2.c): the DMAC moves
# a quadword per bus cycle at half the EE clock (PCSX2 developer blog "PS2's
# programmable DMA": 147 MHz x 16 bytes; REFERENCE §9), i.e. 8 bytes per EE cycle at
# its peak. The kernels spend over a cycle per weight byte, so the fills hide behind
# them even at a fraction of that peak; only each call's first chunk waits.
SCRATCH_HALF = 8192            # bytes a chunk at most: half of hal.h's HAL_SCRATCH_BYTES
DMA_BYTES_PER_CYCLE = 8.0

DCACHE_SETS = 64               # ee_dcache_writeback_all's trips (sdk/kernel/kernel.c)
CALL_COST_SMALL = 20           # memcpy/memset of a few bytes (the fast path of sdk/libc)
ATT_INSN_PER_MAC = 7           # attention without an ELF: f32 multiply-adds (lwc1 x2,
                               # mul.s, add.s, pointer increments, branch): estimate
ATT_CALL_INSN = 12             # forward.c: arguments and call of att_scores or att_values, once
                               # per kv head and layer (estimate)
ATT_LOOP_INSN = 12             # f16/q8 KV: forward.c's loop around each position's kv_head_*
                               # conversion into the block (arguments, jal, branch): estimate
ATT_BLOCK = 16                 # ee_runtime_c/attention.h ATT_BLOCK: positions a block
ATT_PAIR_MAX = 32              # attention.c: head_dim of its widest pair kernel,
ATT_ONE_MAX = 64               # of its widest one-head kernel (wider: att_*_vu0_stream)
RESIDUAL_INSN = 6              # x[i] += y[i]: lwc1 x2, add.s, swc1, addiu, branch
SAMPLER_INSN_PER_TOKEN = 6     # greedy argmax over the vocab (sampler.c): estimate


def staging_chunk(stride: int) -> int:
    """Items of `stride` bytes a chunk, as staging.c's stage takes them: as many as fit
    half the scratchpad, rounded down to a multiple of 4 where 4 fit."""
    fit = SCRATCH_HALF // stride
    return fit & ~3 if fit >= 4 else fit


# ----------------------------------------------------------------------------- the ELF

@dataclass
class Loop:
    start: int
    end: int                   # address of the backward branch
    calls: list[str] = field(default_factory=list)
    children: list["Loop"] = field(default_factory=list)

    @property
    def body(self) -> int:     # instructions, with the delay slot
        return (self.end - self.start) // 4 + 2

    def exclusive(self) -> int:
        return self.body - sum(c.body for c in self.children)


@dataclass
class Function:
    name: str
    instructions: list[tuple[int, str, str]]      # (address, mnemonic, operands)
    loops: list[Loop]                             # top level, with children

    @property
    def static(self) -> int:
        return len(self.instructions)

    def loads_in(self, loop: Loop) -> int:
        """Loads in the loop, an lqc2 (VU0: four floats) counting as four."""
        return sum(4 if m == "lqc2" else 1 for a, m, _ in self.instructions
                   if loop.start <= a <= loop.end and re.match(r"^l(b|bu|h|hu|w|wc1|d|q|qc2)$", m))


    def count_in(self, loop: Loop, mnemonic: str) -> int:
        return sum(1 for a, m, _ in self.instructions if loop.start <= a <= loop.end and m == mnemonic)


_INSN = re.compile(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$")
_HEAD = re.compile(r"^([0-9a-f]+) <(.+)>:$")
_TARGET = re.compile(r"\b([0-9a-f]+) <([^>+]+)(?:\+0x[0-9a-f]+)?>")


def find_objdump() -> str | None:
    for name in (os.environ.get("EE_OBJDUMP", ""), "mipsel-linux-gnu-objdump",
                 "mips-linux-gnu-objdump", "mips64el-linux-gnuabi64-objdump"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def disassemble(elf_path: str | Path, objdump: str | None = None) -> dict[str, Function]:
    """Every function of the ELF with its loops (conditional backward branches)."""
    objdump = objdump or find_objdump()
    if objdump is None:
        raise ValueError("no MIPS objdump found (set EE_OBJDUMP); cannot count kernel instructions")
    out = subprocess.run([objdump, "-d", "-m", "mips:4000", "--no-show-raw-insn", str(elf_path)],
                         check=True, capture_output=True, text=True).stdout
    funcs: dict[str, Function] = {}
    current: Function | None = None
    for line in out.splitlines():
        head = _HEAD.match(line)
        if head:
            current = funcs.setdefault(head.group(2), Function(head.group(2), [], []))
            continue
        m = _INSN.match(line)
        if m and current is not None:
            mnem, ops = m.group(2), m.group(3)
            if mnem == ".word":        # objdump's MIPS III view shows R5900 MMI as .word
                mnem = _r5900_name(int(ops.split()[0], 16))
            mnem = _COP2_NAMES.get(mnem, mnem)
            current.instructions.append((int(m.group(1), 16), mnem, ops))
    for f in funcs.values():
        f.loops = _loops(f)
    return _with_aliases(funcs, elf_path)


# VU0 macro mode in objdump's MIPS III view (docs/KERNELS.md): lqc2/sqc2 are its
# ldc2/sdc2 opcodes, qmfc2/qmtc2 its dmfc2/dmtc2, and every VU0 operation is "c2".
_COP2_NAMES = {"ldc2": "lqc2", "sdc2": "sqc2", "dmfc2": "qmfc2", "dmtc2": "qmtc2", "c2": "vu0"}


def _r5900_name(word: int) -> str:
    """The R5900-only instructions the kernels use (docs/KERNELS.md); others stay '.word'."""
    op, funct, sa = word >> 26, word & 0x3F, (word >> 6) & 0x1F
    if op in (0x1E, 0x1F):
        return "lq" if op == 0x1E else "sq"
    if op == 0x1C and funct == 0x09 and sa == 0x10:
        return "pmaddh"
    return ".word"


def _with_aliases(funcs: dict[str, Function], elf_path: str | Path) -> dict[str, Function]:
    """GCC folds identical kernels (same code, other shape name) into one body that
    objdump labels with one name; every folded name maps to that body too."""
    from elftools.elf.elffile import ELFFile
    by_address = {f.instructions[0][0]: f for f in funcs.values() if f.instructions}
    with open(elf_path, "rb") as fh:
        symtab = ELFFile(fh).get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if symtab else []:
            if sym["st_info"]["type"] == "STT_FUNC" and sym.name not in funcs \
                    and sym["st_value"] in by_address:
                funcs[sym.name] = by_address[sym["st_value"]]
    return funcs


def _loops(f: Function) -> list[Loop]:
    if not f.instructions:
        return []
    lo = f.instructions[0][0]
    found = []
    for addr, mnem, ops in f.instructions:
        if not mnem.startswith("b") or mnem in ("b", "bal", "break"):
            continue
        t = _TARGET.search(ops)
        if t and lo <= int(t.group(1), 16) <= addr:
            found.append(Loop(int(t.group(1), 16), addr))
    for addr, mnem, ops in f.instructions:
        if mnem in ("jal", "jalr"):
            t = _TARGET.search(ops)
            callee = t.group(2) if t else "?"
            inner = [l for l in found if l.start <= addr <= l.end + 4]
            if inner:
                min(inner, key=lambda l: l.body).calls.append(callee)
    found.sort(key=lambda l: (l.start, -l.end))
    top: list[Loop] = []
    for loop in found:                 # nest by containment
        parent = None
        for cand in found:
            if cand is not loop and cand.start <= loop.start and loop.end <= cand.end \
                    and cand.body > loop.body and (parent is None or cand.body < parent.body):
                parent = cand
        (parent.children if parent else top).append(loop)
    return top


# ----------------------------------------------------------------------------- kernels

@dataclass(frozen=True)
class KernelCount:
    symbol: str
    static: int                # instructions in the symbol
    per_call: float            # predicted instructions executed per call
    method: str                # "loops" (body x trips) or "static" (symbol size)


def _callee_cost(funcs: dict[str, Function], name: str) -> float:
    if name in ("memcpy", "memset") or name not in funcs:
        return CALL_COST_SMALL
    return funcs[name].static           # straight-line math (mathf_exp, ...): one pass


def loop_count(funcs: dict[str, Function], symbol: str, elements: float,
               outer: float = 0.0, per_elem_loads: int = 0, middle: float | None = None) -> KernelCount:
    """Predicted instructions of one call of `symbol` processing `elements` items.

    Each innermost loop runs `elements / unroll` times in all (unroll from its loads
    when per_elem_loads is given, else 1: gcc -O2 does not unroll); a loop that holds
    another runs `outer` times, or `middle` times when it is itself inside a loop and
    middle is given (a matvec's group loop: rows x groups). Code outside loops runs
    once; a call inside a loop costs the callee's instructions each time."""
    f = funcs.get(symbol)
    if f is None:
        raise KeyError(symbol)
    if not f.loops:
        return KernelCount(symbol, f.static, f.static, "static")

    def run(loop: Loop, times: float) -> float:
        """Instructions of `loop` when its body runs `times` times in all."""
        if loop.children:
            total = times * (loop.exclusive() + sum(_callee_cost(funcs, c) for c in loop.calls))
            return total + sum(run(c, elements if not c.children else times if middle is None else middle)
                               for c in loop.children)
        unroll = max(1, f.loads_in(loop) // per_elem_loads) if per_elem_loads else 1
        if f.count_in(loop, "pmaddh"):          # MMI: 8 multiply-adds per pmaddh
            unroll = 8 * f.count_in(loop, "pmaddh")
        trips = times / unroll
        return trips * (loop.body + sum(_callee_cost(funcs, c) for c in loop.calls))

    outside = f.static - sum(l.body for l in f.loops)
    total = outside + sum(run(l, outer if l.children else elements) for l in f.loops)
    return KernelCount(symbol, f.static, total, "loops")


def _groups(matvec_symbol: str) -> int:
    """Groups per row of a matvec kernel, from its name: matvec_<quant>_<rows>x<cols>_g<group>."""
    m = re.match(r"matvec_\w+?_\d+x(\d+)_g(\d+)", matvec_symbol)
    return int(m.group(1)) // int(m.group(2)) if m else 1


def twin_counts(funcs: dict[str, Function]) -> list[tuple[str, float, float]]:
    """(kernel, instructions per row of its C twin, of its MMI variant) for every q8,
    q4, q4m and ternary matvec of the ELF that has both (docs/KERNELS.md)."""
    out = []
    for name in sorted(funcs):
        m = re.fullmatch(r"(matvec_(?:q8|q4|q4m|ternary)_(\d+)x(\d+)_g\d+)_rows_c", name)
        if m and m.group(1) + "_rows" in funcs:
            cols, groups = int(m.group(3)), _groups(name)
            per_row = [loop_count(funcs, s, cols, 1, 2, groups).per_call for s in (name, m.group(1) + "_rows")]
            out.append((m.group(1), per_row[0], per_row[1]))
    return out


def attention_calls(head_dim: int, n_q: int, n_pos: int) -> tuple[list[tuple[str, int, int]], int]:
    """The kernel calls one att_scores (or att_values) call makes over n_pos positions
    of a kv head on the EE (attention.c's att_run), head_dim a multiple of 8 up to
    ATT_ONE_MAX: (kernel suffix "<g>x<head_dim>", trips of 4 positions, single
    positions) each, and the blocks of positions they come in; the score rows 16-byte
    aligned, as forward.c's are when the context is a multiple of 4."""
    pairs = n_q // 2 if head_dim <= ATT_PAIR_MAX else 0
    ones = n_q - 2 * pairs
    block = ATT_BLOCK if pairs + ones > 1 else max(1, n_pos)
    calls = []
    starts = range(0, n_pos, block)
    for t in starts:
        m = min(block, n_pos - t)
        calls += [(f"2x{head_dim}", m // 4, m % 4)] * pairs + [(f"1x{head_dim}", m // 4, m % 4)] * ones
    return calls, len(starts)


def _att_kernel(f: Function, n4: int, rem: int) -> float:
    """One call of an att_*_vu0_<g>x<d> kernel: its code outside loops once, its loop
    over trips of 4 positions (the longer one) n4 times, its loop over single
    positions rem times. The outside code includes the setup of a loop that does not
    run (a few instructions: an upper bound)."""
    if len(f.loops) != 2 or any(l.children for l in f.loops):
        raise ValueError(f"{f.name}: expected two loops, found {len(f.loops)}")
    single, trip4 = sorted(f.loops, key=lambda l: l.body)
    return f.static - trip4.body - single.body + n4 * trip4.body + rem * single.body


def _att_wrapper(funcs: dict[str, Function], name: str, calls: int, blocks: int) -> float:
    """att_scores / att_values around the kernels: their instructions once (fallback
    paths included, an upper bound: they have no loops), and where one kernel does not
    hold every head (more than one call a block) att_groups': its code outside loops
    once, its block loop's own body once a block, the longer of its call loops'
    bodies once a kernel call."""
    total = funcs[name].static
    if calls <= blocks:
        return total
    run = funcs["att_groups"]
    outer = [l for l in run.loops if l.children]
    if len(outer) != 1:
        raise ValueError(f"att_groups: expected one loop over blocks, found {len(outer)}")
    inner = max(c.body for c in outer[0].children)
    return total + run.static - outer[0].body + blocks * outer[0].exclusive() + calls * inner


def attention_call_counts(funcs: dict[str, Function], head_dim: int, n_q: int, n_pos: int,
                          variant: str = "vu0") -> tuple[float, float] | None:
    """Instructions of one att_scores and one att_values call over n_pos positions of
    one kv head (ee_runtime_c/attention.c): the VU0 kernels ("vu0": the register-held
    loops up to head_dim 64, att_*_vu0_stream beyond; the C twins where head_dim is
    not a multiple of 8) or the C twins ("c"). None when the ELF lacks them."""
    twins = ("att_scores_c", "att_values_c")
    if variant == "c" or head_dim % 8:
        if not all(n in funcs for n in twins):
            return None
        # positions > query heads > the dot product (or the axpy), 2 floats loaded an element
        return tuple(loop_count(funcs, n, n_pos * n_q * head_dim, n_pos, 2, n_pos * n_q).per_call
                     for n in twins)
    if head_dim > ATT_ONE_MAX:
        names = ("att_scores_vu0_stream", "att_values_vu0_stream")
        if not all(n in funcs for n in names + ("att_scores", "att_values")):
            return None
        return tuple(funcs[w].static + loop_count(funcs, n, n_pos * n_q * head_dim, n_pos, 2, n_pos * n_q).per_call
                     for w, n in zip(("att_scores", "att_values"), names))
    calls, blocks = attention_calls(head_dim, n_q, n_pos)
    out = []
    for kind in ("scores", "values"):
        kernels = {g: funcs.get(f"att_{kind}_vu0_{g}") for g, _, _ in calls}
        if f"att_{kind}" not in funcs or None in kernels.values() or \
                (len(calls) > blocks and "att_groups" not in funcs):
            return None
        out.append(_att_wrapper(funcs, f"att_{kind}", len(calls), blocks)
                   + sum(_att_kernel(kernels[g], n4, rem) for g, n4, rem in calls))
    return out[0], out[1]


def attention_counts(funcs: dict[str, Function], head_dim: int, n_q: int,
                     variant: str = "vu0", n_pos: int = 256) -> tuple[float, float] | None:
    """Instructions of att_scores and of att_values per position and kv head
    (attention_call_counts over n_pos positions, divided by n_pos): the VU0 kernels
    ("vu0") or their C twins ("c"); None when the ELF has no such kernels."""
    counts = attention_call_counts(funcs, head_dim, n_q, n_pos, variant)
    return None if counts is None else (counts[0] / n_pos, counts[1] / n_pos)


def kernel_symbols(header: str | Path) -> list[str]:
    """Function names declared in build/<model>/gen/kernels.gen.h."""
    text = Path(header).read_text()
    return re.findall(r"^\s*(?:const\s+)?(?:float|void|int|uint32_t)\s+\*?(\w+)\s*\(", text, re.M)


# ----------------------------------------------------------------------------- stages

@dataclass
class Stage:
    name: str                  # e.g. "layers.3.wq", "layers.3.attention", "output"
    tensor: str | None         # the weight tensor it reads, if any
    instructions: float
    memory_bytes: float        # weights + KV read from RAM (each line misses the D-cache)
    staged_bytes: float = 0.0  # weights or KV cache DMA'd into the scratchpad as the kernel runs
    first_chunk: float = 0.0   # bytes of the first chunk, whose fill nothing hides

    def seconds(self, cpi: float = CPI) -> float:
        compute = max(self.instructions * cpi, self.staged_bytes / DMA_BYTES_PER_CYCLE)
        return (compute + self.first_chunk / DMA_BYTES_PER_CYCLE
                + self.memory_bytes / LINE * MISS_CYCLES) / EE_HZ


class ComputeModel:
    """Per-stage instruction counts of one token, from the ELF's kernels when it is
    given, else from the formulas alone (1 instruction per MAC, marked 'formula')."""

    def __init__(self, cfg: ModelConfig, funcs: dict[str, Function] | None = None,
                 kernels: str = "mmi"):
        self.cfg = cfg
        self.funcs = funcs or {}
        self.methods: dict[str, str] = {}
        self.kernels = kernels     # "mmi": the matvecs the PS2 runs; "c": their C twins

    @property
    def from_elf(self) -> bool:
        return bool(self.funcs)

    def _find(self, pattern: str) -> str | None:
        rx = re.compile(pattern)
        for name in sorted(self.funcs):
            if rx.fullmatch(name):
                return name
        return None

    def _count(self, pattern: str, elements: float, outer: float = 0.0, loads: int = 0,
               fallback: float = 0.0, per_outer: float | None = None) -> float:
        sym = self._find(pattern) if self.funcs else None
        if sym is None:
            self.methods.setdefault(pattern, "formula")
            return fallback
        middle = None if per_outer is None else outer * (per_outer(sym) if callable(per_outer) else per_outer)
        kc = loop_count(self.funcs, sym, elements, outer, loads, middle)
        self.methods[sym] = kc.method
        return kc.per_call

    def matvec(self, quant: str, rows: int, cols: int, quantized: bool = False) -> float:
        # every integer-activation type (q8, q4, q4m, ternary) quantizes x first, unless
        # the matrix before it quantized the same x (forward.c's project)
        quantizer = rf"quantize_q8_{cols}"                # VU0 on the EE, its C twin _c
        if self.kernels == "c" and self.funcs and self._find(quantizer + "_c"):
            quantizer += "_c"
        q = self._count(quantizer, cols, loads=1, fallback=12 * cols) \
            if quant not in ("f32", "f16") and not quantized else 0
        pattern = rf"matvec_{quant}_{rows}x{cols}(_g\d+)?(_rows)?"
        twin = rf"matvec_{quant}_{rows}x{cols}(_g\d+)?_rows_c"    # the C twin of an MMI kernel
        if self.kernels == "c" and self.funcs and self._find(twin):
            pattern = twin
        return q + self._count(pattern, rows * cols, rows, loads=2, fallback=7 * rows * cols, per_outer=_groups)

    def staging(self, stride: int, items: int, callback: str = "rows_chunk") -> tuple[float, float] | None:
        """(instructions, first chunk's bytes) of staging `items` items of `stride`
        bytes through the scratchpad (staging.c's stage, calling `callback` on each
        chunk), or None where the ELF does not stage or the items are read in place
        (as staging.c decides)."""
        if "stage" not in self.funcs or stride > SCRATCH_HALF or stride % 16:
            return None
        chunk = staging_chunk(stride)
        chunks = math.ceil(items / chunk)
        ins = loop_count(self.funcs, "stage", chunks).per_call      # the chunk loop, fills, waits
        if callback in self.funcs:
            ins += chunks * self.funcs[callback].static
        for sym, trips in (("hal_scratch_sync", 0), ("ee_dcache_writeback_all", DCACHE_SETS)):
            if sym in self.funcs:
                ins += loop_count(self.funcs, sym, trips).per_call
        self.methods["stage (staging.c)"] = "loops"
        return ins, min(items, chunk) * stride

    def kv_staging(self, n: int, kv_quant: str) -> tuple[float, float] | None:
        """(instructions, first chunk's bytes) of staging n positions of one layer's
        f32 keys, and again its values, through the scratchpad (forward.c's attention:
        scores_chunk, values_chunk); None where the ELF does not (f16, q8)."""
        if kv_quant != "f32":
            return None
        keys = self.staging(4 * self.cfg.kv_dim, n, "scores_chunk")
        values = self.staging(4 * self.cfg.kv_dim, n, "values_chunk")
        return None if keys is None or values is None else (keys[0] + values[0], keys[1] + values[1])

    def attention_loops(self, n: int, kv_quant: str = "f32", staged: bool = False) -> float:
        """attention.c's scores and weighted values over n positions of every kv head
        (VU0, or the C twins with kernels="c"), counted from the ELF when it has them,
        with forward.c around them: an f32 cache goes through the scratchpad by chunks
        of positions where `staged` (kv_staging), one att_scores and one att_values
        call a kv head a chunk (read in place, one call a kv head, without staging);
        f16 and q8 are converted to f32 (kv_head_*) by blocks of ATT_BLOCK positions, a
        call a block."""
        cfg = self.cfg
        n_q = cfg.n_heads // cfg.n_kv_heads
        variant = "c" if self.kernels == "c" else "vu0"
        if kv_quant != "f32":
            size = ATT_BLOCK
        else:
            size = staging_chunk(4 * cfg.kv_dim) if staged else n
        blocks = [min(size, n - t) for t in range(0, n, size)]
        counts = [attention_call_counts(self.funcs, cfg.head_dim, n_q, m, variant) for m in blocks] \
            if self.funcs else [None]
        kv_head = self._count(r"kv_head_\w+", cfg.head_dim, fallback=4 * cfg.head_dim)
        # f32: forward.c asks kv_head_f32 for position 0 of the keys and of the values
        # (counted for every kv head: an overestimate of a few instructions);
        # f16/q8: every position converted, in forward.c's loop
        reads = 2 * kv_head if kv_quant == "f32" else 2 * n * (kv_head + ATT_LOOP_INSN)
        if None in counts:
            self.methods.setdefault("attention (attention.c)", "formula")
            return ATT_INSN_PER_MAC * 2 * cfg.n_heads * n * cfg.head_dim + cfg.n_kv_heads * reads
        self.methods["attention (attention.c)"] = "loops"
        return cfg.n_kv_heads * (reads + sum(sum(c) + 2 * ATT_CALL_INSN for c in counts))

    def _matvec_stage(self, name: str, tensor: str, ins: float, tp) -> Stage:
        """A matrix's stage: its weights staged through the scratchpad where the ELF
        does (read at the DMA's pace, in parallel), else missing the D-cache."""
        staged = self.staging(tp.row_stride, tp.rows)
        if staged is None:
            return Stage(name, tensor, ins, tp.bytes)
        return Stage(name, tensor, ins + staged[0], 0.0, tp.bytes, staged[1])

    def stages(self, plan: Plan, position: int) -> list[Stage]:
        """Every stage of one token at `position` (0-based), in execution order."""
        cfg = self.cfg
        t = {tp.name: tp for tp in plan.tensors}
        out: list[Stage] = []
        n = position + 1
        emb = t["tok_embeddings"]
        out.append(Stage("embed", None, self._count(r"embed_\w+", cfg.dim, fallback=4 * cfg.dim),
                         emb.row_stride))
        half = cfg.head_dim // 2
        out.append(Stage("rope angles", None,
                         self._count(rf"rope_angles_{cfg.head_dim}", half, fallback=200 * half), 0))
        kv_elem = plan.kv_bytes / max(1, 2 * cfg.n_layers * plan.context * cfg.kv_dim)
        for layer in range(cfg.n_layers):
            p = f"layers.{layer}."
            for role in ("attention_norm", "wq", "wk", "wv", "rope", "attention", "wo",
                         "ffn_norm", "w1", "w3", "silu", "w2"):
                name = p + role
                if role in ("attention_norm", "ffn_norm"):
                    # the sum of squares a C loop (1 load an element), the scaling VU0
                    # (norm_rope_vu0.h: 4 lqc2 a trip of 8) or C (2 loads); or the C twin
                    norm = f"rmsnorm_{cfg.dim}"
                    norm += "_c" if self.kernels == "c" and norm + "_c" in self.funcs else ""
                    ins = self._count(norm, cfg.dim, loads=2, fallback=10 * cfg.dim)
                    out.append(Stage(name, name, ins, 4 * cfg.dim))
                elif role == "rope":
                    # VU0 (norm_rope_vu0.h: 4 lqc2 a quadword of 4 pairs, 4 loads a pair)
                    # or the C twin (its 8 loads a pair: a trip a pair, loads=0)
                    rope = f"rope_{cfg.head_dim}"
                    rope += "_c" if self.kernels == "c" and rope + "_c" in self.funcs else ""
                    loads = 4 if rope + "_c" in self.funcs else 0
                    ins = sum(self._count(rope, h * half, h, loads=loads, fallback=10 * h * half)
                              for h in (cfg.n_heads, cfg.n_kv_heads))
                    out.append(Stage(name, None, ins, 0))
                elif role == "attention":
                    # (attention_loops: the cached kv head vectors read back too,
                    # f16/q8 converted to f32)
                    # softmax: exp4.h's VU0 loop (8 scores a trip: two lqc2, one load a
                    # score like its scalar max and division loops), or its C twin
                    soft = "softmax_c" if self.kernels == "c" and "softmax_c" in self.funcs else "softmax"
                    staged = self.kv_staging(n, plan.kv_quant)
                    ins = self.attention_loops(n, plan.kv_quant, staged is not None) + cfg.n_heads * self._count(
                        soft, n, loads=1, fallback=60 * n)
                    # this position's keys and values into the cache
                    ins += 2 * self._count(r"kv_store_\w+", cfg.kv_dim, cfg.n_kv_heads,
                                           fallback=4 * cfg.kv_dim)
                    kv_bytes = 2 * n * cfg.kv_dim * kv_elem
                    out.append(Stage(name, None, ins, kv_bytes) if staged is None else
                               Stage(name, None, ins + staged[0], 0.0, kv_bytes, staged[1]))
                elif role == "silu":
                    # VU0 (exp4.h: 8 elements a trip, 4 lqc2) or the C twin: 2 loads an element
                    silu = f"silu_mul_{cfg.hidden_dim}"
                    silu += "_c" if self.kernels == "c" and silu + "_c" in self.funcs else ""
                    ins = self._count(silu, cfg.hidden_dim, loads=2, fallback=60 * cfg.hidden_dim)
                    out.append(Stage(name, None, ins, 0))
                else:
                    tp = t[name]
                    after = {"wk": "wq", "wv": "wk", "w3": "w1"}.get(role)   # same input x
                    shared = after is not None and not {"f32", "f16"} & {tp.quant, t[p + after].quant}
                    ins = self.matvec(tp.quant, tp.rows, tp.cols, shared)
                    if role in ("wo", "w2"):
                        ins += RESIDUAL_INSN * cfg.dim
                    out.append(self._matvec_stage(name, name, ins, tp))
        norm = f"rmsnorm_{cfg.dim}"
        norm += "_c" if self.kernels == "c" and norm + "_c" in self.funcs else ""
        out.append(Stage("norm", "norm", self._count(norm, cfg.dim, loads=2, fallback=10 * cfg.dim),
                         4 * cfg.dim))
        wname = "tok_embeddings" if cfg.tie_embeddings else "output"
        tp = t[wname]
        out.append(self._matvec_stage("output", wname, self.matvec(tp.quant, cfg.vocab_size, cfg.dim), tp))
        self.methods.setdefault("sampler (sampler.c)", "formula")
        out.append(Stage("sampler", None, SAMPLER_INSN_PER_TOKEN * cfg.vocab_size,
                         4 * cfg.vocab_size))
        return out


# ----------------------------------------------------------------------------- the timeline

@dataclass(frozen=True)
class Event:
    lane: str                  # "read" or "compute"
    start: float
    end: float
    label: str


@dataclass
class TokenTime:
    device: str
    seconds: float             # steady-state seconds per token, reads overlapping compute
    disc_seconds: float        # drive busy time per token (bytes + seeks + requests)
    compute_seconds: float     # EE busy time per token (nominal CPI)
    compute_range: tuple[float, float]    # EE time at CPI_RANGE
    stall_seconds: float       # EE waiting for a stream buffer
    per_stage: dict[str, float]           # compute seconds by stage kind (wq, attention, ...)
    events: list[Event]        # one token's timeline, starting at 0


def _kind(stage: str) -> str:
    return stage.split(".")[-1] if stage.startswith("layers.") else stage


def simulate(plan: Plan, stages: list[Stage], device: DeviceProfile, cpi: float = CPI,
             tokens: int = 3) -> TokenTime:
    """Run `tokens` tokens through two stream buffers and one drive; report the last.

    The drive serves requests in order: for each token, the embedding row (after the
    previous token's sampler, with a seek), then every streamed block of the run
    (a seek before the first). Block k of the run may start reading once the
    compute of block k-2 has freed its buffer; a stage's compute starts when its
    block has arrived and the previous compute is done."""
    tp = {t.name: t for t in plan.tensors}
    emb = tp["tok_embeddings"]
    drive = 0.0
    ee = 0.0
    buffer_free = [0.0, 0.0]
    k = 0
    all_events: list[list[Event]] = []
    token_end = [0.0]
    for _ in range(tokens):
        ev: list[Event] = []
        t0 = ee
        if not emb.resident:
            start = max(drive, ee)                     # the token id is known now
            end = start + device.read_time(row_read_bytes(emb.row_stride), 1, 1)
            ev.append(Event("read", start, end, "seek + embedding row"))
            drive = end
            row_ready = end
        else:
            row_ready = ee
        first_block = True
        for st in stages:
            t = tp.get(st.tensor) if st.tensor else None
            streamed = t is not None and not t.resident and (st.name == "output" or
                                                            st.tensor != "tok_embeddings")
            secs = st.seconds(cpi)
            if st.name == "embed":
                start = max(ee, row_ready)
                ev.append(Event("compute", start, start + secs, "embed"))
                ee = start + secs
                continue
            if not streamed:
                ev.append(Event("compute", ee, ee + secs, st.name))
                ee += secs
                continue
            n_blocks = math.ceil(t.rows / t.block_rows)
            for b in range(n_blocks):
                rows = min(t.block_rows, t.rows - b * t.block_rows)
                nbytes = t.bytes * rows / t.rows
                start = max(drive, buffer_free[k % 2])
                seek = device.seek_s if first_block else 0.0
                end = start + seek + device.read_time(nbytes, 0, 1)
                ev.append(Event("read", start, end, ("seek + " if seek else "") + st.name))
                first_block = False
                drive = end
                cstart = max(ee, end)
                cend = cstart + secs * rows / t.rows
                ev.append(Event("compute", cstart, cend, st.name))
                ee = cend
                buffer_free[k % 2] = cend
                k += 1
        token_end.append(ee)
        all_events.append([Event(e.lane, e.start - t0, e.end - t0, e.label) for e in ev])
    seconds = token_end[-1] - token_end[-2]
    compute = sum(s.seconds(cpi) for s in stages)
    per_stage: dict[str, float] = {}
    for s in stages:
        per_stage[_kind(s.name)] = per_stage.get(_kind(s.name), 0.0) + s.seconds(cpi)
    return TokenTime(device.name, seconds, plan_disc_seconds(plan, device), compute,
                     tuple(sum(s.seconds(c) for s in stages) for c in CPI_RANGE),
                     max(0.0, seconds - compute), per_stage, all_events[-1])


def plan_disc_seconds(plan: Plan, device: DeviceProfile) -> float:
    return device.read_time(plan.streamed_bytes_per_token, plan.seeks_per_token,
                            plan.reads_per_token)
