"""The VU0 variants of attention's inner loops (ee_runtime_c/attention.c, vu0.h),
compiled by the EE compiler exactly as the PS2 build compiles attention.c, run under
unicorn with the COP2 macro instructions modelled in tests/r5900_emu.py, bit for bit
against their C twins compiled for the host and against model/reference.py, at
head_dim 32 and 64, 1-3 query heads per kv head and several positions. What only a
PS2 (or PCSX2/Play!) can confirm: docs/KERNELS.md."""
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
from elftools.elf.elffile import ELFFile  # noqa: E402

from model.cost import attention_counts, disassemble  # noqa: E402
from model.reference import attention_dot, seqsum  # noqa: E402
from ps2llm_build import HOST_CFLAGS  # noqa: E402
from r5900_emu import R5900  # noqa: E402
from site_tools import ee_gcc  # noqa: E402

F32 = np.float32
EE_CC = ee_gcc.find_compiler()
pytestmark = pytest.mark.skipif(EE_CC is None, reason="no EE compiler")
SOURCE = ROOT / "ee_runtime_c/attention.c"
TEXT = 0x00100000
Q, K, ATT, O, V, DIMS, STACK = 0x0200000, 0x0300000, 0x0400000, 0x0500000, 0x0600000, 0x0700000, 0x02F0000
CASES = [(hd, n_q, n_pos) for hd in (32, 64) for n_q, n_pos in ((1, 1), (2, 5), (3, 17))]


class AttDims(ctypes.Structure):
    _fields_ = [("head_dim", ctypes.c_uint32), ("n_q", ctypes.c_uint32),
                ("stride", ctypes.c_uint32), ("scale", ctypes.c_float)]


@pytest.fixture(scope="module")
def ee_elf(tmp_path_factory) -> Path:
    """attention.c as the PS2 build compiles it, linked alone at 0x100000 (the VU0
    variants tail-call their C twins, so the image holds both, relocated)."""
    out = tmp_path_factory.mktemp("vu0")
    flags = ee_gcc.compiler_flags(EE_CC)
    subprocess.run([EE_CC, *flags, *ee_gcc.C_FLAGS, "-Werror", f"-I{ROOT / 'ee_runtime_c'}",
                    "-c", str(SOURCE), "-o", str(out / "attention.o")], check=True)
    subprocess.run([EE_CC, *flags, "-nostdlib", "-static", f"-Wl,-Ttext={TEXT:#x}",
                    "-Wl,-e,att_scores", "-Wl,--build-id=none", str(out / "attention.o"),
                    "-o", str(out / "attention.elf")], check=True)
    return out / "attention.elf"


@pytest.fixture(scope="module")
def host_lib(tmp_path_factory) -> ctypes.CDLL:
    """The C twins, as the host build compiles attention.c (IEEE f32, no contraction)."""
    lib = tmp_path_factory.mktemp("vu0_host") / "attention.so"
    subprocess.run(["gcc", *HOST_CFLAGS, "-shared", "-fPIC", f"-I{ROOT / 'ee_runtime_c'}",
                    str(SOURCE), "-o", str(lib)], check=True)
    return ctypes.CDLL(str(lib))


def emulator(elf: Path) -> tuple[R5900, dict[str, int]]:
    with open(elf, "rb") as f:
        e = ELFFile(f)
        text = e.get_section_by_name(".text")
        assert text["sh_addr"] == TEXT
        syms = {s.name: s["st_value"] for s in e.get_section_by_name(".symtab").iter_symbols()
                if s["st_info"]["type"] == "STT_FUNC"}
        return R5900(text.data(), TEXT), syms


def ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.c_void_p)


def data(hd: int, n_q: int, n_pos: int, seed: int):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n_q, hd)).astype(F32)
    keys = rng.standard_normal((n_pos, hd)).astype(F32)
    values = rng.standard_normal((n_pos, hd)).astype(F32)
    weights = rng.random((n_q, n_pos + 3)).astype(F32)       # stride: a context of n_pos + 3
    return q, keys, values, weights


def ee_attention(emu: R5900, syms: dict[str, int], q, keys, values, weights, q_offset: int = 0):
    """att_scores for every position, then att_values for every position, on the EE code."""
    n_q, hd = q.shape
    stride = weights.shape[1]
    dims = AttDims(hd, n_q, stride, F32(1 / np.sqrt(hd)))
    uc = emu.uc
    uc.mem_write(DIMS, bytes(dims))
    uc.mem_write(Q + q_offset, q.tobytes())
    uc.mem_write(K, keys.tobytes())
    uc.mem_write(V, values.tobytes())
    uc.mem_write(ATT, np.zeros(n_q * stride, F32).tobytes())
    for t in range(len(keys)):
        emu.call(syms["att_scores"], [ATT + 4 * t, Q + q_offset, K + 4 * hd * t, DIMS], STACK)
    scores = np.frombuffer(bytes(uc.mem_read(ATT, 4 * n_q * stride)), "<f4").reshape(n_q, stride)
    uc.mem_write(ATT, weights.tobytes())
    uc.mem_write(O, np.zeros(n_q * hd, F32).tobytes())
    for t in range(len(values)):
        emu.call(syms["att_values"], [O, ATT + 4 * t, V + 4 * hd * t, DIMS], STACK)
    out = np.frombuffer(bytes(uc.mem_read(O, 4 * n_q * hd)), "<f4").reshape(n_q, hd)
    return scores[:, :len(keys)], out


