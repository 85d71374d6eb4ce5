"""Reverse-mode automatic differentiation over backend arrays.

A ``Tensor`` holds a backend array. While a ``GradientTape`` is open (``fit`` opens one for
each training step), every op whose inputs need gradients records its parents and a
backward closure on its result; ``gradient`` walks that graph in reverse topological order.
With no tape open nothing is recorded, so inference allocates no graph.
"""
import math

import numpy

from .backends import current as _backend


class _Recording:
    depth = 0


_recording = _Recording()


def is_recording():
    return _recording.depth > 0


class Tensor:
    """An eager value on the active backend, possibly a node of the recorded graph."""

    # _keras_logits: on a softmax or sigmoid output, ('softmax' | 'sigmoid', logits Tensor),
    # from which the crossentropy losses compute (as Keras 3 on TensorFlow)
    __slots__ = ("value", "requires_grad", "_parents", "_backward", "_keras_mask",
                 "_keras_logits", "__weakref__")
    # Make NumPy defer to our reflected operators (np.float32(2) * tensor -> Tensor).
    __array_ufunc__ = None

    def __init__(self, value, requires_grad=False):
        self.value = value
        self.requires_grad = requires_grad
        self._parents = None
        self._backward = None
        self._keras_mask = None
        self._keras_logits = None

    @property
    def shape(self):
        value = self.value  # an array's shape is a tuple already; Python scalars have none
        return value.shape if hasattr(value, "shape") else ()

    @property
    def dtype(self):
        value = self.value  # result_type only for Python scalars: it may not accept cupy arrays
        return value.dtype if hasattr(value, "dtype") else numpy.result_type(value)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)  # numpy.prod costs microseconds per call

    def numpy(self):
        """The value as a NumPy array (copied off the device on GPU backends)."""
        if numpy.isscalar(self.value):
            return numpy.asarray(self.value)
        return _backend().to_numpy(self.value)

    def __array__(self, dtype=None, copy=None):
        out = self.numpy()
        return out if dtype is None else out.astype(dtype, copy=False)

    def item(self):
        return self.numpy().item()

    def __float__(self):
        return float(self.numpy())

    def __int__(self):
        return int(self.numpy())

    def __bool__(self):
        return bool(self.numpy())

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __format__(self, spec):
        return format(self.numpy() if self.ndim else self.item(), spec)

    def __repr__(self):
        return f"<Tensor shape={self.shape} dtype={self.dtype}\n{self.numpy()!r}>"

    def __hash__(self):
        return id(self)


def result(value, parents, backward):
    """Wrap an op's output; record ``backward`` if a tape is open and a parent needs it.

    ``backward(grad)`` returns one gradient (or None) per parent, each of its parent's shape.
    """
    if _recording.depth:
        for parent in parents:
            if parent.requires_grad:
                out = Tensor(value, True)
                out._parents = parents
                out._backward = backward
                return out
    return Tensor(value)


def backward(target, sources, output_gradient=None, on_gradient=None):
    """Gradients of ``target`` w.r.t. each tensor in ``sources`` (None where unconnected).

    ``on_gradient(i, grad)``, if given, is called as soon as source ``i``'s gradient is final
    (its last consumer has run), while the rest of the reverse pass is still to come: data
    parallel training starts reducing early gradients then.
    """
    order = _topological_order(target)
    xp = _backend().xp
    grads = {id(target): output_gradient if output_gradient is not None
             else xp.ones_like(target.value)}
    wanted = {id(s) for s in sources}
    pending = None if on_gradient is None else _consumer_counts(order, sources)
    for node in reversed(order):
        grad = grads.get(id(node))
        if grad is not None and node._backward is not None:
            if id(node) not in wanted:
                del grads[id(node)]
            for parent, pgrad in zip(node._parents, node._backward(grad)):
                if pgrad is None or not parent.requires_grad:
                    continue
                key = id(parent)
                previous = grads.get(key)
                grads[key] = pgrad if previous is None else previous + pgrad
        if pending is not None and node._parents is not None:
            for parent in node._parents:
                count = pending.get(id(parent))
                if count is None:
                    continue
                if count[0] == 1:
                    on_gradient(count[1], grads.get(id(parent)))
                count[0] -= 1
    return [grads.get(id(s)) for s in sources]


def _consumer_counts(order, sources):
    """``id(source) -> [edges from recorded ops to it, its index]``, for sources with any."""
    index = {id(s): i for i, s in enumerate(sources)}
    counts = {}
    for node in order:
        if node._parents is None:
            continue
        for parent in node._parents:
            key = id(parent)
            if key in index:
                counts.setdefault(key, [0, index[key]])[0] += 1
    return counts


def _topological_order(target):
    order, seen = [], set()
    stack = [(target, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node._parents is not None:
            for parent in node._parents:
                if parent.requires_grad and id(parent) not in seen:
                    stack.append((parent, False))
    return order


class GradientTape:
    """Records ops for differentiation, as ``tf.GradientTape``.

    Trainable ``Variable``s are watched automatically; ``watch`` adds other tensors.
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = persistent
        self._used = False
        self._watched = []

    def __enter__(self):
        _recording.depth += 1
        return self

    def __exit__(self, *exc):
        _recording.depth -= 1
        return False

    def watch(self, tensor):
        for t in tensor if isinstance(tensor, (list, tuple)) else [tensor]:
            if not isinstance(t, Tensor):
                raise TypeError("GradientTape.watch expects Tensors or Variables, got "
                                f"{type(t).__name__}.")
            self._watched.append((t, t.requires_grad))
            t.requires_grad = True

    def gradient(self, target, sources, output_gradients=None):
        """Gradients as Tensors, in the structure of ``sources`` (None where unconnected)."""
        if self._used and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can only compute one gradient; "
                               "use GradientTape(persistent=True) for several.")
        self._used = True
        if not isinstance(target, Tensor):
            raise TypeError("GradientTape.gradient: target must be a Tensor, got "
                            f"{type(target).__name__}.")
        single = isinstance(sources, Tensor)
        flat = [sources] if single else list(sources)
        seed = None
        if output_gradients is not None:
            seed = output_gradients.value if isinstance(output_gradients, Tensor) \
                else _backend().asarray(output_gradients, dtype=target.dtype)
        grads = backward(target, flat, seed)
        if not self.persistent:
            self._unwatch()
        out = [None if g is None else Tensor(g) for g in grads]
        return out[0] if single else out

    def _unwatch(self):
        """Watching lasts for this tape only: until its gradient, or its end if persistent."""
        for t, previous in reversed(self._watched):
            t.requires_grad = previous
        self._watched = []

    def __del__(self):
        self._unwatch()
