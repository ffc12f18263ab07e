"""Every generated kernel against numpy at real shapes (SmolLM2-135M's) and odd
ones, built for the host with -Werror and ASan/UBSan through
tests/c/kernel_driver.c; and a snapshot of the generated C in tests/golden/.

Every kernel is bit-exact with model/reference.py (and exp, sin/cos with
model/mathf.py): the same f32 operations in the same order. Each is also checked
for accuracy against float64 math: f32/f16 matvecs 1e-5 relative to sum |w||x|;
rmsnorm, silu 1e-5 relative; softmax 1e-6 absolute; rope 1e-6 times max |x|
(against exact sin/cos of the same f32 angle); exp 3e-7 relative; sin/cos 1e-7
absolute (scaled up for angles of thousands of radians)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "site_scons"))

from codegen.kernels import plan_kernels, render_all  # noqa: E402
from codegen.spec import ModelSpec, spec_from_policy  # noqa: E402
from model.config import ModelConfig  # noqa: E402
from model.quant import (ACT_LEVELS, GROUPED, MAX_GROUP, QuantType, matvec_q8, pack_rows,  # noqa: E402
                         quantize_activation, unpack_q8, unpack_rows)
from model import mathf  # noqa: E402
from model.reference import matvec_f32, rmsnorm, rope, rope_tables, silu, softmax  # noqa: E402
from ps2llm_build import COMMON_CFLAGS, INCLUDE_DIRS, SANITIZE_FLAGS  # noqa: E402

F32 = np.float32
SMOLLM2 = ModelConfig(dim=576, hidden_dim=1536, n_layers=30, n_heads=9, n_kv_heads=3,
                      vocab_size=49152, max_seq_len=8192, rope_theta=100000.0, tie_embeddings=True)
ODD = ModelConfig(dim=36, hidden_dim=90, n_layers=1, n_heads=3, n_kv_heads=1, head_dim=14,
                  vocab_size=131, max_seq_len=64, norm_eps=1e-6, rope_theta=500000.0)
# FFN down rows of MAX_GROUP columns: with one group per row, the longest group allowed
WIDE = ModelConfig(dim=32, hidden_dim=MAX_GROUP, n_layers=1, n_heads=2, n_kv_heads=1,
                   vocab_size=64, max_seq_len=16)
CASES = {   # name -> spec; odd shapes: rows/cols not multiples of 4 or 16
    "smollm2_q8": spec_from_policy("smollm2-shape", "test", SMOLLM2, QuantType.Q8),
    "smollm2_q8_g64": spec_from_policy("smollm2-shape", "test", SMOLLM2, QuantType.Q8, 64),
    "odd_q8_g6": spec_from_policy("odd", "test", ODD, QuantType.Q8, 6),
    "odd_q8": spec_from_policy("odd", "test", ODD, QuantType.Q8),
    "odd_f32": spec_from_policy("odd", "test", ODD, QuantType.F32),
    "odd_f16": spec_from_policy("odd", "test", ODD, QuantType.F16),
    # q4 and ternary: the same integer arithmetic as q8, values unpacked from nibbles
    # or 2-bit codes; odd shapes leave a partial byte at the end of a row
    "smollm2_q4_g32": spec_from_policy("smollm2-shape", "test", SMOLLM2, QuantType.Q4, 32),
    "smollm2_ternary": spec_from_policy("smollm2-shape", "test", SMOLLM2, QuantType.TERNARY),
    "odd_q4_g6": spec_from_policy("odd", "test", ODD, QuantType.Q4, 6),
    "odd_q4": spec_from_policy("odd", "test", ODD, QuantType.Q4),
    "odd_ternary": spec_from_policy("odd", "test", ODD, QuantType.TERNARY),
    "odd_ternary_g2": spec_from_policy("odd", "test", ODD, QuantType.TERNARY, 2),
    # q4m: unsigned nibbles and a minimum per group, whose term needs the group's sum of xq
    "smollm2_q4m_g32": spec_from_policy("smollm2-shape", "test", SMOLLM2, QuantType.Q4M, 32),
    "odd_q4m_g6": spec_from_policy("odd", "test", ODD, QuantType.Q4M, 6),
    "odd_q4m": spec_from_policy("odd", "test", ODD, QuantType.Q4M),
    "wide_q8": spec_from_policy("wide", "test", WIDE, QuantType.Q8),
    "wide_q4m": spec_from_policy("wide", "test", WIDE, QuantType.Q4M),
}
KIND = {**{q: "MATVEC_Q8" for q in GROUPED}, QuantType.F32: "MATVEC_F32", QuantType.F16: "MATVEC_F16"}
SANITIZER_ENV = {"ASAN_OPTIONS": "detect_leaks=0:exitcode=86", "UBSAN_OPTIONS": "exitcode=87"}


def kernel_table(spec: ModelSpec) -> str:
    ks = plan_kernels(spec)
    rows = []

    def entry(symbol, kind, r, c, row_bytes, fn=None):
        rows.append(f'    {{ "{symbol}", {kind}, {r}u, {c}u, {row_bytes}u, (void (*)(void)){fn or symbol} }},')

    for q in ks.quantizers:
        entry(q.symbol(), "QUANTIZE", 0, q.n, 0)
    for m in ks.matvecs:
        entry(m.symbol(), KIND[m.quant], m.rows, m.cols, m.row_stride)
    for p in ks.projections:
        entry(p.symbol(), "PROJECTION", p.kernel.rows, p.kernel.cols, p.kernel.row_stride)
    entry(ks.embedding.symbol(), "EMBED", 3, ks.embedding.dim, ks.embedding.row_stride)
    entry(ks.rmsnorm.symbol(), "RMSNORM", 0, ks.rmsnorm.dim, 0)
    entry(ks.rope.symbol(), "ROPE", 0, ks.rope.head_dim, 0)
    entry(ks.softmax.symbol(), "SOFTMAX", 0, 0, 0)
    entry(ks.silu.symbol(), "SILU", 0, ks.silu.hidden, 0)
    entry("mathf_exp", "EXP", 0, 0, 0, "NULL")
    entry("mathf_sincos", "SINCOS", 0, 0, 0, "NULL")
    return (f"#define ROPE_ANGLES {ks.rope.angles_symbol()}\n"
            "static const Entry entries[] = {\n" + "\n".join(rows) + "\n};\n")


class Driver:
    def __init__(self, exe: Path, spec: ModelSpec, runner: list[str]) -> None:
        self.exe, self.spec, self.ks, self.runner = exe, spec, plan_kernels(spec), runner

    def __call__(self, symbol: str, *inputs) -> bytes:
        data = b"".join(np.ascontiguousarray(a).tobytes() if isinstance(a, np.ndarray) else a
                        for a in inputs)
        done = subprocess.run([*self.runner, str(self.exe), symbol], input=data, capture_output=True,
                              env={**os.environ, **SANITIZER_ENV})
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout


# Each case's kernels are built twice: for the host with ASan/UBSan, and as the
# C code the PS2 build keeps (MIPS32, single-float, as the linux-mips port) run
# under qemu-mipsel; the driver links Debian's static mipsel glibc for its I/O.
TARGETS = {"host": (["gcc", *SANITIZE_FLAGS], []),
           "qemu": (["mipsel-linux-gnu-gcc", "-march=mips32", "-msingle-float", "-static"],
                    ["qemu-mipsel", "-cpu", "24Kf"])}


@pytest.fixture(scope="module", params=[(c, t) for c in sorted(CASES) for t in TARGETS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def driver(request, tmp_path_factory) -> Driver:
    case, target = request.param
    compiler, runner = TARGETS[target]
    if not all(shutil.which(tool) for tool in compiler[:1] + runner[:1]):
        pytest.skip(f"{compiler[0]} and {runner[0] if runner else ''} are installed by setup.sh")
    spec = CASES[case]
    out = tmp_path_factory.mktemp(f"{case}-{target}")
    for name, text in render_all(spec).items():
        (out / name).write_text(text)
    (out / "kernel_table.h").write_text(kernel_table(spec))
    exe = out / "kernel_driver"
    cmd = [*compiler, *COMMON_CFLAGS, "-O2", f"-I{out}",
           *[f"-I{ROOT / d}" for d in INCLUDE_DIRS], str(ROOT / "tests/c/kernel_driver.c"),
           str(out / "kernels.gen.c"), str(ROOT / "ee_runtime_c/mathf.c"), "-o", str(exe)]
    built = subprocess.run(cmd, capture_output=True, text=True)   # the static link warns of glibc's -mfpxx
    assert built.returncode == 0, built.stderr
    return Driver(exe, spec, runner)


def rng_for(name: str) -> np.random.Generator:
    """A fixed seed per kernel name (str hash() is salted per run)."""
    return np.random.default_rng(sum(ord(c) * 31 ** i for i, c in enumerate(name)) % (1 << 32))


def u32(v: int) -> bytes:
    return np.uint32(v).tobytes()


# ------------------------------------------------------------------ numpy references

def matvec_f32_ref(w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """W @ x in float64 and the bound sum |w||x| the error is measured against."""
    return w.astype(np.float64) @ x.astype(np.float64), np.abs(w).astype(np.float64) @ np.abs(x)


def softmax_ref(x: np.ndarray) -> np.ndarray:
    e = np.exp(x.astype(np.float64) - x.max())
    return e / e.sum()


# ------------------------------------------------------------------ tests

def test_quantize_q8_exact(driver):
    for q in driver.ks.quantizers:
        rng = rng_for(q.symbol())
        for x in (rng.standard_normal(q.n).astype(F32) * 3, np.zeros(q.n, F32),
                  np.where(rng.random(q.n) < 0.5, F32(-1.5), F32(0.5)).astype(F32)):
            out = driver(q.symbol(), x)
            got_q = np.frombuffer(out[:2 * q.n], np.int16)
            got_s = np.frombuffer(out[2 * q.n:], F32)[0]
            want_q, want_s = quantize_activation(x)
            np.testing.assert_array_equal(got_q, want_q.astype(np.int16))
            assert got_s == want_s


def test_matvec_kernels(driver):
    for m in driver.ks.matvecs:
        rng = rng_for(m.symbol())
        w = rng.standard_normal((m.rows, m.cols)).astype(F32)
        x = rng.standard_normal(m.cols).astype(F32)
        packed, _ = pack_rows(m.quant, w, m.group_size)
        if m.quant in GROUPED:
            xq, xs = quantize_activation(x)
            got = np.frombuffer(driver(m.symbol(), packed, xq.astype(np.int16), np.float32(xs)), F32)
            want = matvec_q8(unpack_q8(packed, m.rows, m.cols, m.group_size, m.quant), x)
            np.testing.assert_array_equal(got, want)      # bit-exact
        else:
            got = np.frombuffer(driver(m.symbol(), packed, x), F32)
            wf = np.frombuffer(packed, "<f2" if m.quant == QuantType.F16 else "<f4").reshape(m.rows, m.cols)
            np.testing.assert_array_equal(got, matvec_f32(wf.astype(F32), x))   # bit-exact
            want, bound = matvec_f32_ref(wf.astype(F32), x)
            assert np.all(np.abs(got - want) <= 1e-5 * bound), m.symbol()


def extreme_sums(m, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(w, x) whose group sums are the largest the format allows: weights +-127 and
    activations +-ACT_LEVELS of the same sign (row 0: every product +127*4095) or
    opposite (row 1), the rest random. In groups of MAX_GROUP the sums come within
    1% of 2^31: a bound set too loose overflows int32 here."""
    rng = rng_for(m.symbol() + "extreme")
    sign = np.where(rng.random(m.cols) < 0.5, F32(-1), F32(1))
    w = rng.standard_normal((rows, m.cols)).astype(F32)
    w[0], w[1] = sign, -sign
    return w, (sign * F32(3)).astype(F32)


