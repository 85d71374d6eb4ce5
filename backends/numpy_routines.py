"""NumPy's own compiled routines as C function pointers, for the CPU extra's split LSTM passes
(``accel_lstm.lstm_forward_split`` / ``lstm_backward_split``): the BLAS gemm that
``numpy.matmul`` calls, and ``numpy.tanh``'s inner loop; and the check that a product cut into
blocks, one gemm call each, gives the bits of NumPy's one call.

Why NumPy's and not a kernel's own: the passes must give the per-step path's results bit for
bit, and NumPy picks its tanh at import for the CPU it runs on (SIMD code on AVX2 / AVX-512,
libm elsewhere), so a kernel's own tanh differs in the last bits. Calling the very routines
NumPy calls, from compiled code, removes the Python calls between them (six per LSTM step) and
lets each thread run its rows through time, not a rounding.

How they are found: the gemm as the symbols of the scipy-openblas64 library that NumPy's wheels
link (``scipy_cblas_sgemm64_``, 64-bit integers) in the loaded OpenBLAS; the tanh loop from the
ufunc's ``functions`` table (the ``PyUFuncObject`` struct of NumPy's C API, read through ctypes
after its name, type count, type codes and loop data are checked). Each routine is then run on
test data and compared with NumPy's own call. Where one cannot be found or disagrees (another
BLAS, another struct layout), ``find`` returns None and the LSTM runs its per-step path, as
without the extra.

Why products are checked, not assumed: OpenBLAS multiplies small products (``SMALL_PRODUCT``)
with other kernels than large ones, and cuts long inner dimensions into parts it sums in turn;
a block of a product can therefore round differently from the same entries of the whole (seen
here: a (41, 300, 37) product cut in 3 x 2 blocks). ``split_product_is_exact`` compares a cut
with NumPy's call on random data of the real shapes, once per shape.
"""
import ctypes

import numpy

from . import blas_threads

ROW_MAJOR, NO_TRANSPOSE, TRANSPOSE = 101, 111, 112  # the CBLAS enum values the kernels pass
_VOID_P, _INT, _INT64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_int64
_GEMM_SYMBOLS = {numpy.dtype("float32"): ("scipy_cblas_sgemm64_", ctypes.c_float),
                 numpy.dtype("float64"): ("scipy_cblas_dgemm64_", ctypes.c_double)}
# loop(char **args, npy_intp const *dimensions, npy_intp const *steps, void *data)
UNARY_LOOP = ctypes.CFUNCTYPE(None, _VOID_P, _VOID_P, _VOID_P, _VOID_P)


def _gemm_type(scalar):
    # cblas_?gemm64_(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    return ctypes.CFUNCTYPE(None, _INT, _INT, _INT, _INT64, _INT64, _INT64, scalar, _VOID_P,
                            _INT64, _VOID_P, _INT64, scalar, _VOID_P, _INT64)


class _UFuncHead(ctypes.Structure):
    """The start of NumPy's ``PyUFuncObject`` after the ``PyObject`` header (ufuncobject.h)."""
    _fields_ = [("nin", ctypes.c_int), ("nout", ctypes.c_int), ("nargs", ctypes.c_int),
                ("identity", ctypes.c_int), ("functions", ctypes.POINTER(_VOID_P)),
                ("data", ctypes.POINTER(_VOID_P)), ("ntypes", ctypes.c_int),
                ("reserved1", ctypes.c_int), ("name", ctypes.c_char_p),
                ("types", ctypes.POINTER(ctypes.c_ubyte))]


def _test_data(dtype, rows, columns, seed):
    rng = numpy.random.default_rng(seed)
    return (rng.standard_normal((rows, columns)) * 4).astype(dtype)


def _gemm(dtype):
    """NumPy's gemm for ``dtype`` as a ctypes function, or None."""
    symbol, scalar = _GEMM_SYMBOLS[dtype]
    for library in blas_threads.loaded_openblas():
        if hasattr(library, symbol):
            gemm = _gemm_type(scalar)(ctypes.cast(getattr(library, symbol), _VOID_P).value)
            break
    else:
        return None
    a, b = _test_data(dtype, 3, 37, 0), _test_data(dtype, 37, 70, 1)
    c = numpy.empty((3, 70), dtype)
    gemm(ROW_MAJOR, NO_TRANSPOSE, NO_TRANSPOSE, 3, 70, 37, 1.0, a.ctypes.data, 37,
         b.ctypes.data, 70, 0.0, c.ctypes.data, 70)
    return gemm if numpy.array_equal(c, numpy.matmul(a, b)) else None


def _unary_loop(ufunc, dtype):
    """The inner loop ``ufunc`` runs on contiguous ``dtype`` arrays, or None."""
    head = _UFuncHead.from_address(id(ufunc) + object.__basicsize__)
    if (head.nin, head.nout, head.nargs) != (1, 1, 2) or head.name != ufunc.__name__.encode() \
            or head.ntypes != len(ufunc.types):
        return None
    codes = [(head.types[2 * i], head.types[2 * i + 1]) for i in range(head.ntypes)]
    chars = {numpy.dtype(c).num: c for types in ufunc.types for c in types.split("->")}
    if [f"{chars.get(i)}->{chars.get(o)}" for i, o in codes] != ufunc.types:
        return None
    if (dtype.num, dtype.num) not in codes:
        return None
    # NumPy's type resolution takes the first loop whose types match
    index = codes.index((dtype.num, dtype.num))
    if head.data[index]:  # a loop that wraps a C function given as data: not a direct one
        return None
    loop = UNARY_LOOP(head.functions[index])
    x = numpy.concatenate([numpy.linspace(-12, 12, 4001, dtype=dtype),
                           _test_data(dtype, 1, 999, 2)[0], numpy.array([0, -0.0], dtype)])
    y = numpy.empty_like(x)
    loop((_VOID_P * 2)(x.ctypes.data, y.ctypes.data), (ctypes.c_ssize_t * 1)(x.size),
         (ctypes.c_ssize_t * 2)(x.itemsize, y.itemsize), None)
    want = ufunc(x)
    return loop if numpy.array_equal(y, want) and numpy.array_equal(numpy.signbit(y),
                                                                    numpy.signbit(want)) \
        else None


