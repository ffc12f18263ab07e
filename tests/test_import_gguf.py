"""GGUF import: tiny random HF models written as GGUF the way llama.cpp's converter
writes them (q/k rows permuted for interleaved rotary, ggml dim order, F32 / F16 /
BF16 / Q8_0 / Q4_0 / Q4_1 tensors), imported back, and run through the numpy
reference against transformers; ternary TQ1_0 / TQ2_0 tensors kept exactly in a
ternary PSNT. Plus the real SmolLM2-135M GGUF when available."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
from gguf import GGMLQuantizationType as T  # noqa: E402

import default_model  # noqa: E402
from hf_models import hf_decode_logits, load_hf_reference, make_tiny_hf_model  # noqa: E402
from model.import_gguf import (interleaved_to_rotate_half, load_gguf,  # noqa: E402
                               rotate_half_to_interleaved)
from model.reference import ReferenceModel  # noqa: E402
from model.weights import Role, tensor_name  # noqa: E402

TOKENS = [5, 17, 42, 3, 99, 250, 7, 1]    # 8 decode steps

# ---------------------------------------------------------------- writing GGUF


def llama_cpp_permute(w: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute, restated."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_state(hf_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file
    state: dict[str, np.ndarray] = {}
    for f in sorted(hf_dir.glob("*.safetensors")):
        state.update({k: v.astype(np.float32) for k, v in load_file(str(f)).items()})
    return state


def add_tokenizer(w, hf_dir: Path) -> None:
    """Tokenizer metadata as llama.cpp's converter writes it (SentencePiece → model
    'llama' with scores and types; byte-level BPE → model 'gpt2' with merges)."""
    cfg = json.loads((hf_dir / "config.json").read_text())
    if (hf_dir / "tokenizer.model").is_file():
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=str(hf_dir / "tokenizer.model"))
        tokens, scores, types = [], [], []
        for i in range(sp.get_piece_size()):
            tokens.append(sp.id_to_piece(i))
            scores.append(sp.get_score(i))
            types.append(2 if sp.is_unknown(i) else 3 if sp.is_control(i) else
                         5 if sp.is_unused(i) else 6 if sp.is_byte(i) else 1)
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
        w.add_add_bos_token(True)
        w.add_add_space_prefix(True)
    else:
        tj = json.loads((hf_dir / "tokenizer.json").read_text())
        vocab = tj["model"]["vocab"]
        specials = {t["id"]: t["content"] for t in tj["added_tokens"]}
        by_id = {i: s for s, i in vocab.items()} | specials
        tokens = [by_id[i] for i in range(cfg["vocab_size"])]
        types = [3 if i in specials else 1 for i in range(len(tokens))]
        merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("smollm")
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(0)
        w.add_eos_token_id(0)
        w.add_unk_token_id(0)
        w.add_add_bos_token(False)
        tc = json.loads((hf_dir / "tokenizer_config.json").read_text())
        if tc.get("chat_template"):
            w.add_chat_template(tc["chat_template"])


def encode(w: np.ndarray, qtype: T) -> np.ndarray:
    if w.dtype == np.uint8:     # already the raw bytes of a quantized tensor
        return w
    if qtype == T.F32:
        return w.astype(np.float32)
    if qtype == T.F16:
        return w.astype(np.float16)
    return gguf.quants.quantize(w.astype(np.float32), qtype)


def decoded(w: np.ndarray, qtype: T) -> np.ndarray:
    """What a reader must get back from `encode(w, qtype)`."""
    return gguf.quants.dequantize(encode(w, qtype), qtype).reshape(w.shape).astype(np.float32)


def write_gguf(hf_dir: Path, out: Path, *, qtype: T = T.F32, embed_qtype: T | None = None,
               arch: str = "llama", extra: dict[str, tuple[np.ndarray, T]] | None = None,
               drop: tuple[str, ...] = ()) -> Path:
    """Write the HF model at hf_dir as a GGUF like convert_hf_to_gguf.py: matrices as
    `qtype` (token_embd as `embed_qtype`), norms F32, q/k permuted."""
    cfg = json.loads((hf_dir / "config.json").read_text())
    st = hf_state(hf_dir)
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // n_head
    w = gguf.GGUFWriter(str(out), arch)
    w.add_name("tiny")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_dimension_count(head_dim)
    if head_dim != cfg["hidden_size"] // n_head:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_vocab_size(cfg["vocab_size"])
    add_tokenizer(w, hf_dir)

    tensors: dict[str, tuple[np.ndarray, T]] = {}
    emb_t = embed_qtype if embed_qtype is not None else qtype
    tensors["token_embd.weight"] = (st["model.embed_tokens.weight"], emb_t)
    hf_layer = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
                "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
                "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj",
                "ffn_down": "mlp.down_proj", "ffn_up": "mlp.up_proj"}
    for L in range(cfg["num_hidden_layers"]):
        for ours, theirs in hf_layer.items():
            t = st[f"model.layers.{L}.{theirs}.weight"]
            if ours == "attn_q":
                t = llama_cpp_permute(t, n_head, n_head)
            elif ours == "attn_k":
                t = llama_cpp_permute(t, n_head, n_kv)
            tensors[f"blk.{L}.{ours}.weight"] = (t, T.F32 if ours.endswith("norm") else qtype)
    tensors["output_norm.weight"] = (st["model.norm.weight"], T.F32)
    if not cfg.get("tie_word_embeddings") and "lm_head.weight" in st:
        tensors["output.weight"] = (st["lm_head.weight"], qtype)
    tensors.update(extra or {})
    for name in drop:
        tensors.pop(name)
    for name, (t, q) in tensors.items():
        data = encode(t, q)
        w.add_tensor(name, data, raw_dtype=None if q in (T.F32, T.F16) else q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def check_logits(model, hf_dir: Path, tol: float) -> float:
    """Max |reference - transformers| over TOKENS decoded one by one; asserts < tol."""
    hf = load_hf_reference(hf_dir)
    want = hf_decode_logits(hf, TOKENS)
    ref = ReferenceModel(model)
    got = np.stack([ref.forward(t, pos) for pos, t in enumerate(TOKENS)])
    err = float(np.max(np.abs(got - want)))
    assert err < tol, f"logits differ from transformers by {err} (tolerance {tol})"
    return err


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def mha_untied(tmp_path_factory) -> Path:
    """MHA, own output matrix, non-default rope theta, head_dim 16."""
    return make_tiny_hf_model(tmp_path_factory.mktemp("mha"), dim=64, n_layers=2, n_heads=4, n_kv_heads=4,
                              hidden=96, vocab=320, tie=False, rope_theta=100000.0, seed=1,
                              tokenizer="sentencepiece")


@pytest.fixture(scope="module")
def gqa_tied(tmp_path_factory) -> Path:
    """GQA 4:2... 8:2, tied embeddings, byte-level BPE tokenizer."""
    return make_tiny_hf_model(tmp_path_factory.mktemp("gqa"), dim=64, n_layers=2, n_heads=8, n_kv_heads=2,
                              hidden=128, vocab=320, tie=True, rope_theta=10000.0, norm_eps=1e-6, seed=2,
                              tokenizer="bpe")


# ---------------------------------------------------------------- rotary layout

def test_permutation_roundtrip():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3 * 8, 5)).astype(np.float32)
    p = llama_cpp_permute(w, 3, None)
    assert np.array_equal(rotate_half_to_interleaved(w, 3), p)
    assert np.array_equal(interleaved_to_rotate_half(p, 3), w)
    # head 0, head_dim 8: rotate-half rows 0..3 pair with 4..7; interleaved puts
    # each pair next to each other: (0,4), (1,5), ...
    assert list(interleaved_to_rotate_half(np.arange(8)[:, None], 1)[:, 0]) == [0, 2, 4, 6, 1, 3, 5, 7]
    assert list(p[:8, 0] == w[[0, 4, 1, 5, 2, 6, 3, 7], 0]) == [True] * 8


# ---------------------------------------------------------------- f32 round trips

def test_f32_mha_untied_matches_transformers(mha_untied, tmp_path):
    path = write_gguf(mha_untied, tmp_path / "m.gguf")
    model = load_gguf(path)
    cfg = model.config
    assert (cfg.dim, cfg.hidden_dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.vocab_size) == \
        (64, 96, 2, 4, 4, 320)
    assert (cfg.max_seq_len, cfg.rope_theta, cfg.norm_eps, cfg.tie_embeddings, cfg.head_dim) == \
        (128, 100000.0, pytest.approx(1e-5), False, 16)
    st = hf_state(mha_untied)
    # q/k come back in the HF layout exactly; everything else untouched
    assert np.array_equal(model.tensor(Role.WQ, 1), st["model.layers.1.self_attn.q_proj.weight"])
    assert np.array_equal(model.tensor(Role.WK, 0), st["model.layers.0.self_attn.k_proj.weight"])
    assert np.array_equal(model.tensor(Role.OUTPUT), st["lm_head.weight"])
    assert model.tensor(Role.NORM).shape == (64,)
    assert all(w.dtype == np.float32 for w in model.weights.values())
    assert len(model.vocab) == 320
    err = check_logits(model, mha_untied, 1e-4)
    print(f"f32 MHA untied: max |logit diff| {err:.2e}")


def test_f32_gqa_tied_matches_transformers(gqa_tied, tmp_path):
    path = write_gguf(gqa_tied, tmp_path / "g.gguf")
    model = load_gguf(path)
    cfg = model.config
    assert (cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.tie_embeddings, cfg.hidden_dim) == (8, 2, 8, True, 128)
    assert cfg.norm_eps == pytest.approx(1e-6)
    assert tensor_name(Role.OUTPUT) not in model.weights
    st = hf_state(gqa_tied)
    assert np.array_equal(model.tensor(Role.WK, 1), st["model.layers.1.self_attn.k_proj.weight"])
    err = check_logits(model, gqa_tied, 1e-4)
    print(f"f32 GQA tied: max |logit diff| {err:.2e}")


def test_f32_wide_heads(tmp_path):
    """head_dim (32) != dim / n_heads (16): attention.key_length decides."""
    hf_dir = make_tiny_hf_model(tmp_path / "wide", dim=64, n_layers=2, n_heads=4, n_kv_heads=1,
                                hidden=96, vocab=352, head_dim=32, seed=6, tokenizer="sentencepiece")
    model = load_gguf(write_gguf(hf_dir, tmp_path / "w.gguf"))
    assert (model.config.head_dim, model.config.q_dim, model.config.kv_dim) == (32, 128, 32)
    err = check_logits(model, hf_dir, 1e-4)
    print(f"f32 head_dim 32, MQA: max |logit diff| {err:.2e}")


def test_imported_vocab_matches_hf_import(gqa_tied, tmp_path):
    """The tokenizer from GGUF metadata is the one import_hf reads from tokenizer.json."""
    import_hf = pytest.importorskip("model.import_hf")
    model = load_gguf(write_gguf(gqa_tied, tmp_path / "g.gguf"))
    hf = import_hf.load_hf_dir(gqa_tied)
    assert model.vocab.tokens == hf.vocab.tokens
    assert model.vocab.merges == hf.vocab.merges
    assert model.vocab.kind == hf.vocab.kind


# ---------------------------------------------------------------- other tensor types

# (matrix type, token_embd type). The imported weights must equal the type's
# dequantization exactly, and the logits must match transformers running those same
# dequantized weights within the f32 tolerance. The distance to the unquantized
# model is only printed (quantization noise on O(1..10) logits).
QUANT_CASES = [(T.F16, T.F16), (T.BF16, T.BF16), (T.Q8_0, T.Q8_0), (T.Q4_0, T.Q8_0), (T.Q4_1, T.Q4_1)]


def hf_with_dequantized(hf_dir: Path, qtype: T, etype: T):
    """transformers on the weights a GGUF of these types holds (norms stay f32)."""
    import torch
    hf = load_hf_reference(hf_dir)
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if name.endswith("norm.weight"):
                continue
            t = etype if "embed_tokens" in name else qtype
            p.copy_(torch.from_numpy(decoded(p.detach().numpy().copy(), t)))
    return hf


@pytest.mark.parametrize("qtype,etype", QUANT_CASES, ids=[c[0].name for c in QUANT_CASES])
def test_quantized_types(gqa_tied, mha_untied, tmp_path, qtype, etype):
    for hf_dir in (gqa_tied, mha_untied):
        path = write_gguf(hf_dir, tmp_path / f"{qtype.name}.gguf", qtype=qtype, embed_qtype=etype)
        model = load_gguf(path)
        st = hf_state(hf_dir)
        cfg = model.config
        assert np.array_equal(model.tensor(Role.WQ, 0),
                              decoded(st["model.layers.0.self_attn.q_proj.weight"], qtype))
        assert np.array_equal(model.tensor(Role.WK, 1),
                              decoded(st["model.layers.1.self_attn.k_proj.weight"], qtype))
        assert np.array_equal(model.tensor(Role.W2, 1), decoded(st["model.layers.1.mlp.down_proj.weight"], qtype))
        assert np.array_equal(model.tensor(Role.TOK_EMBEDDINGS), decoded(st["model.embed_tokens.weight"], etype))
        assert np.array_equal(model.tensor(Role.ATTENTION_NORM, 0), st["model.layers.0.input_layernorm.weight"])
        if not cfg.tie_embeddings:
            assert np.array_equal(model.tensor(Role.OUTPUT), decoded(st["lm_head.weight"], qtype))
        ref = ReferenceModel(model)
        got = np.stack([ref.forward(t, pos) for pos, t in enumerate(TOKENS)])
        same = hf_decode_logits(hf_with_dequantized(hf_dir, qtype, etype), TOKENS)
        err = float(np.max(np.abs(got - same)))
        assert err < 1e-4, f"{qtype.name}: logits differ from transformers on the same weights by {err}"
        noise = float(np.max(np.abs(got - hf_decode_logits(load_hf_reference(hf_dir), TOKENS))))
        print(f"{qtype.name} (embeddings {etype.name}), {'tied' if cfg.tie_embeddings else 'untied'}: "
              f"max |logit diff| {err:.2e} vs transformers on the same weights, "
              f"{noise:.3g} vs the unquantized model")


# ---------------------------------------------------------------- ternary: TQ1_0, TQ2_0

MATRICES = ("wq", "wk", "wv", "wo", "w1", "w2", "w3")


@pytest.fixture(scope="module")
def wide_tied(tmp_path_factory) -> Path:
    """Rows of 256 and 512: multiples of the ternary types' 256-value blocks."""
    return make_tiny_hf_model(tmp_path_factory.mktemp("wide"), dim=256, n_layers=2, n_heads=4, n_kv_heads=2,
                              hidden=512, vocab=320, tie=True, seed=3, max_seq_len=64,
                              tokenizer="sentencepiece")


