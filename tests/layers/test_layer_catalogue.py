"""docs/layers.md lists every layer gkeras has (and every alias), grouped under Keras's
documentation headings, each group with an example that uses each of its layers."""
import inspect
import os
import re

from gkeras import layers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = open(os.path.join(ROOT, "docs", "layers.md")).read()
CATALOGUE = PAGE.split("## Every layer, grouped as in Keras's documentation", 1)[1]
KERAS_GROUPS = ["Core layers", "Convolution layers", "Pooling layers", "Recurrent layers",
                "Preprocessing layers", "Normalization layers", "Regularization layers",
                "Attention layers", "Reshaping layers", "Merging layers", "Activation layers"]


def _layer_names():
    return {name for name, obj in vars(layers).items()
            if inspect.isclass(obj) and issubclass(obj, layers.Layer) and obj is not layers.Layer}


def _groups():
    """{heading: section text} of the catalogue's ### sections."""
    parts = re.split(r"^### (.+)$", CATALOGUE, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def _named(text):
    """Layer names in backticks; `MaxPooling1D/2D` names MaxPooling1D and MaxPooling2D."""
    names = set()
    for name, suffixes in re.findall(r"`(\w+)((?:/\dD)*)`", text):
        names.add(name)
        stem = re.sub(r"\dD$", "", name)
        names |= {stem + s for s in suffixes.split("/") if s}
    return names


def test_every_layer_and_alias_is_listed():
    listed = set(re.findall(r"`(\w+)", CATALOGUE)) | _named(CATALOGUE)
    missing = sorted(n for n in _layer_names() if n not in listed and not
                     _alias_family_listed(n, listed))
    assert not missing, f"docs/layers.md does not list: {missing}"


def _alias_family_listed(name, listed):
    """Aliases may be named by example ('MaxPool2D, ...'): the canonical class must be."""
    cls = getattr(layers, name)
    return cls.__name__ != name and cls.__name__ in listed


def test_groups_are_keras_groups_in_keras_order_and_each_example_calls_its_layers():
    groups = _groups()
    assert list(groups) == [g for g in KERAS_GROUPS if g in groups]
    assert {"Core layers", "Convolution layers", "Pooling layers", "Normalization layers",
            "Regularization layers", "Reshaping layers", "Merging layers",
            "Activation layers"} <= set(groups)
    for heading, text in groups.items():
        intro, _, code = text.partition("```python")
        assert code, f"{heading}: no example"
        named = _named(intro) & _layer_names()
        for name in named:
            if getattr(layers, name).__name__ == name:  # canonical names: in the example
                assert re.search(rf"\b{name}\b", code), f"{heading}: {name} is not used"