# OpenBLAS multiplies products of at most this many multiply-adds (m*n*k) with small-matrix
# kernels that skip packing the operands (AVX-512 builds; elsewhere a block is a plain call)
SMALL_PRODUCT = 1_000_000


def small_product_blocks(rows, columns, inner):
    """Into how many column blocks to cut a ``(rows, inner) @ (inner, columns)`` product so that
    each block is a small-matrix product, or None where even one column is not."""
    if rows * inner > SMALL_PRODUCT:
        return None
    blocks = 1
    while rows * -(-columns // blocks) * inner > SMALL_PRODUCT:
        blocks *= 2
    return blocks


def part_bounds(part, parts, size):
    """``(start, stop)`` of part ``part`` of ``range(size)`` cut into ``parts``: how the
    checks below and the LSTM's split passes (``accel_lstm``, compiled from this function)
    cut a product."""
    chunk = (size + parts - 1) // parts
    start = min(size, part * chunk)
    return start, min(size, start + chunk)


_exact = {}
# a check needs random operands as large as the product's: beyond this many elements (128 MiB
# of float32) the cut is not checked, and not taken
CHECK_LIMIT = 1 << 25


def split_product_is_exact(dtype, transpose_a, transpose_b, m, n, k, row_parts, column_parts,
                           inner_parts=1):
    """Whether the ``(m, n)`` product ``op(A) @ op(B)`` computed as ``row_parts`` x
    ``column_parts`` blocks, each by ``inner_parts`` gemm calls over consecutive parts of the
    inner dimension (the first writing the block, the others adding to it), as the LSTM's split
    passes compute it, gives the bits of NumPy's one ``numpy.matmul`` call, on random data of
    those shapes (once per arguments). ``op`` transposes an operand stored C-contiguous the
    other way round, as ``matmul`` does with a ``.T`` view (``inner_parts`` 1 then). Blocks that
    OpenBLAS multiplies another way than the whole (its small-matrix kernels, another cut of
    the inner dimension) can round differently: such a split is refused, as is any product
    with more than ``CHECK_LIMIT`` elements in its operands and result."""
    dtype = numpy.dtype(dtype)
    if m * k + k * n + m * n > CHECK_LIMIT:
        return False
    key = (dtype, transpose_a, transpose_b, m, n, k, row_parts, column_parts, inner_parts)
    if key not in _exact:
        _exact[key] = _split_product_is_exact(*key)
        blas_threads.note_threaded_products()  # NumPy's product above: its workers spin
    return _exact[key]


def _split_product_is_exact(dtype, transpose_a, transpose_b, m, n, k, row_parts, column_parts,
                            inner_parts):
    found = find(dtype)
    if found is None:
        return False
    gemm = found[0]
    a = _test_data(dtype, *((k, m) if transpose_a else (m, k)), 3)
    b = _test_data(dtype, *((n, k) if transpose_b else (k, n)), 4)
    want = numpy.matmul(a.T if transpose_a else a, b.T if transpose_b else b)
    got = numpy.full((m, n), numpy.nan, dtype)
    size = dtype.itemsize
    for row_part in range(row_parts):
        r0, r1 = part_bounds(row_part, row_parts, m)
        for column_part in range(column_parts):
            c0, c1 = part_bounds(column_part, column_parts, n)
            if r1 == r0 or c1 == c0:
                continue
            for inner_part in range(inner_parts):
                k0, k1 = part_bounds(inner_part, inner_parts, k)
                a_at = a.ctypes.data + size * (k0 * m + r0 if transpose_a else r0 * k + k0)
                b_at = b.ctypes.data + size * (c0 * k + k0 if transpose_b else k0 * n + c0)
                gemm(ROW_MAJOR, TRANSPOSE if transpose_a else NO_TRANSPOSE,
                     TRANSPOSE if transpose_b else NO_TRANSPOSE, r1 - r0, c1 - c0, k1 - k0, 1.0,
                     a_at, m if transpose_a else k, b_at, k if transpose_b else n,
                     0.0 if inner_part == 0 else 1.0, got.ctypes.data + size * (r0 * n + c0), n)
    return bool(numpy.array_equal(got, want))


_found = {}


def find(dtype):
    """``(gemm, tanh)`` for arrays of ``dtype`` (float32 or float64), or None."""
    dtype = numpy.dtype(dtype)
    if dtype not in _GEMM_SYMBOLS:
        return None
    if dtype not in _found:
        gemm, tanh = _gemm(dtype), _unary_loop(numpy.tanh, dtype)
        _found[dtype] = (gemm, tanh) if gemm is not None and tanh is not None else None
    return _found[dtype]
