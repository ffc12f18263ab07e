"""PSNT writer/reader: round trips and every kind of bad file."""
import struct
import zlib

import numpy as np
import pytest

from model.inspect import inspect_psnt
from model.psnt import SECTOR, PsntError, QuantPolicy, read_psnt, write_psnt
from model.config import ModelConfig
from model.quant import MAX_GROUP, QuantType, QuantizedQ8
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
    with pytest.raises(PsntError, match="PSNT version 7; this reader knows version 2$"):
        read_psnt(patched(good_file, 4, struct.pack("<I", 7), fix_header_crc=True))


def test_older_version_is_refused(good_file):
    """Version 1 stored q4 scales as f32; with few groups its rows have version 2's
    stride, so only the version tells them apart (docs/FORMAT.md "Versions")."""
    with pytest.raises(PsntError, match="PSNT version 1; .* an older ps2llm wrote it, rebuild it"):
        read_psnt(patched(good_file, 4, struct.pack("<I", 1), fix_header_crc=True))


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


def test_quant_type_disagreeing_with_stride(good_file):
    bad = fix_table_crc(patched(good_file, SECTOR + 64 * 2 + 33, bytes([QuantType.Q4])))
    with pytest.raises(PsntError, match="layers.0.wq.*disagree with quant type q4"):
        read_psnt(bad)


# ------------------------------------------------------------------ q4, ternary, policies

@pytest.mark.parametrize("policy", ["q4", "q4:16", "ternary", "ternary:8", "q8,ffn=q4:32,attn=ternary",
                                    "f16,embed=q8:16,wq=q4:2,w2=ternary:48", "q4m", "q4m:32,embed=q8",
                                    "q8,ffn=q4m:32,wq=q4:16,embed=q4m:8"])
def test_round_trip_lowbit(tmp_path, tiny_model, policy):
    path = tmp_path / "m.psnt"
    pol = QuantPolicy.parse(policy)
    report = write_psnt(path, tiny_model, pol)
    psnt = read_psnt(path)
    psnt.check_data()
    for e in psnt.entries:
        assert e.quant == pol.quant_for(e.role)
        assert e.group_size == pol.group_for(e.quant, e.cols, e.role)
        got, want = psnt.load_f32(e.name), tiny_model.weights[e.name]
        assert np.abs(got - want).max() <= report.max_error[e.name] + 1e-7
        if e.quant in (QuantType.Q4, QuantType.Q4M, QuantType.TERNARY):
            q = psnt.load(e.name)
            assert isinstance(q, QuantizedQ8) and q.quant == e.quant
            lo, hi = {QuantType.Q4: (-8, 7), QuantType.Q4M: (0, 15), QuantType.TERNARY: (-1, 1)}[e.quant]
            assert q.q.min() >= lo and q.q.max() <= hi
            assert (q.mins is not None) == (e.quant == QuantType.Q4M)
    text = inspect_psnt(str(path))
    assert "0 with CRC errors" in text
    for role, qt in psnt.role_quant.items():
        assert f"{role.name.lower()}={qt.name.lower()}" in text


def test_q4_peak_is_minus_8():
    """q4 as llama.cpp Q4_0: each group's largest-magnitude weight is exactly -8 * scale
    (the scale takes its sign), every other weight within one step."""
    from model.quant import quantize_q4
    w = np.random.default_rng(5).standard_normal((6, 64)).astype(np.float32)
    w[0, :16] = 0
    q, _ = quantize_q4(w, 16)
    groups = w.reshape(6, 4, 16)
    peak = np.abs(groups).argmax(axis=2)
    assert np.all(np.take_along_axis(q.q.reshape(6, 4, 16), peak[..., None], 2)[1:] == -8)
    assert q.scales[0, 0] == 0 and not q.q[0, :16].any()
    assert np.all(np.abs(q.dequantize() - w) <= np.repeat(np.abs(q.scales), 16, axis=1) + 1e-7)


def test_q4m_is_q4_1():
    """q4m as llama.cpp Q4_1: per group min and max are q = 0 and q = 15, d and m the
    f16 roundings of (max - min) / 15 and min, every weight within about half a step."""
    from model.quant import quantize_q4m, to_f16
    w = np.random.default_rng(6).standard_normal((6, 64)).astype(np.float32)
    w[0, :16] = 0.25                         # a constant group: d = 0, every q 0, exact
    q, err = quantize_q4m(w, 16)
    groups, codes = w.reshape(6, 4, 16), q.q.reshape(6, 4, 16)
    assert np.array_equal(q.mins, to_f16(groups.min(axis=2)))
    assert np.array_equal(q.scales, to_f16((groups.max(axis=2) - groups.min(axis=2)) / np.float32(15)))
    assert np.all(np.take_along_axis(codes, groups.argmin(axis=2)[..., None], 2) == 0)
    assert np.all(np.take_along_axis(codes, groups.argmax(axis=2)[..., None], 2)[1:] == 15)
    assert q.scales[0, 0] == 0 and not codes[0, 0].any() and np.all(q.dequantize()[0, :16] == 0.25)
    assert err <= 0.5 * q.scales.max() * (1 + 1e-2)      # + the f16 rounding of d and m


