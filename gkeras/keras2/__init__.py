"""Keras 2 scripts on gkeras, unchanged: ``import keras`` gives gkeras.

``install()`` puts a finder first on ``sys.meta_path`` that answers ``import keras`` and every
``import keras.<path>`` with the gkeras module of the same path -- the same module object, so
``keras.layers.Dense is gkeras.layers.Dense`` -- for every gkeras module, present or added later.
Keras 2.2.4 paths gkeras does not have are mapped where gkeras keeps the same meaning under
another path (RENAMED, COMPOSED); the others fail with an ImportError saying why.
``python -m gkeras.keras2 script.py [args]`` installs the finder and runs the script.
"""
import importlib
import importlib.abc
import importlib.util
import sys
import types

import gkeras

# Keras 2.2.4 modules whose contents gkeras keeps in one module under another path.
RENAMED = {
    "keras.objectives": "gkeras.losses",
    "keras.engine.base_layer": "gkeras.layers.base",
    "keras.engine.input_layer": "gkeras.layers.core",
    "keras.engine.sequential": "gkeras.models.sequential",
    "keras.engine.training": "gkeras.models.functional",
    "keras.engine.saving": "gkeras.saving",
}

# Keras 2.2.4 modules that gather names gkeras defines in several modules: a new module object
# holding gkeras's own objects. Keras 2's ``Network`` (the graph container under ``Model``) is
# gkeras's functional ``Model``, which plays both parts.
_ENGINE = {"Layer": "gkeras.layers.base", "InputSpec": "gkeras.layers.base",
           "Input": "gkeras.layers.core", "InputLayer": "gkeras.layers.core",
           "Model": "gkeras.models.functional", "Network": ("gkeras.models.functional", "Model")}
COMPOSED = {
    "keras.engine": _ENGINE,
    "keras.engine.topology": dict(_ENGINE, Node="gkeras.layers.base"),
    "keras.engine.network": {"Network": ("gkeras.models.functional", "Model")},
}

# Keras 2.2.4 modules gkeras does not provide (as long as it has no module of that path), and
# why.
UNSUPPORTED = {
    "keras.backend.tensorflow_backend": "gkeras computes with NumPy or CuPy, not TensorFlow",
    "keras.backend.theano_backend": "gkeras computes with NumPy or CuPy, not Theano",
    "keras.backend.cntk_backend": "gkeras computes with NumPy or CuPy, not CNTK",
    "keras.layers.cudnn_recurrent": "CuDNNLSTM/CuDNNGRU wrap TensorFlow's cuDNN calls; "
                                    "gkeras's LSTM and GRU run on the GPU as they are",
    "keras.utils.multi_gpu_utils": "multi_gpu_model replicates a TensorFlow graph per GPU",
    "keras.legacy": "the Keras 1 shims (Merge, Highway, MaxoutDense, legacy interfaces) were "
                    "never part of gkeras",
    "keras.applications": "the pretrained ImageNet models and their downloaded weights are not "
                          "part of gkeras",
    "keras.wrappers": "the scikit-learn wrappers are not part of gkeras",
}


def _unsupported_reason(name):
    for prefix, reason in UNSUPPORTED.items():
        if name == prefix or name.startswith(prefix + "."):
            return reason
    return None


def _exists(module):
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def gkeras_name(name):
    """The gkeras module that answers ``import name`` (a ``keras[.x]`` path): ``gkeras[.x]``
    when gkeras has it, else the RENAMED one; None when no single gkeras module does."""
    same = "g" + name
    if _exists(same):
        return same
    return RENAMED.get(name)


class _AliasLoader(importlib.abc.Loader):
    """Leaves the gkeras module itself in ``sys.modules[keras...]``: the import system returns
    whatever that entry holds once ``exec_module`` is done, and gkeras's own module keeps its
    name and spec."""

    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        sys.modules[module.__name__] = importlib.import_module(self.target)


class _ComposedLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        for attribute, source in COMPOSED[module.__name__].items():
            source, original = source if isinstance(source, tuple) else (source, attribute)
            setattr(module, attribute, getattr(importlib.import_module(source), original))
        module.__doc__ = (f"Keras 2's {module.__name__}: gkeras's own "
                          f"{', '.join(sorted(COMPOSED[module.__name__]))}.")


def _refuse_shadowed(fullname):
    """``keras.optimizers.sgd`` is the class ``SGD`` in Keras 2, not a module. Where gkeras's
    package holds a non-module under a child's name, importing the child as a module would
    make Python overwrite that name with the module; refuse instead, as Keras 2 does."""
    parent, _, child = fullname.rpartition(".")
    value = getattr(sys.modules.get(parent), child, None)
    if parent and value is not None and not isinstance(value, types.ModuleType):
        raise ModuleNotFoundError(
            f"No module named {fullname!r}: in Keras 2 and gkeras {fullname} is "
            f"{getattr(value, '__name__', type(value).__name__)}, not a module; use "
            f"`from {parent} import {child}`.", name=fullname)


class Keras2Finder(importlib.abc.MetaPathFinder):
    """Maps ``keras`` and ``keras.<path>`` imports to gkeras (see the module docstring)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" and not fullname.startswith("keras."):
            return None
        _refuse_shadowed(fullname)
        module = gkeras_name(fullname)
        if module is not None:
            return importlib.util.spec_from_loader(fullname, _AliasLoader(module))
        if fullname in COMPOSED:
            is_package = any(name.startswith(fullname + ".") for name in COMPOSED)
            return importlib.util.spec_from_loader(fullname, _ComposedLoader(),
                                                   is_package=is_package)
        reason = (_unsupported_reason(fullname)
                  or f"it would be g{fullname}, which gkeras does not have")
        raise ModuleNotFoundError(f"No module named {fullname!r} on gkeras: {reason}. See "
                                  "docs/keras2_scripts.md.", name=fullname)


def _foreign_keras_modules():
    """Names of imported ``keras`` modules that are not gkeras's."""
    return sorted(name for name, module in list(sys.modules.items())
                  if (name == "keras" or name.startswith("keras.")) and module is not None
                  and not getattr(module, "__name__", "").startswith("gkeras")
                  and not isinstance(getattr(module, "__loader__", None), _ComposedLoader))


def installed():
    return any(isinstance(finder, Keras2Finder) for finder in sys.meta_path)


def install():
    """Make ``import keras`` (and every ``keras.<path>``) give gkeras; returns gkeras.

    Refuses when another ``keras`` is already imported: its classes would mix with gkeras's.
    Calling it again does nothing."""
    foreign = _foreign_keras_modules()
    if foreign:
        first = sys.modules[foreign[0]]
        raise RuntimeError(
            f"gkeras.keras2.install(): a keras that is not gkeras is already imported "
            f"({foreign[0]} from {getattr(first, '__file__', None) or first!r}). Alias keras to "
            "gkeras before anything imports keras: run the script with "
            "`python -m gkeras.keras2 script.py`, or call install() first.")
    if not installed():
        sys.meta_path.insert(0, Keras2Finder())
    return gkeras


def uninstall():
    """Undo ``install()``: remove the finder and forget the ``keras`` names it gave out."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, Keras2Finder)]
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        del sys.modules[name]


__all__ = ["COMPOSED", "Keras2Finder", "RENAMED", "UNSUPPORTED", "gkeras_name", "install",
           "installed", "uninstall"]
