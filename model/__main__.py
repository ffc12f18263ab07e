"""python -m model convert MODEL OUT [--quant q8[:G][,ROLE=QUANT[:G]...]] [--group N] [--ram 32M --context N --kv f32 --device ps2-cd]
   python -m model plan PSNT|MODEL [--ram 32M] [--context N] [--kv f32] [--device ps2-cd]
                        [--elf BOOT.elf] [--png out.png]
   python -m model inspect FILE.psnt
   python -m model fetch MODEL      (download a built-in model into the cache; print its path)"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from model.atomic import write_text_atomic
from model.inspect import inspect_psnt
from model.kv_cache import KV_QUANTS
from model.psnt import QuantPolicy, write_psnt

QUANT_HELP = ("f32, f16, q8, q4, q4m or ternary, with an optional :GROUP, then optional per-role "
              "overrides ROLE=QUANT[:GROUP], ROLE one of embed, attn, ffn, output, wq..w3; "
              "e.g. 'q8,ffn=q4:32' (default q8)")
PLAN_OPTIONS = ("ram", "context", "kv", "device")


def plan_path(psnt_path: str | os.PathLike) -> Path:
    """OUT.plan.json beside OUT.psnt (build/x/model.psnt -> build/x/model.plan.json)."""
    return Path(psnt_path).with_suffix(".plan.json")


def _plan_kwargs(args: argparse.Namespace) -> dict:
    from model.plan import PS2_RAM, parse_bytes
    return dict(ram_bytes=parse_bytes(args.ram) if args.ram else PS2_RAM,
                context=args.context or None, kv_quant=args.kv or "f32",
                device=args.device or "ps2-cd")


def convert(args: argparse.Namespace) -> None:
    from model.sources import load_model   # heavy importers only when converting
    start = time.perf_counter()
    model = load_model(args.model)
    loaded = time.perf_counter()
    policy = QuantPolicy.parse(args.quant, args.group)
    plan = None
    if any(getattr(args, o) is not None for o in PLAN_OPTIONS):
        from model.plan import make_plan
        from model.vocab_section import vocab_to_section
        plan = make_plan(model.config, policy, tokenizer_bytes=len(vocab_to_section(model.vocab)),
                         model=model.name, **_plan_kwargs(args))
    # A failed plan has raised by now: nothing is written.
    report = write_psnt(args.out, model, policy, order=list(plan.disc_order) if plan else None)
    if plan:
        try:
            write_text_atomic(plan_path(args.out), plan.to_json())
        except BaseException:
            os.unlink(args.out)
            raise
    done = time.perf_counter()
    worst = max(report.max_error.items(), key=lambda kv: kv[1])
    print(f"wrote {report.path}: {report.file_size / 1e6:.1f} MB, {policy.describe()}; load {loaded - start:.1f} s, "
          f"write {done - loaded:.1f} s; worst quantization error {worst[1]:.4g} in {worst[0]}")
    if plan:
        print(f"wrote {plan_path(args.out)}: {plan.resident_bytes / 1e6:.2f} MB resident, "
              f"{plan.streamed_bytes_per_token / 1e6:.2f} MB streamed per token, "
              f"{plan.seeks_per_token} seeks per token (context {plan.context}, KV {plan.kv_quant}, "
              f"RAM {plan.ram_bytes >> 20} MiB)")


def plan_command(args: argparse.Namespace) -> None:
    from model.cost import ComputeModel, disassemble
    from model.plan import context_trade, make_plan
    from model.plan_report import format_report, predict, write_timeline_png
    source = args.source
    if source.endswith(".psnt") and os.path.isfile(source):
        from model.psnt import read_psnt
        psnt = read_psnt(source)
        cfg, shapes, name, tok = psnt.config, psnt.entries, psnt.name, psnt.tokenizer_size
    else:
        from model.sources import load_model
        from model.vocab_section import vocab_to_section
        model = load_model(source)
        cfg, name = model.config, model.name
        shapes = QuantPolicy.parse(args.quant, args.group)
        tok = len(vocab_to_section(model.vocab))
    kwargs = dict(_plan_kwargs(args), tokenizer_bytes=tok, model=name)
    plan = make_plan(cfg, shapes, **kwargs)
    funcs = disassemble(args.elf) if args.elf else None
    compute = ComputeModel(cfg, funcs)
    position = args.position if args.position is not None else plan.context // 2
    position = min(position, plan.context - 1)
    times = predict(plan, cfg, compute, position)
    contexts = sorted({64, 128, 256, 512, 1024, 2048, plan.context})
    kv_quants = list(dict.fromkeys([plan.kv_quant, *KV_QUANTS]))
    trade_kwargs = {k: v for k, v in kwargs.items() if k not in ("context", "kv_quant")}
    trade = context_trade(cfg, shapes, contexts, kv_quants, **trade_kwargs)
    print(format_report(plan, times, trade, compute, args.elf, position), end="")
    if args.png:
        device = plan.device if plan.device in times else next(iter(times))
        write_timeline_png(args.png, times[device], plan)
        print(f"wrote {args.png}: one token on {device}")


def _add_plan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ram", default=None, help="EE RAM, e.g. 32M (default: the PS2's 32 MiB)")
    p.add_argument("--context", type=int, default=None,
                   help="KV cache positions (default 512, at most the model's max_seq_len)")
    p.add_argument("--kv", default=None, choices=KV_QUANTS, help="KV cache precision (default f32)")
    p.add_argument("--device", default=None, help="device profile to plan for (default ps2-cd)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model", description="ps2llm model tools")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="convert a model (name or path) to PSNT")
    c.add_argument("model", help="built-in name, HF directory, .gguf file or llama2.c checkpoint")
    c.add_argument("out", help="output .psnt path")
    c.add_argument("--quant", default="q8", help=QUANT_HELP)
    c.add_argument("--group", type=int, default=0,
                   help="group size of the default quant type when --quant gives none (0 = one scale per row)")
    _add_plan_options(c)
    p = sub.add_parser("plan", help="print the residency plan and predicted times; write a timeline PNG")
    p.add_argument("source", help="a .psnt file, or a model (built-in name or path) with --quant/--group")
    p.add_argument("--quant", default="q8", help="when planning a model, not a PSNT (default q8)")
    p.add_argument("--group", type=int, default=0, help="when planning a model, not a PSNT")
    _add_plan_options(p)
    p.add_argument("--elf", default=None, help="BOOT.elf whose kernels give the instruction counts")
    p.add_argument("--png", default=None, help="write a timeline of one token here")
    p.add_argument("--position", type=int, default=None,
                   help="token position for attention cost (default context/2)")
    i = sub.add_parser("inspect", help="print a PSNT file's header, tensors and CRC status")
    i.add_argument("file")
    f = sub.add_parser("fetch", help="fetch a built-in model (or check a path) and print where it is")
    f.add_argument("model")
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            convert(args)
        elif args.command == "plan":
            plan_command(args)
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
