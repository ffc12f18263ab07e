"""A trained TinyLlama → the canonical LlamaModel every importer produces, then a
PSNT (model/psnt.py write_psnt) or a Hugging Face directory (config.json, f16
model.safetensors, SentencePiece tokenizer.model, tokenizer_config.json) that
model/import_hf.py reads back: the shipped built-in model goes through the same
converter as any other."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from model.train.model import TinyLlama
from model.vocab_import import vocab_from_sentencepiece
from model.weights import LlamaModel, Role, tensor_name

CHATML_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                   "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
                   "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

_ROLES = {"attention_norm": Role.ATTENTION_NORM, "wq": Role.WQ, "wk": Role.WK, "wv": Role.WV,
          "wo": Role.WO, "ffn_norm": Role.FFN_NORM, "w1": Role.W1, "w2": Role.W2, "w3": Role.W3}


def to_llama(model: TinyLlama, sp_model: bytes, name: str = "") -> LlamaModel:
    """f32 weights under canonical names; shared blocks written once per layer."""
    cfg = model.shape.model_config()
    sd = {k: v.detach().float().numpy().copy() for k, v in model.state_dict().items()}
    w: dict[str, np.ndarray] = {tensor_name(Role.TOK_EMBEDDINGS): sd["tok_embeddings"],
                                tensor_name(Role.NORM): sd["norm.weight"]}
    if not cfg.tie_embeddings:
        w[tensor_name(Role.OUTPUT)] = sd["output.weight"]
    for layer in range(cfg.n_layers):
        b = layer // model.shape.share
        for short, role in _ROLES.items():
            w[tensor_name(role, layer)] = sd[f"blocks.{b}.{short}.weight"]
    vocab = vocab_from_sentencepiece(sp_model)
    vocab.chat_template = CHATML_TEMPLATE
    m = LlamaModel(cfg, vocab, w, name)
    m.validate(name or "trained model")
    return m


_HF_LAYER = {Role.ATTENTION_NORM: "input_layernorm", Role.WQ: "self_attn.q_proj",
             Role.WK: "self_attn.k_proj", Role.WV: "self_attn.v_proj", Role.WO: "self_attn.o_proj",
             Role.FFN_NORM: "post_attention_layernorm", Role.W1: "mlp.gate_proj",
             Role.W2: "mlp.down_proj", Role.W3: "mlp.up_proj"}


def hf_tensors_and_config(model: LlamaModel, dtype: str = "float16") -> tuple[dict, dict]:
    """The LlamaForCausalLM state (numpy, HF names) and config.json of a LlamaModel."""
    cfg = model.config
    tensors = {"model.embed_tokens.weight": model.tensor(Role.TOK_EMBEDDINGS),
               "model.norm.weight": model.tensor(Role.NORM)}
    if not cfg.tie_embeddings:
        tensors["lm_head.weight"] = model.tensor(Role.OUTPUT)
    for layer in range(cfg.n_layers):
        for role, hf in _HF_LAYER.items():
            tensors[f"model.layers.{layer}.{hf}.weight"] = model.tensor(role, layer)
    np_dtype = {"float16": np.float16, "float32": np.float32}[dtype]
    tensors = {k: np.ascontiguousarray(v.astype(np_dtype)) for k, v in tensors.items()}
    hf_config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": cfg.dim, "intermediate_size": cfg.hidden_dim,
        "num_hidden_layers": cfg.n_layers, "num_attention_heads": cfg.n_heads,
        "num_key_value_heads": cfg.n_kv_heads, "head_dim": cfg.head_dim,
        "vocab_size": cfg.vocab_size, "max_position_embeddings": cfg.max_seq_len,
        "rms_norm_eps": cfg.norm_eps, "rope_theta": cfg.rope_theta,
        "tie_word_embeddings": cfg.tie_embeddings, "hidden_act": "silu",
        "attention_bias": False, "mlp_bias": False, "torch_dtype": dtype,
        "bos_token_id": model.vocab.bos_id, "eos_token_id": model.vocab.im_end_id,
    }
    return tensors, hf_config


def write_hf_dir(model: LlamaModel, sp_model: bytes, out: Path, dtype: str = "float16") -> Path:
    """A LlamaForCausalLM directory, written to a temporary sibling and renamed
    into place (an existing `out` is replaced only when all of it is written)."""
    from safetensors.numpy import save_file

    cfg = model.config
    tensors, hf_config = hf_tensors_and_config(model, dtype)
    tok_config = {
        "tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
        "bos_token": "<s>", "eos_token": "<|im_end|>", "unk_token": "<unk>", "pad_token": None,
        "legacy": False, "add_prefix_space": False, "model_max_length": cfg.max_seq_len,
        "chat_template": CHATML_TEMPLATE,
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    tmp.chmod(0o755)                       # mkdtemp makes it private
    try:
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(hf_config, indent=2) + "\n")
        (tmp / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n")
        (tmp / "tokenizer.model").write_bytes(sp_model)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out


# GGUF types write_gguf can give the layer matrices or the embedding. TQ1_0 / TQ2_0
# are llama.cpp's ternary types (model/import_gguf.py describes their blocks).
GGUF_TYPES = ("f16", "q8_0", "tq1_0", "tq2_0")
_GGUF_LAYER = {Role.ATTENTION_NORM: "attn_norm", Role.WQ: "attn_q", Role.WK: "attn_k",
               Role.WV: "attn_v", Role.WO: "attn_output", Role.FFN_NORM: "ffn_norm",
               Role.W1: "ffn_gate", Role.W2: "ffn_down", Role.W3: "ffn_up"}


def ternary_rows(w: np.ndarray) -> np.ndarray:
    """w ternarized as the ternary QAT does (model/train/model.py fake_ternary_rows:
    per-row absmean scale, codes round(w / scale) clipped to ±1), with the scale
    rounded to f16: TQ1_0/TQ2_0 store d = max|x| of each 256-block as f16, which
    for these rows is the row's scale, so they then hold the values exactly."""
    from model.quant import quantize_ternary
    t, _ = quantize_ternary(w, w.shape[1])
    scales = t.scales.astype(np.float16).astype(np.float32)
    return t.q.astype(np.float32) * scales


