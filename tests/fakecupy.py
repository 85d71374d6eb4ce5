"""A CPU stand-in for CuPy: NumPy computes, but arrays live on a pretend device.

``FakeCupy()`` is passed as ``CupyBackend(xp=FakeCupy())``. Its arrays are ``DeviceArray``s,
a type distinct from ``numpy.ndarray``, and it behaves as CuPy does where a GPU program
can go wrong on a CPU-only test machine:

* reading a value on the host (``asnumpy``, ``.get()``, ``float``/``int``/``bool``/
  ``index``, ``.item()``, ``.tolist()``, printing, boolean-mask indexing) is a
  device-to-host synchronisation and is counted in ``counts['to_host']``;
* functions whose result size CuPy must read from the device, or that return a host value
  (``nonzero``, ``flatnonzero``, ``argwhere``, ``unique``, ``compress``, ``extract``,
  ``bincount``, ``histogram``, one-argument ``where``, ``repeat`` with device repeats,
  ``allclose``, ``array_equal``, ``array_equiv``) are counted in ``counts['to_host']`` too;
* making a device array from host data (``asarray``/``array`` of a NumPy array, list or
  scalar) and every NumPy array or list handed to a device function in any other argument
  position, used as an index or assigned into a device array (CuPy copies each to the
  device) is counted in ``counts['to_device']``;
* ``cuda.get_current_stream().synchronize()`` and ``Event.synchronize()`` are counted in
  ``counts['synchronize']``; ``cuda.Stream(non_blocking=...)`` is a context manager making it
  the thread's current stream, ``record()`` gives an Event, ``wait_event`` is logged (no sync);
  ``ndarray.set(host, stream)`` is a counted copy, its stream logged in ``copy_streams``;
* ``take`` wraps out-of-range indices, as CuPy's does (NumPy would raise);
* mixing a ``numpy.ndarray`` into device arithmetic (ufuncs), as the operand of a device
  function or into a data-combining function (``concatenate``, ``where``...) raises
  ``TypeError: Unsupported type``, and ``numpy.asarray(device_array)`` raises, as CuPy
  refuses implicit conversions; NumPy/Python scalars are accepted.

Everything else is delegated to NumPy, results wrapped as ``DeviceArray``s (reductions give
0-d arrays, as CuPy's do). ``sites[kind]`` lists where each counted transfer came from.

CUDA graphs (``Stream.begin_capture``/``end_capture``, ``Graph.launch``; their bookkeeping in
fakecupy_graphs.py), as CUDA captures:

* capture needs a stream other than the null stream, one capture at a time; every device
  operation made meanwhile must be on the capturing stream (the thread's current stream),
  else ``CUDARuntimeError`` (cudaErrorStreamCaptureImplicit);
* a host read, a synchronisation or a host-to-device copy during capture raises
  ``cuda.runtime.CUDARuntimeError`` and invalidates the capture: ``end_capture`` then raises
  too (a real copy from host memory would be refused or replayed from stale memory);
* captured operations do not take effect: each is recorded on the graph's tape, and every
  array written in place (``out=``, ``copyto``, item assignment, kernel arguments) and every
  generator state is restored at ``end_capture``; arrays made during capture keep the values
  computed for them (CUDA would leave them unwritten until a launch);
* ``Graph.launch()`` replays the tape on the same memory: every result is written into the
  array it was captured into, and every Python number an operation received (a kernel's
  scalar argument, the operand of ``x * 0.5``) is the one it received at capture time.
  Generators draw new values at each replay (CuPy's ``Generator`` keeps its state on the
  device). ``graph_launches`` counts launches, ``captures`` completed captures.
"""
import os
import sys
import threading
import types

import numpy
from numpy.lib.mixins import NDArrayOperatorsMixin

from fakecupy_graphs import (CUDARuntimeError, _Capture, _Graph, _MemoryPool,
                             _replay_into, _using_allocator)

_CREATION = ("array", "asarray", "asanyarray", "ascontiguousarray")
_COMBINING = {"where", "concatenate", "stack", "vstack", "hstack", "dot", "tensordot", "einsum",
              "clip", "take_along_axis", "put_along_axis", "inner", "outer", "copyto", "select"}
