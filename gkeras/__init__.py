"""gkeras: the Keras API on NumPy (CPU) or CuPy (CUDA GPUs)."""
__version__ = "0.1.0"

from . import config
from . import backends as _backends

_backends.set_backend(config.backend())

from .autograd import GradientTape, Tensor  # noqa: E402
from .variables import Variable  # noqa: E402
from . import ops  # noqa: E402
from . import activations, constraints, initializers, regularizers  # noqa: E402
from . import layers  # noqa: E402
from . import models  # noqa: E402
from .layers import Input, Layer  # noqa: E402
from .models import Model, Sequential  # noqa: E402
from . import backend  # noqa: E402
from . import testing  # noqa: E402
from . import callbacks, utils  # noqa: E402
from . import optimizers  # noqa: E402
from . import losses, metrics  # noqa: E402
