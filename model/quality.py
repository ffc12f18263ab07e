"""Quality of each quant policy: perplexity on held-out text, top-1 agreement with
f32, and the bytes each token streams from the disc (docs/RESULTS.md).

    python -m model.quality [--model smollm2-135m] [--tokens 256] [--windows 2]
                            [--out docs/RESULTS.md]

The forward pass here is teacher-forced and batched over a whole window (numpy
matrix products), not the token-by-token bit-exact reference, which is too slow
for thousands of positions. It uses the runtime's arithmetic for the matrices:
each token's input vector is quantized to int16 with one scale (as
model/quant.quantize_activation), the group sums of q_x * q_w are exact
integers (f32 or f64 products of small integers, exact), then scaled per group
in f32 and summed in group order. Everything else is f32, as the runtime
computes it, up to summation order.

Held-out text (both offline, fixed slices):
- "stories": responses from /work/shared/corpus/smollm2-simple.jsonl.gz. That
  corpus was written by SmolLM2-135M-Instruct itself, so its perplexity is low and
  flatters the model; it still shows what quantization costs on the text the
  model is used for.
- "GPL-3": the text of the GNU GPL v3 (/usr/share/common-licenses/GPL-3, shipped by
  Debian): formal English the model did not write."""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.plan import PS2_RAM, make_plan
from model.psnt import QuantPolicy
from model.quant import ACT_LEVELS, GROUPED, QUANTIZERS, QuantizedQ8, QuantType, quantize_symmetric
from model.tokenizer import Tokenizer
from model.vocab_section import vocab_to_section
from model.weights import NORM_ROLES, LlamaModel, Role, execution_order, tensor_name

F32 = np.float32
CORPUS = Path("/work/shared/corpus/smollm2-simple.jsonl.gz")
GPL3 = Path("/usr/share/common-licenses/GPL-3")
# "q4:32,embed=q8": every layer matrix q4, the embedding q8 (with a tied output, as in
# SmolLM2, the same tensors as "q8,attn=q4:32,ffn=q4:32").
POLICIES = ("f32", "f16", "q8", "q8:64", "q4:32", "q4:64", "q4:32,embed=q8", "q4:64,embed=q8",
            "q4m:32", "q4m:64", "q4m:32,embed=q8", "ternary", "q8,ffn=q4:32", "q8,ffn=q4m:32",
            "q8,ffn=ternary", "~q8", "~q4:32", "~q4m:32")
# "~POLICY": the same weights dequantized, with f32 activations: not what the runtime
# computes, a diagnostic that separates weight error from integer-activation error.


def held_out_texts(corpus_skip: int = 3000) -> dict[str, str]:
    """name -> text. The stories are the corpus's last samples (from `corpus_skip`
    on), so a model trained on its head (docs/TRAINING.md) is not scored on them."""
    texts = {}
    if CORPUS.exists():
        with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
            lines = [json.loads(line)["response"] for line in f]
        texts["stories"] = "\n\n".join(lines[corpus_skip:])
    if GPL3.exists():
        texts["GPL-3"] = GPL3.read_text(encoding="utf-8")
    if not texts:
        raise FileNotFoundError(f"no held-out text: neither {CORPUS} nor {GPL3} exists")
    return texts


# ----------------------------------------------------------------------------- weights

def quantize_model(model: LlamaModel, policy: QuantPolicy,
                   f32_activations: bool = False) -> dict[str, np.ndarray | QuantizedQ8]:
    """Each tensor as the PSNT writer stores it (f16 rounded back to f32);
    f32_activations: quantized tensors dequantized to f32 (a diagnostic)."""
    cfg = model.config
    out: dict[str, np.ndarray | QuantizedQ8] = {}
    for role, layer in execution_order(cfg):
        name = tensor_name(role, layer)
        w = np.asarray(model.weights[name], dtype=F32)
        if role in NORM_ROLES:
            out[name] = w.reshape(-1)
            continue
        qt = policy.quant_for(role)
        if qt == QuantType.F16:
            out[name] = w.astype(np.float16).astype(F32)
        elif qt in GROUPED:
            quant = QUANTIZERS[qt](w, policy.group_for(qt, w.shape[1], role))[0]
            out[name] = quant.dequantize() if f32_activations else prepare(quant)
        else:
            out[name] = w
    return out


