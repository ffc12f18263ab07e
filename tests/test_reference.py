"""The numpy reference forward pass against transformers, its q8 mode, and the
Hugging Face importer's handling of bad directories."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from hf_models import CHATML_TEMPLATE, hf_decode_logits, load_hf_reference, make_tiny_hf_model
from model.config import ModelConfig
from model.import_hf import load_hf_dir
from model.quant import QuantizedQ8, matvec_q8, quantize_q8
from model.reference import ReferenceModel, rope_tables
from model.weights import NORM_ROLES, Role, tensor_name
from random_models import random_llama

TOL = 1e-4      # max abs logit error against transformers (DESIGN.md)
N_STEPS = 20    # decode steps with the KV cache

# name -> make_tiny_hf_model arguments
CONFIGS = {
    "mha_untied": dict(dim=64, n_layers=2, n_heads=4, n_kv_heads=4, hidden=96, vocab=320, tie=False),
    "gqa_tied": dict(dim=64, n_layers=2, n_heads=4, n_kv_heads=2, hidden=160, vocab=300, tie=True,
                     rope_theta=500000.0, norm_eps=1e-6),
    "odd_heads_mqa": dict(dim=48, n_layers=3, n_heads=3, n_kv_heads=1, hidden=80, vocab=290,
                          rope_theta=1e6, norm_eps=1e-6, seed=3),
    "head_dim_not_dim_over_heads": dict(dim=40, n_layers=2, n_heads=5, n_kv_heads=5, hidden=64,
                                        vocab=280, tie=True, head_dim=12, rope_theta=1234.5, seed=4),
    "bf16_sharded_sentencepiece": dict(dim=96, n_layers=2, n_heads=6, n_kv_heads=3, hidden=128,
                                       vocab=384, dtype="bfloat16", max_shard_size="40KB",
                                       tokenizer="sentencepiece", norm_eps=1e-5, seed=5),
    "head_dim_64": dict(dim=256, n_layers=2, n_heads=4, n_kv_heads=2, hidden=640, vocab=512, seed=6),
    "long_context": dict(dim=32, n_layers=1, n_heads=2, n_kv_heads=1, hidden=64, vocab=270,
                         max_seq_len=512, seed=7),
}
STEPS = {"long_context": 400}   # decode steps where not N_STEPS


def reference_logits(ref: ReferenceModel, tokens: list[int]) -> np.ndarray:
    ref.reset()
    return np.stack([ref.forward(t, pos) for pos, t in enumerate(tokens)])


def hf_greedy(hf_model, prompt: list[int], n_new: int) -> list[int]:
    import torch

    out, past, ids = [], None, list(prompt)
    with torch.no_grad():
        for _ in range(n_new):
            step = ids if past is None else ids[-1:]
            res = hf_model(input_ids=torch.tensor([step]), past_key_values=past, use_cache=True)
            past = res.past_key_values
            ids.append(int(res.logits[0, -1].argmax()))
            out.append(ids[-1])
    return out


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> Path:
    """A small valid model directory that the bad-input tests copy and break."""
    return make_tiny_hf_model(tmp_path_factory.mktemp("hf") / "base", seed=11)


# ----------------------------------------------------------------- against transformers

@pytest.mark.parametrize("name", CONFIGS)
def test_reference_matches_transformers(name, tmp_path):
    model_dir = make_tiny_hf_model(tmp_path / name, **CONFIGS[name])
    model = load_hf_dir(model_dir)
    ref = ReferenceModel(model)
    n_steps = STEPS.get(name, N_STEPS)
    tokens = [int(t) for t in np.random.default_rng(7).integers(0, model.config.vocab_size, n_steps)]

    hf = load_hf_reference(model_dir)
    want = hf_decode_logits(hf, tokens)
    got = reference_logits(ref, tokens)
    err = float(np.abs(got - want).max())
    print(f"\n{name}: max abs logit error {err:.3g} over {n_steps} steps "
          f"(max |logit| {np.abs(want).max():.3g})")
    assert got.dtype == np.float32 and ref.k_cache.dtype == np.float32
    assert err < TOL

    prompt = tokens[:4]
    assert ref.generate_greedy(prompt, 12) == hf_greedy(hf, prompt, 12)


def test_rope_tables_match_transformers_at_long_positions():
    import torch
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    for head_dim, theta in [(64, 10000.0), (20, 500000.0), (128, 1e6)]:
        cfg = LlamaConfig(hidden_size=2 * head_dim, num_attention_heads=2, head_dim=head_dim,
                          rope_theta=theta, max_position_embeddings=8192)
        cos, sin = LlamaRotaryEmbedding(cfg)(torch.zeros(1), torch.arange(8192)[None])
        ours_cos, ours_sin = rope_tables(head_dim, theta, 8192)
        assert np.abs(cos[0, :, :head_dim // 2].numpy() - ours_cos).max() < 1e-6
        assert np.abs(sin[0, :, :head_dim // 2].numpy() - ours_sin).max() < 1e-6


def test_generate_greedy_stops_at_context_and_eos():
    cfg = ModelConfig(dim=32, hidden_dim=48, n_layers=1, n_heads=2, n_kv_heads=1,
                      vocab_size=260, max_seq_len=16)
    ref = ReferenceModel(random_llama(cfg, seed=1))
    prompt = [3, 5, 7, 9, 11, 13, 15, 17, 19, 21]
    full = ref.generate_greedy(prompt, 50)
    assert len(full) == cfg.max_seq_len - len(prompt)
    assert ref.generate_greedy(prompt, 50, eos_id=full[2]) == full[:full.index(full[2]) + 1]
    assert ref.generate_greedy(prompt, 3) == full[:3]
    with pytest.raises(ValueError, match="longer than the context"):
        ref.generate_greedy(list(range(17)), 1)


def test_forward_rejects_bad_token_and_position():
    cfg = ModelConfig(dim=32, hidden_dim=48, n_layers=1, n_heads=2, n_kv_heads=2,
                      vocab_size=260, max_seq_len=8)
    ref = ReferenceModel(random_llama(cfg))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        ref.forward(260, 0)
    with pytest.raises(ValueError, match="position 1"):
        ref.forward(1, 1)       # position 0 is not filled yet
    ref.forward(1, 0)
    ref.forward(2, 0)           # rewriting a filled position is allowed (llama2.c)


# ----------------------------------------------------------------- q8

class Q8View:
    """Every matrix of a LlamaModel quantized to q8 in memory, served as a PsntFile
    serves them (norms f32 and 1-D)."""

    def __init__(self, model, group_size: int = 0) -> None:
        self.config = model.config
        self.tensors = {}
        for name, w in model.weights.items():
            if w.ndim == 1:
                self.tensors[name] = w
            else:
                self.tensors[name] = quantize_q8(w, group_size or w.shape[1])[0]

    def load(self, name: str):
        return self.tensors[name]


Q8_CFG = ModelConfig(dim=64, hidden_dim=128, n_layers=2, n_heads=4, n_kv_heads=2,
                     vocab_size=300, max_seq_len=64)


@pytest.mark.parametrize("group_size", [0, 16])
@pytest.mark.parametrize("tie", [False, True])
def test_q8_reference_stays_close_to_f32(group_size, tie):
    cfg = ModelConfig(**{**Q8_CFG.__dict__, "tie_embeddings": tie})
    model = random_llama(cfg, seed=2)
    tokens = [int(t) for t in np.random.default_rng(1).integers(0, cfg.vocab_size, N_STEPS)]
    f32 = reference_logits(ReferenceModel(model), tokens)
    q8 = reference_logits(ReferenceModel(Q8View(model, group_size)), tokens)
    err = float(np.abs(q8 - f32).max())
    agree = float((q8.argmax(1) == f32.argmax(1)).mean())
    print(f"\nq8 group={group_size or 'row'} tied={tie}: max abs logit error {err:.3g} "
          f"(max |logit| {np.abs(f32).max():.3g}), top-1 agreement {agree:.0%}")
    assert q8.dtype == np.float32
    assert err < 0.1 * np.abs(f32).max()
    assert agree >= 0.85


def test_q8_reference_reads_a_psnt_file(tmp_path):
    from model.psnt import QuantPolicy, read_psnt, write_psnt

    model = random_llama(Q8_CFG, seed=3)
    write_psnt(tmp_path / "m.psnt", model, QuantPolicy(group_size=16))
    tokens = [5, 17, 200, 3, 99, 42]
    from_file = reference_logits(ReferenceModel(read_psnt(tmp_path / "m.psnt")), tokens)
    in_memory = reference_logits(ReferenceModel(Q8View(model, 16)), tokens)
    assert np.array_equal(from_file, in_memory)


def test_q8_embedding_row_is_dequantized():
    model = random_llama(Q8_CFG, seed=4)
    view = Q8View(model, 16)
    emb = view.load(tensor_name(Role.TOK_EMBEDDINGS))
    from model.reference import embedding_row
    assert np.array_equal(embedding_row(emb, 123), emb.dequantize()[123])


def matvec_q8_by_hand(w: QuantizedQ8, x: np.ndarray) -> np.ndarray:
    """docs/FORMAT.md's integer-activation matvec, element by element: f32 scalar
    ops for the activation quantization, Python ints for the group sums."""
    f = np.float32
    amax = f(0)
    for v in x:
        amax = max(amax, f(abs(v)))
    rows, cols = w.q.shape
    if amax == 0:
        return np.zeros(rows, np.float32)
    levels = f(4095)                                # docs/FORMAT.md, "Integer activations"
    inv, xs = levels / amax, amax / levels
    xq = []
    for v in x:
        t = f(v) * inv + (f(0.5) if v >= 0 else f(-0.5))
        xq.append(max(-4095, min(4095, int(t))))    # int() truncates toward zero
    out = np.zeros(rows, np.float32)
    for r in range(rows):
        acc = f(0)
        for g in range(cols // w.group_size):
            lo = g * w.group_size
            isum = sum(int(w.q[r, i]) * xq[i] for i in range(lo, lo + w.group_size))
            acc = f(acc + f(f(isum) * w.scales[r, g]))
        out[r] = acc * xs
    return out


@pytest.mark.parametrize("rows,cols,group", [(7, 32, 32), (5, 48, 16), (3, 64, 8)])
def test_matvec_q8_matches_integer_computation(rows, cols, group):
    rng = np.random.default_rng(rows * cols)
    w, _ = quantize_q8(rng.standard_normal((rows, cols)).astype(np.float32), group)
    for x in (rng.standard_normal(cols).astype(np.float32),
              (rng.standard_normal(cols) * 1e3).astype(np.float32),
              np.zeros(cols, np.float32)):
        assert np.array_equal(matvec_q8(w, x), matvec_q8_by_hand(w, x))


# ----------------------------------------------------------------- import_hf

def test_import_hf_reads_config_fields(tmp_path):
    model_dir = make_tiny_hf_model(tmp_path / "m", dim=48, n_heads=3, n_kv_heads=1, head_dim=20,
                                   hidden=72, vocab=270, tie=True, rope_theta=321.0,
                                   norm_eps=3e-6, max_seq_len=96, seed=1)
    model = load_hf_dir(model_dir)
    assert model.config == ModelConfig(dim=48, hidden_dim=72, n_layers=2, n_heads=3, n_kv_heads=1,
                                       vocab_size=270, max_seq_len=96, norm_eps=3e-6,
                                       rope_theta=321.0, tie_embeddings=True, head_dim=20)
    assert model.name == "m" and tensor_name(Role.OUTPUT) not in model.weights
    assert all(w.dtype == np.float32 for w in model.weights.values())
    assert all(model.weights[tensor_name(r, 0)].ndim == 1 for r in NORM_ROLES if r != Role.NORM)


def test_import_hf_bf16_is_exact(tmp_path):
    import torch
    from safetensors.numpy import load_file

    f32_dir = make_tiny_hf_model(tmp_path / "f32", seed=6)
    bf16_dir = make_tiny_hf_model(tmp_path / "bf16", seed=6, dtype="bfloat16")
    got = load_hf_dir(bf16_dir).tensor(Role.WQ, 1)
    w = load_file(f32_dir / "model.safetensors")["model.layers.1.self_attn.q_proj.weight"]
    assert np.array_equal(got, torch.from_numpy(w).to(torch.bfloat16).float().numpy())


def test_import_hf_tokenizers(base_dir, tmp_path):
    from model.vocab import VocabKind

    vocab = load_hf_dir(base_dir).vocab
    assert vocab.kind == VocabKind.BYTE_BPE and vocab.chat_template == CHATML_TEMPLATE
    assert (vocab.bos_id, vocab.eos_id, vocab.im_start_id, vocab.im_end_id) == (0, 0, 1, 2)

    # A SentencePiece model's tokenizer.json (refused by the byte-level importer)
    # gives way to its tokenizer.model, as for Llama 2 / TinyLlama directories.
    sp_dir = make_tiny_hf_model(tmp_path / "sp", tokenizer="sentencepiece", vocab=320, seed=1)
    sp_json = json.loads((base_dir / "tokenizer.json").read_text())
    sp_json["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u2581"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
    (sp_dir / "tokenizer.json").write_text(json.dumps(sp_json))
    vocab = load_hf_dir(sp_dir).vocab
    assert vocab.kind == VocabKind.SP_BPE and (vocab.bos_id, vocab.eos_id) == (1, 2)

    (sp_dir / "tokenizer.model").unlink()     # nothing to fall back to
    with pytest.raises(ValueError, match=str(sp_dir / "tokenizer.json")):
        load_hf_dir(sp_dir)


def test_import_hf_mistral_without_window_is_llama(base_dir, tmp_path):
    d = _copy(base_dir, tmp_path)
    _edit_config(d, model_type="mistral", architectures=["MistralForCausalLM"], sliding_window=32)
    assert load_hf_dir(d).config.max_seq_len == 32


def _copy(base_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base_dir, tmp_path / "model"))


def _edit_config(model_dir: Path, **changes) -> None:
    path = model_dir / "config.json"
    cfg = json.loads(path.read_text())
    cfg.update(changes)
    path.write_text(json.dumps(cfg))


def _edit_tensors(model_dir: Path, edit) -> None:
    from safetensors.numpy import load_file, save_file

    path = model_dir / "model.safetensors"
    tensors = load_file(path)
    edit(tensors)
    save_file(tensors, path, metadata={"format": "pt"})


def _break_missing_tensor(d: Path) -> None:
    _edit_tensors(d, lambda t: t.pop("model.layers.1.self_attn.k_proj.weight"))


def _break_extra_bias(d: Path) -> None:
    _edit_tensors(d, lambda t: t.update({"model.layers.0.self_attn.q_proj.bias": np.zeros(64, np.float32)}))


def _break_int8_tensor(d: Path) -> None:
    _edit_tensors(d, lambda t: t.update({"model.norm.weight": np.ones(64, np.int8)}))


def _break_missing_shard(d: Path) -> None:
    (d / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {}, "weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors"}}))


def _swap_tokenizer(d: Path) -> None:
    other = make_tiny_hf_model(d.parent / "other", vocab=330, seed=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(other / name, d / name)


BAD_INPUTS = {
    # name: (how to break a copy of a good directory, file in the message, words in the message)
    "no_config": (lambda d: (d / "config.json").unlink(), "", "no config.json"),
    "bad_json": (lambda d: (d / "config.json").write_text("{not json"), "config.json", "cannot read JSON"),
    "wrong_model_type": (lambda d: _edit_config(d, model_type="gpt2", architectures=["GPT2LMHeadModel"]),
                         "config.json", "model_type 'gpt2' is not supported"),
    "not_causal_lm": (lambda d: _edit_config(d, architectures=["LlamaForSequenceClassification"]),
                      "config.json", "LlamaForCausalLM"),
    "missing_key": (lambda d: _edit_config(d, hidden_size=None), "config.json", "missing 'hidden_size'"),
    "rope_scaling": (lambda d: _edit_config(d, rope_scaling={"rope_type": "llama3", "factor": 8.0}),
                     "config.json", "rope_scaling of type 'llama3' is not supported"),
    "attention_bias": (lambda d: _edit_config(d, attention_bias=True), "config.json", "attention_bias"),
    "gelu": (lambda d: _edit_config(d, hidden_act="gelu"), "config.json", "hidden_act 'gelu'"),
    "bad_heads": (lambda d: _edit_config(d, num_key_value_heads=3), "config.json",
                  "not a multiple of n_kv_heads=3"),
    "shape_mismatch": (lambda d: _edit_config(d, intermediate_size=100), "",
                       "tensor layers.0.w1 has shape (96, 64), expected (100, 64)"),
    "missing_tensor": (_break_missing_tensor, "", "missing tensor layers.1.wk"),
    "extra_bias": (_break_extra_bias, "model.safetensors", "unexpected tensor 'model.layers.0.self_attn.q_proj.bias'"),
    "int8_tensor": (_break_int8_tensor, "model.safetensors", "dtype I8 is not supported"),
    "not_safetensors": (lambda d: (d / "model.safetensors").write_bytes(b"garbage"), "model.safetensors",
                        "not a readable safetensors file"),
    "no_weights": (lambda d: (d / "model.safetensors").rename(d / "pytorch_model.bin"), "",
                   "no *.safetensors weights (found pytorch_model.bin"),
    "missing_shard": (_break_missing_shard, "model.safetensors.index.json",
                      "lists model-00002-of-00002.safetensors, which is missing"),
    "no_tokenizer": (lambda d: (d / "tokenizer.json").unlink(), "", "no tokenizer"),
    "tokenizer_size": (_swap_tokenizer, "", "tokenizer has 330 tokens but the model has vocab_size=320"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_import_hf_rejects_bad_directory(name, base_dir, tmp_path):
    breaker, file_name, words = BAD_INPUTS[name]
    d = _copy(base_dir, tmp_path)
    breaker(d)
    with pytest.raises(ValueError) as info:
        load_hf_dir(d)
    message = str(info.value)
    assert str(d / file_name if file_name else d) in message
    assert words in message


def test_import_hf_rejects_a_file_and_a_missing_path(tmp_path):
    (tmp_path / "f.json").write_text("{}")
    for path in (tmp_path / "f.json", tmp_path / "nothing"):
        with pytest.raises(ValueError, match="not a directory"):
            load_hf_dir(path)
