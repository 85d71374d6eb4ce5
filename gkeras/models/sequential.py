"""``Sequential``: a linear stack of layers, built as a functional graph once the input shape
is known (from the first layer's ``input_shape``, an ``InputLayer``, or the first data)."""
from ..autograd import Tensor
from ..layers.base import (KerasTensor, Layer, _is_shape_list, flatten, get_layer_class,
                           unique_name)
from ..layers.core import InputLayer
from .functional import Model, _policy_config, _set_saved_policy


class Sequential(Model):
    def __init__(self, layers=None, name=None, trainable=True):
        Model.__init__(self, name=name or unique_name("sequential"), trainable=trainable)
        self._stack = []
        self._input_layer = None
        self._graph_nodes = []
        for layer in layers or []:
            self.add(layer)

    # --- stack editing -------------------------------------------------------------------
    def add(self, layer):
        """Append ``layer``; the first one may carry ``input_shape``/``batch_input_shape``."""
        if isinstance(layer, KerasTensor):
            origin = layer._keras_history[0]
            if isinstance(origin, InputLayer):
                layer = origin
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer instance, received "
                            f"{type(layer).__name__}: {layer!r}")
        before = (list(self._stack), self._input_layer)
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError(f"Sequential '{self.name}': an InputLayer can only be the "
                                 "first layer.")
            self._input_layer = layer
        else:
            if any(existing.name == layer.name for existing in self._stack):
                raise ValueError(f"Sequential '{self.name}': all layers must have unique "
                                 f"names; '{layer.name}' is already in the model.")
            if not self._stack and self._input_layer is None and \
                    layer._batch_input_shape is not None:
                self._input_layer = InputLayer(batch_input_shape=layer._batch_input_shape,
                                               dtype=layer.dtype)
            self._stack.append(layer)
        try:
            self._rebuild()
        except Exception:
            # as tf.keras: a layer that cannot follow the stack is not kept
            self._stack, self._input_layer = before
            self._rebuild()
            raise

    def pop(self):
        """Remove the last layer."""
        if not self._stack:
            raise TypeError(f"Sequential '{self.name}': there are no layers to pop.")
        layer = self._stack.pop()
        self._rebuild()
        return layer

    @property
    def layers(self):
        return list(self._stack)

    def __getattr__(self, name):
        # only reached when the attribute is missing: inputs/outputs before the first build
        if name in ("inputs", "outputs"):
            raise AttributeError(
                f"Sequential model '{self.name}' has no defined {name} yet: give the first "
                "layer an input_shape, or call build(input_shape) or the model on data.")
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _rebuild(self):
        self._drop_graph()
        object.__setattr__(self, "_layers", list(self._stack))
        if self._input_layer is None or not self._stack:
            self._is_graph_network = False
            self.built = False
            if self._input_layer is not None:
                self.inputs = [self._input_layer._inbound_nodes[0].outputs]
            return
        x = self._input_layer._inbound_nodes[0].outputs
        before = [len(layer._inbound_nodes) for layer in self._stack]
        try:
            out = x
            for layer in self._stack:
                out = layer(out)
        finally:
            self._graph_nodes = [node for layer, n in zip(self._stack, before)
                                 for node in layer._inbound_nodes[n:]]
        if len(flatten(out)) != 1:
            raise ValueError(f"Sequential '{self.name}': every layer must have one output; "
                             f"'{self._stack[-1].name}' has {len(flatten(out))}.")
        self._init_graph(x, out)
        object.__setattr__(self, "_layers", list(self._stack))

    def _drop_graph(self):
        """Forget the nodes of the previous build, so layers keep one node each."""
        for node in self._graph_nodes:
            layer = node.layer
            if node in layer._inbound_nodes:
                layer._inbound_nodes.remove(node)
            for parent in node.parent_nodes:
                if node in parent.layer._outbound_nodes:
                    parent.layer._outbound_nodes.remove(node)
        self._graph_nodes = []

    def build(self, input_shape=None):
        """Create the input layer for ``input_shape`` (with the batch axis) and build."""
        if self._is_graph_network:
            return
        if input_shape is None:
            raise ValueError(f"Sequential '{self.name}': build() needs an input shape, or "
                             "give the first layer an input_shape.")
        if _is_shape_list(input_shape):
            raise ValueError(f"Sequential '{self.name}' takes one input, received input shapes "
                             f"{[tuple(s) for s in input_shape]}. Use the functional API, "
                             "Model(inputs, outputs), for several inputs.")
        self._input_layer = InputLayer(batch_input_shape=tuple(input_shape),
                                       dtype=self._stack[0].dtype if self._stack else None)
        self._rebuild()

    def _call_eager(self, inputs, kwargs):
        if not self._is_graph_network and self._stack:
            x = inputs if isinstance(inputs, Tensor) else self._stack[0]._convert_inputs(inputs)
            shapes = [(None,) + tuple(t.shape[1:]) for t in flatten(x)]
            self.build(shapes[0] if isinstance(x, Tensor) else shapes)
        return Model._call_eager(self, inputs, kwargs)

    def _call_symbolic(self, inputs, flat, kwargs):
        if not self._is_graph_network and len(flat) == 1:
            self.build(flat[0].shape)
        return Model._call_symbolic(self, inputs, flat, kwargs)

    def call(self, inputs, training=None, mask=None):
        if self._is_graph_network:
            return Model.call(self, inputs, training, mask)
        out = inputs
        for layer in self._stack:
            out = layer(out, training=training)
        return out

    # --- configuration -------------------------------------------------------------------
    def get_config(self):
        layers = []
        if self._input_layer is not None:
            layers.append({"class_name": "InputLayer", "config": self._input_layer.get_config()})
        for layer in self._stack:
            layers.append({"class_name": type(layer).__name__, "config": layer.get_config()})
        return {"name": self.name, "layers": layers, **_policy_config(self)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "input_layers" in config:
            raise ValueError("Sequential.from_config: this is the config of a functional "
                             "Model; rebuild it with Model.from_config.")
        specs = config["layers"] if isinstance(config, dict) else config
        model = cls(name=config.get("name") if isinstance(config, dict) else None)
        _set_saved_policy(model, config)
        for spec in specs:
            layer_cls = get_layer_class(spec["class_name"], custom_objects)
            if issubclass(layer_cls, Model):
                layer = layer_cls.from_config(spec["config"], custom_objects=custom_objects)
            else:
                layer = layer_cls.from_config(dict(spec["config"]))
            model.add(layer)
        return model
