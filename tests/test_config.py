"""gkeras.config: keras.json, KERAS_BACKEND, precedence, validation and errors.

Every test points KERAS_HOME at its own tmp_path; the conftest fixture restores the global
configuration afterwards.
"""
import json
import os
import subprocess
import sys

import pytest

from gkeras import backend as K
from gkeras import config

DEFAULTS = {"floatx": "float32", "epsilon": 1e-7, "image_data_format": "channels_last",
            "backend": "numpy"}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    return tmp_path


def _write(home, content):
    path = home / "keras.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _current():
    return {"floatx": config.floatx(), "epsilon": config.epsilon(),
            "image_data_format": config.image_data_format(), "backend": config.backend()}


def test_defaults_and_default_file_is_written(home):
    config.load()
    assert _current() == DEFAULTS
    assert json.loads((home / "keras.json").read_text()) == DEFAULTS


def test_default_file_written_in_a_new_directory(tmp_path, monkeypatch):
    target = tmp_path / "not" / "yet"
    monkeypatch.setenv("KERAS_HOME", str(target))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    config.load()
    assert json.loads((target / "keras.json").read_text()) == DEFAULTS


def test_nothing_written_and_no_error_when_home_is_not_writable(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("KERAS_HOME", str(blocker / "home"))  # under a file: cannot be created
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    config.load()
    assert _current() == DEFAULTS
    assert not (blocker / "home").exists()


def test_nothing_written_and_no_error_when_the_directory_refuses_the_file(tmp_path, monkeypatch):
    # The directory exists but keras.json cannot be created in it, as in a read-only directory.
    # Permissions do not stop root (CI runs as root), so keras.json is a dangling link to a
    # path under a regular file: creating it fails for every user.
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    home = tmp_path / "home"
    home.mkdir()
    (home / "keras.json").symlink_to(blocker / "keras.json")
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    config.load()
    assert _current() == DEFAULTS
    assert sorted(os.listdir(home)) == ["keras.json"] and not (home / "keras.json").exists()
    assert blocker.read_text() == ""


def test_values_read_from_keras_json(home):
    values = {"floatx": "float64", "epsilon": 1e-5, "image_data_format": "channels_first",
              "backend": "cupy"}
    path = _write(home, values)
    before = path.read_text()
    config.load()
    assert _current() == values
    assert path.read_text() == before  # an existing file is never rewritten


def test_partial_file_keeps_other_defaults_and_ignores_unknown_keys(home):
    _write(home, {"floatx": "float16", "unknown_key": 3})
    config.load()
    assert _current() == {**DEFAULTS, "floatx": "float16"}


def test_integer_epsilon_is_accepted_as_float(home):
    _write(home, {"epsilon": 1})
    config.load()
    assert config.epsilon() == 1.0 and isinstance(config.epsilon(), float)


@pytest.mark.parametrize("file_backend,env,expected", [("numpy", "cupy", "cupy"),
                                                        ("cupy", "numpy", "numpy"),
                                                        ("cupy", "", "cupy")])
def test_keras_backend_env_overrides_the_file(home, monkeypatch, file_backend, env, expected):
    _write(home, {"backend": file_backend})
    monkeypatch.setenv("KERAS_BACKEND", env)
    config.load()
    assert config.backend() == expected


@pytest.mark.parametrize("key,value,choices", [
    ("floatx", "float8", "float16, float32, float64"),
    ("image_data_format", "channels_middle", "channels_last, channels_first"),
    ("backend", "jax", "numpy, cupy"),
])
def test_invalid_file_value_lists_valid_choices(home, key, value, choices):
    path = _write(home, {key: value})
    with pytest.raises(ValueError) as err:
        config.load()
    message = str(err.value)
    assert f"Invalid {key} {value!r}" in message and str(path) in message
    assert f"Valid choices: {choices}." in message


@pytest.mark.parametrize("value", [-1e-7, 0, "small", True, None])
def test_invalid_epsilon_in_file(home, value):
    _write(home, {"epsilon": value})
    with pytest.raises(ValueError, match="Invalid epsilon .* expected a positive number"):
        config.load()


def test_invalid_keras_backend_env(home, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    with pytest.raises(ValueError) as err:
        config.load()
    assert "'tensorflow'" in str(err.value) and "$KERAS_BACKEND" in str(err.value)
    assert "Valid choices: numpy, cupy." in str(err.value)


def test_failed_load_leaves_configuration_unchanged(home):
    config.set_floatx("float64")
    _write(home, {"floatx": "float64", "backend": "nope"})
    with pytest.raises(ValueError):
        config.load()
    assert config.floatx() == "float64" and config.backend() == "numpy"


def test_invalid_json(home):
    path = _write(home, "{'floatx': 'float32',}")
    with pytest.raises(ValueError, match=f"Could not read {path}"):
        config.load()


def test_json_that_is_not_an_object(home):
    _write(home, "[1, 2]")
    with pytest.raises(ValueError, match="must hold a JSON object, got list"):
        config.load()


def test_unreadable_file(home):
    (home / "keras.json").mkdir()  # a directory: open() fails even for root
    with pytest.raises(ValueError, match="Could not read"):
        config.load()


def test_keras_home_defaults_to_dot_keras_in_home(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.keras_home() == os.path.join(str(tmp_path), ".keras")


def test_setters_validate():
    config.set_image_data_format("channels_first")
    assert config.image_data_format() == "channels_first" == K.image_data_format()
    with pytest.raises(ValueError, match="Valid choices: channels_last, channels_first"):
        config.set_image_data_format("NHWC")
    assert config.image_data_format() == "channels_first"
    config.set_floatx("float64")
    assert config.floatx() == "float64" == K.floatx()
    with pytest.raises(ValueError, match="Valid choices: float16, float32, float64"):
        config.set_floatx("int32")
    config.set_epsilon(1e-3)
    assert config.epsilon() == 1e-3 == K.epsilon()
    with pytest.raises(ValueError, match="positive"):
        config.set_epsilon(-1.0)


def test_keras_backend_module_reports_the_active_backend():
    from gkeras import backends
    assert K.backend() == config.backend()
    assert K.array_module() is backends.current().xp


def _run(code, env_updates):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env.update(env_updates)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)


def test_import_reads_keras_json_in_a_fresh_process(tmp_path):
    _write(tmp_path, {"floatx": "float64", "image_data_format": "channels_first"})
    proc = _run("import gkeras; from gkeras import config, Variable;"
                "print(config.floatx(), config.image_data_format(), Variable([1.0]).dtype)",
                {"KERAS_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["float64", "channels_first", "float64"]


def test_import_fails_on_invalid_keras_backend_in_a_fresh_process(tmp_path):
    proc = _run("import gkeras", {"KERAS_HOME": str(tmp_path), "KERAS_BACKEND": "torch"})
    assert proc.returncode != 0
    assert "ValueError" in proc.stderr and "Valid choices: numpy, cupy" in proc.stderr
