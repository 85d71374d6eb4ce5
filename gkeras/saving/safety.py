"""What loading may run: nothing, by default.

A saved ``Lambda`` layer holds Python code: either bytecode (Keras 2's ``function_type:
'lambda'``, Keras 3's ``__lambda__``) or the name of a function to import. Loading such a file
is refused before anything is built unless the caller opts in with ``safe_mode=False``, or
passes the named function in ``custom_objects``. ``check_config`` is that gate; ``loading`` is
the scope in which ``Lambda.from_config`` turns a saved function back into a callable.
"""
import codecs
import contextlib
import importlib
import marshal
import os
import sys
import types

# Keras 2 layers that hold TensorFlow operations: gkeras cannot run them, whatever safe_mode is
_TENSORFLOW_CLASSES = ("TFOpLambda", "SlicingOpLambda")


class _Scope:
    safe_mode = True
    custom_objects = None


_scope = _Scope()


@contextlib.contextmanager
def loading(safe_mode=True, custom_objects=None):
    """While loading: whether code may run, and the user's ``custom_objects``."""
    previous = (_scope.safe_mode, _scope.custom_objects)
    _scope.safe_mode, _scope.custom_objects = bool(safe_mode), custom_objects
    try:
        yield
    finally:
        _scope.safe_mode, _scope.custom_objects = previous


def function_specs(config):
    """``[(role, spec, module)]`` for the function, output_shape and mask of a Lambda config,
    in Keras 2 form (``function`` + ``function_type`` + ``module``) or Keras 3 form (a
    ``{'class_name': '__lambda__' | 'function', ...}`` dict)."""
    out = []
    for role, type_key, module_key in (("function", "function_type", "module"),
                                       ("output_shape", "output_shape_type",
                                        "output_shape_module"),
                                       ("mask", "mask_type", "mask_module")):
        spec = config.get(role)
        kind = config.get(type_key)
        if isinstance(spec, dict) and spec.get("class_name") in ("__lambda__", "function"):
            kind = "lambda" if spec["class_name"] == "__lambda__" else "function"
            out.append((role, kind, spec.get("config"), spec.get("module")))
        elif kind in ("lambda", "function"):
            out.append((role, kind, spec, config.get(module_key)))
    return out


def _needs_code(kind, spec, custom_objects):
    if kind == "lambda":
        return True
    return not (custom_objects and spec in custom_objects)


def check_config(config, filepath, safe_mode=True, custom_objects=None):
    """Refuse (``ValueError``) a model config whose loading would run code from the file, before
    anything is built. Walks nested models."""
    if isinstance(config, list):
        for value in config:
            check_config(value, filepath, safe_mode, custom_objects)
        return
    if not isinstance(config, dict):
        return
    class_name = config.get("class_name")
    layer_config = config.get("config")
    name = layer_config.get("name") if isinstance(layer_config, dict) else None
    if class_name in _TENSORFLOW_CLASSES:
        raise ValueError(f"{os.fspath(filepath)!r}: layer {name!r} is a {class_name} (a "
                         "TensorFlow operation recorded by Keras 2); gkeras cannot run it. "
                         "Rebuild that part of the model in Python and load only its weights.")
    if class_name == "__lambda__" and safe_mode:
        raise ValueError(f"{os.fspath(filepath)!r}: the file holds a Python lambda "
                         "('__lambda__' bytecode) outside a Lambda layer; loading it would run "
                         "code from the file, which safe_mode=True (the default) refuses.")
    if class_name == "Lambda" and isinstance(layer_config, dict) and safe_mode:
        for role, kind, spec, _ in function_specs(layer_config):
            if _needs_code(kind, spec, custom_objects):
                what = "Python bytecode" if kind == "lambda" else f"the function {spec!r}"
                raise ValueError(
                    f"{os.fspath(filepath)!r}: Lambda layer {name!r} holds {what} as its "
                    f"{role}; loading it would run code from the file, which safe_mode=True "
                    "(the default) refuses. If you trust the file, load it with "
                    "safe_mode=False" + (f", or pass custom_objects={{{spec!r}: function}}"
                                         if kind == "function" else "") + ".")
    for value in config.values():
        check_config(value, filepath, safe_mode, custom_objects)


def function_from_config(layer_name, role, kind, spec, module):
    """The callable a Lambda config names (inside ``loading``; ``check_config`` ran before)."""
    custom = _scope.custom_objects or {}
    if kind == "function" and spec in custom:
        return custom[spec]
    if _scope.safe_mode:
        raise ValueError(f"Lambda layer {layer_name!r}: its {role} is code from a file; "
                         "loading code needs safe_mode=False.")
    if kind == "function":
        found = None
        try:
            loaded = sys.modules.get(module or "__main__") or importlib.import_module(module)
            found = getattr(loaded, spec, None)
        except ImportError:
            pass
        if found is None:
            raise ValueError(f"Lambda layer {layer_name!r}: cannot find the function {spec!r} "
                             f"(module {module!r}); pass it in custom_objects.")
        return found
    if isinstance(spec, dict):  # Keras 3
        code, defaults, closure = spec.get("code"), spec.get("defaults"), spec.get("closure")
    else:  # Keras 2: [code, defaults, closure]
        code, defaults, closure = (list(spec) + [None, None])[:3]
    return _function_from_bytecode(code, defaults, closure, module, custom)


def _function_from_bytecode(code, defaults, closure, module, custom_objects):
    """Keras's ``func_load``: a function from base64 ``marshal`` bytecode (same Python
    version only, as in Keras)."""
    try:
        raw = marshal.loads(codecs.decode(code.encode("ascii"), "base64"))
    except (ValueError, EOFError, TypeError) as e:
        raise ValueError(f"cannot read the Lambda bytecode ({e}); it was written by another "
                         f"Python version than {sys.version.split()[0]}, or is damaged.") from e
    from .. import backend, ops
    globs = {"K": backend, "ops": ops}
    if module in sys.modules:
        globs.update(sys.modules[module].__dict__)
    globs.update(custom_objects)
    cells = None
    if closure:
        cells = tuple(types.CellType(value) for value in closure)
    return types.FunctionType(raw, globs, name=raw.co_name,
                              argdefs=tuple(defaults) if defaults else None, closure=cells)