_COMPARISONS = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal"}
# CuPy must read the device to size these results (or returns a host value): a sync
_SYNCHRONISING = {"nonzero", "flatnonzero", "argwhere", "unique", "compress", "extract",
                  "bincount", "histogram", "allclose", "array_equal", "array_equiv"}
# functions and ndarray methods that write into their first argument (or their array)
_IN_PLACE = {"copyto", "put", "place", "put_along_axis", "fill_diagonal", "fill", "sort",
             "partition", "itemset", "setfield"}
_THIS_FILE = os.path.abspath(__file__)


class DeviceArray(NDArrayOperatorsMixin):
    """A NumPy array that only the fake device may read; see the module docstring."""

    __slots__ = ("_host", "_device")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, host, device):
        self._host = host
        self._device = device

    # --- metadata: no transfer ------------------------------------------------------------
    @property
    def shape(self):
        return self._host.shape

    @property
    def dtype(self):
        return self._host.dtype

    @property
    def ndim(self):
        return self._host.ndim

    @property
    def size(self):
        return self._host.size

    def __len__(self):
        return len(self._host)

    @property
    def data(self):
        """CuPy's ``MemoryPointer``: ``.ptr``, the address (of the NumPy buffer here)."""
        return types.SimpleNamespace(ptr=self._host.ctypes.data)

    def __iter__(self):
        return (self._device._wrap(row) for row in self._host)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_host", "_device"):
            raise AttributeError(name)
        attribute = getattr(self._host, name)
        if callable(attribute):
            return self._device._function(attribute, f"ndarray.{name}")
        return self._device._wrap(attribute)

    def set(self, arr, stream=None):
        """A host-to-device copy into this array (CuPy's ``ndarray.set``), counted; the
        stream it was queued on is logged in ``copy_streams``."""
        if not isinstance(arr, numpy.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        if arr.shape != self._host.shape or arr.dtype != self._host.dtype:
            raise ValueError(f"Shape/dtype mismatch: {arr.shape} {arr.dtype} into "
                             f"{self._host.shape} {self._host.dtype}")
        device = self._device
        device._count("to_device")
        device.copy_streams.append(stream or device.cuda.get_current_stream())
        self._host[...] = arr

    # --- host reads: counted syncs ----------------------------------------------------------
    def get(self, stream=None):
        self._device._count("to_host")
        return self._host.copy()

    def item(self, *args):
        self._device._count("to_host")
        return self._host.item(*args)

    def tolist(self):
        self._device._count("to_host")
        return self._host.tolist()

    def __float__(self):
        self._device._count("to_host")
        return float(self._host)

    def __int__(self):
        self._device._count("to_host")
        return int(self._host)

    def __index__(self):
        self._device._count("to_host")
        return self._host.__index__()

    def __bool__(self):
        self._device._count("to_host")
        return bool(self._host)

    def __complex__(self):
        self._device._count("to_host")
        return complex(self._host)

    def __format__(self, spec):
        self._device._count("to_host")
        return format(self._host, spec)

    def __repr__(self):
        self._device._count("to_host")
        return "DeviceArray(" + repr(self._host)[len("array("):]

    def __str__(self):
        self._device._count("to_host")
        return str(self._host)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use "
                        "`.get()` to construct a NumPy array explicitly.")

    # --- computation ------------------------------------------------------------------------
    def __getitem__(self, index):
        device = self._device
        index = device._unwrap_index(index)
        if _has_bool_mask(index):
            device._count("to_host")  # CuPy reads the number of True entries
        result = device._wrap(self._host[index])
        if device._capture is not None and isinstance(result, DeviceArray):
            host = self._host
            device._captured(_replay_into(result._host, lambda: host[index]))
        return result

    def __setitem__(self, index, value):
        device = self._device
        index = device._unwrap_index(index)
        value = device._unwrap(value, "ndarray.__setitem__", "count")
        host = self._host
        device._captured(lambda: host.__setitem__(index, value), [host])  # journals first
        host[index] = value

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        for x in inputs:
            if getattr(type(x), "__array_ufunc__", True) is None:
                return NotImplemented  # e.g. gkeras Tensors: let their reflected operator run
        return self._device._call_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        target = self._device
        for part in func.__module__.split(".")[1:]:
            if part.startswith("_"):
                break  # numpy._core.* functions are exported from numpy itself
            target = getattr(target, part)
        return getattr(target, func.__name__)(*args, **kwargs)

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __copy__(self):
        host = self._host
        copy = host.copy()
        self._device._captured(_replay_into(copy, lambda: host))
        return self._device._wrap(copy)

    def __reduce__(self):
        raise TypeError("DeviceArray cannot be pickled; read it with .get() first.")


