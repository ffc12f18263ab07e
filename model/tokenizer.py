"""Text <-> token ids for every kind of `Vocab`, in pure Python.

This is the reference the C tokenizer (`ee_runtime_c/tokenizer.c`) is tested
against, and it is itself tested against the real libraries: `sentencepiece` for
SP_BPE / SP_UNIGRAM and Hugging Face `tokenizers` for BYTE_BPE. The C code follows
this file step by step (same symbol lists, same heap order, same float rounding), so
a change here needs the same change there.

Input is bytes (a `str` is UTF-8 encoded first). Invalid UTF-8 never raises: each
byte that does not start a well-formed UTF-8 sequence (no overlongs, surrogates or
code points above U+10FFFF) is a one-byte "character" of its own, of class OTHER,
that no vocabulary piece matches. So it becomes its `<0xAB>` byte token (SentencePiece
with byte fallback), the unknown token (SentencePiece without byte fallback), or its
byte-level token (BYTE_BPE), and decode(encode(b)) == b still holds. (SentencePiece
itself replaces such bytes with U+FFFD first; we keep the byte, as llama.cpp does.)
"""
from __future__ import annotations

import heapq
import re
import struct
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum

from model.vocab import PreTokenizer, TokenType, Vocab, VocabKind

SPACE_MARK = "\u2581".encode()          # SentencePiece's meta-space '▁'
UNK_SURFACE = " \u2047 ".encode()       # what sentencepiece decodes <unk> to
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
# The chat templates of SmolLM2 and friends add a system message when the
# conversation has none; this is how we recognise that and find its text.
DEFAULT_SYSTEM_GUARD = b"messages[0]['role'] != 'system'"
DEFAULT_SYSTEM_OPEN = b"<|im_start|>system"

_F32 = struct.Struct("<f")


def f32(x: float) -> float:
    """Round a Python float to the nearest binary32, as C's float does."""
    return _F32.unpack(_F32.pack(x))[0]


# ---------------------------------------------------------------------------
# Character classes (shared with codegen/unicode_tables.py, which writes them to C)

class CharClass(IntEnum):
    OTHER = 0
    LETTER = 1      # \p{L}: general category L*
    NUMBER = 2      # \p{N}: general category N* (= Rust's char::is_numeric)
    SPACE = 3       # \s as Oniguruma (HF tokenizers) defines it: Unicode White_Space


# Unicode's White_Space property (PropList.txt). Python's str.isspace() also accepts
# U+001C..U+001F, which Oniguruma's \s (used by HF tokenizers) does not.
WHITE_SPACE = frozenset([0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
                         *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F,
                         0x3000])


def char_class(cp: int) -> CharClass:
    """Class of a code point (-1: an invalid UTF-8 byte, class OTHER)."""
    if cp < 0:
        return CharClass.OTHER
    if cp in WHITE_SPACE:
        return CharClass.SPACE
    cat = unicodedata.category(chr(cp))
    if cat[0] == "L":
        return CharClass.LETTER
    if cat[0] == "N":
        return CharClass.NUMBER
    return CharClass.OTHER


def utf8_units(data: bytes) -> list[tuple[int, int]]:
    """Split bytes into (byte length, code point) units; -1 marks an invalid byte.

    surrogateescape turns each byte of an ill-formed sequence into its own lone
    surrogate U+DC80..U+DCFF, which is exactly our one-invalid-byte-per-unit rule.
    """
    units = []
    for ch in data.decode("utf-8", "surrogateescape"):
        cp = ord(ch)
        if 0xDC80 <= cp <= 0xDCFF:
            units.append((1, -1))
        else:
            units.append((1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4, cp))
    return units


def to_bytes(text: str | bytes) -> bytes:
    if isinstance(text, str):
        # Lone surrogates in a str are kept as their (invalid) UTF-8 bytes.
        return text.encode("utf-8", "surrogatepass")
    return bytes(text)


