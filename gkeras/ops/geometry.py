"""Argument checks and window arithmetic shared by the convolution and pooling ops and layers.

``'same'`` padding is TensorFlow's: output ``ceil(n / s)``, total pad
``max((out - 1) * s + effective_kernel - n, 0)``, the odd padded pixel at the end.
"""
import numbers

from .. import config

PADDINGS = ("valid", "same", "causal")


def normalize_tuple(value, rank, name, who, allow_zero=False):
    """An int or a sequence of ``rank`` ints -> a tuple of ``rank`` Python ints, each > 0
    (>= 0 with ``allow_zero``)."""
    values = (value,) * rank if isinstance(value, numbers.Integral) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    lowest = 0 if allow_zero else 1
    if values is None or len(values) != rank or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= lowest
            for v in values):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{who}: `{name}` must be a {kind} integer or a tuple of {rank} "
                         f"{kind} integers, received {name}={value!r}.")
    return tuple(int(v) for v in values)


def normalize_padding(padding, rank, who, allowed=PADDINGS):
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in allowed:
        raise ValueError(f"{who}: `padding` must be one of {', '.join(map(repr, allowed))}, "
                         f"received padding={padding!r}.")
    if mode == "causal" and rank != 1:
        raise ValueError(f"{who}: padding='causal' is for 1-D convolutions only, received a "
                         f"{rank}-D one.")
    return mode


def normalize_data_format(data_format, who):
    value = config.image_data_format() if data_format is None else data_format
    if value not in config.VALID_DATA_FORMATS:
        raise ValueError(f"{who}: invalid data_format {data_format!r}. Valid choices: "
                         f"{', '.join(config.VALID_DATA_FORMATS)}.")
    return value


def check_strides_and_dilation(strides, dilation, who):
    if any(s > 1 for s in strides) and any(d > 1 for d in dilation):
        raise ValueError(f"{who}: strides > 1 are not supported together with "
                         f"dilation_rate > 1, received strides={strides}, "
                         f"dilation_rate={dilation}.")


def padding_amounts(size, kernel, stride, dilation, mode):
    """``(before, after)`` zeros along one axis for 'valid', 'same' or 'causal'."""
    effective = dilation * (kernel - 1) + 1
    if mode == "valid":
        return 0, 0
    if mode == "causal":
        return effective - 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def conv_output_length(size, kernel, stride, dilation, mode):
    """Output length along one axis; ``None`` for an unknown ``size``; may be < 1."""
    if size is None:
        return None
    before, after = padding_amounts(size, kernel, stride, dilation, mode)
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1
