"""The KV cache in f16 and q8 (model/kv_cache.py, templates/kv_cache.c.jinja):

- the generated store/read-back kernels give model/kv_cache.py's round_trip bit for
  bit, on edge values (f16 ties, subnormal halves, overflow; q8 ties, zero heads);
- on a random tiny model the host runtime's logits equal the reference's with the
  same KV type bit for bit over 40 positions, its greedy tokens too, and f16's
  greedy tokens are f32's;
- the planner's KV reservation is what the runtime allocates: the arena high water
  of an f32 and a q8 build differ by the difference of the plans' reservations, and
  the least RAM the planner accepts with KV=q8 runs;
- the linux-mips build under qemu-mipsel gives the host's tokens with a q8 cache.
"""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "site_scons"))

from codegen.kernels import render_all  # noqa: E402
from codegen.spec import spec_from_policy  # noqa: E402
from codegen.stream_plan import RESIDENT, plan_path  # noqa: E402
from host_build import (build_forward_driver, build_runtime, first_difference,  # noqa: E402
                        forward_logits, generate_kernels)
from model.config import ModelConfig  # noqa: E402
from model.kv_cache import round_trip  # noqa: E402
from model.plan import make_plan  # noqa: E402
from model.psnt import QuantPolicy, read_psnt, write_psnt  # noqa: E402
from model.quant import QuantType  # noqa: E402
from model.reference import ReferenceModel  # noqa: E402
from model.sources import load_model  # noqa: E402
from ps2llm_build import COMMON_CFLAGS, INCLUDE_DIRS, SANITIZE_FLAGS  # noqa: E402
from test_streaming import ENV, Built, greedy, ids_line, needs_qemu, report, smallest_ram  # noqa: E402

CONTEXT = 64
N_TOKENS = 40
MiB = 1 << 20
SHAPE = dict(dim=64, n_layers=2, n_heads=4, n_kv_heads=2, hidden=96, vocab=320, tie=True, seed=21)


# ------------------------------------------------------------------ the kernels alone

ROUND_TRIP_C = r"""
/* stdin: vectors of MODEL_KV_DIM f32; each is stored at the next position of the
 * last layer, then every head is read back: stdout, MODEL_KV_DIM f32 each. */
#include <stdio.h>
#include "kernels.gen.h"
#include "model_config.gen.h"

static float cache[MODEL_KV_CACHE_BYTES / 8u + 1u];     /* the keys: half the cache, f32-aligned */

int main(void)
{
    float x[MODEL_KV_DIM], scratch[MODEL_HEAD_DIM];
    uint32_t pos, g;
    for (pos = 0; pos < MODEL_CONTEXT && fread(x, sizeof x, 1, stdin) == 1; pos++) {
        MODEL_KV_STORE(cache, MODEL_N_LAYERS - 1u, pos, x);
        for (g = 0; g < MODEL_N_KV_HEADS; g++)
            fwrite(MODEL_KV_HEAD(scratch, cache, MODEL_N_LAYERS - 1u, pos, g), sizeof(float),
                   MODEL_HEAD_DIM, stdout);
    }
    return 0;
}
"""
KERNEL_CFG = ModelConfig(dim=32, hidden_dim=64, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=16,
                         vocab_size=64, max_seq_len=64, norm_eps=1e-5, rope_theta=10000.0,
                         tie_embeddings=True)