def _gguf_tensor(w: np.ndarray, kind: str) -> tuple[np.ndarray, object]:
    """(data, raw_dtype) for GGUFWriter.add_tensor; ternary types are checked to
    hold the ternarized rows exactly."""
    from gguf import GGML_QUANT_SIZES
    from gguf import GGMLQuantizationType as T
    from gguf.quants import dequantize, quantize
    if kind == "f16":
        return w.astype(np.float16), None
    qtype = T[kind.upper()]
    block = GGML_QUANT_SIZES[qtype][0]
    if w.shape[-1] % block:
        raise ValueError(f"GGUF {kind} needs rows of a multiple of {block} values; this model has "
                         f"rows of {w.shape[-1]} (use f16 or q8_0)")
    if kind.startswith("tq"):
        w = ternary_rows(w)
    data = quantize(np.ascontiguousarray(w, dtype=np.float32), qtype)
    if kind.startswith("tq") and not np.array_equal(dequantize(data, qtype).reshape(w.shape), w):
        raise ValueError(f"{kind} does not hold the ternary rows exactly")   # not expected
    return data, qtype


def _gguf_tokenizer(writer, vocab) -> None:
    """tokenizer.ggml.* as llama.cpp's converter writes a SentencePiece model
    (model/vocab_import.py vocab_from_gguf_metadata reads them back)."""
    from model.vocab import TokenType, VocabKind
    if vocab.kind != VocabKind.SP_BPE:
        raise ValueError("write_gguf writes SentencePiece BPE tokenizers only")
    writer.add_tokenizer_model("llama")
    writer.add_token_list([f"<0x{t[0]:02X}>" if ty == TokenType.BYTE else t.decode("utf-8")
                           for t, ty in zip(vocab.tokens, vocab.types)])
    writer.add_token_scores(list(vocab.scores))
    writer.add_token_types([int(t) for t in vocab.types])
    for key, value in (("bos", vocab.bos_id), ("eos", vocab.eos_id), ("unk", vocab.unk_id),
                       ("pad", vocab.pad_id)):
        if value >= 0:
            getattr(writer, f"add_{key}_token_id")(value)
    writer.add_add_bos_token(vocab.add_bos)
    writer.add_add_space_prefix(vocab.add_space_prefix)
    if vocab.chat_template:
        writer.add_chat_template(vocab.chat_template)


def write_gguf(model: LlamaModel, out: Path, matrix_type: str = "tq2_0", embed_type: str = "q8_0") -> Path:
    """A llama GGUF as llama.cpp's converter lays it out (q/k rows interleaved for
    its rotary, norms f32) that model/import_gguf.py reads back: the layer matrices
    as `matrix_type`, the embedding (and an untied output) as `embed_type`, as a
    ternary QAT model keeps them q8. Ternary types need rows of a multiple of 256."""
    import gguf
    from model.import_gguf import rotate_half_to_interleaved
    for kind in (matrix_type, embed_type):
        if kind not in GGUF_TYPES:
            raise ValueError(f"GGUF type {kind!r} is not one of {', '.join(GGUF_TYPES)}")
    cfg = model.config
    w = gguf.GGUFWriter(str(out), "llama")
    w.add_name(model.name or "model")
    w.add_context_length(cfg.max_seq_len)
    w.add_embedding_length(cfg.dim)
    w.add_block_count(cfg.n_layers)
    w.add_feed_forward_length(cfg.hidden_dim)
    w.add_head_count(cfg.n_heads)
    w.add_head_count_kv(cfg.n_kv_heads)
    w.add_key_length(cfg.head_dim)
    w.add_value_length(cfg.head_dim)
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_rope_freq_base(cfg.rope_theta)
    w.add_layer_norm_rms_eps(cfg.norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    _gguf_tokenizer(w, model.vocab)
    tensors = {"token_embd.weight": (model.tensor(Role.TOK_EMBEDDINGS), embed_type)}
    for layer in range(cfg.n_layers):
        for role, short in _GGUF_LAYER.items():
            t = model.tensor(role, layer)
            if role == Role.WQ:
                t = rotate_half_to_interleaved(t, cfg.n_heads)
            elif role == Role.WK:
                t = rotate_half_to_interleaved(t, cfg.n_kv_heads)
            tensors[f"blk.{layer}.{short}.weight"] = (t, "f32" if t.ndim == 1 else matrix_type)
    tensors["output_norm.weight"] = (model.tensor(Role.NORM), "f32")
    if not cfg.tie_embeddings:
        tensors["output.weight"] = (model.tensor(Role.OUTPUT), embed_type)
    for name, (t, kind) in tensors.items():
        data, raw = (t.astype(np.float32), None) if kind == "f32" else _gguf_tensor(t, kind)
        w.add_tensor(name, data, raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return Path(out)
