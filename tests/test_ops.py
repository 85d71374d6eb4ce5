"""Every differentiable op in gkeras.ops: forward vs NumPy, gradient vs finite differences.

Gradients are checked in float64 with central differences of ``sum(op(inputs) * upstream)``
for a random ``upstream``; the analytic side seeds the tape with ``output_gradients`` so no
other op is involved. ``test_table_covers_every_differentiable_op`` fails when an op is added
to gkeras.ops without a case here.
"""
import inspect
import math

import numpy as np
import pytest

import rnn_reference
from conv_reference import np_conv, np_conv_transpose, np_depthwise_conv, np_separable_conv
from gkeras import GradientTape, Tensor, ops

RNG = np.random.default_rng(20240611)
EPS = 1e-6


def normal(*shape):
    return RNG.standard_normal(shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def away_from(*shape, points=(0.0,), margin=0.05, scale=1.5):
    """Uniform in [-scale, scale], nudged at least ``margin`` away from kinks at ``points``."""
    x = RNG.uniform(-scale, scale, shape)
    for p in points:
        near = np.abs(x - p) < margin
        x = np.where(near, p + np.where(x >= p, margin, -margin) * 2, x)
    return x


class Case:
    """``fn(*tensors)`` on float64 ``args``; ``reference(*arrays)`` is the NumPy forward."""

    def __init__(self, fn, args, reference=None, eps=EPS, rtol=1e-6, atol=1e-8, label=""):
        self.fn, self.args, self.reference = fn, [np.asarray(a, "float64") for a in args], reference
        self.eps, self.rtol, self.atol, self.label = eps, rtol, atol, label


def _value(fn, arrays):
    return np.asarray(fn(*[Tensor(a) for a in arrays]).numpy(), dtype="float64")


def numeric_gradients(fn, arrays, upstream, eps):
    arrays = [a.copy() for a in arrays]
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for index in np.ndindex(*a.shape):
            original = a[index]
            a[index] = original + eps
            plus = np.sum(_value(fn, arrays) * upstream)
            a[index] = original - eps
            minus = np.sum(_value(fn, arrays) * upstream)
            a[index] = original
            g[index] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def analytic_gradients(fn, arrays, upstream):
    tensors = [Tensor(a) for a in arrays]
    with GradientTape() as tape:
        tape.watch(tensors)
        out = fn(*tensors)
    grads = tape.gradient(out, tensors, output_gradients=upstream)
    return out, grads


def check_case(case):
    out_value = _value(case.fn, case.args)
    if case.reference is not None:
        np.testing.assert_allclose(out_value, case.reference(*case.args), rtol=1e-10,
                                   atol=1e-12, err_msg="forward value")
    upstream = RNG.standard_normal(out_value.shape)
    out, grads = analytic_gradients(case.fn, case.args, upstream)
    numeric = numeric_gradients(case.fn, case.args, upstream, case.eps)
    for i, (g, n) in enumerate(zip(grads, numeric)):
        assert g is not None, f"input {i}: no gradient"
        assert g.shape == n.shape, f"input {i}: gradient shape {g.shape} != {n.shape}"
        assert np.all(np.isfinite(g.numpy()))
        np.testing.assert_allclose(g.numpy(), n, rtol=case.rtol, atol=case.atol,
                                   err_msg=f"gradient of input {i}")


# --- the table ---------------------------------------------------------------------------

def _binary_cases(op, reference, make=normal):
    shapes = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((2, 1, 4), (3, 1)),
              ((), (3,)), ((2, 3), ())]
    cases = [Case(op, [make(*sa), make(*sb)], reference, label=f"{sa}x{sb}")
             for sa, sb in shapes]
    cases.append(Case(lambda a: op(a, 0.75), [make(2, 3)], lambda a: reference(a, 0.75),
                      label="python scalar b"))
    cases.append(Case(lambda b: op(1.25, b), [make(2, 3)], lambda b: reference(1.25, b),
                      label="python scalar a"))
    return cases


def _unary(op, reference, make=normal):
    return [Case(op, [make(3, 5)], reference, label="(3,5)"),
            Case(op, [make(2, 1, 3)], reference, label="(2,1,3)"),
            Case(op, [make()], reference, label="scalar")]


def _nonzero(*shape):
    return away_from(*shape, margin=0.3)


def _reduction_cases(op, reference, make=normal):
    cases = []
    for axis in (None, 0, -1, (0, 2), 1):
        for keepdims in (False, True):
            cases.append(Case(lambda x, a=axis, k=keepdims: op(x, axis=a, keepdims=k),
                              [make(2, 3, 4)],
                              lambda x, a=axis, k=keepdims: reference(x, axis=a, keepdims=k),
                              label=f"axis={axis} keepdims={keepdims}"))
    return cases


def _np_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def _np_norm(x, axis=None, keepdims=False):
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


_np_erf = np.vectorize(math.erf)

