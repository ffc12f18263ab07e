"""Build a `Vocab` from the tokenizer files models come with: a SentencePiece
`.model`, a Hugging Face `tokenizer.json` (+ `tokenizer_config.json`), the
`tokenizer.*` metadata of a GGUF file, or a llama2.c `tokenizer.bin`.

Anything we cannot reproduce exactly (a normalizer other than identity, a
pre-tokenizer we do not implement, ...) is refused with a ValueError that names the
file and the problem, rather than producing a tokenizer that silently differs.
"""
from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from model.vocab import PreTokenizer, TokenType, Vocab, VocabKind

# HF's Llama 3 pre-tokenizer regex (a Split before ByteLevel(use_regex=False)).
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
SPACE_MARK = "\u2581"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (openai/gpt-2 encoder.py)."""
    keep = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    out = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in out:
            out[b] = chr(256 + extra)
            extra += 1
    return out


def unicode_to_bytes() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}


def _gpt2_token_bytes(token: str, inverse: Mapping[str, int]) -> bytes:
    """A byte-level token written in GPT-2's alphabet, back to its bytes. A token
    with characters outside that alphabet (an added token stored as plain text)
    is taken as UTF-8."""
    try:
        return bytes(inverse[c] for c in token)
    except KeyError:
        return token.encode("utf-8")


def _set_chatml(v: Vocab) -> Vocab:
    ids = {t: i for i, t in reversed(list(enumerate(v.tokens)))}
    v.im_start_id = ids.get(IM_START.encode(), -1)
    v.im_end_id = ids.get(IM_END.encode(), -1)
    return v


def _check_id(name: str, value: int, n: int, where: str) -> int:
    if value is None:
        return -1
    value = int(value)
    if value < -1 or value >= n:
        raise ValueError(f"{where}: {name} {value} is not a token id (vocab has {n})")
    return value


# ---------------------------------------------------------------------------
# SentencePiece .model (a protobuf ModelProto, read without the protobuf package)

def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i
        if shift > 63:
            raise ValueError("varint too long")


def _proto_fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: ints for varints, bytes for
    length-delimited and fixed32/fixed64 fields."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield field, value
        elif wire == 2:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated field")
            yield field, buf[i:i + n]
            i += n
        elif wire == 5:
            yield field, buf[i:i + 4]
            i += 4
        elif wire == 1:
            yield field, buf[i:i + 8]
            i += 8
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _int32(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def vocab_from_sentencepiece(source: str | Path | bytes) -> Vocab:
    """A SentencePiece model (file path or the file's bytes).

    Field numbers are those of sentencepiece_model.proto: ModelProto{1 pieces,
    2 trainer_spec, 3 normalizer_spec}, SentencePiece{1 piece, 2 score, 3 type},
    TrainerSpec{3 model_type, 24 treat_whitespace_as_suffix, 35 byte_fallback,
    40..43 unk/bos/eos/pad id}, NormalizerSpec{1 name, 2 precompiled_charsmap,
    3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces}.
    """
    where = "SentencePiece model" if isinstance(source, bytes) else str(source)
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    pieces: list[tuple[bytes, float, int]] = []
    trainer: dict[int, int | bytes] = {}
    normalizer: dict[int, int | bytes] = {}
    try:
        for field, value in _proto_fields(data):
            if field == 1:
                piece, score, ptype = b"", 0.0, int(TokenType.NORMAL)
                for f, v in _proto_fields(value):
                    if f == 1:
                        piece = v
                    elif f == 2:
                        score = struct.unpack("<f", v)[0]
                    elif f == 3:
                        ptype = v
                pieces.append((piece, score, ptype))
            elif field == 2:
                trainer.update(_proto_fields(value))
            elif field == 3:
                normalizer.update(_proto_fields(value))
    except (ValueError, struct.error, TypeError) as e:
        raise ValueError(f"{where}: not a SentencePiece model ({e})") from None
    if not pieces:
        raise ValueError(f"{where}: not a SentencePiece model (no pieces)")

    model_type = trainer.get(3, 1)
    kinds = {1: VocabKind.SP_UNIGRAM, 2: VocabKind.SP_BPE}
    if model_type not in kinds:
        raise ValueError(f"{where}: SentencePiece model_type {model_type} (WORD/CHAR) "
                         "is not supported, only UNIGRAM and BPE")
    name = normalizer.get(1, b"")
    charsmap = normalizer.get(2, b"")
    if charsmap or name not in (b"", b"identity"):
        raise ValueError(f"{where}: normalization rule {name.decode(errors='replace')!r} "
                         "is not supported (we do not implement NFKC); retrain with "
                         "normalization_rule_name='identity'")
    if normalizer.get(4, 1):
        raise ValueError(f"{where}: remove_extra_whitespaces=true is not supported; "
                         "retrain with remove_extra_whitespaces=False")
    if not normalizer.get(5, 1):
        raise ValueError(f"{where}: escape_whitespaces=false is not supported")
    if trainer.get(24, 0):
        raise ValueError(f"{where}: treat_whitespace_as_suffix=true is not supported")

    tokens, scores, types = [], [], []
    for piece, score, ptype in pieces:
        if not 1 <= ptype <= 6:
            raise ValueError(f"{where}: piece {piece!r} has unknown type {ptype}")
        if ptype == TokenType.BYTE:
            m = _BYTE_PIECE.fullmatch(piece.decode("utf-8", "replace"))
            if not m:
                raise ValueError(f"{where}: byte piece {piece!r} is not <0xAB>")
            piece = bytes([int(m.group(1), 16)])
        tokens.append(piece)
        scores.append(score)
        types.append(TokenType(ptype))
    n = len(tokens)
    bos = _check_id("bos_id", _int32(trainer.get(41, 1)), n, where)
    v = Vocab(kind=kinds[model_type], tokens=tokens, scores=scores, types=types,
              bos_id=bos, eos_id=_check_id("eos_id", _int32(trainer.get(42, 2)), n, where),
              unk_id=_check_id("unk_id", _int32(trainer.get(40, 0)), n, where),
              pad_id=_check_id("pad_id", _int32(trainer.get(43, -1)), n, where),
              # Llama convention: prompts start with BOS when the model has one.
              add_bos=bos >= 0, add_space_prefix=bool(normalizer.get(3, 1)))
    return _set_chatml(v)


# ---------------------------------------------------------------------------
# Hugging Face tokenizer.json

def _flatten_pre(pre: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not pre:
        return []
    if pre.get("type") == "Sequence":
        return [p for sub in pre.get("pretokenizers", []) for p in _flatten_pre(sub)]
    return [pre]


def _hf_pretokenizer(pre: Mapping[str, Any] | None, where: str) -> PreTokenizer:
    steps = _flatten_pre(pre)
    kinds = [s.get("type") for s in steps]

    def byte_level(s: Mapping[str, Any], use_regex: bool) -> bool:
        return (s.get("type") == "ByteLevel" and not s.get("add_prefix_space", False)
                and bool(s.get("use_regex", True)) == use_regex)

    if len(steps) == 1 and byte_level(steps[0], True):
        return PreTokenizer.GPT2
    if (len(steps) == 2 and kinds[0] == "Digits" and steps[0].get("individual_digits")
            and byte_level(steps[1], True)):
        return PreTokenizer.SMOLLM
    if len(steps) == 2 and kinds[0] == "Split" and byte_level(steps[1], False):
        pattern = steps[0].get("pattern", {})
        if (pattern.get("Regex") == LLAMA3_PATTERN and not steps[0].get("invert")
                and steps[0].get("behavior", "Isolated") == "Isolated"):
            return PreTokenizer.LLAMA3
    raise ValueError(f"{where}: pre-tokenizer {json.dumps(pre)[:300]} is not one we "
                     "implement (GPT-2 ByteLevel, SmolLM Digits+ByteLevel, Llama 3)")


def _special_content(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return value.get("content")
    return value


def chat_template_from_config(config: Mapping[str, Any]) -> str:
    """tokenizer_config.json's chat_template: a string, or named templates of which
    "default" is taken; "" when there is none."""
    template = config.get("chat_template", "") or ""
    if isinstance(template, list):
        template = next((t["template"] for t in template if t.get("name") == "default"), "")
    return template


def vocab_from_tokenizer_json(path: str | Path, config_path: str | Path | None = None) -> Vocab:
    """A byte-level BPE `tokenizer.json` (GPT-2, SmolLM, Llama 3 style), with
    `tokenizer_config.json` beside it (or at config_path) for the chat template,
    BOS/EOS and add_bos_token."""
    path = Path(path)
    where = str(path)
    try:
        j = json.loads(path.read_text(encoding="utf-8"))
        model = j["model"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{where}: not a tokenizer.json ({e})") from None
    if model.get("type") != "BPE":
        raise ValueError(f"{where}: model type {model.get('type')!r} is not supported "
                         "(only byte-level BPE; use the SentencePiece .model for others)")
    if j.get("normalizer"):
        raise ValueError(f"{where}: a normalizer ({j['normalizer'].get('type')}) is not "
                         "supported for byte-level BPE; for SentencePiece-style "
                         "tokenizer.json use the tokenizer.model file")
    pretok = _hf_pretokenizer(j.get("pre_tokenizer"), where)
    vocab: dict[str, int] = model["vocab"]
    added = {int(a["id"]): a for a in j.get("added_tokens", [])}
    n = max([*vocab.values(), *added.keys()], default=-1) + 1
    inverse = unicode_to_bytes()
    tokens: list[bytes | None] = [None] * n
    types = [TokenType.NORMAL] * n
    for s, i in vocab.items():
        tokens[i] = _gpt2_token_bytes(s, inverse)
    for i, a in added.items():
        tokens[i] = a["content"].encode("utf-8")
        types[i] = TokenType.CONTROL if a.get("special") else TokenType.USER_DEFINED
    missing = [i for i, t in enumerate(tokens) if t is None]
    if missing:
        raise ValueError(f"{where}: token ids {missing[:5]} have no token")
    merges = []
    for k, m in enumerate(model.get("merges", [])):
        a, b = m.split(" ") if isinstance(m, str) else m
        if a not in vocab or b not in vocab:
            raise ValueError(f"{where}: merge {k} {m!r} names a token not in the vocab")
        merges.append((vocab[a], vocab[b]))

    config: dict[str, Any] = {}
    cpath = Path(config_path) if config_path else path.with_name("tokenizer_config.json")
    if cpath.exists():
        config = json.loads(cpath.read_text(encoding="utf-8"))
    by_text = {t: i for i, t in reversed(list(enumerate(tokens)))}

    def token_id(name: str) -> int:
        content = _special_content(config.get(name))
        return by_text.get(content.encode(), -1) if content else -1

    template = chat_template_from_config(config)
    add_bos = config.get("add_bos_token")
    bos = token_id("bos_token")
    if add_bos is None:
        # Llama 3 style: the post-processor template starts with the BOS token.
        single = (j.get("post_processor") or {}).get("single") or []
        first = single[0].get("SpecialToken", {}).get("id") if single else None
        add_bos = first is not None and by_text.get(first.encode(), -2) == bos
    v = Vocab(kind=VocabKind.BYTE_BPE, tokens=tokens, scores=[0.0] * n, types=types,
              merges=merges, bos_id=bos, eos_id=token_id("eos_token"),
              unk_id=token_id("unk_token"), pad_id=token_id("pad_token"),
              add_bos=bool(add_bos) and bos >= 0, pretokenizer=pretok,
              chat_template=template)
    return _set_chatml(v)


# ---------------------------------------------------------------------------
# GGUF metadata

_GGUF_PRE = {
    "gpt-2": PreTokenizer.GPT2, "gpt2": PreTokenizer.GPT2,
    "smollm": PreTokenizer.SMOLLM, "starcoder": PreTokenizer.SMOLLM,
    "refact": PreTokenizer.SMOLLM, "codeshell": PreTokenizer.SMOLLM,
    "llama3": PreTokenizer.LLAMA3, "llama-v3": PreTokenizer.LLAMA3,
    "llama-bpe": PreTokenizer.LLAMA3,
}


def _as_list(value: Any) -> list:
    return list(value) if value is not None else []


def _as_str(value: Any) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, (bytes, bytearray)) else str(value)


def vocab_from_gguf_metadata(meta: Mapping[str, Any], where: str = "GGUF") -> Vocab:
    """The tokenizer of a GGUF file, from its `tokenizer.*` keys as plain values
    (strings, numbers, lists). `tokenizer.ggml.model` "llama" is SentencePiece BPE
    (llama.cpp merges by score); "gpt2" is byte-level BPE with GPT-2-alphabet
    tokens, which are mapped back to raw bytes."""
    def get(key: str, default: Any = None) -> Any:
        return meta.get("tokenizer." + key, default)

    model = _as_str(get("ggml.model", ""))
    tokens_s = [_as_str(t) for t in _as_list(get("ggml.tokens"))]
    n = len(tokens_s)
    if n == 0:
        raise ValueError(f"{where}: no tokenizer.ggml.tokens")
    types_raw = _as_list(get("ggml.token_type")) or [1] * n
    scores = [float(s) for s in _as_list(get("ggml.scores"))] or [0.0] * n
    if len(types_raw) != n or len(scores) != n:
        raise ValueError(f"{where}: {n} tokens but {len(types_raw)} token types "
                         f"and {len(scores)} scores")
    types = []
    for i, t in enumerate(types_raw):
        if not 1 <= int(t) <= 6:
            raise ValueError(f"{where}: token {i} has unknown type {t}")
        types.append(TokenType(int(t)))

    def opt_id(key: str) -> int:
        return _check_id(key, get(key), n, where) if get(key) is not None else -1

    if model == "llama":
        tokens = []
        for i, (s, ty) in enumerate(zip(tokens_s, types)):
            if ty == TokenType.BYTE:
                m = _BYTE_PIECE.fullmatch(s)
                if not m:
                    raise ValueError(f"{where}: byte token {i} {s!r} is not <0xAB>")
                tokens.append(bytes([int(m.group(1), 16)]))
            else:
                tokens.append(s.encode("utf-8", "surrogateescape"))
        v = Vocab(kind=VocabKind.SP_BPE, tokens=tokens, scores=scores, types=types,
                  add_bos=bool(get("ggml.add_bos_token", True)),
                  add_space_prefix=bool(get("ggml.add_space_prefix", True)))
    elif model == "gpt2":
        pre = _as_str(get("ggml.pre", "gpt-2"))
        if pre not in _GGUF_PRE:
            raise ValueError(f"{where}: byte-level pre-tokenizer {pre!r} is not supported "
                             f"(known: {', '.join(sorted(_GGUF_PRE))})")
        if get("ggml.add_space_prefix", False):
            raise ValueError(f"{where}: add_space_prefix with a gpt2 tokenizer is not supported")
        inverse = unicode_to_bytes()
        tokens = [s.encode("utf-8") if ty in (TokenType.CONTROL, TokenType.USER_DEFINED)
                  else _gpt2_token_bytes(s, inverse) for s, ty in zip(tokens_s, types)]
        ids = {s: i for i, s in reversed(list(enumerate(tokens_s)))}
        merges = []
        for k, m in enumerate(_as_list(get("ggml.merges"))):
            parts = _as_str(m).split(" ")
            if len(parts) != 2 or parts[0] not in ids or parts[1] not in ids:
                raise ValueError(f"{where}: merge {k} {_as_str(m)!r} is not two tokens")
            merges.append((ids[parts[0]], ids[parts[1]]))
        v = Vocab(kind=VocabKind.BYTE_BPE, tokens=tokens, scores=scores, types=types,
                  merges=merges, add_bos=bool(get("ggml.add_bos_token", False)),
                  pretokenizer=_GGUF_PRE[pre])
    else:
        raise ValueError(f"{where}: tokenizer model {model!r} is not supported "
                         "(only 'llama' and 'gpt2')")
    v.bos_id = opt_id("ggml.bos_token_id")
    v.eos_id = opt_id("ggml.eos_token_id")
    v.unk_id = opt_id("ggml.unknown_token_id")
    v.pad_id = opt_id("ggml.padding_token_id")
    v.add_bos = v.add_bos and v.bos_id >= 0
    v.chat_template = _as_str(get("chat_template", ""))
    return _set_chatml(v)


# ---------------------------------------------------------------------------
# llama2.c tokenizer.bin

def vocab_from_llama2c(path: str | Path, vocab_size: int | None = None) -> Vocab:
    """llama2.c's tokenizer.bin: i32 max_token_length, then per token f32 score,
    i32 length and the bytes (spaces written as ' ', not '▁'). The file does not
    store the count: give the checkpoint's vocab_size, or read to the end. Ids 0,
    1, 2 are <unk>, <s>, </s>; it is SentencePiece BPE with a dummy prefix."""
    where = str(path)
    data = Path(path).read_bytes()
    if len(data) < 4:
        raise ValueError(f"{where}: too short for a llama2.c tokenizer")
    (max_len,) = struct.unpack_from("<i", data, 0)
    pos = 4
    tokens, scores, types = [], [], []
    while pos < len(data) and (vocab_size is None or len(tokens) < vocab_size):
        if pos + 8 > len(data):
            raise ValueError(f"{where}: truncated at token {len(tokens)}")
        score, n = struct.unpack_from("<fi", data, pos)
        pos += 8
        if n < 0 or n > max(max_len, 0) or pos + n > len(data):
            raise ValueError(f"{where}: token {len(tokens)} has bad length {n}")
        raw = data[pos:pos + n]
        pos += n
        i = len(tokens)
        m = _BYTE_PIECE.fullmatch(raw.decode("latin-1"))
        if i == 0:
            ty = TokenType.UNKNOWN
        elif i in (1, 2):
            ty = TokenType.CONTROL
        elif m:
            ty, raw = TokenType.BYTE, bytes([int(m.group(1), 16)])
        else:
            ty = TokenType.NORMAL
        if ty == TokenType.NORMAL:
            raw = raw.replace(b" ", SPACE_MARK.encode())
        tokens.append(raw)
        scores.append(score)
        types.append(ty)
    if vocab_size is not None and len(tokens) != vocab_size:
        raise ValueError(f"{where}: {len(tokens)} tokens, expected {vocab_size}")
    if len(tokens) < 3:
        raise ValueError(f"{where}: only {len(tokens)} tokens")
    v = Vocab(kind=VocabKind.SP_BPE, tokens=tokens, scores=scores, types=types,
              bos_id=1, eos_id=2, unk_id=0, add_bos=True, add_space_prefix=True)
    return _set_chatml(v)


def load_vocab(path: str | Path, **kw: Any) -> Vocab:
    """Pick the importer by file name: *.model, tokenizer.json, tokenizer.bin."""
    p = Path(path)
    if p.suffix == ".model":
        return vocab_from_sentencepiece(p)
    if p.suffix == ".json":
        return vocab_from_tokenizer_json(p, **kw)
    if p.suffix == ".bin":
        return vocab_from_llama2c(p, **kw)
    raise ValueError(f"{p}: unknown tokenizer file type (want .model, tokenizer.json or .bin)")


__all__: Sequence[str] = [
    "vocab_from_sentencepiece", "vocab_from_tokenizer_json", "chat_template_from_config", "vocab_from_gguf_metadata",
    "vocab_from_llama2c", "load_vocab", "bytes_to_unicode", "LLAMA3_PATTERN",
]
