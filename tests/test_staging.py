"""Scratchpad staging (ee_runtime_c/staging.c): a matrix's rows reach the kernel by
chunks of whole rows through the two halves of hal.h's scratchpad, and the outputs
equal the rows read in place. Host build with ASan/UBSan over sdk/sim/scratch_sim.c
(the PS2's DMA fill is checked in Play!, docs/PLANNER.md); the forward-pass tests
cover staging inside real models bit for bit."""
from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "site_scons"))

from model import cost  # noqa: E402
from ps2llm_build import HOST_CFLAGS, INCLUDE_DIRS, SANITIZE_FLAGS  # noqa: E402

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
