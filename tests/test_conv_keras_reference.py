"""Convolutions against real Keras 3 (JAX backend): op outputs for many geometries, and a
model of every convolution layer saved by Keras, loaded here and predicting the same.
The files come from tests/fixtures/make_conv_fixtures.py."""
import json
import os

import numpy as np
import pytest

import gkeras
from gkeras import ops

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
OPS = np.load(os.path.join(FIXTURES, "k3_conv_ops.npz"))
SPECS = json.loads(str(OPS["specs"]))


def _label(spec):
    kw = ", ".join(f"{k}={v}" for k, v in spec["kwargs"].items())
    return f"{spec['op']}({kw})"


@pytest.mark.parametrize("index", range(len(SPECS)), ids=[_label(s) for s in SPECS])
def test_ops_match_keras(index):
    spec = SPECS[index]
    args = [OPS[f"case{index}_arg{j}"] for j in range(spec["args"])]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["kwargs"].items()}
    got = getattr(ops, spec["op"])(*args, **kwargs).numpy()
    want = OPS[f"case{index}_out"]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_the_reference_covers_every_conv_op_and_hard_transposed_cases():
    assert {s["op"] for s in SPECS} == {"conv", "conv_transpose", "depthwise_conv",
                                        "separable_conv"}
    even_same = [s for s in SPECS if s["op"] == "conv_transpose"
                 and s["kwargs"]["padding"] == "same" and s["kwargs"]["output_padding"] == 0]
    assert even_same  # an even kernel, 'same', output_padding 0: TensorFlow refuses these


def test_keras_saved_model_of_every_conv_layer_loads_and_predicts_the_same():
    reference = np.load(os.path.join(FIXTURES, "k3_conv_model.npz"))
    model = gkeras.models.load_model(os.path.join(FIXTURES, "k3_conv_model.h5"))
    assert [type(layer).__name__ for layer in model.layers[1:-2]] == [
        "Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose", "Conv2D",
        "Reshape", "Conv1D", "SeparableConv1D", "DepthwiseConv1D", "Conv1DTranspose"]
    np.testing.assert_allclose(model.predict(reference["x"], verbose=0), reference["y"],
                               rtol=1e-4, atol=1e-5)
