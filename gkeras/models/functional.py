"""``Model``: a functional graph of layers (``Model(inputs, outputs)``) or a subclass with
its own ``call``. Training methods come from ``Trainer``."""
import json

import numpy

from ..autograd import Tensor
from ..backends import current as _backend
from ..layers.base import (_LAYER_CLASSES, KerasTensor, Layer, _call_context, flatten,
                           get_layer_class, pack_like, snake_case, unique_name)
from ..layers.core import InputLayer
from ..mixed_precision.dtype_policy import serialize as _serialize_policy
from ..ops import cast, convert_to_tensor
from .summary import print_summary
from .data_preparation import _is_number_list
from .training import Saving, Trainer


class Model(Trainer, Saving, Layer):
    """``Model(inputs=..., outputs=...)`` builds a graph; subclass and define ``call`` for a
    model written as Python code."""

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", args[0] if args else None)
        outputs = kwargs.pop("outputs", args[1] if len(args) > 1 else None)
        name = kwargs.pop("name", None)
        trainable = kwargs.pop("trainable", True)
        if (inputs is None) != (outputs is None):
            raise ValueError("Model: give both `inputs` and `outputs`, or neither (for a "
                             "subclassed model).")
        default = "model" if type(self) is Model or inputs is not None \
            else snake_case(type(self).__name__)
        Layer.__init__(self, name=name or unique_name(default), trainable=trainable, **kwargs)
        Trainer.__init__(self)
        self._is_graph_network = inputs is not None
        if self._is_graph_network:
            self._init_graph(inputs, outputs)

    # --- graph construction --------------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        self._nested_inputs = inputs
        self._nested_outputs = outputs
        self.inputs = flatten(inputs)
        self.outputs = flatten(outputs)
        for kind, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            for t in tensors:
                if not isinstance(t, KerasTensor):
                    raise TypeError(
                        f"Model '{self.name}': all {kind} must be symbolic tensors (from "
                        f"Input or a layer called on one), received {type(t).__name__}.")
        for t in self.inputs:
            layer = t._keras_history[0]
            if not isinstance(layer, InputLayer):
                raise ValueError(
                    f"Model '{self.name}': inputs must be tensors returned by Input(), but "
                    f"{t.name} is the output of layer '{layer.name}'.")
        self._map_graph()
        self._is_graph_network = True
        self.built = True
        self._batch_input_shape = None

    def _map_graph(self):
        """Order layers and nodes as Keras does: by depth from the outputs, decreasing."""
        nodes_in_order, layer_indices, finished, visiting = [], {}, set(), set()

        def visit(node):
            if id(node) in finished:
                return
            if id(node) in visiting:
                raise ValueError(f"Model '{self.name}': the graph has a cycle.")
            layer_indices.setdefault(node.layer, len(layer_indices))
            visiting.add(id(node))
            for t in node.input_tensors:
                layer, index, _ = t._keras_history
                visit(layer._inbound_nodes[index])
            visiting.discard(id(node))
            finished.add(id(node))
            nodes_in_order.append(node)

        for t in self.outputs:
            layer, index, _ = t._keras_history
            visit(layer._inbound_nodes[index])

        node_depth, layer_depth = {}, {}
        for node in reversed(nodes_in_order):
            depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(node.layer, 0))
            layer_depth[node.layer] = depth
            node_depth[id(node)] = depth
            for parent in node.parent_nodes:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
        for t in self.inputs:
            layer = t._keras_history[0]
            if layer not in layer_depth:
                raise ValueError(f"Model '{self.name}': input '{t.name}' is not connected "
                                 "to the outputs.")
        # every symbolic input the outputs need must be among the model's inputs
        given = {id(t) for t in self.inputs}
        for node in nodes_in_order:
            if isinstance(node.layer, InputLayer) and id(node.output_tensors[0]) not in given:
                raise ValueError(
                    f"Model '{self.name}': graph disconnected: the outputs need input "
                    f"'{node.layer.name}', which is not in the model's inputs.")
        self._network_nodes = {id(n) for n in nodes_in_order}
        by_depth = {}
        for node in nodes_in_order:
            by_depth.setdefault(node_depth[id(node)], []).append(node)
        self._execution_nodes = [n for d in sorted(by_depth, reverse=True) for n in by_depth[d]
                                 if not isinstance(n.layer, InputLayer)]
        self._nodes_by_depth = by_depth
        layers_by_depth = {}
        for layer, depth in layer_depth.items():
            layers_by_depth.setdefault(depth, []).append(layer)
        ordered = []
        for depth in sorted(layers_by_depth, reverse=True):
            ordered.extend(sorted(layers_by_depth[depth], key=lambda l: layer_indices[l]))
        object.__setattr__(self, "_layers", ordered)

    @property
    def layers(self):
        return list(self._layers)

    @property
    def input_names(self):
        return [t._keras_history[0].name for t in self.inputs]

    @property
    def output_names(self):
        """The keys of dict outputs; otherwise the output layers' names, made unique as Keras
        does (``dense``, ``dense_1``, ...)."""
        if isinstance(self._nested_outputs, dict):
            return list(self._nested_outputs)
        names, counts = [], {}
        for t in self.outputs:
            base = proposal = t._keras_history[0].name
            while proposal in names:
                counts[base] = counts.get(base, 1)
                proposal = f"{base}_{counts[base]}"
                counts[base] += 1
            names.append(proposal)
        return names

    # --- properties Keras exposes on models --------------------------------------------
    @property
    def input(self):
        if not self._is_graph_network:
            return Layer.input.fget(self)
        return self.inputs[0] if len(self.inputs) == 1 else list(self.inputs)

    @property
    def output(self):
        if not self._is_graph_network:
            return Layer.output.fget(self)
        return self.outputs[0] if len(self.outputs) == 1 else list(self.outputs)

    @property
    def input_shape(self):
        if not self._is_graph_network:
            return Layer.input_shape.fget(self)
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        if not self._is_graph_network:
            return Layer.output_shape.fget(self)
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    # --- running -------------------------------------------------------------------------
    def _standardize_inputs(self, inputs):
        """A list aligned with ``self.inputs`` from one value, a list, or a dict by name."""
        n = len(self.inputs)
        if isinstance(inputs, dict):
            missing = [name for name in self.input_names if name not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}': missing data for input(s) "
                                 f"{missing}; the dict holds {sorted(inputs)}.")
            return [inputs[name] for name in self.input_names]
        if isinstance(inputs, (list, tuple)) and (n > 1 or len(inputs) == 1 and n == 1
                                                  and not _is_number_list(inputs)):
            inputs = list(inputs)
        else:
            inputs = [inputs]
        if len(inputs) != n:
            raise ValueError(f"Model '{self.name}' expects {n} input(s) "
                             f"({', '.join(self.input_names)}), but received {len(inputs)}.")
        return inputs

    def _convert_inputs(self, inputs):
        if not self._is_graph_network:
            return Layer._convert_inputs(self, inputs)
        out = []
        for x, spec in zip(self._standardize_inputs(inputs), self.inputs):
            t = x if isinstance(x, Tensor) else convert_to_tensor(
                x if _backend().is_array(x) else numpy.asarray(x))
            if t.dtype != spec.dtype:  # as Keras 3: data takes the dtype of its Input
                t = cast(t, spec.dtype)
            out.append(t)
        return out

    def _assert_input_compatibility(self, flat, shapes):
        if not self._is_graph_network:
            return Layer._assert_input_compatibility(self, flat, shapes)
        for i, (shape, spec) in enumerate(zip(shapes, self.inputs)):
            if len(shape) != len(spec.shape) or any(
                    s is not None and d is not None and s != d
                    for s, d in zip(spec.shape[1:], shape[1:])):
                raise ValueError(
                    f'Input {i} of model "{self.name}" is incompatible with the model: '
                    f"expected shape {spec.shape}, but received input with shape "
                    f"{tuple(shape)}")

    def _input_shape_of(self, flat_shapes, inputs):
        if self._is_graph_network:
            return flat_shapes[0] if len(flat_shapes) == 1 else list(flat_shapes)
        return Layer._input_shape_of(self, flat_shapes, inputs)

    def call(self, inputs, training=None, mask=None):
        if not self._is_graph_network:
            raise NotImplementedError(f"Model '{self.name}' was created without inputs and "
                                      "outputs: a subclass must define call().")
        return self._run_graph(inputs, training)

    def _run_graph(self, inputs, training):
        # As Keras 3: a `training` given to this call (or an outer one) overrides any that a
        # layer was given when the graph was built; otherwise that one stands.
        explicit = _call_context.training
        if explicit is None and training:  # call() used directly, not through __call__
            explicit = True
        values = {id(spec): x for spec, x in zip(self.inputs, inputs)}
        for node in self._execution_nodes:
            args = pack_like(node.call_args, [values[id(t)] for t in node.input_tensors])
            kwargs = node.call_kwargs
            if explicit is not None:
                kwargs = {**kwargs, "training": explicit}
            outputs = node.layer(args, **kwargs)
            for t, value in zip(node.output_tensors, flatten(outputs)):
                values[id(t)] = value
        return pack_like(self._nested_outputs, [values[id(t)] for t in self.outputs])

    def compute_output_shape(self, input_shape):
        if not self._is_graph_network:
            return Layer.compute_output_shape(self, input_shape)
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        batch = shapes[0][0] if shapes and shapes[0] else None
        out = [(batch,) + tuple(t.shape[1:]) for t in self.outputs]
        return out[0] if len(out) == 1 and not isinstance(self._nested_outputs, list) else out

    def build(self, input_shape):
        if self._is_graph_network:
            self.built = True
            return
        if input_shape is None:
            raise ValueError(f"Model '{self.name}': build() needs an input shape.")
        # a subclassed model builds by running call on zeros of that shape
        shapes = input_shape if isinstance(input_shape, list) and input_shape and \
            isinstance(input_shape[0], (tuple, list)) else [input_shape]
        xp = _backend().xp
        args = [Tensor(xp.zeros(tuple(1 if d is None else d for d in s), dtype=self.dtype))
                for s in shapes]
        self.built = True
        self.call(args if len(args) > 1 else args[0])

    # --- introspection ---------------------------------------------------------------------
    def reset_states(self):
        """Zero the carried states of every stateful layer (Keras 2's ``Model.reset_states``)."""
        for layer in self._flatten_layers():
            if layer is not self and getattr(layer, "stateful", False) and \
                    hasattr(layer, "reset_states"):
                layer.reset_states()

    def get_layer(self, name=None, index=None):
        """The layer called ``name``, or at position ``index`` of ``layers``."""
        if index is not None and name is not None:
            raise ValueError("get_layer: give `name` or `index`, not both.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range: model "
                                 f"'{self.name}' has {len(layers)} layers.")
            return layers[index]
        if name is None:
            raise ValueError("get_layer: give a layer `name` or an `index`.")
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in layers]}.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False):
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested)

    # --- configuration -------------------------------------------------------------------
    def get_config(self):
        if not self._is_graph_network:
            return {"name": self.name, "trainable": self.trainable}
        layer_configs = []
        node_index_map = {}
        for layer in self.layers:
            kept = 0
            for original, node in enumerate(layer._inbound_nodes):
                if id(node) in self._network_nodes:
                    node_index_map[(id(layer), original)] = kept
                    kept += 1
        for layer in self.layers:
            inbound = []
            for node in layer._inbound_nodes:
                if id(node) not in self._network_nodes or not node.input_tensors:
                    continue
                entries = []
                for t in node.input_tensors:
                    src, index, tensor_index = t._keras_history
                    entry = [src.name, node_index_map[(id(src), index)], tensor_index,
                             node.call_kwargs]
                    entries.append(entry)
                inbound.append(entries)
            layer_configs.append({"class_name": type(layer).__name__,
                                  "config": layer.get_config(), "name": layer.name,
                                  "inbound_nodes": inbound})

        def refs(tensors):
            out = []
            for t in tensors:
                layer, index, tensor_index = t._keras_history
                out.append([layer.name, node_index_map[(id(layer), index)], tensor_index])
            return out
        return {"name": self.name, "layers": layer_configs,
                "input_layers": _structure_refs(self._nested_inputs, refs(self.inputs)),
                "output_layers": _structure_refs(self._nested_outputs, refs(self.outputs)),
                **_policy_config(self)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "input_layers" not in config:
            if cls is Model and "layers" in config:
                from .sequential import Sequential
                return Sequential.from_config(config, custom_objects=custom_objects)
            return cls(**config)
        return _functional_from_config(cls, config, custom_objects)

    def to_json(self, **kwargs):
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config(),
                           "keras_version": "2.15.0", "backend": "gkeras"}, **kwargs)


