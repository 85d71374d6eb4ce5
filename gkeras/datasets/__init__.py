"""Keras 2's ``keras.datasets``: the classic datasets, read from Keras's cache layout
(``$KERAS_HOME/datasets``, else ``~/.keras/datasets``) and downloaded when missing."""
from . import (boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist,  # noqa: F401
               reuters)

__all__ = ["boston_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist",
           "reuters"]
