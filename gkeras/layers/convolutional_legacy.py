"""The Keras 1 spellings of the convolution layers' arguments, as Keras 2 converted them.

``Convolution2D(64, 3, 3, border_mode='same', subsample=(2, 2), dim_ordering='th')`` is
``Conv2D(64, (3, 3), padding='same', strides=(2, 2), data_format='channels_first')``.

One difference from Keras 2: a layer given Keras 1's 2-D kernel spelling (nb_row, nb_col,
positional or by keyword) without ``dim_ordering`` or ``data_format`` gets Keras 1's
default, 'th' (channels_first), as the Keras 2 guide's example shows
(``Convolution2D(64, 3, 3, border_mode='same', input_shape=(3, 32, 32))`` outputs
``(None, 64, 32, 32)``); ``dim_ordering='tf'`` selects channels_last. Keras 2 spellings
(``kernel_size``) keep the configured ``image_data_format``.
"""

import functools
import numbers

KERAS1_DEFAULT_DIM_ORDERING = "th"

_RENAMED = {
    "nb_filter": "filters",
    "subsample": "strides",
    "subsample_length": "strides",
    "filter_length": "kernel_size",
    "border_mode": "padding",
    "atrous_rate": "dilation_rate",
    "init": "kernel_initializer",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "bias": "use_bias",
}
_DIM_ORDERINGS = {"th": "channels_first", "tf": "channels_last", "default": None}


def keras1_arguments(who, rank, args, kwargs):
    """``(args, kwargs, implicit_th)`` with Keras 1's positional and keyword spellings
    rewritten into Keras 2 keywords (other arguments pass through untouched);
    ``implicit_th`` tells that Keras 1's default 'th' ordering was applied."""
    args, kwargs = list(args), dict(kwargs)
    keras1_kernel = False
    if rank == 2 and len(args) == 3 and all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args[1:]):
        if "strides" in kwargs:
            raise ValueError(f"{who}: received Keras 1's (nb_filter, nb_row, nb_col) and "
                             "strides; pass Keras 2's kernel_size=(rows, cols) instead.")
        args = [args[0], (args[1], args.pop())]
        keras1_kernel = True
    if "nb_row" in kwargs or "nb_col" in kwargs:
        if rank != 2 or "nb_row" not in kwargs or "nb_col" not in kwargs:
            raise TypeError(f"{who}: nb_row and nb_col go together, and only for 2-D layers.")
        kwargs["kernel_size"] = (kwargs.pop("nb_row"), kwargs.pop("nb_col"))
        keras1_kernel = True
    for old, new in _RENAMED.items():
        if old in kwargs:
            if new in kwargs:
                raise TypeError(f"{who}: received both Keras 1's {old!r} and {new!r}.")
            kwargs[new] = kwargs.pop(old)
    implicit_th = False
    if "dim_ordering" in kwargs:
        value = kwargs.pop("dim_ordering")
        if value not in _DIM_ORDERINGS:
            raise ValueError(f"{who}: dim_ordering must be 'th', 'tf' or 'default', received "
                             f"dim_ordering={value!r}.")
        if kwargs.get("data_format") is not None:
            raise TypeError(f"{who}: received both dim_ordering and data_format.")
        kwargs["data_format"] = _DIM_ORDERINGS[value]
    elif keras1_kernel and kwargs.get("data_format") is None:
        implicit_th = True
        kwargs["data_format"] = _DIM_ORDERINGS[KERAS1_DEFAULT_DIM_ORDERING]
    if rank == 1 and "input_dim" in kwargs:
        # Keras 1's Convolution1D(input_dim=..., input_length=...) means (length, dim)
        kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim"))
    return args, kwargs, implicit_th


def keras1_support(rank):
    """Decorate a layer's ``__init__`` to accept Keras 1's spellings (keeps its signature)."""
    def decorate(init):
        @functools.wraps(init)
        def wrapper(self, *args, **kwargs):
            args, kwargs, implicit_th = keras1_arguments(type(self).__name__, rank, args,
                                                         kwargs)
            init(self, *args, **kwargs)
            if implicit_th:
                self._format_hint = (" (Keras 1's default dim_ordering 'th' "
                                     "for the nb_row, nb_col spelling; pass "
                                     "dim_ordering='tf' for channels_last)")
        return wrapper
    return decorate