def test_q4_scales_are_f16():
    """q4's scale is Q4_0's d rounded to f16, and its codes are the nearest for that d."""
    from model.quant import quantize_q4, to_f16
    w = np.random.default_rng(8).standard_normal((6, 64)).astype(np.float32)
    q, _ = quantize_q4(w, 16)
    assert np.array_equal(q.scales, to_f16(q.scales)) and q.scales.dtype == np.float32
    want = np.clip(np.round(w.reshape(6, 4, 16) / q.scales[..., None]), -8, 7)
    assert np.array_equal(q.q.reshape(6, 4, 16), want)


def test_q4m_stores_q4_1_values_exactly():
    """Weights already on a Q4_1 grid (w = d*q + m with f16 d and m, as a dequantized
    Q4_1 GGUF gives) come back with the same q, d and m when each group uses codes 0
    and 15, so a Q4_1 model stored as q4m loses nothing: a PSNT row holds Q4_1's f16
    d and m bit for bit (llama.cpp ggml-common.h, block_q4_1) and its codes."""
    from model.quant import QuantType, pack_quantized, quantize_q4m, row_stride, unpack_q8
    rng = np.random.default_rng(7)
    rows, group, ng = 8, 32, 4
    d = rng.uniform(0.001, 0.02, (rows, ng)).astype(np.float16).astype(np.float32)
    m = (-8 * d * rng.uniform(0.8, 1.2, (rows, ng))).astype(np.float16).astype(np.float32)
    codes = rng.integers(0, 16, (rows, ng, group))
    codes[:, :, 0], codes[:, :, 1] = 0, 15
    w = (codes.astype(np.float32) * d[..., None] + m[..., None]).astype(np.float32).reshape(rows, -1)
    q, err = quantize_q4m(w, group)
    assert np.array_equal(q.q.reshape(codes.shape), codes)
    assert np.array_equal(q.scales, d) and np.array_equal(q.mins, m)
    assert err == 0 and np.array_equal(q.dequantize(), w)
    row = np.frombuffer(pack_quantized(q), np.uint8).reshape(rows, -1)[0]
    assert row.size == row_stride(QuantType.Q4M, ng * group, group) == 16 + 16 + 64
    assert row[:8].tobytes() == d[0].astype("<f2").tobytes() and not row[8:16].any()
    assert row[16:24].tobytes() == m[0].astype("<f2").tobytes()
    back = unpack_q8(pack_quantized(q), rows, ng * group, group, QuantType.Q4M)
    assert np.array_equal(back.q, q.q) and np.array_equal(back.scales, d) and np.array_equal(back.mins, m)


def test_q4m_stride_is_checked(tmp_path, tiny_model):
    """A q4m row holds scales and minimums: the same tensor labelled q4 (or the other
    way round) has the wrong size and is rejected."""
    path = tmp_path / "m.psnt"
    write_psnt(path, tiny_model, QuantPolicy.parse("q4m:16"))
    bad = fix_table_crc(patched(path, SECTOR + 64 * 2 + 33, bytes([QuantType.Q4])))
    with pytest.raises(PsntError, match="layers.0.wq.*disagree with quant type q4"):
        read_psnt(bad)
    write_psnt(path, tiny_model, QuantPolicy.parse("q4:16"))
    bad = fix_table_crc(patched(path, SECTOR + 64 * 2 + 33, bytes([QuantType.Q4M])))
    with pytest.raises(PsntError, match="layers.0.wq.*disagree with quant type q4m"):
        read_psnt(bad)