_MATMUL_SHAPES = [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)),
                  ((3, 4), (2, 4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                  ((4,), (2, 4, 5)), ((2, 3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2))]


def _prod_with_zeros():
    one_zero = normal(2, 3)
    one_zero[0, 1] = 0.0
    two_zeros = normal(2, 3)
    two_zeros[1, 0] = two_zeros[1, 2] = 0.0
    return [Case(lambda x: ops.prod(x, axis=1), [one_zero], lambda x: np.prod(x, axis=1),
                 label="one zero"),
            Case(lambda x: ops.prod(x, axis=-1), [two_zeros], lambda x: np.prod(x, axis=-1),
                 label="two zeros")]


def _distinct(*shape):
    """No ties and no near-ties (gaps of 0.05): max pooling is differentiable there."""
    size = int(np.prod(shape))
    return (RNG.permutation(size).reshape(shape) - size / 2) * 0.05


def _np_pool(x, kind, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """Naive pooling: one window slice per output position, TF 'same' pads, real-count means."""
    rank = x.ndim - 2
    pool = (pool_size,) * rank if isinstance(pool_size, int) else tuple(pool_size)
    strides = pool if strides is None else (
        (strides,) * rank if isinstance(strides, int) else tuple(strides))
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    spatial = x.shape[1:-1]
    if padding == "same":
        outs = [math.ceil(n / s) for n, s in zip(spatial, strides)]
        befores = [max((o - 1) * s + k - n, 0) // 2
                   for o, s, k, n in zip(outs, strides, pool, spatial)]
    else:
        outs = [(n - k) // s + 1 for n, k, s in zip(spatial, pool, strides)]
        befores = [0] * rank
    y = np.zeros((x.shape[0], *outs, x.shape[-1]))
    reduce = np.max if kind == "max" else np.mean
    for position in np.ndindex(*outs):
        window = tuple(slice(max(o * s - b, 0), min(o * s - b + k, n)) for o, s, b, k, n
                       in zip(position, strides, befores, pool, spatial))
        y[(slice(None), *position)] = reduce(x[(slice(None), *window)],
                                             axis=tuple(range(1, rank + 1)))
    return np.moveaxis(y, -1, 1) if data_format == "channels_first" else y


# (spatial shape, pool_size, strides, padding): strides None, below and above the pool
_POOL_GEOMETRIES = [((7,), 2, None, "valid"), ((7,), 3, 2, "same"), ((8,), 2, 3, "valid"),
                    ((6,), 3, 1, "same"), ((4, 6), (2, 2), None, "valid"),
                    ((5, 6), (3, 2), (2, 1), "same"), ((5, 7), (2, 3), (3, 2), "valid"),
                    ((4, 5), 3, 1, "same")]


def _pool_cases(op, kind):
    cases = []
    for spatial, pool, strides, padding in _POOL_GEOMETRIES:
        for data_format in ("channels_last", "channels_first"):
            shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
            cases.append(Case(
                lambda x, a=(pool, strides, padding, data_format): op(x, *a),
                [_distinct(*shape) if kind == "max" else normal(*shape)],
                lambda x, a=(pool, strides, padding, data_format): _np_pool(x, kind, *a),
                label=f"{shape} pool={pool} strides={strides} {padding} {data_format}"))
    cases.append(Case(lambda x: op(x, 2), [_distinct(2, 5, 4, 3)],
                      lambda x: _np_pool(x, kind, 2), label="defaults (channels_last)"))
    return cases


def _joined(outputs):
    """Every output of a recurrent op (outputs, then final states) as one flat vector."""
    return ops.concatenate([ops.reshape(o, (-1,)) for o in outputs], axis=0)


def _np_joined(outputs):
    return np.concatenate([np.reshape(o, -1) for o in outputs])


_RNN_MASK = np.array([[True, True, False, True], [False, True, True, False]])


def _recurrent_cases(name, gates, **fixed):
    """Gradients of x, kernel, recurrent kernel, bias (and initial states) for every option."""
    op, reference = getattr(ops, name), getattr(rnn_reference, name)
    n_states = 2 if name == "lstm" else 1
    batch, steps, features, units = 2, 4, 3, 2
    bias_shape = (2, 3 * units) if fixed.get("reset_after") else (gates * units,)
    options = [
        ("defaults", {}),
        ("return_sequences", dict(return_sequences=True)),
        ("go_backwards", dict(go_backwards=True, return_sequences=True)),
        ("mask", dict(mask=_RNN_MASK, return_sequences=True)),
        ("mask, last output", dict(mask=_RNN_MASK)),
        ("mask, go_backwards, zero_output_for_mask",
         dict(mask=_RNN_MASK, go_backwards=True, return_sequences=True,
              zero_output_for_mask=True)),
        ("mask, zero_output_for_mask, last output",
         dict(mask=_RNN_MASK, zero_output_for_mask=True)),
        ("recurrent_dropout_mask", dict(recurrent_dropout_mask=RNG.uniform(0, 2, (batch, units)),
                                        return_sequences=True)),
        ("time_major", dict(time_major=True, return_sequences=True)),
        ("hard_sigmoid, linear" if name != "simple_rnn" else "softsign",
         dict(recurrent_activation="hard_sigmoid", activation="linear")
         if name != "simple_rnn" else dict(activation="softsign")),
    ]
    cases = []
    for label, opts in options:
        opts = {**fixed, **opts}
        shape = (steps, batch, features) if opts.get("time_major") else (batch, steps, features)
        args = [0.5 * normal(*shape), 0.5 * normal(features, gates * units),
                0.5 * normal(units, gates * units), 0.5 * normal(*bias_shape)]
        cases.append(Case(lambda x, k, r, b, o=opts: _joined(op(x, k, r, b, **o)), args,
                          lambda x, k, r, b, o=opts: _np_joined(reference(x, k, r, b, **o)),
                          label=label))
    for go_backwards in (False, True):
        opts = {**fixed, "mask": _RNN_MASK, "go_backwards": go_backwards,
                "return_sequences": True}
        args = [0.5 * normal(batch, steps, features), 0.5 * normal(features, gates * units),
                0.5 * normal(units, gates * units)] + [normal(batch, units)] * n_states
        cases.append(Case(
            lambda x, k, r, *s, o=opts: _joined(op(x, k, r, initial_state=list(s), **o)), args,
            lambda x, k, r, *s, o=opts: _np_joined(reference(x, k, r, initial_state=list(s), **o)),
            label=f"initial states, no bias, mask, go_backwards={go_backwards}"))
    return cases


# --- convolutions: every padding x (stride, dilation) x data format, 1-D and 2-D ------------

_FORMATS = ("channels_last", "channels_first")
# (strides, dilation_rate): plain, strided (also per axis), dilated (also per axis)
_STRIDE_DILATION_2D = [(1, 1), (2, 1), ((2, 3), 1), (1, 2), (1, (2, 1))]
_STRIDE_DILATION_1D = [(1, 1), (2, 1), (3, 1), (1, 2)]


def _image(channels, spatial, data_format):
    """A random (2, *spatial, channels) or (2, channels, *spatial) input."""
    shape = (2, *spatial, channels) if data_format == "channels_last" else \
        (2, channels, *spatial)
    return normal(*shape)


def _conv_cases():
    cases = []
    geometries = [(2, (5, 6), (3, 2), _STRIDE_DILATION_2D, ("valid", "same")),
                  (1, (7,), (3,), _STRIDE_DILATION_1D, ("valid", "same", "causal"))]
    for rank, spatial, ksize, pairs, paddings in geometries:
        for padding in paddings:
            for strides, dilation in pairs:
                for fmt in _FORMATS:
                    kw = dict(strides=strides, padding=padding, data_format=fmt,
                              dilation_rate=dilation)
                    cases.append(Case(lambda x, k, kw=kw: ops.conv(x, k, **kw),
                                      [_image(2, spatial, fmt), normal(*ksize, 2, 3)],
                                      lambda x, k, kw=kw: np_conv(x, k, **kw),
                                      label=f"{rank}-D {kw}"))
    return cases


def _depthwise_cases():
    cases = []
    geometries = [(2, (5, 6), (3, 2), [(1, 1), ((2, 1), 1), (1, 2)], ("valid", "same")),
                  (1, (7,), (3,), [(1, 1), (2, 1), (1, 2)], ("valid", "same", "causal"))]
    for rank, spatial, ksize, pairs, paddings in geometries:
        for padding in paddings:
            for strides, dilation in pairs:
                for fmt in _FORMATS:
                    kw = dict(strides=strides, padding=padding, data_format=fmt,
                              dilation_rate=dilation)
                    cases.append(Case(lambda x, k, kw=kw: ops.depthwise_conv(x, k, **kw),
                                      [_image(3, spatial, fmt), normal(*ksize, 3, 2)],
                                      lambda x, k, kw=kw: np_depthwise_conv(x, k, **kw),
                                      label=f"{rank}-D {kw}"))
    cases.append(Case(lambda x, k: ops.depthwise_conv(x, k, padding="same"),
                      [normal(2, 4, 5, 3), normal(2, 3, 3, 1)],
                      lambda x, k: np_depthwise_conv(x, k, padding="same"),
                      label="depth_multiplier 1"))
    return cases


def _separable_cases():
    cases = []
    for fmt in _FORMATS:
        for kw in (dict(strides=2, padding="same"), dict(padding="valid", dilation_rate=2),
                   dict(strides=(1, 2), padding="valid")):
            kw = dict(kw, data_format=fmt)
            cases.append(Case(lambda x, d, p, kw=kw: ops.separable_conv(x, d, p, **kw),
                              [_image(2, (5, 6), fmt), normal(3, 2, 2, 2), normal(1, 1, 4, 3)],
                              lambda x, d, p, kw=kw: np_separable_conv(x, d, p, **kw),
                              label=f"2-D {kw}"))
        for padding in ("same", "causal"):
            kw = dict(padding=padding, data_format=fmt)
            cases.append(Case(lambda x, d, p, kw=kw: ops.separable_conv(x, d, p, **kw),
                              [_image(2, (6,), fmt), normal(3, 2, 2), normal(1, 4, 3)],
                              lambda x, d, p, kw=kw: np_separable_conv(x, d, p, **kw),
                              label=f"1-D {kw}"))
    return cases


# (kernel size, strides, dilation_rate, output_padding)
_TRANSPOSE_2D = [((3, 2), 1, 1, None), ((3, 2), 2, 1, None), ((3, 2), (2, 3), 1, (1, 2)),
                 ((3, 3), 2, 1, 1), ((3, 2), 1, (2, 1), None), ((2, 2), 3, 1, None),
                 ((4, 2), 2, 1, (0, 1))]
_TRANSPOSE_1D = [((3,), 1, 1, None), ((3,), 2, 1, None), ((3,), 2, 1, 1), ((3,), 1, 2, None),
                 ((2,), 3, 1, 2)]


def _transpose_cases():
    cases = []
    for rank, spatial, table in ((2, (3, 4), _TRANSPOSE_2D), (1, (4,), _TRANSPOSE_1D)):
        for ksize, strides, dilation, output_padding in table:
            for padding in ("valid", "same"):
                for fmt in _FORMATS:
                    kw = dict(padding=padding, output_padding=output_padding, data_format=fmt,
                              dilation_rate=dilation)
                    cases.append(Case(
                        lambda x, k, s=strides, kw=kw: ops.conv_transpose(x, k, s, **kw),
                        [_image(2, spatial, fmt), normal(*ksize, 3, 2)],
                        lambda x, k, s=strides, kw=kw: np_conv_transpose(x, k, s, **kw),
                        label=f"{rank}-D kernel {ksize} strides={strides} {kw}"))
    return cases


# --- normalization: every reduction layout (adjacent channels, channels inside, moved) ---

def _np_moments(x, axes, keepdims=False):
    return x.mean(axis=axes, keepdims=keepdims), x.var(axis=axes, keepdims=keepdims)


def _np_batch_norm(x, mean, var, axis, offset=None, scale=None, epsilon=1e-3):
    axes = [a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)]
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    out = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon)
    if scale is not None:
        out = out * scale.reshape(shape)
    return out if offset is None else out + offset.reshape(shape)


def _np_layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    axes = tuple(sorted(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)))
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    out = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(
        x.var(axis=axes, keepdims=True) + epsilon)
    if gamma is not None:
        out = out * gamma.reshape(shape)
    return out if beta is None else out + beta.reshape(shape)