def test_matvec_sums_at_the_bound(driver):
    """Group sums of +-MAX_GROUP * 127 * ACT_LEVELS are exact in the C kernels (UBSan
    reports a signed overflow)."""
    for m in driver.ks.matvecs:
        if m.quant != QuantType.Q8 or m.group_size != MAX_GROUP:
            continue
        w, x = extreme_sums(m, m.rows)
        packed = pack_rows(m.quant, w, m.group_size)[0]
        quant = unpack_q8(packed, m.rows, m.cols, m.group_size)
        xq, xs = quantize_activation(x)
        assert int(quant.group_sums(xq)[0, 0]) == MAX_GROUP * 127 * ACT_LEVELS
        got = np.frombuffer(driver(m.symbol(), packed, xq, np.float32(xs)), F32)
        np.testing.assert_array_equal(got, matvec_q8(quant, x))


def test_q4m_sums_at_the_bound(driver):
    """q4m's largest sums, codes all 15 and activations all ACT_LEVELS in a group of
    MAX_GROUP: 15 * 4095 * 4096 for the codes and 4095 * 4096 for the minimum's
    term, both exact (in int32 and, for the latter, in f32)."""
    from model.quant import QuantizedQ8, pack_quantized
    for m in driver.ks.matvecs:
        if m.quant != QuantType.Q4M or m.group_size != MAX_GROUP:
            continue
        ones = np.ones((m.rows, m.n_groups), F32)
        w = QuantizedQ8(np.full((m.rows, m.cols), 15, np.int8), ones, m.group_size, m.quant, -ones)
        xq, xs = quantize_activation(np.full(m.cols, F32(3)))
        assert int(w.group_sums(xq)[0, 0]) == MAX_GROUP * 15 * ACT_LEVELS
        got = np.frombuffer(driver(m.symbol(), pack_quantized(w), xq, np.float32(xs)), F32)
        np.testing.assert_array_equal(got, matvec_q8(w, np.full(m.cols, F32(3))))


