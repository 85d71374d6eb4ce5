"""From what the user passes to fit/evaluate/predict to per-input, per-output host arrays:
dicts and lists resolved against the model's inputs and outputs, shapes checked, sample
weights spread over the outputs; and the per-batch sample weights times ``class_weight``."""
import warnings

import numpy

from .. import config
from ..utils import data as data_utils


class DataPreparation:
    """Checks and converts x, y and sample_weight for the model's inputs and outputs."""

    def _prepare_x(self, x, what="x"):
        if isinstance(x, dict):
            if not getattr(self, "_is_graph_network", False):
                raise TypeError(f"Model '{self.name}' has no named inputs: give {what} as an "
                                "array or a list of arrays, not a dict.")
            x = [x[name] if name in x else _missing(self, name, x) for name in self.input_names]
        xs = x if isinstance(x, (list, tuple)) and not _is_number_list(x) else [x]
        xs = [data_utils.to_host_array(a, what) for a in xs]
        if getattr(self, "_is_graph_network", False):
            if len(xs) != len(self.inputs):
                raise ValueError(
                    f"Model '{self.name}' expects {len(self.inputs)} input array(s) "
                    f"({', '.join(self.input_names)}), but received {len(xs)}.")
            for i, (a, spec) in enumerate(zip(xs, self.inputs)):
                if a.ndim != len(spec.shape) or any(
                        s is not None and d != s for s, d in zip(spec.shape[1:], a.shape[1:])):
                    raise ValueError(
                        f"Input {i} ('{self.input_names[i]}') of model '{self.name}' expects "
                        f"shape {spec.shape}, but the data has shape {tuple(a.shape)}.")
        return xs

    def _prepare_y(self, y):
        names = [o.name for o in self._outputs]
        if isinstance(y, dict):
            unknown = [k for k in y if k not in names]
            if unknown:
                raise ValueError(f"Unknown output name(s) {unknown} in y; the model's outputs "
                                 f"are {names}.")
            ys = [y.get(n) for n in names]
        elif isinstance(y, (list, tuple)) and len(names) > 1:
            ys = list(y)
        else:
            ys = [y]
        if len(ys) != len(names):
            raise ValueError(f"Model '{self.name}' has {len(names)} output(s) ({names}), but y "
                             f"holds {len(ys)} array(s).")
        missing = [o.name for o, a in zip(self._outputs, ys) if a is None and o.loss is not None]
        if missing:
            raise ValueError(f"Model '{self.name}': y holds no targets for output(s) {missing}, "
                             "which have a loss; give their targets or compile without a loss "
                             "for them.")
        return [data_utils.to_host_array(a, "y") for a in ys]

    def _prepare_sample_weight(self, sample_weight, n_outputs):
        if sample_weight is None:
            return [None] * n_outputs
        if isinstance(sample_weight, dict):
            return [None if sample_weight.get(o.name) is None else
                    numpy.asarray(sample_weight[o.name], dtype=config.floatx())
                    for o in self._outputs]
        if isinstance(sample_weight, (list, tuple)) and n_outputs > 1:
            return [None if w is None else numpy.asarray(w, dtype=config.floatx())
                    for w in sample_weight]
        sw = numpy.asarray(sample_weight, dtype=config.floatx())
        if sw.ndim != 1:
            raise ValueError(f"sample_weight must be a 1-D array of one weight per sample, "
                             f"received shape {sw.shape}.")
        return [sw] * n_outputs

    def _device_arrays(self, xs, ys, sws):
        """x (floats cast to the model's dtype), y and sample weights on the device, once."""
        return ([data_utils.device_array(a, _float_dtype(a, self.dtype)) for a in xs],
                [data_utils.device_array(a) for a in ys],
                [data_utils.device_array(w) for w in sws])

    def _check_finite(self, arrays, what):
        """Warn (never refuse: it is the user's data, Keras trains on it) about NaN or inf in
        in-memory arrays; h5py data is not read for this."""
        for a in arrays:
            if isinstance(a, numpy.ndarray) and a.dtype.kind == "f" and \
                    not numpy.isfinite(a).all():
                bad = numpy.argwhere(~numpy.isfinite(a))[0]
                warnings.warn(f"fit: {what} contains NaN or inf values (first at index "
                              f"{tuple(int(i) for i in bad)}); the loss may become NaN "
                              "(TerminateOnNaN stops training then).", stacklevel=3)

    def _ensure_built(self, xs):
        if getattr(self, "_is_graph_network", False) or self.built:
            return
        if type(self).__name__ == "Sequential":
            if len(xs) == 1:
                self.build((None,) + tuple(xs[0].shape[1:]))
            return
        # a subclassed model makes its weights on its first call; build it now so that
        # fit's list of trainable weights, taken before the first step, holds them
        shapes = [(None,) + tuple(a.shape[1:]) for a in xs]
        self._maybe_build(shapes[0] if len(shapes) == 1 else shapes)


def _missing(model, name, x):
    raise ValueError(f"Model '{model.name}': no data for input '{name}'; the dict holds "
                     f"{sorted(x)}.")


def _is_number_list(values):
    return len(values) > 0 and all(isinstance(v, (int, float, bool)) for v in values)


def _float_dtype(array, dtype):
    return dtype if array is not None and numpy.dtype(array.dtype).kind == "f" else None


def _unpack_validation(validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                         "(x_val, y_val, val_sample_weight).")
    return tuple(validation_data) + (None,) * (3 - len(validation_data))



def _batch_weights(sample_weights, y_batch, index, class_weight):
    """The batch's sample weights, times ``class_weight[label]`` (1 for unlisted classes)."""
    from ..losses import class_weight_to_sample_weight
    weights = [data_utils.take(w, index) for w in sample_weights]
    if class_weight is None or len(class_weight) == 0:  # a dict or a device table
        return weights
    out = []
    for w, y in zip(weights, y_batch):
        cw = class_weight_to_sample_weight(y, class_weight)
        out.append(cw if w is None else w * cw)
    return out

