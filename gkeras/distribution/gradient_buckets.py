"""Gradients summed across processes in buckets that start during the reverse pass.

As PyTorch DDP: the trainable variables' gradients get flat buffers (one per dtype) laid out
in reverse variable order -- the order the reverse pass finishes them, last layer first --
cut into buckets of about ``bucket_bytes``. ``add`` (the reverse pass's ``on_gradient``
hook) copies a finished gradient into its place; when a bucket's last gradient arrives, its
sum across ranks starts while the reverse pass goes on. ``finish`` starts what is left and
waits. Every rank starts the same buckets in the same order: the model and its graph are the
same on every rank.
"""
import numpy

from ..backends import current as _backend


class _Bucket:
    def __init__(self, array, members):
        self.array = array  # a contiguous slice of its dtype's buffer
        self.members = members
        self.waiting = len(members)


class GradientBuckets:
    def __init__(self, variables, communicator, bucket_bytes):
        xp = _backend().xp
        self.communicator = communicator
        self.views = [None] * len(variables)
        self._bucket_of = [None] * len(variables)
        self.buckets = []
        by_dtype = {}
        for index in reversed(range(len(variables))):
            by_dtype.setdefault(numpy.dtype(variables[index].dtype), []).append(index)
        for dtype, indices in by_dtype.items():
            sizes = [int(numpy.prod(variables[i].shape)) for i in indices]
            buffer = xp.zeros((sum(sizes),), dtype=dtype)
            offset, start, members = 0, 0, []
            for index, size in zip(indices, sizes):
                self.views[index] = buffer[offset:offset + size].reshape(variables[index].shape)
                members.append(index)
                offset += size
                if (offset - start) * dtype.itemsize >= bucket_bytes or index == indices[-1]:
                    self._close_bucket(buffer[start:offset], members)
                    start, members = offset, []
        self._received = [False] * len(variables)
        self._handles = []

    def _close_bucket(self, array, members):
        bucket = _Bucket(array, members)
        for index in members:
            self._bucket_of[index] = bucket
        self.buckets.append(bucket)

    def start(self):
        """Before a reverse pass."""
        for bucket in self.buckets:
            bucket.waiting = len(bucket.members)
        self._received = [False] * len(self.views)
        self._handles = []

    def add(self, index, grad):
        """Variable ``index``'s gradient is final (None: it does not reach the loss)."""
        if grad is None:
            return
        self.views[index][...] = grad
        self._received[index] = True
        self._arrived(self._bucket_of[index])
        self.communicator.progress(self._handles)

    def _arrived(self, bucket):
        bucket.waiting -= 1
        if bucket.waiting == 0:
            self._handles.append(self.communicator.allreduce_start(bucket.array))

    def finish(self, grads):
        """The summed gradients (views of the buffers; None where ``grads`` has None)."""
        for index, received in enumerate(self._received):
            if not received:
                if grads[index] is not None:  # a gradient the hook did not see
                    self.views[index][...] = grads[index]
                else:
                    self.views[index][...] = 0
                self._arrived(self._bucket_of[index])
        self.communicator.wait(self._handles, "the gradient allreduce")
        return [None if g is None else view for g, view in zip(grads, self.views)]