def test_f16_infinities_read_as_65504(driver):
    """Halves beyond f16's range (inf, and NaN) are +-65504 in the C and in the
    reference's reader alike."""
    for m in driver.ks.matvecs:
        if m.quant != QuantType.F16:
            continue
        rng = rng_for(m.symbol() + "inf")
        h = rng.standard_normal((m.rows, m.cols)).astype("<f2")
        h[0, :3] = [np.inf, -np.inf, np.nan]
        x = rng.standard_normal(m.cols).astype(F32)
        got = np.frombuffer(driver(m.symbol(), h.tobytes(), x), F32)
        w = unpack_rows(QuantType.F16, h.tobytes(), m.rows, m.cols, 0)
        assert w[0, 0] == 65504 and w[0, 1] == -65504 and abs(w[0, 2]) == 65504
        np.testing.assert_array_equal(got, matvec_f32(w, x))


def test_projections_match_reference_matvec(driver):
    """matmul_<role>: quantize + matvec for q8 is bit-exact with model.quant.matvec_q8."""
    for p in driver.ks.projections:
        m = p.kernel
        rng = rng_for(p.symbol())
        w = rng.standard_normal((m.rows, m.cols)).astype(F32)
        x = (rng.standard_normal(m.cols) * 2).astype(F32)
        packed, _ = pack_rows(m.quant, w, m.group_size)
        got = np.frombuffer(driver(p.symbol(), packed, x), F32)
        if m.quant in GROUPED:
            np.testing.assert_array_equal(
                got, matvec_q8(unpack_q8(packed, m.rows, m.cols, m.group_size, m.quant), x))
        else:
            wf = np.frombuffer(packed, "<f2" if m.quant == QuantType.F16 else "<f4").reshape(m.rows, m.cols)
            np.testing.assert_array_equal(got, matvec_f32(wf.astype(F32), x))


