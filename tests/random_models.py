"""Random LlamaModels built directly in numpy, for tests that need weights but not
a reference implementation (format, disc, planner). Their vocab is the 256 bytes
plus a few control tokens, as a byte-level BPE without merges."""
from __future__ import annotations

import numpy as np

from model.config import ModelConfig
from model.vocab import PreTokenizer, TokenType, Vocab, VocabKind
from model.weights import NORM_ROLES, LlamaModel, execution_order, expected_shape, tensor_name

SPECIALS = [b"<|endoftext|>", b"<|im_start|>", b"<|im_end|>"]


def byte_vocab(vocab_size: int) -> Vocab:
    if vocab_size < 256 + len(SPECIALS):
        raise ValueError("a byte vocab needs at least 259 tokens")
    tokens = SPECIALS + [bytes([b]) for b in range(256)]
    tokens += [b"<unused%d>" % i for i in range(vocab_size - len(tokens))]
    types = ([TokenType.CONTROL] * len(SPECIALS) + [TokenType.NORMAL] * 256
             + [TokenType.UNUSED] * (vocab_size - 256 - len(SPECIALS)))
    return Vocab(kind=VocabKind.BYTE_BPE, tokens=tokens, scores=[0.0] * vocab_size, types=types,
                 bos_id=0, eos_id=2, pretokenizer=PreTokenizer.GPT2,
                 im_start_id=1, im_end_id=2)


def random_llama(cfg: ModelConfig, seed: int = 0, name: str = "random") -> LlamaModel:
    rng = np.random.default_rng(seed)
    weights = {}
    for role, layer in execution_order(cfg):
        rows, cols = expected_shape(cfg, role)
        if role in NORM_ROLES:
            w = 1.0 + 0.1 * rng.standard_normal(cols)
        else:
            w = rng.standard_normal((rows, cols)) / np.sqrt(cols)
        weights[tensor_name(role, layer)] = w.astype(np.float32)
    return LlamaModel(cfg, byte_vocab(cfg.vocab_size), weights, name)


TINY = ModelConfig(dim=64, hidden_dim=96, n_layers=2, n_heads=4, n_kv_heads=2,
                   vocab_size=300, max_seq_len=128, tie_embeddings=True)
