"""The VU0 exp (ee_runtime_c/exp4.h) and the softmax and SiLU kernels built on it
(templates/softmax.c.jinja, silu.c.jinja), compiled by the EE compiler exactly as the
PS2 build compiles kernels.gen.c, run under unicorn with the VU0 and MMI instructions
modelled in tests/r5900_emu.py, bit for bit against their C twins (run on unicorn's
IEEE FPU), the host build of the same C, and model/mathf.py / model/reference.py.
What only a PS2 (or PCSX2/Play!) can confirm: docs/KERNELS.md."""
from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "site_scons"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest.importorskip("unicorn")
from codegen.kernels import plan_kernels, render_all  # noqa: E402
from codegen.spec import spec_from_policy  # noqa: E402
from model import mathf  # noqa: E402
from model.config import ModelConfig  # noqa: E402
from model.cost import disassemble, loop_count  # noqa: E402
from model.quant import QuantType  # noqa: E402
from model.reference import silu, softmax  # noqa: E402
from ee_code import EE_CC, Image, assert_bits_equal, bits, compile_kernels, ee_compile, link_kernels  # noqa: E402
from ps2llm_build import HOST_CFLAGS, INCLUDE_DIRS  # noqa: E402

F32 = np.float32
pytestmark = pytest.mark.skipif(EE_CC is None, reason="no EE compiler")
X_ADDR, UP_ADDR = 0x0400000, 0x0500000
# the functions the tests run, besides SiLU's kernel and its twin (exp_image)
USED = ("softmax", "softmax_c", "mathf_exp", "exp_vu0", "exp_c", "mathf_sincos", "sincos_c")
HIDDEN = (768, 1024, 1536)
CONTEXT = 512

# exp4.h's 8-lane exp alone (no sum: inputs up to 88 would overflow it), and
# mathf_exp over an array, to run both on the same inputs under unicorn.
EXP_TEST_C = r"""
#include <stdint.h>
#include "exp4.h"

void exp_vu0(float *x, uint32_t n8)        /* n8 a positive multiple of 8 */
{
    const float *end = x + n8;
    __asm__ volatile(
        ".set push\n\t"
        ".set noreorder\n\t"
        PS2LLM_EXP_CONSTS
        "1:\n\t"
        "lqc2        $vf1, 0(%[x])\n\t"
        "lqc2        $vf9, 16(%[x])\n\t"
        PS2LLM_EXP8_CORE
        "sqc2        $vf8, 0(%[x])\n\t"
        "sqc2        $vf16, 16(%[x])\n\t"
        "addiu       %[x], %[x], 32\n\t"
        "bne         %[x], %[end], 1b\n\t"
        "nop\n\t"
        ".set pop"
        : [x] "+r"(x)
        : [end] "r"(end), [c] "r"(&ps2llm_exp_consts)
        : "$8", "$9", "$10", "$11", "$13", "$14", "$15", "memory");
}

void exp_c(float *x, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        x[i] = mathf_exp(x[i]);
}

void sincos_c(float *x, uint32_t n)       /* x[i] <- sin x[i], x[n + i] <- cos x[i] */
{
    uint32_t i;
    for (i = 0; i < n; i++)
        mathf_sincos(x[i], &x[i], &x[n + i]);
}
"""


def spec_for(hidden: int):
    cfg = ModelConfig(dim=64, hidden_dim=hidden, n_layers=1, n_heads=2, n_kv_heads=1,
                      vocab_size=64, max_seq_len=CONTEXT)
    return spec_from_policy(f"exp-vu0-{hidden}", "test", cfg, QuantType.Q8, context=CONTEXT)


