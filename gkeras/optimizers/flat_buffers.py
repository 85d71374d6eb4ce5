"""Flat buffers: the values of many variables of one dtype in one contiguous backend array.

A ``FlatBuffer`` lays its variables out one after another (in the order given) in one 1-D
array and makes each variable's ``value`` a reshaped slice of it (``Variable._set_home``), so
an elementwise update of all of them is one pass over one array. An optimizer homes its
trainable variables (one buffer per dtype) and its slots (one buffer per slot name and dtype,
with the same layout), gathers the gradients into one more array of that layout, and updates
everything with one backend ``optimizer_step`` per buffer.

Setting a homed variable's ``value`` writes into its view (``Variable.value``'s setter), so
``assign``, ``set_weights``, loading and constraints keep the view valid. Homing a variable
into another buffer (another optimizer built on the same model) makes the previous buffer
``homed = False``: that optimizer re-homes its variables before its next update, taking
their current values.
"""
import numpy

from ..backends import current as _backend


class FlatBuffer:
    """``variables`` (all of ``dtype``) homed in ``array`` (1-D), in order."""

    def __init__(self, variables, dtype):
        xp = _backend().xp
        self.variables = list(variables)
        self.dtype = numpy.dtype(dtype)
        self.shapes = [tuple(v.shape) for v in self.variables]
        sizes = [int(numpy.prod(shape)) for shape in self.shapes]
        self.offsets = numpy.concatenate([[0], numpy.cumsum(sizes, dtype=numpy.int64)])
        self.size = int(self.offsets[-1])
        self.homed = False
        lone = self.variables[0].value if len(self.variables) == 1 else None
        # a lone variable homed nowhere keeps its own array: nothing to copy
        self._adopted = (lone is not None and self.variables[0]._home is None
                         and lone.dtype == self.dtype and lone.flags.c_contiguous)
        self.array = lone.reshape(-1) if self._adopted else \
            xp.empty((self.size,), dtype=self.dtype)
        self.home()

    def segment(self, index):
        return slice(int(self.offsets[index]), int(self.offsets[index + 1]))

    def view(self, array, index):
        """Variable ``index``'s part of ``array`` (a 1-D array of this layout), shaped."""
        return array[self.segment(index)].reshape(self.shapes[index])

    def home(self):
        """Copy the variables' current values in and make their values views of ``array``."""
        if self._adopted:
            self._adopted = False
            self.variables[0]._set_home(self, self.variables[0].value)
            self.homed = True
            return
        for index, variable in enumerate(self.variables):
            view = self.view(self.array, index)
            view[...] = variable.value
            variable._set_home(self, view)
        self.homed = True

    def gather(self, arrays, out):
        """Copy ``arrays`` (one per variable, of its shape) into the 1-D ``out``: one call."""
        if self.variables:
            _backend().xp.concatenate([a.reshape(-1) for a in arrays], out=out)
        return out

    def runs(self, selected):
        """The slices of the array covered by consecutive selected variables (a bool each)."""
        runs, start = [], None
        for index, chosen in enumerate(list(selected) + [False]):
            if chosen and start is None:
                start = int(self.offsets[index])
            elif not chosen and start is not None:
                runs.append(slice(start, int(self.offsets[index])))
                start = None
        return runs
