"""The trainer (model/train): tokenizer training reproducible from a seed and
accepted by our importer, a micro model whose loss falls and whose resumed run
equals an uninterrupted one, and the QAT export round trip (q8 PSNT through
model/reference.py vs the fake-quantized torch model)."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from model.psnt import QuantPolicy, read_psnt, write_psnt           # noqa: E402
from model.reference import ReferenceModel                         # noqa: E402
from model.tokenizer import Tokenizer                              # noqa: E402
from model.train import corpus                                     # noqa: E402
from model.train.export import CHATML_TEMPLATE, to_llama, write_hf_dir              # noqa: E402
from model.train.model import TinyLlama, TrainShape                # noqa: E402
from model.train.tokenizer import train_sentencepiece              # noqa: E402
from model.train.trainer import TrainConfig, load_checkpoint, prepare_run, train  # noqa: E402
from model.vocab_import import vocab_from_sentencepiece            # noqa: E402

NAMES = ["Tom", "Mia", "Sam", "Lily", "Max", "Zoe"]
THINGS = ["ball", "cat", "tree", "boat", "kite", "dog", "cake", "star"]
PLACES = ["park", "garden", "house", "river", "school"]


def tiny_corpus(n: int = 240, seed: int = 0) -> list[corpus.Sample]:
    """Template stories: a small, learnable language (no files needed)."""
    r = random.Random(seed)
    out = []
    for _ in range(n):
        name, thing, place = r.choice(NAMES), r.choice(THINGS), r.choice(PLACES)
        story = (f"{name} had a {thing}. {name} went to the {place} with the {thing}. "
                 f"The {thing} was happy. {name} was happy too. The end.")
        out.append(corpus.Sample(f"Tell me a story about {name} and a {thing}.", story))
    return out


MICRO = {"shape": {"dim": 32, "hidden_dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2,
                   "vocab_size": 320, "max_seq_len": 64, "tie_embeddings": True},
         "steps": 200, "batch": 4, "seq_len": 48, "lr": 1e-2, "warmup": 10,
         "qat": "q8", "qat_from": 0.5, "seed": 0, "eval_every": 0, "ckpt_every": 1000, "log_every": 10}


@pytest.fixture(scope="module")
def micro_run(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("micro")
    cfg = prepare_run(out, MICRO, tiny_corpus(), None)
    res = train(out, cfg, progress=False)
    return out, cfg, res


def test_tokenizer_reproducible_and_importable():
    text = list(corpus.tokenizer_text(tiny_corpus()))
    a = train_sentencepiece(text, 320, seed=3)
    b = train_sentencepiece(text, 320, seed=3)
    assert a == b
    v = vocab_from_sentencepiece(a)
    assert len(v) == 320 and v.im_start_id >= 0 and v.im_end_id >= 0
    assert not v.add_space_prefix and v.add_bos
    tok, enc = Tokenizer(v), corpus.ChatEncoder(a)
    prompt = "Tell me a story about Zoe and a kite. ünïcode 😺"   # byte fallback
    assert tok.encode_chat([{"role": "user", "content": prompt}]) == enc.prompt_ids(prompt)
    assert tok.decode(enc.sp.encode(prompt)).decode() == prompt


def test_heldout_split_is_fixed_by_prompt():
    s = tiny_corpus(400)
    train_a, held_a = corpus.split(s)
    train_b, held_b = corpus.split(list(reversed(s)))
    assert 0 < len(held_a) < len(s) // 5
    assert {x.prompt for x in held_a} == {x.prompt for x in held_b}
    assert not {x.prompt for x in held_a} & {x.prompt for x in train_a}


def test_micro_training_loss_falls(micro_run):
    out, cfg, res = micro_run
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    losses = [e["loss"] for e in log if "loss" in e]
    assert losses[-1] < 0.5 * losses[0], losses
    assert res["ppl_q8"] < 0.2 * cfg.shape.vocab_size
    assert abs(res["ppl_q8"] / res["ppl_float"] - 1) < 0.05


def test_resume_equals_uninterrupted(tmp_path):
    torch.set_num_threads(1)
    d = dict(MICRO, steps=12, ckpt_every=1000, log_every=4)
    samples = tiny_corpus(60)
    a, b = tmp_path / "a", tmp_path / "b"
    cfg = prepare_run(a, d, samples, None)
    prepare_run(b, d, samples, None)
    train(a, cfg, progress=False)
    assert train(b, cfg, progress=False, max_minutes=0)["stopped"]   # stops after one step
    train(b, cfg, progress=False)
    ma, mb = load_checkpoint(a / "ckpt.pt")[0], load_checkpoint(b / "ckpt.pt")[0]
    for (n, pa), pb in zip(ma.state_dict().items(), mb.state_dict().values()):
        assert torch.equal(pa, pb), n


def test_qat_export_round_trip(micro_run, tmp_path):
    out, cfg, _ = micro_run
    model, _ = load_checkpoint(out / "ckpt.pt")
    sp = (out / "tokenizer.model").read_bytes()
    model.set_quant("q8")
    model.eval()
    llama = to_llama(model, sp, "micro")
    write_psnt(tmp_path / "m.psnt", llama, QuantPolicy())
    ref = ReferenceModel(read_psnt(tmp_path / "m.psnt"))
    ids = corpus.ChatEncoder(sp).document(tiny_corpus(1, seed=9)[0])[:40]
    with torch.no_grad():
        want = model(torch.tensor([ids]))[0].numpy()
    got = np.stack([ref.forward(t, pos) for pos, t in enumerate(ids)])
    spread = float(want.max() - want.min())
    assert np.abs(got - want).max() < 0.01 * spread
    assert (got.argmax(-1) == want.argmax(-1)).mean() > 0.95


def test_hf_export_reads_back(micro_run, tmp_path):
    from model.import_hf import load_hf_dir
    out, _, _ = micro_run
    model, _ = load_checkpoint(out / "ckpt.pt")
    sp = (out / "tokenizer.model").read_bytes()
    llama = to_llama(model, sp, "micro")
    back = load_hf_dir(write_hf_dir(llama, sp, tmp_path / "hf", dtype="float32"))
    assert back.config == llama.config
    for name, w in llama.weights.items():
        np.testing.assert_array_equal(back.weights[name], w)
    assert back.vocab.tokens == llama.vocab.tokens and back.vocab.im_end_id == llama.vocab.im_end_id
    assert back.vocab.chat_template == CHATML_TEMPLATE      # from tokenizer_config.json


def test_corpus_generator_writes_resumable_samples(micro_run, tmp_path):
    """model/train/generate.py with the micro model as the writer: its HF model
    computes our reference's logits, it writes prompt/response lines, and an
    interrupted run resumed to N equals one run to N."""
    pytest.importorskip("transformers")
    from model.train import generate
    out, _, _ = micro_run
    model, _ = load_checkpoint(out / "ckpt.pt")
    sp = (out / "tokenizer.model").read_bytes()
    hf = write_hf_dir(to_llama(model, sp, "micro"), sp, tmp_path / "hf", dtype="float32")
    lm, tok = generate.load_generator(str(hf), "cpu", "float32")
    ids = tok.encode_chat([{"role": "user", "content": "Tell me a story about a cat."}])
    ref = ReferenceModel(read_psnt(write_psnt(tmp_path / "f32.psnt", to_llama(model, sp),
                                              QuantPolicy.parse("f32")).path))
    with torch.no_grad():
        got = lm(torch.tensor([ids])).logits[0].numpy()
    want = np.stack([ref.forward(t, i) for i, t in enumerate(ids)])
    np.testing.assert_allclose(got, want, atol=1e-4)

    common = ["--model", str(hf), "--batch", "2", "--max-new", "12", "--seed", "3"]
    whole, parts = tmp_path / "whole.jsonl", tmp_path / "parts.jsonl"
    assert generate.main([str(whole), "--n", "5", *common]) == 0
    assert generate.main([str(parts), "--n", "2", *common]) == 0
    assert generate.main([str(parts), "--n", "5", *common]) == 0
    lines = [json.loads(x) for x in whole.read_text().splitlines()]
    assert len(lines) == 5 and whole.read_text() == parts.read_text()
    assert all(x["finish"] in ("stop", "length") and x["prompt"] for x in lines)
    assert corpus.read_jsonl(whole)[0].prompt == lines[0]["prompt"]


def test_layer_sharing_exports_every_layer():
    s = TrainShape(dim=32, hidden_dim=64, n_layers=4, n_heads=4, n_kv_heads=2, vocab_size=320,
                   max_seq_len=32, share=2)
    m = TinyLlama(s)
    assert len(m.blocks) == 2 and m.n_params() > m.n_unique_params()
    sp = train_sentencepiece(corpus.tokenizer_text(tiny_corpus(50)), 320, seed=0)
    llama = to_llama(m, sp)
    np.testing.assert_array_equal(llama.weights["layers.0.wq"], llama.weights["layers.1.wq"])
    assert len([k for k in llama.weights if k.endswith(".wq")]) == 4


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown training settings"):
        TrainConfig.from_dict({"stepz": 3})
    with pytest.raises(ValueError, match="share"):
        TrainShape(n_layers=6, share=4)
