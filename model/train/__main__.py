"""python -m model.train COMMAND ...

    tokenizer OUT.model [--vocab 4096] [--seed 0] [--corpus FILE ...]
    train RUN_DIR [--config model/train/configs/ps2-stories-6m.json] [--set KEY=VALUE ...]
                  [--corpus FILE ...] [--init-from CKPT] [--max-minutes M]
                  (the same command again resumes from RUN_DIR/ckpt.pt)
    eval RUN_DIR [--psnt FILE] [--max-tokens N]
    export RUN_DIR (--hf DIR | --psnt FILE [--quant q8 | --quant ternary,embed=q8]
                    | --gguf FILE [--gguf-type tq2_0])   (RUN_DIR may also be a HF directory)
    sample RUN_DIR PROMPT [--tokens 200] [--quant float|q8|ternary]

The corpus is the starter corpus (../shared/corpus/smollm2-simple.jsonl.gz) plus
the generated one (model/train/data/) unless --corpus names others (jsonl[.gz]
with prompt/response)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CONFIGS = Path(__file__).resolve().parent / "configs"


def _corpus(args) -> list:
    from model.train import corpus
    return corpus.read_corpus(args.corpus or corpus.DEFAULT_CORPORA)


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _config(args) -> dict:
    path = Path(args.config)
    if not path.is_file() and (CONFIGS / f"{args.config}.json").is_file():
        path = CONFIGS / f"{args.config}.json"
    try:
        d = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read the training config ({e})") from None
    for item in args.set or []:
        key, _, value = item.partition("=")
        target = d
        *parents, leaf = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[leaf] = _parse_value(value)
    return d


def cmd_tokenizer(args) -> None:
    from model.train import corpus
    from model.train.tokenizer import train_sentencepiece
    train, _ = corpus.split(_corpus(args))
    data = train_sentencepiece(corpus.tokenizer_text(train), args.vocab, args.seed)
    Path(args.out).write_bytes(data)
    print(f"wrote {args.out}: {args.vocab} pieces from {len(train)} training samples")


def cmd_train(args) -> None:
    import torch
    from model.train.trainer import train
    torch.set_num_threads(args.threads)
    torch.set_float32_matmul_precision("high")      # TF32 on a GPU; no effect on the CPU
    out = Path(args.run)
    from model.train.trainer import prepare_run
    cfg = prepare_run(out, _config(args), _corpus(args) if not (out / "run.json").is_file() else None,
                      Path(args.tokenizer) if args.tokenizer else None)
    import numpy as np
    n_train = len(np.load(out / "train.npy", mmap_mode="r"))
    from model.train.model import TinyLlama
    m = TinyLlama(cfg.shape)
    print(f"{out}: {m.n_params() / 1e6:.2f}M parameters ({m.n_unique_params() / 1e6:.2f}M trained), "
          f"{n_train} training tokens, {cfg.steps} steps x {cfg.batch * cfg.seq_len} tokens", flush=True)
    res = train(out, cfg, max_minutes=args.max_minutes, progress=not args.quiet,
                init_from=Path(args.init_from) if args.init_from else None, device=args.device)
    print(json.dumps(res))


def _load_run(run: Path):
    from model.train.trainer import load_checkpoint
    model, ck = load_checkpoint(run / "ckpt.pt")
    return model, ck, (run / "tokenizer.model").read_bytes()


def psnt_perplexity(psnt_path: Path, stream, n_tokens: int) -> float:
    """Perplexity of a PSNT through model/reference.py over the first n_tokens of
    the stream, restarting the context at each document's BOS."""
    import math
    import numpy as np
    from model.psnt import read_psnt
    from model.reference import ReferenceModel
    f = read_psnt(psnt_path)
    ref = ReferenceModel(f)
    bos = f.vocab.bos_id
    ids = np.asarray(stream[:n_tokens + 1], dtype=np.int64)
    nll, pos = 0.0, 0
    for i in range(len(ids) - 1):
        if ids[i] == bos or pos >= ref.max_seq_len:
            pos = 0
        logits = ref.forward(int(ids[i]), pos).astype(np.float64)
        m = logits.max()
        nll += m + math.log(np.exp(logits - m).sum()) - logits[ids[i + 1]]
        pos += 1
    return math.exp(nll / (len(ids) - 1))


