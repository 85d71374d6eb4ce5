"""``DataParallel``: one model replica per process, each global batch split across them.

Every process runs the same script on the same data. Each global batch of ``fit``/``evaluate``
is cut into contiguous shards, one per rank (the first ``B % N`` ranks get one sample more);
a rank scales its loss by its shard's share of the batch, so the summed gradients are the
gradients of the global batch's loss (for losses that average over the batch, Keras's
default), whatever the shard sizes. Metric and loss trackers are summed across ranks before
anything reads them, so every rank sees the same, global, logs.
"""
import numpy

from ..backends import current as _backend
from .communicators import abort_on_uncaught_exception
from .gradient_buckets import GradientBuckets


class DataParallel:
    """Data parallelism over the processes of an MPI job (``mpiexec -n N python train.py``).

    Args:
        device_mesh: Keras 3's argument; meshes are not supported (None only).
        devices: None (each process takes the device of its local rank) or one device per
            process, e.g. ``["gpu:0", "gpu:1"]``, indexed by rank.
        auto_shard_dataset: True (each rank takes its shard of the same data); False is
            refused: gkeras shards the data itself.
        bucket_size_mb: the size of the gradient buckets summed during the reverse pass.
        communicator: an ``MPICommunicator`` (default: MPI's world), for tests and
            sub-communicators.
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True,
                 bucket_size_mb=25, communicator=None):
        from .communicators import MPICommunicator, import_mpi, launched_ranks
        if device_mesh is not None:
            raise ValueError("DataParallel: gkeras does not support device meshes; received "
                             f"device_mesh={device_mesh!r}. Pass devices, or nothing.")
        if auto_shard_dataset is not True:
            raise ValueError("DataParallel: gkeras always shards the data itself (every rank "
                             "passes the same arrays); auto_shard_dataset=False is not "
                             "supported.")
        if not (isinstance(bucket_size_mb, (int, float)) and bucket_size_mb > 0):
            raise ValueError("DataParallel: bucket_size_mb must be a positive number, "
                             f"received {bucket_size_mb!r}.")
        if communicator is None:
            if launched_ranks() > 1:
                import_mpi()  # a clear error when a multi-process job has no mpi4py
            try:
                communicator = MPICommunicator()
            except RuntimeError:  # no mpi4py and one process: a job of one
                communicator = None
        self.host = communicator
        self.num_processes = 1 if communicator is None else communicator.size
        self.rank = 0 if communicator is None else communicator.rank
        self.bucket_bytes = int(bucket_size_mb * 2 ** 20)
        self.devices = _device_list(devices, self.num_processes)
        self._device = None
        if self.active:
            backend = _backend()
            if self.devices is None:
                backend.select_device(communicator.local_rank, communicator.local_size)
            else:
                backend.select_device(self.devices[self.rank], max(self.devices) + 1)
            self._device = backend.device_communicator(communicator)
            abort_on_uncaught_exception(communicator)

    @property
    def active(self):
        return self.num_processes > 1

    @property
    def is_chief(self):
        """Rank 0: the one that prints, checkpoints, logs and saves."""
        return self.rank == 0

    def get_config(self):
        return {"num_processes": self.num_processes, "rank": self.rank,
                "bucket_size_mb": self.bucket_bytes / 2 ** 20}

    def __repr__(self):
        return f"<DataParallel rank={self.rank} num_processes={self.num_processes}>"

    # --- batches ---------------------------------------------------------------------------
    def shard_bounds(self, length):
        """``(start, stop)`` of this rank's contiguous part of ``length`` samples."""
        base, extra = divmod(length, self.num_processes)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (self.rank < extra)

    def shard_index(self, index, length):
        """This rank's part of a batch index (a slice or an index array of ``length``
        samples): ``(index, share, counted)``. ``share`` (the shard's fraction of the batch)
        scales the rank's loss. A rank with no sample (a batch smaller than the job) computes
        on the batch's first sample with ``share`` 0, so it still joins the gradient sums,
        and does not count it in its metrics (``counted`` False)."""
        start, stop = self.shard_bounds(length)
        counted = stop > start
        if not counted:
            start, stop = 0, 1
        if isinstance(index, slice):
            base = index.start or 0
            part = slice(base + start, base + stop)
        else:
            part = index[start:stop]
        return part, (stop - start) / length if counted else 0.0, counted

    def shard_arrays(self, arrays, length):
        """This rank's rows of each array of one batch (None entries stay None)."""
        index, share, counted = self.shard_index(slice(0, length), length)
        return [None if a is None else a[index] for a in arrays], share, counted

    def shared_seed(self):
        """A random seed drawn on rank 0, the same on every rank (one shuffle for all)."""
        return self.host.broadcast_object(
            int(numpy.random.randint(2 ** 31)) if self.is_chief else None)

    # --- state -----------------------------------------------------------------------------
    def broadcast_state(self, model):
        """Rank 0's weights and optimizer state on every rank."""
        optimizer = getattr(model, "optimizer", None)
        parts = [model.get_weights(), [] if optimizer is None else optimizer.get_weights()]
        signature = [[(a.shape, a.dtype.str) for a in part] for part in parts]
        reference = self.host.broadcast_object(signature)
        if reference != signature:
            raise RuntimeError(
                f"gkeras.distribution: rank {self.rank}'s model or optimizer state differs in "
                "structure from rank 0's (every rank must build the same model and compile it "
                "the same way before fit).")
        values = self._broadcast_host(parts[0] + parts[1])
        if not self.is_chief:
            model.set_weights(values[:len(parts[0])])
            if parts[1]:
                optimizer.set_weights(values[len(parts[0]):])

    def broadcast_non_trainable(self, model):
        """Rank 0's non-trainable weights (BatchNormalization's moving statistics, updated by
        each rank from its own shard) on every rank, as PyTorch DDP's buffers."""
        variables = model.non_trainable_weights
        if variables:
            values = self._broadcast_host([v.numpy() for v in variables])
            if not self.is_chief:
                for variable, value in zip(variables, values):
                    variable.assign(value)

    def _broadcast_host(self, arrays):
        """Rank 0's ``arrays`` (host arrays, the same shapes and dtypes on every rank): one
        message per dtype."""
        out = list(arrays)
        by_dtype = {}
        for i, a in enumerate(arrays):
            by_dtype.setdefault(a.dtype.str, []).append(i)
        for indices in by_dtype.values():
            flat = numpy.concatenate([numpy.ascontiguousarray(arrays[i]).reshape(-1)
                                      for i in indices])
            self.host.broadcast(flat, what="the broadcast of rank 0's weights")
            offset = 0
            for i in indices:
                size = arrays[i].size
                out[i] = flat[offset:offset + size].reshape(arrays[i].shape)
                offset += size
        return out

    def gradient_buckets(self, variables):
        return GradientBuckets(variables, self._device, self.bucket_bytes)

    # --- logs ---------------------------------------------------------------------------
    def reduced_logs(self, trackers):
        """``{name: value}`` of ``trackers`` (running means and metrics, whose states are
        sums) computed from their states summed across ranks, in one allreduce on the device
        (the running means' totals and sample counts are device arrays; 0 before a rank's
        first update)."""
        from ..models.compiling import _RunningMean, _value
        xp = _backend().xp
        states = [[0.0 if tracker.total is None else tracker.total,
                   0.0 if tracker.count is None else tracker.count]
                  if isinstance(tracker, _RunningMean) else
                  [v.value for v in tracker.variables] for _, tracker in trackers]
        flat = [xp.asarray(_value(s), dtype=xp.float64).reshape(-1)
                for state in states for s in state]
        if not flat:
            return {}
        total = self._device.allreduce(xp.concatenate(flat), "the sum of the metrics")
        logs, offset = {}, 0
        for (name, tracker), state in zip(trackers, states):
            summed = []
            for s in state:
                size = int(numpy.prod(numpy.shape(_value(s))))
                summed.append(total[offset:offset + size])
                offset += size
            if isinstance(tracker, _RunningMean):
                mean = summed[0][0] / xp.maximum(summed[1][0], 1)
                dtype = getattr(_value(tracker.total), "dtype", None)
                logs[name] = mean if dtype is None else mean.astype(dtype)
            else:
                logs[name] = _value(_metric_result(tracker, summed))
        return logs

    def any(self, flag):
        return self.host.any(flag)

    def gather_rows(self, array):
        return self.host.allgather_rows(array, "the gather of the predictions")

    # --- callbacks -------------------------------------------------------------------------
    def rank_callbacks(self, callbacks):
        """The callbacks this rank runs: all on rank 0; elsewhere not those that write
        (checkpoints, CSV, TensorBoard, remote monitors) or print."""
        from .. import callbacks as callbacks_module
        if self.is_chief or not callbacks:
            return callbacks
        chief_only = tuple(getattr(callbacks_module, name) for name in _CHIEF_ONLY
                           if hasattr(callbacks_module, name))
        return [c for c in callbacks if not isinstance(c, chief_only)]


_CHIEF_ONLY = ("ModelCheckpoint", "CSVLogger", "TensorBoard", "RemoteMonitor",
               "ProgbarLogger", "BaseLogger")


def _metric_result(metric, summed):
    """``metric``'s result from the summed state ``summed`` (its own state is left as is)."""
    saved = [v.value for v in metric.variables]
    try:
        for variable, value in zip(metric.variables, summed):
            variable.value = value.reshape(variable.shape).astype(variable.dtype)
        return metric.result()
    finally:
        for variable, value in zip(metric.variables, saved):
            variable.value = value


def _device_list(devices, num_processes):
    if devices is None:
        return None
    devices = list(devices)
    if len(devices) != num_processes:
        raise ValueError(
            f"DataParallel: gkeras runs one process per device; {len(devices)} device(s) "
            f"given ({devices}) for {num_processes} process(es). Start one process per "
            "device (mpiexec -n N), or pass devices=None.")
    indices = []
    for device in devices:
        kind, _, number = str(device).partition(":")
        if kind.lower() not in ("gpu", "cuda", "cpu") or not number.isdigit():
            raise ValueError(f"DataParallel: devices are given as 'gpu:N' or 'cpu:N'; "
                             f"received {device!r}.")
        indices.append(int(number))
    return indices
