"""SentencePiece tokenizer training, reproducible from a seed.

The settings are the ones model/vocab_import.py and model/tokenizer.py implement:
BPE, identity normalisation (no NFKC), whitespace kept as it is, byte fallback
(any byte encodes), no dummy prefix, and the ChatML markers as control pieces
(matched as special tokens by Tokenizer.encode_chat and the C tok_encode_chat,
decoded as nothing). One thread and a seeded shuffle make the model a pure
function of (corpus, vocab size, seed)."""
from __future__ import annotations

import io
import random
from collections.abc import Iterable

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"


def train_sentencepiece(sentences: Iterable[str], vocab_size: int, seed: int = 0) -> bytes:
    """The serialized SentencePiece model (tokenizer.model bytes)."""
    import sentencepiece as spm

    if not 256 + 8 <= vocab_size <= 65535:
        raise ValueError(f"vocab size {vocab_size} must be in 264..65535 (256 byte pieces + specials; uint16 ids)")
    lines = [s for s in sentences if s]
    random.Random(seed).shuffle(lines)       # our own shuffle: sentencepiece's is not seeded
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buf, vocab_size=vocab_size,
        model_type="bpe", byte_fallback=True, character_coverage=1.0,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, control_symbols=[IM_START, IM_END],
        add_dummy_prefix=False, normalization_rule_name="identity",
        remove_extra_whitespaces=False, split_digits=True, allow_whitespace_only_pieces=True,
        max_sentence_length=1 << 16, input_sentence_size=0, shuffle_input_sentence=False,
        hard_vocab_limit=True, num_threads=1, minloglevel=2)
    return buf.getvalue()
