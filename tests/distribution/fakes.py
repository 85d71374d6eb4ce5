"""In-process stand-ins for the data-parallel tests: a host communicator of any rank and size
whose peers hold what this rank holds, and ``cupy.cuda.nccl`` for the fake device."""
import ctypes

import numpy


class MirrorCommunicator:
    """Rank ``rank`` of ``size``, every peer holding the same arrays as this rank (a sum is
    ``size`` times the value), or, given ``peer``, one peer holding ``peer`` (a sum adds it);
    launches are recorded. The ranks share this machine only with ``same_machine`` (else
    selecting the device would also split this test process's cores)."""

    def __init__(self, rank=0, size=2, peer=None, same_machine=False):
        self.rank, self.size, self.peer = rank, size, peer
        self.local_rank, self.local_size = (rank, size) if same_machine else (0, 1)
        self.started = []  # a copy of each array as its sum started
        self.waits = []

    def allreduce_start(self, array):
        self.started.append(numpy.array(array, copy=True))
        if self.peer is None:
            array *= self.size
        else:
            array += self.peer
        return len(self.started) - 1

    def progress(self, handles):
        pass

    def wait(self, handles, what="allreduce"):
        self.waits.append((list(handles), what))

    def allreduce(self, array, what="allreduce"):
        self.wait([self.allreduce_start(array)], what)
        return array

    def broadcast(self, array, root=0, what="broadcast"):
        return array

    def broadcast_object(self, value, root=0):
        return value

    def any(self, flag, what=""):
        return bool(flag)

    def abort(self, code=1):
        raise SystemExit(code)


_TYPES = {0: numpy.float16, 1: numpy.float32, 2: numpy.float64, 3: numpy.int32, 4: numpy.int64}


class FakeNccl:
    """``cupy.cuda.nccl`` over the fake device's NumPy buffers: a world of ``size`` ranks that
    all hold the same values (a sum is ``size`` times the buffer); calls are recorded."""

    NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64, NCCL_INT32, NCCL_INT64 = range(5)
    NCCL_SUM = 0

    def __init__(self):
        self.calls = []

    def get_unique_id(self):
        return (7,) * 128

    def NcclCommunicator(self, size, unique_id, rank):
        nccl = self

        class Communicator:
            def allReduce(self, send, receive, count, dtype, op, stream):
                nccl.calls.append(("allReduce", send, receive, count, dtype, op, stream))
                _buffer(receive, count, dtype)[...] = _buffer(send, count, dtype) * size

            def bcast(self, buffer, count, dtype, root, stream):
                nccl.calls.append(("bcast", buffer, count, dtype, root, stream))

        return Communicator()


def _buffer(address, count, dtype):
    kind = numpy.dtype(_TYPES[dtype])
    raw = (ctypes.c_char * (count * kind.itemsize)).from_address(address)
    return numpy.frombuffer(raw, dtype=kind, count=count)