def _holds_device_array(value):
    if isinstance(value, (list, tuple)):
        return any(_holds_device_array(v) for v in value)
    return isinstance(value, DeviceArray)


def _has_bool_mask(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, numpy.ndarray) and p.dtype == bool for p in parts)


class _Ufunc:
    """A NumPy ufunc whose calls and methods (``at``, ``reduce``...) run on the device."""

    def __init__(self, ufunc, device):
        self._ufunc = ufunc
        self._device = device
        self.__name__ = ufunc.__name__

    def __call__(self, *inputs, **kwargs):
        return self._device._call_ufunc(self._ufunc, "__call__", inputs, kwargs)

    def __getattr__(self, name):
        attribute = getattr(self._ufunc, name)
        if name in ("at", "reduce", "accumulate", "outer", "reduceat"):
            return lambda *inputs, **kwargs: self._device._call_ufunc(
                self._ufunc, name, inputs, kwargs)
        return attribute


class _Namespace:
    """A NumPy submodule (``linalg``...) whose functions run on the device."""

    def __init__(self, module, device):
        self._module = module
        self._device = device

    def __getattr__(self, name):
        return self._device._adapt(getattr(self._module, name), f"{self._module.__name__}.{name}")


class _Generator:
    """``cupy.random.default_rng``'s stand-in: NumPy's Generator with device outputs."""

    def __init__(self, generator, device):
        self._generator = generator
        self._device = device

    def __getattr__(self, name):
        return self._device._function(getattr(self._generator, name), f"Generator.{name}")


class _Stream:
    """``cuda.Stream``: ``with stream:`` makes it the thread's current stream (as CuPy's);
    ``record()`` gives an ``_Event``; ``wait_event`` is logged in ``waited`` (no sync)."""

    def __init__(self, device, non_blocking=False, null=False):
        self._device = device
        self.non_blocking = non_blocking
        self.null = null
        self.waited = []
        self.recorded = []

    @property
    def ptr(self):
        return 0 if self.null else id(self)

    def synchronize(self):
        self._device._count("synchronize")

    def begin_capture(self, mode=None):
        device = self._device
        if self.null:
            raise RuntimeError("cannot capture on the default (legacy) stream")
        if device._capture is not None:
            raise CUDARuntimeError("cudaErrorIllegalState: a capture is already in progress")
        device._capture = _Capture(self)

    def end_capture(self):
        device = self._device
        capture = device._capture
        if capture is None or capture.stream is not self:
            raise CUDARuntimeError("cudaErrorIllegalState: this stream is not capturing")
        device._capture = None
        capture.undo()
        if capture.invalidated is not None:
            raise CUDARuntimeError("cudaErrorStreamCaptureInvalidated: the capture was "
                                   f"invalidated by {capture.invalidated}")
        device.captures += 1
        return _Graph(device, capture.tape)

    def is_capturing(self):
        capture = self._device._capture
        return capture is not None and capture.stream is self

    def record(self, event=None):
        event = _Event(self._device, self)
        self.recorded.append(event)
        return event

    def wait_event(self, event):
        if not isinstance(event, _Event):
            raise TypeError(f"Stream.wait_event expects an Event, received {type(event)}")
        self.waited.append(event)

    def __enter__(self):
        self._device._stream_stack().append(self)
        return self

    def __exit__(self, *exc):
        self._device._stream_stack().pop()


