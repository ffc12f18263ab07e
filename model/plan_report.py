"""The `python -m model plan` / `scons plan` report: what stays, what streams,
buffer sizes, bytes and seeks per token, predicted seconds per token on every
device profile with a stage breakdown, the context-vs-resident trade, and a PNG
timeline of one token (reads and compute on two lanes)."""
from __future__ import annotations

from pathlib import Path

from model.atomic import atomic_output
from model.config import ModelConfig
from model.cost import CPI, CPI_RANGE, ComputeModel, TokenTime, simulate
from model.devices import DEVICES, PS2_DEVICES
from model.plan import Plan, TradeRow

MB = 1e6


def _mb(n: float) -> str:
    return f"{n / MB:.2f} MB"


def _group(plan: Plan, resident: bool) -> list[str]:
    """Tensors collapsed by role: 'wq x30 (layers 0-29) 10.23 MB'."""
    groups: dict[str, list] = {}
    for t in plan.tensors:
        if t.resident == resident:
            groups.setdefault(t.role, []).append(t)
    lines = []
    for role, ts in groups.items():
        layers = [t.layer for t in ts if t.layer is not None]
        where = ""
        if layers:
            where = (f" layers {_ranges(layers)}")
        size = sum(t.bytes for t in ts)
        extra = ""
        if not resident:
            blocks = {t.block_rows for t in ts}
            per_tok = sum(t.bytes_per_token for t in ts)
            extra = (f", block {'/'.join(str(b) for b in sorted(blocks))} rows, "
                     f"{_mb(per_tok)}/token in {sum(t.reads_per_token for t in ts)} reads")
            if role == "tok_embeddings":
                extra += " (one row per token" + (" + whole as the output)" if
                                                   ts[0].bytes_per_token > ts[0].bytes else ")")
        lines.append(f"    {role:15} x{len(ts):<3} {ts[0].quant:4} {_mb(size):>10}{where}{extra}")
    return lines or ["    (none)"]


def _ranges(xs: list[int]) -> str:
    xs = sorted(xs)
    out, start, prev = [], xs[0], xs[0]
    for x in xs[1:] + [None]:
        if x is not None and x == prev + 1:
            prev = x
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if x is not None:
            start = prev = x
    return ",".join(out)


def format_report(plan: Plan, times: dict[str, TokenTime], trade: list[TradeRow],
                  compute: ComputeModel, elf: str | None, position: int) -> str:
    r = plan.reservations
    lines = [
        f"plan for {plan.model or 'model'}: RAM {plan.ram_bytes / 2**20:g} MiB, context {plan.context}, "
        f"KV {plan.kv_quant}, planned for {plan.device}",
        f"  arena {plan.arena_bytes} B = RAM - kernel 1 MiB - ELF reservation "
        f"{plan.elf_reserve_bytes / 2**20:g} MiB",
        "  arena use: " + ", ".join(f"{k} {_mb(v)}" for k, v in r.items() if v)
        + f", free {_mb(plan.free_bytes)}",
        f"  resident: {_mb(plan.resident_bytes)} read once at start",
    ]
    lines += _group(plan, True)
    lines.append(f"  streamed: {_mb(plan.streamed_bytes_per_token)} per token, "
                 f"{plan.seeks_per_token} seeks, {plan.reads_per_token} reads; "
                 f"two stream buffers of {plan.stream_buffer_bytes} B"
                 + (f", embedding row buffer {plan.embedding_row_buffer_bytes} B"
                    if plan.embedding_row_buffer_bytes else ""))
    lines += _group(plan, False)
    if plan.fully_resident:
        lines.append("  fully resident: 0 bytes read per token after loading")
    src = f"kernel instructions from {elf}" if elf else "no ELF given: compute from formulas"
    lines.append(f"\npredicted seconds per token at position {position} ({src}; CPI {CPI}, "
                 f"range {CPI_RANGE[0]}-{CPI_RANGE[1]}; reads overlap compute on the IOP):")
    lines.append(f"  {'device':11} {'MB/s':>6} {'seek':>6} {'disc s':>8} {'EE s':>7} "
                 f"{'EE range':>13} {'s/token':>8} {'tok/s':>7}  limited by")
    for name, tt in times.items():
        d = DEVICES[name]
        lim = "disc" if tt.disc_seconds > tt.compute_seconds else "EE"
        lines.append(f"  {name:11} {d.read_bytes_per_s / MB:6.2f} {d.seek_s * 1e3:4.0f}ms "
                     f"{tt.disc_seconds:8.2f} {tt.compute_seconds:7.2f} "
                     f"{tt.compute_range[0]:6.2f}-{tt.compute_range[1]:<6.2f} {tt.seconds:8.2f} "
                     f"{1 / tt.seconds:7.3f}  {lim}{' (estimate)' if d.estimate else ''}")
    any_tt = next(iter(times.values()))
    total = sum(any_tt.per_stage.values())
    lines.append("  EE compute by stage (all layers): " + ", ".join(
        f"{k} {v:.2f} s ({100 * v / total:.0f}%)"
        for k, v in sorted(any_tt.per_stage.items(), key=lambda kv: -kv[1]) if v / total >= 0.005))
    formula = sorted(k for k, m in compute.methods.items() if m == "formula")
    if formula:
        lines.append("  from formulas, not the ELF: " + ", ".join(formula))
    if compute.funcs:
        from model.cost import twin_counts
        for name, c, mmi in twin_counts(compute.funcs):
            lines.append(f"  {name}: {mmi:.0f} instructions a row (MMI), C twin {c:.0f} ({c / mmi:.1f}x)")
        lines += _attention_lines(plan, times, compute, position)
    lines.append(f"\ncontext vs resident weights (RAM {plan.ram_bytes / 2**20:g} MiB, {plan.device}):")
    lines.append(f"  {'context':>7} {'KV':>4} {'KV MB':>8} {'resident MB':>12} {'MB/token':>9} "
                 f"{'seeks':>5} {'disc s/token':>12}")
    for row in trade:
        if row.error:
            lines.append(f"  {row.context:7} {row.kv_quant:>4} {row.kv_bytes / MB:8.2f}  does not fit")
            continue
        mark = " <- this plan" if (row.context, row.kv_quant) == (plan.context, plan.kv_quant) else ""
        lines.append(f"  {row.context:7} {row.kv_quant:>4} {row.kv_bytes / MB:8.2f} "
                     f"{row.resident_bytes / MB:12.2f} {row.streamed_bytes_per_token / MB:9.2f} "
                     f"{row.seeks_per_token:5} {row.disc_seconds_per_token:12.2f}{mark}")
    return "\n".join(lines) + "\n"


