"""RMSNorm's scaling loop and RoPE's rotation on VU0 (ee_runtime_c/norm_rope_vu0.h,
templates/rmsnorm.c.jinja, rope.c.jinja), compiled by the EE compiler as the PS2 build
compiles kernels.gen.c and run under unicorn (tests/r5900_emu.py: lqc2/sqc2, qmtc2,
vmul, vmulx, vadd, vsub), bit for bit against their C twins on unicorn and
model/reference.py's rmsnorm and rope. What only a PS2 confirms: docs/KERNELS.md."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "site_scons"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest.importorskip("unicorn")
from codegen.kernels import render_all  # noqa: E402
from codegen.spec import spec_from_policy  # noqa: E402
from model.config import ModelConfig  # noqa: E402
from model.cost import ComputeModel, disassemble, loop_count  # noqa: E402
from model.plan import make_plan  # noqa: E402
from model.psnt import QuantPolicy  # noqa: E402
from model.quant import QuantType  # noqa: E402
from ee_code import EE_CC, Image, assert_bits_equal, bits, compile_kernels, function_symbols, link_kernels  # noqa: E402
from model.reference import rmsnorm, rope, rope_tables  # noqa: E402

F32 = np.float32
pytestmark = pytest.mark.skipif(EE_CC is None, reason="no EE compiler")
OUT_ADDR, X_ADDR, W_ADDR, COS_ADDR, SIN_ADDR = 0x0400000, 0x0500000, 0x0600000, 0x0700000, 0x0710000
CONTEXT = 512

# (dim, head_dim, n_heads, n_kv_heads): ps2-stories (256, 32, 8/4), SmolLM2-135M
# (576, 64, 9/3), a 1024-wide model (64, 16/4); then odd shapes: half = 12 and 4 (a
# loop of 4 pairs a trip, one quadword), and dim 36 with head_dim 14, which have no
# variant (C alone).
SHAPES = {"stories": (256, 32, 8, 4), "smollm2": (576, 64, 9, 3), "wide": (1024, 64, 16, 4),
          "half12": (96, 24, 4, 2), "half4": (40, 8, 5, 1), "odd": (36, 14, 3, 1)}


def config(name: str) -> ModelConfig:
    dim, head_dim, n_heads, n_kv_heads = SHAPES[name]
    return ModelConfig(dim=dim, hidden_dim=2 * dim, n_layers=1, n_heads=n_heads,
                       n_kv_heads=n_kv_heads, head_dim=head_dim, vocab_size=64, max_seq_len=CONTEXT)


@pytest.fixture(scope="module", params=list(SHAPES))
def build(request, tmp_path_factory):
    """(the config, kernels.gen.c compiled for the EE and linked at 0x100000)."""
    cfg = config(request.param)
    out = tmp_path_factory.mktemp(f"norm_rope_{request.param}")
    elf = link_kernels(compile_kernels(spec_from_policy(f"norm-rope-{request.param}", "test", cfg,
                                                        QuantType.Q8, context=CONTEXT), out))
    return cfg, elf


def has_twin(img: Image, symbol: str) -> bool:
    return symbol + "_c" in img.syms


def image(elf: Path, symbol: str) -> Image:
    return Image(elf, (symbol, symbol + "_c") if symbol + "_c" in function_symbols(elf) else (symbol,))


# ------------------------------------------------------------------ RMSNorm

def norm_inputs(dim: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(dim)
    w = (1 + rng.standard_normal(dim) * 0.3).astype(F32)
    big = rng.standard_normal(dim).astype(F32) * F32(1e3)
    big[7] = F32(-4e4)
    small = rng.standard_normal(dim).astype(F32) * F32(1e-3)
    small[::5] = 0
    small[1] = -0.0
    return {"normal": (rng.standard_normal(dim).astype(F32) * 2, w),
            "big": (big, w), "small": (small, w),
            "ones": (np.ones(dim, F32), np.ones(dim, F32)),
            "zero": (np.zeros(dim, F32), w)}


def run_norm(img: Image, symbol: str, x: np.ndarray, w: np.ndarray, offsets=(0, 0, 0),
             in_place: bool = False) -> tuple[np.ndarray, int]:
    o, xo, wo = offsets
    out = X_ADDR + xo if in_place else OUT_ADDR + o
    fill = [] if in_place else [(out, np.full(len(x), F32(7)))]
    return img.run(symbol, [*fill, (X_ADDR + xo, x), (W_ADDR + wo, w)],
                   [out, X_ADDR + xo, W_ADDR + wo], (out, len(x)))


def test_rmsnorm_bit_exact(build):
    """The VU0 variant (its scaling loop 8 floats a trip) against its C twin on
    unicorn and model/reference.py's rmsnorm, out apart from x and in place."""
    cfg, elf = build
    symbol = f"rmsnorm_{cfg.dim}"
    img = image(elf, symbol)
    assert has_twin(img, symbol) == (cfg.dim % 8 == 0)
    eps = F32(cfg.norm_eps)
    for name, (x, w) in norm_inputs(cfg.dim).items():
        want = rmsnorm(x, w, eps)
        got, _ = run_norm(img, symbol, x, w)
        assert img.emu.executed.get("vmul", 0) == (cfg.dim // 4 if has_twin(img, symbol) else 0), name
        assert_bits_equal(got, want, f"{symbol} {name}: vs model/reference.py")
        if has_twin(img, symbol):
            twin, _ = run_norm(img, symbol + "_c", x, w)
            assert_bits_equal(twin, want, f"{symbol}_c {name}: vs model/reference.py")
        same, _ = run_norm(img, symbol, x, w, in_place=True)
        assert_bits_equal(same, want, f"{symbol} {name}: in place")


@pytest.mark.parametrize("offsets", [(4, 0, 0), (0, 8, 8), (0, 0, 12)])
def test_rmsnorm_misaligned_takes_the_c_twin(build, offsets):
    cfg, elf = build
    symbol = f"rmsnorm_{cfg.dim}"
    img = image(elf, symbol)
    x, w = norm_inputs(cfg.dim)["normal"]
    got, _ = run_norm(img, symbol, x, w, offsets)
    assert "vmul" not in img.emu.executed
    assert_bits_equal(got, rmsnorm(x, w, F32(cfg.norm_eps)), f"{symbol} at offsets {offsets}")


# ------------------------------------------------------------------ RoPE

def rope_inputs(cfg: ModelConfig) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(name, x (heads, head_dim), cos, sin): the tables at real positions, and
    random ones."""
    half = cfg.head_dim // 2
    rng = np.random.default_rng(cfg.head_dim * 1000 + cfg.n_heads)
    cos, sin = rope_tables(cfg.head_dim, cfg.rope_theta, CONTEXT)
    out = []
    for pos in (0, 1, 37, 255, CONTEXT - 1):
        x = (rng.standard_normal((cfg.n_heads, cfg.head_dim)) * 3).astype(F32)
        out.append((f"pos {pos}", x, cos[pos], sin[pos]))
    c = rng.uniform(-1, 1, half).astype(F32)
    s = rng.uniform(-1, 1, half).astype(F32)
    x = (rng.standard_normal((cfg.n_heads, cfg.head_dim)) * 100).astype(F32)
    x[0, :3] = [0, -0.0, 1e-3]
    out.append(("random tables", x, c, s))
    return out


def run_rope(img: Image, symbol: str, x: np.ndarray, cos: np.ndarray, sin: np.ndarray,
             offsets=(0, 0, 0)) -> tuple[np.ndarray, int]:
    xo, co, so = offsets
    heads = x.shape[0]
    got, steps = img.run(symbol, [(X_ADDR + xo, x.ravel()), (COS_ADDR + co, cos), (SIN_ADDR + so, sin)],
                         [X_ADDR + xo, heads, COS_ADDR + co, SIN_ADDR + so], (X_ADDR + xo, x.size))
    return got.reshape(x.shape), steps


def test_rope_bit_exact(build):
    """The VU0 variant (8 pairs a trip, or 4 when half % 8 == 4)
    against its C twin on unicorn and model/reference.py's rope, for the query heads
    and the kv heads."""
    cfg, elf = build
    symbol = f"rope_{cfg.head_dim}"
    img = image(elf, symbol)
    half = cfg.head_dim // 2
    assert has_twin(img, symbol) == (half % 4 == 0)
    for name, x, cos, sin in rope_inputs(cfg):
        for heads in (cfg.n_heads, cfg.n_kv_heads):
            xs = x[:heads]
            want = rope(xs, cos, sin)
            got, _ = run_rope(img, symbol, xs, cos, sin)
            assert img.emu.executed.get("vsub", 0) == (heads * half // 4 if has_twin(img, symbol) else 0)
            assert_bits_equal(got, want, f"{symbol} {name}, {heads} heads: vs model/reference.py")
            if has_twin(img, symbol):
                twin, _ = run_rope(img, symbol + "_c", xs, cos, sin)
                assert_bits_equal(twin, want, f"{symbol}_c {name}: vs model/reference.py")


@pytest.mark.parametrize("offsets", [(4, 0, 0), (0, 8, 0), (0, 0, 4)])
def test_rope_misaligned_takes_the_c_twin(build, offsets):
    cfg, elf = build
    symbol = f"rope_{cfg.head_dim}"
    img = image(elf, symbol)
    _, x, cos, sin = rope_inputs(cfg)[2]
    got, _ = run_rope(img, symbol, x, cos, sin, offsets)
    assert "vsub" not in img.emu.executed
    assert_bits_equal(got, rope(x, cos, sin), f"{symbol} at offsets {offsets}")


# ------------------------------------------------------------------ the checks' checks

def test_a_wrong_model_is_caught(build):
    """The comparisons see a wrong instruction model: vmul's products rounded toward
    zero instead of to nearest change RMSNorm's and RoPE's bits."""
    cfg, elf = build
    for symbol, run, args, want in (
            (f"rmsnorm_{cfg.dim}", run_norm, norm_inputs(cfg.dim)["normal"],
             lambda x, w: rmsnorm(x, w, F32(cfg.norm_eps))),
            (f"rope_{cfg.head_dim}", run_rope, rope_inputs(cfg)[2][1:], rope)):
        img = image(elf, symbol)
        if not has_twin(img, symbol):
            continue
        right, _ = run(img, symbol, *args)
        assert_bits_equal(right, want(*args), symbol)
        img.emu.mul_toward_zero = True
        wrong, _ = run(img, symbol, *args)
        assert np.count_nonzero(bits(wrong) != bits(want(*args))) > wrong.size // 10, symbol


def test_cost_model_counts_the_variants(build):
    """model/cost.py's count (ComputeModel.stages: rmsnorm with 2 loads an element, so
    the VU0 loop's four lqc2 are 8 floats; rope with 4 loads a pair for the variant,
    its four lqc2 a quadword, and as a C loop for the twin) is within 10% of the
    instructions unicorn runs, and the variants well under their twins."""
    cfg, elf = build
    funcs = disassemble(elf)
    norm, rot = f"rmsnorm_{cfg.dim}", f"rope_{cfg.head_dim}"
    x, w = norm_inputs(cfg.dim)["normal"]
    _, xr, cos, sin = rope_inputs(cfg)[2]
    half = cfg.head_dim // 2
    counts = {}
    for sym in (norm, norm + "_c"):
        if sym not in funcs:
            continue
        img = image(elf, norm)
        _, steps = run_norm(img, sym, x, w)
        counts[sym] = predicted = loop_count(funcs, sym, cfg.dim, per_elem_loads=2).per_call
        assert abs(predicted - steps) / steps < 0.10, (sym, predicted, steps)
    for sym in (rot, rot + "_c"):
        if sym not in funcs:
            continue
        img = image(elf, rot)
        for heads in (cfg.n_heads, cfg.n_kv_heads):
            _, steps = run_rope(img, sym, xr[:heads], cos, sin)
            loads = 4 if rot + "_c" in funcs and sym == rot else 0
            counts[sym, heads] = predicted = loop_count(funcs, sym, heads * half, heads, loads).per_call
            assert abs(predicted - steps) / steps < 0.10, (sym, heads, predicted, steps)
    if norm + "_c" in funcs:
        assert counts[norm] < 0.6 * counts[norm + "_c"]
    if rot + "_c" in funcs:
        assert counts[rot, cfg.n_heads] < 0.4 * counts[rot + "_c", cfg.n_heads]
    # ComputeModel.stages counts these: the variants, or the twins with kernels="c"
    plan = make_plan(cfg, QuantPolicy(), context=CONTEXT)
    for kernels, suffix in (("mmi", ""), ("c", "_c")):
        stages = {s.name: s.instructions for s in ComputeModel(cfg, funcs, kernels).stages(plan, 5)}
        norm_sym, rope_sym = (sym + suffix if sym + suffix in funcs else sym for sym in (norm, rot))
        assert stages["layers.0.attention_norm"] == stages["norm"] == counts[norm_sym]
        assert stages["layers.0.rope"] == sum(counts[rope_sym, h] for h in (cfg.n_heads, cfg.n_kv_heads))


def test_which_shapes_have_the_variant():
    """RMSNorm's VU0 loop takes 8 floats a trip with no tail, RoPE's quadwords of 4
    pairs: other widths stay C on every target."""
    text = render_all(spec_from_policy("odd", "test", config("odd"), QuantType.Q8))["kernels.gen.c"]
    assert "rmsnorm_36_c" not in text and "rope_14_c" not in text and "norm_rope_vu0.h" not in text
    text = render_all(spec_from_policy("half4", "test", config("half4"), QuantType.Q8))["kernels.gen.c"]
    assert "rmsnorm_40_c" in text and "rope_8_c" in text
