"""K.ctc_batch_cost and K.ctc_decode against tf_keras (TensorFlow's ctc_loss and greedy
decoder), a brute-force sum over alignments, and finite differences."""
import itertools

import numpy as np
import pytest

from gkeras import backend as K
from test_ops import Case, check_case

LOGITS = np.array([
    [[2.04, -2.56, 0.42, -0.57], [-0.45, -0.22, -2.02, -0.23], [-0.87, 3.32, 0.23, -0.35],
     [-0.28, -0.67, -1.06, -0.39], [0.48, -0.24, 0.96, -0.2], [0.02, 1.55, 0.55, -0.51]],
    [[-0.18, 0.54, 1.94, -0.27], [-0.24, 1.0, -0.89, -0.29], [0.88, 0.58, 0.09, 0.67],
     [-2.83, 1.02, -0.96, -1.67], [0.28, 0.7, -0.44, -1.08], [0.03, -0.05, 1.41, 0.75]],
    [[0.19, 1.11, -0.21, -0.93], [0.58, 0.58, -0.21, -0.78], [0.23, -2.49, 0.69, 0.49],
     [-1.64, 0.06, -0.96, 0.76], [-2.03, -0.91, 0.71, 1.16], [-2.16, -0.5, 0.33, -0.61]]])
P = (np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)).astype("float32")
Y_TRUE = np.array([[0, 1, 1], [2, 0, -1], [1, -1, -1]], "int32")  # blank is class 3
INPUT_LENGTH = np.array([[6], [5], [3]])
LABEL_LENGTH = np.array([[3], [2], [1]])


def test_ctc_batch_cost_matches_keras():
    loss = K.ctc_batch_cost(Y_TRUE, P, INPUT_LENGTH, LABEL_LENGTH)
    assert loss.shape == (3, 1) and loss.dtype == np.float32
    np.testing.assert_allclose(loss.numpy(), [[3.029146910], [5.775222301], [2.326795340]],
                               rtol=1e-6)


def _brute_force_ctc(p, label, length):
    """-log of the summed probability of every alignment of ``length`` steps that collapses
    (merge repeats, drop blanks) to ``label``."""
    blank = p.shape[-1] - 1
    total = 0.0
    for path in itertools.product(range(p.shape[-1]), repeat=length):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if [c for c in merged if c != blank] == list(label):
            total += np.prod([p[t, c] for t, c in enumerate(path)])
    return -np.log(total)


def test_ctc_batch_cost_is_the_sum_over_alignments():
    p = P.astype("float64")
    got = K.ctc_batch_cost(Y_TRUE, p, INPUT_LENGTH, LABEL_LENGTH).numpy()[:, 0]
    eps = K.epsilon()
    renormalized = (p + eps) / (p + eps).sum(-1, keepdims=True)  # as Keras 2.2.4's log(p + eps)
    want = [_brute_force_ctc(renormalized[b], Y_TRUE[b, :LABEL_LENGTH[b, 0]],
                             INPUT_LENGTH[b, 0]) for b in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_ctc_gradient_matches_finite_differences():
    check_case(Case(lambda p: K.ctc_batch_cost(Y_TRUE[:2, :2], p, np.array([[4], [3]]),
                                               np.array([[2], [1]])),
                    [P[:2, :4].astype("float64")], None, label="ctc"))


def test_ctc_decode_greedy_matches_keras_224():
    decoded, log_prob = K.ctc_decode(P, INPUT_LENGTH[:, 0])
    # tf_keras pads to the number of steps; Keras 2.2.4 to the longest decoding
    np.testing.assert_array_equal(decoded[0].numpy(),
                                  [[0, 1, 0, 2, 1], [2, 1, 0, 1, -1], [1, 0, 2, -1, -1]])
    np.testing.assert_allclose(log_prob.numpy(), [[3.862529755], [2.997888327], [2.495445251]],
                               rtol=1e-6)
    with pytest.raises(NotImplementedError, match="greedy"):
        K.ctc_decode(P, INPUT_LENGTH[:, 0], greedy=False)