_LAYER_CLASSES.setdefault("Functional", Model)  # Keras 3 saves functional models so


def _policy_config(model):
    """``{'dtype': ...}`` for a mixed-precision model (Keras 3 saves a model's policy, which
    decides compile's loss scaling), else nothing: Keras 2's model configs had no dtype."""
    return {"dtype": _serialize_policy(model.dtype_policy)} if model.dtype_policy.is_mixed \
        else {}


def _set_saved_policy(model, config):
    if isinstance(config, dict) and config.get("dtype") is not None:
        model.dtype_policy = config["dtype"]


def _structure_refs(structure, refs):
    if isinstance(structure, dict):
        return dict(zip(structure.keys(), refs))
    return refs


def _functional_from_config(cls, config, custom_objects=None):
    """Rebuild a graph from Keras 2's config format (layers with ``inbound_nodes``)."""
    created = {}
    config = {**config, "layers": _without_keras3_mask_operations(config["layers"])}
    pending = list(config["layers"])
    for spec in pending:
        layer_cls = get_layer_class(spec["class_name"], custom_objects)
        if spec["class_name"] in ("Model", "Functional", "Sequential") or \
                issubclass(layer_cls, Model):
            created[spec["name"]] = layer_cls.from_config(spec["config"],
                                                          custom_objects=custom_objects)
        else:
            created[spec["name"]] = layer_cls.from_config(spec["config"])
    outputs_of = {}  # layer name -> list of node outputs (as flattened lists)
    for layer in created.values():
        if isinstance(layer, InputLayer):
            outputs_of[layer.name] = [[layer._inbound_nodes[0].outputs]]
    remaining = [(spec["name"], node) for spec in config["layers"]
                 for node in spec.get("inbound_nodes", [])]
    while remaining:
        progress = False
        for item in list(remaining):
            name, node = item
            if isinstance(node, dict):  # Keras 3: {'args': [...], 'kwargs': {...}}
                refs = _keras3_refs(node)
            else:  # Keras 2: [[layer_name, node_index, tensor_index, kwargs], ...]
                refs = [tuple(entry[:3]) for entry in node]
            if not all(ref[0] in outputs_of and len(outputs_of[ref[0]]) > ref[1]
                       for ref in refs):
                continue
            if isinstance(node, dict):
                args = _resolve_keras3(node.get("args", []), outputs_of)
                kwargs = _resolve_keras3(node.get("kwargs") or {}, outputs_of)
                out = created[name](*args, **kwargs)
            else:
                args = [outputs_of[ref[0]][ref[1]][ref[2]] for ref in refs]
                kwargs = (node[0][3] if len(node[0]) > 3 else None) or {}
                out = created[name](args[0] if len(args) == 1 else args, **kwargs)
            outputs_of.setdefault(name, []).append(flatten(out))
            remaining.remove(item)
            progress = True
        if not progress:
            raise ValueError("Model config: cannot resolve the inbound nodes of layer(s) "
                             f"{sorted({name for name, _ in remaining})}.")

    def resolve(refs):
        if isinstance(refs, dict):
            return {k: outputs_of[r[0]][r[1]][r[2]] for k, r in refs.items()}
        if refs and not isinstance(refs[0], list):
            refs = [refs]
        return [outputs_of[r[0]][r[1]][r[2]] for r in refs]

    inputs = resolve(config["input_layers"])
    outputs = resolve(config["output_layers"])
    if isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    if isinstance(outputs, list) and len(outputs) == 1:
        outputs = outputs[0]
    model = cls(inputs=inputs, outputs=outputs, name=config.get("name"))
    _set_saved_policy(model, config)
    if config.get("trainable") is False:
        model.trainable = False
    return model