@pytest.fixture(scope="module", params=HIDDEN)
def build(request, tmp_path_factory):
    """kernels.gen.c for a model of this hidden size (context 512), mathf.c and the
    exp test functions, compiled for the EE and linked at 0x100000; and the same C
    (kernels.gen.c, mathf.c) as a host library."""
    hidden = request.param
    out = tmp_path_factory.mktemp(f"exp_vu0_{hidden}")
    spec = spec_for(hidden)
    (out / "exp_test.c").write_text(EXP_TEST_C)
    elf = link_kernels(compile_kernels(spec, out), ee_compile(ROOT / "ee_runtime_c/mathf.c", out / "mathf.o", out),
                       ee_compile(out / "exp_test.c", out / "exp_test.o", out))
    lib = out / "kernels.so"
    subprocess.run(["gcc", *HOST_CFLAGS, "-shared", "-fPIC", f"-I{out}",
                    *[f"-I{ROOT / d}" for d in INCLUDE_DIRS], str(out / "kernels.gen.c"),
                    str(ROOT / "ee_runtime_c/mathf.c"), "-o", str(lib)], check=True)
    host = ctypes.CDLL(str(lib))
    host.mathf_exp.restype = ctypes.c_float
    host.mathf_exp.argtypes = [ctypes.c_float]
    return plan_kernels(spec), elf, host


def exp_image(elf: Path, silu_symbol: str = "") -> Image:
    """The ELF under unicorn with the functions these tests run (and SiLU's pair)."""
    return Image(elf, (*USED, *((silu_symbol, silu_symbol + "_c") if silu_symbol else ())))


def ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.c_void_p)


def exp_inputs() -> np.ndarray:
    """Random arguments over the whole range and the edges of mathf_exp's: far below
    -87 (-1000, the -inf of masked scores), -87 and its neighbours, the first k of
    each sign, 0 and -0, 88 and above, and arguments whose x * LOG2E lies a few ulp
    either side of k + 0.5 (where the rounding to k turns). No argument is nonzero
    below 1e-30 in magnitude: the VU flushes the products of those to 0 where IEEE C
    gets a denormal (then the same sum), which r5900_emu refuses to model."""
    rng = np.random.default_rng(20240617)
    edges = [-1000, -200, -100, -88.5, -87.7, -87.5, -87.3365, -87.01, -87, -86.99, -86.5, -80,
             -20, -1, -0.5, -0.3466, -1e-20, 0, -0.0, 1e-20, 0.3466, 0.5, 1, 20, 80, 87.9, 88,
             88.0001, 88.7, 89, 100, 1000]
    out = [np.array(edges, F32)]
    for v in (F32(-87), F32(88)):
        out.append(np.nextafter(v, F32(-np.inf)) - np.arange(4, dtype=F32) * np.spacing(v))
        out.append(np.nextafter(v, F32(np.inf)) + np.arange(4, dtype=F32) * np.spacing(v))
    half = (np.arange(-126, 127) + 0.5) / float(mathf.LOG2E)
    out.append(np.concatenate([np.nextafter(half.astype(F32), F32(s * np.inf)) for s in (-1, 1)]))
    out.append(half.astype(F32))
    out.append(rng.uniform(-100, 100, 2000).astype(F32))
    out.append((rng.standard_normal(500) * 8).astype(F32))
    x = np.concatenate(out)
    x = x[(x == 0) | (np.abs(x) > 1e-30)]
    return np.concatenate([x, np.zeros(-len(x) % 8, F32)])


def test_exp_bit_exact(build):
    """exp4.h's 8-lane exp, lane by lane, against mathf_exp compiled for the EE (run on
    unicorn's FPU), for the host, and model/mathf.py: the same bits everywhere."""
    ks, elf, host = build
    img = exp_image(elf, ks.silu.symbol())
    x = exp_inputs()
    vu0, steps = img.run("exp_vu0", [(X_ADDR, x)], [X_ADDR, len(x)], (X_ADDR, len(x)))
    assert img.emu.executed["vftoi0"] == len(x) // 4
    c_ee, _ = img.run("exp_c", [(X_ADDR, x)], [X_ADDR, len(x)], (X_ADDR, len(x)))
    c_host = np.array([host.mathf_exp(float(v)) for v in x], F32)
    assert_bits_equal(vu0, c_ee, "VU0 exp vs mathf_exp on the EE (unicorn)")
    assert_bits_equal(c_host, c_ee, "mathf_exp on the host vs on the EE")
    assert_bits_equal(mathf.exp(x), c_host, "model/mathf.py vs mathf_exp")
    assert np.all(vu0[x < -87] == 0) and not np.any(np.signbit(vu0))
    assert steps < 14 * len(x)                 # 8 floats a trip of ~85 instructions