def edge_vectors() -> np.ndarray:
    """(n, kv_dim) f32: values where rounding is decided at a tie or a boundary."""
    f = np.float32
    f16_edges = [0.0, -0.0, 1.0, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -(1 + 2 ** -11), 65504.0, 65519.0,
                 65520.0, -65520.0, 1e6, 2 ** -14, 2 ** -14 - 2 ** -25, 2 ** -24, 2 ** -25,
                 1.5 * 2 ** -25, 3 * 2 ** -25, -3 * 2 ** -25, 2 ** -26, 1e-40, 6.1e-5, 0.1, -0.3,
                 1 / 3, 1000.5, 2049.0, 2051.0, 4097.0, -7.0e-8, 3.0e-7, 1.0e-3, -2.5e-6]
    q8_edges = [127.0, 2.5, -2.5, 0.5, -0.5, 1.5, -1.5, 126.5, -126.5, 63.5, 0.49999997, -0.49999997,
                1.0, 0.0, -0.0, 3.0, -3.0, 64.5]
    rng = np.random.default_rng(5)
    kv_dim = KERNEL_CFG.kv_dim
    rows = [np.resize(np.array(f16_edges, f), kv_dim), np.resize(np.array(q8_edges, f), kv_dim),
            np.zeros(kv_dim, f), np.r_[np.zeros(kv_dim - 1, f), f(-3.0)]]
    for scale in (1e-6, 1e-3, 1.0, 30.0, 1e4):
        rows.append((rng.standard_normal(kv_dim) * scale).astype(f))
    return np.stack(rows)


@pytest.mark.parametrize("kv", ["f32", "f16", "q8"])
def test_store_and_read_back_match_round_trip(kv, tmp_path):
    spec = spec_from_policy("kv", "test", KERNEL_CFG, QuantType.F32)
    spec = dataclasses.replace(spec, plan=dataclasses.replace(RESIDENT, kv_quant=kv))
    for name, text in render_all(spec).items():
        (tmp_path / name).write_text(text)
    (tmp_path / "round_trip.c").write_text(ROUND_TRIP_C)
    exe = tmp_path / "round_trip"
    subprocess.run(["gcc", *COMMON_CFLAGS, "-O2", *SANITIZE_FLAGS, f"-I{tmp_path}",
                    *[f"-I{ROOT / d}" for d in INCLUDE_DIRS], str(tmp_path / "round_trip.c"),
                    str(tmp_path / "kernels.gen.c"), str(ROOT / "ee_runtime_c/mathf.c"), "-o", str(exe)],
                   check=True)
    x = edge_vectors()
    done = subprocess.run([str(exe)], input=x.tobytes(), capture_output=True, check=True)
    got = np.frombuffer(done.stdout, np.float32).reshape(x.shape)
    want = np.stack([round_trip(v.reshape(KERNEL_CFG.n_kv_heads, -1), kv).reshape(-1) for v in x])
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), np.argwhere(got != want)[:5]
    if kv == "f16":      # the ties and the overflow went where IEEE says
        assert want[0, 3] == 1.0 and want[0, 4] == 1 + 4 * 2 ** -11 and want[0, 8] == 65504.0
        assert want[0, 14] == 0.0 and want[0, 15] == 2 ** -24 and want[0, 16] == 2 * 2 ** -24
    if kv == "q8":       # amax 127: scale 1, x.5 rounds away from zero
        assert list(want[1, :8]) == [127, 3, -3, 1, -1, 2, -2, 127]


# ------------------------------------------------------------------ a whole model

@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("kv_cache")


@pytest.fixture(scope="module")
def hf_model(workdir):
    from hf_models import make_tiny_hf_model
    return load_model(str(make_tiny_hf_model(workdir / "hf", max_seq_len=CONTEXT, **SHAPE)))


@dataclasses.dataclass
class KvBuilt(Built):
    driver: Path | None = None      # tests/c/forward_driver.c: the runtime's logits


_built: dict[tuple[str, str], KvBuilt] = {}


def get_built(workdir, hf_model, unicode_c, kv: str, ram: str = "32M") -> KvBuilt:
    """The q8 model with a plan at `ram` ("smallest": the least RAM the planner accepts)."""
    key = (kv, ram)
    if key not in _built:
        out = workdir / f"{kv}-{ram}"
        psnt = out / "model.psnt"
        write_psnt(psnt, hf_model, QuantPolicy(QuantType.Q8))
        p = read_psnt(psnt)
        kw = dict(context=CONTEXT, kv_quant=kv, tokenizer_bytes=p.tokenizer_size, model=p.name)
        ram_bytes = smallest_ram(p, **kw) if ram == "smallest" else int(ram[:-1]) * MiB
        plan = make_plan(p.config, p.entries, ram_bytes=ram_bytes, **kw)
        plan_path(psnt).write_text(plan.to_json())
        gen = generate_kernels(psnt, out, CONTEXT)
        _built[key] = KvBuilt(psnt, plan.to_dict(), build_runtime(gen, out, unicode_c), gen, unicode_c,
                              out, driver=build_forward_driver(gen, out, unicode_c))
    return _built[key]


