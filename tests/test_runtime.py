"""End to end on random tiny models: Hugging Face model -> PSNT (f32, f16, q8, q4, q4m, ternary) ->
codegen -> host runtime built with ASan/UBSan; greedy tokens must equal
model/reference.py's for 80 tokens, and the logits of every position must be the
reference's bit for bit (tests/c/forward_driver.c). Corrupt PSNT files each give
their own error and a non-zero exit, never a crash; the sampler is deterministic
per seed."""
from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from host_build import (build_forward_driver, build_runtime, first_difference,  # noqa: E402
                        forward_logits, generate_kernels)
from model.psnt import QuantPolicy, read_psnt, write_psnt  # noqa: E402
from model.quant import QuantType  # noqa: E402
from model.reference import ReferenceModel  # noqa: E402
from model.sources import load_model  # noqa: E402

CONTEXT = 128
N_TOKENS = 80
SANITIZER_ENV = {"ASAN_OPTIONS": "exitcode=86:detect_leaks=0", "UBSAN_OPTIONS": "exitcode=87:print_stacktrace=1",
                 "PS2LLM_MEMORY_MB": "64"}


@dataclass
class Built:
    psnt: Path
    exe: Path
    driver: Path      # tests/c/forward_driver.c: logits of the runtime's forward()


POLICIES = {"q8": QuantPolicy(QuantType.Q8), "f32": QuantPolicy(QuantType.F32),
            "q8g16": QuantPolicy(QuantType.Q8, group_size=16), "f16": QuantPolicy(QuantType.F16),
            "q4g16": QuantPolicy.parse("q4:16"), "ternary": QuantPolicy.parse("ternary"),
            "mixed": QuantPolicy.parse("q8,ffn=q4:32,attn=ternary:16,embed=q4"),
            "q4m": QuantPolicy.parse("q4m:16"), "mixed_q4m": QuantPolicy.parse("q8,ffn=q4m:32,wo=q4,embed=q4m")}


def build_model(hf_model, policy_name: str, out: Path, unicode_c: Path) -> Built:
    psnt = out / "model.psnt"
    write_psnt(psnt, hf_model, POLICIES[policy_name])
    gen = generate_kernels(psnt, out, CONTEXT)
    return Built(psnt, build_runtime(gen, out, unicode_c), build_forward_driver(gen, out, unicode_c))


def run(exe: Path, psnt: Path, *args: str | bytes) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), str(psnt), *args], capture_output=True, timeout=300,
                          env={**os.environ, **SANITIZER_ENV})


def ids_line(out: bytes, label: str) -> list[int]:
    m = re.search(rb"^" + label.encode() + rb":((?: \d+)*)$", out, re.M)
    assert m, out.decode(errors="replace")
    return [int(t) for t in m.group(1).split()]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runtime")


@pytest.fixture(scope="module")
def hf_model(workdir):
    from hf_models import make_tiny_hf_model
    return load_model(str(make_tiny_hf_model(workdir / "hf", dim=64, n_layers=2, n_heads=4,
                                             n_kv_heads=2, hidden=96, vocab=320, seed=7,
                                             max_seq_len=CONTEXT)))


@pytest.fixture(scope="module", params=["q8", "f32", "q8g16", "q4g16", "ternary", "mixed", "q4m", "mixed_q4m"])
def built(request, workdir, hf_model, unicode_c) -> Built:
    return build_model(hf_model, request.param, workdir / request.param, unicode_c)


@pytest.fixture(scope="module")
def built_f16(workdir, hf_model, unicode_c) -> Built:
    return build_model(hf_model, "f16", workdir / "f16", unicode_c)


# ------------------------------------------------------------------ greedy = reference

def check_greedy_and_logits(b: Built, prompt: str) -> None:
    """The runtime's greedy tokens are the reference's, and the logits of every
    position (prompt and generated) are the reference's bit for bit."""
    done = run(b.exe, b.psnt, "--prompt", prompt, "--raw", "--tokens", str(N_TOKENS),
               "--ids", "--ignore-eos")
    assert done.returncode == 0, done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    prompt_ids, got = ids_line(done.stdout, "prompt ids"), ids_line(done.stdout, "ids")
    ref = ReferenceModel(read_psnt(b.psnt), max_seq_len=CONTEXT)
    ref_logits: list[np.ndarray] = []
    want = ref.generate_greedy(prompt_ids, N_TOKENS, logits_out=ref_logits)
    assert len(got) == N_TOKENS
    assert got == want
    assert b"tok/s" in done.stdout and b"arena: high water" in done.stdout
    c_logits = forward_logits(b.driver, b.psnt, prompt_ids + got[:-1], ref.config.vocab_size, SANITIZER_ENV)
    want_logits = np.stack(ref_logits)
    assert np.array_equal(c_logits.view(np.uint32), want_logits.view(np.uint32)), \
        first_difference(c_logits, want_logits)