def _hosts(wrapped):
    """The NumPy arrays behind a wrapped result (a DeviceArray or a tuple of them)."""
    if isinstance(wrapped, DeviceArray):
        return wrapped._host
    if isinstance(wrapped, tuple):
        return tuple(_hosts(w) for w in wrapped)
    return wrapped


class _Event:
    """``cuda.Event`` recorded on ``stream``; ``synchronize()`` is a counted host sync."""

    def __init__(self, device, stream):
        self._device = device
        self.stream = stream

    def synchronize(self):
        self._device._count("synchronize")

    def query(self):
        return True


class FakeCupy(types.ModuleType):
    """The fake ``cupy`` module. ``counts``/``sites`` record transfers; ``reset()`` clears."""

    def __init__(self, device_count=1, device_count_error=None):
        super().__init__("cupy")
        self.ndarray = DeviceArray
        self.counts = {}
        self.sites = {}
        self.reset()
        self.null_stream = _Stream(self, null=True)
        self._thread_streams = threading.local()
        self._capture = None  # the _Capture in progress
        self.graph_launches = self.captures = 0

        def get_device_count():  # as CuPy's: raises when the driver is missing or too old
            if device_count_error is not None:
                raise device_count_error
            return device_count
        self.cuda = types.SimpleNamespace(
            get_current_stream=lambda: (self._stream_stack() or [self.null_stream])[-1],
            Stream=lambda null=False, non_blocking=False, ptds=False: _Stream(
                self, non_blocking=non_blocking, null=null),
            runtime=types.SimpleNamespace(getDeviceCount=get_device_count,
                                          CUDARuntimeError=CUDARuntimeError),
            MemoryPool=_MemoryPool, using_allocator=_using_allocator)
        self.random = types.SimpleNamespace(
            default_rng=lambda seed=None: _Generator(numpy.random.default_rng(seed), self))

    def reset(self):
        for kind in ("to_host", "to_device", "synchronize"):
            self.counts[kind] = 0
            self.sites[kind] = []
        self.copy_streams = []  # the stream of each ``ndarray.set`` host-to-device copy

    def _stream_stack(self):
        stack = getattr(self._thread_streams, "stack", None)
        if stack is None:
            stack = self._thread_streams.stack = []
        return stack

    # --- host <-> device ------------------------------------------------------------------
    def asnumpy(self, a, stream=None):
        if isinstance(a, DeviceArray):
            return a.get()
        return numpy.asarray(a)

    def _create(self, value, dtype=None, copy=True, **kwargs):
        if isinstance(value, DeviceArray):
            source = value._host
            host = source.astype(dtype or value.dtype, copy=copy)
            if host is not source:
                self._captured(_replay_into(host, lambda: source.astype(host.dtype)))
            return value if host is source else self._wrap(host)
        if _holds_device_array(value):
            raise TypeError("FakeCupy: cannot build an array from a list holding device arrays; "
                            "use stack/concatenate.")
        self._count("to_device")
        return self._wrap(numpy.array(value, dtype=dtype, copy=True, **kwargs))

    def array(self, obj, dtype=None, copy=True, **kwargs):
        return self._create(obj, dtype, copy, **kwargs)

    def asarray(self, a, dtype=None, **kwargs):
        return self._create(a, dtype, False, **kwargs)

    asanyarray = asarray

    def ascontiguousarray(self, a, dtype=None):
        array = self.asarray(a, dtype)
        if array._host.flags.c_contiguous:
            return array
        source = array._host
        copy = numpy.ascontiguousarray(source)  # a copy on the device
        self._captured(_replay_into(copy, lambda: source))
        return self._wrap(copy)

    # --- everything else: NumPy on unwrapped arrays -----------------------------------------
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._adapt(getattr(numpy, name), f"cupy.{name}")

    def _adapt(self, attribute, name):
        if isinstance(attribute, numpy.ufunc):
            return _Ufunc(attribute, self)
        if isinstance(attribute, types.ModuleType):
            return _Namespace(attribute, self)
        if callable(attribute) and not isinstance(attribute, type):
            return self._function(attribute, name)
        return attribute  # dtypes, constants, classes such as finfo

    def _function(self, fn, name):
        short_name = name.rsplit(".", 1)[-1]
        combines_data = short_name in _COMBINING

        def on_device(*args, **kwargs):
            synchronises = short_name in _SYNCHRONISING or (
                short_name == "where" and len(args) == 1) or (
                short_name == "repeat" and _holds_device_array(args[1:2]))
            # The operand, and every argument of a data-combining function, must be on the
            # device; CuPy copies a host array in any other position (take's indices) to the
            # device, so each one is counted.
            if combines_data:
                args = self._unwrap(args, name)
                kwargs = self._unwrap(kwargs, name)
            else:
                args = self._unwrap(args[:1], name) + self._unwrap(args[1:], name, "count")
                kwargs = self._unwrap(kwargs, name, "count")
            if synchronises:
                self._count("to_host")
            if short_name == "take":
                kwargs.setdefault("mode", "wrap")  # CuPy's take wraps out-of-range indices
            if self._capture is None:
                return self._wrap(fn(*args, **kwargs))
            owner = getattr(fn, "__self__", None)
            writes = [kwargs.get("out")]
            if short_name in _IN_PLACE and args:
                writes.append(owner if name.startswith("ndarray.") else args[0])
            generator = owner if isinstance(owner, numpy.random.Generator) else None
            for array in writes:  # journaled before the call writes them
                self._capture.save(array)
            if generator is not None:
                self._capture.save_generator(generator)
            wrapped = self._wrap(fn(*args, **kwargs))
            if short_name not in ("empty", "empty_like"):
                self._captured(_replay_into(_hosts(wrapped), lambda: fn(*args, **kwargs)))
            return wrapped
        on_device.__name__ = name
        return on_device

    def _call_ufunc(self, ufunc, method, inputs, kwargs):
        name = f"cupy.{ufunc.__name__}.{method}"
        host_inputs = []
        for x in inputs:
            if isinstance(x, numpy.ndarray) and x.ndim == 0 and ufunc.__name__ in _COMPARISONS:
                x = x.item()  # CuPy's workaround for numpy/numpy#12142
            host_inputs.append(self._unwrap(x, name))
        out = kwargs.get("out")
        if out is not None:
            out = out if isinstance(out, tuple) else (out,)
            kwargs = dict(kwargs, out=tuple(self._unwrap(o, name) for o in out))
        if self._capture is not None:
            writes = list(kwargs.get("out", ())) + (host_inputs[:1] if method == "at" else [])
            for array in writes:
                self._capture.save(array)
        result = getattr(ufunc, method)(*host_inputs, **kwargs)
        if self._capture is not None:
            wrapped = self._wrap(result) if out is None else None
            self._captured(_replay_into(
                _hosts(wrapped) if out is None else result,
                lambda: getattr(ufunc, method)(*host_inputs, **kwargs)))
            if out is None:
                return wrapped
        if out is not None:
            return out[0] if len(out) == 1 else out
        return self._wrap(result)

    def _unwrap(self, value, where, host=None):
        """The NumPy array behind ``value``; a host array is refused, or counted when
        ``host == "count"`` (CuPy copies it to the device)."""
        if isinstance(value, DeviceArray):
            if value._device is not self:
                raise ValueError(f"{where}: the array lives on another fake device.")
            return value._host
        if isinstance(value, numpy.ndarray):
            if host == "count":
                self._count("to_device")
                return value
            raise TypeError(f"{where}: Unsupported type {type(value)} (a host NumPy array "
                            "mixed into device computation; CuPy refuses it)")
        if isinstance(value, (list, tuple)):
            return type(value)(self._unwrap(v, where, host) for v in value)
        if isinstance(value, dict):
            return {k: self._unwrap(v, where, host) for k, v in value.items()}
        return value

    def _unwrap_index(self, index):
        parts = index if isinstance(index, tuple) else (index,)
        unwrapped = []
        for part in parts:
            if isinstance(part, list):  # CuPy copies a host index list to the device
                self._count("to_device")
                unwrapped.append(part)
            else:
                unwrapped.append(self._unwrap(part, "ndarray.__getitem__", "count"))
        return tuple(unwrapped) if isinstance(index, tuple) else unwrapped[0]

    def _wrap(self, value):
        if isinstance(value, numpy.ndarray):
            return DeviceArray(value, self)
        if isinstance(value, numpy.generic):
            return DeviceArray(numpy.asarray(value), self)
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            return type(value)(self._wrap(v) for v in value)
        return value

    def _count(self, kind):
        if self._capture is not None:
            what = {"to_host": "a device-to-host read", "to_device": "a host-to-device copy",
                    "synchronize": "a synchronisation"}[kind]
            self._capture.invalidated = f"{what} at {_caller()}"
            raise CUDARuntimeError("cudaErrorStreamCaptureInvalidated: operation not "
                                   f"permitted when stream is capturing ({what} at "
                                   f"{_caller()})")
        self.counts[kind] += 1
        self.sites[kind].append(_caller())

    def _captured(self, replay, writes=(), generator=None):
        """During a capture: journal the arrays ``writes`` (and the generator) an operation
        is about to change, and put ``replay`` on the tape. Returns whether capturing."""
        capture = self._capture
        if capture is None:
            return False
        if self.cuda.get_current_stream() is not capture.stream:
            capture.invalidated = f"work on another stream at {_caller()}"
            raise CUDARuntimeError("cudaErrorStreamCaptureImplicit: operation on another "
                                   f"stream while a stream is capturing ({_caller()})")
        for array in writes:
            capture.save(array)
        if generator is not None:
            capture.save_generator(generator)
        capture.tape.append(replay)
        return True