def host_attention(lib: ctypes.CDLL, q, keys, values, weights):
    n_q, hd = q.shape
    stride = weights.shape[1]
    dims = AttDims(hd, n_q, stride, F32(1 / np.sqrt(hd)))
    scores = np.zeros((n_q, stride), F32)
    out = np.zeros((n_q, hd), F32)
    for t in range(len(keys)):
        lib.att_scores(ptr(scores[:, t:]), ptr(q), ptr(keys[t]), ctypes.byref(dims))
    for t in range(len(values)):
        lib.att_values(ptr(out), ptr(weights[:, t:]), ptr(values[t]), ctypes.byref(dims))
    return scores[:, :len(keys)], out


def reference_attention(q, keys, values, weights):
    scale = F32(1 / np.sqrt(q.shape[1]))
    scores = attention_dot(q[:, None, :] * keys[None, :, :]) * scale
    out = seqsum(weights[:, :len(values), None] * values[None, :, :], axis=1)
    return scores, out


def assert_bits_equal(got, want, what):
    np.testing.assert_array_equal(np.asarray(got).view(np.uint32), np.asarray(want).view(np.uint32),
                                  err_msg=what)


@pytest.mark.parametrize("hd,n_q,n_pos", CASES)
def test_vu0_attention_bit_exact(ee_elf, host_lib, hd, n_q, n_pos):
    emu, syms = emulator(ee_elf)
    args = data(hd, n_q, n_pos, seed=hd * 100 + n_q * 10 + n_pos)
    ee = ee_attention(emu, syms, *args)
    host = host_attention(host_lib, *args)
    ref = reference_attention(*args)
    for i, what in enumerate(("scores", "values")):
        assert_bits_equal(ee[i], host[i], f"{what}: VU0 vs the host C twin")
        assert_bits_equal(host[i], ref[i], f"{what}: host C vs model/reference.py")
    # the VU0 loops ran (not the fallback): 2 vmadda and 2 vadd per 8 floats of a head
    assert emu.executed["vmadda"] == n_pos * n_q * hd // 4
    assert emu.executed["vadd"] == n_pos * n_q * hd // 4


@pytest.mark.parametrize("hd,q_offset", [(36, 0), (32, 4), (6, 0)])
def test_c_twin_fallback(ee_elf, host_lib, hd, q_offset):
    """head_dim not a multiple of 8, or q not 16-byte aligned: the VU0 variant hands
    the call to its C twin (run here on unicorn's IEEE FPU), which the host agrees with."""
    emu, syms = emulator(ee_elf)
    args = data(hd, 2, 4, seed=hd + q_offset)
    ee = ee_attention(emu, syms, *args, q_offset=q_offset)
    host = host_attention(host_lib, *args)
    assert_bits_equal(ee[0], host[0], "scores")
    assert "vmadda" not in emu.executed
    if hd % 8:
        assert_bits_equal(ee[1], host[1], "values")
        assert "vadd" not in emu.executed


def test_a_wrong_model_fails(ee_elf, host_lib):
    """The comparison is sharp enough to see rounding: modelling vmadda as a fused
    multiply-add (one rounding instead of two) changes some scores."""
    emu, syms = emulator(ee_elf)
    emu.fused_madd = True
    args = data(64, 3, 17, seed=7)
    assert not np.array_equal(ee_attention(emu, syms, *args)[0], host_attention(host_lib, *args)[0])


def test_cost_counts_both_variants(ee_elf):
    """model/cost.py counts the VU0 loops and the C twins from the ELF: per call at
    head_dim 64 and 3 query heads, VU0 runs 10 instructions per 8 MACs of a score."""
    funcs = disassemble(ee_elf)
    vu0 = attention_counts(funcs, 64, 3, "vu0")
    c = attention_counts(funcs, 64, 3, "c")
    assert vu0 is not None and c is not None
    assert 3 * 8 * 10 <= vu0[0] < 3 * 8 * 10 + 3 * 25
    assert c[0] > 3 * vu0[0] and c[1] > 2 * vu0[1]
