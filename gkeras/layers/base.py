"""``Layer``, symbolic ``KerasTensor``s and the ``Node``s that link them into graphs."""
import contextlib
import inspect
import re

import numpy

from .. import config, initializers, regularizers, constraints
from ..autograd import Tensor
from ..backends import current as _backend
from ..mixed_precision.dtype_policy import get as _get_policy, serialize as _serialize_policy
from ..ops import cast, convert_to_tensor
from ..ops.core import is_float_dtype
from ..variables import AutocastScope, Variable
from ..serialization import with_custom_objects

_LAYER_CLASSES = {}
_NO_AUTOCAST = contextlib.nullcontext()
_name_counts = {}


def unique_name(base):
    """``base``, then ``base_1``, ``base_2``, ... for the rest of the session."""
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def reset_names():
    _name_counts.clear()


def snake_case(name):
    """Keras 2's ``to_snake_case``: ``MaxPooling2D`` -> ``max_pooling2d``,
    ``Conv2DTranspose`` -> ``conv2d_transpose``, ``ReLU`` -> ``re_lu``."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def flatten(structure):
    """The leaves of nested lists/tuples/dicts (dicts in insertion order)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for item in structure.values() for leaf in flatten(item)]
    return [structure]


def pack_like(structure, flat):
    """Rebuild ``structure`` with the leaves of ``flat`` (inverse of ``flatten``)."""
    leaves = iter(flat)

    def build(s):
        if isinstance(s, (list, tuple)):
            return type(s)(build(item) for item in s)
        if isinstance(s, dict):
            return {k: build(v) for k, v in s.items()}
        return next(leaves)
    return build(structure)


def shape_str(shape):
    return str(tuple(shape)) if not isinstance(shape, list) else str([tuple(s) for s in shape])


class KerasTensor:
    """A symbolic tensor: shape (``None`` for unknown sizes), dtype and the layer making it."""

    def __init__(self, shape, dtype=None, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = str(numpy.dtype(dtype or config.floatx()))
        self.name = name
        self._keras_history = None  # (layer, node_index, tensor_index)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self!r} is symbolic: it has no value. Build a Model from it and call "
            "predict(), or call the layers on arrays to compute eagerly.")