def _caller():
    """'file:line function' of the innermost frame outside this module."""
    frame = sys._getframe(2)
    while frame is not None and os.path.abspath(frame.f_code.co_filename) == _THIS_FILE:
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno} {frame.f_code.co_name}"


# --- RawModule: CUDA kernels run on the CPU -----------------------------------------------------
# (conv-kernels branch; independent of the rest of this file.) ``RawModule(code=...,
# name_expressions=[...])`` compiles ``code`` with g++ through tests/kernels/shim.py;
# ``get_function(name_expression)`` gives a kernel launched as CuPy's: ``fn(grid, block, args)``.
# As in CuPy, device arrays pass their buffers (no transfer), Python ints and floats go as
# int64 and float64, and NumPy arrays are refused; the shim then requires every argument to have
# exactly the type of its kernel parameter, which a real launch silently assumes.

class _RawModule:
    def __init__(self, device, code, options, name_expressions):
        if code is None or not name_expressions:
            raise TypeError("FakeCupy.RawModule needs code= and name_expressions= (the CPU "
                            "shim runs template kernel instances)")
        self._device = device
        self.options = tuple(options)
        self._module = _kernel_shim().build(code, tuple(name_expressions))

    def get_function(self, name):
        return _RawKernel(self._device, self._module.function(name))


