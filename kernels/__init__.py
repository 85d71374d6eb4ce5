"""CUDA C++ sources (``*.cu``) for the CuPy backend, and the one loader that compiles them.

Each ``*.cu`` file holds ``template <typename T> __global__ void name(...)`` kernels, written
so that NVRTC (through ``xp.RawModule``) and g++ (the CPU shim of the tests) both compile them.
Their signatures, parsed from the source, are the only description of the kernels: the loader
types the scalar arguments from them, and the tests generate their CPU entry points from them.

    kernel = get(xp, "im2col", "float32")    # compiled once per process (CuPy: per device)
    kernel(cols.size, x, cols, ...)          # enough blocks for cols.size work items

Nothing here imports gkeras layers, models or backends.
"""
import functools
import os
import re

import numpy

SOURCES = ("conv.cu", "pooling.cu", "rnn.cu", "normalization.cu", "optimizers.cu",
           "elementwise.cu")
# The element types every kernel is instantiated for, and their C++ names.
ELEMENT_TYPES = {numpy.dtype("float32"): "float", numpy.dtype("float64"): "double"}
COMPILE_OPTIONS = ("--std=c++17",)
THREADS_PER_BLOCK = 256
# Grid-stride loops let a capped grid cover any n; 2^16 blocks of 256 fill any current GPU.
MAX_BLOCKS = 65536
# Two-stage reductions (normalization.cu): each channel's entries are split into chunks, one
# thread each; at most this many chunks, of at least this many entries, and no more chunks
# than needed for about REDUCTION_THREADS threads in all.
MAX_CHUNKS = 1024
MIN_CHUNK_SIZE = 32
REDUCTION_THREADS = 65536

_DIRECTORY = os.path.dirname(os.path.abspath(__file__))
_PRELUDE = "common.cuh"
_KERNEL = re.compile(r"template\s*<\s*typename\s+T\s*>\s*__global__\s+void\s+(\w+)\s*\(([^)]*)\)")
_PARAMETER = re.compile(r"(const\s+)?(T|int|long long|bool)\s*(\*)?\s*(\w+)")
# C++ types of scalar and pointer parameters other than T, as NumPy dtypes
_FIXED_TYPES = {"int": numpy.dtype("int32"), "long long": numpy.dtype("int64"),
                "bool": numpy.dtype("bool")}


class Parameter:
    """One kernel parameter: ``name``, C++ ``type`` ('T', 'int', 'long long', 'bool'),
    ``pointer``."""

    __slots__ = ("name", "type", "pointer", "const")

    def __init__(self, name, type_, pointer, const):
        self.name, self.type, self.pointer, self.const = name, type_, pointer, const

    def dtype(self, element_dtype):
        """The NumPy dtype of this argument (of its elements, for a pointer)."""
        return numpy.dtype(element_dtype) if self.type == "T" else _FIXED_TYPES[self.type]

    def ctype(self, element_dtype):
        """The C++ type of this parameter in the instance for ``element_dtype``."""
        base = ELEMENT_TYPES[numpy.dtype(element_dtype)] if self.type == "T" else self.type
        return ("const " if self.const else "") + base + ("*" if self.pointer else "")


@functools.cache
def source(filename):
    """The text compiled for ``filename``: the shared prelude, then the file itself."""
    with open(os.path.join(_DIRECTORY, _PRELUDE)) as f:
        prelude = f.read()
    with open(os.path.join(_DIRECTORY, filename)) as f:
        body = f.read()
    return f'{prelude}\n#line 1 "{filename}"\n{body}'


@functools.cache
def signatures(code):
    """{kernel name: tuple of Parameters} of every ``__global__`` template in ``code``."""
    found = {}
    for name, parameter_list in _KERNEL.findall(code):
        parameters = []
        for text in parameter_list.split(","):
            match = _PARAMETER.fullmatch(" ".join(text.split()))
            if match is None:
                raise ValueError(f"kernel {name}: parameter {text.strip()!r} is not one of "
                                 "'[const] T|int|long long|bool [*] name'")
            const, type_, star, parameter = match.groups()
            parameters.append(Parameter(parameter, type_, bool(star), bool(const)))
        found[name] = tuple(parameters)
    if len(found) != code.count("__global__"):
        raise ValueError("every __global__ kernel must be a 'template <typename T>' function "
                         f"with a parameter list; parsed only {sorted(found)}")
    return found


def name_expression(name, dtype):
    """The C++ name of a kernel's instance, e.g. ``im2col<float>``."""
    return f"{name}<{ELEMENT_TYPES[numpy.dtype(dtype)]}>"


