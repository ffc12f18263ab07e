"""Import a Hugging Face Llama directory into a canonical LlamaModel.

A directory as `save_pretrained` writes it: config.json (LlamaForCausalLM; a
Mistral is accepted with its context cut to the sliding window, within which it
is a Llama), the weights in one or more *.safetensors files (F32, F16 or BF16;
sharded ones listed by model.safetensors.index.json), and the tokenizer as
tokenizer.json (+ tokenizer_config.json) or SentencePiece tokenizer.model (see
load_hf_vocab). HF weights already use the rotate-half rotary layout, so q/k rows
are taken as they are. Every problem is a ValueError naming the file.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from model.config import ModelConfig
from model.vocab import Vocab
from model.weights import LAYER_ROLES, LlamaModel, Role, tensor_name

INDEX = "model.safetensors.index.json"

# HF tensor names of each role (layer roles under model.layers.{L}.)
_GLOBAL = {"model.embed_tokens.weight": Role.TOK_EMBEDDINGS,
           "model.norm.weight": Role.NORM,
           "lm_head.weight": Role.OUTPUT}
_LAYER = {"input_layernorm.weight": Role.ATTENTION_NORM,
          "self_attn.q_proj.weight": Role.WQ,
          "self_attn.k_proj.weight": Role.WK,
          "self_attn.v_proj.weight": Role.WV,
          "self_attn.o_proj.weight": Role.WO,
          "post_attention_layernorm.weight": Role.FFN_NORM,
          "mlp.gate_proj.weight": Role.W1,
          "mlp.down_proj.weight": Role.W2,
          "mlp.up_proj.weight": Role.W3}
assert set(_LAYER.values()) == set(LAYER_ROLES)
_IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)   # buffers some old checkpoints saved


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def config_from_hf(path: Path, cfg: dict) -> ModelConfig:
    """ModelConfig from a parsed config.json at `path`; rejects what the runtime
    does not implement."""
    def fail(problem: str) -> ValueError:
        return ValueError(f"{path}: {problem}")

    model_type = cfg.get("model_type")
    archs = cfg.get("architectures") or []
    if model_type not in ("llama", "mistral"):
        raise fail(f"model_type {model_type!r} is not supported; ps2llm imports Llama models "
                   "(model_type 'llama', LlamaForCausalLM)")
    if archs and not any(a in ("LlamaForCausalLM", "MistralForCausalLM") for a in archs):
        raise fail(f"architectures {archs} has no LlamaForCausalLM (a causal language model is needed)")

    def get_int(key: str, default: int | None = None) -> int:
        value = cfg.get(key, default)
        if value is None:
            raise fail(f"missing {key!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"{key!r} is {value!r}, expected an integer")
        return value

    def get_float(key: str, default: float) -> float:
        value = cfg.get(key, default)
        if value is None:
            value = default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(f"{key!r} is {value!r}, expected a number")
        return float(value)

    if cfg.get("hidden_act", "silu") != "silu":
        raise fail(f"hidden_act {cfg['hidden_act']!r} is not supported (only silu / SwiGLU)")
    for key in ("attention_bias", "mlp_bias"):
        if cfg.get(key):
            raise fail(f"{key}=true is not supported (the runtime has no bias vectors)")
    if get_float("partial_rotary_factor", 1.0) != 1.0:
        raise fail("partial_rotary_factor != 1 is not supported")
    scaling = cfg.get("rope_scaling")
    if scaling is not None:
        kind = scaling.get("rope_type", scaling.get("type")) if isinstance(scaling, dict) else scaling
        if kind != "default":
            raise fail(f"rope_scaling of type {kind!r} is not supported (only none / default rotary)")

    n_heads = get_int("num_attention_heads")
    max_seq_len = get_int("max_position_embeddings", 2048)
    if model_type == "mistral":
        # A sliding window only changes attention beyond `window` positions: within
        # that context Mistral computes exactly what Llama does.
        window = cfg.get("sliding_window")
        if window is not None:
            if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
                raise fail(f"'sliding_window' is {window!r}, expected a positive integer or null")
            max_seq_len = min(max_seq_len, window)
    try:
        return ModelConfig(
            dim=get_int("hidden_size"),
            hidden_dim=get_int("intermediate_size"),
            n_layers=get_int("num_hidden_layers"),
            n_heads=n_heads,
            n_kv_heads=get_int("num_key_value_heads", n_heads),
            vocab_size=get_int("vocab_size"),
            max_seq_len=max_seq_len,
            norm_eps=get_float("rms_norm_eps", 1e-6),
            rope_theta=get_float("rope_theta", 10000.0),
            tie_embeddings=bool(cfg.get("tie_word_embeddings", False)),
            head_dim=get_int("head_dim", 0) if cfg.get("head_dim") is not None else 0,
        )
    except ValueError as e:
        raise fail(str(e)) from None


def _to_f32(raw: bytes, dtype: str, shape: list[int], where: str) -> np.ndarray:
    if dtype == "BF16":   # bf16 is the top half of an f32
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    np_dtype = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}.get(dtype)
    if np_dtype is None:
        raise ValueError(f"{where}: dtype {dtype} is not supported (expected F32, F16 or BF16; "
                         "quantized checkpoints are not)")
    return np.frombuffer(raw, dtype=np_dtype).astype(np.float32).reshape(shape)


def _weight_files(model_dir: Path) -> list[Path]:
    index = model_dir / INDEX
    if index.is_file():
        weight_map = _read_json(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ValueError(f"{index}: no 'weight_map'")
        files = [model_dir / name for name in sorted(set(weight_map.values()))]
        for f in files:
            if not f.is_file():
                raise ValueError(f"{index}: lists {f.name}, which is missing")
        return files
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        other = [p.name for p in model_dir.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".gguf")]
        hint = f" (found {', '.join(sorted(other))}; only safetensors are read)" if other else ""
        raise ValueError(f"{model_dir}: no *.safetensors weights{hint}")
    return files


def _canonical_name(hf_name: str, n_layers: int) -> str | None:
    """Our tensor name for an HF one; None for tensors to skip; raises on unknown."""
    if hf_name in _GLOBAL:
        return tensor_name(_GLOBAL[hf_name])
    if hf_name.endswith(_IGNORED_SUFFIXES):
        return None
    parts = hf_name.split(".", 3)
    if len(parts) == 4 and parts[:2] == ["model", "layers"] and parts[2].isdigit() \
            and parts[3] in _LAYER and int(parts[2]) < n_layers:
        return tensor_name(_LAYER[parts[3]], int(parts[2]))
    raise ValueError(f"unexpected tensor {hf_name!r} (not part of a {n_layers}-layer Llama)")


def load_weights(model_dir: Path, cfg: ModelConfig) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError, deserialize

    weights: dict[str, np.ndarray] = {}
    for path in _weight_files(model_dir):
        try:
            tensors = deserialize(path.read_bytes())
        except (OSError, SafetensorError) as e:
            raise ValueError(f"{path}: not a readable safetensors file ({e})") from None
        for hf_name, info in tensors:
            try:
                name = _canonical_name(hf_name, cfg.n_layers)
            except ValueError as e:
                raise ValueError(f"{path}: {e}") from None
            if name is None or (name == tensor_name(Role.OUTPUT) and cfg.tie_embeddings):
                continue   # a tied lm_head some checkpoints store anyway
            if name in weights:
                raise ValueError(f"{path}: tensor {hf_name!r} appears twice in the checkpoint")
            weights[name] = _to_f32(info["data"], info["dtype"], list(info["shape"]),
                                    f"{path}: tensor {hf_name!r}")
    return weights


def _tokenizer_files(model_dir: Path) -> list[Path]:
    """The tokenizer files present, in the order they are tried."""
    found = [model_dir / n for n in ("tokenizer.json", "tokenizer.model") if (model_dir / n).is_file()]
    if not found:
        raise ValueError(f"{model_dir}: no tokenizer (expected tokenizer.json or tokenizer.model)")
    return found


def load_hf_vocab(model_dir: Path) -> Vocab:
    """tokenizer.json (+ tokenizer_config.json) when it is byte-level BPE; a
    SentencePiece model (Llama 2, TinyLlama, Mistral) usually ships a tokenizer.json
    that the importer refuses, and then its tokenizer.model is read instead."""
    from model import vocab_import

    files = _tokenizer_files(model_dir)
    if files[0].name == "tokenizer.json":
        try:
            return vocab_import.vocab_from_tokenizer_json(files[0])
        except ValueError:
            if len(files) == 1:
                raise
    return vocab_import.vocab_from_sentencepiece(files[-1])


def load_hf_dir(path) -> LlamaModel:
    """A Hugging Face Llama directory → canonical LlamaModel (f32 weights).
    Raises ValueError naming the directory or file and the problem."""
    model_dir = Path(path)
    if not model_dir.is_dir():
        raise ValueError(f"{model_dir}: not a directory (expected a Hugging Face model directory)")
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{model_dir}: no config.json; not a Hugging Face model directory")
    cfg = config_from_hf(config_path, _read_json(config_path))
    _tokenizer_files(model_dir)          # fail early, before reading the weights
    weights = load_weights(model_dir, cfg)
    model = LlamaModel(cfg, load_hf_vocab(model_dir), weights, model_dir.resolve().name)
    model.validate(str(model_dir))
    return model