def _without_keras3_mask_operations(specs):
    """Keras 3 records the operations that compute masks (``NotEqual`` for an Embedding with
    ``mask_zero``) as layers of a functional config and passes their outputs as ``mask=``.
    gkeras's layers compute and propagate those masks themselves, so operations used only as
    masks are left out, with the ``mask=`` arguments that refer to them; any other use of an
    operation stays an "Unknown layer class" error."""
    operations = {spec["name"] for spec in specs  # Keras 3's legacy .h5 drops the module
                  if str(spec.get("module") or "").startswith("keras.src.ops") or
                  spec.get("class_name") not in _LAYER_CLASSES}
    if not operations:
        return specs

    def referenced(structure):
        return {ref[0] for ref in _keras3_refs(structure)}
    used_otherwise = set()
    for spec in specs:
        for node in spec.get("inbound_nodes", []):
            if isinstance(node, dict):
                kwargs = {k: v for k, v in (node.get("kwargs") or {}).items() if k != "mask"}
                used_otherwise |= referenced(node.get("args", [])) | referenced(kwargs)
    dropped = operations - used_otherwise
    kept = []
    for spec in specs:
        if spec["name"] in dropped:
            continue
        nodes = []
        for node in spec.get("inbound_nodes", []):
            if isinstance(node, dict) and "mask" in (node.get("kwargs") or {}) and \
                    referenced(node["kwargs"]["mask"]) <= dropped:
                node = {**node, "kwargs": {k: v for k, v in node["kwargs"].items()
                                           if k != "mask"}}
            nodes.append(node)
        kept.append({**spec, "inbound_nodes": nodes})
    return kept


def _is_keras3_tensor(value):
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _keras3_refs(structure):
    """The ``(layer, node, tensor)`` histories of the tensors in a Keras 3 node config."""
    if _is_keras3_tensor(structure):
        return [tuple(structure["config"]["keras_history"])]
    items = structure.values() if isinstance(structure, dict) else \
        structure if isinstance(structure, (list, tuple)) else []
    return [ref for item in items for ref in _keras3_refs(item)]


def _resolve_keras3(structure, outputs_of):
    """``structure`` with each saved Keras 3 tensor replaced by the rebuilt tensor."""
    if _is_keras3_tensor(structure):
        layer, node, tensor = structure["config"]["keras_history"]
        return outputs_of[layer][node][tensor]
    if isinstance(structure, dict):
        return {k: _resolve_keras3(v, outputs_of) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [_resolve_keras3(v, outputs_of) for v in structure]
    return structure

