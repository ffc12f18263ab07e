"""Host builds for tests, compiled as the SCons host port compiles them: the whole
runtime (ps2llm) and tests/c/forward_driver.c, which runs token ids through the
runtime's forward() and writes the logits, so they can be compared with
model/reference.py's bit for bit."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "site_scons"))

from codegen.kernels import generate  # noqa: E402
from codegen.spec import spec_from_psnt  # noqa: E402
from ps2llm_build import (HOST_CFLAGS, HOST_PORT_SOURCES, INCLUDE_DIRS,  # noqa: E402
                          MODEL_GENERATED, RUNTIME_SOURCES, SANITIZE_FLAGS)

APP_MAIN = "ee_runtime_c/app.c"      # the runtime's main(); forward_driver.c has its own


def generate_kernels(psnt: Path, out: Path, context: int) -> Path:
    gen = out / "gen"
    generate(spec_from_psnt(psnt, context), gen)
    return gen


def _compile(sources: list[Path], gen: Path, exe: Path, sanitize: bool) -> Path:
    cmd = ["gcc", *HOST_CFLAGS, *(SANITIZE_FLAGS if sanitize else []), f"-I{gen}",
           *[f"-I{ROOT / d}" for d in INCLUDE_DIRS], *map(str, sources), "-o", str(exe)]
    subprocess.run(cmd, check=True)
    return exe


def build_runtime(gen: Path, out: Path, unicode_c: Path, sanitize: bool = True) -> Path:
    sources = [ROOT / s for s in RUNTIME_SOURCES + HOST_PORT_SOURCES] + [gen / g for g in MODEL_GENERATED]
    sources.append(unicode_c)
    return _compile(sources, gen, out / "ps2llm", sanitize)


def build_forward_driver(gen: Path, out: Path, unicode_c: Path, sanitize: bool = True) -> Path:
    """The runtime without app.c, and tests/c/forward_driver.c as main."""
    assert APP_MAIN in RUNTIME_SOURCES, f"{APP_MAIN} is no longer the runtime's main: update tests/host_build.py"
    runtime = [s for s in RUNTIME_SOURCES if s != APP_MAIN]
    sources = [ROOT / "tests/c/forward_driver.c", *[ROOT / s for s in runtime + HOST_PORT_SOURCES],
               *[gen / g for g in MODEL_GENERATED], unicode_c]
    return _compile(sources, gen, out / "forward_driver", sanitize)


def forward_logits(driver: Path, disc: Path, tokens: list[int], vocab_size: int,
                   env: dict[str, str] | None = None) -> np.ndarray:
    """Logits (len(tokens), vocab_size) f32 of the runtime for tokens at positions 0, 1, ..."""
    done = subprocess.run([str(driver), str(disc), *map(str, tokens)], capture_output=True,
                          timeout=600, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return np.frombuffer(done.stdout, np.float32).reshape(len(tokens), vocab_size)


def first_difference(a: np.ndarray, b: np.ndarray) -> str:
    """Where two logit arrays (positions, vocab) first differ in any bit, for messages."""
    diff = np.flatnonzero((a.view(np.uint32) != b.view(np.uint32)).any(axis=1))
    if diff.size == 0:
        return "identical"
    p = int(diff[0])
    return (f"position {p} of {len(a)} differs first (max abs difference there "
            f"{float(np.abs(a[p] - b[p]).max()):.3g}, over all {float(np.abs(a - b).max()):.3g}; "
            f"{diff.size} positions differ)")
