"""Weights streamed from the disc (ee_runtime_c/stream.c) on random tiny models,
host (ASan/UBSan) and linux-mips under qemu-mipsel:

- the same greedy tokens whatever the RAM budget: no plan (everything resident),
  plans at 32 MiB and 8 MiB, one where part streams, the smallest that runs (the
  planner raises PlanError below it) and one with tiny stream buffers (many
  blocks, rows split across sectors); and the reference's tokens;
- bytes read per token, counted by the hardware layer, equal the plan's figure
  exactly (the plan counts an embedding row's worst case, 1-2 sectors: the test
  counts the sectors each token's row really covers);
- injected faults (hal_configure "fault": failed reads, short reads, flipped
  bits) are retried with identical output, or, when they persist, end the run
  with an error naming the tensor, a non-zero exit and no token ids printed;
- a throttled run (drive profile) overlaps reads with compute: measured and
  printed (`pytest -s`), never asserted.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "site_scons"))
sys.path.insert(0, str(ROOT / "site_scons" / "site_tools"))

from codegen.kernels import generate  # noqa: E402
from codegen.spec import spec_from_psnt  # noqa: E402
from codegen.stream_plan import plan_path  # noqa: E402
from host_build import build_runtime  # noqa: E402
from model.plan import PlanError, make_plan, row_read_bytes  # noqa: E402
from model.psnt import QuantPolicy, read_psnt, write_psnt  # noqa: E402
from model.quant import QuantType  # noqa: E402
from model.reference import ReferenceModel  # noqa: E402
from model.sources import load_model  # noqa: E402
from ps2llm_build import INCLUDE_DIRS, MODEL_GENERATED, RUNTIME_SOURCES  # noqa: E402

CONTEXT = 64
N_TOKENS = 24
PROMPT = "ka lo mi ne"
MiB = 1 << 20
SECTOR = 2048
ENV = {"ASAN_OPTIONS": "exitcode=86:detect_leaks=0", "UBSAN_OPTIONS": "exitcode=87:print_stacktrace=1",
       "PS2LLM_MEMORY_MB": "64"}
HAVE_QEMU = bool(shutil.which("qemu-mipsel") and shutil.which("mipsel-linux-gnu-gcc"))
needs_qemu = pytest.mark.skipif(not HAVE_QEMU, reason="qemu-mipsel and mipsel-linux-gnu-gcc are installed by setup.sh")

# Two models: q8 with tied embeddings (80-byte rows: blocks share sectors, the
# output projection streams the embedding), f32 untied (its own output matrix).
MODELS = {
    "q8-tied": (dict(dim=64, n_layers=2, n_heads=4, n_kv_heads=2, hidden=96, vocab=320, tie=True, seed=11),
                QuantPolicy(QuantType.Q8)),
    "f32-untied": (dict(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, hidden=64, vocab=288, tie=False, seed=12),
                   QuantPolicy(QuantType.F32)),
}
BUDGETS = ("resident", "32M", "8M", "part", "smallest", "tiny-buffers")


# ------------------------------------------------------------------ builds

def smallest_ram(psnt_file, **kw) -> int:
    """The least RAM (to 4 KiB) the planner accepts."""
    lo, hi = 1 * MiB, 64 * MiB           # lo fails, hi fits
    while hi - lo > 4096:
        mid = (lo + hi) // 2
        try:
            make_plan(psnt_file.config, psnt_file.entries, ram_bytes=mid, **kw)
            hi = mid
        except PlanError:
            lo = mid
    return hi


def write_plan(psnt: Path, budget: str) -> dict | None:
    """The plan for `budget` beside psnt (none for "resident"); its figures."""
    p = read_psnt(psnt)
    kw = dict(context=CONTEXT, tokenizer_bytes=p.tokenizer_size, model=p.name)
    if budget == "resident":
        return None
    if budget in ("32M", "8M"):
        plan = make_plan(p.config, p.entries, ram_bytes=int(budget[:-1]) * MiB, **kw)
    else:
        low = smallest_ram(p, **kw)
        if budget == "part":
            resident_all = sum((e.size + SECTOR - 1) // SECTOR * SECTOR for e in p.entries)
            plan = make_plan(p.config, p.entries, ram_bytes=low + resident_all // 2, **kw)
        elif budget == "smallest":
            plan = make_plan(p.config, p.entries, ram_bytes=low, **kw)
            with pytest.raises(PlanError):
                make_plan(p.config, p.entries, ram_bytes=low - 4096, **kw)
        else:       # tiny-buffers: the least buffer that holds a row, so matrices take many blocks
            min_buf = max((e.row_stride + SECTOR - 1) // SECTOR * SECTOR for e in p.entries) + SECTOR
            plan = make_plan(p.config, p.entries, ram_bytes=low + 64 * 1024, stream_buffer_bytes=min_buf, **kw)
    plan_path(psnt).write_text(plan.to_json())
    return plan.to_dict()


def build_mips(gen: Path, out: Path, unicode_c: Path) -> Path:
    """The linux-mips port, compiled as site_scons/site_tools/linux_mips.py does."""
    import linux_mips as lm
    cc = shutil.which(lm.COMPILER)
    gcc_inc = subprocess.run([cc, "-print-file-name=include"], check=True, capture_output=True,
                             text=True).stdout.strip()
    includes = [f"-I{gen}", *[f"-I{ROOT / d}" for d in INCLUDE_DIRS + lm.INCLUDES]]
    sources = [ROOT / s for s in RUNTIME_SOURCES + lm.PORT_SOURCES] + [gen / g for g in MODEL_GENERATED]
    exe = out / "ps2llm.elf"
    subprocess.run([cc, *lm.ARCH_FLAGS, *lm.C_FLAGS, "-nostdinc", "-isystem", gcc_inc, *includes,
                    *map(str, sources), str(unicode_c), *lm.LINK_FLAGS, "-o", str(exe)], check=True)
    return exe


@dataclass
class Built:
    psnt: Path
    plan: dict | None
    host: Path
    gen: Path
    unicode_c: Path
    out: Path
    _mips: Path | None = None

    @property
    def mips(self) -> Path:
        if self._mips is None:
            self._mips = build_mips(self.gen, self.out, self.unicode_c)
        return self._mips


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("streaming")


@pytest.fixture(scope="module")
def models(workdir):
    from hf_models import make_tiny_hf_model
    return {name: load_model(str(make_tiny_hf_model(workdir / f"hf-{name}", max_seq_len=CONTEXT, **shape)))
            for name, (shape, _) in MODELS.items()}


_built: dict[tuple[str, str], Built] = {}


def get_built(workdir, models, unicode_c, model: str, budget: str) -> Built:
    key = (model, budget)
    if key not in _built:
        out = workdir / model / budget
        psnt = out / "model.psnt"
        write_psnt(psnt, models[model], MODELS[model][1])
        plan = write_plan(psnt, budget)
        gen = out / "gen"
        generate(spec_from_psnt(psnt), gen)
        _built[key] = Built(psnt, plan, build_runtime(gen, out, unicode_c), gen, unicode_c, out)
    return _built[key]


@pytest.fixture(params=sorted(MODELS))
def model_name(request) -> str:
    return request.param


# ------------------------------------------------------------------ running

def run(exe: Path, psnt: Path, *args: str, qemu: bool = False, timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = ["qemu-mipsel", "-cpu", "24Kf"] if qemu else []
    return subprocess.run([*cmd, str(exe), str(psnt), *args], capture_output=True, text=True,
                          errors="replace", timeout=timeout, env={**os.environ, **ENV})


def greedy(built: Built, *args: str, qemu: bool = False) -> subprocess.CompletedProcess:
    exe = built.mips if qemu else built.host
    return run(exe, built.psnt, "--prompt", PROMPT, "--raw", "--tokens", str(N_TOKENS), "--ids",
               "--ignore-eos", *args, qemu=qemu)


def ids_line(out: str, label: str) -> list[int]:
    m = re.search(r"^" + label + r":((?: \d+)*)$", out, re.M)
    assert m, out
    return [int(t) for t in m.group(1).split()]


def report(out: str) -> dict:
    """The numbers of the run report (ee_runtime_c/profile.h)."""
    r = {k: float(v) for k, v in re.findall(r"([\w/]+)=([\d.]+)", re.search(r"^time:(.*)$", out, re.M).group(1))}
    m = re.search(r"^disc: (\d+) bytes read in (\d+) forward passes", out, re.M)
    r["bytes"], r["forwards"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"^stream: (\d+) reads, (\d+) retries \((\d+) read errors, (\d+) CRC mismatches\)", out, re.M)
    if m:
        r["reads"], r["retries"], r["read_errors"], r["crc_errors"] = map(int, m.groups())
    m = re.search(r"^arena: high water (\d+) bytes of (\d+)", out, re.M)
    r["high_water"], r["arena"] = int(m.group(1)), int(m.group(2))
    for what in ("prompt", "generation"):
        m = re.search(rf"^{what}: (\d+) tokens, ([\d.]+) tok/s \(([\d.]+) s/token\)", out, re.M)
        r[f"{what}_tok_s"], r[f"{what}_s_per_token"] = float(m.group(2)), float(m.group(3))
    return r


def expected_bytes(built: Built, tokens_fed: list[int]) -> int:
    """Bytes the plan says the forward passes read: per token its streamed
    tensors' sectors and the sectors the token's embedding row covers."""
    plan = built.plan
    if plan is None:
        return 0
    emb = next(t for t in plan["tensors"] if t["role"] == "tok_embeddings")
    per_token = plan["streamed_bytes_per_token"]
    if emb["resident"]:
        return per_token * len(tokens_fed)
    per_token -= row_read_bytes(emb["row_stride"])          # the plan's worst case for the row
    offset = read_psnt(built.psnt).entry("tok_embeddings").offset
    total = 0
    for t in tokens_fed:
        a = offset + t * emb["row_stride"]
        total += per_token + (-(-(a + emb["row_stride"]) // SECTOR) - a // SECTOR) * SECTOR
    return total


# ------------------------------------------------------------------ same tokens, exact bytes

@pytest.mark.parametrize("budget", BUDGETS)
def test_same_tokens_and_planned_bytes_on_host(workdir, models, unicode_c, model_name, budget):
    base = get_built(workdir, models, unicode_c, model_name, "resident")
    built = get_built(workdir, models, unicode_c, model_name, budget)
    want = greedy(base)
    assert want.returncode == 0, want.stdout + want.stderr
    done = greedy(built)
    assert done.returncode == 0, done.stdout + done.stderr
    prompt, got = ids_line(done.stdout, "prompt ids"), ids_line(done.stdout, "ids")
    assert got == ids_line(want.stdout, "ids") and len(got) == N_TOKENS
    if budget == "resident":
        ref = ReferenceModel(read_psnt(built.psnt), max_seq_len=CONTEXT).generate_greedy(prompt, N_TOKENS)
        assert got == ref
    r = report(done.stdout)
    fed = prompt + got[:-1]
    assert r["forwards"] == len(fed)
    assert r["bytes"] == expected_bytes(built, fed), done.stdout
    if built.plan is not None:
        assert r["arena"] <= built.plan["arena_bytes"] and r["high_water"] <= r["arena"]
        streams = any(not t["resident"] for t in built.plan["tensors"])
        assert ("stream:" in done.stdout) == streams
        if budget in ("part", "smallest", "tiny-buffers"):
            assert streams
    for what in ("prompt_tok_s", "generation_tok_s"):
        assert r[what] > 0


@needs_qemu
@pytest.mark.parametrize("budget", ["resident", "smallest", "tiny-buffers"])
def test_same_tokens_and_planned_bytes_under_qemu(workdir, models, unicode_c, model_name, budget):
    base = get_built(workdir, models, unicode_c, model_name, "resident")
    built = get_built(workdir, models, unicode_c, model_name, budget)
    want = ids_line(greedy(base).stdout, "ids")
    done = greedy(built, qemu=True)
    assert done.returncode == 0, done.stdout + done.stderr
    prompt, got = ids_line(done.stdout, "prompt ids"), ids_line(done.stdout, "ids")
    assert got == want
    r = report(done.stdout)
    assert r["bytes"] == expected_bytes(built, prompt + got[:-1])
    assert re.search(r"^peak RAM: \d+ bytes \(arena high water \d+, program image [1-9]\d*\)", done.stdout, re.M)


def test_overlap_and_verify_switches_keep_tokens(workdir, models, unicode_c, model_name):
    built = get_built(workdir, models, unicode_c, model_name, "tiny-buffers")
    want = ids_line(greedy(built).stdout, "ids")
    for args in (["--no-overlap"], ["--no-verify"], ["--no-overlap", "--no-verify"]):
        done = greedy(built, *args)
        assert done.returncode == 0 and ids_line(done.stdout, "ids") == want, args
    assert "overlap off" in greedy(built, "--no-overlap").stdout


# ------------------------------------------------------------------ faults

TRANSIENT = ["read-error@3", "short-read@5", "flip@7", "read-error/5", "short-read/4", "flip/3",
             "read-error@2,flip@3,short-read@4"]
PERSISTENT = {"read-error@6+": "disc read of streamed weights failed 4 times",
              "short-read@6+": "streamed weights arrived with a wrong CRC 4 times",
              "flip@6+": "streamed weights arrived with a wrong CRC 4 times"}


@pytest.mark.parametrize("fault", TRANSIENT)
def test_transient_faults_are_retried(workdir, models, unicode_c, model_name, fault):
    built = get_built(workdir, models, unicode_c, model_name, "tiny-buffers")
    want = ids_line(greedy(built).stdout, "ids")
    done = greedy(built, "--fault", fault)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ids_line(done.stdout, "ids") == want
    r = report(done.stdout)
    assert r["retries"] >= 1 and r["retries"] == r["read_errors"] + r["crc_errors"]
    if "read-error" in fault:
        assert r["read_errors"] >= 1
    if "flip" in fault:
        assert r["crc_errors"] >= 1


@pytest.mark.parametrize("fault", sorted(PERSISTENT))
def test_persistent_faults_are_reported(workdir, models, unicode_c, model_name, fault):
    built = get_built(workdir, models, unicode_c, model_name, "tiny-buffers")
    done = greedy(built, "--fault", fault)
    assert done.returncode == 1, done.stdout + done.stderr
    error = re.search(r"^ps2llm: error: (.*) \[status (\d+)\]$", done.stdout, re.M)
    assert error and error.group(1).startswith(PERSISTENT[fault]), done.stdout
    assert re.search(r": (layers\.\d+\.\w+|tok_embeddings|output|norm)$", error.group(1))
    assert "ids:" not in done.stdout          # nothing reported as if it were the answer


def test_faults_without_verify_show_why_it_is_on(workdir, models, unicode_c):
    """A flipped bit that nothing checks goes unnoticed: the run 'succeeds'. This is
    what --verify (the default) exists for; the test documents it."""
    built = get_built(workdir, models, unicode_c, "q8-tied", "tiny-buffers")
    done = greedy(built, "--fault", "flip/2", "--no-verify")
    assert done.returncode == 0 and report(done.stdout)["retries"] == 0


@needs_qemu
@pytest.mark.parametrize("fault,rc", [("read-error/4,flip/7,short-read/9", 0), ("flip@6+", 1)])
def test_faults_under_qemu(workdir, models, unicode_c, fault, rc):
    built = get_built(workdir, models, unicode_c, "q8-tied", "tiny-buffers")
    want = ids_line(greedy(built).stdout, "ids")
    done = greedy(built, "--fault", fault, qemu=True)
    assert done.returncode == rc, done.stdout + done.stderr
    if rc == 0:
        assert ids_line(done.stdout, "ids") == want and report(done.stdout)["retries"] > 0
    else:
        assert "ps2llm: error: streamed weights arrived with a wrong CRC" in done.stdout
        assert "ids:" not in done.stdout


@pytest.mark.parametrize("args", [["--fault", "explode@3"], ["--fault", "flip@0"], ["--throttle", "fast"],
                                  ["--throttle", "0,10"]])
def test_bad_port_options(workdir, models, unicode_c, args):
    built = get_built(workdir, models, unicode_c, "q8-tied", "smallest")
    done = greedy(built, *args)
    assert done.returncode == 2 and f"bad command line: {args[0]}" in done.stdout


# ------------------------------------------------------------------ the plan and the file

def test_another_psnt_is_refused(workdir, models, unicode_c, tmp_path):
    """The binary holds CRCs of the PSNT it was generated from; another file of the
    same shape (other weights) is refused, not streamed."""
    built = get_built(workdir, models, unicode_c, "q8-tied", "smallest")
    other = models["q8-tied"]
    other = type(other)(other.config, other.vocab, {k: v * 0.5 for k, v in other.weights.items()}, other.name)
    psnt = tmp_path / "other.psnt"
    write_psnt(psnt, other, MODELS["q8-tied"][1])
    done = run(built.host, psnt, "--prompt", PROMPT, "--tokens", "2")
    assert done.returncode == 1
    assert "not the one this binary's streaming plan was made for" in done.stdout


def test_plan_for_another_model_is_a_clear_codegen_error(workdir, models, unicode_c, tmp_path):
    a = get_built(workdir, models, unicode_c, "q8-tied", "smallest")
    psnt = tmp_path / "model.psnt"
    write_psnt(psnt, models["f32-untied"], MODELS["f32-untied"][1])
    plan_path(psnt).write_text(plan_path(a.psnt).read_text())
    with pytest.raises(ValueError, match="plan.json: .*(not the PSNT's|blocks of)"):
        spec_from_psnt(psnt)


# ------------------------------------------------------------------ throttled: a benchmark

@needs_qemu
def test_throttled_overlap_benchmark(workdir, models, unicode_c):
    """Reads throttled so that a token's reads take about as long as its compute
    (the hardest case for overlap): token time vs read time and compute time,
    overlap on and off. Printed, not asserted (timing under qemu varies)."""
    built = get_built(workdir, models, unicode_c, "q8-tied", "tiny-buffers")
    plain = report(greedy(built, "--no-verify", qemu=True).stdout)
    compute = plain["generation_s_per_token"]
    per_token = expected_bytes(built, [0]) / MiB
    rate = per_token / compute                       # MiB/s: reads as long as compute
    seek_ms = 1.0
    lines = [f"tiny q8 model, {per_token * MiB:.0f} bytes/token, compute {compute * 1e3:.2f} ms/token (qemu)"]
    for overlap in ("--overlap", "--no-overlap"):
        done = greedy(built, "--no-verify", overlap, "--throttle", f"{rate:.3f},{seek_ms}", qemu=True)
        assert done.returncode == 0, done.stdout
        r = report(done.stdout)
        read_time = per_token / rate + 2 * seek_ms / 1e3
        lines.append(f"{overlap}: token {r['generation_s_per_token'] * 1e3:.2f} ms, read {read_time * 1e3:.2f} ms, "
                     f"compute {compute * 1e3:.2f} ms, ratio to max(read, compute) "
                     f"{r['generation_s_per_token'] / max(read_time, compute):.2f}, wait {r['wait'] * 1e3:.1f} ms")
    print("\n" + "\n".join(lines))