def _moments_cases(which):
    cases = []
    for shape, axes, keepdims in [((4, 3), (0,), False), ((3, 4, 2, 3), (0, 1, 2), False),
                                  ((3, 2, 4), (0, 2), True), ((2, 3, 4), (1, 2), False),
                                  ((2, 3, 4), (1,), False), ((2, 3, 4), (0, 1, 2), False)]:
        cases.append(Case(lambda x, a=axes, k=keepdims: ops.moments(x, a, k)[which],
                          [normal(*shape)],
                          lambda x, a=axes, k=keepdims: _np_moments(x, a, k)[which],
                          label=f"{shape} axes={axes} keepdims={keepdims}"))
    return cases


def _batch_norm_cases():
    cases = []
    for shape, axis in [((5, 3), -1), ((3, 4, 2, 3), -1), ((3, 2, 4, 3), 1), ((4, 3, 5), 1),
                        ((3, 2, 3, 2), (1, 2))]:
        c = int(np.prod([shape[a] for a in ((axis,) if isinstance(axis, int) else axis)]))
        cases.append(Case(
            lambda x, m, v, b, g, a=axis: ops.batch_normalization(x, m, v, a, b, g, 0.1),
            [normal(*shape), normal(c), positive(c), normal(c), normal(c)],
            lambda x, m, v, b, g, a=axis: _np_batch_norm(x, m, v, a, b, g, 0.1),
            label=f"{shape} axis={axis}"))
    cases.append(Case(lambda x, m, v: ops.batch_normalization(x, m, v, axis=-1),
                      [normal(4, 3), normal(3), positive(3)],
                      lambda x, m, v: _np_batch_norm(x, m, v, -1), label="no offset/scale"))
    return cases


