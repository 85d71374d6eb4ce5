"""Keras 2 backend functions that only mean something on a TensorFlow graph (placeholders,
sessions, compiled functions, symbolic gradients, sparse tensors) or that gkeras does not
compute (3-D convolution and pooling). Each exists, so a script fails with a message saying what to
use instead, not with an ``AttributeError``."""

__all__ = [
    "conv3d", "conv3d_transpose", "ctc_label_dense_to_sparse", "function", "get_session", "gradients", "placeholder", "pool3d", "set_session"]

_EAGER = ("gkeras runs eagerly on NumPy/CuPy arrays: there is no TensorFlow graph, "
          "placeholder or session. ")

_INSTEAD = {
    "function": _EAGER + "Call the model or the layers directly (model.predict(x), "
                "model(x), layer(x)), or write a Python function of tensors.",
    "placeholder": _EAGER + "Use keras.layers.Input(shape) for a model's inputs, or pass "
                   "arrays and tensors directly to the backend functions.",
    "get_session": _EAGER + "There is nothing to configure; models run on the backend "
                   "chosen by KERAS_BACKEND (numpy or cupy).",
    "set_session": _EAGER + "There is nothing to configure; models run on the backend "
                   "chosen by KERAS_BACKEND (numpy or cupy).",
    "gradients": _EAGER + "Compute gradients with gkeras.GradientTape: `with GradientTape() "
                 "as tape: loss = f(w)` then `tape.gradient(loss, [w])`.",
    "ctc_label_dense_to_sparse": "gkeras has no sparse tensors: K.ctc_batch_cost takes the "
                                 "dense labels and their lengths directly.",
    "conv3d": "gkeras's convolution ops are 1-D and 2-D only; there is no 3-D convolution.",
    "conv3d_transpose": "gkeras's convolution ops are 1-D and 2-D only; there is no 3-D "
                        "transposed convolution.",
    "pool3d": "gkeras's pooling ops are 1-D and 2-D only; there is no 3-D pooling.",
}


def _unsupported(name):
    def function(*args, **kwargs):
        raise NotImplementedError(f"keras.backend.{name} is not supported by gkeras. "
                                  f"{_INSTEAD[name]}")
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"Not supported: {_INSTEAD[name]}"
    return function


for _name in __all__:
    globals()[_name] = _unsupported(_name)
del _name


def is_placeholder(x):
    """Always False: gkeras has no placeholders."""
    return False


__all__ += ["is_placeholder"]
