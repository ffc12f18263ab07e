"""PSNT v1 writer/reader: round trips and every kind of bad file."""
import struct
import zlib

import numpy as np
import pytest

from model.inspect import inspect_psnt
from model.psnt import SECTOR, PsntError, QuantPolicy, read_psnt, write_psnt
from model.quant import QuantType, QuantizedQ8
from model.weights import Role
from random_models import TINY, random_llama


@pytest.fixture
def tiny_model():
    return random_llama(TINY, seed=1)


@pytest.mark.parametrize("quant,group,tol", [(QuantType.F32, 0, 0), (QuantType.F16, 0, 2e-3),
                                             (QuantType.Q8, 0, 0.02), (QuantType.Q8, 16, 0.01)])
def test_round_trip(tmp_path, tiny_model, quant, group, tol):
    path = tmp_path / "m.psnt"
    report = write_psnt(path, tiny_model, QuantPolicy(default=quant, group_size=group))
    psnt = read_psnt(path)
    assert psnt.config == tiny_model.config
    assert psnt.vocab.tokens == tiny_model.vocab.tokens
    assert psnt.file_size == path.stat().st_size == report.file_size
    assert psnt.file_size % SECTOR == 0
    offsets = [e.offset for e in psnt.entries]
    assert offsets == sorted(offsets) and all(o % SECTOR == 0 for o in offsets)
    assert psnt.entries[0].name == "tok_embeddings" and psnt.entries[-1].name == "norm"
    for e in psnt.entries:
        want = tiny_model.weights[e.name]
        got = psnt.load_f32(e.name)
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= tol + 1e-7
        if e.role in (Role.ATTENTION_NORM, Role.FFN_NORM, Role.NORM):
            assert e.quant == QuantType.F32
        else:
            assert e.quant == quant
    if quant == QuantType.Q8:
        q = psnt.load("layers.0.wq")
        assert isinstance(q, QuantizedQ8) and q.group_size == (group or TINY.dim)
    assert psnt.role_quant[Role.WQ] == quant
    assert "0 with CRC errors" in inspect_psnt(str(path))


def test_untied_has_output(tmp_path):
    cfg = TINY.__class__(**{**TINY.__dict__, "tie_embeddings": False})
    model = random_llama(cfg, seed=2)
    write_psnt(tmp_path / "m.psnt", model, QuantPolicy())
    names = [e.name for e in read_psnt(tmp_path / "m.psnt").entries]
    assert names[-1] == "output"


@pytest.fixture
def good_file(tmp_path, tiny_model):
    path = tmp_path / "good.psnt"
    write_psnt(path, tiny_model, QuantPolicy())
    return path


def patched(path, offset, data, fix_header_crc=False):
    blob = bytearray(path.read_bytes())
    blob[offset:offset + len(data)] = data
    if fix_header_crc:
        struct.pack_into("<I", blob, 12, 0)
        struct.pack_into("<I", blob, 12, zlib.crc32(bytes(blob[:SECTOR])))
    out = path.with_name("bad.psnt")
    out.write_bytes(bytes(blob))
    return out


def fix_table_crc(path):
    blob = bytearray(path.read_bytes())
    n = struct.unpack_from("<I", blob, 60)[0]
    struct.pack_into("<I", blob, 72, zlib.crc32(bytes(blob[SECTOR:SECTOR + 64 * n])))
    struct.pack_into("<I", blob, 12, 0)
    struct.pack_into("<I", blob, 12, zlib.crc32(bytes(blob[:SECTOR])))
    path.write_bytes(bytes(blob))
    return path


def test_truncated(good_file):
    short = good_file.with_name("short.psnt")
    short.write_bytes(good_file.read_bytes()[:-SECTOR])
    with pytest.raises(PsntError, match="truncated"):
        read_psnt(short)
    short.write_bytes(good_file.read_bytes()[:100])
    with pytest.raises(PsntError, match="shorter than the 2048-byte header"):
        read_psnt(short)


def test_bad_magic(good_file):
    with pytest.raises(PsntError, match="not a PSNT file"):
        read_psnt(patched(good_file, 0, b"GGUF"))


def test_wrong_byte_order(good_file):
    with pytest.raises(PsntError, match="byte-order mark"):
        read_psnt(patched(good_file, 8, struct.pack(">I", 0x01020304)))


def test_unknown_version(good_file):
    with pytest.raises(PsntError, match="unknown PSNT version 7"):
        read_psnt(patched(good_file, 4, struct.pack("<I", 7), fix_header_crc=True))


def test_header_crc(good_file):
    with pytest.raises(PsntError, match="header CRC mismatch"):
        read_psnt(patched(good_file, 16, struct.pack("<I", 65)))


def test_table_crc(good_file):
    with pytest.raises(PsntError, match="tensor table CRC mismatch"):
        read_psnt(patched(good_file, SECTOR + 40, b"\x01"))


def test_tokenizer_crc(good_file):
    tok_off = struct.unpack_from("<I", good_file.read_bytes(), 76)[0]
    with pytest.raises(PsntError, match="tokenizer CRC mismatch"):
        read_psnt(patched(good_file, tok_off + 100, b"\xff\xfe"))


def test_tensor_crc(good_file):
    psnt = read_psnt(good_file)
    e = psnt.entry("layers.1.w2")
    bad = patched(good_file, e.offset + 7, b"\x55")
    with pytest.raises(PsntError, match="CRC mismatch in tensor layers.1.w2"):
        read_psnt(bad).load("layers.1.w2")
    with pytest.raises(PsntError, match="fail their CRC check"):
        inspect_psnt(str(bad))


def test_unknown_quant_type(good_file):
    entry = SECTOR + 64 * 2       # layers.0.wq
    bad = fix_table_crc(patched(good_file, entry + 33, b"\x09"))
    with pytest.raises(PsntError, match="layers.0.wq.*9 is not a valid QuantType"):
        read_psnt(bad)


def test_reserved_quant_type(good_file):
    bad = fix_table_crc(patched(good_file, SECTOR + 64 * 2 + 33, bytes([QuantType.Q4])))
    with pytest.raises(PsntError, match="q4 is reserved"):
        read_psnt(bad)


def test_shape_contradicts_header(good_file):
    bad = fix_table_crc(patched(good_file, SECTOR + 64 * 2 + 36, struct.pack("<I", 65)))
    with pytest.raises(PsntError, match="shape 65x64 contradicts the header"):
        read_psnt(bad)


def test_missing_tensor(good_file):
    blob = bytearray(good_file.read_bytes())
    n = struct.unpack_from("<I", blob, 60)[0]
    struct.pack_into("<I", blob, 60, n - 1)
    struct.pack_into("<I", blob, 68, 64 * (n - 1))
    good_file.write_bytes(bytes(blob))
    with pytest.raises(PsntError, match="missing \\['norm'\\]"):
        read_psnt(fix_table_crc(good_file))


def test_failed_write_leaves_nothing(tmp_path, tiny_model):
    path = tmp_path / "m.psnt"
    with pytest.raises(ValueError, match="group size 48 does not divide"):
        write_psnt(path, tiny_model, QuantPolicy(group_size=48))
    assert list(tmp_path.iterdir()) == []


def test_model_validation_names_tensor(tmp_path, tiny_model):
    tiny_model.weights["layers.1.wk"] = np.zeros((3, 3), np.float32)
    with pytest.raises(ValueError, match="layers.1.wk has shape"):
        write_psnt(tmp_path / "m.psnt", tiny_model, QuantPolicy())
    assert list(tmp_path.iterdir()) == []
