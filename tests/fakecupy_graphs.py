"""CUDA graphs on the fake device (tests/fakecupy.py): stream capture's bookkeeping, the
captured graph, replay entries, and CuPy's memory pool stand-ins. The rules it emulates are
in fakecupy's module docstring."""
import numpy


class CUDARuntimeError(RuntimeError):
    """``cupy.cuda.runtime.CUDARuntimeError``."""


class _Capture:
    """One stream capture: the tape of replayable operations and the journal of in-place
    writes to undo at its end."""

    def __init__(self, stream):
        self.stream = stream
        self.tape = []
        self.journal = []
        self.invalidated = None

    def save(self, array):
        if isinstance(array, numpy.ndarray):
            self.journal.append((array, array.copy()))

    def save_generator(self, generator):
        self.journal.append((generator, generator.bit_generator.state))

    def undo(self):
        for target, saved in reversed(self.journal):
            if isinstance(target, numpy.ndarray):
                target[...] = saved
            else:
                target.bit_generator.state = saved


class _Graph:
    """A captured graph: ``launch()`` replays its tape (see the module docstring)."""

    def __init__(self, device, tape):
        self._device = device
        self._tape = tape

    def launch(self, stream=None):
        if self._device._capture is not None:
            raise CUDARuntimeError("FakeCupy: launching a graph inside a capture is not "
                                   "emulated")
        self._device.graph_launches += 1
        for operation in self._tape:
            operation()


def _replay_into(result, compute):
    """A tape entry: ``compute()`` again, its value written into the captured ``result``."""
    def replay():
        value = compute()
        if isinstance(result, numpy.ndarray) and isinstance(value, (numpy.ndarray,
                                                                    numpy.generic)):
            if value is not result:
                numpy.copyto(result, value, casting="unsafe")
        elif isinstance(result, tuple) and isinstance(value, tuple):
            for r, v in zip(result, value):
                if isinstance(r, numpy.ndarray) and v is not r:
                    numpy.copyto(r, v, casting="unsafe")
    return replay


# --- memory pools: CuPy's ``cuda.MemoryPool`` and ``cuda.using_allocator`` ---------------------
# (the fake allocates with NumPy; a pool only counts what it was asked for)

class _MemoryPool:
    def __init__(self):
        self.allocations = 0

    def malloc(self, size):
        self.allocations += 1

    def free_all_blocks(self):
        pass


class _UsingAllocator:
    def __init__(self, allocator=None):
        self.allocator = allocator

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _using_allocator(allocator=None):
    return _UsingAllocator(allocator)
