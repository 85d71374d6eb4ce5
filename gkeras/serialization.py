"""Name/config registries shared by initializers, regularizers and constraints.

Objects are looked up by name in a fixed table of classes: deserializing never runs code.
"""


def serialize(obj):
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


class Registry:
    """Classes of one kind by name (class names and snake_case aliases)."""

    def __init__(self, kind, classes, base=None):
        self.kind = kind
        self.classes = classes
        self.base = base

    def _lookup(self, name):
        cls = self.classes.get(name) or self.classes.get(name.lower())
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