def test_policy_parse():
    p = QuantPolicy.parse("q8,ffn=q4:64,attn=q8,embed=q8")
    assert p.default == QuantType.Q8 and p.group_size == 0
    assert p.quant_for(Role.W2) == QuantType.Q4 and p.group_for(QuantType.Q4, 128, Role.W2) == 64
    assert p.quant_for(Role.WO) == QuantType.Q8 and p.group_for(QuantType.Q8, 128, Role.WO) == 128
    assert p.quant_for(Role.FFN_NORM) == QuantType.F32
    assert QuantPolicy.parse("q4:32").group_for(QuantType.Q4, 64, Role.WQ) == 32
    p4m = QuantPolicy.parse("q4m:32,embed=q8")
    assert p4m.quant_for(Role.W1) == QuantType.Q4M and p4m.group_for(QuantType.Q4M, 64, Role.W1) == 32
    assert p4m.quant_for(Role.TOK_EMBEDDINGS) == QuantType.Q8 and QuantPolicy.parse(p4m.describe()) == p4m
    assert QuantPolicy.parse("q4m").group_for(QuantType.Q4M, 64) == 64     # as q4: one group a row
    assert QuantPolicy.parse("q8", group_size=16).group_size == 16
    assert QuantPolicy.parse(p.describe()) == p
    for bad, msg in [("q9", "unknown quant type"), ("ffn=q4", "must start with a quant type"),
                     ("q8,mlp=q4", "not ROLE=QUANT"), ("q8,ffn=q4:x", "not a number"),
                     ("f16:32", "has no group size"), ("", "must start")]:
        with pytest.raises(ValueError, match=msg):
            QuantPolicy.parse(bad)


def test_group_not_dividing_fails_write(tmp_path, tiny_model):
    with pytest.raises(ValueError, match="q4 group size 40 does not divide the row length 64"):
        write_psnt(tmp_path / "m.psnt", tiny_model, QuantPolicy.parse("q8,attn=q4:40"))
    with pytest.raises(ValueError, match="q4m group size 40 does not divide the row length"):
        write_psnt(tmp_path / "m.psnt", tiny_model, QuantPolicy.parse("q8,ffn=q4m:40"))
    assert list(tmp_path.iterdir()) == []


def test_group_longer_than_max_group(tmp_path):
    """Groups of more than MAX_GROUP elements could overflow the kernels' int32 sums:
    the writer refuses them, naming the role and a group size that fits, and a
    reader rejects a file that has one."""
    wide = random_llama(ModelConfig(dim=16, hidden_dim=2 * MAX_GROUP, n_layers=1, n_heads=2,
                                    n_kv_heads=1, vocab_size=300, max_seq_len=16), seed=2)
    with pytest.raises(ValueError, match=rf"q8 of w2: group size {2 * MAX_GROUP} .* GROUP={MAX_GROUP}"):
        write_psnt(tmp_path / "m.psnt", wide, QuantPolicy.parse("q8"))
    path = tmp_path / "ok.psnt"
    write_psnt(path, wide, QuantPolicy.parse(f"q8,w2=q8:{MAX_GROUP}"))
    index = [e.name for e in read_psnt(path).entries].index("layers.0.w2")
    # one scale or two pad to the same 16 bytes: only the group size check can object
    bad = fix_table_crc(patched(path, SECTOR + 64 * index + 44, struct.pack("<I", 2 * MAX_GROUP)))
    with pytest.raises(PsntError, match=rf"'layers.0.w2': group size {2 * MAX_GROUP} .* exceeds {MAX_GROUP}"):
        read_psnt(bad)


def test_group_not_dividing_in_file(tmp_path, tiny_model):
    path = tmp_path / "m.psnt"
    write_psnt(path, tiny_model, QuantPolicy.parse("q4:16"))
    bad = fix_table_crc(patched(path, SECTOR + 64 * 2 + 44, struct.pack("<I", 24)))
    with pytest.raises(PsntError, match="layers.0.wq.*group size 24 does not divide the row length 64"):
        read_psnt(bad)


def test_ternary_code_11_is_rejected(tmp_path, tiny_model):
    """A ternary code 11 (no value) fails the reader and code generation (the
    build), so it never reaches a runtime."""
    from codegen.spec import spec_from_psnt
    path = tmp_path / "m.psnt"
    write_psnt(path, tiny_model, QuantPolicy.parse("q8,ffn=ternary:32"))
    psnt = read_psnt(path)
    e = psnt.entry("layers.1.w3")
    blob = bytearray(path.read_bytes())
    pos = e.offset + e.row_stride * 5 + 16 + 3       # row 5: 2 scales (16 bytes), then codes
    blob[pos] |= 0b11 << 4                          # column 14
    table = SECTOR + 64 * [x.name for x in psnt.entries].index(e.name)
    struct.pack_into("<I", blob, table + 56, zlib.crc32(bytes(blob[e.offset:e.offset + e.size])))
    path.write_bytes(bytes(blob))
    fix_table_crc(path)
    bad = read_psnt(path)
    with pytest.raises(PsntError, match=r"layers.1.w3.*ternary value outside \{-1,0,1\} .*row 5, column 14"):
        bad.load("layers.1.w3")
    with pytest.raises(PsntError, match="outside"):
        spec_from_psnt(path)


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
