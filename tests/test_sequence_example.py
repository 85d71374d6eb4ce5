"""examples/sequence_digits.py trains its recurrent classifier end to end on the bundled data."""
import importlib.util
import os

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "sequence_digits.py")


def test_sequence_digits_example_learns(capsys):
    spec = importlib.util.spec_from_file_location("sequence_digits", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    x, y = example.load_digit_sequences()
    assert x.shape == (1797, 8, 8) and x.dtype == "float32" and set(y) == set(range(10))
    model, accuracy = example.main(epochs=4, verbose=0)
    assert accuracy >= 0.9, accuracy
    assert [layer.name for layer in model.layers[1:3]] == ["top_down", "bottom_up"]
    assert "test accuracy" in capsys.readouterr().out
