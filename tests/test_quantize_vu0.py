"""The activation quantizer on VU0 and MMI (ee_runtime_c/act_vu0.h,
templates/quantize.c.jinja), compiled by the EE compiler as the PS2 build compiles
kernels.gen.c and run under unicorn (tests/r5900_emu.py models vabs, vmax, vmini,
vftoi0, psraw, pxor, psubw, ppach), bit for bit against its C twin on unicorn and
model/quant.py's quantize_activation. What only a PS2 confirms: docs/KERNELS.md."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "site_scons"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest.importorskip("unicorn")
from codegen.spec import spec_from_policy  # noqa: E402
from model.config import ModelConfig  # noqa: E402
from model.cost import disassemble, loop_count  # noqa: E402
from model.quant import ACT_LEVELS, QuantType, quantize_activation  # noqa: E402
from ee_code import EE_CC, Image, compile_kernels, link_kernels  # noqa: E402
from r5900_emu import FPR  # noqa: E402
from test_kernels import rng_for  # noqa: E402

F32 = np.float32
pytestmark = pytest.mark.skipif(EE_CC is None, reason="no EE compiler")
X_ADDR, XQ_ADDR = 0x0400000, 0x0500000
# quantizer widths: dim and hidden of ps2-stories (256, 768, 1024) and SmolLM2 (576, 1536)
CFG = ModelConfig(dim=256, hidden_dim=1024, n_layers=1, n_heads=8, n_kv_heads=4,
                  vocab_size=64, max_seq_len=16)
WIDTHS = (256, 1024)


@pytest.fixture(scope="module")
def elf(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("quantize_vu0")
    return link_kernels(compile_kernels(spec_from_policy("quantize-vu0", "test", CFG, QuantType.Q8), out))


def run(elf: Path, symbol: str, x: np.ndarray, offset: int = 0,
        ftoi_round: bool = False) -> tuple[np.ndarray, F32, Image]:
    """symbol(xq, x) under unicorn with x at X_ADDR + offset: (xq, the scale, the image)."""
    img = Image(elf, (symbol.removesuffix("_c"), symbol.removesuffix("_c") + "_c", "memset"))
    img.emu.ftoi_round = ftoi_round
    img.emu.uc.mem_write(X_ADDR + offset, x.astype("<f4").tobytes())
    img.call(symbol, [XQ_ADDR + offset, X_ADDR + offset])
    xq = np.frombuffer(bytes(img.emu.uc.mem_read(XQ_ADDR + offset, 2 * len(x))), "<i2")
    scale = np.uint32(img.emu.uc.reg_read(FPR[0]) & 0xFFFFFFFF).view(F32)
    return xq, scale, img


def inputs(n: int) -> dict[str, np.ndarray]:
    rng = rng_for(f"quantize{n}")
    halves = (np.arange(n) % 9 - 4 + 0.5).astype(F32)                   # exact .5s at scale 1
    halves[0] = ACT_LEVELS                                               # amax = LEVELS: inv = 1
    edge = rng.standard_normal(n).astype(F32)
    edge[3] = -np.abs(edge).max() * 1.5                                  # the peak negative
    edge[5] = -0.0
    return {"normal": rng.standard_normal(n).astype(F32) * 3,
            "outlier": np.concatenate([[F32(1000)], rng.standard_normal(n - 1).astype(F32)]),
            "halves": halves, "edge": edge, "zero": np.zeros(n, F32),
            "tiny": rng.standard_normal(n).astype(F32) * F32(1e-20)}


@pytest.mark.parametrize("n", WIDTHS)
def test_vu0_quantizer_equals_c_twin_and_numpy(elf, n):
    symbol = f"quantize_q8_{n}"
    for name, x in inputs(n).items():
        want_q, want_s = quantize_activation(x)
        got_q, got_s, img = run(elf, symbol, x)
        assert img.emu.executed.get("ppach", 0) == (0 if name == "zero" else n // 8), name
        twin_q, twin_s, _ = run(elf, symbol + "_c", x)
        assert np.array_equal(twin_q, want_q) and twin_s.view(np.uint32) == want_s.view(np.uint32), name
        assert np.array_equal(got_q, want_q), f"{name}: first difference at {np.flatnonzero(got_q != want_q)[:5]}"
        assert got_s.view(np.uint32) == want_s.view(np.uint32), name


def test_misaligned_vector_takes_the_c_twin(elf):
    x = inputs(256)["normal"]
    got_q, got_s, img = run(elf, "quantize_q8_256", x, offset=4)
    want_q, want_s = quantize_activation(x)
    assert np.array_equal(got_q, want_q) and got_s == want_s
    assert img.emu.executed.get("vftoi0", 0) == 0


def test_a_wrong_rounding_model_is_caught(elf):
    """vftoi0 rounding to nearest instead of truncating changes some xq: the
    comparison above can fail."""
    x = inputs(256)["normal"]
    got_q, _, _ = run(elf, "quantize_q8_256", x, ftoi_round=True)
    assert not np.array_equal(got_q, quantize_activation(x)[0])


def test_cost_model_counts_the_vu0_loops(elf):
    """8 floats a trip in both loops: the cost model's count of the VU0 variant is
    within 10% of the instructions unicorn executed, and well under the C twin's."""
    funcs = disassemble(elf)
    x = inputs(1024)["normal"]
    _, _, img = run(elf, "quantize_q8_1024", x)
    counted = loop_count(funcs, "quantize_q8_1024", 1024, per_elem_loads=1).per_call
    twin = loop_count(funcs, "quantize_q8_1024_c", 1024, per_elem_loads=1).per_call
    assert counted < twin / 4
    assert abs(counted - img.steps) / img.steps < 0.10, (counted, img.steps)
