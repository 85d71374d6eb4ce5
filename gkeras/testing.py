"""Gradient checks for custom layers and losses (``gkeras.testing``).

``check_gradients(layer, inputs)`` compares the gradients that autograd computes for a layer
with central finite differences, in the spirit of Chainer's ``gradient_check``. Build the
layer in float64 (``Dense(3, dtype='float64')``) for a tight check; float32 layers are checked
with loose tolerances because finite differences lose about half the digits.
"""
import numpy

from . import ops
from .autograd import GradientTape, Tensor
from .backends import current as _backend

# (eps, atol, rtol) per float dtype: eps balances truncation (eps**2) against rounding
# (ulp / eps) error of the central difference.
_TOLERANCES = {
    "float64": (1e-6, 1e-6, 1e-5),
    "float32": (1e-3, 1e-2, 1e-2),
    "float16": (1e-2, 1e-1, 1e-1),
}


def _as_list(inputs):
    return (list(inputs), True) if isinstance(inputs, (list, tuple)) else ([inputs], False)


def _is_float(array):
    return numpy.dtype(array.dtype).kind == "f"


def _forward_loss(layer, arrays, several, upstream):
    """``sum(layer(inputs) * upstream)`` in float64 on the host."""
    tensors = [Tensor(_backend().asarray(a)) for a in arrays]
    outputs, _ = _as_list(layer(tensors if several else tensors[0], training=False))
    return sum(float(numpy.sum(numpy.asarray(o, dtype="float64") * u))
               for o, u in zip(outputs, upstream))


def _upstream_list(upstream, outputs):
    ups, _ = _as_list(upstream)
    if len(ups) != len(outputs):
        raise ValueError(f"gkeras.testing: the layer returned {len(outputs)} output(s), but "
                         f"{len(ups)} upstream gradient(s) were given.")
    out = []
    for u, o in zip(ups, outputs):
        u = numpy.asarray(u)
        if u.shape != tuple(o.shape):
            raise ValueError(f"gkeras.testing: upstream gradient of shape {u.shape} does not "
                             f"match the layer output of shape {tuple(o.shape)}.")
        out.append(u)
    return out


def layer_gradients(layer, inputs, upstream):
    """Gradients of ``sum(layer(inputs, training=False) * upstream)``.

    Returns ``(input_grads, weight_grads)`` as NumPy arrays: ``input_grads`` is one array
    (a list when ``inputs`` is a list; ``None`` for integer inputs), ``weight_grads`` has one
    array per entry of ``layer.weights`` (non-trainable weights included; zeros when the
    output does not depend on a weight).
    """
    arrays, several = _as_list(inputs)
    arrays = [numpy.asarray(a) for a in arrays]
    tensors = [Tensor(_backend().asarray(a)) for a in arrays]
    call_inputs = tensors if several else tensors[0]
    if not layer.built:
        layer(call_inputs, training=False)
    weights = list(layer.weights)
    saved = [w.requires_grad for w in weights]
    try:
        with GradientTape() as tape:
            tape.watch([t for t in tensors if _is_float(t)] + weights)
            outputs, _ = _as_list(layer(call_inputs, training=False))
        ups = _upstream_list(upstream, outputs)
        xp_ups = [_backend().asarray(u, dtype=o.dtype) for u, o in zip(ups, outputs)]
        grads = _backward_many(tape, outputs, xp_ups, tensors + weights)
    finally:
        for w, flag in zip(weights, saved):
            w.requires_grad = flag
    input_grads = []
    for t, g in zip(tensors, grads[:len(tensors)]):
        if not _is_float(t):
            input_grads.append(None)
        else:
            input_grads.append(numpy.zeros(t.shape, t.dtype) if g is None else g.numpy())
    weight_grads = [numpy.zeros(w.shape, w.dtype) if g is None else g.numpy()
                    for w, g in zip(weights, grads[len(tensors):])]
    return (input_grads if several else input_grads[0]), weight_grads


def _backward_many(tape, outputs, upstreams, sources):
    if len(outputs) == 1:
        return tape.gradient(outputs[0], sources, output_gradients=upstreams[0])
    total = None
    with tape:  # the sum must be recorded too
        for o, u in zip(outputs, upstreams):
            term = ops.sum(ops.multiply(o, u))
            total = term if total is None else ops.add(total, term)
    return tape.gradient(total, sources)