def _np_train_norm(x, gamma, beta, reduction_axes, epsilon):
    mean, var = _np_moments(x, tuple(reduction_axes), keepdims=True)
    kept = [i for i in range(x.ndim) if i not in reduction_axes]
    shape = [x.shape[i] if i in kept else 1 for i in range(x.ndim)]
    return (x - mean) / np.sqrt(var + epsilon) * gamma.reshape(shape) + beta.reshape(shape)


def _train_norm_cases():
    cases = []
    for shape, axes in [((6, 3), [0]), ((3, 2, 3, 2), [0, 1, 2]), ((3, 2, 4, 3), [0, 2, 3]),
                        ((4, 3, 5), [0, 2])]:
        c = int(np.prod([n for i, n in enumerate(shape) if i not in axes]))
        cases.append(Case(
            lambda x, g, b, a=axes: ops.normalize_batch_in_training(x, g, b, a, 0.01)[0],
            [normal(*shape), normal(c), normal(c)],
            lambda x, g, b, a=axes: _np_train_norm(x, g, b, a, 0.01),
            label=f"{shape} reduction_axes={axes}"))
    cases.append(Case(lambda x: ops.normalize_batch_in_training(x, None, None, [0])[0],
                      [normal(5, 2)], lambda x: _np_train_norm(x, np.ones(2), np.zeros(2),
                                                               [0], 1e-3),
                      label="no gamma/beta"))
    return cases


def _layer_norm_cases():
    cases = []
    for shape, axis in [((3, 5), -1), ((2, 3, 4), -1), ((2, 3, 4), (1, 2)), ((2, 3, 4), 1),
                        ((2, 3, 4, 2), (1, 3))]:
        d = [shape[a] for a in ((axis,) if isinstance(axis, int) else axis)]
        cases.append(Case(
            lambda x, g, b, a=axis: ops.layer_normalization(x, g, b, axis=a, epsilon=0.1),
            [normal(*shape), normal(*d), normal(*d)],
            lambda x, g, b, a=axis: _np_layer_norm(x, g, b, a, 0.1),
            label=f"{shape} axis={axis}"))
    cases.append(Case(lambda x: ops.layer_normalization(x, epsilon=1e-3), [normal(3, 4)],
                      lambda x: _np_layer_norm(x), label="no gamma/beta"))
    return cases


_NP_ACTIVATIONS = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0),
                   "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
                   "softmax": _np_softmax}


def _dense_cases():
    cases = []
    for activation, act in _NP_ACTIVATIONS.items():
        cases.append(Case(lambda x, k, b, a=activation: ops.dense_bias_activation(x, k, b, a),
                          [normal(3, 4), normal(4, 5), normal(5)],
                          lambda x, k, b, f=act: f(x @ k + b), label=activation))
    cases += [Case(lambda x, k, b: ops.dense_bias_activation(x, k, b, "tanh"),
                   [normal(2, 3, 4), normal(4, 5), normal(5)],
                   lambda x, k, b: np.tanh(x @ k + b), label="rank 3 tanh"),
              Case(lambda x, k: ops.dense_bias_activation(x, k, None, "sigmoid"),
                   [normal(4), normal(4, 3)], lambda x, k: 1 / (1 + np.exp(-(x @ k))),
                   label="rank 1, no bias, sigmoid"),
              Case(lambda x, k, b: ops.dense_bias_activation(x, k, b, "softmax"),
                   [normal(2, 3, 4), normal(4, 5), normal(5)],
                   lambda x, k, b: _np_softmax(x @ k + b), label="rank 3 softmax")]
    return cases


