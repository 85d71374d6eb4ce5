"""The Embedding's table gradient on the NumPy backend (``NumpyBackend.take_backward``): each
row of ``dy`` summed into the table row it was read from, in the order of the indices, in a
table reused from one step to the next."""
import sys

import numpy

from . import numpy_accel


class TableGradients:
    """The last table gradient per (shape, dtype), with the rows it was written at: a fresh
    large allocation costs a page fault per page the step then touches (~1 ms a step for
    imdb_lstm's 20000x128 table), so a table nothing else holds any more (the optimizer has
    used it) is handed out again with those rows marked stale."""

    def __init__(self, xp):
        self.xp = xp
        self._tables = {}

    def reused(self, shape, dtype, rows_to_write):
        """``(table, stale)``: a zero array of ``shape`` but for its rows ``stale`` (int64),
        which the caller zeroes: the previous table for this shape and dtype, with the rows
        it was written at, or a new zero array with no row stale."""
        key = (shape, numpy.dtype(dtype).str)
        cached = self._tables.pop(key, None)
        # references to a cached array nobody else holds: the tuple and getrefcount's argument
        if cached is not None and sys.getrefcount(cached[0]) == 2:
            table, stale = cached
        else:
            table = self.xp.zeros(shape, dtype=dtype)
            stale = self.xp.empty(0, dtype=numpy.int64)
        self._tables[key] = (table, rows_to_write)
        return table, stale


def take_backward(xp, accel, tables, indices, dy, rows):
    """``NumpyBackend.take_backward`` on ``xp``, through the CPU extra's kernel where ``accel``
    (its kernels, or False) has one for ``dy``, with ``tables`` a ``TableGradients``."""
    # ``add.at`` is an unbuffered scalar loop (~10x slower here). Instead: the k-th occurrence
    # of every index forms one round of distinct rows, so a plain fancy-index add per round
    # sums each row's updates in the order of ``indices``, as ``add.at``. The CPU extra does
    # it in one sequential pass (imdb_lstm's step: 1.2 -> 0.6 ms).
    flat = indices.reshape(-1).astype(numpy.int64)
    flat = xp.where(flat < 0, flat + rows, flat)
    if xp is numpy and flat.size and not 0 <= flat.min() <= flat.max() < rows:
        # before any write or ``reused``: the kernel does not check bounds, and ``reused``
        # records the rows to zero at the next call
        bad = indices.reshape(-1)[(flat < 0) | (flat >= rows)][0]
        raise IndexError(f"take_backward: every index must lie in [-{rows}, {rows}) for a "
                         f"table of {rows} rows, received {bad}.")
    grad, stale = tables.reused((rows,) + dy.shape[indices.ndim:], dy.dtype, flat)
    if flat.size == 0:
        grad[stale] = 0
        return grad
    table, updates = grad.reshape(rows, -1), dy.reshape(flat.size, -1)
    if accel and numpy_accel.scatter_add_rows(accel, table, stale, flat, updates):
        return grad
    table[stale] = 0
    order = xp.argsort(flat, kind="stable")
    grouped = flat[order]
    first = xp.empty(flat.size, dtype=bool)
    first[0] = True
    xp.not_equal(grouped[1:], grouped[:-1], out=first[1:])
    starts = xp.flatnonzero(first)
    sizes = xp.diff(xp.append(starts, flat.size))
    occurrence = xp.arange(flat.size) - xp.repeat(starts, sizes)
    picked = order[first]
    table[flat[picked]] = updates[picked]
    for k in range(1, int(sizes.max())):
        picked = order[occurrence == k]
        table[flat[picked]] += updates[picked]
    return grad
