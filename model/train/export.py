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


def write_hf_dir(model: LlamaModel, sp_model: bytes, out: Path, dtype: str = "float16") -> Path:
    """A LlamaForCausalLM directory, written to a temporary sibling and renamed
    into place (an existing `out` is replaced only when all of it is written)."""
    from safetensors.numpy import save_file

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
