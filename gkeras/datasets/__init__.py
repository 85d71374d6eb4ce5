"""Keras 2's ``keras.datasets``: the classic datasets, read from Keras's cache layout."""
