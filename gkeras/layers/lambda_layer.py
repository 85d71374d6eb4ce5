"""``Lambda``: wraps an arbitrary function of the inputs as a layer (no weights)."""
import codecs
import inspect
import marshal
import types

from .base import Layer


def _serialize_function(fn):
    """Keras 2's ``(value, type, module)``: a lambda as base64 bytecode (``func_dump``), a named
    function by name, an output shape as itself (``raw``)."""
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        code = codecs.encode(marshal.dumps(fn.__code__), "base64").decode("ascii")
        closure = [c.cell_contents for c in fn.__closure__] if fn.__closure__ else None
        defaults = list(fn.__defaults__) if fn.__defaults__ else None
        return [code, defaults, closure], "lambda", fn.__module__
    if callable(fn):
        return fn.__name__, "function", getattr(fn, "__module__", None)
    return (list(fn) if isinstance(fn, tuple) else fn), "raw", None


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False
    return name in params


class Lambda(Layer):
    """``Lambda(function, output_shape=None, mask=None, arguments=None)``: ``function(inputs,
    **arguments)`` as a layer. ``output_shape`` (a tuple without the batch axis, or a function
    of the input shape) is inferred by running ``function`` when not given. ``mask`` is a mask
    to set on the output, or a function ``mask(inputs, previous_mask)``. The function receives
    ``mask`` and ``training`` when its signature names them.

    Saving stores the function as Keras does (bytecode for a lambda, the name for a named
    function); loading it runs code, so it needs ``safe_mode=False`` (or the named function in
    ``custom_objects``)."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda '{self.name}': function must be callable, received "
                            f"{function!r}.")
        if output_shape is not None and not callable(output_shape) and \
                not isinstance(output_shape, (tuple, list)):
            raise TypeError(f"Lambda '{self.name}': output_shape must be a tuple, a list or a "
                            f"function, received {output_shape!r}.")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda '{self.name}': arguments must be a dict, received "
                            f"{arguments!r}.")
        self.function = function
        self._output_shape = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})
        self.supports_masking = mask is not None
        # read once: inspecting the signature on every call would cost each training step
        self._passes = [name for name in ("mask", "training") if _accepts(function, name)]

    def call(self, inputs, mask=None, training=None):
        given = {"mask": mask, "training": training}
        return self.function(inputs, **self.arguments,
                             **{name: given[name] for name in self._passes})

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return self._traced_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        shapes = self._output_shape
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        if shapes and isinstance(shapes[0], (tuple, list)):
            return [(batch,) + tuple(s) for s in shapes]
        return (batch,) + tuple(shapes)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        function, function_type, module = _serialize_function(self.function)
        config = {"function": function, "function_type": function_type, "module": module}
        if self._output_shape is not None:
            shape, shape_type, shape_module = _serialize_function(self._output_shape)
            config.update(output_shape=shape, output_shape_type=shape_type,
                          output_shape_module=shape_module)
        else:
            config.update(output_shape=None, output_shape_type="raw", output_shape_module=None)
        if self.mask is not None:
            mask, mask_type, mask_module = _serialize_function(self.mask)
            config.update(mask=mask, mask_type=mask_type, mask_module=mask_module)
        config["arguments"] = dict(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config):
        """Keras 2 and Keras 3 configs; functions are rebuilt through ``saving.safety`` (code
        runs only with ``safe_mode=False`` or names found in ``custom_objects``)."""
        from ..saving import safety
        config = dict(config)
        name = config.get("name")
        for role, kind, spec, module in safety.function_specs(config):
            config[role] = safety.function_from_config(name, role, kind, spec, module)
        for key in ("function_type", "module", "output_shape_type", "output_shape_module",
                    "mask_type", "mask_module"):
            config.pop(key, None)
        arguments = config.get("arguments")
        if isinstance(arguments, dict) and "config" in arguments and \
                arguments.get("class_name") == "__dict__":  # Keras 3's serialized dict
            config["arguments"] = arguments["config"]
        return cls(**config)