@pytest.mark.parametrize("prompt", ["ka lo mi ne", "The qu ph 123!"])
def test_greedy_tokens_equal_reference(built, prompt):
    check_greedy_and_logits(built, prompt)


def test_f16_greedy_tokens_equal_reference(built_f16):
    check_greedy_and_logits(built_f16, "ka lo mi ne")


def test_chat_prompt_runs(built):
    done = run(built.exe, built.psnt, "--prompt", "hello", "--chat", "--tokens", "8", "--ids")
    assert done.returncode == 0, done.stdout.decode(errors="replace")
    prompt_ids = ids_line(done.stdout, "prompt ids")
    assert prompt_ids[0] == 1 and prompt_ids[-1] != 1     # <|im_start|> ... assistant\n


# ------------------------------------------------------------------ sampler

def sample(built, *args):
    done = run(built.exe, built.psnt, "--prompt", "ka lo", "--raw", "--tokens", "40", "--ids",
               "--ignore-eos", *args)
    assert done.returncode == 0, done.stdout.decode(errors="replace")
    return ids_line(done.stdout, "ids")


def test_sampler_seeded_determinism(built):
    a = sample(built, "--temp", "0.9", "--topk", "40", "--topp", "0.9", "--seed", "5")
    assert a == sample(built, "--temp", "0.9", "--topk", "40", "--topp", "0.9", "--seed", "5")
    assert a != sample(built, "--temp", "0.9", "--topk", "40", "--topp", "0.9", "--seed", "6")
    assert sample(built, "--temp", "1.5", "--seed", "3") == sample(built, "--temp", "1.5", "--seed", "3")


def test_topk_one_is_greedy(built):
    assert sample(built, "--temp", "1.0", "--topk", "1", "--seed", "9") == sample(built)


# ------------------------------------------------------------------ bad input

def rewrite(data: bytearray, offset: int, fmt: str, value) -> None:
    struct.pack_into(fmt, data, offset, value)


def fix_header_crc(data: bytearray) -> None:
    rewrite(data, 12, "<I", 0)
    rewrite(data, 12, "<I", zlib.crc32(bytes(data[:2048])))


def fix_table_crc(data: bytearray) -> None:
    n, off, size = struct.unpack_from("<III", data, 60)
    rewrite(data, 72, "<I", zlib.crc32(bytes(data[off:off + size])))
    fix_header_crc(data)


def corrupt_entry(field_offset: int, fmt: str, value):
    def apply(data: bytearray) -> None:
        rewrite(data, 2048 + 64 * 2 + field_offset, fmt, value)      # entry 2: layers.0.wq
        fix_table_crc(data)
    return apply


def flip(offset_of):
    def apply(data: bytearray) -> None:
        data[offset_of(data)] ^= 0x55
    return apply


