"""Host tok/s of a model: generate its kernels, build the runtime with the host
port's flags (no sanitizers), run it on the PSNT pinned to core 0 and print the
timings. It follows the PSNT's stream plan (model.plan.json beside it, as `scons
host` does) unless --resident, which keeps every weight in RAM as llama.cpp does.
Optionally, in the same run: llama.cpp's llama-bench on GGUF files (one thread,
pinned to core 0, decode only: -t 1 -p 0 -n TOKENS -r RUNS -o json) and the end
to end time of `python -m model convert MODEL <tmp>.psnt` (q8). A benchmark, not
a test: nothing here asserts a time.

    .venv/bin/python tests/bench_host.py build/smollm2-135m/model.psnt [--tokens 128]
    .venv/bin/python tests/bench_host.py build/smollm2-135m/model.psnt --tokens 128 \\
        --llama-bench /work/llamacpp/bin-native/llama-bench \\
        --gguf /work/llamacpp/smollm2-q8_0.gguf --convert

llama.cpp is not part of this repository: build llama-bench from the llama.cpp
vendored in the llama-cpp-python sdist (vendor/llama.cpp), and make the GGUF with
its llama-quantize (--allow-requantize from the cached Q4_1 GGUF to Q8_0).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "site_scons"))

from codegen.kernels import generate  # noqa: E402
from codegen.spec import spec_from_psnt  # noqa: E402
from codegen.unicode_tables import render_unicode_tables  # noqa: E402
from ps2llm_build import (HOST_CFLAGS, HOST_PORT_SOURCES, INCLUDE_DIRS,  # noqa: E402
                          MODEL_GENERATED, RUNTIME_SOURCES)

PIN = ["taskset", "-c", "0"]


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def bench_ours(args) -> tuple[float, str]:
    """(best generation tok/s, quant types) of the runtime on args.psnt."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        psnt = Path(args.psnt)
        if args.resident:  # a link with no model.plan.json beside it: every weight resident
            psnt = out / "model.psnt"
            psnt.symlink_to(Path(args.psnt).resolve())
        spec = spec_from_psnt(psnt)
        quants = "/".join(sorted({k.quant.name.lower() for _, k in spec.kinds}))
        plan = f"streams {spec.plan.streamed_bytes_per_token / 1e6:.1f} MB/token" if spec.plan.streaming \
            else "resident"
        generate(spec, out)
        (out / "unicode_tables.gen.c").write_text(render_unicode_tables())
        exe = out / "ps2llm"
        sources = [str(ROOT / s) for s in RUNTIME_SOURCES + HOST_PORT_SOURCES]
        sources += [str(out / name) for name in MODEL_GENERATED + ["unicode_tables.gen.c"]]
        subprocess.run(["gcc", *HOST_CFLAGS, *args.cflags.split(), f"-I{out}",
                        *[f"-I{ROOT / d}" for d in INCLUDE_DIRS], *sources, "-o", str(exe)], check=True)
        rates = []
        for _ in range(args.runs):
            done = subprocess.run([*PIN, str(exe), str(psnt), "--prompt", args.prompt, "--raw",
                                   "--tokens", str(args.tokens), "--ignore-eos", *args.run_args.split()],
                                  capture_output=True, text=True, errors="replace")
            if done.returncode != 0:
                sys.exit(done.stdout + done.stderr)
            rates.append(float(re.search(r"generation: \d+ tokens, ([\d.]+) tok/s", done.stdout).group(1)))
            report = done.stdout[done.stdout.rindex("load:"):]
    print(report.rstrip())
    flags = " ".join([*HOST_CFLAGS, *args.cflags.split()])
    print(f"ours ({quants}, {plan}, {' '.join([args.psnt, *args.run_args.split()])}): best {max(rates):.2f}, "
          f"mean {statistics.mean(rates):.2f} tok/s over {args.runs} runs (one core, gcc {flags})")
    return max(rates), quants


def bench_llama(args, gguf: str) -> tuple[float, str]:
    """(best decode tok/s, model type) of llama-bench on gguf, one thread on core 0."""
    cmd = [*PIN, args.llama_bench, "-m", gguf, "-t", "1", "-p", "0", "-n", str(args.tokens),
           "-r", str(args.runs), "-o", "json"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(" ".join(cmd) + "\n" + done.stderr)
    (result,) = json.loads(done.stdout)
    samples = result["samples_ts"]
    print(f"llama.cpp {result['build_commit']} ({result['model_type']}, {gguf}): best {max(samples):.2f}, "
          f"mean {result['avg_ts']:.2f} ± {result['stddev_ts']:.2f} tok/s over {len(samples)} runs "
          f"(tg{result['n_gen']}, {result['n_threads']} thread, {result['backends']})")
    return max(samples), result["model_type"]


def time_convert(model: str) -> float:
    """Seconds of `python -m model convert MODEL <tmp>.psnt` (q8), start to exit."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "model", "convert", model, str(Path(tmp) / "model.psnt")],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
    print(f"convert {model} -> q8 PSNT: {seconds:.1f} s end to end")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("psnt")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--prompt", default="Once upon a time")
    parser.add_argument("--runs", type=int, default=3, help="runs of each benchmark (best and mean shown)")
    parser.add_argument("--cflags", default="", help="extra compiler flags, e.g. -march=native")
    parser.add_argument("--resident", action="store_true",
                        help="ignore the PSNT's model.plan.json: keep every weight in RAM, as llama.cpp does")
    parser.add_argument("--run-args", default="", help="extra runtime flags, e.g. --no-verify")
    parser.add_argument("--llama-bench", help="llama.cpp's llama-bench binary, run on each --gguf")
    parser.add_argument("--gguf", action="append", default=[], help="GGUF for llama-bench (repeatable)")
    parser.add_argument("--convert", nargs="?", const="smollm2-135m", metavar="MODEL",
                        help="also time converting MODEL (default smollm2-135m) to a q8 PSNT")
    args = parser.parse_args()
    if bool(args.llama_bench) != bool(args.gguf):
        parser.error("--llama-bench and --gguf go together")
    print(f"CPU: {cpu_model()}; decode of {args.tokens} tokens, pinned to core 0")
    ours, quants = bench_ours(args)
    for gguf in args.gguf:
        theirs, model_type = bench_llama(args, gguf)
        print(f"  best tok/s, ours ({quants}) / llama.cpp ({model_type}): {ours / theirs:.2f}x")
    if args.convert:
        time_convert(args.convert)
    return 0


if __name__ == "__main__":
    sys.exit(main())
