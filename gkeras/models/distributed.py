"""What fit/evaluate/predict do differently under a data-parallel distribution, mixed into
``Model`` (see gkeras/distribution/). With no distribution, or one process, none of it runs.
"""
import functools

from ..distribution import active as _active_distribution


def data_parallel_call(method):
    """Run ``method`` with the active distribution (or None) as ``self._data_parallel``."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        previous = getattr(self, "_data_parallel", None)
        self._data_parallel = _active_distribution()
        try:
            return method(self, *args, **kwargs)
        finally:
            self._data_parallel = previous
            if previous is None:
                self._gradient_buckets = None
    return call


class Distributed:
    _data_parallel = None
    _gradient_buckets = None

    def _rank_callbacks(self, callbacks, verbose):
        """The callbacks and verbosity of this rank: ranks other than 0 neither print nor
        write files."""
        data_parallel = self._data_parallel
        if data_parallel is None or data_parallel.is_chief:
            return callbacks, verbose
        return data_parallel.rank_callbacks(callbacks), 0

    def _start_data_parallel_training(self, every_call=True):
        """Rank 0's state everywhere (each call, or only the first time with these trainable
        weights), and the gradient buckets of the trainable weights."""
        data_parallel = self._data_parallel
        if data_parallel is None:
            return
        key = (id(data_parallel), tuple(id(v) for v in self._trainable_cache))
        fresh = getattr(self, "_data_parallel_key", None) != key
        if every_call or fresh:
            data_parallel.broadcast_state(self)
        if fresh:
            self._bucket_cache = data_parallel.gradient_buckets(self._trainable_cache)
            self._data_parallel_key = key
        self._gradient_buckets = self._bucket_cache

    def _shard_index(self, index):
        """``(index, share, counted)`` of this rank's part of a batch index."""
        if self._data_parallel is None:
            return index, None, True
        length = index.stop - index.start if isinstance(index, slice) else int(index.shape[0])
        return self._data_parallel.shard_index(index, length)

    def _shard_batch(self, xs, ys, sws, length):
        """This rank's rows of one batch (arrays of ``length`` rows), its share, counted."""
        data_parallel = self._data_parallel
        if data_parallel is None:
            return xs, ys, sws, None, True
        xs, share, counted = data_parallel.shard_arrays(xs, length)
        ys = data_parallel.shard_arrays(ys, length)[0]
        sws = data_parallel.shard_arrays(sws, length)[0]
        return xs, ys, sws, share, counted

    def _stop_requested(self):
        """``stop_training``, true on every rank when a callback set it on any."""
        if self._data_parallel is not None:
            self.stop_training = self._data_parallel.any(self.stop_training)
        return self.stop_training

    def _end_data_parallel_epoch(self):
        if self._data_parallel is not None:
            self._data_parallel.broadcast_non_trainable(self)
