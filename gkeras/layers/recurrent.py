"""Recurrent layers: SimpleRNN, GRU and LSTM (``gkeras.layers.recurrent``, the guide's path).

Each layer is one call of its sequence op (``ops.simple_rnn``, ``ops.gru``, ``ops.lstm``): one
node of the tape for the whole sequence. Weights are Keras's: ``kernel (input_dim, k*units)``,
``recurrent_kernel (units, k*units)``, ``bias (k*units,)`` (GRU with ``reset_after=True``:
``(2, 3*units)``), gate blocks i, f, c, o (LSTM) and z, r, h (GRU). Defaults follow the guide
(Keras 2): ``recurrent_activation='hard_sigmoid'``, GRU ``reset_after=False``.
"""
import numbers

import numpy

from .. import activations, constraints, initializers, ops, regularizers
from ..autograd import Tensor
from ..backends import current as _backend
from ..ops.recurrent import ACTIVATIONS
from .base import Layer


def _serialize(module, value):
    return None if value is None else module.serialize(value)


class _ForgetBiasOnes(initializers.Initializer):
    """LSTM ``unit_forget_bias``: the forget-gate block 1, the others from ``inner``."""

    def __init__(self, inner, units):
        self.inner, self.units = inner, units

    def __call__(self, shape, dtype=None):
        u = self.units
        return numpy.concatenate([numpy.asarray(self.inner((u,), dtype)), numpy.ones(u, dtype),
                                  numpy.asarray(self.inner((2 * u,), dtype))])


