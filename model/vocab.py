"""The tokenizer of a model as data: what importers produce, what the PSNT
tokenizer section stores, and what the Python and C tokenizers run from."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class TokenType(IntEnum):
    """Same numbering as SentencePiece's ModelProto and GGUF's token_type."""
    NORMAL = 1
    UNKNOWN = 2
    CONTROL = 3
    USER_DEFINED = 4
    UNUSED = 5
    BYTE = 6


class VocabKind(IntEnum):
    SP_BPE = 1        # SentencePiece BPE: merge the adjacent pair of best score
    SP_UNIGRAM = 2    # SentencePiece unigram: Viterbi over piece scores
    BYTE_BPE = 3      # GPT-2 style byte-level BPE with ranked merges


class PreTokenizer(IntEnum):
    """Splitting rules applied before byte-level BPE (BYTE_BPE only)."""
    NONE = 0
    GPT2 = 1          # GPT-2 regex ('s|'t|... ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)
    SMOLLM = 2        # GPT-2 rules, but every digit is its own piece (SmolLM / StarCoder)
    LLAMA3 = 3        # Llama 3 regex (numbers in runs of up to 3 digits)


@dataclass
class Vocab:
    kind: VocabKind
    # Each token as the raw bytes it decodes to. SentencePiece pieces keep their
    # U+2581 (▁) meta-space as UTF-8; byte-level BPE tokens are stored already
    # mapped back from GPT-2's byte-to-unicode alphabet to the real bytes.
    tokens: list[bytes]
    scores: list[float]
    types: list[TokenType]
    # BYTE_BPE: merges in rank order, as (left token id, right token id); the merged
    # token is the one whose bytes are the concatenation.
    merges: list[tuple[int, int]] = field(default_factory=list)
    bos_id: int = -1
    eos_id: int = -1
    unk_id: int = -1
    pad_id: int = -1
    add_bos: bool = False
    add_space_prefix: bool = False      # SentencePiece add_dummy_prefix
    pretokenizer: PreTokenizer = PreTokenizer.NONE
    chat_template: str = ""             # the model's Jinja chat template, verbatim
    im_start_id: int = -1               # ChatML markers, -1 when the model has none
    im_end_id: int = -1

    def __len__(self) -> int:
        return len(self.tokens)
