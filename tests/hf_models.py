"""Tiny random Hugging Face Llama models for tests.

`make_tiny_hf_model(dir, ...)` writes a directory exactly as `save_pretrained` would
for a real checkpoint: config.json, *.safetensors (optionally sharded, with its
index, and optionally bf16/f16), and a tokenizer whose vocabulary has exactly the
model's vocab_size tokens:
  - tokenizer="bpe" (default): byte-level BPE trained with HF `tokenizers`
    (tokenizer.json + tokenizer_config.json, SmolLM2-like: specials
    <|endoftext|> = 0 (bos/eos/unk), <|im_start|> = 1, <|im_end|> = 2, a ChatML
    chat template). Needs vocab >= 259 + a few merges.
  - tokenizer="sentencepiece": Llama-2-like SentencePiece BPE (byte fallback,
    identity normalization, split digits; tokenizer.model + tokenizer_config.json,
    no tokenizer.json; <unk> = 0, <s> = 1, </s> = 2). Needs vocab >= ~300.

Weights are random but not tiny (unlike transformers' std-0.02 init), so logits
are O(1..10) and differences between implementations show. Everything is
deterministic for a given seed.
"""
from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np

SPECIALS_BPE = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML_TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
                   "{{ message['content'] }}<|im_end|>\n{% endfor %}"
                   "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "an", "el", "or", "us",
              "the", "ing", "str", "qu", "ph", "ee", "oo", "ai", "x", "z", "b", "d"]


def tiny_corpus(seed: int, n_lines: int = 400) -> list[str]:
    """Deterministic pseudo-text: random words over a small syllable set, some
    digits and punctuation, so a BPE trainer always finds plenty of merges."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n_lines):
        words = []
        for _ in range(rng.randint(4, 14)):
            w = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))
            if rng.random() < 0.15:
                w = w.capitalize()
            if rng.random() < 0.08:
                w = str(rng.randint(0, 2000))
            words.append(w)
        lines.append(" ".join(words) + rng.choice([".", ",", "!", "?", ""]))
    return lines


def write_bpe_tokenizer(out_dir: Path, vocab: int, seed: int) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if vocab < 256 + len(SPECIALS_BPE) + 1:
        raise ValueError(f"byte-level BPE needs vocab >= {256 + len(SPECIALS_BPE) + 1}, got {vocab}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab, min_frequency=1, show_progress=False,
                                  special_tokens=SPECIALS_BPE,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(tiny_corpus(seed, n_lines=max(400, vocab)), trainer)
    if tok.get_vocab_size() != vocab:
        raise RuntimeError(f"BPE training gave {tok.get_vocab_size()} tokens, wanted {vocab}")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>",
                                   eos_token="<|endoftext|>", unk_token="<|endoftext|>",
                                   additional_special_tokens=SPECIALS_BPE[1:])
    fast.save_pretrained(str(out_dir))
    # Inline the chat template in tokenizer_config.json, as most Hub checkpoints
    # have it (transformers >= 4.5x would write a separate chat_template.jinja).
    config_path = out_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = CHATML_TEMPLATE
    config_path.write_text(json.dumps(config, indent=2))


def write_sentencepiece_tokenizer(out_dir: Path, vocab: int, seed: int) -> None:
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(tiny_corpus(seed, n_lines=max(400, vocab))), model_writer=buf,
        vocab_size=vocab, model_type="bpe", byte_fallback=True, character_coverage=1.0,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, add_dummy_prefix=True,
        normalization_rule_name="identity", remove_extra_whitespaces=False,
        split_digits=True, allow_whitespace_only_pieces=True,    # as Llama 2's
        hard_vocab_limit=True, num_threads=1, minloglevel=2)
    (out_dir / "tokenizer.model").write_bytes(buf.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    if sp.get_piece_size() != vocab:
        raise RuntimeError(f"SentencePiece training gave {sp.get_piece_size()} pieces, wanted {vocab}")
    (out_dir / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
        "legacy": False, "model_max_length": 1 << 30}, indent=2))


def make_tiny_hf_model(out_dir, *, dim: int = 64, n_layers: int = 2, n_heads: int = 4,
                       n_kv_heads: int = 2, hidden: int = 96, vocab: int = 320,
                       tie: bool = False, rope_theta: float = 10000.0, seed: int = 0,
                       norm_eps: float = 1e-5, head_dim: int | None = None,
                       max_seq_len: int = 128, dtype: str = "float32",
                       max_shard_size: str | None = None, tokenizer: str = "bpe") -> Path:
    """Write a random LlamaForCausalLM and its tokenizer to `out_dir`; returns it.

    head_dim=None means dim // n_heads. dtype is the safetensors dtype ("float32",
    "bfloat16", "float16"). max_shard_size (e.g. "20KB") splits the weights into
    several files with a model.safetensors.index.json."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=dim, intermediate_size=hidden,
        num_hidden_layers=n_layers, num_attention_heads=n_heads,
        num_key_value_heads=n_kv_heads, head_dim=head_dim or dim // n_heads,
        max_position_embeddings=max_seq_len, rms_norm_eps=norm_eps, rope_theta=rope_theta,
        tie_word_embeddings=tie, hidden_act="silu", attention_bias=False, mlp_bias=False,
        bos_token_id=0 if tokenizer == "bpe" else 1, eos_token_id=0 if tokenizer == "bpe" else 2)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                values = 1.0 + 0.2 * rng.standard_normal(p.shape)
            elif "embed_tokens" in name:
                values = 0.5 * rng.standard_normal(p.shape)
            else:   # a linear layer: unit-variance outputs for unit-variance inputs
                values = rng.standard_normal(p.shape) / np.sqrt(p.shape[1])
            p.copy_(torch.from_numpy(values.astype(np.float32)))
    model = model.to({"float32": torch.float32, "bfloat16": torch.bfloat16,
                      "float16": torch.float16}[dtype])
    kwargs = {"max_shard_size": max_shard_size} if max_shard_size else {}
    model.save_pretrained(str(out), safe_serialization=True, **kwargs)
    if tokenizer == "bpe":
        write_bpe_tokenizer(out, vocab, seed)
    elif tokenizer == "sentencepiece":
        write_sentencepiece_tokenizer(out, vocab, seed)
    else:
        raise ValueError(f"unknown tokenizer kind {tokenizer!r}")
    return out


def load_hf_reference(model_dir):
    """The saved model back in transformers, f32 with eager attention."""
    import torch
    from transformers import LlamaForCausalLM

    return LlamaForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32,
                                            attn_implementation="eager").eval()


def hf_decode_logits(hf_model, tokens: list[int]) -> np.ndarray:
    """Logits (len(tokens), vocab) f32 from transformers, one token per call with
    its KV cache, as the reference and the C runtime decode."""
    import torch

    rows, past = [], None
    with torch.no_grad():
        for tok in tokens:
            out = hf_model(input_ids=torch.tensor([[tok]]), past_key_values=past, use_cache=True)
            past = out.past_key_values
            rows.append(out.logits[0, -1].float().numpy())
    return np.stack(rows)