@pytest.mark.parametrize("kv", ["f16", "q8"])
def test_runtime_equals_reference_bit_for_bit(workdir, hf_model, unicode_c, kv):
    built = get_built(workdir, hf_model, unicode_c, kv)
    assert f'#define MODEL_KV_QUANT "{kv}"' in (built.gen / "model_config.gen.h").read_text()
    done = greedy(built)
    assert done.returncode == 0, done.stdout + done.stderr
    prompt, got = ids_line(done.stdout, "prompt ids"), ids_line(done.stdout, "ids")
    ref = ReferenceModel(read_psnt(built.psnt), max_seq_len=CONTEXT, kv_quant=kv)
    ref_logits: list[np.ndarray] = []
    want = ref.generate_greedy(prompt, N_TOKENS, logits_out=ref_logits)
    assert len(got) > 0 and got == want[:len(got)]
    tokens = (prompt + want)[:N_TOKENS]
    c_logits = forward_logits(built.driver, built.psnt, tokens, ref.config.vocab_size, ENV)
    ref_logits = np.stack(ref_logits)[:N_TOKENS]
    assert np.array_equal(c_logits.view(np.uint32), ref_logits.view(np.uint32)), \
        first_difference(c_logits, ref_logits)


def test_smaller_caches_stay_close_to_f32(workdir, hf_model):
    """The reference over N_TOKENS greedy tokens: f16 picks f32's tokens; q8's
    logits, and q8's, stay within a few percent of f32's range."""
    path = workdir / "close.psnt"
    write_psnt(path, hf_model, QuantPolicy(QuantType.Q8))
    psnt, prompt = read_psnt(path), [1, 40, 41, 42]
    runs = {}
    for kv in ("f32", "f16", "q8"):
        logits: list[np.ndarray] = []
        ids = ReferenceModel(psnt, max_seq_len=CONTEXT, kv_quant=kv).generate_greedy(
            prompt, N_TOKENS, logits_out=logits)
        runs[kv] = ids, np.stack(logits)
    f32_ids, f32_logits = runs["f32"]
    assert runs["f16"][0] == f32_ids
    n = len(prompt)       # same tokens fed up to here whatever the cache
    spread = float(f32_logits[:n].max() - f32_logits[:n].min())
    for kv, bound in (("f16", 0.03), ("q8", 0.05)):       # measured: 0.007, 0.012
        assert float(np.abs(runs[kv][1][:n] - f32_logits[:n]).max()) < bound * spread, kv


def test_planner_reserves_what_the_runtime_allocates(workdir, hf_model, unicode_c):
    f32 = get_built(workdir, hf_model, unicode_c, "f32")
    q8 = get_built(workdir, hf_model, unicode_c, "q8")
    high_water = {}
    for kv, built in (("f32", f32), ("q8", q8)):
        done = greedy(built)
        assert done.returncode == 0, done.stdout + done.stderr
        high_water[kv] = report(done.stdout)["high_water"]
    planned = {kv: b.plan["reservations"]["KV cache"] for kv, b in (("f32", f32), ("q8", q8))}
    assert planned["q8"] < planned["f32"] // 3
    assert high_water["f32"] - high_water["q8"] == planned["f32"] - planned["q8"]
    smallest = get_built(workdir, hf_model, unicode_c, "q8", "smallest")
    done = greedy(smallest)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ids_line(done.stdout, "ids") == ids_line(greedy(q8).stdout, "ids")
    assert any(not t["resident"] for t in smallest.plan["tensors"])


@needs_qemu
def test_q8_cache_under_qemu(workdir, hf_model, unicode_c):
    built = get_built(workdir, hf_model, unicode_c, "q8", "smallest")
    want = ids_line(greedy(built).stdout, "ids")
    done = greedy(built, qemu=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ids_line(done.stdout, "ids") == want
