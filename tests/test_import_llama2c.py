"""llama2.c import: tiny random HF models written as llama2.c checkpoints the way
its export.py writes them (versions 0, 1, 2; q/k rows in the interleaved rotary
layout run.c uses), with a tokenizer.bin as its tokenizer.py writes it, imported
back and run through the numpy reference against transformers."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from hf_models import hf_decode_logits, load_hf_reference, make_tiny_hf_model
from model.import_llama2c import load_llama2c
from model.reference import ReferenceModel
from model.weights import Role, tensor_name

TOKENS = [1, 17, 42, 3, 99, 250, 7, 2]
MAGIC = 0x616B3432


def interleave(w: np.ndarray, n_heads: int) -> np.ndarray:
    """HF rotate-half rows → llama2.c's interleaved pairs (export.py permute_reverse)."""
    return w.reshape(n_heads, 2, w.shape[0] // n_heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_state(hf_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file
    state: dict[str, np.ndarray] = {}
    for f in sorted(hf_dir.glob("*.safetensors")):
        state.update({k: v.astype(np.float32) for k, v in load_file(str(f)).items()})
    return state


def llama2c_tensors(hf_dir: Path) -> tuple[dict, dict[str, list[np.ndarray]], bool]:
    """(config.json, llama2.c name → per-layer list or [tensor], tied)."""
    cfg = json.loads((hf_dir / "config.json").read_text())
    st = hf_state(hf_dir)
    L, nh, nkv = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["num_key_value_heads"]

    def layers(hf: str, heads: int | None = None) -> list[np.ndarray]:
        ts = [st[f"model.layers.{i}.{hf}.weight"] for i in range(L)]
        return [interleave(t, heads) for t in ts] if heads else ts

    tied = bool(cfg.get("tie_word_embeddings"))
    t = {
        "tok": [st["model.embed_tokens.weight"]],
        "rms_att": layers("input_layernorm"), "wq": layers("self_attn.q_proj", nh),
        "wk": layers("self_attn.k_proj", nkv), "wv": layers("self_attn.v_proj"),
        "wo": layers("self_attn.o_proj"), "rms_ffn": layers("post_attention_layernorm"),
        "w1": layers("mlp.gate_proj"), "w2": layers("mlp.down_proj"), "w3": layers("mlp.up_proj"),
        "rms_final": [st["model.norm.weight"]],
        "wcls": [] if tied else [st["lm_head.weight"]],
    }
    return cfg, t, tied


def header7(cfg: dict, vocab: int) -> bytes:
    return struct.pack("<7i", cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"],
                       cfg["num_attention_heads"], cfg["num_key_value_heads"], vocab,
                       cfg["max_position_embeddings"])


def f32(ts: list[np.ndarray]) -> bytes:
    return b"".join(np.asarray(t, "<f4").tobytes() for t in ts)


def write_v0(hf_dir: Path, out: Path) -> Path:
    """export.py legacy_export."""
    cfg, t, tied = llama2c_tensors(hf_dir)
    hd = cfg["hidden_size"] // cfg["num_attention_heads"]
    freqs = np.zeros((cfg["max_position_embeddings"], hd // 2), np.float32) + 0.5
    body = [header7(cfg, cfg["vocab_size"] if tied else -cfg["vocab_size"])]
    for name in ("tok", "rms_att", "wq", "wk", "wv", "wo", "rms_ffn", "w1", "w2", "w3", "rms_final"):
        body.append(f32(t[name]))
    body += [f32([freqs]), f32([freqs]), f32(t["wcls"])]
    out.write_bytes(b"".join(body))
    return out


def v1_header(cfg: dict, version: int, tied: bool, group: int = 0) -> bytes:
    h = struct.pack("<Ii", MAGIC, version) + header7(cfg, cfg["vocab_size"]) + struct.pack("B", int(tied))
    if version == 2:
        h += struct.pack("<i", group)
    return h + b"\0" * (256 - len(h))


def write_v1(hf_dir: Path, out: Path) -> Path:
    """export.py version1_export."""
    cfg, t, tied = llama2c_tensors(hf_dir)
    body = [v1_header(cfg, 1, tied)]
    for name in ("rms_att", "rms_ffn", "rms_final", "tok", "wq", "wk", "wv", "wo", "w1", "w2", "w3", "wcls"):
        body.append(f32(t[name]))
    out.write_bytes(b"".join(body))
    return out


def quantize_q80(w: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray]:
    """export.py quantize_q80: symmetric int8 per group of the flattened tensor."""
    g = w.astype(np.float32).reshape(-1, group)
    scale = np.abs(g).max(axis=1) / np.float32(127.0)
    return np.round(g / scale[:, None]).astype(np.int8), scale.astype(np.float32)


def dequant_q80(w: np.ndarray, group: int) -> np.ndarray:
    q, s = quantize_q80(w, group)
    return (q.astype(np.float32) * s[:, None]).reshape(w.shape)


def write_v2(hf_dir: Path, out: Path, group: int = 32) -> Path:
    """export.py version2_export."""
    cfg, t, tied = llama2c_tensors(hf_dir)
    body = [v1_header(cfg, 2, tied, group), f32(t["rms_att"]), f32(t["rms_ffn"]), f32(t["rms_final"])]
    qs = [quantize_q80(w, group) for name in ("tok", "wq", "wk", "wv", "wo", "w1", "w2", "w3", "wcls")
          for w in t[name]]
    body += [q.tobytes() for q, _ in qs] + [s.astype("<f4").tobytes() for _, s in qs]
    out.write_bytes(b"".join(body))
    return out


def write_tokenizer_bin(hf_dir: Path, out: Path) -> Path:
    """llama2.c tokenizer.py export: max_token_length, then (score, len, bytes) per
    piece, with ▁ as a space and <s> / </s> wrapped in newlines."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=str(hf_dir / "tokenizer.model"))
    tokens, scores = [], []
    for i in range(sp.get_piece_size()):
        t = sp.id_to_piece(i)
        if i == sp.bos_id():
            t = "\n<s>\n"
        elif i == sp.eos_id():
            t = "\n</s>\n"
        tokens.append(t.replace("\u2581", " ").encode("utf-8"))
        scores.append(sp.get_score(i))
    body = [struct.pack("<I", max(len(t) for t in tokens))]
    body += [struct.pack("<fI", s, len(t)) + t for t, s in zip(tokens, scores)]
    out.write_bytes(b"".join(body))
    return out


def check_logits(model, hf, tol: float = 1e-4) -> float:
    want = hf_decode_logits(hf, TOKENS)
    ref = ReferenceModel(model)
    got = np.stack([ref.forward(t, pos) for pos, t in enumerate(TOKENS)])
    err = float(np.max(np.abs(got - want)))
    assert err < tol, f"logits differ from transformers by {err} (tolerance {tol})"
    return err


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def mha_untied(tmp_path_factory) -> Path:
    return make_tiny_hf_model(tmp_path_factory.mktemp("l2c_mha"), dim=64, n_layers=2, n_heads=4, n_kv_heads=4,
                              hidden=96, vocab=320, tie=False, rope_theta=10000.0, norm_eps=1e-5, seed=3,
                              max_seq_len=64, tokenizer="sentencepiece")


@pytest.fixture(scope="module")
def gqa_tied(tmp_path_factory) -> Path:
    return make_tiny_hf_model(tmp_path_factory.mktemp("l2c_gqa"), dim=64, n_layers=3, n_heads=8, n_kv_heads=2,
                              hidden=128, vocab=320, tie=True, rope_theta=10000.0, norm_eps=1e-5, seed=4,
                              max_seq_len=32, tokenizer="sentencepiece")


WRITERS = {"v0": write_v0, "v1": write_v1}


@pytest.mark.parametrize("version", list(WRITERS))
@pytest.mark.parametrize("which", ["mha_untied", "gqa_tied"])
def test_f32_matches_transformers(request, tmp_path, version, which):
    hf_dir: Path = request.getfixturevalue(which)
    ckpt = WRITERS[version](hf_dir, tmp_path / "model.bin")
    tok = write_tokenizer_bin(hf_dir, tmp_path / "tokenizer.bin")
    model = load_llama2c(ckpt, tok)
    cfg = model.config
    hf_cfg = json.loads((hf_dir / "config.json").read_text())
    assert (cfg.dim, cfg.hidden_dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.vocab_size, cfg.max_seq_len) == (
        hf_cfg["hidden_size"], hf_cfg["intermediate_size"], hf_cfg["num_hidden_layers"],
        hf_cfg["num_attention_heads"], hf_cfg["num_key_value_heads"], hf_cfg["vocab_size"],
        hf_cfg["max_position_embeddings"])
    assert cfg.tie_embeddings == hf_cfg["tie_word_embeddings"]
    assert (cfg.rope_theta, cfg.norm_eps) == (10000.0, pytest.approx(1e-5))
    assert model.name == "model"
    st = hf_state(hf_dir)
    assert np.array_equal(model.tensor(Role.WQ, 1), st["model.layers.1.self_attn.q_proj.weight"])
    assert np.array_equal(model.tensor(Role.WK, 0), st["model.layers.0.self_attn.k_proj.weight"])
    assert (tensor_name(Role.OUTPUT) in model.weights) == (not cfg.tie_embeddings)
    assert len(model.vocab) == cfg.vocab_size
    err = check_logits(model, load_hf_reference(hf_dir))
    print(f"llama2.c {version} {which}: max |logit diff| {err:.2e}")


@pytest.mark.parametrize("which", ["mha_untied", "gqa_tied"])
def test_v2_q80_matches_transformers_on_same_weights(request, tmp_path, which):
    import torch
    hf_dir: Path = request.getfixturevalue(which)
    ckpt = write_v2(hf_dir, tmp_path / "q.bin", group=32)
    model = load_llama2c(ckpt, write_tokenizer_bin(hf_dir, tmp_path / "tokenizer.bin"))
    st = hf_state(hf_dir)
    assert np.array_equal(model.tensor(Role.W2, 1), dequant_q80(st["model.layers.1.mlp.down_proj.weight"], 32))
    assert np.array_equal(model.tensor(Role.ATTENTION_NORM, 1), st["model.layers.1.input_layernorm.weight"])
    hf = load_hf_reference(hf_dir)
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if not name.endswith("norm.weight"):
                p.copy_(torch.from_numpy(dequant_q80(p.detach().numpy().copy(), 32)))
    err = check_logits(model, hf)
    print(f"llama2.c v2 (Q8_0 group 32) {which}: max |logit diff| {err:.2e} vs transformers on the same weights")


def test_sentencepiece_tokenizer_form(gqa_tied, tmp_path):
    """The tokenizer may be the SentencePiece .model instead of tokenizer.bin."""
    model = load_llama2c(write_v0(gqa_tied, tmp_path / "model.bin"), gqa_tied / "tokenizer.model")
    from_bin = load_llama2c(tmp_path / "model.bin", write_tokenizer_bin(gqa_tied, tmp_path / "tokenizer.bin"))
    assert len(model.vocab) == len(from_bin.vocab) == model.config.vocab_size
    assert model.vocab.tokens[3:] == from_bin.vocab.tokens[3:]      # all but <unk> <s> </s>


# ---------------------------------------------------------------- errors

def test_truncated_checkpoint(gqa_tied, tmp_path):
    tok = write_tokenizer_bin(gqa_tied, tmp_path / "tokenizer.bin")
    for write in (write_v0, write_v1, write_v2):
        data = write(gqa_tied, tmp_path / "full.bin").read_bytes()
        for cut in (len(data) - 4, len(data) // 3, 300, 20):
            short = tmp_path / "short.bin"
            short.write_bytes(data[:cut])
            with pytest.raises(ValueError, match=r"short\.bin.*(truncated|too short)"):
                load_llama2c(short, tok)


def test_trailing_bytes_and_bad_headers(gqa_tied, tmp_path):
    tok = write_tokenizer_bin(gqa_tied, tmp_path / "tokenizer.bin")
    data = write_v0(gqa_tied, tmp_path / "full.bin").read_bytes()
    longer = tmp_path / "long.bin"
    longer.write_bytes(data + b"\0" * 8)
    with pytest.raises(ValueError, match=r"long\.bin.*header describes"):
        load_llama2c(longer, tok)
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(struct.pack("<7i", 64, -5, 2, 4, 4, 320, 32) + b"\0" * 64)
    with pytest.raises(ValueError, match=r"garbage\.bin.*not a llama2.c checkpoint"):
        load_llama2c(garbage, tok)
    v9 = tmp_path / "v9.bin"
    v9.write_bytes(struct.pack("<Ii", MAGIC, 9) + b"\0" * 300)
    with pytest.raises(ValueError, match=r"v9\.bin.*version 9"):
        load_llama2c(v9, tok)


def test_missing_files(gqa_tied, tmp_path):
    ckpt = write_v0(gqa_tied, tmp_path / "model.bin")
    with pytest.raises(ValueError, match=r"nothere\.bin.*no such"):
        load_llama2c(tmp_path / "nothere.bin", tmp_path / "tokenizer.bin")
    with pytest.raises(ValueError, match=r"tokenizer\.bin.*no such"):
        load_llama2c(ckpt, tmp_path / "tokenizer.bin")
