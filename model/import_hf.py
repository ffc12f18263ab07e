"""Import a Hugging Face Llama directory into a canonical LlamaModel.

A directory as `save_pretrained` writes it: config.json (LlamaForCausalLM; a
Mistral is accepted with its context cut to the sliding window, within which it
is a Llama), the weights in one or more *.safetensors files (F32, F16 or BF16;
sharded ones listed by model.safetensors.index.json), and the tokenizer as
tokenizer.json (+ tokenizer_config.json) or SentencePiece tokenizer.model (see
load_hf_vocab). HF weights already use the rotate-half rotary layout, so q/k rows
are taken as they are. Every problem is a ValueError naming the file.

Ternary Llama checkpoints of transformers' BitNet integration (config.json
quantization_config with quant_method "bitnet"; src/transformers/integrations/bitnet.py
and utils/quantization_config.py BitNetQuantConfig) are read as the ternary weights
they compute with (see BitNetFormat). BitNet architectures with layers a Llama does
not have (BitNetForCausalLM, 1bitLLM's BitnetForCausalLM) are refused.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
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
    if model_type == "bitnet" or any(a.lower() == "bitnetforcausallm" for a in archs):
        raise fail(f"{'/'.join(archs) or model_type} is a BitNet architecture, not a Llama: its layers "
                   "have an RMSNorm before o_proj and before down_proj (attn_sub_norm / ffn_sub_norm, "
                   "in 1bitLLM's checkpoints inner_attn_ln / ffn_layernorm), which the ps2llm runtime "
                   "does not implement" + (", and a squared-ReLU FFN instead of SwiGLU"
                                           if cfg.get("hidden_act") == "relu2" else "")
                   + "; ternary LlamaForCausalLM checkpoints (quant_method 'bitnet') are supported")
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


@dataclass(frozen=True)
class BitNetFormat:
    """How a quant_method "bitnet" checkpoint stores its ternary projections (all
    nn.Linear of the layers but lm_head and modules_to_not_convert), after
    transformers' integrations/bitnet.py:
    - offline (default): `weight` holds codes, packed uint8 (see unpack_bitnet) or
      unpacked; `weight_scale` is one number per tensor. BitLinear (linear_class
      "bitlinear", the default) divides its output by it, so W = codes / weight_scale;
      AutoBitLinear ("autobitlinear") multiplies, W = codes * weight_scale;
    - online: `weight` is the float latent weight, ternarized in every forward by
      WeightQuant with one absmean scale per tensor; we do that once here.
    The ternary weights are then exact (every nonzero |w| of a tensor equal), and
    QUANT=ternary stores them exactly (model/quant.py quantize_ternary). BitLinear
    also quantizes its input to int8 per token; the runtime's 4095-level
    activations (docs/FORMAT.md) are finer than what the model was trained with."""
    online: bool
    divide: bool
    keep: tuple[str, ...]           # module names left in floating point

    @staticmethod
    def from_config(path: Path, cfg: dict) -> "BitNetFormat | None":
        qc = cfg.get("quantization_config")
        if qc is None:
            return None
        method = qc.get("quant_method") if isinstance(qc, dict) else None
        if method != "bitnet":
            raise ValueError(f"{path}: quantization_config quant_method {method!r} is not supported "
                             "(only unquantized weights or 'bitnet' ternary ones)")
        if qc.get("use_rms_norm"):
            raise ValueError(f"{path}: BitNet use_rms_norm=true puts an RMSNorm inside every linear "
                             "layer, which the ps2llm runtime does not implement")
        mode, linear = qc.get("quantization_mode", "offline"), qc.get("linear_class", "bitlinear")
        if mode not in ("offline", "online") or linear not in ("bitlinear", "autobitlinear"):
            raise ValueError(f"{path}: BitNet quantization_mode {mode!r} / linear_class {linear!r} "
                             "is not supported")
        return BitNetFormat(online=mode == "online", divide=linear == "bitlinear",
                            keep=("lm_head", *(qc.get("modules_to_not_convert") or ())))

    def converts(self, hf_name: str) -> bool:
        """Whether this tensor is a ternary projection's weight."""
        module = hf_name.rsplit(".", 1)[0]
        return (hf_name.endswith("_proj.weight") and module.startswith("model.layers.")
                and not any(k in module for k in self.keep))


def unpack_bitnet(packed: np.ndarray, where: str) -> np.ndarray:
    """transformers' pack_weights layout: (rows/4, cols) uint8 -> (rows, cols) f32 codes.
    Packed row r holds row i*rows/4 + r in bits 2i..2i+1, as code + 1."""
    parts = [((packed >> (2 * i)) & 3).astype(np.int8) - 1 for i in range(4)]
    codes = np.concatenate(parts, axis=0)
    if (codes == 2).any():
        raise ValueError(f"{where}: packed ternary value 3 (only 0, 1, 2 encode -1, 0, 1)")
    return codes.astype(np.float32)