TABLE = {
    "add": _binary_cases(ops.add, np.add),
    "subtract": _binary_cases(ops.subtract, np.subtract),
    "multiply": _binary_cases(ops.multiply, np.multiply),
    "divide": _binary_cases(ops.divide, np.divide, make=_nonzero),
    "true_divide": _binary_cases(ops.true_divide, np.true_divide, make=_nonzero),
    "power": [Case(ops.power, [positive(3, 4), normal(3, 4)], np.power),
              Case(ops.power, [positive(2, 3, 4), normal(4)], np.power, label="broadcast"),
              Case(lambda a: ops.power(a, 3), [normal(2, 3)], lambda a: a ** 3, label="int exp"),
              Case(lambda b: ops.power(2.0, b), [normal(4)], lambda b: 2.0 ** b,
                   label="scalar base")],
    "maximum": _binary_cases(ops.maximum, np.maximum),
    "minimum": _binary_cases(ops.minimum, np.minimum),
    "where": [Case(lambda x, y: ops.where(np.array([[True, False, True, False]] * 3), x, y),
                   [normal(3, 4), normal(3, 4)],
                   lambda x, y: np.where(np.array([[True, False, True, False]] * 3), x, y)),
              Case(lambda x, y: ops.where(np.array([True, False, True]), x, y),
                   [normal(2, 3), normal(1)],
                   lambda x, y: np.where(np.array([True, False, True]), x, y),
                   label="broadcast")],
    "negative": _unary(ops.negative, np.negative),
    "exp": _unary(ops.exp, np.exp),
    "log": _unary(ops.log, np.log, make=positive),
    "log1p": _unary(ops.log1p, np.log1p, make=lambda *s: RNG.uniform(-0.5, 2.0, s)),
    "expm1": _unary(ops.expm1, np.expm1),
    "sqrt": _unary(ops.sqrt, np.sqrt, make=positive),
    "square": _unary(ops.square, np.square),
    "abs": _unary(ops.abs, np.abs, make=away_from),
    "absolute": _unary(ops.absolute, np.abs, make=away_from),
    "tanh": _unary(ops.tanh, np.tanh),
    "sin": _unary(ops.sin, np.sin),
    "cos": _unary(ops.cos, np.cos),
    "reciprocal": _unary(ops.reciprocal, np.reciprocal, make=_nonzero),
    "softsign": _unary(ops.softsign, lambda x: x / (1 + np.abs(x)), make=away_from),
    "erf": _unary(ops.erf, _np_erf, make=lambda *s: RNG.uniform(-3, 3, s)),
    "sigmoid": _unary(ops.sigmoid, lambda x: 1 / (1 + np.exp(-x)),
                      make=lambda *s: RNG.uniform(-6, 6, s)),
    "softplus": _unary(ops.softplus, lambda x: np.log1p(np.exp(x)),
                       make=lambda *s: RNG.uniform(-6, 6, s)),
    "relu": _unary(ops.relu, lambda x: np.maximum(x, 0), make=away_from),
    "clip": [Case(lambda x: ops.clip(x, -0.5, 0.75), [away_from(4, 5, points=(-0.5, 0.75))],
                  lambda x: np.clip(x, -0.5, 0.75))],
    "matmul": [Case(ops.matmul, [normal(*sa), normal(*sb)], np.matmul, label=f"{sa}@{sb}")
               for sa, sb in _MATMUL_SHAPES],
    "linear": [Case(ops.linear, [normal(2, 3, 4), normal(4, 5), normal(5)],
                    lambda x, k, b: x @ k + b, label="3-D input"),
               Case(ops.linear, [normal(3, 4), normal(4, 2), normal(2)],
                    lambda x, k, b: x @ k + b, label="2-D input"),
               Case(lambda x, k: ops.linear(x, k), [normal(2, 3, 4), normal(4, 5)],
                    lambda x, k: x @ k, label="no bias"),
               Case(ops.linear, [normal(4), normal(4, 3), normal(3)],
                    lambda x, k, b: x @ k + b, label="1-D input")],
    "tensordot": [Case(lambda a, b, ax=axes: ops.tensordot(a, b, ax), [normal(*sa), normal(*sb)],
                       lambda a, b, ax=axes: np.tensordot(a, b, ax), label=str(axes))
                  for sa, sb, axes in [((3, 4), (4, 5), 1), ((2, 3, 4), (3, 4, 5), 2),
                                       ((2, 3, 4), (3, 2, 5), ([1, 0], [0, 1])),
                                       ((2, 3, 4), (4, 3, 5), ([2, 1], [0, 1])),
                                       ((2, 3, 4), (4, 2), ([-1], [0])),
                                       ((3, 2), (2, 3), 0)]],
    "sum": _reduction_cases(ops.sum, np.sum),
    "mean": _reduction_cases(ops.mean, np.mean),
    "max": _reduction_cases(ops.max, np.max),
    "min": _reduction_cases(ops.min, np.min),
    "prod": _reduction_cases(ops.prod, np.prod) + _prod_with_zeros(),
    "var": _reduction_cases(ops.var, np.var),
    "std": _reduction_cases(ops.std, np.std),
    "logsumexp": _reduction_cases(ops.logsumexp, _np_logsumexp),
    "norm": _reduction_cases(ops.norm, _np_norm),
    "softmax": [Case(ops.softmax, [normal(3, 5)], _np_softmax),
                Case(lambda x: ops.softmax(x, axis=0), [normal(3, 5)],
                     lambda x: _np_softmax(x, axis=0), label="axis 0"),
                Case(lambda x: ops.softmax(x, axis=1), [normal(2, 3, 4)],
                     lambda x: _np_softmax(x, axis=1), label="axis 1 of 3-D")],
    "log_softmax": [Case(ops.log_softmax, [normal(3, 5)], lambda x: np.log(_np_softmax(x))),
                    Case(lambda x: ops.log_softmax(x, axis=0), [normal(3, 5)],
                         lambda x: np.log(_np_softmax(x, axis=0)), label="axis 0")],
    "reshape": [Case(lambda x: ops.reshape(x, (4, -1)), [normal(2, 3, 4)],
                     lambda x: x.reshape(4, -1))],
    "transpose": [Case(ops.transpose, [normal(2, 3, 4)], np.transpose, label="reverse"),
                  Case(lambda x: ops.transpose(x, (1, 2, 0)), [normal(2, 3, 4)],
                       lambda x: np.transpose(x, (1, 2, 0)), label="(1, 2, 0)"),
                  Case(lambda x: ops.transpose(x, (0, -1, 1)), [normal(2, 3, 4)],
                       lambda x: np.transpose(x, (0, -1, 1)), label="negative axis")],
    "swapaxes": [Case(lambda x: ops.swapaxes(x, 0, -1), [normal(2, 3, 4)],
                      lambda x: np.swapaxes(x, 0, -1))],
    "expand_dims": [Case(lambda x: ops.expand_dims(x, 1), [normal(2, 3)],
                         lambda x: np.expand_dims(x, 1)),
                    Case(lambda x: ops.expand_dims(x, -1), [normal(2, 3)],
                         lambda x: np.expand_dims(x, -1), label="-1")],
    "squeeze": [Case(ops.squeeze, [normal(2, 1, 3, 1)], np.squeeze),
                Case(lambda x: ops.squeeze(x, 1), [normal(2, 1, 3, 1)],
                     lambda x: np.squeeze(x, 1), label="axis 1")],
    "flatten": [Case(ops.flatten, [normal(2, 3, 4)], lambda x: x.reshape(2, -1))],
    "broadcast_to": [Case(lambda x: ops.broadcast_to(x, (2, 3, 4)), [normal(3, 1)],
                          lambda x: np.broadcast_to(x, (2, 3, 4)))],
    "concatenate": [Case(lambda a, b, c: ops.concatenate([a, b, c], axis=1),
                         [normal(2, 1, 3), normal(2, 3, 3), normal(2, 2, 3)],
                         lambda a, b, c: np.concatenate([a, b, c], axis=1)),
                    Case(lambda a, b: ops.concatenate([a, b]), [normal(2, 3), normal(2, 1)],
                         lambda a, b: np.concatenate([a, b], axis=-1), label="default axis")],
    "stack": [Case(lambda a, b, c: ops.stack([a, b, c]), [normal(2, 3)] * 3,
                   lambda a, b, c: np.stack([a, b, c])),
              Case(lambda a, b: ops.stack([a, b], axis=-1), [normal(2, 3), normal(2, 3)],
                   lambda a, b: np.stack([a, b], axis=-1), label="axis -1")],
    "split": [Case(lambda x, k=k: ops.split(x, 3, axis=1)[k], [normal(2, 6)],
                   lambda x, k=k: np.split(x, 3, axis=1)[k], label=f"sections part {k}")
              for k in (0, 2)] +
             [Case(lambda x, k=k: ops.split(x, [1, 3], axis=0)[k], [normal(5, 2)],
                   lambda x, k=k: np.split(x, [1, 3], axis=0)[k], label=f"indices part {k}")
              for k in (0, 1, 2)],
    "tile": [Case(lambda x: ops.tile(x, (2, 1, 3)), [normal(2, 3)],
                  lambda x: np.tile(x, (2, 1, 3))),
             Case(lambda x: ops.tile(x, (2,)), [normal(2, 3)], lambda x: np.tile(x, (2,)),
                  label="short reps")],
    "repeat": [Case(lambda x: ops.repeat(x, 3, axis=1), [normal(2, 3)],
                    lambda x: np.repeat(x, 3, axis=1)),
               Case(lambda x: ops.repeat(x, 2), [normal(2, 3)], lambda x: np.repeat(x, 2),
                    label="flattened")],
    "pad": [Case(lambda x: ops.pad(x, ((1, 2), (0, 3))), [normal(2, 3)],
                 lambda x: np.pad(x, ((1, 2), (0, 3)))),
            Case(lambda x: ops.pad(x, ((0, 0), (2, 1), (1, 1)), constant_values=1.5),
                 [normal(2, 3, 2)],
                 lambda x: np.pad(x, ((0, 0), (2, 1), (1, 1)), constant_values=1.5),
                 label="constant 1.5")],
    "getitem": [Case(lambda x, i=index: ops.getitem(x, i), [normal(4, 5)],
                     lambda x, i=index: x[i], label=repr(index))
                for index in [(slice(1, None), slice(None, None, 2)), (Ellipsis, 1),
                              slice(None, None, -1), 2, np.array([0, 2, 0, 0]),
                              (np.array([0, 1, 0, 0]), np.array([2, 2, 2, 4])),
                              (slice(None), [4, 4, 1]), np.array([True, False, True, True])]],
    "take": [Case(lambda x: ops.take(x, np.array([[0, 2], [2, 2]]), axis=0), [normal(3, 4)],
                  lambda x: np.take(x, np.array([[0, 2], [2, 2]]), axis=0), label="axis 0"),
             Case(lambda x: ops.take(x, np.array([3, 0, 3]), axis=1), [normal(2, 4, 2)],
                  lambda x: np.take(x, np.array([3, 0, 3]), axis=1), label="axis 1"),
             Case(lambda x: ops.take(x, np.array([5, 1, 5])), [normal(2, 3)],
                  lambda x: np.take(x, np.array([5, 1, 5])), label="flattened"),
             Case(lambda x: ops.take(x, 2, axis=0), [normal(3, 2)],
                  lambda x: np.take(x, 2, axis=0), label="scalar index")],
    "cumsum": [Case(lambda x, a=axis: ops.cumsum(x, axis=a), [normal(2, 3, 4)],
                    lambda x, a=axis: np.cumsum(x, axis=a), label=f"axis {axis}")
               for axis in (0, 1, -1)],
    "cumprod": [Case(lambda x, a=axis: ops.cumprod(x, axis=a), [_nonzero(2, 3, 4)],
                     lambda x, a=axis: np.cumprod(x, axis=a), label=f"axis {axis}")
                for axis in (0, 1, -1)],
    "flip": [Case(lambda x, a=axis: ops.flip(x, a), [normal(2, 3, 4)],
                  lambda x, a=axis: np.flip(x, a), label=f"axis {axis}")
             for axis in (None, 1, (0, 2), -1)],
    "conv": _conv_cases(),
    "depthwise_conv": _depthwise_cases(),
    "separable_conv": _separable_cases(),
    "conv_transpose": _transpose_cases(),
    # through float32 and back: linear, so a larger step keeps the float32 rounding small
    "cast": [Case(lambda x: ops.cast(ops.cast(x, "float32"), "float64"), [normal(2, 3)],
                  lambda x: x.astype("float32").astype("float64"), eps=1e-2, rtol=1e-4,
                  atol=1e-4)],
    "max_pool": _pool_cases(ops.max_pool, "max"),
    "average_pool": _pool_cases(ops.average_pool, "average"),
    "moments": _moments_cases(0) + _moments_cases(1),
    "batch_normalization": _batch_norm_cases(),
    "normalize_batch_in_training": _train_norm_cases(),
    "layer_normalization": _layer_norm_cases(),
    "lstm": _recurrent_cases("lstm", 4),
    "gru": _recurrent_cases("gru", 3, reset_after=True) +
           _recurrent_cases("gru", 3, reset_after=False),
    "simple_rnn": _recurrent_cases("simple_rnn", 1),
    "dense_bias_activation": _dense_cases(),
}

