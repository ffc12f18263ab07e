"""Ternary weights kept exact: quantize_ternary's rule for groups that are already
ternary, and Hugging Face ternary Llama checkpoints of transformers' BitNet
integration (quant_method "bitnet": packed uint8 weights + weight_scale, or float
weights ternarized per tensor) imported as the weights they compute with; BitNet
architectures that are not a Llama refused. (GGUF TQ1_0 / TQ2_0: test_import_gguf.py.)"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hf_models import make_tiny_hf_model
from model.import_hf import load_hf_dir, ternarize_tensor
from model.psnt import QuantPolicy, read_psnt, write_psnt
from model.quant import quantize_ternary

PROJ = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")


def test_quantize_ternary_keeps_ternary_groups():
    """Exactly ternary groups keep scale max|w| (absmean would give 0.5 * 0.3 for
    the first row); other groups keep absmean."""
    w = np.array([[0.3, 0.0, -0.3, 0.0], [0.1, -0.2, 0.3, 0.4], [0, 0, 0, 0]], np.float32)
    t, err = quantize_ternary(w, 4)
    assert t.scales[:, 0].tolist() == [np.float32(0.3), np.float32(0.25), 0.0]
    assert t.q.tolist() == [[1, 0, -1, 0], [0, -1, 1, 1], [0, 0, 0, 0]]
    assert np.array_equal(t.dequantize()[0], w[0]) and err > 0


# ---------------------------------------------------------------- HF BitNet checkpoints

def pack_bitnet(codes: np.ndarray) -> np.ndarray:
    """transformers integrations/bitnet.py pack_weights, restated: row i*rows/4 + r
    goes to bits 2i..2i+1 of packed row r, as code + 1."""
    rows = codes.shape[0] // 4
    packed = np.zeros((rows, codes.shape[1]), np.uint8)
    for i in range(4):
        packed |= ((codes[i * rows:(i + 1) * rows] + 1).astype(np.uint8) << (2 * i))
    return packed


def bitnet_dir(src: Path, out: Path, quant: dict, packed: bool) -> Path:
    """The tiny Llama at src as a quant_method "bitnet" checkpoint: each projection
    ternarized per tensor (absmean), stored packed with weight_scale = 1 / scale
    (BitLinear's convention), or as the float latent weights (online mode)."""
    from safetensors.numpy import load_file, save_file
    out.mkdir()
    for f in src.iterdir():
        if f.suffix != ".safetensors":
            (out / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((src / "config.json").read_text())
    cfg["quantization_config"] = {"quant_method": "bitnet", **quant}
    (out / "config.json").write_text(json.dumps(cfg))
    state = load_file(str(src / "model.safetensors"))
    if packed:
        for name in [n for n in state if n.endswith(tuple(f"{p}.weight" for p in PROJ))]:
            w = state[name]
            s = np.float32(1) / np.float32(np.abs(w).astype(np.float64).mean())
            state[name] = pack_bitnet(np.clip(np.round(w * s), -1, 1).astype(np.int8))
            state[name + "_scale"] = np.array([s], np.float32)
    save_file(state, str(out / "model.safetensors"))
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny_hf_model(tmp_path_factory.mktemp("tiny") / "hf", dim=64, n_layers=2, n_heads=4,
                              n_kv_heads=2, hidden=96, vocab=320, seed=4, tie=True)


@pytest.mark.parametrize("packed", [True, False], ids=["packed-offline", "float-online"])
def test_hf_bitnet_is_ternary_and_exact(tiny, tmp_path, packed):
    quant = {} if packed else {"quantization_mode": "online"}
    model = load_hf_dir(bitnet_dir(tiny, tmp_path / "b", quant, packed))
    float_model = load_hf_dir(tiny)
    for name in ("layers.0.wq", "layers.1.w2"):
        want = ternarize_tensor(float_model.weights[name])      # per tensor, as BitNet trains
        assert np.array_equal(model.weights[name], want), name
        assert len(np.unique(np.abs(want[want != 0]))) == 1
    assert np.array_equal(model.weights["tok_embeddings"], float_model.weights["tok_embeddings"])
    psnt = read_psnt(write_psnt(tmp_path / "m.psnt", model, QuantPolicy.parse("ternary,embed=q8")).path)
    t = psnt.load("layers.1.w3")
    assert np.array_equal(t.dequantize(), model.weights["layers.1.w3"])


def test_hf_bitnet_unsupported(tiny, tmp_path):
    b = bitnet_dir(tiny, tmp_path / "b", {"use_rms_norm": True}, packed=True)
    with pytest.raises(ValueError, match="use_rms_norm.*RMSNorm inside every linear"):
        load_hf_dir(b)
    cfg = json.loads((b / "config.json").read_text())
    cfg.update(architectures=["BitNetForCausalLM"], model_type="bitnet", hidden_act="relu2")
    (b / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="BitNet architecture.*sub_norm.*squared-ReLU"):
        load_hf_dir(b)
    cfg.update(architectures=["BitnetForCausalLM"], model_type="llama", hidden_act="silu")
    (b / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="BitnetForCausalLM is a BitNet architecture.*inner_attn_ln"):
        load_hf_dir(b)
    cfg.update(architectures=["LlamaForCausalLM"], quantization_config={"quant_method": "gptq"})
    (b / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="quant_method 'gptq' is not supported"):
        load_hf_dir(b)