def ternarize_tensor(w: np.ndarray) -> np.ndarray:
    """transformers' WeightQuant (BitNet b1.58, one absmean scale per tensor), in f32:
    s = 1 / max(mean|w|, 1e-5), W = clamp(round(w * s), -1, 1) / s."""
    s = np.float32(1) / np.float32(max(float(np.abs(w).astype(np.float64).mean()), 1e-5))
    return (np.clip(np.round(w * s), -1, 1) / s).astype(np.float32)


def _bitnet_codes(raw: dict, where: str) -> np.ndarray:
    """An offline BitNet projection's codes as f32 (raw: a safetensors entry)."""
    if raw["dtype"] == "U8":
        return unpack_bitnet(np.frombuffer(raw["data"], dtype=np.uint8).reshape(raw["shape"]), where)
    return _to_f32(raw["data"], raw["dtype"], list(raw["shape"]), where)


def _bitnet_scaled(codes: np.ndarray, scale: np.ndarray | None, fmt: BitNetFormat, where: str) -> np.ndarray:
    """The f32 weight an offline BitNet projection computes with."""
    if scale is None or scale.size != 1:
        raise ValueError(f"{where}: needs a one-element weight_scale beside it")
    s = np.float32(scale.reshape(-1)[0])
    return codes / s if fmt.divide else codes * s


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


def _read_tensors(model_dir: Path) -> Iterator[tuple[Path, str, dict]]:
    """(file, name, safetensors entry) of every tensor of the checkpoint, one file
    in memory at a time."""
    from safetensors import SafetensorError, deserialize

    for path in _weight_files(model_dir):
        try:
            tensors = deserialize(path.read_bytes())
        except (OSError, SafetensorError) as e:
            raise ValueError(f"{path}: not a readable safetensors file ({e})") from None
        for name, info in tensors:
            yield path, name, info


def load_weights(model_dir: Path, cfg: ModelConfig, bitnet: BitNetFormat | None = None) -> dict[str, np.ndarray]:
    weights: dict[str, np.ndarray] = {}
    scales: dict[str, np.ndarray] = {}      # BitNet: "<module>.weight" -> its weight_scale
    unscaled: dict[str, tuple[str, str]] = {}   # BitNet codes waiting for their scale (any shard)
    for path, hf_name, info in _read_tensors(model_dir):
        where = f"{path}: tensor {hf_name!r}"
        if bitnet is not None and hf_name.endswith(".weight_scale"):
            scales[hf_name[:-len("_scale")]] = _to_f32(info["data"], info["dtype"], list(info["shape"]), where)
            continue
        try:
            name = _canonical_name(hf_name, cfg.n_layers)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
        if name is None or (name == tensor_name(Role.OUTPUT) and cfg.tie_embeddings):
            continue   # a tied lm_head some checkpoints store anyway
        if name in weights:
            raise ValueError(f"{path}: tensor {hf_name!r} appears twice in the checkpoint")
        if bitnet is not None and bitnet.converts(hf_name) and bitnet.online:
            weights[name] = ternarize_tensor(_to_f32(info["data"], info["dtype"], list(info["shape"]), where))
        elif bitnet is not None and bitnet.converts(hf_name):
            weights[name] = _bitnet_codes(info, where)
            unscaled[name] = (hf_name, where)
        else:
            weights[name] = _to_f32(info["data"], info["dtype"], list(info["shape"]), where)
    for name, (hf_name, where) in unscaled.items():
        weights[name] = _bitnet_scaled(weights[name], scales.get(hf_name), bitnet, where)
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
    vocab = vocab_import.vocab_from_sentencepiece(files[-1])
    config = model_dir / "tokenizer_config.json"     # the template lives beside it
    if config.is_file():
        vocab.chat_template = vocab_import.chat_template_from_config(
            json.loads(config.read_text(encoding="utf-8")))
    return vocab


def load_hf_dir(path) -> LlamaModel:
    """A Hugging Face Llama directory → canonical LlamaModel (f32 weights).
    Raises ValueError naming the directory or file and the problem."""
    model_dir = Path(path)
    if not model_dir.is_dir():
        raise ValueError(f"{model_dir}: not a directory (expected a Hugging Face model directory)")
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{model_dir}: no config.json; not a Hugging Face model directory")
    raw_cfg = _read_json(config_path)
    cfg = config_from_hf(config_path, raw_cfg)
    bitnet = BitNetFormat.from_config(config_path, raw_cfg)
    _tokenizer_files(model_dir)          # fail early, before reading the weights
    weights = load_weights(model_dir, cfg, bitnet)
    model = LlamaModel(cfg, load_hf_vocab(model_dir), weights, model_dir.resolve().name)
    model.validate(str(model_dir))
    return model
