"""gkeras: the Keras API on NumPy (CPU) or CuPy (CUDA GPUs)."""
__version__ = "0.1.0"

from . import config
from . import backends as _backends

# The array backend is chosen once, here, from keras.json and KERAS_BACKEND; every module
# imported below computes with it.
_backends.set_backend(config.backend())

from . import (activations, backend, callbacks, constraints, initializers, layers,  # noqa: E402
               datasets, distribution, losses, metrics, mixed_precision, models, ops,
               optimizers, preprocessing, regularizers, testing, utils)
from .autograd import GradientTape, Tensor  # noqa: E402
from .layers import Input, Layer  # noqa: E402
from .models import Model, Sequential  # noqa: E402
from .variables import Variable  # noqa: E402
