"""Training PS2-sized Llama models: a SentencePiece tokenizer, a tiny Llama in
PyTorch with quantization-aware training (q8 and ternary, straight-through
estimator), and export through the same canonical LlamaModel and PSNT writer the
importers use. `python -m model.train --help`; docs/TRAINING.md is the guide.

torch is needed only here (and in tests): nothing else in `model/` imports it."""
