"""The R5900 MMI variants of the q8, q4, q4m and ternary matvec kernels (docs/KERNELS.md), compiled by
the EE compiler exactly as the PS2 build compiles kernels.gen.c, run under unicorn
with the R5900-only instructions modelled in tests/r5900_emu.py, bit for bit
against numpy (model.quant.matvec_q8) at SmolLM2-135M's shapes (a block of rows of
each) and at odd ones. Their C twins are the kernels tests/test_kernels.py runs on
the host. What only a PS2 (or PCSX2/Play!) can confirm: docs/KERNELS.md."""
from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "site_scons"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest.importorskip("unicorn")
from elftools.elf.elffile import ELFFile  # noqa: E402

from codegen.kernels import plan_kernels  # noqa: E402
from codegen.spec import spec_from_policy  # noqa: E402
from model.quant import (ACT_LEVELS, MAX_GROUP, QuantizedQ8, QuantType, matvec_q8, pack_quantized,  # noqa: E402
                         pack_rows, quantize_activation, to_f16, unpack_q8)
from ee_code import EE_CC, STACK, TEXT, compile_kernels, function_symbols, link_kernels  # noqa: E402
from r5900_emu import R5900  # noqa: E402
from test_kernels import CASES, SMOLLM2, extreme_sums, rng_for  # noqa: E402

F32 = np.float32
pytestmark = pytest.mark.skipif(EE_CC is None, reason="no EE compiler")
# q8: blocks of 16 columns a group, even (576, g64), odd (90) and one (g16)
MMI_SPECS = {**{name: CASES[name] for name in ("smollm2_q8", "smollm2_q8_g64", "odd_q8", "odd_q8_g6", "wide_q8")},
             "smollm2_q8_g16": spec_from_policy("smollm2-shape", "test", SMOLLM2, QuantType.Q8, 16)}
# q4, q4m, ternary at SmolLM2's shapes (groups of 32, 64 and one per row) and odd ones
LOWBIT_CASES = {
    **{name: CASES[name] for name in ("smollm2_q4_g32", "smollm2_q4m_g32", "smollm2_ternary",
                                      "odd_q4", "odd_q4_g6", "odd_q4m", "odd_ternary", "wide_q4m")},
    "smollm2_q4_g64": spec_from_policy("smollm2-shape", "test", SMOLLM2, QuantType.Q4, 64),
    "smollm2_q4m_g64": spec_from_policy("smollm2-shape", "test", SMOLLM2, QuantType.Q4M, 64),
    "smollm2_q4m": spec_from_policy("smollm2-shape", "test", SMOLLM2, QuantType.Q4M),
    "smollm2_ternary_g64": spec_from_policy("smollm2-shape", "test", SMOLLM2, QuantType.TERNARY, 64),
}
VALUES = {QuantType.Q4: (-8, 7), QuantType.Q4M: (0, 15), QuantType.TERNARY: (-1, 1)}   # every code
MAX_ROWS = 24          # rows of each matrix run under emulation (every row is the same code)
W_ADDR, X_ADDR, OUT_ADDR = 0x0400000, 0x0300000, 0x0380000


def function_code(obj: Path, symbol: str, standalone: bool = True) -> bytes:
    """The bytes of a function (gcc may fold kernels of equal code into one section,
    labelled by several symbols), which must need no relocation to run anywhere."""
    with open(obj, "rb") as f:
        elf = ELFFile(f)
        syms = elf.get_section_by_name(".symtab").get_symbol_by_name(symbol)
        assert syms, f"{symbol} not in {obj}"
        sym = syms[0]
        sec = elf.get_section(sym["st_shndx"])
        assert not standalone or elf.get_section_by_name(".rel" + sec.name) is None, \
            f"{symbol} needs relocation"
        return sec.data()[sym["st_value"]:sym["st_value"] + sym["st_size"]]


@pytest.fixture(scope="module", params=list(MMI_SPECS))
def compiled(request, tmp_path_factory):
    spec = MMI_SPECS[request.param]
    return spec, compile_kernels(spec, tmp_path_factory.mktemp(request.param + "_ee"))


def linked_function(elf: Path, symbol: str) -> tuple[int, bytes]:
    with open(elf, "rb") as f:
        e = ELFFile(f)
        syms = e.get_section_by_name(".symtab").get_symbol_by_name(symbol)
        assert syms, f"{symbol} not in {elf}"
        addr, size = syms[0]["st_value"], syms[0]["st_size"]
        text = e.get_section_by_name(".text")
        start = addr - text["sh_addr"]
        return addr, text.data()[start:start + size]


