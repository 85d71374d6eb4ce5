"""Runs gkeras's CUDA kernels on the CPU, so CI proves them without a GPU.

g++ compiles a kernel source (the text ``gkeras.kernels.source`` gives NVRTC) as C++ with
``shim.h`` included first, plus one generated ``extern "C"`` launcher per kernel instance. A
launcher sets ``gridDim``/``blockDim``, then calls the kernel once per thread: block by block
(in order, or in reverse to show that no thread depends on another), thread by thread. The
launchers come from the kernels' own signatures (``gkeras.kernels.signatures``), so the CUDA
source is the one description of every kernel. Libraries are cached per source hash in a
private directory under the temporary one.

    module = build(kernels.source("conv.cu"), kernels.name_expressions("conv.cu"))
    module.function("im2col<float>")((2,), (32,), (x, cols, numpy.int64(cols.size), ...))

Arguments are checked as a GPU launch cannot: arrays must be C-contiguous NumPy arrays of the
parameter's element type, scalars NumPy scalars of exactly the parameter's type.
"""
import ctypes
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import numpy

from gkeras import kernels

SHIM_HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim.h")
CXX_FLAGS = ("-std=c++17", "-O1", "-Wall", "-Werror", "-fPIC", "-shared")
_NAME_EXPRESSION = re.compile(r"(\w+)<(\w+)>")
_CTYPES = {"int": ctypes.c_int, "long long": ctypes.c_longlong, "bool": ctypes.c_bool,
           "float": ctypes.c_float, "double": ctypes.c_double}
_DTYPE_OF_CTYPE = {ctype: dtype for dtype, ctype in kernels.ELEMENT_TYPES.items()}


def compiler():
    """The C++ compiler: ``$CXX`` or g++. Its absence is an error, never a skip: without it
    the kernels would go unproven."""
    path = shutil.which(os.environ.get("CXX", "g++"))
    if path is None:
        raise RuntimeError(
            "g++ was not found (nor $CXX): the CPU proof of gkeras's CUDA kernels "
            "(tests/kernels, and the fake device's RawModule) compiles them with it. "
            "Install g++ (e.g. `apt-get install g++`) or point $CXX at a C++17 compiler.")
    return path


def _split(name_expression):
    match = _NAME_EXPRESSION.fullmatch(name_expression.replace(" ", ""))
    if match is None or match.group(2) not in _DTYPE_OF_CTYPE:
        raise ValueError(f"{name_expression!r} is not a kernel instance such as 'im2col<float>'")
    return match.group(1), _DTYPE_OF_CTYPE[match.group(2)]


def _symbol(name, dtype):
    return f"shim_launch_{name}_{kernels.ELEMENT_TYPES[dtype]}"


def launchers(code, name_expressions):
    """C++ source of the ``extern "C"`` launchers of the given kernel instances of ``code``."""
    signatures = kernels.signatures(code)
    parts = []
    for expression in name_expressions:
        name, dtype = _split(expression)
        parameters = signatures[name]
        declared = ", ".join(f"{p.ctype(dtype)} a{i}" for i, p in enumerate(parameters))
        passed = ", ".join(f"a{i}" for i in range(len(parameters)))
        parts.append(f"""
extern "C" void {_symbol(name, dtype)}(unsigned int blocks, unsigned int threads, int reverse,
                                        {declared}) {{
  gridDim = {{blocks, 1, 1}};
  blockDim = {{threads, 1, 1}};
  for (unsigned int b = 0; b < blocks; ++b) {{
    blockIdx = {{reverse ? blocks - 1 - b : b, 0, 0}};
    for (unsigned int t = 0; t < threads; ++t) {{
      threadIdx = {{reverse ? threads - 1 - t : t, 0, 0}};
      {name}<{kernels.ELEMENT_TYPES[dtype]}>({passed});
    }}
  }}
}}""")
    return "".join(parts)


def build(code, name_expressions):
    """The CPU ``Module`` of ``code`` with launchers for ``name_expressions``; once a process."""
    return _build(code, tuple(name_expressions))