def torch_doc_perplexity(model, stream, n_tokens: int, mode: str) -> float:
    """The same measure as psnt_perplexity, in torch (contexts restart at BOS)."""
    import math
    import numpy as np
    import torch
    ids = np.asarray(stream[:n_tokens + 1], dtype=np.int64)
    bos = int(ids[0])
    starts = [i for i in range(len(ids) - 1) if ids[i] == bos] + [len(ids) - 1]
    prev = model.quant
    model.set_quant(mode)
    nll = 0.0
    with torch.no_grad():
        for a, b in zip(starts, starts[1:]):
            for s in range(a, b, model.shape.max_seq_len):
                e = min(s + model.shape.max_seq_len, b)
                t = torch.from_numpy(ids[s:e + 1])[None].to(model.tok_embeddings.device)
                logits = model(t[:, :-1])[0]
                nll += torch.nn.functional.cross_entropy(logits, t[0, 1:], reduction="sum").item()
    model.set_quant(prev)
    return math.exp(nll / (len(ids) - 1))


def cmd_eval(args) -> None:
    import numpy as np
    import torch
    from model.train.trainer import perplexity
    torch.set_num_threads(args.threads)
    run = Path(args.run)
    model, ck, _ = _load_run(run)
    model.to(args.device)
    held = np.load(args.stream or run / "heldout.npy", mmap_mode="r")
    seq = min(512, model.shape.max_seq_len)
    res = {"step": ck["step"], "tokens": ck["tokens"], "heldout_tokens": len(held)}
    res["ppl_tokens"] = min(len(held) - 1, args.heldout_tokens or len(held))
    for mode in filter(None, args.modes.split(",")):
        res[f"ppl_{mode}"] = round(perplexity(model, held, seq, mode, args.heldout_tokens or None), 4)
    if args.psnt:
        n = args.max_tokens
        res["docs_tokens"] = n
        for mode in ("float", "q8", "ternary"):
            res[f"docs_ppl_{mode}"] = round(torch_doc_perplexity(model, held, n, mode), 4)
        res["docs_ppl_psnt"] = round(psnt_perplexity(Path(args.psnt), held, n), 4)
    print(json.dumps(res, indent=2))


def _export_source(run: Path, name: str | None):
    """(LlamaModel, tokenizer.model bytes) of a run directory (its ckpt.pt), or of
    a HF directory such a run was exported to (the checkpoint is not always kept)."""
    from model.train.export import to_llama
    if not (run / "ckpt.pt").is_file() and (run / "config.json").is_file():
        from model.import_hf import load_hf_dir
        llama = load_hf_dir(run)
        llama.name = name or llama.name
        return llama, (run / "tokenizer.model").read_bytes()
    model, _, sp = _load_run(run)
    return to_llama(model, sp, name or run.resolve().name), sp


def cmd_export(args) -> None:
    from model.psnt import QuantPolicy, write_psnt
    from model.train.export import write_gguf, write_hf_dir
    if not args.hf and not args.psnt and not args.gguf:
        raise ValueError("export needs --hf DIR, --psnt FILE and/or --gguf FILE")
    llama, sp = _export_source(Path(args.run), args.name)
    if args.hf:
        print(f"wrote {write_hf_dir(llama, sp, Path(args.hf))}")
    if args.psnt:
        rep = write_psnt(args.psnt, llama, QuantPolicy.parse(args.quant))
        print(f"wrote {rep.path}: {rep.file_size / 1e6:.2f} MB {args.quant}")
    if args.gguf:
        path = write_gguf(llama, Path(args.gguf), args.gguf_type, args.gguf_embed)
        print(f"wrote {path}: {path.stat().st_size / 1e6:.2f} MB, matrices {args.gguf_type}, "
              f"embedding {args.gguf_embed}")