# ---------------------------------------------------------------------------
# Pre-tokenizers: the GPT-2 / Llama 3 regexes, written as scanners over units

def _contraction_end(data: bytes, i: int, end: int, ignore_case: bool) -> int:
    """End of 's|'t|'re|'ve|'m|'ll|'d at i, or -1."""
    if data[i] != 0x27 or i + 1 >= end:
        return -1
    c = data[i + 1]
    if ignore_case and 0x41 <= c <= 0x5A:
        c += 0x20
    if c in b"stmd":
        return i + 2
    if i + 2 < end:
        c2 = data[i + 2]
        if ignore_case and 0x41 <= c2 <= 0x5A:
            c2 += 0x20
        if (c, c2) in ((0x72, 0x65), (0x76, 0x65), (0x6C, 0x6C)):   # re ve ll
            return i + 3
    return -1


class _Scanner:
    """Units of one fragment with their byte offsets and classes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.starts: list[int] = []
        self.classes: list[CharClass] = []
        pos = 0
        for n, cp in utf8_units(data):
            self.starts.append(pos)
            self.classes.append(char_class(cp))
            pos += n
        self.starts.append(pos)

    def run(self, k: int, end: int, cls: CharClass) -> int:
        while k < end and self.classes[k] == cls:
            k += 1
        return k


def _gpt2_match(sc: _Scanner, k: int, end: int) -> int:
    """Unit index where the GPT-2 regex match starting at unit k ends:
    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"""
    data, cls = sc.data, sc.classes
    b = sc.starts[k]
    c_end = _contraction_end(data, b, sc.starts[end], False)
    if c_end >= 0:
        return k + (2 if c_end - b == 2 else 3)
    c0 = cls[k]
    if c0 != CharClass.SPACE:
        return sc.run(k, end, c0)
    if data[b] == 0x20 and k + 1 < end and cls[k + 1] != CharClass.SPACE:
        return sc.run(k + 1, end, cls[k + 1])
    return _space_match(sc, k, end)


def _space_match(sc: _Scanner, k: int, end: int) -> int:
    """\\s+(?!\\S)|\\s+ at a whitespace unit k."""
    j = sc.run(k, end, CharClass.SPACE)
    if j == end or j - k == 1:
        return j
    return j - 1          # leave the last space to start the next word


def _llama3_match(sc: _Scanner, k: int, end: int) -> int:
    """(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|
    ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"""
    data, cls = sc.data, sc.classes
    b = sc.starts[k]
    c_end = _contraction_end(data, b, sc.starts[end], True)
    if c_end >= 0:
        return k + (2 if c_end - b == 2 else 3)
    c0 = cls[k]
    if c0 == CharClass.LETTER:
        return sc.run(k, end, CharClass.LETTER)
    if (c0 != CharClass.NUMBER and data[b] not in (0x0A, 0x0D) and k + 1 < end
            and cls[k + 1] == CharClass.LETTER):
        return sc.run(k + 1, end, CharClass.LETTER)
    if c0 == CharClass.NUMBER:
        return min(sc.run(k, end, CharClass.NUMBER), k + 3)
    j = -1
    if c0 == CharClass.OTHER:
        j = sc.run(k, end, CharClass.OTHER)
    elif data[b] == 0x20 and k + 1 < end and cls[k + 1] == CharClass.OTHER:
        j = sc.run(k + 1, end, CharClass.OTHER)
    if j >= 0:
        while j < end and data[sc.starts[j]] in (0x0A, 0x0D):
            j += 1
        return j
    # c0 is whitespace: \s*[\r\n]+ ends after the last newline of the run
    j = sc.run(k, end, CharClass.SPACE)
    for m in range(j - 1, k - 1, -1):
        if data[sc.starts[m]] in (0x0A, 0x0D):
            return m + 1
    return _space_match(sc, k, end)


def pretokenize(data: bytes, kind: PreTokenizer) -> list[bytes]:
    """Split a fragment of text (no special tokens in it) into words."""
    if not data:
        return []
    if kind == PreTokenizer.NONE:
        return [data]
    sc = _Scanner(data)
    n = len(sc.classes)
    words: list[bytes] = []

    def scan(k: int, end: int, match) -> None:
        while k < end:
            j = match(sc, k, end)
            words.append(data[sc.starts[k]:sc.starts[j]])
            k = j

    if kind == PreTokenizer.GPT2:
        scan(0, n, _gpt2_match)
    elif kind == PreTokenizer.LLAMA3:
        scan(0, n, _llama3_match)
    elif kind == PreTokenizer.SMOLLM:
        # HF: Sequence[Digits(individual_digits=True), ByteLevel(use_regex=True)]:
        # every \p{N} is isolated first, then the GPT-2 regex runs on each piece
        # between them as a separate string.
        k = 0
        while k < n:
            if sc.classes[k] == CharClass.NUMBER:
                words.append(data[sc.starts[k]:sc.starts[k + 1]])
                k += 1
                continue
            j = k
            while j < n and sc.classes[j] != CharClass.NUMBER:
                j += 1
            scan(k, j, _gpt2_match)
            k = j
    else:
        raise ValueError(f"unknown pre-tokenizer {kind}")
    return words


# ---------------------------------------------------------------------------
# The tokenizer

class Tokenizer:
    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        n = len(vocab.tokens)
        if len(vocab.scores) != n or len(vocab.types) != n:
            raise ValueError("vocab tokens, scores and types differ in length")
        self.kind = VocabKind(vocab.kind)
        self.tokens = [bytes(t) for t in vocab.tokens]
        self.types = [TokenType(t) for t in vocab.types]
        self.scores = [f32(s) for s in vocab.scores]   # the C side has floats
        is_sp = self.kind != VocabKind.BYTE_BPE
        # Pieces the segmentation may produce, bytes -> id (first id wins).
        # SentencePiece keeps NORMAL and USER_DEFINED here (UNUSED pieces are never
        # produced; sentencepiece's BPE merges then re-splits them, which we do not
        # reproduce); byte-level BPE keeps everything but CONTROL and UNKNOWN.
        eligible = ({TokenType.NORMAL, TokenType.USER_DEFINED} if is_sp else
                    {TokenType.NORMAL, TokenType.BYTE, TokenType.USER_DEFINED, TokenType.UNUSED})
        self.piece_ids: dict[bytes, int] = {}
        for i, (t, ty) in enumerate(zip(self.tokens, self.types)):
            if ty in eligible and t and t not in self.piece_ids:
                self.piece_ids[t] = i
        # Single bytes: SentencePiece's <0xAB> byte-fallback tokens, or byte-level
        # BPE's 256 base tokens.
        self.byte_ids = [-1] * 256
        if is_sp:
            for i, (t, ty) in enumerate(zip(self.tokens, self.types)):
                if ty == TokenType.BYTE and len(t) == 1 and self.byte_ids[t[0]] < 0:
                    self.byte_ids[t[0]] = i
            self.byte_fallback = all(b >= 0 for b in self.byte_ids)
        else:
            for b in range(256):
                self.byte_ids[b] = self.piece_ids.get(bytes([b]), -1)
            self.byte_fallback = False
        # BYTE_BPE merges: (left id, right id) -> (rank, merged id); a pair listed
        # twice keeps its last rank, as HF tokenizers' HashMap does.
        self.merges: dict[tuple[int, int], tuple[int, int]] = {}
        for rank, (a, b) in enumerate(vocab.merges):
            merged = self.piece_ids.get(self.tokens[a] + self.tokens[b])
            if merged is None:
                raise ValueError(f"merge {rank} ({a}, {b}) makes no token of the vocab")
            self.merges[(a, b)] = (rank, merged)
        normal = [s for s, ty in zip(self.scores, self.types) if ty == TokenType.NORMAL]
        # sentencepiece: min_score_ over NORMAL pieces, kUnkPenalty = 10, in float
        self.unk_score = f32((min(normal) if normal else 0.0) - 10.0)
        self.max_token_len = max((len(t) for t in self.tokens), default=0)
        self._special_res = {mode: self._special_regex(mode) for mode in (None, True)}
        self.default_system = default_system_prompt(vocab.chat_template)

    # -- special tokens written in the text --------------------------------

    def _special_regex(self, mode: bool | None) -> tuple[re.Pattern[bytes], dict[bytes, int]] | None:
        """Tokens matched literally in the text, leftmost-longest (lowest id on ties).
        None: what the reference library does (HF: every added token; sentencepiece:
        user-defined pieces only); True: also control tokens (llama.cpp parse_special)."""
        kinds = {TokenType.USER_DEFINED}
        if mode is True or self.kind == VocabKind.BYTE_BPE:
            kinds.add(TokenType.CONTROL)
        seen: dict[bytes, int] = {}
        for i, (t, ty) in enumerate(zip(self.tokens, self.types)):
            if ty in kinds and t and t not in seen:
                seen[t] = i
        if not seen:
            return None
        # Python's re tries alternatives in order: longest first = leftmost-longest.
        alts = sorted(seen, key=lambda t: (-len(t), seen[t]))
        return re.compile(b"|".join(re.escape(t) for t in alts)), seen

    def _split_special(self, data: bytes, special: bool | None) -> list[bytes | int]:
        found = None if special is False else self._special_res[special]
        if found is None:
            return [data] if data else []
        pattern, ids = found
        parts: list[bytes | int] = []
        pos = 0
        for m in pattern.finditer(data):
            if m.start() > pos:
                parts.append(data[pos:m.start()])
            parts.append(ids[m.group()])
            pos = m.end()
        if pos < len(data):
            parts.append(data[pos:])
        return parts

    # -- encoding ------------------------------------------------------------

    def encode(self, text: str | bytes, add_bos: bool | None = None,
               special: bool | None = None) -> list[int]:
        """Token ids of `text`. add_bos None: the vocab's add_bos. special None:
        special tokens written in the text are matched as the reference library
        does; True: control tokens too; False: never."""
        data = to_bytes(text)
        ids: list[int] = []
        if (self.vocab.add_bos if add_bos is None else add_bos) and self.vocab.bos_id >= 0:
            ids.append(self.vocab.bos_id)
        if self.kind == VocabKind.BYTE_BPE:
            for part in self._split_special(data, special):
                if isinstance(part, int):
                    ids.append(part)
                    continue
                for word in pretokenize(part, self.vocab.pretokenizer):
                    self._byte_bpe_word(word, ids)
            return ids
        # SentencePiece: dummy prefix on the whole text, spaces become '▁'.
        if self.vocab.add_space_prefix and data:
            data = b" " + data
        data = data.replace(b" ", SPACE_MARK)
        for part in self._split_special(data, special):
            if isinstance(part, int):
                ids.append(part)
            elif self.kind == VocabKind.SP_BPE:
                self._emit_sp(self._sp_bpe(part), ids)
            else:
                self._emit_sp(self._sp_unigram(part), ids)
        return ids

    def _merge(self, syms: list[list[int]], pair) -> None:
        """Merge adjacent symbols by priority, best first, leftmost on ties.

        syms[i] = [byte length, id, prev, next]; pair(l, r) -> (priority, id) or None,
        higher priority first. Stale heap entries are recognised by the summed
        length, as in sentencepiece's and llama.cpp's BPE.
        """
        heap: list[tuple[float, int, int, int, int]] = []

        def push(l: int, r: int) -> None:
            if l < 0 or r < 0:
                return
            found = pair(l, r)
            if found is not None:
                prio, merged = found
                heapq.heappush(heap, (-prio, l, r, syms[l][0] + syms[r][0], merged))

        for i in range(len(syms) - 1):
            push(i, i + 1)
        while heap:
            _, l, r, size, merged = heapq.heappop(heap)
            sl, sr = syms[l], syms[r]
            if sl[0] == 0 or sr[0] == 0 or sl[3] != r or sl[0] + sr[0] != size:
                continue
            sl[0] = size
            sl[1] = merged
            sl[3] = sr[3]
            if sr[3] >= 0:
                syms[sr[3]][2] = l
            sr[0] = 0
            push(sl[2], l)
            push(l, sl[3])

    def _sp_bpe(self, data: bytes) -> list[tuple[bytes, int]]:
        units = utf8_units(data)
        syms: list[list[int]] = []
        starts = []
        pos = 0
        for i, (n, _) in enumerate(units):
            syms.append([n, self.piece_ids.get(data[pos:pos + n], -1), i - 1,
                         i + 1 if i + 1 < len(units) else -1])
            starts.append(pos)
            pos += n

        def pair(l: int, r: int):
            piece = data[starts[l]:starts[l] + syms[l][0] + syms[r][0]]
            i = self.piece_ids.get(piece)
            return None if i is None else (self.scores[i], i)

        self._merge(syms, pair)
        out = []
        k = 0 if syms else -1
        while k >= 0:
            out.append((data[starts[k]:starts[k] + syms[k][0]], syms[k][1]))
            k = syms[k][3]
        return out

    def _sp_unigram(self, data: bytes) -> list[tuple[bytes, int]]:
        """sentencepiece's EncodeOptimized: Viterbi over byte positions, path scores
        stored as floats, a piece's candidate compared in double (its score
        expression is a double in the C++), an unknown's in float."""
        n = len(data)
        best_score = [0.0] * (n + 1)
        best_start = [-1] * (n + 1)
        best_id = [-1] * (n + 1)
        pos = 0
        for mblen, _ in utf8_units(data):
            here = best_score[pos]
            has_single = False
            for e in range(pos + 1, min(n, pos + self.max_token_len) + 1):
                i = self.piece_ids.get(data[pos:e])
                if i is None:
                    continue
                cand = self.scores[i] + here       # exact in double
                if best_start[e] == -1 or cand > best_score[e]:
                    best_score[e] = f32(cand)
                    best_start[e] = pos
                    best_id[e] = i
                if e - pos == mblen:
                    has_single = True
            if not has_single:
                e = pos + mblen
                cand = f32(self.unk_score + here)
                if best_start[e] == -1 or cand > best_score[e]:
                    best_score[e] = cand
                    best_start[e] = pos
                    best_id[e] = -1
            pos += mblen
        out = []
        e = n
        while e > 0:
            s = best_start[e]
            out.append((data[s:e], best_id[e]))
            e = s
        out.reverse()
        return out

    def _emit_sp(self, pieces: list[tuple[bytes, int]], ids: list[int]) -> None:
        """Unknown pieces: their bytes' <0xAB> tokens with byte fallback; else the
        unknown id, one per run of unknown pieces (sentencepiece fuses them)."""
        prev_unk = False
        for piece, i in pieces:
            if i >= 0:
                ids.append(i)
                prev_unk = False
            elif self.byte_fallback:
                ids.extend(self.byte_ids[b] for b in piece)
            else:
                if not prev_unk and self.vocab.unk_id >= 0:
                    ids.append(self.vocab.unk_id)
                prev_unk = True

    def _byte_bpe_word(self, word: bytes, ids: list[int]) -> None:
        if self.vocab.pretokenizer == PreTokenizer.LLAMA3:
            # llama.cpp and HF (ignore_merges) take a word that is a token whole.
            whole = self.piece_ids.get(word)
            if whole is not None:
                ids.append(whole)
                return
        syms: list[list[int]] = []
        for b in word:
            i = self.byte_ids[b]
            if i < 0:
                continue    # HF BPE without unk_token drops a byte it has no token for
            syms.append([1, i, len(syms) - 1, len(syms) + 1])
        if not syms:
            return
        syms[-1][3] = -1

        def pair(l: int, r: int):
            found = self.merges.get((syms[l][1], syms[r][1]))
            return None if found is None else (-found[0], found[1])

        self._merge(syms, pair)
        k = 0
        while k >= 0:
            ids.append(syms[k][1])
            k = syms[k][3]

    # -- decoding ------------------------------------------------------------

    def decode_token(self, prev_id: int, token_id: int) -> bytes:
        """Bytes of one token for streaming; prev_id is the token before it, -1 at
        the start. SentencePiece drops the dummy-prefix space of the first piece
        (at the start or right after BOS) and renders control tokens as nothing."""
        if not 0 <= token_id < len(self.tokens):
            raise ValueError(f"token id {token_id} out of range 0..{len(self.tokens) - 1}")
        t = self.tokens[token_id]
        if self.kind == VocabKind.BYTE_BPE:
            return t
        ty = self.types[token_id]
        if ty == TokenType.CONTROL:
            return b""
        if ty == TokenType.UNKNOWN:
            return UNK_SURFACE
        if ty == TokenType.BYTE:
            return t
        if (self.vocab.add_space_prefix and t.startswith(SPACE_MARK)
                and (prev_id < 0 or prev_id == self.vocab.bos_id)):
            t = t[len(SPACE_MARK):]
        return t.replace(SPACE_MARK, b" ")

    def decode(self, ids: Iterable[int]) -> bytes:
        out = bytearray()
        prev = -1
        for i in ids:
            out += self.decode_token(prev, i)
            prev = i
        return bytes(out)

    # -- chat ------------------------------------------------------------------

    def apply_chat_template(self, messages: Sequence[Mapping[str, str]],
                            add_generation_prompt: bool = True) -> str:
        """ChatML: <|im_start|>role\\ncontent<|im_end|>\\n per message, with the
        model's default system message first when its template adds one."""
        out = []
        if messages and messages[0]["role"] != "system" and self.default_system is not None:
            out.append(f"{IM_START}system\n{self.default_system}{IM_END}\n")
        for m in messages:
            out.append(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n")
        if add_generation_prompt:
            out.append(f"{IM_START}assistant\n")
        return "".join(out)

    def encode_chat(self, messages: Sequence[Mapping[str, str]],
                    add_generation_prompt: bool = True) -> list[int]:
        """Ids of the ChatML prompt: the template's markers are matched as control
        tokens whatever the vocab kind (what tok_encode_chat does in C)."""
        if self.vocab.im_start_id < 0 or self.vocab.im_end_id < 0:
            raise ValueError("this vocabulary has no <|im_start|>/<|im_end|> tokens")
        return self.encode(self.apply_chat_template(messages, add_generation_prompt),
                           special=True)


def default_system_prompt(chat_template: str | bytes) -> str | None:
    """The system message a ChatML template adds when the first message is not a
    system one (SmolLM2: "You are a helpful AI assistant named SmolLM, ..."), or
    None. Recognised as: the guard `messages[0]['role'] != 'system'`, then
    `<|im_start|>system` and a newline (or a written `\\n`), then the text up to
    `<|im_end|>`. tokenizer.c finds it the same way."""
    t = chat_template.encode() if isinstance(chat_template, str) else chat_template
    g = t.find(DEFAULT_SYSTEM_GUARD)
    if g < 0:
        return None
    o = t.find(DEFAULT_SYSTEM_OPEN, g)
    if o < 0:
        return None
    s = o + len(DEFAULT_SYSTEM_OPEN)
    if t[s:s + 1] == b"\n":
        s += 1
    elif t[s:s + 2] == b"\\n":
        s += 2
    else:
        return None
    e = t.find(IM_END.encode(), s)
    if e < 0:
        return None
    return t[s:e].decode("utf-8", "surrogateescape")
