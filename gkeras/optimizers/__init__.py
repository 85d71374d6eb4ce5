"""Optimizers with Keras 3's update rules, defaults, clipping and configs: one optimizer per
module (optimizer.py is the base class), with the lookup functions ``get``, ``serialize`` and
``deserialize`` here."""
from ..serialization import with_custom_objects
from . import schedules
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .loss_scale_optimizer import LossScaleOptimizer
from .nadam import Nadam
from .optimizer import Optimizer, _HostScalarVariable
from .rmsprop import RMSprop
from .schedules import LearningRateSchedule
from .sgd import SGD


# Keras 2's lowercase aliases of the classes (``keras.optimizers.adam(lr=0.01)``).
sgd = SGD
rmsprop = RMSprop
adagrad = Adagrad
adadelta = Adadelta
adam = Adam
adamax = Adamax
nadam = Nadam

_OPTIMIZERS = {cls.__name__: cls
               for cls in (SGD, RMSprop, Adam, Adagrad, Adadelta, Adamax, Nadam,
                           LossScaleOptimizer)}


def serialize(optimizer):
    """The Keras 3 serialized form: ``{'module', 'class_name', 'config', 'registered_name'}``."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """An optimizer from ``serialize``'s output (class names match case-insensitively)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("optimizers.deserialize: expected a dict with 'class_name' and "
                         f"'config', received {config!r}.")
    known = {name.lower(): cls for name, cls in _OPTIMIZERS.items()}
    known.update({name.lower(): cls
                  for name, cls in with_custom_objects(custom_objects).items()})
    cls = known.get(str(config["class_name"]).lower())
    if cls is None:
        raise ValueError(f"Could not interpret optimizer identifier: {config['class_name']!r}. "
                         f"Valid names: {', '.join(name.lower() for name in _OPTIMIZERS)}.")
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects)


def get(identifier):
    """An optimizer from a name ('adam', 'SGD'), a serialized dict, or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r} (expected a "
                     "name, a config dict or an Optimizer instance).")


__all__ = ["Optimizer", "LossScaleOptimizer", "SGD", "RMSprop", "Adam", "Adagrad", "Adadelta", "Adamax", "Nadam",
           "LearningRateSchedule", "schedules", "serialize", "deserialize", "get",
           "sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", "nadam"]
