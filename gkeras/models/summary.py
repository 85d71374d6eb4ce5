"""``model.summary()``: Keras's text table."""
import numpy

from ..layers.core import InputLayer


def _fmt_shape(layer):
    if isinstance(layer, InputLayer):
        return str([tuple(layer.batch_shape)])
    try:
        shape = layer.output_shape
    except AttributeError:  # several nodes, or called only eagerly (a subclassed model)
        return "multiple"
    if isinstance(shape, list):
        return str([tuple(s) for s in shape])
    return str(tuple(shape))


def _row(fields, positions, print_fn):
    line = ""
    for i, field in enumerate(fields):
        if i > 0:
            line = line[:-1] + " "
        line += str(field)
        line = line[: positions[i]]
        line += " " * (positions[i] - len(line))
    print_fn(line)


def _count(weights):
    return int(sum(numpy.prod(w.shape) for w in weights))


def _connections(model, layer):
    out = []
    for node in layer._inbound_nodes:
        if id(node) not in getattr(model, "_network_nodes", ()):
            continue
        for t in node.input_tensors:
            src, index, tensor_index = t._keras_history
            out.append(f"{src.name}[{index}][{tensor_index}]")
    return out


def _is_sequential_like(model):
    """As Keras: one node per depth, each with one input, and no layer used twice."""
    for nodes in model._nodes_by_depth.values():
        if len(nodes) > 1 or len(nodes[0].input_tensors) > 1:
            return False
    return all(sum(id(node) in model._network_nodes for node in layer._inbound_nodes) <= 1
               for layer in model.layers)


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  indent=""):
    print_fn = print_fn or print
    if not model.built:
        raise ValueError(f"Model '{model.name}' has not yet been built. Build the model first "
                         "by calling `build()` or by calling the model on a batch of data.")
    sequential = type(model).__name__ == "Sequential" or not getattr(
        model, "_is_graph_network", False) or _is_sequential_like(model)
    if sequential:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = positions or [0.33, 0.55, 0.67, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]

    print_fn(f'{indent}Model: "{model.name}"')
    print_fn(indent + "_" * line_length)
    _row([indent + " " + h for h in headers[:1]] + headers[1:], positions, print_fn)
    print_fn(indent + "=" * line_length)
    layers = model.layers
    for i, layer in enumerate(layers):
        fields = [f"{indent} {layer.name} ({type(layer).__name__})", _fmt_shape(layer),
                  str(layer.count_params())]
        if sequential:
            _row(fields, positions, print_fn)
        else:
            connections = _connections(model, layer)
            _row(fields + [connections[0] if connections else ""], positions, print_fn)
            for extra in connections[1:]:
                _row(["", "", "", extra], positions, print_fn)
        if expand_nested and hasattr(layer, "layers") and hasattr(layer, "summary"):
            print_summary(layer, line_length=line_length - 4, print_fn=print_fn,
                          expand_nested=True, indent=indent + "| ")
        print_fn(indent + (" " * line_length if i < len(layers) - 1 else "=" * line_length))
    if not layers:
        print_fn(indent + "=" * line_length)
    trainable = _count(model.trainable_weights)
    total = _count(model.weights)
    print_fn(f"{indent}Total params: {total:,}")
    print_fn(f"{indent}Trainable params: {trainable:,}")
    print_fn(f"{indent}Non-trainable params: {total - trainable:,}")
    print_fn(indent + "_" * line_length)