def prepare(quant: QuantizedQ8) -> QuantizedQ8:
    """Cache the integer weights as floats, (ngroups, group, rows), for matmul: f32
    when every group sum of q_x * q_w is below 2^24 (so f32 products and sums are
    exact, in any order), else f64 (exact below 2^53)."""
    rows, cols = quant.q.shape
    g = quant.group_size
    qmax = {QuantType.Q8: 127, QuantType.Q4: 8, QuantType.Q4M: 15, QuantType.TERNARY: 1}[quant.quant]
    dtype = np.float32 if ACT_LEVELS * qmax * g < (1 << 24) else np.float64
    quant.wf = np.ascontiguousarray(quant.q.reshape(rows, cols // g, g).transpose(1, 2, 0), dtype=dtype)
    return quant


def matmul(w: np.ndarray | QuantizedQ8, x: np.ndarray, block: int = 8192) -> np.ndarray:
    """X (T, cols) @ W.T -> (T, rows), with the runtime's arithmetic for quantized W:
    int16 activations per row of X, exact integer group sums, scaled per group in
    f32 (q4m: plus the group's sum of activations times its minimum) and summed in
    group order, times the activation scale."""
    if not isinstance(w, QuantizedQ8):
        return x @ w.T
    xq, xs = quantize_activations(x)
    rows, cols = w.q.shape
    ng, g = cols // w.group_size, w.group_size
    xg = np.ascontiguousarray(xq.reshape(len(x), ng, g).transpose(1, 0, 2), dtype=w.wf.dtype)
    xsum = xq.reshape(len(x), ng, g).sum(axis=2, dtype=np.int64).astype(F32)      # (T, ng)
    out = np.zeros((len(x), rows), F32)
    for r0 in range(0, rows, block):
        sums = np.matmul(xg, w.wf[:, :, r0:r0 + block]).astype(F32)     # (ng, T, block) exact
        acc = out[:, r0:r0 + block]
        for k in range(ng):
            term = sums[k] * w.scales[r0:r0 + block, k]
            if w.mins is not None:
                term = term + xsum[:, k:k + 1] * w.mins[r0:r0 + block, k]
            acc += term
    return out * xs[:, None]


def quantize_activations(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, n) f32 -> int16 (T, n) and f32 scales (T,): model/quant.quantize_activation
    on each row, vectorized (the same f32 operations)."""
    q, xs = quantize_symmetric(x, ACT_LEVELS)
    return q.astype(np.int16), xs[:, 0]


def embed(w: np.ndarray | QuantizedQ8, tokens: np.ndarray) -> np.ndarray:
    if not isinstance(w, QuantizedQ8):
        return w[tokens]
    return w.dequantize(tokens)


# ----------------------------------------------------------------------------- forward

def rmsnorm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    ms = (x * x).mean(axis=-1, keepdims=True, dtype=F32)
    return (x / np.sqrt(ms + F32(eps))) * w


def forward_window(cfg, w: dict, tokens: np.ndarray) -> np.ndarray:
    """Logits (T, vocab) of every position of one window, causal."""
    T, hd = len(tokens), cfg.head_dim
    half = hd // 2
    inv = (F32(cfg.rope_theta) ** (-np.arange(half, dtype=F32) * F32(2) / F32(hd))).astype(F32)
    ang = np.arange(T, dtype=F32)[:, None] * inv[None, :]
    cos, sin = np.cos(ang).astype(F32), np.sin(ang).astype(F32)

    def rope(v: np.ndarray) -> np.ndarray:   # (T, heads, hd), rotate-half
        a, b = v[..., :half], v[..., half:]
        c, s = cos[:, None, :], sin[:, None, :]
        return np.concatenate([a * c - b * s, a * s + b * c], axis=-1)

    mask = np.triu(np.full((T, T), -np.inf, F32), 1)
    rep = cfg.n_heads // cfg.n_kv_heads
    x = embed(w[tensor_name(Role.TOK_EMBEDDINGS)], tokens).astype(F32)
    for layer in range(cfg.n_layers):
        def W(role):
            return w[tensor_name(role, layer)]
        h = rmsnorm(x, W(Role.ATTENTION_NORM), cfg.norm_eps)
        q = rope(matmul(W(Role.WQ), h).reshape(T, cfg.n_heads, hd))
        k = rope(matmul(W(Role.WK), h).reshape(T, cfg.n_kv_heads, hd))
        v = matmul(W(Role.WV), h).reshape(T, cfg.n_kv_heads, hd)
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
        att = np.einsum("thd,shd->hts", q, k) * F32(1.0 / np.sqrt(hd)) + mask
        att = np.exp(att - att.max(axis=-1, keepdims=True))
        att /= att.sum(axis=-1, keepdims=True)
        o = np.einsum("hts,shd->thd", att, v).reshape(T, cfg.n_heads * hd)
        x = x + matmul(W(Role.WO), o)
        h = rmsnorm(x, W(Role.FFN_NORM), cfg.norm_eps)
        gate = matmul(W(Role.W1), h)
        up = matmul(W(Role.W3), h)
        x = x + matmul(W(Role.W2), (gate / (F32(1) + np.exp(-gate))) * up)
    x = rmsnorm(x, w[tensor_name(Role.NORM)], cfg.norm_eps)
    out = w[tensor_name(Role.TOK_EMBEDDINGS if cfg.tie_embeddings else Role.OUTPUT)]
    return matmul(out, x)


@dataclass
class Score:
    nll: float         # summed negative log-likelihood of the next token
    n: int             # predicted positions
    top1: np.ndarray   # argmax at each position


def score(cfg, w: dict, windows: list[np.ndarray]) -> Score:
    nll, n, top1 = 0.0, 0, []
    for tokens in windows:
        logits = forward_window(cfg, w, tokens).astype(np.float64)
        lse = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
        nll += float((lse[:-1] - logits[np.arange(len(tokens) - 1), tokens[1:]]).sum())
        n += len(tokens) - 1
        top1.append(logits[:-1].argmax(-1))
    return Score(nll, n, np.concatenate(top1))


# ----------------------------------------------------------------------------- table

def run(model: LlamaModel, policies: list[str], n_tokens: int, n_windows: int,
        log=print) -> str:
    cfg = model.config
    tok = Tokenizer(model.vocab)
    texts = held_out_texts()
    windows: dict[str, list[np.ndarray]] = {}
    for name, text in texts.items():
        ids = np.array(tok.encode(text[:n_tokens * n_windows * 8], add_bos=False), dtype=np.int64)
        if len(ids) < n_tokens * n_windows:
            raise ValueError(f"held-out text {name} has only {len(ids)} tokens")
        windows[name] = [ids[i * n_tokens:(i + 1) * n_tokens] for i in range(n_windows)]
    tok_bytes = len(vocab_to_section(model.vocab))
    results = []
    ref: dict[str, Score] = {}
    for spec in policies:
        start = time.perf_counter()
        policy = QuantPolicy.parse(spec.lstrip("~"))
        w = quantize_model(model, policy, f32_activations=spec.startswith("~"))
        scores = {name: score(cfg, w, win) for name, win in windows.items()}
        if not ref:
            ref = scores
        plan = make_plan(cfg, policy, ram_bytes=PS2_RAM, context=512, tokenizer_bytes=tok_bytes,
                         model=model.name)
        results.append((spec, scores, plan))
        log(f"{spec}: " + ", ".join(f"{n} ppl {np.exp(s.nll / s.n):.3f}" for n, s in scores.items())
            + f" ({time.perf_counter() - start:.0f} s)")
        del w
    names = list(windows)
    head = ("| QUANT | " + " | ".join(f"ppl {n} | Δ vs f32 | top-1 = f32 ({n})" for n in names)
            + " | weights MB | resident MB | streamed MB/token | disc s/token (ps2-cd) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for spec, scores, plan in results:
        cells = [f"`{spec}`"]
        for n in names:
            s, r = scores[n], ref[n]
            ppl, ppl0 = np.exp(s.nll / s.n), np.exp(r.nll / r.n)
            cells += [f"{ppl:.3f}", f"{100 * (ppl / ppl0 - 1):+.2f}%",
                      f"{100 * float((s.top1 == r.top1).mean()):.1f}%"]
        weights = sum(t.bytes for t in plan.tensors)
        cells += [f"{weights / 1e6:.1f}", f"{plan.resident_bytes / 1e6:.1f}",
                  f"{plan.streamed_bytes_per_token / 1e6:.2f}", f"{plan.disc_seconds_per_token:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.quality", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--tokens", type=int, default=256, help="tokens per window (default 256)")
    p.add_argument("--windows", type=int, default=2, help="windows per held-out text (default 2)")
    p.add_argument("--policies", default=";".join(POLICIES), help="QUANT values separated by ';'")
    p.add_argument("--out", default=None, help="write the table into this Markdown file")
    args = p.parse_args(argv)
    from model.sources import load_model
    start = time.perf_counter()
    model = load_model(args.model)
    policies = [s for s in args.policies.split(";") if s]
    if policies[0] != "f32":
        policies.insert(0, "f32")
    table = run(model, policies, args.tokens, args.windows, log=lambda s: print(s, file=sys.stderr))
    took = time.perf_counter() - start
    cmd = "python -m model.quality " + " ".join(argv if argv is not None else sys.argv[1:])
    text = RESULTS_TEMPLATE.format(
        model=args.model, cmd=cmd.strip(), date=time.strftime("%Y-%m-%d"), tokens=args.tokens,
        windows=args.windows, machine=f"{platform.machine()}, {os.cpu_count()} CPUs",
        took=took, table=table)
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


RESULTS_TEMPLATE = """# Quality of the quant policies

Generated by `{cmd}` on {date} ({machine}, {took:.0f} s); rerun it to regenerate
this file. Model: {model}. See model/quality.py for the method.

Each held-out text gives {windows} windows of {tokens} tokens, scored teacher-forced
(perplexity of the next token at every position after the first). "top-1 = f32" is how
often the most likely next token is the one the f32 model picks. The matrices use the
runtime's integer arithmetic (int16 activations of ±4095 with one scale per vector, exact group
sums), so the numbers are what the PS2 computes, up to float summation order elsewhere.

- **stories**: the last samples of /work/shared/corpus/smollm2-simple.jsonl.gz. SmolLM2
  wrote that corpus itself, so its perplexity is flattering; differences between rows
  still show what each policy costs.
- **GPL-3**: /usr/share/common-licenses/GPL-3 (Debian), formal English the model did not write.

QUANT is the policy syntax of `scons QUANT=...` and `python -m model convert --quant`:
`q8` is one scale per row, `q4:32` one per 32 weights; `q8,ffn=q4:32` keeps q8 but for
w1/w2/w3. Streamed bytes and disc time per token are model/plan.py's plan for the PS2
(RAM 32 MiB, context 512, KV f32, ps2-cd): what does not fit stays on the disc and is
read once per token. Rows `~POLICY` are a diagnostic, not something the runtime
computes: the same quantized weights with f32 activations, which separates the error
of the weights from that of the integer activations. Ternary here is post-training ternarization (BitNet b1.58 absmean)
of a model not trained for it: lossy, shown for its size, not its quality.

Why q4 costs so much here and q4m does not: SmolLM2-135M comes from a Q4_1 GGUF
(layer matrices Q4_1, groups of 32; embedding Q8_0), so `f32` is that model
dequantized, and Q4_1 stores a minimum per group (16 levels from `min` to `max`) that
PSNT's symmetric q4 (levels −8..7 times one scale, as llama.cpp's Q4_0) cannot
reproduce; symmetric q4 with a least-squares scale search (llama.cpp's
`make_qx_quants`) was no better than Q4_0's rule. `q4m` is Q4_1's scheme (a scale and
a minimum per group, both f16 as in Q4_1; docs/FORMAT.md): with groups of 32, the
source's own, the layer matrices come back as they were (bit for bit where a group
uses codes 0 and 15), and `q4m:32,embed=q8` is within 0.3% of f32. All-`q4m:32` also
puts the embedding (Q8_0 in the source, and the tied output projection) at 4 bits,
which costs the rest. `q4m:64` spans two Q4_1 blocks per group and loses the match.
q4m:32 stores 5 bits a weight (two f16 per 32 weights), q4:32 4.5.

{table}
"""

if __name__ == "__main__":
    sys.exit(main())