class _RawKernel:
    def __init__(self, device, function):
        self._device = device
        self._function = function

    def __call__(self, grid, block, args, shared_mem=0):
        where = f"RawKernel {self._function.name}"
        host_args = []
        for arg in args:
            if isinstance(arg, numpy.ndarray):
                raise TypeError(f"{where}: Unsupported type {type(arg)}")
            if isinstance(arg, DeviceArray):
                arg = self._device._unwrap(arg, where)
            elif isinstance(arg, bool):
                arg = numpy.bool_(arg)
            elif isinstance(arg, int):
                arg = numpy.int64(arg)
            elif isinstance(arg, float):
                arg = numpy.float64(arg)
            host_args.append(arg)
        device = self._device
        writes = [a for a in host_args if isinstance(a, numpy.ndarray)]
        function = self._function
        device._captured(lambda: function(grid, block, host_args), writes)
        function(grid, block, host_args)


def _raw_module(self, *, code=None, options=(), name_expressions=None, **kwargs):
    return _RawModule(self, code, options, name_expressions)


def _kernel_shim():
    kernel_tests = os.path.join(os.path.dirname(_THIS_FILE), "kernels")
    if kernel_tests not in sys.path:
        sys.path.insert(0, kernel_tests)
    import shim
    return shim


FakeCupy.RawModule = _raw_module
