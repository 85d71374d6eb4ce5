"""Loading runs no code from a file unless asked: hostile Lambda files (code that would write a
file) run nothing under the default safe_mode=True, in both formats."""
import codecs
import json
import marshal
import os
import zipfile

import h5py
import numpy as np
import pytest

import gkeras


def bytecode_writing(marker):
    """Keras's func_dump of a lambda that creates ``marker`` when called."""
    hostile = eval(f"lambda x: open({str(marker)!r}, 'w').close() or x")  # noqa: S307
    return codecs.encode(marshal.dumps(hostile.__code__), "base64").decode("ascii")


def keras2_file(path, marker):
    config = {"class_name": "Sequential", "config": {"name": "evil", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2], "name": "in"}},
        {"class_name": "Lambda", "config": {"name": "evil_lambda",
                                            "function": [bytecode_writing(marker), None, None],
                                            "function_type": "lambda", "module": "__main__",
                                            "output_shape": None, "output_shape_type": "raw",
                                            "arguments": {}}}]}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["keras_version"] = b"2.21.0"
        f.create_group("model_weights").attrs["layer_names"] = np.array([], dtype="S1")


def keras3_archive(path, marker):
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "evil", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer",
         "config": {"batch_shape": [None, 2], "name": "in"}},
        {"module": "keras.layers", "class_name": "Lambda", "config": {
            "name": "evil_lambda", "function": {"class_name": "__lambda__", "config": {
                "code": bytecode_writing(marker), "defaults": None, "closure": None}},
            "arguments": {}}}]}}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        with h5py.File(path.with_suffix(".tmp.h5"), "w"):
            pass
        z.write(path.with_suffix(".tmp.h5"), "model.weights.h5")


@pytest.mark.parametrize("make, name", [(keras2_file, "evil.h5"),
                                        (keras3_archive, "evil.keras")])
def test_hostile_lambda_runs_nothing_by_default(tmp_path, make, name):
    marker = tmp_path / "pwned"
    make(tmp_path / name, marker)
    with pytest.raises(ValueError, match="Lambda layer 'evil_lambda' holds Python bytecode.*"
                                         "safe_mode=True.*safe_mode=False"):
        gkeras.models.load_model(tmp_path / name)
    with pytest.raises(ValueError, match="safe_mode"):  # custom_objects cannot name a lambda
        gkeras.models.load_model(tmp_path / name, custom_objects={"evil_lambda": abs})
    assert not marker.exists()
    # the same file with safe_mode=False does run the code: the check above can fail
    gkeras.models.load_model(tmp_path / name, safe_mode=False)
    assert marker.exists()


def test_named_function_needs_custom_objects_or_safe_mode_off(tmp_path):
    path = tmp_path / "named.h5"
    config = {"class_name": "Sequential", "config": {"name": "n", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2]}},
        {"class_name": "Lambda", "config": {"name": "sys_call", "function": "system",
                                            "function_type": "function", "module": "os"}}]}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        f.create_group("model_weights").attrs["layer_names"] = np.array([], dtype="S1")
    with pytest.raises(ValueError, match="'sys_call' holds the function 'system'.*"
                                         "custom_objects=\\{'system': function\\}"):
        gkeras.models.load_model(path)
    model = gkeras.models.load_model(path, custom_objects={"system": lambda x: x + 1.0})
    np.testing.assert_array_equal(model.predict(np.zeros((1, 2), "float32"), verbose=0), 1.0)


def test_tensorflow_op_layers_are_refused_whatever_safe_mode(tmp_path):
    path = tmp_path / "tfop.h5"
    config = {"class_name": "Functional", "config": {"name": "t", "layers": [
        {"class_name": "TFOpLambda", "name": "tf.math.add",
         "config": {"name": "tf.math.add", "function": "math.add"}}]}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
    for safe_mode in (True, False):
        with pytest.raises(ValueError, match="'tf.math.add' is a TFOpLambda.*cannot run"):
            gkeras.models.load_model(path, safe_mode=safe_mode)


def test_failed_load_weights_changes_nothing(tmp_path):
    """A file whose first layer fits and second does not: no weight is assigned."""
    model = gkeras.Sequential([gkeras.layers.Dense(3, input_shape=(2,)),
                               gkeras.layers.Dense(2)])
    other = gkeras.Sequential([gkeras.layers.Dense(3, input_shape=(2,)),
                               gkeras.layers.Dense(4)])
    for name in ("w.h5", "w.weights.h5"):
        other.save_weights(tmp_path / name)
        before = [w.copy() for w in model.get_weights()]
        with pytest.raises(ValueError, match="shape"):
            model.load_weights(tmp_path / name)
        for a, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(a, b)


def test_named_function_that_cannot_be_found(tmp_path):
    path = tmp_path / "lost.h5"
    config = {"class_name": "Sequential", "config": {"name": "n", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2]}},
        {"class_name": "Lambda", "config": {"name": "lost", "function": "helper",
                                            "function_type": "function",
                                            "module": "no_such_module_xyz"}}]}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        f.create_group("model_weights").attrs["layer_names"] = np.array([], dtype="S1")
    with pytest.raises(ValueError, match="Lambda layer 'lost': cannot find the function "
                                         "'helper'.*custom_objects"):
        gkeras.models.load_model(path, safe_mode=False)


def test_damaged_and_foreign_hdf5_files_name_the_file(tmp_path):
    fixture = os.path.join(os.path.dirname(__file__), "fixtures", "k2_dense.h5")
    data = open(fixture, "rb").read()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) * 2 // 3])
    model = gkeras.Sequential([gkeras.layers.Dense(8, input_shape=(6,)),
                               gkeras.layers.Dense(5), gkeras.layers.Dense(3)])
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"load_model: '.*cut\.h5' is damaged or truncated.*"
                                         r"expected a Keras model file"):
        gkeras.models.load_model(tmp_path / "cut.h5")
    with pytest.raises(ValueError, match=r"load_weights: '.*cut\.h5' is damaged or truncated"):
        model.load_weights(tmp_path / "cut.h5")
    (tmp_path / "image.h5").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(ValueError, match=r"image\.h5' is not an HDF5 file"):
        model.load_weights(tmp_path / "image.h5")
    small = gkeras.Sequential([gkeras.layers.Dense(3, input_shape=(6,))])
    small_before = [w.copy() for w in small.get_weights()]
    with pytest.raises(ValueError, match=r"load_weights: '.*k2_dense\.h5': Layer count "
                                         r"mismatch.*3 layer\(s\).*1 layer\(s\)"):
        small.load_weights(fixture)
    for got, want in zip(model.get_weights() + small.get_weights(), before + small_before):
        np.testing.assert_array_equal(got, want)
