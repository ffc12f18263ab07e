"""The PSNT tokenizer section (docs/FORMAT.md, "Tokenizer section"): a `Vocab`
to bytes and back. `ee_runtime_c/tokenizer.c` parses the same bytes with the same
checks."""
from __future__ import annotations

import struct

from model.vocab import PreTokenizer, TokenType, Vocab, VocabKind

HEADER = struct.Struct("<3I6i4I12x")      # 64 bytes
RECORD = struct.Struct("<fBBH")           # score, type, 0, len; then len bytes
MERGE = struct.Struct("<II")
FLAG_ADD_BOS = 1
FLAG_ADD_SPACE_PREFIX = 2
MAX_TOKENS = 1 << 24                      # ids must stay exact in a float score key


def vocab_to_section(v: Vocab) -> bytes:
    n = len(v.tokens)
    if not 0 < n <= MAX_TOKENS or len(v.scores) != n or len(v.types) != n:
        raise ValueError(f"vocab has {n} tokens, {len(v.scores)} scores, {len(v.types)} types")
    if v.kind != VocabKind.BYTE_BPE and v.merges:
        raise ValueError("merges are only stored for byte-level BPE")
    for name in ("bos_id", "eos_id", "unk_id", "pad_id", "im_start_id", "im_end_id"):
        if not -1 <= getattr(v, name) < n:
            raise ValueError(f"{name} {getattr(v, name)} is not a token id")
    template = v.chat_template.encode("utf-8")
    out = bytearray(HEADER.pack(
        int(v.kind), n, len(v.merges), v.bos_id, v.eos_id, v.unk_id, v.pad_id,
        v.im_start_id, v.im_end_id,
        (FLAG_ADD_BOS if v.add_bos else 0) | (FLAG_ADD_SPACE_PREFIX if v.add_space_prefix else 0),
        int(v.pretokenizer), max((len(t) for t in v.tokens), default=0), len(template)))
    for i, (t, s, ty) in enumerate(zip(v.tokens, v.scores, v.types)):
        if len(t) > 0xFFFF:
            raise ValueError(f"token {i} is {len(t)} bytes, more than 65535")
        if ty == TokenType.BYTE and len(t) != 1:
            raise ValueError(f"byte token {i} must be stored as its one byte")
        out += RECORD.pack(s, int(ty), 0, len(t))
        out += t
    out += bytes(-len(out) % 4)
    for a, b in v.merges:
        if not (0 <= a < n and 0 <= b < n):
            raise ValueError(f"merge ({a}, {b}) names a token out of range")
        out += MERGE.pack(a, b)
    out += template
    return bytes(out)


def vocab_from_section(data: bytes, where: str = "tokenizer section") -> Vocab:
    """Parse and validate; any inconsistency is a ValueError naming the problem."""
    def bad(msg: str) -> ValueError:
        return ValueError(f"{where}: {msg}")

    if len(data) < HEADER.size:
        raise bad(f"{len(data)} bytes, shorter than its 64-byte header")
    (kind, n, n_merges, bos, eos, unk, pad, im_start, im_end, flags, pretok,
     max_len, template_len) = HEADER.unpack_from(data, 0)
    if data[52:64] != bytes(12):
        raise bad("reserved header bytes are not zero")
    if kind not in (1, 2, 3):
        raise bad(f"unknown kind {kind}")
    if not 0 < n <= MAX_TOKENS:
        raise bad(f"n_tokens {n} out of range")
    if kind != VocabKind.BYTE_BPE and n_merges:
        raise bad(f"{n_merges} merges in a SentencePiece vocab")
    if pretok > 3 or (kind != VocabKind.BYTE_BPE and pretok):
        raise bad(f"pretokenizer {pretok} not valid for kind {kind}")
    if flags & ~3:
        raise bad(f"unknown flags 0x{flags:x}")
    for name, value in (("bos_id", bos), ("eos_id", eos), ("unk_id", unk), ("pad_id", pad),
                        ("im_start_id", im_start), ("im_end_id", im_end)):
        if not -1 <= value < n:
            raise bad(f"{name} {value} is not a token id (n_tokens {n})")
    pos = HEADER.size
    tokens, scores, types = [], [], []
    longest = 0
    for i in range(n):
        if pos + RECORD.size > len(data):
            raise bad(f"truncated in token record {i}")
        score, ty, zero, length = RECORD.unpack_from(data, pos)
        pos += RECORD.size
        if not 1 <= ty <= 6 or zero:
            raise bad(f"token {i} has bad type {ty} or reserved byte {zero}")
        if pos + length > len(data):
            raise bad(f"token {i} runs past the end ({length} bytes)")
        if ty == TokenType.BYTE and length != 1:
            raise bad(f"byte token {i} has {length} bytes, not 1")
        tokens.append(bytes(data[pos:pos + length]))
        scores.append(score)
        types.append(TokenType(ty))
        longest = max(longest, length)
        pos += length
    if longest != max_len:
        raise bad(f"max_token_len {max_len} but the longest token has {longest} bytes")
    fill = -pos % 4
    if data[pos:pos + fill] != bytes(fill):
        raise bad("padding after the token records is not zero")
    pos += fill
    if pos + 8 * n_merges + template_len != len(data):
        raise bad(f"size {len(data)} does not match {n_merges} merges and a "
                  f"{template_len}-byte chat template after the tokens (end {pos})")
    merges = []
    for k in range(n_merges):
        a, b = MERGE.unpack_from(data, pos + 8 * k)
        if a >= n or b >= n:
            raise bad(f"merge {k} ({a}, {b}) names a token out of range")
        merges.append((a, b))
    pos += 8 * n_merges
    try:
        template = data[pos:pos + template_len].decode("utf-8")
    except UnicodeDecodeError:
        raise bad("chat template is not UTF-8") from None
    return Vocab(kind=VocabKind(kind), tokens=tokens, scores=scores, types=types,
                 merges=merges, bos_id=bos, eos_id=eos, unk_id=unk, pad_id=pad,
                 add_bos=bool(flags & FLAG_ADD_BOS),
                 add_space_prefix=bool(flags & FLAG_ADD_SPACE_PREFIX),
                 pretokenizer=PreTokenizer(pretok), chat_template=template,
                 im_start_id=im_start, im_end_id=im_end)
