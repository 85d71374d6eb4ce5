"""``keras.utils.vis_utils`` of Keras 2.2.4 (drawing a model with pydot and graphviz): not
supported by gkeras."""

_MESSAGE = ("{name} is not supported by gkeras: drawing a model needs pydot and the graphviz "
            "programs, which gkeras does not use. model.summary() prints the layers, their "
            "output shapes and connections as text.")


def model_to_dot(model, *args, **kwargs):
    """Refused with an ``ImportError`` (what Keras 2 raises without pydot), naming the
    alternative."""
    raise ImportError(_MESSAGE.format(name="model_to_dot"))


def plot_model(model, *args, **kwargs):
    """Refused with an ``ImportError`` (what Keras 2 raises without pydot), naming the
    alternative."""
    raise ImportError(_MESSAGE.format(name="plot_model"))


__all__ = ["model_to_dot", "plot_model"]
