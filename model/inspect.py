"""Human-readable summary of a PSNT file: header, tensors, sizes, CRC status."""
from __future__ import annotations

from model.psnt import VERSION, PsntError, read_psnt
from model.vocab import VocabKind


def _group(psnt, role) -> str:
    """':G' for a q8/q4/q4m/ternary role whose tensors use groups of G, '' for one scale per row."""
    groups = {e.group_size for e in psnt.entries if e.role == role and e.group_size and e.group_size != e.cols}
    return "".join(f":{g}" for g in sorted(groups))


def inspect_psnt(path: str) -> str:
    psnt = read_psnt(path)
    cfg = psnt.config
    v = psnt.vocab
    lines = [
        f"{path}: PSNT v{VERSION}, {psnt.file_size} bytes ({psnt.file_size // 2048} sectors), model {psnt.name!r}",
        f"  dim {cfg.dim}, hidden {cfg.hidden_dim}, layers {cfg.n_layers}, heads {cfg.n_heads}"
        f" (kv {cfg.n_kv_heads}, head_dim {cfg.head_dim}), vocab {cfg.vocab_size},"
        f" context {cfg.max_seq_len}",
        f"  norm_eps {cfg.norm_eps:g}, rope_theta {cfg.rope_theta:g},"
        f" {'tied' if cfg.tie_embeddings else 'untied'} embeddings",
        "  quant policy: " + ", ".join(f"{r.name.lower()}={q.name.lower()}{_group(psnt, r)}"
                                       for r, q in psnt.role_quant.items()),
        f"  tokenizer: {VocabKind(v.kind).name.lower()}, {len(v)} tokens, {len(v.merges)} merges,"
        f" bos {v.bos_id}, eos {v.eos_id}, chat template {'yes' if v.chat_template else 'no'}",
        f"  {'tensor':<28} {'quant':<7} {'shape':>12} {'group':>6} {'offset':>11} {'bytes':>10}  crc",
    ]
    bad = 0
    for e in psnt.entries:
        try:
            psnt.raw(e)
            status = "ok"
        except PsntError:
            status, bad = "BAD", bad + 1
        lines.append(f"  {e.name:<28} {e.quant.name.lower():<7} {f'{e.rows}x{e.cols}':>12}"
                     f" {e.group_size:>6} {e.offset:>11} {e.size:>10}  {status}")
    lines.append(f"  {len(psnt.entries)} tensors, {bad} with CRC errors")
    if bad:
        raise PsntError("\n".join(lines) + f"\n{path}: {bad} tensor(s) fail their CRC check")
    return "\n".join(lines)
