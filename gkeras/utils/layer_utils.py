"""``keras.utils.layer_utils`` of Keras 2.2.4: parameter counts, the summary, the inputs behind
a symbolic tensor, and kernel conversions for weights from other backends or layouts."""
import numpy

from .conv_utils import convert_kernel


def count_params(weights):
    """The number of scalars in ``weights`` (Variables or arrays; each counted once)."""
    unique = {id(w): w for w in weights}.values()
    return int(sum(int(numpy.prod(tuple(w.shape))) for w in unique))


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """``model.summary(line_length, positions, print_fn)``."""
    model.summary(line_length=line_length, positions=positions, print_fn=print_fn)


def get_source_inputs(tensor, layer=None, node_index=None):
    """The ``Input`` tensors a symbolic ``tensor`` was computed from, in first-seen order
    (``layer``/``node_index``: start from that call of ``layer`` instead)."""
    from ..layers.core import InputLayer
    if layer is not None:
        node = layer._inbound_nodes[node_index or 0]
    elif getattr(tensor, "_keras_history", None):
        source, index, _ = tensor._keras_history
        node = source._inbound_nodes[index]
    else:
        return [tensor]
    sources, seen, pending = [], set(), [node]
    while pending:
        node = pending.pop()
        if isinstance(node.layer, InputLayer):
            for t in node.output_tensors:
                if id(t) not in seen:
                    seen.add(id(t))
                    sources.append(t)
            continue
        # reversed so that the first input's sources come out first
        for t in reversed(node.input_tensors):
            parent, index, _ = t._keras_history
            pending.append(parent._inbound_nodes[index])
    return sources


_CONV_CLASSES = ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose")


def convert_all_kernels_in_model(model):
    """Flip the spatial axes of every convolution kernel of ``model`` (Keras 2's conversion
    between Theano's convolution and TensorFlow's correlation)."""
    for layer in model.layers:
        if type(layer).__name__ in _CONV_CLASSES:
            layer.kernel.assign(convert_kernel(layer.kernel.numpy()))


def convert_dense_weights_data_format(dense, previous_feature_map_shape,
                                      target_data_format="channels_first"):
    """Reorder the input rows of ``dense``'s kernel, which follows a Flatten of a feature map
    of ``previous_feature_map_shape`` (without the batch axis), for the other data format:
    ``target_data_format`` is the format the model now has."""
    if target_data_format not in ("channels_last", "channels_first"):
        raise ValueError("convert_dense_weights_data_format: target_data_format must be "
                         f"'channels_last' or 'channels_first', received {target_data_format!r}.")
    kernel, bias = dense.get_weights()
    units = kernel.shape[1]
    if target_data_format == "channels_first":
        c, h, w = previous_feature_map_shape
        maps = kernel.reshape(h, w, c, units).transpose(2, 0, 1, 3)
    else:
        h, w, c = previous_feature_map_shape
        maps = kernel.reshape(c, h, w, units).transpose(1, 2, 0, 3)
    dense.set_weights([maps.reshape(-1, units), bias])


__all__ = ["convert_all_kernels_in_model", "convert_dense_weights_data_format", "count_params",
           "get_source_inputs", "print_summary"]
