"""Names whose meaning changed between Keras versions, translated by the file's version.

``hard_sigmoid`` is ``clip(0.2 x + 0.5, 0, 1)`` in Keras 2 (gkeras's ``hard_sigmoid``, the
guide's) and ``relu6(x + 3) / 6`` in Keras 3 (gkeras's ``keras3_hard_sigmoid``). A file's
``keras_version`` decides which one its ``hard_sigmoid`` means. gkeras writes ``.h5`` files as
Keras 2.15 (Keras 2 meaning) and ``.keras`` archives as Keras 3, where Keras 2's function is
written ``keras2_hard_sigmoid`` (a name real Keras 3 refuses instead of computing other values).
"""

_ACTIVATION_KEYS = ("activation", "recurrent_activation")
# reading a Keras 3 file: its names -> gkeras's
_FROM_KERAS3 = {"hard_sigmoid": "keras3_hard_sigmoid", "keras2_hard_sigmoid": "hard_sigmoid"}
# writing a Keras 3 file: gkeras's names -> its names
_TO_KERAS3 = {"hard_sigmoid": "keras2_hard_sigmoid", "keras3_hard_sigmoid": "hard_sigmoid"}


def is_keras3(keras_version):
    try:
        return int(str(keras_version).split(".")[0]) >= 3
    except ValueError:
        return False


def _renamed(value, table):
    if isinstance(value, str):
        return table.get(value, value)
    if isinstance(value, dict) and value.get("class_name") == "function" and \
            isinstance(value.get("config"), str):
        return {**value, "config": table.get(value["config"], value["config"])}
    return value


def rename_activations(config, table):
    """A copy of ``config`` with the activation names in ``table`` replaced, at any depth."""
    if isinstance(config, list):
        return [rename_activations(v, table) for v in config]
    if not isinstance(config, dict):
        return config
    return {k: _renamed(v, table) if k in _ACTIVATION_KEYS else rename_activations(v, table)
            for k, v in config.items()}


def activations_for(config, keras_version):
    """``config`` (read from a file of ``keras_version``) with gkeras's activation names."""
    return rename_activations(config, _FROM_KERAS3) if is_keras3(keras_version) else config


def activations_to_keras3(config):
    return rename_activations(config, _TO_KERAS3)
