"""The training loop: AdamW, warmup + cosine schedule, random windows of the
token stream, quantization-aware training from a chosen step on, held-out
perplexity, resumable checkpoints.

A run lives in one directory (`--out`):
    tokenizer.model   the SentencePiece model (trained before, see __main__)
    run.json          the shape and hyperparameters the run was started with
    train.npy / heldout.npy   the token streams (uint16), cut once from the corpus
    ckpt.pt           weights, optimizer, step, elapsed time (written atomically)
    log.jsonl         one line per logged step and per evaluation
Batches depend only on (seed, step), so a resumed run sees the same data as an
uninterrupted one."""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from model.train.model import QUANT_MODES, TinyLlama, TrainShape


@dataclass(frozen=True)
class TrainConfig:
    shape: TrainShape = field(default_factory=TrainShape)
    steps: int = 1000
    batch: int = 6                 # sequences per step
    seq_len: int = 512             # tokens per sequence (<= shape.max_seq_len)
    lr: float = 2e-3
    min_lr_frac: float = 0.1
    warmup: int = 40
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    qat: str = "q8"                # quant mode trained from qat_from on
    qat_from: float = 0.5          # fraction of the steps done in float first
    seed: int = 0
    eval_every: int = 200
    eval_tokens: int = 0           # held-out tokens per evaluation (0 = all)
    ckpt_every: int = 50
    log_every: int = 10

    @staticmethod
    def from_dict(d: dict) -> "TrainConfig":
        d = dict(d)
        shape = TrainShape(**d.pop("shape", {}))
        known = {f.name for f in fields(TrainConfig)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training settings: {', '.join(sorted(unknown))}")
        return TrainConfig(shape=shape, **d)

    def __post_init__(self) -> None:
        if self.qat not in QUANT_MODES:
            raise ValueError(f"qat {self.qat!r} is not one of {', '.join(QUANT_MODES)}")
        if self.seq_len > self.shape.max_seq_len:
            raise ValueError(f"seq_len {self.seq_len} exceeds max_seq_len {self.shape.max_seq_len}")

    def quant_at(self, step: int) -> str:
        return self.qat if step >= int(self.qat_from * self.steps) else "float"

    def lr_at(self, step: int) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        t = (step - self.warmup) / max(1, self.steps - self.warmup)
        return self.lr * (self.min_lr_frac + (1 - self.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


_BOOKKEEPING = ("eval_every", "eval_tokens", "ckpt_every", "log_every")


def same_run(a: TrainConfig, b: TrainConfig) -> bool:
    """Equal in everything that changes the trained weights (how often a run logs,
    evaluates or checkpoints may change on resume)."""
    da, db = asdict(a), asdict(b)
    for k in _BOOKKEEPING:
        da.pop(k), db.pop(k)
    return da == db


def batch_at(stream: np.ndarray, cfg: TrainConfig, step: int,
             device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) of step `step`: random windows from a generator seeded by
    (seed, step)."""
    rng = np.random.default_rng([cfg.seed, step])
    starts = rng.integers(0, len(stream) - cfg.seq_len - 1, size=cfg.batch)
    x = np.stack([stream[s:s + cfg.seq_len + 1] for s in starts]).astype(np.int64)
    x = torch.from_numpy(x).to(device)
    return x[:, :-1], x[:, 1:]


@torch.no_grad()
def perplexity(model: TinyLlama, stream: np.ndarray, seq_len: int, mode: str,
               max_tokens: int | None = None) -> float:
    """exp(mean next-token NLL) over non-overlapping windows of the stream."""
    prev = model.quant
    model.set_quant(mode)
    model.eval()
    n = len(stream) - 1 if max_tokens is None else min(len(stream) - 1, max_tokens)
    nll, count = 0.0, 0
    starts = list(range(0, n, seq_len))
    try:
        for i in range(0, len(starts), 8):      # 8 windows per forward; the last may be short
            group = [(a, min(a + seq_len, n)) for a in starts[i:i + 8]]
            full = [g for g in group if g[1] - g[0] == seq_len]
            parts = ([np.stack([np.asarray(stream[a:b + 1], dtype=np.int64) for a, b in full])] if full else [])
            parts += [np.asarray(stream[a:b + 1], dtype=np.int64)[None] for a, b in group if b - a != seq_len]
            for rows in parts:
                t = torch.from_numpy(rows).to(model.tok_embeddings.device)
                logits = model(t[:, :-1])
                nll += torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), t[:, 1:].reshape(-1), reduction="sum").item()
                count += t[:, 1:].numel()
    finally:
        model.set_quant(prev)
        model.train()
    return math.exp(nll / count)


def save_atomic(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def log_line(out: Path, entry: dict) -> None:
    with open(out / "log.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def make_optimizer(model: TinyLlama, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8)


def load_checkpoint(path: Path) -> tuple[TinyLlama, dict]:
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError) as e:
        raise ValueError(f"{path}: not a readable checkpoint ({e})") from None
    cfg = TrainConfig.from_dict(ck["config"])
    model = TinyLlama(cfg.shape)
    model.load_state_dict(ck["model"])
    model.set_quant(ck.get("quant", "float"))
    return model, ck


def train(out: Path, cfg: TrainConfig, *, max_minutes: float | None = None,
          progress: bool = True, init_from: Path | None = None, device: str = "cpu") -> dict:
    """Train (or resume) the run in `out` on a torch device; returns the final
    evaluation. Checkpoints hold CPU tensors, whatever the device."""
    from tqdm import tqdm

    train_ids = np.load(out / "train.npy", mmap_mode="r")
    held_ids = np.load(out / "heldout.npy", mmap_mode="r")
    torch.manual_seed(cfg.seed)
    model = TinyLlama(cfg.shape)
    opt = make_optimizer(model, cfg)
    step, elapsed, tokens = 0, 0.0, 0
    ckpt = out / "ckpt.pt"
    if ckpt.is_file():
        ck = torch.load(ckpt, map_location="cpu", weights_only=False)
        if not same_run(TrainConfig.from_dict(ck["config"]), cfg):
            raise ValueError(f"{ckpt}: the checkpoint was made with other settings than {out / 'run.json'}")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, elapsed, tokens = ck["step"], ck["elapsed"], ck["tokens"]
    elif init_from is not None:       # fine-tune (e.g. ternary QAT) from another run's weights
        model.load_state_dict(load_checkpoint(init_from)[0].state_dict())
    model.to(device)
    for st in opt.state.values():         # a resumed optimizer's moments follow the model
        for k, v in st.items():
            if torch.is_tensor(v) and v.dim():
                st[k] = v.to(device)

    def checkpoint() -> None:
        save_atomic({"config": asdict(cfg), "model": {k: v.cpu() for k, v in model.state_dict().items()},
                     "optimizer": opt.state_dict(),
                     "step": step, "elapsed": elapsed, "tokens": tokens,
                     "quant": cfg.quant_at(max(step - 1, 0))}, ckpt)

    def evaluate() -> dict:
        res = {"step": step, "tokens": tokens, "elapsed_s": round(elapsed, 1)}
        for mode in ("float", "q8", "ternary") if cfg.qat == "ternary" else ("float", "q8"):
            res[f"ppl_{mode}"] = round(perplexity(model, held_ids, cfg.seq_len, mode,
                                                  cfg.eval_tokens or None), 4)
        log_line(out, {"eval": res})
        return res

    start_step = step
    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, dynamic_ncols=True, mininterval=2.0)
    t_last, tok_last = time.perf_counter(), 0
    model.train()
    while step < cfg.steps:
        t0 = time.perf_counter()
        model.set_quant(cfg.quant_at(step))
        for g in opt.param_groups:
            g["lr"] = cfg.lr_at(step)
        x, y = batch_at(train_ids, cfg, step, device)
        loss = model.loss(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        tokens += x.numel()
        tok_last += x.numel()
        elapsed += time.perf_counter() - t0
        now = time.perf_counter()
        rate = tok_last / max(now - t_last, 1e-9)
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{rate:.0f}", q=model.quant)
        if step % cfg.log_every == 0 or step == cfg.steps:
            log_line(out, {"step": step, "loss": round(loss.item(), 4), "lr": cfg.lr_at(step - 1),
                           "quant": model.quant, "tok_s": round(rate), "tokens": tokens,
                           "elapsed_s": round(elapsed, 1)})
            t_last, tok_last = now, 0
        if step % cfg.ckpt_every == 0:
            checkpoint()
        if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
            bar.write(f"step {step}: held-out {evaluate()}")
        if max_minutes is not None and elapsed > max_minutes * 60 and step < cfg.steps:
            checkpoint()
            bar.close()
            print(f"stopped after {elapsed / 60:.1f} min at step {step}/{cfg.steps}; "
                  f"run the same command again to resume")
            return {"step": step, "stopped": True}
    bar.close()
    if step > start_step or not ckpt.is_file():
        checkpoint()
    res = evaluate()
    (out / "eval.json").write_text(json.dumps(res, indent=2) + "\n")
    return res


def prepare_run(out: Path, cfg_dict: dict, samples, tokenizer: Path | None) -> TrainConfig:
    """Create the run directory once: run.json, tokenizer.model, token streams."""
    from model.train import corpus
    from model.train.tokenizer import train_sentencepiece

    cfg = TrainConfig.from_dict(cfg_dict)
    out.mkdir(parents=True, exist_ok=True)
    run_json = out / "run.json"
    if run_json.is_file():
        saved = TrainConfig.from_dict(json.loads(run_json.read_text()))
        if not same_run(saved, cfg):
            raise ValueError(f"{run_json}: the run was started with other settings; "
                             "use a new directory or the same config")
        return cfg
    train, held = corpus.split(samples)
    tok_path = out / "tokenizer.model"
    sp = tokenizer.read_bytes() if tokenizer else train_sentencepiece(
        corpus.tokenizer_text(train), cfg.shape.vocab_size, cfg.seed)
    tok_path.write_bytes(sp)
    np.save(out / "train.npy", corpus.token_stream(train, sp))
    np.save(out / "heldout.npy", corpus.token_stream(held, sp))
    run_json.write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    return cfg
