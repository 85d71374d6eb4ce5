"""``Embedding`` (``gkeras.layers.embeddings``, the guide's path): integer indices to vectors."""
import numbers

from .. import constraints, initializers, ops, regularizers
from ..ops.core import check_index_range
from .base import Layer


def _positive(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{owner}: `{name}` must be a positive integer, received "
                         f"{name}={value!r}.")
    return int(value)


def _serialize(module, value):
    return None if value is None else module.serialize(value)


class Embedding(Layer):
    """Row ``i`` of ``embeddings (input_dim, output_dim)`` for each index ``i``.

    Input ``(batch, sequence_length)`` integers (floats are truncated to integers, as Keras
    casts them); output ``(batch, sequence_length, output_dim)``. An index outside
    ``[0, input_dim)`` is an error, checked once per call: one min/max reduction whose two
    numbers are read back at once on the CPU; on a GPU inside fit/evaluate/predict they are
    read when the epoch (or the evaluate/predict loop) ends, so no step waits for the GPU. The gradient
    is a scatter-add of the used rows into one zero array of the table's shape per step.
    ``mask_zero=True`` makes index 0 padding: the output carries a mask (False where the index
    is 0) that recurrent layers honour. ``input_length`` (the guide's) fixes the sequence
    length of a model's input; as in the guide's Keras, the layer always declares an input
    ``(input_length,)`` (``(None,)`` without it), so it can start a Sequential model.
    ``weights=[matrix]`` sets the initial table (pretrained vectors).
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, activity_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, input_length=None, weights=None,
                 sparse=False, lora_rank=None, lora_alpha=None, quantization_config=None,
                 **kwargs):
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        # initial embeddings (Keras 2's and 3's ``weights=[matrix]``, e.g. pretrained vectors)
        super().__init__(activity_regularizer=activity_regularizer, weights=weights, **kwargs)
        owner = f"Embedding '{self.name}'"
        # Keras 3 configs carry these; only their off values are supported
        if sparse or lora_rank or quantization_config is not None:
            raise ValueError(f"{owner}: sparse gradients, LoRA and quantization are not "
                             f"supported, received sparse={sparse!r}, lora_rank={lora_rank!r}, "
                             f"quantization_config={quantization_config!r}.")
        self.input_dim = _positive(owner, "input_dim", input_dim)
        self.output_dim = _positive(owner, "output_dim", output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length
        self.supports_masking = self.mask_zero

    def build(self, input_shape):
        self.embeddings = self.add_weight(name="embeddings",
                                          shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint,
                                          autocast=False)
        self.built = True

    def call(self, inputs):
        indices = inputs if inputs.dtype.kind in "iu" else ops.cast(inputs, "int32")
        check_index_range(indices, self.input_dim, lambda bad: (
            f"Embedding '{self.name}': every index must lie in [0, input_dim) = "
            f"[0, {self.input_dim}), received index {bad} (input shape {inputs.shape})."))
        outputs = ops.take(self.embeddings, indices, axis=0)
        # as Keras 3 under mixed precision: cast the gathered rows, not the whole table
        return outputs if outputs.dtype == self.compute_dtype else \
            ops.cast(outputs, self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": _serialize(regularizers, self.embeddings_regularizer),
                "activity_regularizer": _serialize(regularizers, self.activity_regularizer),
                "embeddings_constraint": _serialize(constraints, self.embeddings_constraint),
                "mask_zero": self.mask_zero, "input_length": self.input_length}