@pytest.mark.parametrize("qtype", [T.TQ1_0, T.TQ2_0], ids=["TQ1_0", "TQ2_0"])
def test_ternary_types_kept_exactly(wide_tied, tmp_path, qtype, unicode_c):
    """Weights are gguf's own dequantization; a ternary PSNT with one scale per
    256-block (GGUF's) holds exactly its codes and scales; the C runtime computes
    the reference's logits bit for bit (TQ2_0 only: the build is the slow part)."""
    from host_build import build_forward_driver, first_difference, forward_logits, generate_kernels
    from model.psnt import QuantPolicy, read_psnt, write_psnt

    path = write_gguf(wide_tied, tmp_path / "t.gguf", qtype=qtype, embed_qtype=T.Q8_0)
    model = load_gguf(path)
    st = hf_state(wide_tied)
    assert np.array_equal(model.tensor(Role.W2, 1), decoded(st["model.layers.1.mlp.down_proj.weight"], qtype))
    assert np.array_equal(model.tensor(Role.WK, 0),
                          decoded(st["model.layers.0.self_attn.k_proj.weight"], qtype))
    psnt = tmp_path / "t.psnt"
    write_psnt(psnt, model, QuantPolicy.parse("ternary:256,embed=q8"))
    f = read_psnt(psnt)
    for layer in range(2):
        for short in MATRICES:
            name = f"layers.{layer}.{short}"
            w, got = model.weights[name], f.load(name)
            blocks = w.reshape(w.shape[0], -1, 256)
            assert np.array_equal(got.q.reshape(blocks.shape), np.sign(blocks)), name
            assert np.array_equal(got.scales, np.abs(blocks).max(axis=2)), name
            assert np.array_equal(got.dequantize(), w), name
    if qtype != T.TQ2_0:
        return
    gen = generate_kernels(psnt, tmp_path, 64)
    driver = build_forward_driver(gen, tmp_path, unicode_c)
    ref = ReferenceModel(f, max_seq_len=64)
    want = np.stack([ref.forward(t, pos) for pos, t in enumerate(TOKENS)])
    got_c = forward_logits(driver, psnt, TOKENS, f.config.vocab_size,
                           {"ASAN_OPTIONS": "detect_leaks=0", "PS2LLM_MEMORY_MB": "64"})
    assert np.array_equal(got_c.view(np.uint32), want.view(np.uint32)), first_difference(got_c, want)


