"""``keras.utils.io_utils`` of Keras 2.2.4: ``HDF5Matrix`` (an HDF5 dataset that fit,
evaluate and predict read one batch at a time) and the overwrite prompt."""
import os

import h5py
import numpy


class HDF5Matrix:
    """Rows ``start`` to ``end`` of the dataset ``dataset`` of the HDF5 file ``datapath``,
    read lazily: indexing reads only the rows asked for, passed through ``normalizer`` (a
    function of the NumPy batch) when given. Use it as ``x`` or ``y`` in ``fit`` with
    ``shuffle='batch'`` or ``shuffle=False`` (an HDF5 file reads contiguous rows), as Keras 2.

    The file is opened read-only once per path and stays open (``HDF5Matrix.refs``).
    """

    refs = {}

    def __init__(self, datapath, dataset, start=0, end=None, normalizer=None):
        datapath = os.fspath(datapath)
        if datapath not in self.refs:
            self.refs[datapath] = h5py.File(datapath, "r")
        file = self.refs[datapath]
        if dataset not in file:
            raise KeyError(f"HDF5Matrix: {datapath!r} has no dataset {dataset!r}; it holds "
                           f"{sorted(file.keys())}.")
        self.data = file[dataset]
        self.start = start
        self.end = self.data.shape[0] if end is None else end
        if not 0 <= self.start <= self.end <= self.data.shape[0]:
            raise ValueError(f"HDF5Matrix: start={start} and end={end} must satisfy 0 <= start "
                             f"<= end <= {self.data.shape[0]} (the rows of {dataset!r}).")
        self.normalizer = normalizer

    def __len__(self):
        return self.end - self.start

    def _out_of_range(self, key):
        return IndexError(f"HDF5Matrix: index {key!r} is out of range for {len(self)} rows.")

    def __getitem__(self, key):
        if isinstance(key, slice):
            start = 0 if key.start is None else key.start
            stop = len(self) if key.stop is None else key.stop
            if stop + self.start > self.end:
                raise self._out_of_range(key)
            index = slice(start + self.start, stop + self.start, key.step)
        elif isinstance(key, (int, numpy.integer)):
            if key + self.start >= self.end:
                raise self._out_of_range(key)
            index = int(key) + self.start
        else:  # an array or list of increasing row indices
            rows = numpy.asarray(key)
            if rows.size and rows.max() + self.start >= self.end:
                raise self._out_of_range(key)
            index = (rows + self.start).tolist()
        values = self.data[index]
        return values if self.normalizer is None else self.normalizer(values)

    @property
    def shape(self):
        return (self.end - self.start,) + tuple(self.data.shape[1:])

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return int(numpy.prod(self.shape))


def ask_to_proceed_with_overwrite(filepath):
    """Ask on the terminal whether to overwrite ``filepath``; True for yes."""
    answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n]").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    if answer == "n":
        return False
    print("[TIP] Next time specify overwrite=True!")
    return True


class H5Dict:
    """Keras 2.2.4's internal dict-like view of an HDF5 group (its model saving): not
    provided."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "H5Dict (h5dict) is Keras 2.2.4's internal helper for writing model files; gkeras "
            "does not provide it. Use h5py.File directly, or model.save / load_model.")


h5dict = H5Dict

__all__ = ["H5Dict", "HDF5Matrix", "ask_to_proceed_with_overwrite", "h5dict"]
