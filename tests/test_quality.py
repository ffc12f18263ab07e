"""model/quality.py's batched forward uses the runtime's integer arithmetic: its
matrix product equals model/quant.matvec_q8 bit for bit, and a window's logits
are the token-by-token reference's (up to f32 summation order)."""
import numpy as np
import pytest

from model.psnt import QuantPolicy
from model.quality import forward_window, matmul, prepare, quantize_activations, quantize_model
from model.quant import QUANTIZERS, QuantType, matvec_q8, quantize_activation
from model.reference import ReferenceModel
from random_models import TINY, random_llama

F32 = np.float32


@pytest.mark.parametrize("qt,group", [(QuantType.Q8, 0), (QuantType.Q8, 16), (QuantType.Q4, 32),
                                      (QuantType.Q4M, 32), (QuantType.Q4M, 0),
                                      (QuantType.TERNARY, 0), (QuantType.TERNARY, 8)])
def test_matmul_is_matvec_q8(qt, group):
    rng = np.random.default_rng(3)
    w = rng.standard_normal((40, 96)).astype(F32)
    x = rng.standard_normal((5, 96)).astype(F32)
    x[1, 7] *= 500
    x[2] = 0
    quant = prepare(QUANTIZERS[qt](w, group or 96)[0])
    xq, xs = quantize_activations(x)
    for t in range(len(x)):
        want_q, want_s = quantize_activation(x[t])
        assert np.array_equal(xq[t], want_q) and xs[t] == want_s
    got = matmul(quant, x, block=16)
    np.testing.assert_array_equal(got, np.stack([matvec_q8(quant, v) for v in x]))


@pytest.mark.parametrize("policy", ["f32", "q8,ffn=q4:32", "q4m:16,embed=q8"])
def test_window_logits_match_reference(policy):
    model = random_llama(TINY, seed=4)
    w = quantize_model(model, QuantPolicy.parse(policy))
    tokens = np.array([1, 5, 9, 200, 17, 3, 3, 42])
    got = forward_window(model.config, w, tokens)
    ref = ReferenceModel(_Weights(model.config, w))
    want = np.stack([ref.forward(int(t), pos) for pos, t in enumerate(tokens)])
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * np.abs(want).max())


class _Weights:
    def __init__(self, config, w):
        self.config, self.w = config, w

    def load(self, name):
        return self.w[name]