def test_embedding_exact(driver):
    e = driver.ks.embedding
    rng = rng_for(e.symbol())
    table = rng.standard_normal((3, e.dim)).astype(F32)
    packed, _ = pack_rows(e.quant, table, e.group_size)
    for token in range(3):
        got = np.frombuffer(driver(e.symbol(), packed, u32(token)), F32)
        if e.quant in GROUPED:
            want = unpack_q8(packed, 3, e.dim, e.group_size, e.quant).dequantize(token)
        else:
            want = np.frombuffer(packed, "<f2" if e.quant == QuantType.F16 else "<f4").reshape(3, e.dim)[token].astype(F32)
        np.testing.assert_array_equal(got, want)


def test_rmsnorm(driver):
    k = driver.ks.rmsnorm
    rng = rng_for(k.symbol())
    for scale in (1.0, 1e-3, 50.0):
        x = (rng.standard_normal(k.dim) * scale).astype(F32)
        w = (1 + 0.2 * rng.standard_normal(k.dim)).astype(F32)
        got = np.frombuffer(driver(k.symbol(), x, w), F32)
        np.testing.assert_array_equal(got, rmsnorm(x, w, F32(k.eps)))
        x64 = x.astype(np.float64)
        exact = x64 / np.sqrt(np.mean(x64 * x64) + k.eps) * w
        np.testing.assert_allclose(got, exact, rtol=1e-5, atol=1e-6 * np.abs(exact).max())


