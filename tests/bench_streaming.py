"""Streaming with reads throttled to drive profiles, under qemu-mipsel (the
linux-mips port) or on the host port: token time against read time and compute
time, overlap on and off. A benchmark, not a test.

    .venv/bin/python tests/bench_streaming.py build/smollm2-135m/model.psnt \
        --profiles ps2-dvd,ps2-hdd,balanced [--tokens 2] [--prompt "The capital"] [--port host]

The PSNT must have its plan beside it (`python -m model convert ... --ram 32M`).
compute = the unthrottled run's generation s/token; read = streamed bytes per
token / rate + seeks per token * seek time (the drive model of hal.h);
"balanced" is a made-up drive whose reads take as long as the compute, the case
where overlap matters most. Target: token <= 1.1 * max(read, compute)."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from codegen.kernels import generate  # noqa: E402
from codegen.spec import spec_from_psnt  # noqa: E402
from codegen.unicode_tables import render_unicode_tables  # noqa: E402
from model.devices import get_device  # noqa: E402
from host_build import build_runtime  # noqa: E402
from test_streaming import build_mips, report  # noqa: E402

MiB = 1 << 20


def run(elf: Path, psnt: Path, args: argparse.Namespace, *extra: str) -> dict:
    runner = ["qemu-mipsel", "-cpu", "24Kf"] if args.port == "linux-mips" else []
    done = subprocess.run([*runner, str(elf), str(psnt), "--prompt", args.prompt,
                           "--raw", "--tokens", str(args.tokens), "--ids", "--ignore-eos", *extra],
                          capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        sys.exit(done.stdout + done.stderr)
    r = report(done.stdout)
    r["ids"] = re.search(r"^ids:(.*)$", done.stdout, re.M).group(1).strip()
    return r


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("psnt", type=Path)
    parser.add_argument("--profiles", default="ps2-dvd,ps2-hdd,balanced")
    parser.add_argument("--tokens", type=int, default=2)
    parser.add_argument("--prompt", default="The capital")
    parser.add_argument("--no-verify", action="store_true", help="without the CRC check of streamed blocks")
    parser.add_argument("--port", choices=("linux-mips", "host"), default="linux-mips",
                        help="linux-mips runs under qemu-mipsel; host is the host build (no sanitizers)")
    args = parser.parse_args()
    verify = ["--no-verify"] if args.no_verify else ["--verify"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        generate(spec_from_psnt(args.psnt), out / "gen")
        (out / "unicode_tables.gen.c").write_text(render_unicode_tables())
        build = build_mips if args.port == "linux-mips" else lambda *a: build_runtime(*a, sanitize=False)
        elf = build(out / "gen", out, out / "unicode_tables.gen.c")
        base = run(elf, args.psnt, args, *verify)
        compute = base["generation_s_per_token"]
        per_token = base["bytes"] / base["forwards"]
        print(f"{args.psnt}: {per_token / MiB:.2f} MiB read per token, compute {compute:.3f} s/token "
              f"on {args.port} (verify {'off' if args.no_verify else 'on'}), ids {base['ids']}")
        for name in args.profiles.split(","):
            if name == "balanced":
                mibps, seek_s = per_token / MiB / compute, 0.010
            else:
                dev = get_device(name)
                mibps, seek_s = dev.read_bytes_per_s / MiB, dev.seek_s
            read = per_token / MiB / mibps + 2 * seek_s
            for overlap in ("--overlap", "--no-overlap"):
                r = run(elf, args.psnt, args, *verify, overlap, "--throttle", f"{mibps:.4f},{seek_s * 1e3:.1f}")
                token = r["generation_s_per_token"]
                same = "same tokens" if r["ids"] == base["ids"] else "DIFFERENT TOKENS"
                print(f"{name:9} {overlap:12} {mibps:7.3f} MiB/s seek {seek_s * 1e3:5.1f} ms: token {token:8.3f} s, "
                      f"read {read:8.3f} s, compute {compute:6.3f} s, token / max(read, compute) "
                      f"{token / max(read, compute):.3f}, waited {r['wait']:.2f} s; {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