def test_sincos_on_the_ee_equals_host(build):
    """mathf_sincos compiled for the EE (run on unicorn's FPU, with the R5900's
    truncating cvt.w.s) gives model/mathf.py's bits, as the host's does (test_kernels):
    its coefficients are written out, not folded by the EE compiler (mathf.h)."""
    _, elf, _ = build
    img = exp_image(elf)
    rng = np.random.default_rng(11)
    x = np.concatenate([np.arange(0, 8192, 7, dtype=F32) * F32(0.7),      # rope-like angles
                        rng.uniform(-10, 10, 500).astype(F32), np.array([0, -0.0, 1e-20], F32)])
    out, _ = img.run("sincos_c", [(X_ADDR, np.concatenate([x, np.zeros_like(x)]))],
                     [X_ADDR, len(x)], (X_ADDR, 2 * len(x)))
    want_sin, want_cos = mathf.sincos(x)
    assert_bits_equal(out[:len(x)], want_sin, "sin on the EE vs model/mathf.py")
    assert_bits_equal(out[len(x):], want_cos, "cos on the EE vs model/mathf.py")


def softmax_inputs(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Attention-like scores, a wide spread (many exps below -87: zeros), and an
    all-equal row."""
    return [(rng.standard_normal(n) * 3).astype(F32),
            (rng.standard_normal(n) * 40).astype(F32),
            np.full(n, F32(-2.5))]


@pytest.mark.parametrize("n", [1, 3, 8, 13, 257, 512])
def test_softmax_bit_exact(build, n):
    """The VU0 softmax (8 scores a trip, then a padded tail of n % 8) against its C
    twin on unicorn, the host build, and model/reference.py, at 16-byte aligned x;
    at x + 4 bytes it hands the call to the C twin."""
    ks, elf, host = build
    img = exp_image(elf, ks.silu.symbol())
    rng = np.random.default_rng(n)
    for x in softmax_inputs(n, rng):
        got, _ = img.run("softmax", [(X_ADDR, x)], [X_ADDR, n], (X_ADDR, n))
        trips = n // 8 + (n % 8 != 0)
        assert img.emu.executed["vftoi0"] == 2 * trips, "the VU0 loop ran"
        twin, _ = img.run("softmax_c", [(X_ADDR, x)], [X_ADDR, n], (X_ADDR, n))
        on_host = x.copy()
        host.softmax(ptr(on_host), ctypes.c_uint32(n))
        assert_bits_equal(got, twin, f"n={n}: VU0 vs the C twin on the EE")
        assert_bits_equal(on_host, twin, f"n={n}: host vs EE C twin")
        assert_bits_equal(softmax(x), on_host, f"n={n}: model/reference.py vs host")
        moved, _ = img.run("softmax", [(X_ADDR + 4, x)], [X_ADDR + 4, n], (X_ADDR + 4, n))
        assert "vftoi0" not in img.emu.executed
        assert_bits_equal(moved, twin, f"n={n}: misaligned x (C twin)")


def silu_inputs(hidden: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    g = (rng.standard_normal(hidden) * 6).astype(F32)
    u = rng.standard_normal(hidden).astype(F32)
    u = np.where(np.abs(u) < 1e-3, F32(1), u).astype(F32)
    edges = np.array([-1000, -200, -88.5, -87.2, -87, -86.9, -80.5, -80, -79.9, -1e-20, 0, -0.0,
                      1e-20, 0.5, 80, 80.5, 86.9, 87, 87.2, 88.5, 200, 1000], F32)
    g[:len(edges)] = edges
    u[:len(edges)] = 1
    return g, u


def test_silu_bit_exact(build):
    """The VU0 SiLU (8 elements a trip; the quotient on VU0's divider) against its C
    twin on unicorn, the host build and model/reference.py, at the real hidden sizes;
    gate or up misaligned go to the C twin."""
    ks, elf, host = build
    k = ks.silu
    assert k.vu0
    img = exp_image(elf, k.symbol())
    g, u = silu_inputs(k.hidden, np.random.default_rng(k.hidden))
    got, _ = img.run(k.symbol(), [(X_ADDR, g), (UP_ADDR, u)], [X_ADDR, UP_ADDR], (X_ADDR, k.hidden))
    assert img.emu.executed["vdiv"] == k.hidden
    twin, _ = img.run(k.symbol() + "_c", [(X_ADDR, g), (UP_ADDR, u)], [X_ADDR, UP_ADDR], (X_ADDR, k.hidden))
    on_host = g.copy()
    getattr(host, k.symbol())(ptr(on_host), ptr(u))
    assert_bits_equal(got, twin, "VU0 vs the C twin on the EE")
    assert_bits_equal(on_host, twin, "host vs EE C twin")
    assert_bits_equal(silu(g) * u, on_host, "model/reference.py vs host")
    moved, _ = img.run(k.symbol(), [(X_ADDR, g), (UP_ADDR + 8, u)], [X_ADDR, UP_ADDR + 8], (X_ADDR, k.hidden))
    assert "vdiv" not in img.emu.executed
    assert_bits_equal(moved, twin, "misaligned up (C twin)")


def test_a_wrong_model_fails(build):
    """The comparison sees a wrong instruction model: vftoi0 rounding to nearest
    instead of truncating changes k, then r and the polynomial's bits."""
    ks, elf, _ = build
    img = exp_image(elf, ks.silu.symbol())
    x = exp_inputs()
    img.emu.ftoi_round = True
    wrong, _ = img.run("exp_vu0", [(X_ADDR, x)], [X_ADDR, len(x)], (X_ADDR, len(x)))
    assert np.count_nonzero(bits(wrong) != bits(mathf.exp(x))) > len(x) // 10
    n = 257
    s = (np.random.default_rng(1).standard_normal(n) * 3).astype(F32)
    got, _ = img.run("softmax", [(X_ADDR, s)], [X_ADDR, n], (X_ADDR, n))
    assert not np.array_equal(bits(got), bits(softmax(s)))


def test_cost_model_counts_the_loops(build):
    """model/cost.py's count of the ELF (each loop's body times its trips: 8 elements a
    trip for the VU0 loops, from their lqc2 loads; cost.py's softmax and silu lines
    pass 1 and 2 loads an element) is within 3% of what unicorn runs for the VU0
    variants. For the C twins it is up to 20% high: each mathf_exp call counts as its
    whole static length, where a call runs one of its two paths."""
    ks, elf, _ = build
    funcs = disassemble(elf)
    img = exp_image(elf, ks.silu.symbol())
    rng = np.random.default_rng(3)
    tolerance = {False: 0.03, True: 0.2}
    for n in (257, 512):
        x = (rng.standard_normal(n) * 3).astype(F32)
        for sym in ("softmax", "softmax_c"):
            _, steps = img.run(sym, [(X_ADDR, x)], [X_ADDR, n], (X_ADDR, n))
            predicted = loop_count(funcs, sym, n, 0, 1).per_call
            assert 0 <= predicted - steps < tolerance[sym.endswith("_c")] * steps, (sym, n, predicted, steps)
    k = ks.silu
    g, u = silu_inputs(k.hidden, rng)
    counts = {}
    for sym in (k.symbol(), k.symbol() + "_c"):
        _, steps = img.run(sym, [(X_ADDR, g), (UP_ADDR, u)], [X_ADDR, UP_ADDR], (X_ADDR, k.hidden))
        counts[sym] = predicted = loop_count(funcs, sym, k.hidden, 0, 2).per_call
        assert 0 <= predicted - steps < tolerance[sym.endswith("_c")] * steps, (sym, predicted, steps)
    assert counts[k.symbol()] * 4 < counts[k.symbol() + "_c"]


def test_which_widths_have_the_variant():
    """SiLU's VU0 loop takes 8 elements a trip with no tail: other widths stay C."""
    from codegen.silu import SiluMul
    assert SiluMul(768).vu0 and SiluMul(1536).vu0 and not SiluMul(90).vu0
    text = render_all(spec_from_policy("odd", "test", ModelConfig(
        dim=36, hidden_dim=90, n_layers=1, n_heads=3, n_kv_heads=1, head_dim=14, vocab_size=131,
        max_seq_len=64), QuantType.Q8))["kernels.gen.c"]
    assert "silu_mul_90_c" not in text and "ps2llm_silu_mul" not in text
    assert "softmax_c" in text