# Ops whose gradient is not a finite-difference matter; tested by hand below.
HAND_TESTED = {"stop_gradient"}

NON_DIFFERENTIABLE = {
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and",
    "logical_or", "logical_not", "sign", "round", "floor", "ceil", "argmax", "argmin", "isnan",
    "isfinite", "any", "all", "zeros_like", "ones_like", "zeros", "ones", "one_hot",
    "convert_to_tensor", "convert_to_numpy", "arange", "eye", "random_normal", "random_uniform",
    "random_binomial", "truncated_normal",
}


def _public_ops():
    return {name for name, obj in vars(ops).items()
            if not name.startswith("_") and inspect.isfunction(obj)
            and obj.__module__.startswith(ops.__name__ + ".")}


def test_table_covers_every_differentiable_op():
    missing = _public_ops() - set(TABLE) - HAND_TESTED - NON_DIFFERENTIABLE
    assert not missing, f"differentiable ops without a finite-difference case: {sorted(missing)}"
    stale = (set(TABLE) | HAND_TESTED | NON_DIFFERENTIABLE) - _public_ops()
    assert not stale, f"table names that are not ops: {sorted(stale)}"


@pytest.mark.parametrize("name,index", [(n, i) for n, cases in TABLE.items()
                                        for i in range(len(cases))])
