"""The VU0 kernels of attention (ee_runtime_c/attention.c, vu0.h), compiled by the
EE compiler exactly as the PS2 build compiles attention.c, run under unicorn with
the COP2 macro instructions modelled in tests/r5900_emu.py, bit for bit against
their C twins compiled for the host and against model/reference.py: every position
of a kv head in one call, the query heads (outputs) held in VF registers, at
head_dim 8 to 64 (registers), 128 (streamed), 1-4 query heads per kv head and 1 to 37
positions, keys and values read in place from a cache whose positions lie kv_stride
floats apart. Also: the fallback to the C twin, two deliberately wrong models that
must fail, and model/cost.py's counts against the instructions unicorn executes.
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
from ee_code import EE_CC, STACK, TEXT, Image, assert_bits_equal, ee_compile  # noqa: E402
from model.cost import ATT_BLOCK, attention_call_counts, attention_calls, attention_counts, disassemble  # noqa: E402
from model.reference import attention_dot, seqsum  # noqa: E402
from ps2llm_build import HOST_CFLAGS  # noqa: E402
from site_tools import ee_gcc  # noqa: E402

F32 = np.float32
pytestmark = pytest.mark.skipif(EE_CC is None, reason="no EE compiler")
SOURCE = ROOT / "ee_runtime_c/attention.c"
Q, K, ATT, O, V, DIMS = 0x0200000, 0x0300000, 0x0400000, 0x0500000, 0x0600000, 0x0700000
# (head_dim, query heads, positions, kv heads in the cache): ps2-stories-6m's shape
# (32, 2) at position counts around the trips of 4, one head (10M-class), three
# (a pair and one, by blocks of ATT_BLOCK), SmolLM2's (64, 3), every head_dim of the
# register kernels, and 128 (the streaming loops)
CASES = [(32, 2, n, 2) for n in (1, 2, 3, 4, 5, 8, 17, 37)] + [
    (32, 1, 9, 4), (32, 3, 17, 1), (32, 3, 37, 2), (32, 4, 6, 1), (64, 1, 5, 2), (64, 3, 17, 3),
    (64, 2, 21, 1), (8, 2, 7, 3), (16, 3, 6, 1), (24, 2, 9, 1), (24, 1, 3, 2), (40, 2, 5, 1),
    (48, 1, 7, 2), (56, 2, 4, 1), (128, 2, 5, 2),
]


class AttDims(ctypes.Structure):
    _fields_ = [("head_dim", ctypes.c_uint32), ("n_q", ctypes.c_uint32), ("stride", ctypes.c_uint32),
                ("kv_stride", ctypes.c_uint32), ("scale", ctypes.c_float)]


@pytest.fixture(scope="module")
def ee_elf(tmp_path_factory) -> Path:
    """attention.c as the PS2 build compiles it, linked alone at 0x100000 (the VU0
    variants call their C twins, so the image holds both, relocated)."""
    out = tmp_path_factory.mktemp("vu0")
    subprocess.run([EE_CC, *ee_gcc.compiler_flags(EE_CC), "-nostdlib", "-static", f"-Wl,-Ttext={TEXT:#x}",
                    "-Wl,-e,att_scores", "-Wl,--build-id=none", str(ee_compile(SOURCE, out / "attention.o")),
                    "-o", str(out / "attention.elf")], check=True)
    return out / "attention.elf"


@pytest.fixture(scope="module")
def host_lib(tmp_path_factory) -> ctypes.CDLL:
    """The C twins, as the host build compiles attention.c (IEEE f32, no contraction)."""
    lib = tmp_path_factory.mktemp("vu0_host") / "attention.so"
    subprocess.run(["gcc", *HOST_CFLAGS, "-shared", "-fPIC", f"-I{ROOT / 'ee_runtime_c'}",
                    str(SOURCE), "-o", str(lib)], check=True)
    return ctypes.CDLL(str(lib))


def ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.c_void_p)


def data(hd: int, n_q: int, n_pos: int, n_kv: int, seed: int, context: int | None = None, pad: int = 0):
    """q (n_q, hd); a cache of n_pos positions of n_kv kv heads (and pad floats),
    keys and values, whose head 1 (or 0) is read; score weights (n_q, context) with
    context n_pos rounded up to 4, plus 4 (score rows 16-byte aligned) unless given."""
    rng = np.random.default_rng(seed)
    g = min(1, n_kv - 1)
    q = rng.standard_normal((n_q, hd)).astype(F32)
    keys = rng.standard_normal((n_pos, n_kv * hd + pad)).astype(F32)
    values = rng.standard_normal((n_pos, n_kv * hd + pad)).astype(F32)
    context = context or -(-n_pos // 4) * 4 + 4
    weights = rng.random((n_q, context)).astype(F32)
    return q, keys, values, weights, g


def ee_attention(img: Image, q, keys, values, weights, g, q_offset: int = 0):
    """att_scores over every position, then att_values over every position, on the EE
    code (img.emu.executed counts both calls)."""
    n_q, hd = q.shape
    n_pos, kvs = keys.shape
    stride = weights.shape[1]
    dims = AttDims(hd, n_q, stride, kvs, F32(1 / np.sqrt(hd)))
    emu, uc = img.emu, img.emu.uc
    uc.mem_write(DIMS, bytes(dims))
    uc.mem_write(Q + q_offset, q.tobytes())
    uc.mem_write(K, keys.tobytes())
    uc.mem_write(V, values.tobytes())
    uc.mem_write(ATT, np.zeros(n_q * stride, F32).tobytes())
    emu.call(img.syms["att_scores"][0], [ATT, Q + q_offset, K + 4 * g * hd, n_pos], STACK, [DIMS])
    scores = np.frombuffer(bytes(uc.mem_read(ATT, 4 * n_q * stride)), "<f4").reshape(n_q, stride)
    uc.mem_write(ATT, weights.tobytes())
    uc.mem_write(O, np.zeros(n_q * hd, F32).tobytes())
    emu.call(img.syms["att_values"][0], [O, ATT, V + 4 * g * hd, n_pos], STACK, [DIMS])
    out = np.frombuffer(bytes(uc.mem_read(O, 4 * n_q * hd)), "<f4").reshape(n_q, hd)
    return scores, out


def host_attention(lib: ctypes.CDLL, q, keys, values, weights, g):
    n_q, hd = q.shape
    n_pos, kvs = keys.shape
    stride = weights.shape[1]
    dims = AttDims(hd, n_q, stride, kvs, F32(1 / np.sqrt(hd)))
    scores = np.zeros((n_q, stride), F32)
    out = np.zeros((n_q, hd), F32)
    lib.att_scores(ptr(scores), ptr(q), ptr(keys[:, g * hd:]), ctypes.c_uint32(n_pos), ctypes.byref(dims))
    lib.att_values(ptr(out), ptr(weights), ptr(values[:, g * hd:]), ctypes.c_uint32(n_pos), ctypes.byref(dims))
    return scores, out


def reference_attention(q, keys, values, weights, g):
    hd = q.shape[1]
    k, v = keys[:, g * hd:(g + 1) * hd], values[:, g * hd:(g + 1) * hd]
    scale = F32(1 / np.sqrt(hd))
    scores = np.zeros_like(weights)
    scores[:, :len(k)] = attention_dot(q[:, None, :] * k[None, :, :]) * scale
    out = seqsum(weights[:, :len(v), None] * v[None, :, :], axis=1)
    return scores, out


@pytest.mark.parametrize("hd,n_q,n_pos,n_kv", CASES)
def test_vu0_attention_bit_exact(ee_elf, host_lib, hd, n_q, n_pos, n_kv):
    img = Image(ee_elf)
    emu = img.emu
    args = data(hd, n_q, n_pos, n_kv, seed=hd * 1000 + n_q * 100 + n_pos)
    ee = ee_attention(img, *args)
    host = host_attention(host_lib, *args)
    ref = reference_attention(*args)
    for i, what in enumerate(("scores", "values")):
        # the scores past n_pos stay as they were (0): the kernels write n_pos columns
        assert_bits_equal(ee[i], host[i], f"{what}: VU0 vs the host C twin")
        assert_bits_equal(host[i], ref[i], f"{what}: host C vs model/reference.py")
    # the VU0 loops ran, not the fallback: per position and head, a dot product of
    # hd / 4 quadwords (the last by vmadd, in the register kernels) and hd / 4 vadd
    macs = n_pos * n_q * hd // 4
    if hd <= 64:
        assert emu.executed["vmadda"] == macs - n_pos * n_q and emu.executed["vmadd"] == n_pos * n_q
        # sqc2: a head's 4 packed scores a trip, and its outputs at the end of a values call
        calls, _ = attention_calls(hd, n_q, n_pos)
        heads = [int(g[0]) for g, _, _ in calls]
        packed = sum(h * n4 for h, (_, n4, _) in zip(heads, calls))
        assert emu.executed.get("sqc2", 0) == packed + sum(heads) * hd // 4
    else:
        assert emu.executed["vmadda"] == macs
    assert emu.executed["vadd"] == macs


@pytest.mark.parametrize("n_pos,context", [(9, 13), (8, 10)])
def test_unaligned_score_rows(ee_elf, host_lib, n_pos, context):
    """Score rows not 16-byte aligned (a context not a multiple of 4): every position
    takes the one-position loop (lw/sw of the scores), still bit for bit."""
    img = Image(ee_elf)
    emu = img.emu
    args = data(32, 2, n_pos, 2, seed=context, context=context)
    ee = ee_attention(img, *args)
    host = host_attention(host_lib, *args)
    for i, what in enumerate(("scores", "values")):
        assert_bits_equal(ee[i], host[i], what)
    assert "sqc2" not in emu.executed or emu.executed["sqc2"] == 2 * 32 // 4    # the outputs only
    assert emu.executed["vmadd"] == 2 * n_pos


@pytest.mark.parametrize("hd,q_offset,n_kv,pad", [(36, 0, 1, 0), (6, 0, 2, 0), (20, 0, 1, 0),
                                                   (32, 4, 1, 0), (32, 0, 1, 2), (64, 0, 2, 6)])
def test_c_twin_fallback(ee_elf, host_lib, hd, q_offset, n_kv, pad):
    """head_dim not a multiple of 8, q not 16-byte aligned (scores only), or positions
    not 16 bytes apart (kv_stride 34, 134): the VU0 variant hands the call to its C
    twin (run here on unicorn's IEEE FPU), which the host agrees with."""
    img = Image(ee_elf)
    emu = img.emu
    args = data(hd, 2, 5, n_kv, seed=hd + q_offset + pad, pad=pad)
    ee = ee_attention(img, *args, q_offset=q_offset)
    host = host_attention(host_lib, *args)
    assert_bits_equal(ee[0], host[0], "scores")
    assert "vmadda" not in emu.executed and "vmadd" not in emu.executed
    if not q_offset:
        assert_bits_equal(ee[1], host[1], "values")
        assert "vadd" not in emu.executed


def test_a_wrong_model_fails(ee_elf, host_lib):
    """The comparison is sharp enough to see rounding: modelling vmadda as a fused
    multiply-add (one rounding instead of two) changes some scores."""
    img = Image(ee_elf)
    emu = img.emu
    emu.fused_madd = True
    args = data(64, 3, 17, 1, seed=7)
    assert not np.array_equal(ee_attention(img, *args)[0], host_attention(host_lib, *args)[0])


def test_a_model_ignoring_dest_fails(ee_elf, host_lib):
    """And it sees the lanes: a VU0 that wrote every lane whatever the dest field says
    would mix up the 4 positions' scores packed into one quadword."""
    img = Image(ee_elf)
    emu = img.emu
    emu.ignore_dest = True
    args = data(32, 2, 8, 2, seed=8)
    assert not np.array_equal(ee_attention(img, *args)[0], host_attention(host_lib, *args)[0])


@pytest.mark.parametrize("hd,n_q,n_pos", [(32, 2, 37), (32, 2, 256), (32, 3, 37), (64, 3, 33), (32, 1, 6),
                                          (128, 2, 5)])
def test_cost_model_counts_what_runs(ee_elf, hd, n_q, n_pos):
    """model/cost.py's count of one att_scores and one att_values call (loop bodies
    times trip counts, from the ELF) against the instructions unicorn executes: at
    least those, and at most the wrapper's code (counted whole, fallback paths
    included) and a few a kernel call (the setup of a loop that does not run) more.
    The VU0 kernels are well over 3 times cheaper than their C twins."""
    funcs = disassemble(ee_elf)
    img = Image(ee_elf)
    emu = img.emu
    args = data(hd, n_q, n_pos, 1, seed=n_pos)
    q, keys, values, weights, g = args
    dims = AttDims(hd, n_q, weights.shape[1], keys.shape[1], F32(1 / np.sqrt(hd)))
    emu.uc.mem_write(DIMS, bytes(dims))
    emu.uc.mem_write(Q, q.tobytes())
    emu.uc.mem_write(K, keys.tobytes())
    emu.uc.mem_write(ATT, weights.tobytes())
    emu.uc.mem_write(O, np.zeros(n_q * hd, F32).tobytes())
    ran = []
    for entry, args_ in (("att_scores", [ATT, Q, K, n_pos]), ("att_values", [O, ATT, K, n_pos])):
        img.call(entry, args_, [DIMS])
        ran.append(img.steps)
    predicted = attention_call_counts(funcs, hd, n_q, n_pos, "vu0")
    calls = len(attention_calls(hd, n_q, n_pos)[0]) if hd <= 64 else 1
    for what, got, want in zip(("scores", "values"), ran, predicted):
        slack = funcs[f"att_{what}"].static + 8 * calls
        assert got <= want <= got + slack, f"{what}: ran {got}, cost model {want}"
    c = attention_counts(funcs, hd, n_q, "c", n_pos)
    vu0 = attention_counts(funcs, hd, n_q, "vu0", n_pos)
    assert c[0] > 3 * vu0[0] and c[1] > 3 * vu0[1]


def test_cost_per_position_at_ps2_stories_shape(ee_elf):
    """At ps2-stories-6m's shape (head_dim 32, 2 query heads a kv head), a trip of 4
    positions costs under 100 instructions a position for scores and values together,
    and the per-position count the plan prints (256 positions) stays near it."""
    funcs = disassemble(ee_elf)
    trip = {}
    for kind in ("scores", "values"):
        f = funcs[f"att_{kind}_vu0_2x32"]
        trip[kind] = max(l.body for l in f.loops) / 4
    assert trip["scores"] + trip["values"] < 100
    vu0 = attention_counts(funcs, 32, 2, "vu0")
    assert sum(vu0) < trip["scores"] + trip["values"] + 2
    # forward.c's f16/q8 path: blocks of ATT_BLOCK positions
    blocked = sum(sum(attention_call_counts(funcs, 32, 2, ATT_BLOCK, "vu0")) for _ in range(16)) / 256
    assert blocked < 1.3 * sum(vu0)
