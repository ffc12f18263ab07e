"""Tokenizer test material: a training corpus, a parity corpus of awkward strings,
small SentencePiece / byte-level BPE models trained here from fixed seeds, and the
real SmolLM2 vocabulary when its GGUF is on this machine."""
from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import default_model

SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "smollm2-simple.jsonl.gz"

MULTILINGUAL = [
    "Café déjà vu, naïve façade, Ærøskøbing, Łódź, São Paulo, İstanbul.",
    "Straße über Öl; ÉCOLE élève à l'hôpital; señor año pingüino.",
    "日本語のテキストです。東京は大きい都市です。",
    "中文文本测试，我们喜欢学习新的东西。",
    "한국어 문장도 있습니다.",
    "مرحبا بالعالم، هذه جملة عربية.",
    "Привет, мир! Это русский текст.",
    "Γειά σου κόσμε, αυτό είναι ελληνικά.",
    "emoji 😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇫🇷 ok",
    "def f(x):\n    return x ** 2  # square\n\tprint(f(12))\n",
    "if (a != b && c <= 0x1F) { y = arr[i]; } // C code",
    "Numbers: 3.14159, 2718281828, 1,000,000 and 42nd; ٣٤٥ and ²³.",
    "Tabs\tand  double  spaces   and\nnewlines\n\nhere.",
]

PARITY_STRINGS: list[str] = [
    "", " ", "  ", "   leading", "trailing   ", "\n", "\n\n", "\t", " \t \n ",
    "Hello world", "Hello, world!", " Hello", "Hello ", "hello  world",
    "I'm you're we've they'll he'd it's DON'T 'S",
    "a 1 22 333 4444 55555 123456789012345678901234567890",
    "3.14 -2.5e10 0xDEADBEEF 1,234,567",
    "x = [i*i for i in range(10)]\nprint(x)\n",
    "    indented code\n\tstill\n",
    "!!!??? ... --- *** ;;; ''' \"\"\"",
    "😀😃😄 👍🏽👍🏿 👩‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 🇯🇵",
    "café naïve résumé Ångström",
    "日本語 中文 한국어",
    "مرحبا بالعالم",
    "mixed 日本 text with ١٢٣ digits",
    "<|im_start|>user\nhi<|im_end|>\n",
    "text<|im_start|>inside<|im_end|>words",
    "<|im_start|><|im_start|>",
    "<|im_sta",
    "<ctl> looks like a control token",
    "\u3000ideographic\u3000space\u00a0nbsp\u2009thin",
    "\x1c\x1dseparators\x1e\x1f",
    "\r\nwindows\r\nlines\r\n",
    "a\u0301 combining e\u0301",
    "zero\u200bwidth\u200djoiner",
    "Ω≈ç√∫˜µ≤≥÷ ¡™£¢∞§¶•ªº",
    "                                         many spaces",
    "x" * 200,
    " ".join(["word"] * 50),
]


def shared_english(n: int = 400) -> list[str]:
    """Responses from the shared SmolLM2 corpus (English), if it is there."""
    if not SHARED_CORPUS.exists():
        return []
    out = []
    with gzip.open(SHARED_CORPUS, "rt", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line)["response"])
            if len(out) >= n:
                break
    return out


def training_corpus() -> list[str]:
    rng = random.Random(1234)
    lines = shared_english(400)
    for _ in range(60):
        lines.extend(MULTILINGUAL)
    for _ in range(300):
        lines.append(" ".join(str(rng.randrange(10 ** rng.randrange(1, 8))) for _ in range(5)))
    rng.shuffle(lines)
    return lines


def random_strings(n: int, seed: int) -> list[str]:
    """Random mixtures of corpus fragments and awkward characters."""
    rng = random.Random(seed)
    pool = MULTILINGUAL + PARITY_STRINGS[:30] + shared_english(40)
    atoms = [" ", "  ", "\n", "\t", "'s", "'LL", "1", "2024", "👍🏽", "‍", "é", "e\u0301",
             "<|im_end|>", "\u00a0", "ß", "ǅ", "Ⅻ", "½", "\x7f", "\x00"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randrange(1, 6)):
            if rng.random() < 0.5:
                s = rng.choice(pool)
                a = rng.randrange(len(s) + 1)
                parts.append(s[a:a + rng.randrange(1, 40)])
            else:
                parts.append(rng.choice(atoms))
        out.append("".join(parts))
    return out


INVALID_UTF8: list[bytes] = [
    b"\xff", b"abc\x80def", b"\xc3", b"\xc3(", b"\xe2\x82", b"\xe2\x82(",
    b"\xed\xa0\x80 surrogate", b"\xc0\xaf overlong", b"\xf4\x90\x80\x80 too big",
    b"\xf0\x9f\x98", b"ok \xfe\xfe ok", b" \x80 \x80\x80 ", b"1\xff2", b"\xe6\x97\xa5\xe6",
]


def train_sentencepiece(model_type: str, vocab_size: int = 800, byte_fallback: bool = True) -> bytes:
    """A small SentencePiece model, trained here: identity normalization, byte
    fallback, two user-defined ChatML markers and one control symbol."""
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_corpus()), model_writer=buf,
        model_type=model_type, vocab_size=vocab_size, byte_fallback=byte_fallback,
        normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=True, split_digits=False, character_coverage=0.9995,
        user_defined_symbols=["<|im_start|>", "<|im_end|>"], control_symbols=["<ctl>"],
        hard_vocab_limit=False, num_threads=1,
        max_sentence_length=20000, minloglevel=2)
    return buf.getvalue()


def train_byte_bpe(tmp: Path, vocab_size: int = 1000, llama3: bool = False) -> Path:
    """A byte-level BPE trained with HF tokenizers, pre-tokenized like SmolLM2
    (Digits(individual) + ByteLevel) or like Llama 3 (Split regex + ByteLevel),
    saved as tokenizer.json + tokenizer_config.json in tmp; returns the json path."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    if llama3:
        from model.vocab_import import LLAMA3_PATTERN
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(training_corpus(), trainer=trainer)
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "tokenizer.json"
    tok.save(str(path))
    (tmp / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "add_bos_token": False,
        "chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] "
                         "+ '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}",
    }))
    return path


def smollm2_gguf(tmp: Path) -> Path | None:
    """The SmolLM2 GGUF, as `MODEL=smollm2-135m` finds it; None when it cannot be had."""
    return default_model.smollm2_gguf()


def gguf_tokenizer_metadata(path: Path) -> dict:
    """The tokenizer.* keys of a GGUF as plain Python values."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    return {k: f.contents() for k, f in reader.fields.items() if k.startswith("tokenizer.")}
