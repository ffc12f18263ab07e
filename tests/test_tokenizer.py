"""Tokenizer parity: model/tokenizer.py, ee_runtime_c/tokenizer.c (through
tests/c/tokenizer_driver.c, built with ASan/UBSan) and the reference libraries
(sentencepiece, HF tokenizers) must give the same ids; decode(encode(s)) == s.

Parity counts are printed (pytest -s shows them) and recorded as test properties.
"""
from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import default_model
import tok_fixtures as fx  # noqa: E402

from model.tokenizer import CharClass, Tokenizer, char_class, to_bytes  # noqa: E402
from model.vocab import PreTokenizer, TokenType, Vocab, VocabKind  # noqa: E402
from model.vocab_import import (  # noqa: E402
    vocab_from_gguf_metadata, vocab_from_llama2c, vocab_from_sentencepiece,
    vocab_from_tokenizer_json)
from model.vocab_section import vocab_from_section, vocab_to_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "ee_runtime_c"
C_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-g", "-O1",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
MIPS_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-march=mips32", "-msingle-float",
              "-ffreestanding", "-nostdlib", "-fno-pic", "-mno-abicalls", "-G0", "-O2"]
ALLOWED_LIBC = {"memcpy", "memcmp", "memset", "strlen"}
TOK_ERR_OUT_FULL, TOK_ERR_SCRATCH = -3, -4


# ---------------------------------------------------------------------------
# The C driver

@dataclass
class CResult:
    ids: list[int] | None      # None: an error status
    status: int
    decoded: bytes


