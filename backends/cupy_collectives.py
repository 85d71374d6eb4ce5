"""Sums and broadcasts of device arrays across processes with NCCL (``cupy.cuda.nccl``).

The collectives run on the communicator's own stream: each waits (on the device) for what
the current stream had queued when it was started, and ``wait`` makes the current stream
wait for them in turn. No host copy, and the host never blocks.
"""

_NCCL_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32",
               "float64": "NCCL_FLOAT64", "int32": "NCCL_INT32", "int64": "NCCL_INT64"}


class NcclCommunicator:
    """Rank ``host.rank`` of ``host.size``; ``host`` (an MPI communicator) shares the NCCL id."""

    def __init__(self, xp, host):
        self.xp = xp
        self.nccl = xp.cuda.nccl
        self.rank, self.size = host.rank, host.size
        unique_id = host.broadcast_object(
            self.nccl.get_unique_id() if host.rank == 0 else None)
        self.comm = self.nccl.NcclCommunicator(host.size, unique_id, host.rank)
        self.stream = xp.cuda.Stream(non_blocking=True)

    def _type(self, array):
        name = _NCCL_TYPES.get(array.dtype.name)
        if name is None:
            raise TypeError(f"NCCL collectives take {sorted(_NCCL_TYPES)} arrays; received "
                            f"{array.dtype.name}.")
        return getattr(self.nccl, name)

    def _after_current(self):
        self.stream.wait_event(self.xp.cuda.get_current_stream().record())

    def allreduce_start(self, array):
        """Start summing the contiguous ``array`` across ranks, in place."""
        self._after_current()
        self.comm.allReduce(array.data.ptr, array.data.ptr, array.size, self._type(array),
                            self.nccl.NCCL_SUM, self.stream.ptr)
        return self.stream.record()

    def progress(self, events):
        """NCCL runs on its stream by itself."""

    def wait(self, events, what="allreduce"):
        current = self.xp.cuda.get_current_stream()
        for event in events:
            current.wait_event(event)

    def allreduce(self, array, what="allreduce"):
        self.wait([self.allreduce_start(array)], what)
        return array

    def broadcast(self, array, root=0, what="broadcast"):
        self._after_current()
        self.comm.bcast(array.data.ptr, array.size, self._type(array), root, self.stream.ptr)
        self.wait([self.stream.record()], what)
        return array
