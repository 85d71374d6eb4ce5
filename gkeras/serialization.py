"""Name/config registries shared by initializers, regularizers and constraints, and Keras 2's
global table of custom objects.

Objects are looked up by name in a fixed table of classes (plus the classes and functions the
user registered): deserializing never runs code.
"""
import contextlib

# Keras 2's ``get_custom_objects()``: names the user registered (directly or with
# ``CustomObjectScope``), found by every lookup by name after its ``custom_objects`` argument
# and before the built-in names, as in Keras 2.
_GLOBAL_CUSTOM_OBJECTS = {}


def get_custom_objects():
    """The global dict of custom objects by name; update it to register classes/functions."""
    return _GLOBAL_CUSTOM_OBJECTS


@contextlib.contextmanager
def custom_objects_in_scope(custom_objects=None):
    """Within the block, ``custom_objects`` are global custom objects too, so that every
    lookup by name inside a deserialization (a layer's activation, its initializers...) finds
    them, as Keras 2's ``load_model``/``model_from_config`` do."""
    backup = dict(_GLOBAL_CUSTOM_OBJECTS)
    _GLOBAL_CUSTOM_OBJECTS.update(custom_objects or {})
    try:
        yield
    finally:
        _GLOBAL_CUSTOM_OBJECTS.clear()
        _GLOBAL_CUSTOM_OBJECTS.update(backup)


def with_custom_objects(custom_objects=None):
    """The global custom objects overridden by ``custom_objects`` (a new dict)."""
    return {**_GLOBAL_CUSTOM_OBJECTS, **(custom_objects or {})}


def serialize(obj):
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


class Registry:
    """Classes of one kind by name (class names and snake_case aliases)."""

    def __init__(self, kind, classes, base=None):
        self.kind = kind
        self.classes = classes
        self.base = base

    def _lookup(self, name):
        cls = _GLOBAL_CUSTOM_OBJECTS.get(name) or self.classes.get(name) or \
            self.classes.get(name.lower())
        if cls is None:
            raise ValueError(f"Unknown {self.kind} {name!r}. Valid names: "
                             f"{', '.join(sorted(self.classes))}.")
        return cls

    def deserialize(self, config):
        return self._lookup(config["class_name"]).from_config(config.get("config") or {})

    def get(self, identifier):
        """An instance from a name, a config dict, an instance, a class or a callable."""
        if identifier is None:
            return None
        if isinstance(identifier, str):
            return self._lookup(identifier)()
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if self.base is not None and isinstance(identifier, type) and \
                issubclass(identifier, self.base):
            return identifier()
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {self.kind} {identifier!r}.")
