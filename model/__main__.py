"""python -m model convert MODEL OUT [--quant q8] [--group N]
   python -m model inspect FILE.psnt
   python -m model fetch MODEL      (download a built-in model into the cache; print its path)"""
from __future__ import annotations

import argparse
import sys
import time

from model.inspect import inspect_psnt
from model.psnt import QuantPolicy, write_psnt
from model.quant import parse_quant


def convert(args: argparse.Namespace) -> None:
    from model.sources import load_model   # heavy importers only when converting
    start = time.perf_counter()
    model = load_model(args.model)
    loaded = time.perf_counter()
    policy = QuantPolicy(default=parse_quant(args.quant), group_size=args.group)
    report = write_psnt(args.out, model, policy)
    done = time.perf_counter()
    worst = max(report.max_error.items(), key=lambda kv: kv[1])
    print(f"wrote {report.path}: {report.file_size / 1e6:.1f} MB, {args.quant}"
          f"{f' group {args.group}' if args.group else ''}; load {loaded - start:.1f} s, "
          f"write {done - loaded:.1f} s; worst quantization error {worst[1]:.4g} in {worst[0]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model", description="ps2llm model tools")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="convert a model (name or path) to PSNT")
    c.add_argument("model", help="built-in name, HF directory, .gguf file or llama2.c checkpoint")
    c.add_argument("out", help="output .psnt path")
    c.add_argument("--quant", default="q8", help="f32, f16 or q8 (default q8)")
    c.add_argument("--group", type=int, default=0, help="q8 group size (0 = one scale per row)")
    i = sub.add_parser("inspect", help="print a PSNT file's header, tensors and CRC status")
    i.add_argument("file")
    f = sub.add_parser("fetch", help="fetch a built-in model (or check a path) and print where it is")
    f.add_argument("model")
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            convert(args)
        elif args.command == "fetch":
            from model.sources import locate_model
            print(locate_model(args.model).path)
        else:
            print(inspect_psnt(args.file))
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
