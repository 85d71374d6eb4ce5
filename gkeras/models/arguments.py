"""Checks of the numeric arguments of ``fit``/``evaluate``/``predict``, run before any step:
a bad value is a ``ValueError`` naming the method, the argument and the value received. What
Keras accepts is accepted (NumPy integers; ``verbose='auto'`` or a bool)."""
import numbers

import numpy


def _is_integer(value):
    return isinstance(value, (numbers.Integral, numpy.integer)) and not isinstance(value, bool)


def _integer(method, name, value, minimum, optional=False):
    if value is None and optional:
        return None
    if not _is_integer(value) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{method}: {name} must be {what}"
                         f"{' or None' if optional else ''}, received {value!r}.")
    return int(value)


def verbose(method, value):
    """0, 1, 2, ``'auto'`` (1) or a bool."""
    if value == "auto" and isinstance(value, str):
        return 1
    if isinstance(value, bool):
        return int(value)
    if not _is_integer(value) or value not in (0, 1, 2):
        raise ValueError(f"{method}: verbose must be 0, 1, 2 or 'auto', received {value!r}.")
    return int(value)


def batch_size(method, value):
    return 32 if value is None else _integer(method, "batch_size", value, 1)


def steps(method, name, value):
    return _integer(method, name, value, 1, optional=True)


def validation_freq(value):
    if _is_integer(value):
        return _integer("fit", "validation_freq", value, 1)
    if isinstance(value, (list, tuple, set, range)) and value and \
            all(_is_integer(v) and v >= 1 for v in value):
        return value
    raise ValueError("fit: validation_freq must be a positive integer or a collection of "
                     f"positive epoch numbers, received {value!r}.")


def validation_split(value):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, numpy.floating,
                                                         numpy.integer)) or \
            not 0 <= value < 1:
        raise ValueError("fit: validation_split must be a number in [0, 1) (the fraction of "
                         f"the data held out; 0 for none), received {value!r}.")
    return float(value)


def fit_arguments(epochs, initial_epoch, batch_size_value, verbose_value, steps_per_epoch,
                  validation_steps, validation_batch_size, validation_freq_value,
                  validation_split_value):
    """The checked values, in the order given."""
    return (_integer("fit", "epochs", epochs, 0),
            _integer("fit", "initial_epoch", initial_epoch, 0),
            batch_size("fit", batch_size_value),
            verbose("fit", verbose_value),
            steps("fit", "steps_per_epoch", steps_per_epoch),
            steps("fit", "validation_steps", validation_steps),
            None if validation_batch_size is None
            else _integer("fit", "validation_batch_size", validation_batch_size, 1),
            validation_freq(validation_freq_value),
            validation_split(validation_split_value))
