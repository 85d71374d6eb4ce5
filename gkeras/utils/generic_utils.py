"""``keras.utils.generic_utils`` of Keras 2.2.4: custom objects, (de)serialization by name,
argument checks, list helpers and the progress bar."""
import inspect
import types

from ..serialization import get_custom_objects
from .progbar import Progbar


class CustomObjectScope:
    """``with CustomObjectScope({'MyLayer': MyLayer}):`` makes the names known to every lookup
    by name (layers, activations, losses, metrics, optimizers, initializers, load_model...)
    inside the block; the global table is restored on exit."""

    def __init__(self, *args):
        self.custom_objects = args
        self.backup = None

    def __enter__(self):
        self.backup = dict(get_custom_objects())
        for objects in self.custom_objects:
            get_custom_objects().update(objects)
        return self

    def __exit__(self, *args, **kwargs):
        get_custom_objects().clear()
        get_custom_objects().update(self.backup)


def custom_object_scope(*args):
    """``CustomObjectScope(*args)``, for use in a ``with`` statement."""
    return CustomObjectScope(*args)


def serialize_keras_object(instance):
    """``{'class_name', 'config'}`` for an object with ``get_config``; a function's name."""
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        return {"class_name": type(instance).__name__, "config": instance.get_config()}
    if hasattr(instance, "__name__"):
        return instance.__name__
    raise ValueError(f"Cannot serialize {instance!r}: it has neither get_config() nor a name.")


def deserialize_keras_object(identifier, module_objects=None, custom_objects=None,
                             printable_module_name="object"):
    """An object from a ``{'class_name', 'config'}`` dict (the class found in
    ``custom_objects``, then the global custom objects, then ``module_objects``; built with
    ``from_config`` or, without it, ``cls(**config)``) or a function from its name."""
    lookup = {**(module_objects or {}), **get_custom_objects(), **(custom_objects or {})}
    if isinstance(identifier, dict):
        if "class_name" not in identifier or "config" not in identifier:
            raise ValueError(f"Improper config format: {identifier!r} (expected 'class_name' "
                             "and 'config').")
        cls = lookup.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Unknown {printable_module_name}: {identifier['class_name']}")
        config = identifier["config"]
        if hasattr(cls, "from_config"):
            if has_arg(cls.from_config, "custom_objects"):
                return cls.from_config(config, custom_objects=custom_objects)
            with CustomObjectScope(custom_objects or {}):
                return cls.from_config(config)
        with CustomObjectScope(custom_objects or {}):
            return cls(**config)
    if isinstance(identifier, str):
        if identifier not in lookup:
            raise ValueError(f"Unknown {printable_module_name}: {identifier}")
        return lookup[identifier]
    raise ValueError(f"Could not interpret serialized {printable_module_name}: {identifier!r}")


def func_dump(func):
    """Keras 2's ``(code, defaults, closure)`` of a function: its bytecode, base64-encoded (what
    a saved Lambda layer holds). Writing it is harmless; see ``func_load``."""
    from ..layers.lambda_layer import _serialize_function
    (code, defaults, closure), _, _ = _serialize_function(
        func if func.__name__ == "<lambda>" else _as_lambda(func))
    return code, None if defaults is None else tuple(defaults), \
        None if closure is None else tuple(closure)


def _as_lambda(func):
    """``func`` renamed ``<lambda>`` (a copy), so its bytecode is dumped like a lambda's."""
    return types.FunctionType(func.__code__, func.__globals__, "<lambda>", func.__defaults__,
                              func.__closure__)


def func_load(code, defaults=None, closure=None, globs=None):
    """Refused: turning saved bytecode back into a function runs code taken from a file."""
    raise ValueError(
        "func_load is not supported by gkeras: it would run Python bytecode read from a file "
        "(code that can do anything, and that only the Python version that wrote it can "
        "read). Keep the function in your code and refer to it by name: pass it in "
        "custom_objects (or register it with CustomObjectScope / get_custom_objects()). "
        "To load a model whose Lambda layer holds bytecode from a source you trust, use "
        "load_model(path, safe_mode=False).")


def has_arg(fn, name, accept_all=False):
    """Whether ``fn`` accepts the keyword argument ``name`` (``accept_all``: or any keyword
    through ``**kwargs``)."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    if accept_all and any(p.kind == inspect.Parameter.VAR_KEYWORD
                          for p in parameters.values()):
        return True
    parameter = parameters.get(name)
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def to_list(x, allow_tuple=False):
    """``x`` if a list (a tuple too, as a list, with ``allow_tuple``), else ``[x]``."""
    if isinstance(x, list):
        return x
    if allow_tuple and isinstance(x, tuple):
        return list(x)
    return [x]


def unpack_singleton(x):
    """The single element of a one-element list, else ``x`` unchanged."""
    if len(x) == 1:
        return x[0]
    return x


def object_list_uid(object_list):
    """A string naming the objects of ``object_list`` by identity."""
    return ", ".join(str(abs(id(x))) for x in to_list(object_list, allow_tuple=True))


def is_all_none(iterable_or_element):
    """Whether every element (or the element itself) is None."""
    return all(x is None for x in to_list(iterable_or_element, allow_tuple=True))


def slice_arrays(arrays, start=None, stop=None):
    """``arrays[start:stop]`` of an array or of each array of a list (None stays None);
    ``start`` may be a list (or array) of indices instead. ``arrays=None`` gives ``[None]``."""
    if arrays is None:
        return [None]
    if isinstance(start, list) and stop is not None:
        raise ValueError("The stop argument has to be None if the value of start is a list.")
    if hasattr(start, "shape"):
        start = start.tolist()  # h5py datasets take lists of indices only
    if isinstance(arrays, list):
        if hasattr(start, "__len__"):
            return [None if x is None else x[start] for x in arrays]
        return [None if x is None else x[start:stop] for x in arrays]
    if hasattr(start, "__len__"):
        return arrays[start]
    return arrays[start:stop]


def transpose_shape(shape, target_format, spatial_axes):
    """A channels_last ``shape`` (tuple or list) in ``target_format``: for channels_first, the
    entries before the first spatial axis, then the channels (the last entry), then the
    spatial entries (``transpose_shape((16, 128, 128, 32), 'channels_first', (1, 2))`` is
    ``(16, 32, 128, 128)``)."""
    if target_format == "channels_first":
        moved = tuple(shape[:spatial_axes[0]]) + (shape[-1],) + \
            tuple(shape[axis] for axis in spatial_axes)
        return list(moved) if isinstance(shape, list) else moved
    if target_format == "channels_last":
        return shape
    raise ValueError("The `data_format` argument must be one of \"channels_first\", "
                     f"\"channels_last\". Received: {target_format}")


__all__ = ["CustomObjectScope", "Progbar", "custom_object_scope", "deserialize_keras_object",
           "func_dump", "func_load", "get_custom_objects", "has_arg", "is_all_none",
           "object_list_uid", "serialize_keras_object", "slice_arrays", "to_list",
           "transpose_shape", "unpack_singleton"]
