"""Layer wrappers (``gkeras.layers.wrappers``): ``TimeDistributed`` and ``Bidirectional``."""
from .. import ops
from .base import Layer


def _serialize(layer):
    from . import serialize
    return serialize(layer)


def _deserialize(config, custom_objects=None):
    from . import deserialize
    return deserialize(config, custom_objects)


class Wrapper(Layer):
    """A layer that wraps another one (``layer``), whose weights it owns."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: expected a Layer instance to wrap, "
                             f"received {layer!r}.")
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs and \
                layer._batch_input_shape is not None:
            kwargs["batch_input_shape"] = layer._batch_input_shape
        # inputs are cast to the wrapper's compute dtype: the wrapped layer's policy
        kwargs.setdefault("dtype", layer.dtype_policy)
        super().__init__(**kwargs)

    def get_config(self):
        return {**super().get_config(), "layer": _serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        return cls(**config)


class TimeDistributed(Wrapper):
    """Apply ``layer`` to every timestep: input ``(batch, timesteps, ...)``, the wrapped layer
    sees ``(batch * timesteps, ...)``. The mask (if any) passes through unchanged."""

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.layer = layer
        self.supports_masking = True

    def _check(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed '{self.name}': the input must be at least 3-D "
                             f"(batch, timesteps, ...), received {tuple(input_shape)}.")

    def build(self, input_shape):
        self._check(input_shape)
        self.layer._maybe_build((None,) + tuple(input_shape[2:]))
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return tuple(input_shape[:2]) + tuple(inner[1:])

    def call(self, inputs, training=None):
        batch, steps = inputs.shape[:2]
        flat = ops.reshape(inputs, (batch * steps,) + tuple(inputs.shape[2:]))
        outputs = self.layer(flat, training=training)
        return ops.reshape(outputs, (batch, steps) + tuple(outputs.shape[1:]))

    def compute_mask(self, inputs, mask=None):
        return mask


_MERGE_MODES = ("sum", "mul", "concat", "ave", None)


class Bidirectional(Wrapper):
    """Run a recurrent layer forwards and a copy of it backwards and merge the outputs
    (``merge_mode`` 'concat', 'sum', 'mul', 'ave', or None for a list of both).

    The forward layer is a copy of ``layer`` named ``forward_<name>``; the backward one is
    ``backward_layer`` or a copy with ``go_backwards`` flipped named ``backward_<name>``. Its
    output sequence is reversed back to input order before merging. Weights: the forward
    layer's, then the backward layer's. With ``return_state`` the forward states follow the
    output(s), then the backward states; ``initial_state`` takes them in that order too.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: invalid merge_mode {merge_mode!r}; expected one "
                             "of 'sum', 'mul', 'concat', 'ave', None.")
        for role, wrapped in (("layer", layer), ("backward_layer", backward_layer)):
            if wrapped is not None and not hasattr(wrapped, "go_backwards"):
                raise ValueError(f"Bidirectional: `{role}` must be a recurrent layer (SimpleRNN, "
                                 f"GRU, LSTM), received {wrapped!r}.")
        super().__init__(layer, weights=weights, **kwargs)
        self.forward_layer = self._copy(layer, "forward_")
        if backward_layer is None:
            self.backward_layer = self._copy(layer, "backward_",
                                             go_backwards=not layer.go_backwards)
        else:
            self.backward_layer = backward_layer
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError("Bidirectional: the forward and backward layers must have "
                             f"different go_backwards values, received {forward.go_backwards} "
                             "for both.")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, attr) != getattr(backward, attr):
                raise ValueError(f"Bidirectional: the forward and backward layers must have "
                                 f"the same {attr}, received {getattr(forward, attr)} and "
                                 f"{getattr(backward, attr)}.")
        # as Keras: masked steps output 0 so the two directions line up when merged
        forward.zero_output_for_mask = backward.zero_output_for_mask = forward.return_sequences
        self.merge_mode = merge_mode
        self.stateful, self.return_state = forward.stateful, forward.return_state
        self.return_sequences = forward.return_sequences
        self.supports_masking = True

    @staticmethod
    def _copy(layer, prefix, **changes):
        config = _serialize(layer)
        name = layer.name[len(prefix):] if layer.name.startswith(prefix) else layer.name
        config["config"] = {**config["config"], "name": prefix + name, **changes}
        config["config"].pop("batch_input_shape", None)
        return _deserialize(config)

    @property
    def layer(self):
        return self.forward_layer

    def __call__(self, *args, initial_state=None, **kwargs):
        if initial_state is not None:
            inputs = args[0] if args else kwargs.pop("inputs")
            args = ([inputs] + list(initial_state),) + args[1:]
        return super().__call__(*args, **kwargs)

    def build(self, input_shape):
        for layer in (self.forward_layer, self.backward_layer):
            layer._maybe_build(input_shape)
        self.built = True

    def call(self, inputs, mask=None, training=None):
        x, states = (inputs[0], list(inputs[1:])) if isinstance(inputs, (list, tuple)) \
            else (inputs, [])
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        half = len(states) // 2
        if states and len(states) != 2 * half:
            raise ValueError(f"Bidirectional '{self.name}': initial_state needs as many "
                             f"backward as forward states, received {len(states)} states.")
        y = self.forward_layer(x, initial_state=states[:half] or None, mask=mask,
                               training=training)
        y_rev = self.backward_layer(x, initial_state=states[half:] or None, mask=mask,
                                    training=training)
        forward_states = backward_states = []
        if self.return_state:
            y, forward_states = y[0], list(y[1:])
            y_rev, backward_states = y_rev[0], list(y_rev[1:])
        if self.return_sequences:
            y_rev = ops.getitem(y_rev, (slice(None), slice(None, None, -1)))
        if self.merge_mode == "concat":
            output = [ops.concatenate([y, y_rev], axis=-1)]
        elif self.merge_mode == "sum":
            output = [y + y_rev]
        elif self.merge_mode == "ave":
            output = [(y + y_rev) * 0.5]
        elif self.merge_mode == "mul":
            output = [y * y_rev]
        else:
            output = [y, y_rev]
        if self.return_state:
            return output + forward_states + backward_states
        return output[0] if self.merge_mode is not None else output

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (None if shape[-1] is None else 2 * shape[-1],)
        outputs = [tuple(shape)] * (2 if self.merge_mode is None else 1)
        if self.return_state:
            return outputs + states + states
        return outputs[0] if self.merge_mode is not None else outputs

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        outputs = [output_mask] * (2 if self.merge_mode is None else 1)
        if self.return_state:
            n = len(self.forward_layer._state_names)
            return outputs + [None] * (2 * n)
        return outputs[0] if self.merge_mode is not None else outputs

    def reset_states(self, states=None):
        half = None if states is None else len(states) // 2
        self.forward_layer.reset_states(None if states is None else states[:half])
        self.backward_layer.reset_states(None if states is None else states[half:])

    def get_config(self):
        config = {**Layer.get_config(self), "merge_mode": self.merge_mode,
                  "layer": _serialize(self.forward_layer),
                  "backward_layer": _serialize(self.backward_layer)}
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"], custom_objects)
        return cls(**config)