class Recurrent(Layer):
    """Base of the recurrent layers (the guide's abstract ``keras.layers.recurrent.Recurrent``).

    Input ``(batch, timesteps, features)``; output ``(batch, units)``, or ``(batch, timesteps,
    units)`` with ``return_sequences``; ``return_state`` appends the final states.
    """

    _gates = 1
    _state_names = ("h",)

    def __init__(self, units=None, activation="tanh", recurrent_activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, time_major=False, seed=None,
                 zero_output_for_mask=False, input_dim=None, input_length=None,
                 implementation=None, use_cudnn=None, **kwargs):
        if type(self) is Recurrent:
            raise TypeError("Recurrent is the abstract base of the recurrent layers (as in the "
                            "guide): use SimpleRNN, GRU or LSTM.")
        # the guide's legacy input_dim/input_length describe (timesteps, features)
        if (input_dim is not None or input_length is not None) and \
                "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length, input_dim)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
            raise ValueError(f"{owner}: received an invalid value for `units`, expected a "
                             f"positive integer. Received: units={units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = None if recurrent_activation is None else \
            activations.get(recurrent_activation)
        self._activation_name = _fused_name(owner, "activation", self.activation)
        self._recurrent_activation_name = None if recurrent_activation is None else \
            _fused_name(owner, "recurrent_activation", self.recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
                raise ValueError(f"{owner}: `{name}` must be a float between 0 and 1, "
                                 f"received {name}={rate!r}.")
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self.unroll, self.time_major = bool(unroll), bool(time_major)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.seed = seed
        self.supports_masking = True
        self.states = None
        self._stateful_batch = None
        self._rng = None

    # --- calling with initial states ---------------------------------------------------------
    def __call__(self, *args, initial_state=None, **kwargs):
        """``initial_state`` (a tensor or a list, one per state) joins the inputs, as Keras."""
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            inputs = args[0] if args else kwargs.pop("inputs")
            args = ([inputs] + states,) + args[1:]
        return super().__call__(*args, **kwargs)

    def _split(self, inputs):
        if isinstance(inputs, (list, tuple)):
            return inputs[0], list(inputs[1:]) or None
        return inputs, None

    def _owner(self):
        return f"{type(self).__name__} '{self.name}'"

    def _batch_axis(self):
        return 1 if self.time_major else 0

    # --- building ----------------------------------------------------------------------------
    def build(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if len(shape) != 3:
            hint = (" A recurrent layer that feeds another one needs return_sequences=True."
                    if len(shape) == 2 else "")
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected ndim=3 (batch, timesteps, features), found "
                             f"ndim={len(shape)}. Full shape received: {tuple(shape)}.{hint}")
        if shape[-1] is None:
            raise ValueError(f"{self._owner()}: the features axis of the input must be known, "
                             f"received input shape {tuple(shape)}.")
        if self.stateful:
            batch = shape[self._batch_axis()]
            if batch is None:
                raise ValueError(
                    f"{self._owner()}: a stateful RNN needs to know its batch size. Give the "
                    "first layer of a Sequential model `batch_input_shape=(batch, timesteps, "
                    "features)` or `batch_size=` with `input_shape`, or Input(batch_shape=...) "
                    "in a functional model.")
            self._stateful_batch = int(batch)
        units, k = self.units, self._gates
        self.kernel = self.add_weight(name="kernel", shape=(shape[-1], k * units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(units, k * units),
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        self.bias = self.add_weight(name="bias", shape=self._bias_shape(),
                                    initializer=self._bias_init(),
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    # --- running -----------------------------------------------------------------------------
    def call(self, inputs, mask=None, training=None):
        x, initial = self._split(inputs)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if x.ndim != 3:
            raise ValueError(f"{self._owner()}: expected a 3-D input (batch, timesteps, "
                             f"features), received an input of shape {x.shape}.")
        batch = x.shape[self._batch_axis()]
        if self.stateful:
            if batch != self._stateful_batch:
                raise ValueError(
                    f"{self._owner()} is stateful with batch size {self._stateful_batch}, but "
                    f"received a batch of {batch} samples (input shape {x.shape}). Feed "
                    f"batches of exactly {self._stateful_batch} samples (a dataset size that "
                    "batch_size divides), or rebuild the model for another batch size.")
            if initial is None and self.states is not None:
                initial = [Tensor(s) for s in self.states]
        rdm = None
        if training and 0 < self.dropout < 1:
            keep = self._keep_mask((batch, x.shape[-1]), self.dropout, x.dtype)
            x = ops.multiply(x, keep[None] if self.time_major else keep[:, None])
        if training and 0 < self.recurrent_dropout < 1:
            rdm = self._keep_mask((batch, self.units), self.recurrent_dropout, x.dtype)
        outputs = self._run(x, initial, mask, rdm)
        if self.stateful:
            self.states = [s.value for s in outputs[1:]]
        return outputs if self.return_state else outputs[0]

    def _keep_mask(self, shape, rate, dtype):
        """One inverted-dropout scale per sequence (the same at every step), as Keras."""
        if self._rng is None:
            self._rng = _backend().rng(self.seed)
        keep = self._rng.random(shape, dtype=dtype) >= rate
        return keep * numpy.dtype(dtype).type(1.0 / (1.0 - rate))

    def _common(self, initial, mask, rdm):
        return dict(initial_state=initial, mask=mask, go_backwards=self.go_backwards,
                    return_sequences=self.return_sequences, activation=self._activation_name,
                    recurrent_dropout_mask=rdm, zero_output_for_mask=self.zero_output_for_mask,
                    time_major=self.time_major)

    def reset_states(self, states=None):
        """Zero the carried states of a stateful layer (or set them to ``states``)."""
        if not self.stateful:
            raise AttributeError(f"{self._owner()}: reset_states() needs stateful=True.")
        if states is None:
            self.states = None
            return
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        expected = (self._stateful_batch, self.units)
        if len(states) != len(self._state_names) or any(
                tuple(numpy.shape(s)) != expected for s in states):
            raise ValueError(f"{self._owner()}: reset_states expects {len(self._state_names)} "
                             f"state(s) of shape {expected}, received "
                             f"{[tuple(numpy.shape(s)) for s in states]}.")
        self.states = [_backend().asarray(numpy.asarray(s), dtype=self.compute_dtype)
                       for s in states]

    reset_state = reset_states  # Keras 3's name

    # --- shapes and masks --------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        batch, steps = (shape[1], shape[0]) if self.time_major else (shape[0], shape[1])
        if self.return_sequences:
            out = (steps, batch, self.units) if self.time_major else (batch, steps, self.units)
        else:
            out = (batch, self.units)
        if self.return_state:
            return [out] + [(batch, self.units)] * len(self._state_names)
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self._state_names)
        return output_mask

    # --- configuration -----------------------------------------------------------------------
    def get_config(self):
        cfg = {**super().get_config(), "units": self.units,
               "activation": activations.serialize(self.activation)}
        if self.recurrent_activation is not None:
            cfg["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        cfg.update({
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _serialize(regularizers, self.kernel_regularizer),
            "recurrent_regularizer": _serialize(regularizers, self.recurrent_regularizer),
            "bias_regularizer": _serialize(regularizers, self.bias_regularizer),
            "activity_regularizer": _serialize(regularizers, self.activity_regularizer),
            "kernel_constraint": _serialize(constraints, self.kernel_constraint),
            "recurrent_constraint": _serialize(constraints, self.recurrent_constraint),
            "bias_constraint": _serialize(constraints, self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed, "return_sequences": self.return_sequences,
            "return_state": self.return_state, "go_backwards": self.go_backwards,
            "stateful": self.stateful, "unroll": self.unroll})
        if self.time_major:
            cfg["time_major"] = True
        if self.zero_output_for_mask:
            cfg["zero_output_for_mask"] = True
        return cfg


def _fused_name(owner, argument, fn):
    name = activations.serialize(fn) if fn is not None else "linear"
    if name not in ACTIVATIONS:
        raise ValueError(f"{owner}: {argument}={name!r} is not supported by the fused "
                         f"recurrent step; use one of {', '.join(ACTIVATIONS)}.")
    return name


class SimpleRNN(Recurrent):
    """Fully connected RNN: ``h_t = activation(x_t @ kernel + bias + h_{t-1} @
    recurrent_kernel)``."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout=0.0, recurrent_dropout=0.0, **kwargs):
        if "recurrent_activation" in kwargs:
            raise TypeError("SimpleRNN: unexpected keyword argument recurrent_activation (a "
                            "SimpleRNN has no gates).")
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, **kwargs)

    def _run(self, x, initial, mask, rdm):
        return ops.simple_rnn(x, self.kernel, self.recurrent_kernel, self.bias,
                              **self._common(initial, mask, rdm))


class GRU(Recurrent):
    """Gated recurrent unit, gate blocks z, r, h. ``reset_after=False`` (the guide's Keras)
    resets the state before its recurrent product; ``True`` (Keras 2.x on TF, Keras 3, cuDNN)
    after it, with a ``(2, 3*units)`` bias (input bias, recurrent bias)."""

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="hard_sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", dropout=0.0,
                 recurrent_dropout=0.0, reset_after=False, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _run(self, x, initial, mask, rdm):
        return ops.gru(x, self.kernel, self.recurrent_kernel, self.bias,
                       recurrent_activation=self._recurrent_activation_name,
                       reset_after=self.reset_after, **self._common(initial, mask, rdm))

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


class LSTM(Recurrent):
    """Long short-term memory, gate blocks i, f, c, o; states ``[h, c]``."""

    _gates = 4
    _state_names = ("h", "c")

    def __init__(self, units, activation="tanh", recurrent_activation="hard_sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, dropout=0.0, recurrent_dropout=0.0, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self):
        if self.unit_forget_bias:
            return _ForgetBiasOnes(self.bias_initializer, self.units)
        return self.bias_initializer

    def _run(self, x, initial, mask, rdm):
        return ops.lstm(x, self.kernel, self.recurrent_kernel, self.bias,
                        recurrent_activation=self._recurrent_activation_name,
                        **self._common(initial, mask, rdm))

    def get_config(self):
        cfg = super().get_config()
        keys = list(cfg)
        cfg["unit_forget_bias"] = self.unit_forget_bias
        # Keras lists unit_forget_bias right after bias_initializer
        at = keys.index("bias_initializer") + 1
        return {k: cfg[k] for k in keys[:at] + ["unit_forget_bias"] + keys[at:]}