def loss_gradients(loss, y_true, y_pred):
    """Gradient of the mean of ``loss(y_true, y_pred)`` w.r.t. ``y_pred``, as a NumPy array.

    ``loss`` is a callable or a name accepted by ``gkeras.losses.get``.
    """
    if isinstance(loss, str):
        from . import losses  # imported lazily: losses builds on this package
        loss = losses.get(loss)
    if not callable(loss):
        raise TypeError(f"gkeras.testing.loss_gradients: `loss` must be a callable or a loss "
                        f"name, got {type(loss).__name__}.")
    y_true = Tensor(_backend().asarray(numpy.asarray(y_true)))
    y_pred = Tensor(_backend().asarray(numpy.asarray(y_pred)))
    with GradientTape() as tape:
        tape.watch(y_pred)
        value = ops.mean(loss(y_true, y_pred))
    grad = tape.gradient(value, y_pred)
    return numpy.zeros(y_pred.shape, y_pred.dtype) if grad is None else grad.numpy()


def _tolerances(dtype, eps, atol, rtol):
    default = _TOLERANCES.get(numpy.dtype(dtype).name, _TOLERANCES["float32"])
    return (default[0] if eps is None else eps, default[1] if atol is None else atol,
            default[2] if rtol is None else rtol)


def _numeric_gradient(f, array, eps):
    """Central differences of ``f()`` while entries of ``array`` are perturbed in place."""
    grad = numpy.zeros(array.shape, "float64")
    for index in numpy.ndindex(*array.shape):
        original = array[index].item()
        array[index] = original + eps
        up = array[index].item()  # the step actually taken, after rounding to the dtype
        f_plus = f()
        array[index] = original - eps
        down = array[index].item()
        f_minus = f()
        array[index] = original
        grad[index] = (f_plus - f_minus) / (up - down)
    return grad


def check_gradients(layer, inputs, upstream=None, eps=None, atol=None, rtol=None):
    """Assert that ``layer_gradients`` matches central finite differences.

    Perturbs every float input entry and every entry of each weight's ``.value`` in place (so
    keep the layer and inputs small). Tolerances default by the layer's dtype: tight for
    float64, loose for float32. Raises ``AssertionError`` naming the worst mismatch.
    """
    arrays, several = _as_list(inputs)
    arrays = [numpy.array(a) for a in arrays]  # copies: perturbed in place below
    call_inputs = arrays if several else arrays[0]
    if upstream is None:
        outputs, _ = _as_list(layer(
            [Tensor(_backend().asarray(a)) for a in arrays] if several else
            Tensor(_backend().asarray(arrays[0])), training=False))
        rng = numpy.random.default_rng(0)
        ups = [rng.standard_normal(o.shape).astype(o.dtype) for o in outputs]
        upstream = ups if len(ups) > 1 else ups[0]
    input_grads, weight_grads = layer_gradients(layer, call_inputs, upstream)
    input_grads, _ = _as_list(input_grads) if several else ([input_grads], False)
    upstream_list, _ = _as_list(upstream)
    upstream_list = [numpy.asarray(u, dtype="float64") for u in upstream_list]
    eps, atol, rtol = _tolerances(layer.dtype, eps, atol, rtol)

    def f():
        return _forward_loss(layer, arrays, several, upstream_list)

    checks = []  # (label, analytic, numeric)
    for i, (a, g) in enumerate(zip(arrays, input_grads)):
        if g is None:
            continue
        checks.append((f"input {i}", g, _numeric_gradient(f, a, eps)))
    for w, g in zip(layer.weights, weight_grads):
        if _is_float(w):
            checks.append((f"weight {w.path!r}", g, _numeric_gradient(f, w.value, eps)))
    _assert_close(layer, checks, atol, rtol)


def _assert_close(layer, checks, atol, rtol):
    worst = None
    bad = 0
    total = 0
    for label, analytic, numeric in checks:
        analytic = numpy.asarray(analytic, dtype="float64")
        if analytic.shape != numeric.shape:
            raise AssertionError(f"check_gradients({layer.name}): the gradient of {label} has "
                                 f"shape {analytic.shape}, expected {numeric.shape}.")
        error = numpy.abs(analytic - numeric)
        allowed = atol + rtol * numpy.abs(numeric)
        ratio = numpy.where(numpy.isfinite(error), error / allowed, numpy.inf)
        total += ratio.size
        bad += int(numpy.sum(~(ratio <= 1)))
        if ratio.size and (worst is None or ratio.max() > worst[0]):
            index = numpy.unravel_index(int(numpy.argmax(ratio)), ratio.shape)
            worst = (ratio.max(), label, index, analytic[index], numeric[index])
    if bad:
        _, label, index, a, n = worst
        raise AssertionError(
            f"check_gradients({layer.name}): {bad} of {total} gradient entries out of "
            f"tolerance (atol={atol}, rtol={rtol}). Worst: {label} at index "
            f"{tuple(map(int, index))}: analytic {float(a)!r}, numeric {float(n)!r} "
            f"(|diff| {abs(float(a) - float(n))!r}).")
