"""The training corpus: prompt/response pairs as ChatML conversations, cut into a
train and a held-out split by a fixed hash of the prompt, and tokenized into one
stream of documents.

A document is exactly what the runtime's chat mode feeds the model, plus the
answer and its end marker:

    <s><|im_start|>user\\n{prompt}<|im_end|>\\n<|im_start|>assistant\\n{response}<|im_end|>

(no system message: our tokenizer carries no chat template, so neither
Tokenizer.apply_chat_template nor the C tok_encode_chat adds one)."""
from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTER_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "smollm2-simple.jsonl.gz"
# Written by model/train/generate.py (--seed 7, batch 1024 on a GPU; docs/TRAINING.md).
GENERATED_CORPUS = REPO_ROOT / "model" / "train" / "data" / "smollm2-gen-seed7.jsonl.gz"
DEFAULT_CORPORA = (STARTER_CORPUS, GENERATED_CORPUS)
HELDOUT_PERCENT = 5


@dataclass(frozen=True)
class Sample:
    prompt: str
    response: str


def read_jsonl(path: str | Path) -> list[Sample]:
    """Samples of a .jsonl or .jsonl.gz file with `prompt` and `response` fields."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    out.append(Sample(str(obj["prompt"]), str(obj["response"]).strip()))
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    raise ValueError(f"{path}:{n}: not a prompt/response JSON line ({e})") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read the corpus ({e})") from None
    if not out:
        raise ValueError(f"{path}: no samples")
    return out


def read_corpus(paths: Sequence[str | Path]) -> list[Sample]:
    """All samples of the given files, duplicates (same prompt and response) once."""
    seen: set[tuple[str, str]] = set()
    out = []
    for p in paths:
        for s in read_jsonl(p):
            if (s.prompt, s.response) not in seen:
                seen.add((s.prompt, s.response))
                out.append(s)
    return out


def is_heldout(sample: Sample, percent: int = HELDOUT_PERCENT) -> bool:
    """Fixed split: sha256 of the prompt, first 4 bytes mod 100 below `percent`.
    Same prompt, same split, whatever file or order it comes from."""
    h = hashlib.sha256(sample.prompt.encode("utf-8")).digest()
    return int.from_bytes(h[:4], "little") % 100 < percent


def split(samples: Sequence[Sample], percent: int = HELDOUT_PERCENT) -> tuple[list[Sample], list[Sample]]:
    train = [s for s in samples if not is_heldout(s, percent)]
    held = [s for s in samples if is_heldout(s, percent)]
    return train, held


def tokenizer_text(samples: Sequence[Sample]) -> Iterator[str]:
    """Sentences for SentencePiece training: the text around the ChatML markers."""
    for s in samples:
        yield "user\n" + s.prompt
        yield "assistant\n" + s.response


class ChatEncoder:
    """Documents as token ids with the ChatML markers inserted as single tokens
    (control pieces never come out of SentencePiece's own segmentation)."""

    def __init__(self, sp_model: bytes) -> None:
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor(model_proto=sp_model)
        self.bos = self.sp.bos_id()
        self.im_start = self.sp.piece_to_id("<|im_start|>")
        self.im_end = self.sp.piece_to_id("<|im_end|>")
        if self.sp.id_to_piece(self.im_start) != "<|im_start|>" or self.sp.id_to_piece(self.im_end) != "<|im_end|>":
            raise ValueError("the tokenizer has no <|im_start|>/<|im_end|> pieces")

    def prompt_ids(self, prompt: str) -> list[int]:
        """What the runtime's chat mode encodes for a user prompt."""
        return ([self.bos, self.im_start] + self.sp.encode("user\n" + prompt) + [self.im_end]
                + self.sp.encode("\n") + [self.im_start] + self.sp.encode("assistant\n"))

    def document(self, s: Sample) -> list[int]:
        return self.prompt_ids(s.prompt) + self.sp.encode(s.response) + [self.im_end]


def token_stream(samples: Sequence[Sample], sp_model: bytes) -> np.ndarray:
    """All documents one after the other, uint16 ids."""
    enc = ChatEncoder(sp_model)
    ids: list[int] = []
    for s in samples:
        ids += enc.document(s)
    return np.asarray(ids, dtype=np.uint16)