CORRUPTIONS = {
    "truncated": (lambda d: d.__delitem__(slice(len(d) // 2, None)), "PSNT file is truncated"),
    "tiny": (lambda d: d.__delitem__(slice(1000, None)), "PSNT file is truncated"),
    "bad_magic": (lambda d: d.__setitem__(slice(0, 4), b"NOPE"), "not a PSNT file"),
    "byte_order": (lambda d: rewrite(d, 8, ">I", 0x01020304), "byte-order mark"),
    "older_version": (lambda d: (rewrite(d, 4, "<I", 1), fix_header_crc(d)), "unknown PSNT version"),
    "header_crc": (flip(lambda d: 120), "header CRC mismatch"),
    "table_crc": (flip(lambda d: 2048 + 64 * 3 + 40), "tensor table CRC mismatch"),
    "tokenizer_crc": (flip(lambda d: struct.unpack_from("<I", d, 76)[0] + 100), "tokenizer CRC mismatch"),
    "tensor_crc": (flip(lambda d: struct.unpack_from("<I", d, 2048 + 64 * 4 + 48)[0] + 5),
                   "tensor CRC mismatch: layers.0.wv"),
    "unknown_quant": (corrupt_entry(33, "<B", 9), "unknown or unsupported quant type: layers.0.wq"),
    "next_quant": (corrupt_entry(33, "<B", 6), "unknown or unsupported quant type: layers.0.wq"),
    "shape": (corrupt_entry(36, "<I", 65), "shape contradicts the header: layers.0.wq (found 65, expected 64)"),
    "group": (corrupt_entry(44, "<I", 7), "group size does not divide its row: layers.0.wq"),
    "offset": (corrupt_entry(48, "<I", 1 << 30), "misaligned or runs past the end"),
    "bad_role": (corrupt_entry(32, "<B", 14), "unknown or inconsistent role"),
    "duplicate": (lambda d: (d.__setitem__(slice(2048 + 64 * 3, 2048 + 64 * 4), d[2048 + 64 * 2:2048 + 64 * 3]),
                             fix_table_crc(d)), "PSNT tensor duplicated: layers.0.wq"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_psnt_gives_its_own_error(built, tmp_path, case):
    corrupt, message = CORRUPTIONS[case]
    data = bytearray(built.psnt.read_bytes())
    corrupt(data)
    bad = tmp_path / f"{case}.psnt"
    bad.write_bytes(bytes(data))
    done = run(built.exe, bad, "--prompt", "ka", "--tokens", "2")
    text = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    assert done.returncode == 1, text          # our error exit, not a sanitizer's (86/87) or a signal
    assert text.startswith("ps2llm: error: "), text
    assert message in text, text


def test_errors_are_distinct(built, tmp_path):
    """Every corruption above names a different problem."""
    seen = {}
    for case in ("truncated", "bad_magic", "byte_order", "older_version", "header_crc", "table_crc",
                 "tokenizer_crc", "tensor_crc", "unknown_quant", "shape"):
        data = bytearray(built.psnt.read_bytes())
        CORRUPTIONS[case][0](data)
        bad = tmp_path / f"{case}.psnt"
        bad.write_bytes(bytes(data))
        status = re.search(rb"\[status (-?\d+)\]", run(built.exe, bad).stdout)
        assert status, case
        seen.setdefault(int(status.group(1)), case)
    assert len(seen) == 10


def test_model_built_for_other_quant_is_rejected(built, hf_model, tmp_path):
    other = QuantType.F32 if built.psnt.parent.name != "f32" else QuantType.Q8
    psnt = tmp_path / "other.psnt"
    write_psnt(psnt, hf_model, QuantPolicy(other))
    done = run(built.exe, psnt, "--tokens", "2")
    assert done.returncode == 1
    assert b"not the model this binary was built for" in done.stdout
    # same quant type and another group size; q4m where q4 was built and the reverse
    others = {"q4g16": ("q4:32", "q4m:16"), "q4m": ("q4:16",)}.get(built.psnt.parent.name, ())
    for policy in others:
        write_psnt(psnt, hf_model, QuantPolicy.parse(policy))
        done = run(built.exe, psnt, "--tokens", "2")
        assert done.returncode == 1, policy
        assert b"not the model this binary was built for" in done.stdout, policy


def test_bad_arguments(built):
    done = run(built.exe, built.psnt, "--bogus")
    assert done.returncode == 2 and b"bad command line: --bogus" in done.stdout and b"usage:" in done.stdout
    assert run(built.exe, built.psnt, "--tokens", "x").returncode == 2
    done = subprocess.run([str(built.exe)], capture_output=True, env={**os.environ, **SANITIZER_ENV})
    assert done.returncode == 2
    done = run(built.exe, built.psnt.parent / "missing.psnt")
    assert done.returncode == 1 and b"cannot be opened" in done.stdout


def test_invalid_utf8_prompt(built):
    done = run(built.exe, built.psnt, "--prompt", b"ab\xff\xfe")
    assert done.returncode == 1 and b"prompt is not valid UTF-8" in done.stdout


def test_runs_from_an_iso_image(built, tmp_path):
    """iso9660.c finds MODEL.PSN in a real ISO 9660 image."""
    pycdlib = pytest.importorskip("pycdlib")
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1)
    iso.add_fp(__import__("io").BytesIO(b"hello\n"), 6, "/README.TXT;1")
    data = built.psnt.read_bytes()
    iso.add_fp(__import__("io").BytesIO(data), len(data), "/MODEL.PSN;1")
    image = tmp_path / "disc.iso"
    iso.write(str(image))
    iso.close()
    a = run(built.exe, image, "--prompt", "ka", "--raw", "--tokens", "10", "--ids", "--ignore-eos")
    b = run(built.exe, built.psnt, "--prompt", "ka", "--raw", "--tokens", "10", "--ids", "--ignore-eos")
    assert a.returncode == 0, a.stdout.decode(errors="replace")
    assert ids_line(a.stdout, "ids") == ids_line(b.stdout, "ids")