class CTokenizer:
    def __init__(self, driver: Path, section: bytes, tmp: Path) -> None:
        self.driver = driver
        self.path = tmp / f"section-{abs(hash(section))}.bin"
        self.path.write_bytes(section)

    def run(self, records: list[tuple[str, bytes, int, int]]) -> list[CResult]:
        stdin = bytearray()
        for op, text, add_bos, special in records:
            stdin += struct.pack("<cbbI", op.encode(), add_bos, special, len(text)) + text
        p = subprocess.run([str(self.driver), str(self.path), "encode"], input=bytes(stdin),
                           capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
        lines = p.stdout.decode().split("\n")
        out = []
        for k in range(len(records)):
            head, dec = lines[2 * k], lines[2 * k + 1]
            assert dec.startswith("D ")
            if head.startswith("ERR"):
                out.append(CResult(None, int(head.split()[1]), b""))
            else:
                nums = [int(x) for x in head.split()]
                assert nums[0] == len(nums) - 1
                out.append(CResult(nums[1:], 0, bytes.fromhex(dec[2:])))
        return out

    def encode_many(self, texts: list[bytes], add_bos: int = -1, special: int = -1) -> list[CResult]:
        return self.run([("E", t, add_bos, special) for t in texts])


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tok")


@pytest.fixture(scope="module")
def unicode_c(build_dir) -> Path:
    out = build_dir / "unicode_tables.gen.c"
    subprocess.run([sys.executable, "-m", "codegen.unicode_tables", str(out)], cwd=ROOT, check=True)
    return out


@pytest.fixture(scope="module")
def driver(build_dir, unicode_c) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    exe = build_dir / "tokenizer_driver"
    subprocess.run(["gcc", *C_FLAGS, f"-I{RUNTIME}", str(ROOT / "tests/c/tokenizer_driver.c"),
                    str(RUNTIME / "tokenizer.c"), str(unicode_c), "-o", str(exe)], check=True)
    return exe


def report(request, name: str, same: int, total: int) -> None:
    request.node.user_properties.append((name, f"{same}/{total}"))
    print(f"\n[tokenizer parity] {name}: {same}/{total} identical")


# ---------------------------------------------------------------------------
# Models

def parity_texts(n_random: int = 400) -> list[str]:
    return fx.PARITY_STRINGS + fx.MULTILINGUAL + fx.random_strings(n_random, seed=99)


@pytest.fixture(scope="module")
def sp_models() -> dict[str, bytes]:
    pytest.importorskip("sentencepiece")
    models = {t: fx.train_sentencepiece(t) for t in ("bpe", "unigram")}
    for t in ("bpe", "unigram"):
        models[f"{t}-no-byte-fallback"] = fx.train_sentencepiece(t, byte_fallback=False)
    return models


@pytest.fixture(scope="module")
def byte_bpe_models(build_dir) -> dict[str, Path]:
    pytest.importorskip("tokenizers")
    return {"smollm-style": fx.train_byte_bpe(build_dir / "bbpe-smollm"),
            "llama3-style": fx.train_byte_bpe(build_dir / "bbpe-llama3", llama3=True)}


@pytest.fixture(scope="module")
def smollm2(build_dir):
    path = fx.smollm2_gguf(build_dir)
    if path is None:
        pytest.skip(default_model.SKIP_REASON)
    pytest.importorskip("gguf")
    meta = fx.gguf_tokenizer_metadata(path)
    return meta, vocab_from_gguf_metadata(meta, where=str(path))


@pytest.fixture(scope="module")
def smollm2_or_none(build_dir):
    """SmolLM2's vocab for tests that also run without it."""
    path = fx.smollm2_gguf(build_dir)
    if path is None:
        return None
    return vocab_from_gguf_metadata(fx.gguf_tokenizer_metadata(path), where=str(path))


def smollm2_reference(meta: dict):
    """SmolLM2's HF tokenizer rebuilt from the GGUF: the vocab and merges, the
    pre-tokenizer of its tokenizer.json (Digits(individual) + ByteLevel) and its
    special tokens as added tokens."""
    from tokenizers import AddedToken, Tokenizer as HF, decoders, models, pre_tokenizers

    toks, types = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    hf = HF(models.BPE(vocab={t: i for i, t in enumerate(toks)},
                       merges=[tuple(m.split(" ")) for m in meta["tokenizer.ggml.merges"]]))
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    hf.decoder = decoders.ByteLevel()
    hf.add_special_tokens([AddedToken(toks[i], special=True, normalized=False)
                           for i in range(len(toks)) if types[i] == TokenType.CONTROL])
    return hf


def expected_roundtrip(tok: Tokenizer, data: bytes) -> bytes:
    """Byte-level BPE drops bytes the vocab has no token for (as HF does)."""
    if tok.kind == VocabKind.BYTE_BPE:
        return bytes(b for b in data if tok.byte_ids[b] >= 0)
    return data


def check_three_way(request, name: str, vocab: Vocab, ref_encode, ref_decode, ctok: CTokenizer,
                    texts: list[str], add_bos: bool, roundtrip: bool = True) -> None:
    """Python == reference == C on every text, and decode(encode(s)) == s."""
    tok = Tokenizer(vocab)
    data = [to_bytes(s) for s in texts]
    c_results = ctok.encode_many(data, add_bos=int(add_bos))
    same_ref = same_c = 0
    diffs = []
    for s, b, c in zip(texts, data, c_results):
        py = tok.encode(b, add_bos=add_bos)
        ref = ref_encode(s)
        same_ref += py == ref
        same_c += py == c.ids
        if (py != ref or py != c.ids) and len(diffs) < 5:
            diffs.append((s, py, ref, c.ids))
        assert not roundtrip or tok.decode(py) == expected_roundtrip(tok, b), s
        assert c.decoded == tok.decode(py), s
        if ref_decode is not None:
            assert ref_decode(py) == tok.decode(py).decode("utf-8"), s
    report(request, f"{name} python==reference", same_ref, len(texts))
    report(request, f"{name} python==C", same_c, len(texts))
    assert same_ref == len(texts) and same_c == len(texts), diffs


# ---------------------------------------------------------------------------
# Parity

@pytest.mark.parametrize("model_type", ["bpe", "unigram", "bpe-no-byte-fallback",
                                        "unigram-no-byte-fallback"])
def test_sentencepiece_parity(request, sp_models, driver, build_dir, model_type):
    import sentencepiece as spm

    proto = sp_models[model_type]
    sp = spm.SentencePieceProcessor(model_proto=proto)
    vocab = vocab_from_sentencepiece(proto)
    assert vocab.kind == (VocabKind.SP_BPE if model_type.startswith("bpe") else VocabKind.SP_UNIGRAM)
    assert vocab.add_space_prefix and vocab.im_start_id >= 0
    fallback = "no-byte-fallback" not in model_type
    assert Tokenizer(vocab).byte_fallback == fallback
    ctok = CTokenizer(driver, vocab_to_section(vocab), build_dir)
    # without byte fallback, unknown characters decode to " ⁇ ": no round trip
    check_three_way(request, f"sentencepiece-{model_type}", vocab,
                    lambda s: sp.encode(s, add_bos=True), sp.decode, ctok,
                    parity_texts(1500), True, roundtrip=fallback)


def test_sentencepiece_specials(sp_models):
    """sentencepiece matches user-defined pieces written in the text, not control
    ones; special=True (chat) matches control ones too."""
    import sentencepiece as spm

    proto = sp_models["bpe"]
    sp = spm.SentencePieceProcessor(model_proto=proto)
    tok = Tokenizer(vocab_from_sentencepiece(proto))
    im_start, ctl = sp.piece_to_id("<|im_start|>"), sp.piece_to_id("<ctl>")
    assert im_start in tok.encode("a<|im_start|>b") == sp.encode("a<|im_start|>b", add_bos=True)
    assert ctl not in tok.encode("a<ctl>b") and sp.encode("a<ctl>b", add_bos=True) == tok.encode("a<ctl>b")
    assert ctl in tok.encode("a<ctl>b", special=True)
    assert im_start not in tok.encode("a<|im_start|>b", special=False)


@pytest.mark.parametrize("style", ["smollm-style", "llama3-style"])
def test_byte_bpe_parity(request, byte_bpe_models, driver, build_dir, style):
    from tokenizers import Tokenizer as HF

    path = byte_bpe_models[style]
    hf = HF.from_file(str(path))
    vocab = vocab_from_tokenizer_json(path)
    assert vocab.pretokenizer == (PreTokenizer.SMOLLM if style == "smollm-style" else PreTokenizer.LLAMA3)
    ctok = CTokenizer(driver, vocab_to_section(vocab), build_dir)
    check_three_way(request, f"byte-bpe-{style}", vocab, lambda s: hf.encode(s).ids,
                    lambda ids: hf.decode(ids, skip_special_tokens=False), ctok, parity_texts(1500), False)


def test_smollm2_parity(request, smollm2, driver, build_dir):
    meta, vocab = smollm2
    assert vocab.kind == VocabKind.BYTE_BPE and vocab.pretokenizer == PreTokenizer.SMOLLM
    assert (vocab.bos_id, vocab.eos_id, vocab.im_start_id, vocab.im_end_id) == (1, 2, 1, 2)
    hf = smollm2_reference(meta)
    ctok = CTokenizer(driver, vocab_to_section(vocab), build_dir)
    texts = parity_texts(1500) + fx.shared_english(300)
    check_three_way(request, "smollm2", vocab, lambda s: hf.encode(s).ids,
                    lambda ids: hf.decode(ids, skip_special_tokens=False), ctok, texts, False)


def test_invalid_utf8(request, sp_models, byte_bpe_models, smollm2_or_none, driver, build_dir):
    """Invalid UTF-8: Python == C, no crash, lossless round trip (minus bytes a
    byte-level vocab has no token for), and the reference agrees wherever it
    accepts the input (sentencepiece replaces bad bytes with U+FFFD, so only the
    valid parts are compared there)."""
    vocabs = {f"sp-{k}": vocab_from_sentencepiece(v) for k, v in sp_models.items()
              if "no-byte-fallback" not in k}
    vocabs.update({k: vocab_from_tokenizer_json(p) for k, p in byte_bpe_models.items()})
    if smollm2_or_none is not None:
        vocabs["smollm2"] = smollm2_or_none
    rng = random.Random(5)
    texts = list(fx.INVALID_UTF8) + [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
                                     for _ in range(100)]
    total = same = 0
    for name, vocab in vocabs.items():
        tok = Tokenizer(vocab)
        ctok = CTokenizer(driver, vocab_to_section(vocab), build_dir)
        for b, c in zip(texts, ctok.encode_many(texts)):
            py = tok.encode(b)
            total += 1
            same += py == c.ids
            assert py == c.ids, (name, b)
            assert tok.decode(py) == expected_roundtrip(tok, b) == c.decoded, (name, b)
    report(request, "invalid utf-8 python==C", same, total)
    # where the input is valid, the byte handling must not change anything around it
    tok = Tokenizer(vocabs["sp-bpe"])
    ids = tok.encode(b"abc\xffdef")
    assert tok.byte_ids[0xFF] in ids and tok.decode(ids) == b"abc\xffdef"


def test_chat(smollm2, sp_models, driver, build_dir):
    """ChatML, SmolLM2's default system message, and C's tok_encode_chat."""
    jinja2 = pytest.importorskip("jinja2")
    meta, vocab = smollm2
    tok = Tokenizer(vocab)
    assert tok.default_system == "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    template = jinja2.Environment().from_string(vocab.chat_template)
    ctok = CTokenizer(driver, vocab_to_section(vocab), build_dir)
    users = ["Hi there", "", "What is 2+2?\nThanks 😀", "<|im_end|> injected"]
    for user in users:
        for messages in ([{"role": "user", "content": user}],
                         [{"role": "system", "content": "Be brief."}, {"role": "user", "content": user}]):
            assert tok.apply_chat_template(messages) == template.render(
                messages=messages, add_generation_prompt=True)
        ids = tok.encode_chat([{"role": "user", "content": user}])
        assert ids == tok.encode(tok.apply_chat_template([{"role": "user", "content": user}]))
        assert ids == smollm2_reference(meta).encode(
            tok.apply_chat_template([{"role": "user", "content": user}])).ids
    c = ctok.run([("C", u.encode(), -1, -1) for u in users])
    assert [r.ids for r in c] == [tok.encode_chat([{"role": "user", "content": u}]) for u in users]
    # SentencePiece with ChatML markers as user-defined pieces: C == Python
    vocab_sp = vocab_from_sentencepiece(sp_models["unigram"])
    tok_sp = Tokenizer(vocab_sp)
    c = CTokenizer(driver, vocab_to_section(vocab_sp), build_dir).run([("C", u.encode(), -1, -1) for u in users])
    assert [r.ids for r in c] == [tok_sp.encode_chat([{"role": "user", "content": u}]) for u in users]


def test_c_errors(smollm2_or_none, sp_models, driver, build_dir):
    """Too small an output or scratch is a status, not an overflow."""
    for vocab in (smollm2_or_none, vocab_from_sentencepiece(sp_models["unigram"])):
        if vocab is None:
            continue
        ctok = CTokenizer(driver, vocab_to_section(vocab), build_dir)
        r = ctok.run([("T", b"hello world, a longer text", 0, -1), ("S", b"hello", 0, -1),
                      ("T", b"", 0, -1)])
        assert r[0].status == TOK_ERR_OUT_FULL
        assert r[1].status == TOK_ERR_SCRATCH
        assert r[2].ids == []


# ---------------------------------------------------------------------------
# The section format

def test_section_roundtrip(sp_models, byte_bpe_models, smollm2_or_none):
    vocabs = [vocab_from_sentencepiece(v) for v in sp_models.values()]
    vocabs += [vocab_from_tokenizer_json(p) for p in byte_bpe_models.values()]
    if smollm2_or_none is not None:
        vocabs.append(smollm2_or_none)
    for v in vocabs:
        data = vocab_to_section(v)
        back = vocab_from_section(data)
        for field in ("kind", "tokens", "types", "merges", "bos_id", "eos_id", "unk_id", "pad_id",
                      "add_bos", "add_space_prefix", "pretokenizer", "chat_template",
                      "im_start_id", "im_end_id"):
            assert getattr(back, field) == getattr(v, field), field
        assert back.scores == [struct.unpack("<f", struct.pack("<f", s))[0] for s in v.scores]
        assert vocab_to_section(back) == data


def _mutations(data: bytes, rng: random.Random, n: int) -> list[bytes]:
    out = [data[:k] for k in (0, 10, 63, 64, 65, len(data) // 2, len(data) - 1)]
    out.append(data + b"\0")
    for _ in range(n):
        b = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            # mostly the header and the first records, where the structure is
            at = rng.randrange(min(len(b), 400)) if rng.random() < 0.7 else rng.randrange(len(b))
            b[at] = rng.randrange(256)
        out.append(bytes(b))
    for field, value in ((4, 0), (4, 0xFFFFFFFF), (8, 0x7FFFFFFF), (12, 10 ** 9), (44, 0),
                         (48, 0xFFFFFFF0), (0, 9), (40, 7)):
        b = bytearray(data)
        b[field:field + 4] = struct.pack("<I", value)
        out.append(bytes(b))
    return out


def test_corrupt_sections(sp_models, byte_bpe_models, driver):
    """Corrupt sections: Python raises ValueError, C returns an error status, both
    agree on what they accept, and nothing reads out of bounds (ASan)."""
    rng = random.Random(11)
    cases = []
    for v in (vocab_from_sentencepiece(sp_models["unigram"]),
              vocab_from_tokenizer_json(byte_bpe_models["smollm-style"])):
        cases += _mutations(vocab_to_section(v), rng, 150)
    stdin = b"".join(struct.pack("<I", len(c)) + c for c in cases)
    p = subprocess.run([str(driver), "-", "load"], input=stdin, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    statuses = [int(x) for x in p.stdout.split()]
    assert len(statuses) == len(cases)
    rejected = 0
    for data, status in zip(cases, statuses):
        try:
            Tokenizer(vocab_from_section(data))
            py_ok = True
        except ValueError as e:
            assert "tokenizer section" in str(e) or "merge" in str(e)
            py_ok = False
        rejected += not py_ok
        assert py_ok == (status == 0), (status, data[:64].hex())
    assert rejected > len(cases) // 4


# ---------------------------------------------------------------------------
# Importers

def test_llama2c_and_gguf_llama_import(sp_models, tmp_path):
    """A llama2.c tokenizer.bin and GGUF 'llama' metadata made from the SP BPE
    model tokenize as sentencepiece does."""
    import sentencepiece as spm

    proto = sp_models["bpe"]
    sp = spm.SentencePieceProcessor(model_proto=proto)
    v = vocab_from_sentencepiece(proto)
    n = sp.get_piece_size()
    # llama2.c's export: '▁' written as ' ', byte pieces as "<0xAB>"
    blob = bytearray(struct.pack("<i", 0))
    pieces = []
    for i in range(n):
        p = sp.id_to_piece(i)
        if not sp.is_control(i) and not sp.is_unknown(i) and not sp.is_byte(i):
            p = p.replace("\u2581", " ")
        pieces.append(p.encode())
    blob[0:4] = struct.pack("<i", max(len(p) for p in pieces))
    for i, p in enumerate(pieces):
        blob += struct.pack("<fi", sp.get_score(i), len(p)) + p
    (tmp_path / "tokenizer.bin").write_bytes(bytes(blob))
    v2c = vocab_from_llama2c(tmp_path / "tokenizer.bin", vocab_size=n)
    meta = {"tokenizer.ggml.model": "llama",
            "tokenizer.ggml.tokens": [sp.id_to_piece(i) for i in range(n)],
            "tokenizer.ggml.scores": [sp.get_score(i) for i in range(n)],
            "tokenizer.ggml.token_type": [int(t) for t in v.types],
            "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
            "tokenizer.ggml.unknown_token_id": 0}
    vg = vocab_from_gguf_metadata(meta)
    texts = [s for s in parity_texts(100) if "<|im_" not in s and "<ctl>" not in s]
    for vocab in (v2c, vg):
        tok = Tokenizer(vocab)
        for s in texts:
            assert tok.encode(s) == sp.encode(s, add_bos=True), s


def test_importer_rejections(tmp_path):
    import sentencepiece as spm
    import io

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(fx.training_corpus()[:300]),
                                   model_writer=buf, vocab_size=300, model_type="bpe",
                                   minloglevel=2, hard_vocab_limit=False)     # nmt_nfkc
    with pytest.raises(ValueError, match="normalization"):
        vocab_from_sentencepiece(buf.getvalue())
    with pytest.raises(ValueError, match="not a SentencePiece"):
        vocab_from_sentencepiece(b"\xff\xff\xff")
    with pytest.raises(ValueError, match="pre-tokenizer"):
        vocab_from_gguf_metadata({"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "qwen2",
                                  "tokenizer.ggml.tokens": ["a"]})
    with pytest.raises(ValueError, match="not supported"):
        vocab_from_gguf_metadata({"tokenizer.ggml.model": "bert", "tokenizer.ggml.tokens": ["a"]})
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps({"model": {"type": "Unigram", "vocab": []}}))
    with pytest.raises(ValueError, match="Unigram"):
        vocab_from_tokenizer_json(bad)


# ---------------------------------------------------------------------------
# C build: Unicode tables, the PS2 cross build, speed

def test_unicode_tables(driver):
    p = subprocess.run([str(driver), "-", "classes"], capture_output=True, timeout=120)
    assert p.returncode == 0
    got = p.stdout
    assert len(got) == 0x110000
    want = bytes(48 + char_class(cp) for cp in range(0x110000))
    assert got == want
    assert char_class(0x1C) == CharClass.OTHER and "\x1c".isspace()   # Oniguruma, not Python re
    assert unicodedata.unidata_version


def test_mips_cross_compile(unicode_c, tmp_path):
    cc = shutil.which("mipsel-linux-gnu-gcc")
    if cc is None:
        pytest.skip("mipsel-linux-gnu-gcc not installed")
    for src in (RUNTIME / "tokenizer.c", unicode_c):
        obj = tmp_path / (src.stem + ".o")
        subprocess.run([cc, *MIPS_FLAGS, f"-I{RUNTIME}", "-c", str(src), "-o", str(obj)], check=True)
        nm = subprocess.run(["mipsel-linux-gnu-nm", "-u", str(obj)], capture_output=True,
                            text=True, check=True).stdout.split()
        undefined = {s for s in nm if s != "U"} - {"tok_unicode_class"}
        assert undefined <= ALLOWED_LIBC, undefined     # no soft-float doubles, no libc


def test_c_speed(smollm2_or_none, sp_models, driver, build_dir):
    """Long inputs stay fast (heap-based merges, no quadratic rescans)."""
    text = " ".join(fx.shared_english(60)).encode() or b"word " * 20000
    long_runs = b" " * 20000 + b"x" * 20000 + "日本語".encode() * 3000
    for vocab in (smollm2_or_none, vocab_from_sentencepiece(sp_models["bpe"]),
                  vocab_from_sentencepiece(sp_models["unigram"])):
        if vocab is None:
            continue
        ctok = CTokenizer(driver, vocab_to_section(vocab), build_dir)
        t = time.perf_counter()
        r = ctok.encode_many([text, long_runs], add_bos=0)
        elapsed = time.perf_counter() - t
        tok = Tokenizer(vocab)
        assert r[0].ids == tok.encode(text, add_bos=False)
        assert r[1].ids == tok.encode(long_runs, add_bos=False)
        assert elapsed < 10, elapsed      # ASan build; a plain -O2 build is ~10x faster
        print(f"\n[tokenizer speed] C (ASan) {len(text) + len(long_runs)} bytes: {elapsed:.2f} s")
