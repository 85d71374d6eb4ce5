"""``keras.utils.np_utils`` of Keras 2.2.4: ``to_categorical`` and ``normalize``."""
from .numerical import normalize, to_categorical

__all__ = ["normalize", "to_categorical"]