def _attention_lines(plan: Plan, times: dict[str, TokenTime], compute: ComputeModel,
                     position: int) -> list[str]:
    """attention.c's VU0 loops against their C twins, and the whole token with every
    kernel's C twin (no MMI, no VU0) against the kernels the PS2 runs."""
    from model.cost import attention_counts
    cfg = compute.cfg
    n_q = cfg.n_heads // cfg.n_kv_heads
    vu0, c = (attention_counts(compute.funcs, cfg.head_dim, n_q, v) for v in ("vu0", "c"))
    lines = []
    if vu0 and c:
        lines.append(f"  attention.c per position and kv head ({n_q} query heads of {cfg.head_dim}): "
                     f"scores {vu0[0]:.0f} instructions (VU0), C twin {c[0]:.0f}; "
                     f"values {vu0[1]:.0f} (VU0), C twin {c[1]:.0f}")
    device = plan.device if plan.device in times else next(iter(times))
    fast = times[device]
    slow = predict(plan, cfg, ComputeModel(cfg, compute.funcs, kernels="c"), position, (device,))[device]
    lines.append(f"  on {device}: {1 / fast.seconds:.2f} tok/s with the MMI/VU0 kernels "
                 f"(EE {fast.compute_seconds:.3f} s), {1 / slow.seconds:.2f} tok/s with their C twins "
                 f"(EE {slow.compute_seconds:.3f} s)")
    return lines


def predict(plan: Plan, cfg: ModelConfig, compute: ComputeModel, position: int,
            devices=PS2_DEVICES) -> dict[str, TokenTime]:
    stages = compute.stages(plan, position)
    return {name: simulate(plan, stages, DEVICES[name]) for name in devices}


def write_timeline_png(path: str | Path, tt: TokenTime, plan: Plan) -> None:
    """One token on two lanes (disc reads, EE compute), written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"wq": "#4e79a7", "wk": "#4e79a7", "wv": "#4e79a7", "wo": "#59a14f",
               "w1": "#f28e2b", "w3": "#f28e2b", "w2": "#e15759", "attention": "#b07aa1",
               "output": "#76b7b2", "tok_embeddings": "#76b7b2"}
    fig, ax = plt.subplots(figsize=(14, 3.2))
    for lane, y in (("read", 1), ("compute", 0)):
        for e in tt.events:
            if e.lane != lane or e.end <= e.start:
                continue
            kind = e.label.split(".")[-1].replace("seek + ", "")
            ax.broken_barh([(e.start, e.end - e.start)], (y - 0.35, 0.7),
                           facecolors=colours.get(kind, "#bab0ac"), edgecolor="none")
            if "seek" in e.label:
                ax.axvline(e.start, ymin=0.5, ymax=1.0, color="k", lw=0.8)
    ax.set_yticks([0, 1], ["EE compute", f"{tt.device} reads"])
    ax.set_xlabel("seconds")
    ax.set_title(f"{plan.model or 'model'}: one token on {tt.device} — {tt.seconds:.2f} s "
                 f"(disc {tt.disc_seconds:.2f} s, EE {tt.compute_seconds:.2f} s); "
                 f"{plan.streamed_bytes_per_token / MB:.1f} MB, {plan.seeks_per_token} seeks/token; "
                 f"black lines: seeks", fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in
               ("#4e79a7", "#59a14f", "#f28e2b", "#e15759", "#b07aa1", "#76b7b2", "#bab0ac")]
    ax.legend(handles, ["wq/wk/wv", "wo", "w1/w3", "w2", "attention", "output/embedding", "other"],
              loc="upper right", fontsize=7, ncol=7)
    ax.set_ylim(-0.6, 1.9)
    fig.tight_layout()
    try:
        with atomic_output(path, suffix=".tmp.png") as tmp:     # savefig picks PNG by the suffix
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
