"""The models trained here and shipped in model/builtin/ (docs/TRAINING.md): each
loads as its training config says, and our reference decodes it as transformers'
LlamaForCausalLM does (logits within test_reference.TOL, the same greedy tokens)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hf_models import hf_decode_logits, load_hf_reference
from model.reference import ReferenceModel
from model.sources import BUILTIN_MODELS, REPO_ROOT, load_model
from test_reference import TOL, hf_greedy, reference_logits

pytest.importorskip("transformers")
TRAINED = {"ps2-stories-6m": 5_770_496, "ps2-stories-10m": 8_917_248}   # parameters (TRAINING.md)


@pytest.mark.parametrize("name", TRAINED)
def test_shipped_model_matches_its_config_and_transformers(name):
    assert name in BUILTIN_MODELS
    model = load_model(name)
    shape = json.loads((REPO_ROOT / "model/train/configs" / f"{name}.json").read_text())["shape"]
    cfg = model.config
    assert (cfg.dim, cfg.hidden_dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.vocab_size) == \
        (shape["dim"], shape["hidden_dim"], shape["n_layers"], shape["n_heads"], shape["n_kv_heads"],
         shape["vocab_size"])
    n_params = sum(w.size for w in model.weights.values())
    assert n_params == TRAINED[name]

    hf = load_hf_reference(Path(REPO_ROOT / "model/builtin" / name))
    tokens = [int(t) for t in np.random.default_rng(3).integers(0, cfg.vocab_size, 8)]
    ref = ReferenceModel(model)
    err = float(np.abs(reference_logits(ref, tokens) - hf_decode_logits(hf, tokens)).max())
    assert err < TOL
    assert ReferenceModel(model).generate_greedy(tokens[:4], 8) == hf_greedy(hf, tokens[:4], 8)