@functools.cache
def _build(code, name_expressions):
    text = code + "\n" + launchers(code, name_expressions)
    cxx = compiler()
    with open(SHIM_HEADER) as f:
        key = "\0".join([text, f.read(), cxx, *CXX_FLAGS])
    directory = _cache_directory()
    library = os.path.join(directory, hashlib.sha256(key.encode()).hexdigest()[:32] + ".so")
    if not os.path.exists(library):
        partial = f"{library}.{os.getpid()}.tmp"
        proc = subprocess.run(
            [cxx, *CXX_FLAGS, "-include", SHIM_HEADER, "-x", "c++", "-", "-o", partial],
            input=text, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"g++ could not compile the kernels for the CPU shim:\n"
                               f"{proc.stderr}")
        os.replace(partial, library)  # atomic: parallel test processes never see half a file
    # PyDLL keeps the GIL during a launch: the thread coordinates are process-wide variables
    return Module(ctypes.PyDLL(library), kernels.signatures(code), name_expressions)


def _cache_directory():
    """This user's private cache of shim libraries (never load one another user could plant)."""
    uid = os.getuid()
    directory = os.path.join(tempfile.gettempdir(), f"gkeras-kernel-shim-{uid}")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.stat(directory)
    if info.st_uid != uid or info.st_mode & 0o022:
        raise RuntimeError(f"{directory} must belong to you and be writable by you only")
    return directory


class Module:
    """A compiled CPU shim: ``function('im2col<float>')`` as CuPy's ``get_function``."""

    def __init__(self, library, signatures, name_expressions):
        self._library = library
        self._signatures = signatures
        self.name_expressions = name_expressions

    def function(self, name_expression):
        if name_expression not in self.name_expressions:
            raise KeyError(f"{name_expression!r} is not among this module's name expressions "
                           f"{list(self.name_expressions)}")
        name, dtype = _split(name_expression)
        return Function(self._library, name, dtype, self._signatures[name])


class Function:
    """One kernel instance on the CPU: ``fn(grid, block, args, reverse=False)``."""

    def __init__(self, library, name, dtype, parameters):
        self.name = f"{name}<{kernels.ELEMENT_TYPES[dtype]}>"
        self.dtype = dtype
        self.parameters = parameters
        self._entry = getattr(library, _symbol(name, dtype))
        self._entry.restype = None
        self._entry.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_int] + [
            ctypes.c_void_p if p.pointer else _CTYPES[p.ctype(dtype)] for p in parameters]

    def __call__(self, grid, block, args, reverse=False):
        blocks, threads = _one_dimension(grid, "grid"), _one_dimension(block, "block")
        if len(args) != len(self.parameters):
            raise TypeError(f"{self.name} takes {len(self.parameters)} arguments, "
                            f"got {len(args)}")
        values = [self._check(p, a) for p, a in zip(self.parameters, args)]
        self._entry(blocks, threads, int(reverse), *values)

    def _check(self, parameter, value):
        dtype = parameter.dtype(self.dtype)
        where = f"{self.name} argument {parameter.name}"
        if parameter.pointer:
            if not isinstance(value, numpy.ndarray):
                raise TypeError(f"{where}: expected an array, got {type(value).__name__}")
            if value.dtype != dtype or not value.flags.c_contiguous:
                raise TypeError(f"{where}: expected a C-contiguous {dtype} array, got "
                                f"{value.dtype} (contiguous: {value.flags.c_contiguous})")
            if not parameter.const and not value.flags.writeable:
                raise TypeError(f"{where}: the kernel writes it, but the array is read-only")
            return value.ctypes.data
        if not isinstance(value, numpy.generic) or value.dtype != dtype:
            raise TypeError(f"{where}: expected a numpy.{dtype} scalar ({parameter.type}), got "
                            f"{type(value).__name__} {value!r}: a launch copies scalars "
                            "bytewise, so their type must match exactly")
        return value.item()


def _one_dimension(size, what):
    size = (size,) if isinstance(size, int) else tuple(size)
    if not 1 <= len(size) <= 3 or any(s != 1 for s in size[1:]) or size[0] < 1:
        raise ValueError(f"{what} {size}: the shim runs one-dimensional launches of at least "
                         "one block of one thread")
    return int(size[0])