def callees(elf: Path, addr: int, code: bytes) -> tuple[tuple[int, bytes], ...]:
    """The functions a linked function calls (jal: f16_to_f32 for q4 and q4m scales,
    q4m's _xsum), each as (address, code); they must be plain MIPS32 (no R5900 words),
    which unicorn runs as it is."""
    by_addr = {a: name for name, (a, _) in function_symbols(elf).items()}
    out = []
    for w in struct.unpack(f"<{len(code) // 4}I", code):
        if w >> 26 == 0x03:                                         # jal
            target = (addr & 0xF0000000) | (w & 0x03FFFFFF) << 2
            callee = linked_function(elf, by_addr[target])
            assert not R5900(callee[1], callee[0]).special, f"{by_addr[target]} has R5900 words"
            out.append(callee)
    return tuple(out)


def run_rows(code: bytes, packed: bytes, xq: np.ndarray, xs: F32, n_rows: int,
             code_addr: int = TEXT, called: tuple[tuple[int, bytes], ...] = ()) -> tuple[np.ndarray, R5900]:
    emu = R5900(code, code_addr)
    for addr, body in called:           # plain MIPS32 (see callees), at its linked address
        emu.uc.mem_write(addr, body)
    emu.uc.mem_write(W_ADDR, packed)
    emu.uc.mem_write(X_ADDR, xq.astype("<i2").tobytes())
    emu.call(emu.code_addr, [OUT_ADDR, W_ADDR, X_ADDR, int(np.float32(xs).view(np.uint32))], STACK, [n_rows])
    return np.frombuffer(bytes(emu.uc.mem_read(OUT_ADDR, 4 * n_rows)), "<f4"), emu


def test_which_kernels_have_mmi_variants():
    """Every q8 matvec at SmolLM2's shapes has one; groups not a multiple of 16 (odd_q8_g6) do not."""
    for name in ("smollm2_q8", "smollm2_q8_g64"):
        assert all(m.mmi_blocks for m in plan_kernels(CASES[name]).matvecs)
    assert not any(m.mmi_blocks for m in plan_kernels(CASES["odd_q8_g6"]).matvecs)
    odd = {m.cols: m.mmi_blocks for m in plan_kernels(CASES["odd_q8"]).matvecs}
    assert odd == {36: 2, 42: 2, 90: 5}
    # q4 and q4m: 32 columns a block, ternary 64; per-row groups keep a C tail
    for name, blocks in (("smollm2_q4_g32", {576: 1, 1536: 1}), ("smollm2_q4_g64", {576: 2, 1536: 2}),
                         ("smollm2_q4m", {576: 18, 1536: 48}), ("smollm2_ternary", {576: 9, 1536: 24}),
                         ("smollm2_ternary_g64", {576: 1, 1536: 1}), ("odd_q4", {36: 1, 42: 1, 90: 2}),
                         ("odd_ternary", {36: 0, 42: 0, 90: 1}), ("odd_q4_g6", {36: 0, 42: 0, 90: 0})):
        assert {m.cols: m.mmi_blocks for m in plan_kernels(LOWBIT_CASES[name]).matvecs} == blocks, name
    t32 = spec_from_policy("smollm2-shape", "test", SMOLLM2, QuantType.TERNARY, 32)
    assert not any(m.mmi_blocks for m in plan_kernels(t32).matvecs)   # 8-byte groups: C only


def test_mmi_matvec_bit_exact(compiled):
    spec, obj = compiled
    for m in plan_kernels(spec).matvecs:
        if not m.mmi_blocks:
            code = function_code(obj, f"{m.symbol()}_rows", standalone=False)
            mmi = {n for n, _ in R5900(code).special.values()} - {"mult3", "multu3"}
            assert not mmi, f"{m.symbol()}: the C kernel has MMI code {mmi}"
            continue
        code = function_code(obj, f"{m.symbol()}_rows")
        function_code(obj, f"{m.symbol()}_rows_c", standalone=False)    # the C twin is compiled too
        rows = min(m.rows, MAX_ROWS)
        rng = rng_for(m.symbol() + "mmi")
        w = rng.standard_normal((rows, m.cols)).astype(F32)
        w[0, :] = np.where(np.arange(m.cols) % 3 == 0, -1.0, 1.0)    # q = +-127 throughout
        for x in (rng.standard_normal(m.cols).astype(F32) * 3,
                  np.where(rng.random(m.cols) < 0.5, F32(-2.0), F32(2.0)).astype(F32)):
            packed, _ = pack_rows(m.quant, w, m.group_size)
            xq, xs = quantize_activation(x)
            got, emu = run_rows(code, packed, xq, xs, rows)
            want = matvec_q8(unpack_q8(packed, rows, m.cols, m.group_size), x)
            np.testing.assert_array_equal(got, want, err_msg=m.symbol())
            assert emu.executed["pmaddh"] == 2 * rows * m.n_groups * m.mmi_blocks