def name_expressions(filename):
    """Every kernel instance of ``filename``, as passed to ``RawModule(name_expressions=)``."""
    return [name_expression(name, dtype)
            for name in signatures(source(filename)) for dtype in ELEMENT_TYPES]


@functools.cache
def file_of(name):
    """The source file that defines kernel ``name``."""
    for filename in SOURCES:
        if name in signatures(source(filename)):
            return filename
    raise KeyError(f"no kernel named {name!r} in {', '.join(SOURCES)}")


def has_kernels_for(dtype):
    """Whether the kernels are instantiated for arrays of ``dtype``."""
    return numpy.dtype(dtype) in ELEMENT_TYPES


def blocks_for(n, threads=THREADS_PER_BLOCK, max_blocks=MAX_BLOCKS):
    """Blocks of ``threads`` threads for ``n`` work items: one item per thread, up to the cap."""
    return max(1, min(-(-n // threads), max_blocks))


def reduction_chunks(count, channels):
    """How many chunks each of ``channels`` reductions over ``count`` entries is split into
    (at least 1): the first stage runs ``channels * chunks`` threads, the second ``channels``
    threads that each fold ``chunks`` partial results. Plain ints: nothing read from a device."""
    return max(1, min(MAX_CHUNKS, -(-count // MIN_CHUNK_SIZE),
                      -(-REDUCTION_THREADS // max(channels, 1))))


class Kernel:
    """One compiled kernel instance. ``kernel(n, *args)`` launches it for ``n`` work items.

    Arrays must be C-contiguous and of the parameter's dtype; scalars are converted to the
    parameter's type (``numpy.int64`` for ``long long``...), as a launch copies them bytewise.
    """

    def __init__(self, function, name, dtype, parameters):
        self.function = function
        self.name = name
        self.dtype = numpy.dtype(dtype)
        self.parameters = parameters

    def __call__(self, n, *args):
        if n == 0:
            return  # an empty grid is an invalid launch
        self.function((blocks_for(n),), (THREADS_PER_BLOCK,), self.arguments(args))

    def arguments(self, args):
        """``args`` checked against the signature, scalars typed."""
        if len(args) != len(self.parameters):
            raise TypeError(f"kernel {self.name} takes {len(self.parameters)} arguments "
                            f"({', '.join(p.name for p in self.parameters)}), got {len(args)}")
        typed = []
        for parameter, value in zip(self.parameters, args):
            dtype = parameter.dtype(self.dtype)
            if parameter.pointer:
                if value.dtype != dtype or not value.flags.c_contiguous:
                    raise TypeError(
                        f"kernel {self.name}<{self.dtype}>: argument {parameter.name} must be a "
                        f"C-contiguous {dtype} array, got {value.dtype} "
                        f"(contiguous: {value.flags.c_contiguous})")
                typed.append(value)
            else:
                typed.append(dtype.type(value))
        return tuple(typed)


# Per array module (CuPy is one per process; tests make fake ones): kept for the process.
_modules = {}  # xp -> {filename: xp.RawModule}
_kernels = {}  # xp -> {(name, dtype): Kernel}


def get(xp, name, dtype):
    """Kernel ``name`` for ``dtype`` elements, compiled by ``xp.RawModule`` (memoised per xp).

    The module of its source file is compiled once per process; CuPy then loads it once per
    device and keeps the binary in its disk cache (``~/.cupy/kernel_cache``).
    """
    dtype = numpy.dtype(dtype)
    kernels = _kernels.setdefault(xp, {})
    kernel = kernels.get((name, dtype))
    if kernel is None:
        if not has_kernels_for(dtype):
            raise TypeError(f"no {dtype} instance of kernel {name}; kernels exist for "
                            f"{', '.join(map(str, ELEMENT_TYPES))}")
        filename = file_of(name)
        modules = _modules.setdefault(xp, {})
        module = modules.get(filename)
        if module is None:
            module = modules[filename] = xp.RawModule(
                code=source(filename), options=COMPILE_OPTIONS,
                name_expressions=name_expressions(filename))
        function = module.get_function(name_expression(name, dtype))
        kernel = kernels[(name, dtype)] = Kernel(
            function, name, dtype, signatures(source(filename))[name])
    return kernel


def window_geometry(x_shape, kernel_size, strides, dilation, padding, channels_last):
    """``(oh, ow)`` and the geometry arguments every kernel takes after ``total``
    (``channels_last, c, h, w, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl``), for an input of
    ``x_shape`` and the window of docs/backend_primitives.md (plain ints, no device reads)."""
    if channels_last:
        _, h, w, c = x_shape
    else:
        _, c, h, w = x_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, strides, dilation
    (pt, pb), (pl, pr) = padding
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    return (oh, ow), (int(channels_last), c, h, w, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl)
