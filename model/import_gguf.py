"""Import a llama.cpp GGUF file (architecture `llama`) into a canonical LlamaModel.

Facts about the format, from llama.cpp's `gguf-py` and `convert_hf_to_gguf.py`:
- a tensor's dims are stored in ggml order (ne[0] = the contiguous, input axis), so a
  matrix of ne = [cols, rows] is a (rows, cols) array in numpy;
- quantized tensors are runs of blocks along each row (Q8_0, Q4_0, Q4_1: 32 values;
  the ternary TQ1_0 / TQ2_0: 256 values, so rows must be multiples of 256);
- TQ1_0 and TQ2_0 (ggml/src/ggml-common.h block_tq1_0 / block_tq2_0, quantized by
  quantize_row_tq1_0_ref / quantize_row_tq2_0_ref in ggml/src/ggml-quants.c; gguf-py
  gguf/quants.py TQ1_0 / TQ2_0) hold per 256-block one f16 scale d = max|x| of the
  block and codes q in {-1, 0, 1}, a weight being q * d: TQ2_0 as 2 bits each (q + 1;
  64 bytes + d = 66), TQ1_0 as base-3 digits, five per byte in 48 bytes and four per
  byte in 4 more (+ d = 54 bytes). Dequantized, every nonzero |w| of a block is d, so
  a PSNT ternary group of whole blocks sharing one d (group 256 always; one group per
  row when the row's blocks share d, as BitNet's per-tensor or per-row scale gives)
  keeps exactly those codes and d (model/quant.py quantize_ternary);
- the converter permutes the rows of attn_q / attn_k for ggml's interleaved rotary
  (`LlamaModel.permute`: reshape(n_head, 2, head_dim/2, ...).swapaxes(1, 2)), with
  n_head = head_count_kv for attn_k. We invert that to get the rotate-half layout.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from model.config import ModelConfig
from model.weights import NORM_ROLES, LlamaModel, Role, expected_shape, tensor_name

GGUF_MAGIC = b"GGUF"

# GGUF per-layer tensor name → canonical role.
_LAYER_TENSORS = {
    "attn_norm": Role.ATTENTION_NORM,
    "attn_q": Role.WQ,
    "attn_k": Role.WK,
    "attn_v": Role.WV,
    "attn_output": Role.WO,
    "ffn_norm": Role.FFN_NORM,
    "ffn_gate": Role.W1,
    "ffn_down": Role.W2,
    "ffn_up": Role.W3,
}
_GLOBAL_TENSORS = {
    "token_embd": Role.TOK_EMBEDDINGS,
    "output_norm": Role.NORM,
    "output": Role.OUTPUT,
}


# ---------------------------------------------------------------- rotary layout

def interleaved_to_rotate_half(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Rows of a q/k projection in interleaved rotary order (pairs 2i, 2i+1, as
    GGUF and llama2.c store them) → Hugging Face rotate-half order (pairs i,
    i + head_dim/2). Inverse of llama.cpp's `LlamaModel.permute`."""
    rows = w.shape[0]
    if rows % (2 * n_heads):
        raise ValueError(f"{rows} rows do not split into {n_heads} heads of even size")
    return np.ascontiguousarray(
        w.reshape(n_heads, rows // n_heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def rotate_half_to_interleaved(w: np.ndarray, n_heads: int) -> np.ndarray:
    """The permutation llama.cpp's converter applies (for writing test files)."""
    rows = w.shape[0]
    if rows % (2 * n_heads):
        raise ValueError(f"{rows} rows do not split into {n_heads} heads of even size")
    return np.ascontiguousarray(
        w.reshape(n_heads, 2, rows // n_heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


# ---------------------------------------------------------------- metadata

def _field_value(field: Any) -> Any:
    """A GGUF metadata value as plain Python: str, int, float, bool, or a list of
    those (string arrays decoded as UTF-8, invalid bytes kept as bytes)."""
    from gguf import GGUFValueType

    types = field.types
    if not types:
        return None

    def text(part: np.ndarray) -> str | bytes:
        raw = part.tobytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw

    if types[0] == GGUFValueType.ARRAY:
        if len(types) < 2:      # empty array
            return []
        if types[-1] == GGUFValueType.STRING:
            return [text(field.parts[i]) for i in field.data]
        if types[-1] == GGUFValueType.ARRAY:
            raise ValueError(f"nested array in metadata key {field.name}")
        # Numeric arrays: each element is its own one-element part.
        if not field.data:
            return []
        values = np.concatenate([field.parts[i] for i in field.data])
        return values.tolist()
    if types[0] == GGUFValueType.STRING:
        return text(field.parts[-1])
    value = field.parts[-1].tolist()[0]
    return bool(value) if types[0] == GGUFValueType.BOOL else value


def gguf_metadata(reader: Any, prefix: str = "") -> dict[str, Any]:
    """Every metadata key starting with `prefix`, as plain Python values."""
    return {key: _field_value(f) for key, f in reader.fields.items()
            if key.startswith(prefix) and not key.startswith("GGUF.")}


# ---------------------------------------------------------------- tensors

def _dequantize(tensor: Any, source: str) -> np.ndarray:
    """One GGUF tensor as an f32 numpy array of shape reversed(ne), copied out of
    the memory map."""
    from gguf import GGMLQuantizationType as T
    from gguf.quants import dequantize

    supported = (T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.TQ1_0, T.TQ2_0)
    qtype = tensor.tensor_type
    if qtype not in supported:
        raise ValueError(f"{source}: tensor {tensor.name} has type {qtype.name}, which is not supported "
                         f"(supported: {', '.join(t.name for t in supported)}); "
                         "re-quantize the model to one of these, e.g. with llama-quantize")
    shape = tuple(int(n) for n in reversed(tensor.shape.tolist()))
    if qtype == T.F32:
        out = np.array(tensor.data, dtype=np.float32)       # copy out of the map
    else:
        out = dequantize(tensor.data, qtype)
    return np.ascontiguousarray(out, dtype=np.float32).reshape(shape)


def _split_name(name: str) -> tuple[Role, int | None] | None:
    """GGUF tensor name → (role, layer), None when it is not a llama tensor."""
    if not name.endswith(".weight"):
        return None
    stem = name[: -len(".weight")]
    if stem in _GLOBAL_TENSORS:
        return _GLOBAL_TENSORS[stem], None
    parts = stem.split(".")
    if len(parts) == 3 and parts[0] == "blk" and parts[1].isdigit() and parts[2] in _LAYER_TENSORS:
        return _LAYER_TENSORS[parts[2]], int(parts[1])
    return None


# ---------------------------------------------------------------- loading

def _open(path: Path) -> Any:
    from gguf import GGUFReader

    if not path.is_file():
        raise ValueError(f"{path}: no such GGUF file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise ValueError(f"{path}: not a GGUF file (starts with {magic!r}, expected {GGUF_MAGIC!r})")
    size = path.stat().st_size
    try:
        reader = GGUFReader(path, "r")
    except Exception as e:   # the reader fails deep inside on short or corrupt files
        raise ValueError(f"{path}: corrupt or truncated GGUF file ({type(e).__name__}: {e})") from None
    if reader.byte_order != "I":
        raise ValueError(f"{path}: big-endian GGUF files are not supported")
    for t in reader.tensors:
        if t.data_offset + t.n_bytes > size or t.data.nbytes != t.n_bytes:
            raise ValueError(f"{path}: truncated GGUF file: tensor {t.name} needs bytes up to "
                             f"{t.data_offset + t.n_bytes}, file has {size}")
    return reader


def _f32_decimal(value: float) -> float:
    """A GGUF f32 as the shortest decimal that rounds to it (1e-05, not
    9.999999747378752e-06), so configs compare equal to other importers'."""
    return float(str(np.float32(value)))


def _config(meta: dict[str, Any], source: str, vocab_size: int) -> ModelConfig:
    def get(key: str, default: Any = None) -> Any:
        value = meta.get(f"llama.{key}", default)
        if value is None:
            raise ValueError(f"{source}: missing metadata key llama.{key}")
        if isinstance(value, list):     # per-layer values (some converters): must agree
            if len(set(value)) != 1:
                raise ValueError(f"{source}: llama.{key} differs between layers ({value}); not supported")
            value = value[0]
        return value

    n_heads = int(get("attention.head_count"))
    dim = int(get("embedding_length"))
    head_dim = int(get("attention.key_length", dim // max(n_heads, 1)))
    if int(get("attention.value_length", head_dim)) != head_dim:
        raise ValueError(f"{source}: attention.value_length != key_length; not supported")
    rot = int(get("rope.dimension_count", head_dim))
    if rot != head_dim:
        raise ValueError(f"{source}: partial rotary (rope.dimension_count={rot}, head_dim={head_dim}) "
                         "is not supported")
    scaling = meta.get("llama.rope.scaling.type", "none")
    factor = float(meta.get("llama.rope.scaling.factor", 1.0) or 1.0)
    if scaling not in ("none", "") and factor != 1.0:
        raise ValueError(f"{source}: rope scaling {scaling!r} (factor {factor}) is not supported")
    n_vocab_meta = meta.get("llama.vocab_size")
    if n_vocab_meta is not None and int(n_vocab_meta) != vocab_size:
        raise ValueError(f"{source}: llama.vocab_size={n_vocab_meta} but token_embd has {vocab_size} rows")
    fields = dict(
        dim=dim,
        hidden_dim=int(get("feed_forward_length")),
        n_layers=int(get("block_count")),
        n_heads=n_heads,
        n_kv_heads=int(get("attention.head_count_kv", n_heads)),
        vocab_size=vocab_size,
        max_seq_len=int(get("context_length")),
        norm_eps=_f32_decimal(get("attention.layer_norm_rms_epsilon", 1e-5)),
        rope_theta=_f32_decimal(get("rope.freq_base", 10000.0)),
        tie_embeddings=False,       # decided from the tensors
        head_dim=head_dim,
    )
    try:
        return ModelConfig(**fields)
    except ValueError as e:
        raise ValueError(f"{source}: {e}") from None


def load_gguf(path: str | Path) -> LlamaModel:
    """Load a GGUF llama model: f32 weights in canonical names, rotate-half q/k,
    tokenizer from the `tokenizer.*` metadata. Raises ValueError naming the file
    for anything it cannot represent."""
    from dataclasses import replace

    from model.vocab_import import vocab_from_gguf_metadata

    path = Path(path)
    source = str(path)
    reader = _open(path)
    meta = gguf_metadata(reader)
    arch = meta.get("general.architecture")
    if arch != "llama":
        raise ValueError(f"{source}: architecture is {arch!r}; only 'llama' GGUF files are supported")

    by_name = {t.name: t for t in reader.tensors}
    if "token_embd.weight" not in by_name:
        raise ValueError(f"{source}: missing tensor token_embd.weight")
    vocab_size = int(by_name["token_embd.weight"].shape[-1])
    cfg = _config(meta, source, vocab_size)
    cfg = replace(cfg, tie_embeddings="output.weight" not in by_name)

    unknown = [name for name in by_name if _split_name(name) is None]
    if unknown:
        raise ValueError(f"{source}: tensors this importer does not understand (biases, rope factors, "
                         f"other architectures?): {', '.join(sorted(unknown)[:8])}")

    # the tokenizer first: it fails faster than dequantizing every tensor
    vocab = vocab_from_gguf_metadata({k: v for k, v in meta.items() if k.startswith("tokenizer.")},
                                     where=source)
    weights: dict[str, np.ndarray] = {}
    for name, t in by_name.items():
        role, layer = _split_name(name)  # type: ignore[misc]
        if layer is not None and layer >= cfg.n_layers:
            raise ValueError(f"{source}: tensor {name} is beyond block_count={cfg.n_layers}")
        rows, cols = expected_shape(cfg, role)
        want = (cols,) if role in NORM_ROLES else (rows, cols)
        got = tuple(int(n) for n in reversed(t.shape.tolist()))
        if got != want:
            raise ValueError(f"{source}: tensor {name} has shape {got}, expected {want} from the metadata")
        w = _dequantize(t, source)
        if role == Role.WQ:
            w = interleaved_to_rotate_half(w, cfg.n_heads)
        elif role == Role.WK:
            w = interleaved_to_rotate_half(w, cfg.n_kv_heads)
        weights[tensor_name(role, layer)] = w

    model = LlamaModel(config=cfg, vocab=vocab, weights=weights, name=path.stem)
    model.validate(source)
    return model
