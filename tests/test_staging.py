"""Scratchpad staging (ee_runtime_c/staging.c): a matrix's rows, and an f32 KV cache's
positions, reach the kernels by chunks through the two halves of hal.h's scratchpad,
and the outputs equal the data read in place. Host builds with ASan/UBSan over
sdk/sim/scratch_sim.c (the PS2's DMA fill is checked in Play!, docs/PLANNER.md): the
chunking alone, and a model wide enough that every matrix and the attention cross
many chunks, bit for bit with model/reference.py."""
from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "site_scons"))

import numpy as np  # noqa: E402

from hf_models import make_tiny_hf_model  # noqa: E402
from host_build import build_forward_driver, first_difference, forward_logits, generate_kernels  # noqa: E402
from model import cost  # noqa: E402
from model.psnt import QuantPolicy, read_psnt, write_psnt  # noqa: E402
from model.quant import QuantType  # noqa: E402
from model.reference import ReferenceModel  # noqa: E402
from model.sources import load_model  # noqa: E402
from ps2llm_build import HOST_CFLAGS, INCLUDE_DIRS, SANITIZE_FLAGS  # noqa: E402
from test_reference import reference_logits  # noqa: E402

HALF = 8192


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("staging") / "staging_driver"
    sources = ["tests/c/staging_driver.c", "ee_runtime_c/staging.c", "sdk/sim/scratch_sim.c"]
    subprocess.run(["gcc", *HOST_CFLAGS, *SANITIZE_FLAGS, *[f"-I{ROOT / d}" for d in INCLUDE_DIRS],
                    *[str(ROOT / s) for s in sources], "-o", str(exe)], check=True)
    return exe


@pytest.mark.parametrize("stride,n_rows,offset,mode", [
    (272, 4096, 0, "staged"),       # q8 rows of 256 columns: 28 a chunk, a partial last chunk
    (272, 28, 0, "staged"),         # exactly one chunk
    (272, 29, 0, "staged"),         # one more row than a chunk
    (272, 1, 0, "staged"),
    (80, 333, 0, "staged"),
    (1552, 9, 0, "staged"),         # SmolLM2 q8 rows: 5 a chunk (4 after rounding)
    (768, 41, 0, "staged"),         # SmolLM2's f32 KV positions: 10 fit, 8 a chunk
    (HALF, 5, 0, "staged"),         # one row fills a half
    (HALF + 16, 3, 0, "in-place"),  # a row larger than a half
    (20, 50, 0, "in-place"),        # rows not 16-byte multiples
    (272, 40, 4, "in-place"),       # a matrix not 16-byte aligned
    (272, 0, 0, "in-place"),
])
def test_staged_rows_equal_rows_in_place(driver, stride, n_rows, offset, mode):
    done = subprocess.run([str(driver), str(stride), str(n_rows), str(offset)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    kind, calls = done.stdout.split()
    assert kind == mode
    if mode == "staged":
        assert int(calls) == math.ceil(n_rows / cost.staging_chunk(stride))


def test_cost_model_knows_the_scratchpad_size():
    hal = (ROOT / "sdk/include/hal.h").read_text()
    size = int(re.search(r"#define HAL_SCRATCH_BYTES (\d+)u", hal).group(1))
    assert cost.SCRATCH_HALF == size // 2 == HALF


# kv_dim 512: 2 KB a cached position, 4 positions a chunk; q8 rows of 512 columns
# (528 B, 12 a chunk), f32 rows 2 KB (4 a chunk): 22 positions cross 6 chunks
WIDE = dict(dim=512, n_layers=1, n_heads=8, n_kv_heads=8, hidden=160, vocab=320, tie=True, seed=5)
CONTEXT, N_TOKENS = 32, 22


@pytest.mark.parametrize("quant", [QuantType.Q8, QuantType.F32])
def test_forward_through_many_chunks_equals_reference(tmp_path, unicode_c, quant):
    model = load_model(str(make_tiny_hf_model(tmp_path / "hf", max_seq_len=CONTEXT, **WIDE)))
    psnt = tmp_path / "model.psnt"
    write_psnt(psnt, model, QuantPolicy(quant))
    assert cost.staging_chunk(4 * model.config.kv_dim) == 4
    driver = build_forward_driver(generate_kernels(psnt, tmp_path, CONTEXT), tmp_path, unicode_c)
    tokens = [int(t) for t in np.random.default_rng(9).integers(0, model.config.vocab_size, N_TOKENS)]
    got = forward_logits(driver, psnt, tokens, model.config.vocab_size)
    want = reference_logits(ReferenceModel(read_psnt(psnt), max_seq_len=CONTEXT), tokens)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), first_difference(got, want)