class Node:
    """One call of a layer on symbolic inputs."""

    def __init__(self, layer, call_args, outputs, call_kwargs):
        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs
        self.input_tensors = [t for t in flatten(call_args) if isinstance(t, KerasTensor)]
        self.outputs = outputs
        self.output_tensors = flatten(outputs)
        self.parent_nodes = [t._keras_history[0]._inbound_nodes[t._keras_history[1]]
                             for t in self.input_tensors if t._keras_history]
        node_index = len(layer._inbound_nodes)
        for i, t in enumerate(self.output_tensors):
            t._keras_history = (layer, node_index, i)
        layer._inbound_nodes.append(self)
        for parent in self.parent_nodes:
            parent.layer._outbound_nodes.append(self)

    @property
    def input_shapes(self):
        shapes = [t.shape for t in self.input_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shapes(self):
        shapes = [t.shape for t in self.output_tensors]
        return shapes[0] if len(shapes) == 1 else shapes


class InputSpec:
    """What a layer accepts: ``ndim``, ``min_ndim``, ``max_ndim``, fixed ``axes`` sizes."""

    def __init__(self, ndim=None, min_ndim=None, max_ndim=None, axes=None, dtype=None):
        self.ndim = ndim
        self.min_ndim = min_ndim
        self.max_ndim = max_ndim
        self.axes = dict(axes or {})
        self.dtype = dtype


class _CallContext:
    training = None
    learning_phase = None  # 0 or 1 once fixed by keras.backend.set_learning_phase
    depth = 0  # layer calls in progress; the outermost one clears the layers' losses


_call_context = _CallContext()


def _accepts(fn, name):
    params = inspect.signature(fn).parameters
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


class Layer:
    """Base class of every layer: weights, build-on-first-call, symbolic and eager calls."""

    _signature_cache = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _LAYER_CLASSES.setdefault(cls.__name__, cls)

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None,
                 batch_input_shape=None, batch_size=None, input_dim=None,
                 activity_regularizer=None, weights=None, **kwargs):
        # Keras 3: autocast=False keeps the variables in their own dtype inside call
        self._autocast = kwargs.pop("autocast", True)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{', '.join(sorted(kwargs))}.")
        object.__setattr__(self, "_layers", [])
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._dtype_policy = _policy(self, dtype)
        self._trainable = trainable
        self._trainable_weights = []
        self._non_trainable_weights = []
        self._losses = []
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._inbound_nodes = []
        self._outbound_nodes = []
        self.built = False
        self.supports_masking = False
        self.input_spec = None
        self._build_input_shape = None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        else:
            self._batch_input_shape = None
        # Keras 2's ``weights=[...]``: initial values, set right after the layer is built
        self._initial_weights = None if weights is None else list(weights) \
            if isinstance(weights, (list, tuple)) else [weights]

    # --- attribute tracking -------------------------------------------------------------
    def __setattr__(self, name, value):
        if not name.startswith("_") or name == "_layers_list":
            tracked = getattr(self, "_layers", None)
            if tracked is not None:
                for item in value if isinstance(value, (list, tuple)) else [value]:
                    if isinstance(item, Layer) and item is not self and \
                            all(item is not t for t in tracked):
                        tracked.append(item)
        object.__setattr__(self, name, value)

    # --- weights ---------------------------------------------------------------------------
    def add_weight(self, *args, **kwargs):
        """Create a ``Variable`` owned by this layer. Positional arguments follow Keras 2
        (``name, shape, dtype, initializer, ...``) when the first is a name, else Keras 3
        (``shape, initializer, dtype, ...``)."""
        order = _ADD_WEIGHT_KERAS2 if not args or isinstance(args[0], (str, type(None))) \
            else _ADD_WEIGHT_KERAS3
        if len(args) > len(order):
            raise TypeError(f"Layer '{self.name}': add_weight takes at most {len(order)} "
                            f"positional arguments, received {len(args)}.")
        for key, value in zip(order, args):
            if key in kwargs:
                raise TypeError(f"Layer '{self.name}': add_weight got multiple values for "
                                f"argument '{key}'.")
            kwargs[key] = value
        unknown = set(kwargs) - set(_ADD_WEIGHT_KERAS2) - set(_ADD_WEIGHT_KERAS3)
        if unknown:
            raise TypeError(f"Layer '{self.name}': add_weight got unexpected keyword "
                            f"argument(s) {', '.join(sorted(unknown))}.")
        name, shape, dtype = kwargs.get("name"), kwargs.get("shape"), kwargs.get("dtype")
        initializer, trainable = kwargs.get("initializer"), kwargs.get("trainable", True)
        regularizer, constraint = kwargs.get("regularizer"), kwargs.get("constraint")
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = str(numpy.dtype(dtype or self.variable_dtype))
        if initializer is None:
            initializer = "glorot_uniform" if is_float_dtype(dtype) else "zeros"
        init = initializers.get(initializer)
        variable = Variable(init(shape, dtype), dtype=dtype, trainable=trainable,
                            name=name or "variable", constraint=constraints.get(constraint),
                            regularizer=regularizers.get(regularizer),
                            autocast=kwargs.get("autocast", True))
        variable.path = f"{self.name}/{variable.name}"
        # a frozen layer's weights get no gradient (the layer flag gates the weight's own)
        variable.requires_grad = trainable and self._trainable
        (self._trainable_weights if trainable else self._non_trainable_weights).append(variable)
        return variable

    # --- dtype policy (Keras 3): variables in variable_dtype, computations in compute_dtype --
    @property
    def dtype_policy(self):
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        self._dtype_policy = _policy(self, value)

    @property
    def dtype(self):
        """The dtype of the layer's weights (Keras 3: ``dtype_policy.variable_dtype``)."""
        return self._dtype_policy.variable_dtype

    @dtype.setter
    def dtype(self, value):
        self._dtype_policy = _policy(self, value)

    @property
    def compute_dtype(self):
        """The dtype of the layer's computations: float inputs are cast to it."""
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self._dtype_policy.variable_dtype

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """As Keras 3: sets the flag of this layer, of its sublayers and of every weight it
        created trainable."""
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value
        for w in self._trainable_weights:
            w.trainable = self._trainable

    @property
    def weights(self):
        """Own weights (trainable first, as Keras 3), then those of nested layers."""
        own = self._trainable_weights + self._non_trainable_weights
        return _dedup(own + [w for layer in self._layers for w in layer.weights])

    @property
    def trainable_weights(self):
        if not self._trainable:
            return []
        own = [w for w in self._trainable_weights if w.trainable]
        nested = [w for layer in self._layers for w in layer.trainable_weights]
        return _dedup(own + nested)

    @property
    def non_trainable_weights(self):
        if not self._trainable:
            return self.weights
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def count_params(self):
        return int(sum(int(numpy.prod(w.shape)) for w in self.weights))

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(
                f"Layer '{self.name}' expects {len(params)} weight(s) "
                f"({', '.join(shape_str(p.shape) for p in params) or 'none'}), "
                f"but received {len(weights)}.")
        for p, w in zip(params, weights):
            w = numpy.asarray(w)
            if tuple(w.shape) != p.shape:
                raise ValueError(
                    f"Layer '{self.name}': weight '{p.name}' has shape {p.shape}, but the "
                    f"provided weight has shape {tuple(w.shape)}.")
        for p, w in zip(params, weights):
            p.assign(numpy.asarray(w))

    @property
    def losses(self):
        """Losses of the latest call (``add_loss``, activity regularizers) of this layer and
        its sublayers, then the regularization losses of the trainable weights (as Keras 3)."""
        out = [loss for layer in self._flatten_layers() for loss in layer._losses]
        out.extend(w.regularizer(w) for w in self.trainable_weights if w.regularizer is not None)
        return out

    def add_loss(self, loss):
        self._losses.append(loss)

    def _flatten_layers(self):
        """This layer and every layer nested in it, each once."""
        out, seen, stack = [], set(), [self]
        while stack:
            layer = stack.pop()
            if id(layer) not in seen:
                seen.add(id(layer))
                out.append(layer)
                stack.extend(reversed(layer._layers))
        return out

    # --- building and calling ------------------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def _maybe_build(self, input_shape):
        if not self.built:
            self._build_input_shape = input_shape
            self.build(input_shape)
            self.built = True
            if self._initial_weights is not None:
                initial, self._initial_weights = self._initial_weights, None
                self.set_weights(initial)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        """Shape inference; the default runs ``call`` on small zero arrays to find it."""
        return self._traced_output_shape(input_shape)

    def _traced_output_shape(self, input_shape):
        shapes = input_shape if _is_shape_list(input_shape) else [input_shape]
        results = []
        # the trace's losses are not real ones: keep those of the call in progress, if any
        saved = [(layer, list(layer._losses)) for layer in self._flatten_layers()]
        try:
            for fill in (2, 3):
                xp = _backend().xp
                args = [Tensor(xp.zeros(tuple(fill if d is None else d for d in s),
                                        dtype=self.compute_dtype)) for s in shapes]
                out = self._call_eager(args if _is_shape_list(input_shape) else args[0], {})
                results.append([o.shape for o in flatten(out)])
        finally:
            for layer, losses in saved:
                layer._losses = losses
        merged = [tuple(a if a == b else None for a, b in zip(s2, s3))
                  for s2, s3 in zip(*results)]
        return merged[0] if len(merged) == 1 else merged

    def compute_mask(self, inputs, mask=None):
        if not self.supports_masking:
            return None
        return mask

    def __call__(self, *args, **kwargs):
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"Layer '{self.name}' was called without inputs.")
            args = (kwargs.pop("inputs"),)
        inputs = args[0] if len(args) == 1 else list(args)
        flat = flatten(inputs)
        if any(isinstance(t, KerasTensor) for t in flat):
            return self._call_symbolic(inputs, flat, kwargs)
        return self._call_eager(inputs, kwargs)

    def _input_shape_of(self, flat_shapes, inputs):
        if isinstance(inputs, (list, tuple, dict)):
            return list(flat_shapes)
        return flat_shapes[0]

    def _call_symbolic(self, inputs, flat, kwargs):
        for t in flat:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Layer '{self.name}': cannot mix symbolic inputs (from Input) "
                                f"with {type(t).__name__} values in one call.")
        input_shape = self._input_shape_of([t.shape for t in flat], inputs)
        self._assert_input_compatibility(flat, [t.shape for t in flat])
        self._maybe_build(input_shape)
        output_shape = self.compute_output_shape(input_shape)
        dtypes = self._output_dtypes(flat)
        if _is_shape_list(output_shape):
            outputs = [KerasTensor(s, dtypes) for s in output_shape]
        else:
            outputs = KerasTensor(output_shape, dtypes)
        node = Node(self, inputs, outputs, dict(kwargs))
        for i, t in enumerate(node.output_tensors):
            t.name = f"{self.name}/{len(self._inbound_nodes) - 1}" + (f"/{i}" if i else "")
        return outputs

    def _output_dtypes(self, flat_inputs):
        return self.compute_dtype

    def _call_eager(self, inputs, kwargs):
        inputs = self._convert_inputs(inputs)
        flat = flatten(inputs)
        shapes = [t.shape for t in flat]
        self._assert_input_compatibility(flat, shapes)
        self._maybe_build(self._input_shape_of(shapes, inputs))
        training = kwargs.pop("training", None)
        outer = _call_context.training
        if training is None:
            training = outer
        if _call_context.depth == 0 and _call_context.learning_phase is not None:
            training = bool(_call_context.learning_phase)  # Keras 2: a fixed phase wins
        accepts_training, accepts_mask = self._call_signature()
        if accepts_training:
            kwargs["training"] = bool(training)
        previous_mask = kwargs.get("mask")
        if previous_mask is None:
            masks = [t._keras_mask for t in flat]
            if any(m is not None for m in masks):
                previous_mask = masks[0] if len(masks) == 1 else masks
        if previous_mask is not None and not accepts_mask and not self.supports_masking and \
                type(self).compute_mask is Layer.compute_mask and \
                any(m is not None for m in flatten(previous_mask)):
            # as the guide's Keras 2 (Keras 3 only warns): a mask must not vanish silently
            raise TypeError(f"Layer '{self.name}' ({type(self).__name__}) does not support "
                            "masking, but its input carries a mask (from Embedding(mask_zero="
                            "True), Masking or a layer that propagates one). Put a layer that "
                            "consumes the mask (an RNN, GlobalAveragePooling1D) before it.")
        if accepts_mask and previous_mask is not None:
            kwargs["mask"] = previous_mask
        else:
            kwargs.pop("mask", None)
        if _call_context.depth == 0:  # losses belong to the latest outermost call
            for layer in self._flatten_layers():
                layer._losses = []
        _call_context.depth += 1
        _call_context.training = training  # what nested calls inherit
        try:
            with self._autocast_scope():
                outputs = self.call(inputs, **kwargs)
        finally:
            _call_context.depth -= 1
            _call_context.training = outer
        regularizer = self.activity_regularizer
        if regularizer is not None:
            for o in flatten(outputs):
                # as Keras 3: the penalty is averaged over the batch (when there is one)
                penalty = regularizer(o)
                self._losses.append(penalty / (o.shape[0] or 1) if o.ndim else penalty)
        flat_outputs = flatten(outputs)
        # as Keras 3: masks that call() set itself stand; compute_mask fills in the others
        if (self.supports_masking or type(self).compute_mask is not Layer.compute_mask) and \
                not all(getattr(o, "_keras_mask", None) is not None for o in flat_outputs):
            out_mask = self.compute_mask(inputs, previous_mask)
            if out_mask is not None:
                for o, m in zip(flat_outputs, flatten(out_mask) if isinstance(
                        out_mask, (list, tuple)) else [out_mask] * len(flat_outputs)):
                    if isinstance(o, Tensor):
                        o._keras_mask = m
        return outputs

    def _autocast_scope(self):
        """A mixed layer reads its float32 variables cast to compute_dtype; any other layer
        reads them as they are, also when it is nested in a mixed one."""
        if self._autocast and self._dtype_policy.is_mixed:
            return AutocastScope(self._dtype_policy.compute_dtype)
        return _NO_AUTOCAST if AutocastScope.dtype is None else AutocastScope(None)

    def _call_signature(self):
        key = type(self)
        cached = Layer._signature_cache.get(key)
        if cached is None:
            cached = (_accepts(self.call, "training"), _accepts(self.call, "mask"))
            Layer._signature_cache[key] = cached
        return cached

    def _convert_inputs(self, inputs):
        compute = self._dtype_policy.compute_dtype

        def convert(x):
            if isinstance(x, Tensor):
                t = x
            else:
                t = convert_to_tensor(x if _backend().is_array(x) else numpy.asarray(x))
            if t.dtype != compute and is_float_dtype(t.dtype):
                mask = t._keras_mask
                t = cast(t, compute)
                t._keras_mask = mask
            return t
        if isinstance(inputs, (list, tuple, dict)):
            return pack_like(inputs, [convert(x) for x in flatten(inputs)])
        return convert(inputs)

    def _assert_input_compatibility(self, flat, shapes):
        spec = self.input_spec
        if spec is None:
            return
        specs = spec if isinstance(spec, (list, tuple)) else [spec] * len(shapes)
        for i, (s, shape) in enumerate(zip(specs, shapes)):
            if s is None:
                continue
            prefix = f'Input {i} of layer "{self.name}" is incompatible with the layer:'
            nd = len(shape)
            if s.ndim is not None and nd != s.ndim:
                raise ValueError(f"{prefix} expected ndim={s.ndim}, found ndim={nd}. "
                                 f"Full shape received: {tuple(shape)}")
            if s.min_ndim is not None and nd < s.min_ndim:
                raise ValueError(f"{prefix} expected min_ndim={s.min_ndim}, found ndim={nd}. "
                                 f"Full shape received: {tuple(shape)}")
            if s.max_ndim is not None and nd > s.max_ndim:
                raise ValueError(f"{prefix} expected max_ndim={s.max_ndim}, found ndim={nd}. "
                                 f"Full shape received: {tuple(shape)}")
            for axis, size in s.axes.items():
                got = shape[axis] if -nd <= axis < nd else None
                if size is not None and got is not None and got != size:
                    raise ValueError(
                        f"{prefix} expected axis {axis} of input shape to have value {size}, "
                        f"but received input with shape {tuple(shape)}")

    # --- graph properties ----------------------------------------------------------------
    def _single_node(self, attr):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' is not connected: it has no {attr}. Call it on a "
                "symbolic tensor (from Input) first.")
        if len(self._inbound_nodes) > 1:
            raise AttributeError(
                f"Layer '{self.name}' has multiple inbound nodes ({len(self._inbound_nodes)}), "
                f"hence the notion of 'layer {attr}' is ill-defined. Use "
                f"get_{attr}_at(node_index) instead.")
        return self._inbound_nodes[0]

    def _node_at(self, node_index, attr):
        if not 0 <= node_index < len(self._inbound_nodes):
            raise ValueError(f"Layer '{self.name}': asked for the {attr} of node {node_index}, "
                             f"but the layer has only {len(self._inbound_nodes)} inbound node(s).")
        return self._inbound_nodes[node_index]

    @staticmethod
    def _unwrap(items):
        return items[0] if len(items) == 1 else list(items)

    @property
    def input(self):
        return self._unwrap(self._single_node("input").input_tensors)

    @property
    def output(self):
        return self._unwrap(self._single_node("output").output_tensors)

    @property
    def input_shape(self):
        return self._single_node("input_shape").input_shapes

    @property
    def output_shape(self):
        return self._single_node("output_shape").output_shapes

    def get_input_at(self, node_index):
        return self._unwrap(self._node_at(node_index, "input").input_tensors)

    def get_output_at(self, node_index):
        return self._unwrap(self._node_at(node_index, "output").output_tensors)

    def get_input_shape_at(self, node_index):
        return self._node_at(node_index, "input shape").input_shapes

    def get_output_shape_at(self, node_index):
        return self._node_at(node_index, "output shape").output_shapes

    # --- configuration ---------------------------------------------------------------------
    def get_config(self):
        cfg = {"name": self.name, "trainable": self.trainable, "dtype": _dtype_config(self)}
        if self.activity_regularizer is not None:
            cfg["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self._batch_input_shape is not None:
            cfg["batch_input_shape"] = list(self._batch_input_shape)
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


_ADD_WEIGHT_KERAS2 = ("name", "shape", "dtype", "initializer", "regularizer", "trainable",
                      "constraint")
# aggregation is accepted for compatibility (it changes nothing here); autocast=False keeps
# the weight out of mixed precision's casting
_ADD_WEIGHT_KERAS3 = ("shape", "initializer", "dtype", "trainable", "autocast", "regularizer",
                      "constraint", "aggregation", "name")


def _policy(layer, dtype):
    """The layer's ``DTypePolicy`` from ``dtype=``: a policy, its name ('mixed_float16'), a
    dtype, a saved policy (Keras 3 ``DTypePolicy``, tf.keras ``Policy``), or None for the
    global policy."""
    try:
        return _get_policy(dtype)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': unsupported dtype {dtype!r} "
                         f"({e})") from None


def _dtype_config(layer):
    """``dtype`` in a layer config: the dtype name for a one-dtype policy (as Keras 2 wrote
    it), Keras 3's serialized policy for a mixed one."""
    policy = layer.dtype_policy
    return _serialize_policy(policy) if policy.is_mixed else policy.name


def _dedup(weights):
    seen, out = set(), []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


def _is_shape_list(shape):
    return isinstance(shape, list) and all(isinstance(s, (tuple, list)) for s in shape)


def get_layer_class(name, custom_objects=None):
    custom_objects = with_custom_objects(custom_objects)
    if name in custom_objects:
        return custom_objects[name]
    if name not in _LAYER_CLASSES:
        raise ValueError(f"Unknown layer class {name!r}. If it is a custom layer, pass it in "
                         "custom_objects={name: cls}.")
    return _LAYER_CLASSES[name]