def test_ternary_export_round_trip(wide_tied, tmp_path):
    """model/train/export.py write_gguf: TQ2_0 matrices hold the rows ternarized as
    the ternary QAT does (per-row absmean, scale rounded to f16); a per-row ternary
    PSNT of the imported GGUF has the codes a PSNT of the float model gets."""
    from model.import_hf import load_hf_dir
    from model.psnt import QuantPolicy, read_psnt, write_psnt
    from model.train.export import ternary_rows, write_gguf as export_gguf

    hf = load_hf_dir(wide_tied)
    model = load_gguf(export_gguf(hf, tmp_path / "e.gguf", "tq2_0", "q8_0"))
    assert model.vocab == hf.vocab and model.config == hf.config
    for name in ("layers.0.wq", "layers.0.wk", "layers.1.w2"):
        assert np.array_equal(model.weights[name], ternary_rows(hf.weights[name])), name
    policy = QuantPolicy.parse("ternary,embed=q8")
    a = read_psnt(write_psnt(tmp_path / "hf.psnt", hf, policy).path)
    b = read_psnt(write_psnt(tmp_path / "gguf.psnt", model, policy).path)
    for layer in range(2):
        for short in MATRICES:
            qa, qb = a.load(f"layers.{layer}.{short}"), b.load(f"layers.{layer}.{short}")
            assert np.array_equal(qa.q, qb.q)
            assert np.array_equal(qb.scales, qa.scales.astype(np.float16).astype(np.float32))


