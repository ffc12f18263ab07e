"""python -m codegen PSNT OUTDIR [--context N]: generate model_config.gen.h,
kernels.gen.h and kernels.gen.c for the model in PSNT."""
from __future__ import annotations

import argparse
import sys

from codegen.kernels import generate
from codegen.spec import DEFAULT_CONTEXT, spec_from_psnt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("psnt", help="PSNT file (its header and table are read)")
    parser.add_argument("outdir", help="directory for the generated files")
    parser.add_argument("--context", type=int, default=None,
                        help=f"KV cache positions (default {DEFAULT_CONTEXT}, at most the model's max_seq_len)")
    args = parser.parse_args(argv)
    try:
        spec = spec_from_psnt(args.psnt, args.context)
        generate(spec, args.outdir)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