def test_op_forward_and_gradient(name, index):
    check_case(TABLE[name][index])


# --- cases finite differences cannot check -------------------------------------------------

def _grad(fn, *arrays, upstream=None):
    tensors = [Tensor(np.asarray(a, dtype="float64" if isinstance(a, list) else None))
               for a in arrays]
    with GradientTape() as tape:
        tape.watch(tensors)
        out = fn(*tensors)
    grads = tape.gradient(out, tensors, output_gradients=upstream)
    return out, [None if g is None else g.numpy() for g in grads]


@pytest.mark.parametrize("op,expected_grad", [(ops.max, [0, 0.5, 0.5, 0]),
                                              (ops.min, [0.5, 0, 0, 0.5])])
def test_max_min_share_gradient_among_ties(op, expected_grad):
    out, (g,) = _grad(op, [1.0, 3.0, 3.0, 1.0])
    np.testing.assert_array_equal(out.numpy(), 3.0 if op is ops.max else 1.0)
    np.testing.assert_allclose(g, expected_grad)


def test_max_ties_per_axis():
    x = [[2.0, 2.0, 1.0], [0.0, 5.0, 5.0]]
    _, (g,) = _grad(lambda t: ops.max(t, axis=1), x, upstream=np.array([2.0, 4.0]))
    np.testing.assert_allclose(g, [[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]])


@pytest.mark.parametrize("op", [ops.maximum, ops.minimum])
def test_maximum_minimum_ties_go_to_first_argument(op):
    out, (ga, gb) = _grad(op, [1.0, 2.0], [1.0, 0.0] if op is ops.maximum else [1.0, 5.0])
    np.testing.assert_allclose(ga, [1.0, 1.0])
    np.testing.assert_allclose(gb, [0.0, 0.0])


def test_stop_gradient_blocks_the_gradient():
    x = np.array([1.5, -2.0, 3.0])
    out, (g,) = _grad(lambda t: t * ops.stop_gradient(t), x)
    np.testing.assert_allclose(out.numpy(), x * x)
    np.testing.assert_allclose(g, x)  # d/dx x * c = c, not 2x
    _, (g_only,) = _grad(ops.stop_gradient, x)
    assert g_only is None


def test_cast_keeps_the_source_dtype_in_the_gradient_and_int_cast_is_not_differentiable():
    x = Tensor(np.array([1.25, -2.5]))
    with GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = ops.cast(x, "float32")
        as_int = ops.cast(x, "int32")
    assert y.dtype == np.float32
    assert tape.gradient(y, x).dtype == np.float64
    assert not as_int.requires_grad
    np.testing.assert_array_equal(as_int.numpy(), [1, -2])