def test_rope(driver):
    """Bit-exact with model/reference.py (its tables are model/mathf.py's sin/cos),
    and within 1e-6 of sin/cos in float64 of the same f32 angles."""
    k = driver.ks.rope
    cos, sin = rope_tables(k.head_dim, k.theta, k.context)
    inv = np.array(k.inv_freq, dtype=F32)
    rng = rng_for(k.symbol())
    heads = driver.spec.config.n_heads
    for pos in sorted({0, 1, 7, k.context // 2, k.context - 1}):
        x = rng.standard_normal((heads, k.head_dim)).astype(F32)
        got = np.frombuffer(driver(k.symbol(), u32(pos), u32(heads), x), F32).reshape(heads, k.head_dim)
        angle = (F32(pos) * inv).astype(np.float64)
        exact = rope(x.astype(np.float64), np.cos(angle), np.sin(angle))
        scale = np.abs(x).max()
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-6 * scale, err_msg=f"pos {pos}")
        np.testing.assert_array_equal(got, rope(x, cos[pos], sin[pos]))


def test_softmax(driver):
    k = driver.ks.softmax
    rng = rng_for("softmax")
    for n in sorted({1, 2, 13, k.max_len}):
        x = (rng.standard_normal(n) * 8).astype(F32)
        got = np.frombuffer(driver(k.symbol(), u32(n), x), F32)
        np.testing.assert_array_equal(got, softmax(x))
        np.testing.assert_allclose(got, softmax_ref(x), rtol=0, atol=1e-6)


def test_silu_mul(driver):
    k = driver.ks.silu
    rng = rng_for(k.symbol())
    g = (rng.standard_normal(k.hidden) * 6).astype(F32)
    g[:2] = [-200, 200]
    u = rng.standard_normal(k.hidden).astype(F32)
    got = np.frombuffer(driver(k.symbol(), g, u), F32)
    np.testing.assert_array_equal(got, silu(g) * u)
    g64 = g.astype(np.float64)
    np.testing.assert_allclose(got, g64 / (1 + np.exp(-g64)) * u, rtol=1e-5, atol=1e-30)


def test_exp(driver):
    x = np.concatenate([np.linspace(-87, 88, 20001, dtype=F32), np.float32([-100, 100, 0])])
    got = np.frombuffer(driver("mathf_exp", u32(len(x)), x), F32)
    np.testing.assert_array_equal(got.view(np.uint32), mathf.exp(x).view(np.uint32))
    want = np.exp(np.minimum(x.astype(np.float64), 88.0))
    want[x < -87] = 0
    np.testing.assert_allclose(got, want, rtol=3e-7, atol=0)


def test_sincos(driver):
    """mathf_sincos bit for bit as model/mathf.py, over the angles rope uses and more."""
    rng = rng_for("sincos")
    x = np.concatenate([np.linspace(-12000, 12000, 20001, dtype=F32),
                        rng.uniform(0, 8192, 20000).astype(F32), np.float32([0, 1, -1, 0.7853982])])
    out = np.frombuffer(driver("mathf_sincos", u32(len(x)), x), F32)
    got_sin, got_cos = out[:len(x)], out[len(x):]
    want_sin, want_cos = mathf.sincos(x)
    np.testing.assert_array_equal(got_sin.view(np.uint32), want_sin.view(np.uint32))
    np.testing.assert_array_equal(got_cos.view(np.uint32), want_cos.view(np.uint32))
    # |x| up to 12000: the f32 reduction leaves an absolute error of about ulp(r) + |x| 2^-46
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(got_sin, np.sin(x64), rtol=0, atol=2e-7)
    np.testing.assert_allclose(got_cos, np.cos(x64), rtol=0, atol=2e-7)


# ------------------------------------------------------------------ golden snapshot

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
GOLDEN_SPEC = spec_from_policy(
    "golden-tiny", "fixed test config",
    ModelConfig(dim=48, hidden_dim=80, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=96,
                max_seq_len=32, norm_eps=1e-5, rope_theta=10000.0, tie_embeddings=False),
    QuantType.Q8, 16)


def test_generated_c_matches_golden(request):
    rendered = render_all(GOLDEN_SPEC)
    if request.config.getoption("--update-golden"):
        GOLDEN_DIR.mkdir(exist_ok=True)
        for name, text in rendered.items():
            (GOLDEN_DIR / name).write_text(text)
    for name, text in rendered.items():
        path = GOLDEN_DIR / name
        assert path.is_file(), f"{path} missing: run pytest tests/test_kernels.py --update-golden"
        assert path.read_text() == text, (f"generated {name} differs from {path}; review the "
                                          "diff and run pytest --update-golden if intended")


def test_lowbit_matvec_every_value(driver):
    """q4, q4m and ternary kernels decode every value a file may hold (q4 -8 to 7,
    whatever the writer produces; q4m 0 to 15 with any minimum; q4/q4m f16 scales
    down to subnormal halves) exactly as model/quant.py does."""
    from model.quant import QuantizedQ8, pack_quantized, to_f16
    ranges = {QuantType.Q4: (-8, 7), QuantType.Q4M: (0, 15), QuantType.TERNARY: (-1, 1)}
    for m in driver.ks.matvecs:
        if m.quant not in ranges:
            continue
        rng = rng_for(m.symbol() + "codes")
        lo, hi = ranges[m.quant]
        q = rng.integers(lo, hi + 1, (m.rows, m.cols)).astype(np.int8)
        scales = rng.random((m.rows, m.n_groups)).astype(F32)
        mins = -rng.random((m.rows, m.n_groups)).astype(F32) if m.quant == QuantType.Q4M else None
        if m.f16_scales:                  # stored as halves: any f16, subnormal ones too
            scales = to_f16(scales)
            scales[0] = to_f16(scales[0] * F32(2 ** -14))
            mins = None if mins is None else to_f16(mins)
        w = QuantizedQ8(q, scales, m.group_size, m.quant, mins)
        packed = pack_quantized(w)
        assert len(packed) == m.rows * m.row_stride
        x = rng.standard_normal(m.cols).astype(F32)
        xq, xs = quantize_activation(x)
        got = np.frombuffer(driver(m.symbol(), packed, xq.astype(np.int16), np.float32(xs)), F32)
        back = unpack_q8(packed, m.rows, m.cols, m.group_size, m.quant)
        np.testing.assert_array_equal(back.q, q)
        if mins is not None:
            np.testing.assert_array_equal(back.mins, mins)
        np.testing.assert_array_equal(got, matvec_q8(w, x))
