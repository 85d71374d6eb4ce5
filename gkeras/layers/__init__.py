"""Layers. ``gkeras.layers.Dense`` and the guide's paths (``gkeras.layers.core.Dense``)."""
from .base import InputSpec, KerasTensor, Layer, get_layer_class
from .core import (Activation, Dense, Dropout, Flatten, Input, InputLayer, Masking, Permute,
                   RepeatVector, Reshape)
from . import convolutional, merge
from .lambda_layer import Lambda
from .convolutional import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Convolution1D,
                            Convolution1DTranspose, Convolution2D, Convolution2DTranspose,
                            Deconv2D, Deconvolution2D, DepthwiseConv1D, DepthwiseConv2D,
                            SeparableConv1D, SeparableConv2D, SeparableConvolution1D,
                            SeparableConvolution2D)
from .merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,
                    average, concatenate, dot, maximum, minimum, multiply, subtract)
from . import pooling, reshaping
from .pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D,
                      GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAvgPool1D,
                      GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPooling1D,
                      GlobalMaxPooling2D, MaxPool1D, MaxPool2D, MaxPooling1D, MaxPooling2D)
from .reshaping import (Cropping1D, Cropping2D, UpSampling1D, UpSampling2D, ZeroPadding1D,
                        ZeroPadding2D)
from . import advanced_activations, noise, normalization
from .advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU
from .noise import (ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise,
                    Identity, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)
from .normalization import BatchNormalization, GroupNormalization, LayerNormalization
from . import embeddings, recurrent, wrappers
from .embeddings import Embedding
from .recurrent import GRU, LSTM, Recurrent, SimpleRNN
from .wrappers import Bidirectional, TimeDistributed, Wrapper
from ..serialization import custom_objects_in_scope


def serialize(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config, custom_objects=None):
    """A layer (or model) from ``{'class_name': ..., 'config': ...}``."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("deserialize expects a dict with 'class_name' and 'config', received "
                         f"{config!r}.")
    from ..models import Model, Sequential  # noqa: F401  (registers the model classes)
    cls = get_layer_class(config["class_name"], custom_objects)
    if config["class_name"] == "Functional":
        cls = Model
    with custom_objects_in_scope(custom_objects):  # e.g. a custom activation's name
        if isinstance(cls, type) and issubclass(cls, Model):
            return cls.from_config(config["config"], custom_objects=custom_objects)
        return cls.from_config(dict(config.get("config", {})))