def test_softmax_and_log_softmax_on_large_logits():
    x = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1001.0]])
    for dtype in ("float32", "float64"):
        out, (g,) = _grad(ops.softmax, x.astype(dtype), upstream=np.ones((2, 3)))
        np.testing.assert_allclose(out.numpy(), [[1, 0, 0], [e := 1 / (2 + np.exp(-1.0)), e,
                                                           1 - 2 * e]], rtol=1e-6)
        assert np.all(np.isfinite(g))
        out, (g,) = _grad(ops.log_softmax, x.astype(dtype), upstream=np.ones((2, 3)))
        lse = -1000.0 + np.log(2 + np.exp(-1.0))
        np.testing.assert_allclose(out.numpy(), [[0, -1000, -2000],
                                                 [-1000 - lse, -1000 - lse, -1001 - lse]],
                                   rtol=1e-6)
        assert np.all(np.isfinite(g))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_and_softplus_are_finite_at_plus_minus_1000(dtype):
    x = np.array([-1000.0, 1000.0], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no hidden overflow
        out, (g,) = _grad(ops.sigmoid, x)
        np.testing.assert_array_equal(out.numpy(), [0.0, 1.0])
        np.testing.assert_array_equal(g, [0.0, 0.0])
        out, (g,) = _grad(ops.softplus, x)
        np.testing.assert_array_equal(out.numpy(), [0.0, 1000.0])
        np.testing.assert_array_equal(g, [0.0, 1.0])


def test_getitem_repeated_indices_accumulate():
    x = np.arange(5.0)
    _, (g,) = _grad(lambda t: t[np.array([1, 1, 3, 1])], x, upstream=np.array([1.0, 2, 4, 8]))
    np.testing.assert_array_equal(g, [0, 11, 0, 4, 0])


def test_take_repeated_indices_accumulate():
    x = np.arange(6.0).reshape(3, 2)
    _, (g,) = _grad(lambda t: ops.take(t, np.array([2, 0, 2]), axis=0), x,
                    upstream=np.array([[1.0, 2], [3, 4], [5, 6]]))
    np.testing.assert_array_equal(g, [[3, 4], [0, 0], [6, 8]])


def test_erf_forward_matches_math_erf_over_wide_range():
    x = np.linspace(-8, 8, 401)
    np.testing.assert_allclose(ops.erf(x).numpy(), _np_erf(x), rtol=1e-13, atol=1e-15)


def test_split_rejects_uneven_sections():
    with pytest.raises(ValueError, match="does not divide"):
        ops.split(np.zeros((2, 5)), 2, axis=1)


# --- Tensor operators ------------------------------------------------------------------------

OPERATOR_CASES = [
    ("a + b", lambda a, b: a + b, np.add, ((2, 3), (3,))),
    ("a - b", lambda a, b: a - b, np.subtract, ((2, 3), (2, 1))),
    ("a * b", lambda a, b: a * b, np.multiply, ((2, 3), (2, 3))),
    ("a / b", lambda a, b: a / b, np.divide, ((2, 3), (3,))),
    ("a ** b", lambda a, b: a ** b, np.power, ((2, 3), (2, 3))),
    ("a @ b", lambda a, b: a @ b, np.matmul, ((2, 3), (3, 4))),
    ("-a", lambda a: -a, np.negative, ((2, 3),)),
    ("abs(a)", lambda a: abs(a), np.abs, ((2, 3),)),
    ("a[1:, 0]", lambda a: a[1:, 0], lambda a: a[1:, 0], ((3, 2),)),
    ("a.T", lambda a: a.T, np.transpose, ((2, 3),)),
    ("a.reshape", lambda a: a.reshape(3, 2), lambda a: a.reshape(3, 2), ((2, 3),)),
    ("2.5 + a", lambda a: 2.5 + a, lambda a: 2.5 + a, ((2, 3),)),
    ("float32(2) * a", lambda a: np.float32(2) * a, lambda a: 2 * a, ((2, 3),)),
    ("float64 - a", lambda a: np.float64(1.5) - a, lambda a: 1.5 - a, ((2, 3),)),
    ("array / a", lambda a: np.arange(1.0, 4.0) / a, lambda a: np.arange(1.0, 4.0) / a,
     ((2, 3),)),
    ("2 ** a", lambda a: 2 ** a, lambda a: 2.0 ** a, ((2, 3),)),
    ("array ** a", lambda a: np.array([0.5, 2.0, 3.0]) ** a,
     lambda a: np.array([0.5, 2.0, 3.0]) ** a, ((2, 3),)),
    ("array @ a", lambda a: np.ones((4, 2)) @ a, lambda a: np.ones((4, 2)) @ a, ((2, 3),)),
    ("array * a", lambda a: np.full((2, 1), 3.0) * a, lambda a: 3.0 * a, ((2, 3),)),
]


@pytest.mark.parametrize("label,fn,reference,shapes", OPERATOR_CASES,
                         ids=[c[0] for c in OPERATOR_CASES])
def test_tensor_operators(label, fn, reference, shapes):
    arrays = [positive(*s) for s in shapes]  # positive: valid for ** and /
    out = fn(*[Tensor(a) for a in arrays])
    assert isinstance(out, Tensor), f"{label} returned {type(out).__name__}"
    check_case(Case(fn, arrays, reference))


def test_reflected_numpy_scalar_keeps_float32():
    t = Tensor(np.ones(3, "float32"))
    assert (np.float32(2) * t).dtype == np.float32
    assert (2.0 * t).dtype == np.float32  # Python floats are weak, as in NumPy 2


def test_comparison_operators_and_non_differentiable_ops():
    a, b = np.array([1.0, -2.0, 3.5, np.nan]), np.array([1.0, 0.0, 4.0, 1.0])
    ta = Tensor(a)
    with GradientTape() as tape:
        tape.watch(ta)
        results = {
            "==": (ta == b, a == b), "!=": (ta != b, a != b), ">": (ta > b, a > b),
            ">=": (ta >= b, a >= b), "<": (ta < b, a < b), "<=": (ta <= b, a <= b),
            "sign": (ops.sign(ta), np.sign(a)), "floor": (ops.floor(ta), np.floor(a)),
            "ceil": (ops.ceil(ta), np.ceil(a)), "round": (ops.round(ta), np.round(a)),
            "isnan": (ops.isnan(ta), np.isnan(a)), "isfinite": (ops.isfinite(ta), np.isfinite(a)),
            "logical_and": (ops.logical_and(ta > 0, b > 0), (a > 0) & (b > 0)),
            "logical_or": (ops.logical_or(ta > 0, b > 0), (a > 0) | (b > 0)),
            "logical_not": (ops.logical_not(ta > 0), ~(a > 0)),
            "any": (ops.any(ta > 2, axis=0), np.any(a > 2, axis=0)),
            "all": (ops.all(ta < 4, keepdims=True), np.all(a < 4, keepdims=True)),
            "zeros_like": (ops.zeros_like(ta), np.zeros(4)),
            "ones_like": (ops.ones_like(ta), np.ones(4)),
        }
    for name, (got, want) in results.items():
        assert isinstance(got, Tensor) and not got.requires_grad, name
        np.testing.assert_array_equal(got.numpy(), want, err_msg=name)


def test_argmax_argmin_follow_keras_defaults():
    x = np.array([[1.0, 7.0, 3.0], [9.0, 0.0, 4.0]])
    assert int(ops.argmax(x)) == 3  # axis=None: index into the flattened tensor
    assert int(ops.argmin(x)) == 4
    np.testing.assert_array_equal(ops.argmax(x, axis=1).numpy(), [1, 0])
    np.testing.assert_array_equal(ops.argmin(x, axis=0).numpy(), [0, 1, 0])
    assert ops.argmax(x, axis=1, keepdims=True).shape == (2, 1)


def test_one_hot_zeros_ones_and_conversions():
    np.testing.assert_array_equal(ops.one_hot(np.array([2, 0]), 3).numpy(),
                                  [[0, 0, 1], [1, 0, 0]])
    assert ops.zeros((2, 3)).shape == (2, 3) and not ops.zeros((2, 3)).numpy().any()
    np.testing.assert_array_equal(ops.ones((2,), dtype="int32").numpy(), [1, 1])
    t = ops.convert_to_tensor([1.0, 2.0], dtype="float32")
    assert t.dtype == np.float32 and ops.convert_to_tensor(t) is t
    assert isinstance(ops.convert_to_numpy(t), np.ndarray)
    np.testing.assert_array_equal(ops.convert_to_numpy(t), [1.0, 2.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(7,), (64, 1031)])
def test_relu_gradient_is_the_upstream_where_the_input_is_positive(shape, dtype, cpu_accel):
    """``g * (x > 0)`` on the plain NumPy path and the CPU extra's one pass, with NaN, -0.0
    and infinite inputs and an infinite upstream where the input is negative."""
    x = RNG.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    flat[:4] = [np.nan, -0.0, np.inf, -np.inf]
    g = RNG.standard_normal(shape).astype(dtype)
    g.reshape(-1)[3] = np.inf  # times 0 where x = -inf: NaN, as NumPy's product
    t = Tensor(x, requires_grad=True)
    with GradientTape() as tape:
        y = ops.relu(t)
    with np.errstate(invalid="ignore"):
        (grad,) = tape.gradient(y, [t], output_gradients=g)
        want = g * (x > 0)
    np.testing.assert_array_equal(y.value, np.maximum(x, 0))
    assert grad.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(grad, want)