def cmd_sample(args) -> None:
    import torch
    from model.train.corpus import ChatEncoder
    from model.tokenizer import Tokenizer
    from model.vocab_import import vocab_from_sentencepiece
    torch.manual_seed(args.seed)
    model, _, sp = _load_run(Path(args.run))
    model.set_quant(args.quant)
    model.eval()
    enc = ChatEncoder(sp)
    ids = enc.prompt_ids(args.prompt)
    out = []
    with torch.no_grad():
        for _ in range(args.tokens):
            if len(ids) >= model.shape.max_seq_len:
                break
            logits = model(torch.tensor([ids]))[0, -1]
            if args.temperature > 0:
                nxt = int(torch.multinomial(torch.softmax(logits / args.temperature, -1), 1))
            else:
                nxt = int(logits.argmax())
            if nxt == enc.im_end:
                break
            ids.append(nxt)
            out.append(nxt)
    print(Tokenizer(vocab_from_sentencepiece(sp)).decode(out).decode("utf-8", "replace"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tokenizer", help="train a SentencePiece tokenizer on the corpus")
    t.add_argument("out")
    t.add_argument("--vocab", type=int, default=4096)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--corpus", nargs="*")
    r = sub.add_parser("train", help="train or resume a run")
    r.add_argument("run")
    r.add_argument("--config", default="ps2-stories-6m", help="JSON file or a name in model/train/configs")
    r.add_argument("--set", action="append", help="override a setting, e.g. steps=200 or shape.n_layers=4")
    r.add_argument("--corpus", nargs="*")
    r.add_argument("--tokenizer", help="use this tokenizer.model instead of training one")
    r.add_argument("--init-from", help="start from another run's ckpt.pt (fine-tuning, e.g. ternary QAT)")
    r.add_argument("--max-minutes", type=float, help="checkpoint and stop after this much training time")
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--device", default="cpu", help="torch device: cpu, cuda")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    e = sub.add_parser("eval", help="held-out perplexity: float, q8 and ternary fake-quant (and a PSNT)")
    e.add_argument("run")
    e.add_argument("--psnt", help="also this PSNT through model/reference.py")
    e.add_argument("--max-tokens", type=int, default=4000, help="held-out tokens for the PSNT comparison")
    e.add_argument("--heldout-tokens", type=int, default=0, help="held-out tokens for the torch perplexities (0 = all)")
    e.add_argument("--modes", default="float,q8,ternary", help="fake-quant modes to evaluate")
    e.add_argument("--threads", type=int, default=2)
    e.add_argument("--device", default="cpu", help="torch device: cpu, cuda")
    e.add_argument("--stream", help="another held-out token stream (.npy, same tokenizer) instead of the run's")
    x = sub.add_parser("export", help="write the run's model as a HF directory and/or a PSNT")
    x.add_argument("run")
    x.add_argument("--hf")
    x.add_argument("--psnt")
    x.add_argument("--quant", default="q8", help="PSNT quant policy (model/psnt.py QuantPolicy.parse); "
                   "a ternary-trained model: ternary,embed=q8")
    x.add_argument("--gguf", help="write a llama GGUF (model/import_gguf.py reads it)")
    x.add_argument("--gguf-type", default="tq2_0", help="GGUF type of the layer matrices: f16, q8_0, "
                   "tq1_0 or tq2_0 (ternary: the rows ternarized as the ternary QAT does)")
    x.add_argument("--gguf-embed", default="q8_0", help="GGUF type of the embedding: f16 or q8_0")
    x.add_argument("--name")
    s = sub.add_parser("sample", help="generate a chat answer with the torch model")
    s.add_argument("run")
    s.add_argument("prompt")
    s.add_argument("--tokens", type=int, default=200)
    s.add_argument("--quant", default="q8")
    s.add_argument("--temperature", type=float, default=0.0)
    s.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        {"tokenizer": cmd_tokenizer, "train": cmd_train, "eval": cmd_eval,
         "export": cmd_export, "sample": cmd_sample}[args.command](args)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
