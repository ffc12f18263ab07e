"""Host tok/s of a model: generate its kernels, build the runtime with the host
port's flags (no sanitizers), run it on the PSNT and print the timings.
Not a test.

    .venv/bin/python tests/bench_host.py build/smollm2-135m/model.psnt [--tokens 128]
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "site_scons"))

from codegen.kernels import generate  # noqa: E402
from codegen.spec import spec_from_psnt  # noqa: E402
from codegen.unicode_tables import render_unicode_tables  # noqa: E402
from ps2llm_build import HOST_CFLAGS, HOST_PORT_SOURCES, INCLUDE_DIRS, RUNTIME_SOURCES  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("psnt")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--prompt", default="Once upon a time")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    parser.add_argument("--cflags", default="", help="extra compiler flags, e.g. -march=native")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        generate(spec_from_psnt(args.psnt), out)
        (out / "unicode_tables.gen.c").write_text(render_unicode_tables())
        exe = out / "ps2llm"
        sources = [str(ROOT / s) for s in RUNTIME_SOURCES + HOST_PORT_SOURCES]
        sources += [str(out / "kernels.gen.c"), str(out / "unicode_tables.gen.c")]
        subprocess.run(["gcc", *HOST_CFLAGS, *args.cflags.split(), f"-I{out}",
                        *[f"-I{ROOT / d}" for d in INCLUDE_DIRS], *sources, "-o", str(exe)], check=True)
        best = 0.0
        for _ in range(args.runs):
            done = subprocess.run(["taskset", "-c", "0", str(exe), args.psnt, "--prompt", args.prompt,
                                   "--raw", "--tokens", str(args.tokens), "--ignore-eos"],
                                  capture_output=True, text=True, errors="replace")
            if done.returncode != 0:
                print(done.stdout + done.stderr, file=sys.stderr)
                return 1
            rate = float(re.search(r"generation: \d+ tokens, ([\d.]+) tok/s", done.stdout).group(1))
            best = max(best, rate)
            report = done.stdout[done.stdout.rindex("load:"):]
        print(report.rstrip())
        print(f"best generation rate of {args.runs}: {best:.2f} tok/s (one core, {' '.join(HOST_CFLAGS)} {args.cflags})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
