"""The R5900 MMI variants of the q8 matvec kernels (docs/KERNELS.md), compiled by
the EE compiler exactly as the PS2 build compiles kernels.gen.c, run under unicorn
with the R5900-only instructions modelled in tests/r5900_emu.py, bit for bit
against numpy (model.quant.matvec_q8) at SmolLM2-135M's shapes (a block of rows of
each) and at odd ones. Their C twins are the kernels tests/test_kernels.py runs on
the host. What only a PS2 (or PCSX2/Play!) can confirm: docs/KERNELS.md."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "site_scons"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest.importorskip("unicorn")
from elftools.elf.elffile import ELFFile  # noqa: E402

from codegen.kernels import plan_kernels, render_all  # noqa: E402
from model.quant import ACT_LEVELS, MAX_GROUP, matvec_q8, pack_rows, quantize_activation, unpack_q8  # noqa: E402
from ps2llm_build import INCLUDE_DIRS  # noqa: E402
from r5900_emu import R5900  # noqa: E402
from site_tools import ee_gcc  # noqa: E402
from test_kernels import CASES, extreme_sums, rng_for  # noqa: E402

F32 = np.float32
EE_CC = ee_gcc.find_compiler()
pytestmark = pytest.mark.skipif(EE_CC is None, reason="no EE compiler")
MMI_CASES = ("smollm2_q8", "smollm2_q8_g64", "odd_q8", "odd_q8_g6", "wide_q8")
MAX_ROWS = 24          # rows of each matrix run under emulation (every row is the same code)
W_ADDR, X_ADDR, OUT_ADDR, STACK = 0x0400000, 0x0300000, 0x0380000, 0x02F0000


def compile_kernels(spec, out: Path) -> Path:
    for name, text in render_all(spec).items():
        (out / name).write_text(text)
    obj = out / "kernels.o"
    subprocess.run([EE_CC, *ee_gcc.compiler_flags(EE_CC), *ee_gcc.C_FLAGS, "-Werror",
                    f"-I{out}", *[f"-I{ROOT / d}" for d in INCLUDE_DIRS],
                    "-c", str(out / "kernels.gen.c"), "-o", str(obj)], check=True)
    return obj


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


@pytest.fixture(scope="module", params=MMI_CASES)
def compiled(request, tmp_path_factory):
    spec = CASES[request.param]
    return spec, compile_kernels(spec, tmp_path_factory.mktemp(request.param + "_ee"))


def run_rows(code: bytes, packed: bytes, xq: np.ndarray, xs: F32, n_rows: int) -> tuple[np.ndarray, R5900]:
    emu = R5900(code)
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