# ---------------------------------------------------------------- errors

def test_non_llama_architecture(gqa_tied, tmp_path):
    path = write_gguf(gqa_tied, tmp_path / "q.gguf", arch="qwen2")
    with pytest.raises(ValueError, match=r"q\.gguf.*architecture is 'qwen2'.*only 'llama'"):
        load_gguf(path)


def test_unsupported_tensor_type(gqa_tied, tmp_path):
    path = tmp_path / "q5.gguf"
    write_gguf(gqa_tied, path, drop=("blk.0.ffn_up.weight",))
    # Q5_0 bytes of the right size for ffn_up (32 values per 22-byte block)
    path2 = tmp_path / "q5b.gguf"
    cfg = json.loads((gqa_tied / "config.json").read_text())
    raw = np.zeros((cfg["intermediate_size"], cfg["hidden_size"] // 32 * 22), dtype=np.uint8)
    write_gguf(gqa_tied, path2, extra={"blk.0.ffn_up.weight": (raw, T.Q5_0)})
    with pytest.raises(ValueError, match=r"q5b\.gguf.*blk\.0\.ffn_up\.weight.*Q5_0.*not supported"):
        load_gguf(path2)
    with pytest.raises(ValueError, match=r"q5\.gguf.*missing tensor layers\.0\.w3"):
        load_gguf(path)


def test_truncated_file(gqa_tied, tmp_path):
    path = write_gguf(gqa_tied, tmp_path / "t.gguf")
    data = path.read_bytes()
    for cut in (len(data) - 100, len(data) // 2, 200, 10):
        short = tmp_path / f"short{cut}.gguf"
        short.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=rf"short{cut}\.gguf.*(truncated|corrupt)"):
            load_gguf(short)


def test_not_a_gguf_file(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"bad\.gguf.*not a GGUF file"):
        load_gguf(bad)
    with pytest.raises(ValueError, match=r"nope\.gguf.*no such"):
        load_gguf(tmp_path / "nope.gguf")


def test_unknown_tensor_rejected(gqa_tied, tmp_path):
    bias = np.zeros(64, np.float32)
    path = write_gguf(gqa_tied, tmp_path / "b.gguf", extra={"blk.0.attn_q.bias": (bias, T.F32)})
    with pytest.raises(ValueError, match=r"b\.gguf.*blk\.0\.attn_q\.bias"):
        load_gguf(path)


# ---------------------------------------------------------------- the real SmolLM2

@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    path = default_model.smollm2_gguf()
    if path is None:
        pytest.skip(default_model.SKIP_REASON)
    start = time.perf_counter()
    model = load_gguf(path)
    seconds = time.perf_counter() - start
    print(f"\nSmolLM2-135M Q4_1 GGUF → canonical f32 in {seconds:.2f} s")
    return model, seconds


def test_smollm2_config_and_time(smollm2):
    model, seconds = smollm2
    cfg = model.config
    assert (cfg.dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.hidden_dim, cfg.vocab_size) == \
        (576, 30, 9, 3, 1536, 49152)
    assert cfg.tie_embeddings and cfg.head_dim == 64 and cfg.rope_theta == 100000.0
    assert cfg.max_seq_len == 8192 and cfg.norm_eps == pytest.approx(1e-5)
    assert model.tensor(Role.TOK_EMBEDDINGS).shape == (49152, 576)
    assert len(model.vocab) == 49152


def test_smollm2_knows_paris(smollm2):
    """A wrong q/k layout still runs but talks nonsense; the right one completes a
    fact. Token ids looked up by their bytes, so no tokenizer is needed."""
    model, _ = smollm2
    ids = {t: i for i, t in enumerate(model.vocab.tokens)}
    prompt = [ids[b"The"], ids[b" capital"], ids[b" of"], ids[b" France"], ids[b" is"]]
    ref = ReferenceModel(model, max_seq_len=16)
    out = ref.generate_greedy(prompt, 1)
    assert model.vocab.tokens[out[0]] == b" Paris", model.vocab.tokens[out[0]]
