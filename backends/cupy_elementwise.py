"""The fused elementwise primitives on the GPU: kernels/elementwise.cu.

``CupyBackend`` inherits these overrides (the contract is the docstring of
``numpy_elementwise.py``). Each launches one kernel over C-contiguous arrays (copying an input
that is not), with outputs from ``xp.empty`` and every size a Python int: no device reads.
Element types without kernel instances (float16) take the reference's array-op code.
"""
import numpy

from .. import kernels
from .numpy_elementwise import ACTIVATIONS, check_activation


class ElementwiseKernels:
    """Mixed into ``CupyBackend`` before ``NumpyBackend``: ``super()`` is the reference."""

    def bias_activation(self, z, bias, activation):
        check_activation(activation)
        if not kernels.has_kernels_for(z.dtype) or not z.flags.c_contiguous:
            return super().bias_activation(z, bias, activation)
        if bias is None and activation == "linear":
            return z
        d = z.shape[-1]
        bias_arg = self._placeholder_of(z.dtype) if bias is None else \
            _contiguous(bias.astype(z.dtype, copy=False))
        kernels.get(self.xp, "bias_activation", z.dtype)(
            z.size, z, bias_arg, z.size, d, int(bias is not None), ACTIVATIONS.index(activation))
        return z

    def activation_backward(self, dy, y, activation):
        check_activation(activation)
        if activation == "linear":
            return dy
        if not kernels.has_kernels_for(y.dtype) or dy.dtype != y.dtype:
            return super().activation_backward(dy, y, activation)
        dz = self.xp.empty(y.shape, y.dtype)
        kernels.get(self.xp, "activation_backward", y.dtype)(
            dz.size, _contiguous(dy), _contiguous(y), dz, dz.size, ACTIVATIONS.index(activation))
        return dz

    def softmax_rows(self, z):
        if not kernels.has_kernels_for(z.dtype):
            return super().softmax_rows(z)
        rows, d = z.shape
        y = self.xp.empty(z.shape, z.dtype)
        kernels.get(self.xp, "softmax_rows", z.dtype)(rows, _contiguous(z), y, rows, d)
        return y

    def softmax_rows_backward(self, dy, y):
        if not kernels.has_kernels_for(y.dtype) or dy.dtype != y.dtype:
            return super().softmax_rows_backward(dy, y)
        rows, d = y.shape
        dz = self.xp.empty(y.shape, y.dtype)
        kernels.get(self.xp, "softmax_rows_backward", y.dtype)(
            rows, _contiguous(dy), _contiguous(y), dz, rows, d)
        return dz

    def softmax_crossentropy(self, logits, target):
        if not kernels.has_kernels_for(logits.dtype) or target.dtype != logits.dtype:
            return super().softmax_crossentropy(logits, target)
        rows, d = logits.shape
        loss = self.xp.empty(rows, logits.dtype)
        log_prob = self.xp.empty(logits.shape, logits.dtype)
        kernels.get(self.xp, "softmax_crossentropy", logits.dtype)(
            rows, _contiguous(logits), _contiguous(target), loss, log_prob, rows, d)
        return loss, log_prob

    def softmax_crossentropy_backward(self, log_prob, target, g):
        dtype = log_prob.dtype
        if not kernels.has_kernels_for(dtype) or target.dtype != dtype or g.dtype != dtype:
            return super().softmax_crossentropy_backward(log_prob, target, g)
        rows, d = log_prob.shape
        dlogits = self.xp.empty(log_prob.shape, dtype)
        kernels.get(self.xp, "softmax_crossentropy_backward", dtype)(
            rows, log_prob, _contiguous(target), _contiguous(g), dlogits, rows, d)
        return dlogits

    def sparse_softmax_crossentropy(self, logits, labels):
        if not kernels.has_kernels_for(logits.dtype):
            return super().sparse_softmax_crossentropy(logits, labels)
        rows, d = logits.shape
        loss = self.xp.empty(rows, logits.dtype)
        log_prob = self.xp.empty(logits.shape, logits.dtype)
        kernels.get(self.xp, "sparse_softmax_crossentropy", logits.dtype)(
            rows, _contiguous(logits), _labels(labels), loss, log_prob, rows, d)
        return loss, log_prob

    def sparse_softmax_crossentropy_backward(self, log_prob, labels, g):
        dtype = log_prob.dtype
        if not kernels.has_kernels_for(dtype) or g.dtype != dtype:
            return super().sparse_softmax_crossentropy_backward(log_prob, labels, g)
        rows, d = log_prob.shape
        dlogits = self.xp.empty(log_prob.shape, dtype)
        kernels.get(self.xp, "sparse_softmax_crossentropy_backward", dtype)(
            dlogits.size, log_prob, _labels(labels), _contiguous(g), dlogits, dlogits.size, d)
        return dlogits

    def dropout_multiplier(self, u, rate):
        if not kernels.has_kernels_for(u.dtype) or not u.flags.c_contiguous:
            return super().dropout_multiplier(u, rate)
        scale = u.dtype.type(1.0 / (1.0 - rate))
        kernels.get(self.xp, "dropout_multiplier", u.dtype)(u.size, u, u.size, rate, scale)
        return u

    def _placeholder_of(self, dtype):
        """A one-element array kept per dtype, for a pointer argument the kernel never reads."""
        placeholders = self.__dict__.setdefault("_elementwise_placeholders", {})
        key = numpy.dtype(dtype)
        if key not in placeholders:
            placeholders[key] = self.xp.zeros(1, key)
        return placeholders[key]


def _contiguous(array):
    return array if array.flags.c_contiguous else array.copy()


def _labels(labels):
    return _contiguous(labels.astype(numpy.int64, copy=False))