def test_mmi_sums_at_the_bound(tmp_path):
    """pmaddh's int32 lanes and their final sum stay exact for the largest group sums
    the format allows (docs/FORMAT.md): MAX_GROUP columns of +-127 weights times
    +-ACT_LEVELS activations, within 1% of 2^31 (wide_q8's FFN down rows)."""
    spec = CASES["wide_q8"]
    obj = compile_kernels(spec, tmp_path)
    wide = [m for m in plan_kernels(spec).matvecs if m.group_size == MAX_GROUP and m.mmi_blocks]
    assert wide
    for m in wide:
        rows = 4
        w, x = extreme_sums(m, rows)
        packed, _ = pack_rows(m.quant, w, m.group_size)
        xq, xs = quantize_activation(x)
        quant = unpack_q8(packed, rows, m.cols, m.group_size)
        assert int(quant.group_sums(xq)[0, 0]) == MAX_GROUP * 127 * ACT_LEVELS
        got, _ = run_rows(function_code(obj, f"{m.symbol()}_rows"), packed, xq, xs, rows)
        np.testing.assert_array_equal(got, matvec_q8(quant, x), err_msg=m.symbol())


@pytest.fixture(scope="module", params=sorted(LOWBIT_CASES))
def lowbit_elf(request, tmp_path_factory):
    spec = LOWBIT_CASES[request.param]
    return spec, link_kernels(compile_kernels(spec, tmp_path_factory.mktemp(request.param + "_ee")))


def lowbit_weights(m, rows: int, rng: np.random.Generator) -> QuantizedQ8:
    """Random values with every code in row 0 (lo, lo + 1, ..., hi, lo, ... along the
    row), all hi in row 1 and all lo in row 2, whatever the group; f16-exact scales (q4,
    q4m store f16, ternary f32) of both signs, and q4m minimums, all normal f16 (the
    float part is the C twin's text in both; this tests the integers)."""
    lo, hi = VALUES[m.quant]
    q = rng.integers(lo, hi + 1, (rows, m.cols))
    q[0] = lo + np.arange(m.cols) % (hi - lo + 1)
    q[1], q[2] = hi, lo
    shape = (rows, m.n_groups)
    scales = to_f16(rng.uniform(0.01, 0.1, shape).astype(F32) * rng.choice([F32(-1), F32(1)], shape))
    mins = to_f16(-rng.uniform(0.01, 0.5, shape).astype(F32)) if m.quant == QuantType.Q4M else None
    return QuantizedQ8(q.astype(np.int8), scales, m.group_size, m.quant, mins)


def test_lowbit_mmi_matvec_bit_exact(lowbit_elf):
    """q4, q4m and ternary MMI variants against numpy bit for bit: random activations,
    and +-ACT_LEVELS (the bound) everywhere, with rows of every code and of the extreme
    codes, whose group sums are the largest of each type."""
    spec, elf = lowbit_elf
    for m in plan_kernels(spec).matvecs:
        addr, code = linked_function(elf, f"{m.symbol()}_rows")
        if not m.mmi_blocks:
            mmi = {n for n, _ in R5900(code, addr).special.values()} - {"mult3", "multu3"}
            assert not mmi, f"{m.symbol()}: the C kernel has MMI code {mmi}"
            continue
        linked_function(elf, f"{m.symbol()}_rows_c")    # the C twin is in the ELF too
        called = callees(elf, addr, code)
        rows = min(m.rows, MAX_ROWS)
        rng = rng_for(m.symbol() + "mmi")
        w = lowbit_weights(m, rows, rng)
        packed = pack_quantized(w)
        np.testing.assert_array_equal(unpack_q8(packed, rows, m.cols, m.group_size, m.quant).q, w.q)
        sign = np.where(rng.random(m.cols) < 0.5, F32(-3), F32(3)).astype(F32)
        for x in (rng.standard_normal(m.cols).astype(F32) * 3, sign, np.full(m.cols, F32(3)),
                  np.full(m.cols, F32(-3))):
            xq, xs = quantize_activation(x)
            got, emu = run_rows(code, packed, xq, xs, rows, addr, called)
            np.testing.assert_array_equal(got, matvec_q8(w, x), err_msg=m.symbol())
            # the MMI loop ran: mmi_block / 8 pmaddh a block (8 products each)
            assert emu.executed["pmaddh"] == m.mmi_block // 8 * rows * m.n_groups * m.mmi_blocks
        xq, _ = quantize_activation(np.full(m.cols, F32(3)))
        assert np.all(np.abs(xq) == ACT_LEVELS)
