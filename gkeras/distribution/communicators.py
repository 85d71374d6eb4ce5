"""Collectives between the processes of one data-parallel job, over MPI (``mpi4py``).

``MPICommunicator`` moves host (NumPy) arrays and small Python objects. Device arrays go
through the backend's own communicator (NCCL on the CuPy backend, see
``backends/cupy_collectives.py``), which ``MPICommunicator`` helps set up. Every wait has a
deadline, so a rank whose peer died or hangs stops with an error naming the collective
instead of blocking forever, and an uncaught exception on any rank aborts the whole job.
"""
import os
import sys
import time
import traceback

import numpy

DEFAULT_TIMEOUT = 600.0  # seconds a rank waits in one collective before giving up


def launched_ranks():
    """The number of processes the launcher (mpiexec, srun) says this job has, from its
    environment; 1 when none of their variables is set."""
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS",
                 "PMIX_SIZE"):
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return 1


def import_mpi():
    """``mpi4py.MPI``, or an error saying how to get it when the job was launched with more
    than one process (one process runs without MPI)."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(
            f"gkeras.distribution: this job was launched with {launched_ranks()} processes, "
            f"but mpi4py cannot be imported ({e}). Install it with `pip install gkeras[mpi]` "
            "(mpi4py and the mpich wheel, which provides mpiexec).") from None
    return MPI


class MPICommunicator:
    """All processes of ``comm`` (default: MPI's world): host arrays and objects."""

    def __init__(self, comm=None, timeout=None):
        MPI = import_mpi()
        self._MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        # ranks sharing this machine: the local rank picks the GPU
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.local_rank, self.local_size = local.Get_rank(), local.Get_size()
        self.timeout = float(os.environ.get("GKERAS_COLLECTIVE_TIMEOUT", DEFAULT_TIMEOUT)
                             if timeout is None else timeout)

    # --- arrays (in place, one contiguous buffer each) ------------------------------------
    def allreduce_start(self, array):
        """Start summing ``array`` across ranks, in place; ``wait`` on the result."""
        return self.comm.Iallreduce(self._MPI.IN_PLACE, array, op=self._MPI.SUM)

    def progress(self, requests):
        """Let MPI move started sums along: MPICH advances a collective only inside MPI
        calls, so the reverse pass polls between gradients to overlap them."""
        if requests:
            self._MPI.Request.Testall(requests)

    def wait(self, requests, what="allreduce"):
        """Wait for ``requests``, polling, with this communicator's deadline."""
        if not requests:
            return
        test = self._MPI.Request.Testall
        if test(requests):
            return
        # MPICH moves a collective along only inside MPI calls: keep calling (a sleep between
        # calls stalls a large sum), yielding the core to any other runnable thread
        deadline = time.monotonic() + self.timeout
        spins = 0
        while not test(requests):
            spins += 1
            if spins % 1024 == 0:
                os.sched_yield()
                if time.monotonic() > deadline:
                    raise CollectiveTimeout(what, self.rank, self.size, self.timeout)

    def allreduce(self, array, what="allreduce"):
        self.wait([self.allreduce_start(array)], what)
        return array

    def broadcast(self, array, root=0, what="broadcast"):
        self.wait([self.comm.Ibcast(array, root=root)], what)
        return array

    def allgather_rows(self, array, what="allgather"):
        """Every rank's ``array`` (same trailing shape, any number of rows), joined in rank
        order, on every rank."""
        counts = numpy.zeros(self.size, dtype=numpy.int64)
        counts[self.rank] = array.shape[0]
        self.allreduce(counts, what)
        row = int(numpy.prod(array.shape[1:], dtype=numpy.int64))
        out = numpy.empty((int(counts.sum()),) + array.shape[1:], dtype=array.dtype)
        request = self.comm.Iallgatherv(numpy.ascontiguousarray(array),
                                        [out, (counts * row).tolist()])
        self.wait([request], what)
        return out

    # --- small host values ----------------------------------------------------------------
    def broadcast_object(self, value, root=0):
        """Rank ``root``'s ``value`` (a small picklable object: seeds, ids), on every rank."""
        return self.comm.bcast(value, root=root)

    def any(self, flag, what="a stop decision"):
        """True on every rank when ``flag`` is true on any."""
        votes = numpy.array([1 if flag else 0], dtype=numpy.int64)
        return bool(self.allreduce(votes, what)[0])

    def barrier(self):
        self.wait([self.comm.Ibarrier()], "barrier")

    def abort(self, code=1):
        self.comm.Abort(code)


class CollectiveTimeout(RuntimeError):
    def __init__(self, what, rank, size, timeout):
        super().__init__(
            f"gkeras.distribution: rank {rank} of {size} waited {timeout:g} s in {what} and "
            "its peers never joined: another rank has failed or hangs. Aborting the job "
            "(the deadline is GKERAS_COLLECTIVE_TIMEOUT, in seconds).")


def abort_on_uncaught_exception(communicator):
    """An uncaught exception on this rank prints its traceback, then aborts every rank (the
    others would otherwise wait for it in their next collective)."""
    def hook(kind, value, tb):
        traceback.print_exception(kind, value, tb)
        sys.stderr.write(f"gkeras.distribution: rank {communicator.rank} of "
                         f"{communicator.size} failed; aborting all ranks.\n")
        sys.stderr.flush()
        communicator.abort(1)

    sys.excepthook = hook
