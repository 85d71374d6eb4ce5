"""gkeras.keras2: ``import keras[.x]`` gives gkeras's own module objects, and
``python -m gkeras.keras2 script.py`` runs a script as ``python script.py`` would."""
import importlib
import pkgutil
import subprocess
import sys
import types

import pytest

import gkeras
import gkeras.keras2 as keras2


@pytest.fixture
def alias():
    """install() for one test; afterwards no finder and no ``keras`` module is left over."""
    keras2.uninstall()
    yield keras2.install()
    keras2.uninstall()
    for name in ("objectives", "engine"):  # set on gkeras by the import system, see the docs
        gkeras.__dict__.pop(name, None)


def gkeras_modules():
    names = [m.name for m in pkgutil.walk_packages(gkeras.__path__, "gkeras.")]
    return [name for name in names if not name.startswith("gkeras.keras2")]


def test_import_keras_is_gkeras_and_its_classes_are_gkeras_classes(alias):
    import keras
    from keras import backend as K
    from keras.layers import Dense
    from keras.models import Sequential
    import keras.layers.convolutional

    assert alias is gkeras and keras is gkeras and K is gkeras.backend
    assert Dense is gkeras.layers.Dense and Sequential is gkeras.models.Sequential
    assert keras.layers.convolutional is gkeras.layers.convolutional
    model = Sequential([Dense(2, input_shape=(3,))])
    assert isinstance(model, gkeras.Model) and isinstance(model.layers[0], gkeras.layers.Layer)
    # gkeras's modules keep their own names: nothing of them is renamed to keras
    assert gkeras.__name__ == "gkeras" and gkeras.__spec__.name == "gkeras"
    assert gkeras.layers.core.__spec__.name == "gkeras.layers.core"


def test_every_gkeras_module_is_importable_as_keras(alias):
    names = gkeras_modules()
    assert "gkeras.layers.core" in names and "gkeras.preprocessing.image" in names
    for name in names:
        parent, _, child = name.rpartition(".")
        if isinstance(getattr(sys.modules[parent], child), types.ModuleType):
            assert importlib.import_module(name[1:]) is importlib.import_module(name), name
        else:  # a name the package binds to a class (see the next tests)
            with pytest.raises(ModuleNotFoundError, match="not a module"):
                importlib.import_module(name[1:])
    assert importlib.import_module("keras.backends") is gkeras.backends


def test_a_module_gkeras_gains_later_is_importable_as_keras(alias, tmp_path, monkeypatch):
    (tmp_path / "brand_new.py").write_text("VALUE = 42\n")
    monkeypatch.setattr(gkeras, "__path__", list(gkeras.__path__) + [str(tmp_path)])
    try:
        import keras.brand_new
        assert keras.brand_new is sys.modules["gkeras.brand_new"]
        assert keras.brand_new.VALUE == 42
    finally:
        forget_gkeras_modules("brand_new")


def forget_gkeras_modules(*names):
    for name in names:
        sys.modules.pop("gkeras." + name, None)
        gkeras.__dict__.pop(name, None)


def test_a_module_gkeras_has_wins_over_the_keras_2_map(alias, tmp_path, monkeypatch):
    """Once gkeras gains a module at a path the map renames or refuses, that module answers."""
    (tmp_path / "objectives.py").write_text("OWN = True\n")
    (tmp_path / "applications.py").write_text("OWN = True\n")
    monkeypatch.setattr(gkeras, "__path__", list(gkeras.__path__) + [str(tmp_path)])
    try:
        import keras.applications
        import keras.objectives
        assert keras.objectives.OWN and keras.applications.OWN
    finally:
        forget_gkeras_modules("objectives", "applications")


def test_a_name_gkeras_binds_to_a_non_module_is_not_imported_as_a_module(alias, tmp_path,
                                                                         monkeypatch):
    """Keras 2's ``keras.optimizers.sgd`` is a class; importing a gkeras file of that name as
    ``keras.optimizers.sgd`` would overwrite the class on the package, so it is refused."""
    (tmp_path / "shadowed.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(gkeras, "__path__", list(gkeras.__path__) + [str(tmp_path)])
    monkeypatch.setattr(gkeras, "shadowed", gkeras.Sequential, raising=False)
    try:
        with pytest.raises(ModuleNotFoundError, match="keras.shadowed is Sequential, not a "
                                                      "module; use `from keras import shadowed`"):
            import keras.shadowed  # noqa: F401
        assert gkeras.shadowed is gkeras.Sequential
        from keras import shadowed
        assert shadowed is gkeras.Sequential
    finally:
        sys.modules.pop("gkeras.shadowed", None)


def test_keras_2_paths_gkeras_lays_out_differently(alias):
    import keras.objectives
    from keras.engine import InputSpec, Layer, Model, Network
    from keras.engine.topology import Input, InputLayer, Node
    from keras.engine.network import Network as NetworkToo
    from keras.engine.training import Model as TrainingModel
    from keras.engine.sequential import Sequential

    assert keras.objectives is gkeras.losses
    assert Layer is gkeras.layers.Layer and InputSpec is gkeras.layers.InputSpec
    assert Input is gkeras.layers.Input and InputLayer is gkeras.layers.InputLayer
    assert Node is gkeras.layers.base.Node and Sequential is gkeras.Sequential
    assert Model is Network is NetworkToo is TrainingModel is gkeras.Model
    assert importlib.import_module("keras.engine.base_layer") is gkeras.layers.base


def test_keras_paths_without_a_gkeras_counterpart_fail_saying_why(alias):
    with pytest.raises(ModuleNotFoundError, match="pretrained ImageNet models") as info:
        import keras.applications.vgg16  # noqa: F401
    assert info.value.name == "keras.applications"  # the parent is looked up first
    with pytest.raises(ModuleNotFoundError, match="CuDNNLSTM"):
        import keras.layers.cudnn_recurrent  # noqa: F401
    with pytest.raises(ModuleNotFoundError, match="it would be gkeras.layers.no_such_layers"):
        import keras.layers.no_such_layers  # noqa: F401
    with pytest.raises(ImportError, match="keras.legacy"):
        from keras.legacy import interfaces  # noqa: F401


def test_install_refuses_when_another_keras_is_imported(monkeypatch):
    keras2.uninstall()
    real = types.ModuleType("keras")
    real.__file__ = "/site-packages/keras/__init__.py"
    monkeypatch.setitem(sys.modules, "keras", real)
    with pytest.raises(RuntimeError, match="already imported.*/site-packages/keras"):
        keras2.install()
    assert not keras2.installed()


def test_the_alias_wins_over_an_installed_keras_not_yet_imported(tmp_path, monkeypatch, alias):
    (tmp_path / "keras").mkdir()
    (tmp_path / "keras" / "__init__.py").write_text("raise AssertionError('the real keras')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import keras
    assert keras is gkeras


def test_install_twice_is_one_finder_and_uninstall_forgets_keras(alias):
    import keras.layers  # noqa: F401
    keras2.install()
    assert sum(isinstance(f, keras2.Keras2Finder) for f in sys.meta_path) == 1
    keras2.uninstall()
    assert not keras2.installed() and "keras" not in sys.modules
    assert "keras.layers" not in sys.modules


def run_module(args, cwd):
    return subprocess.run([sys.executable, "-m", "gkeras.keras2", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_python_m_gkeras_keras2_runs_a_script_as_python_would(tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "helper.py").write_text("WORD = 'sibling'\n")
    (folder / "script.py").write_text(
        "import sys\n"
        "import keras\n"
        "from keras.layers import Dense\n"
        "import helper\n"
        "print('name', __name__)\n"
        "print('argv', sys.argv)\n"
        "print('keras', keras.__name__, Dense.__module__, helper.WORD)\n"
        "sys.exit(int(sys.argv[-1]))\n")
    result = run_module([str(folder / "script.py"), "--flag", "x", "0"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "name __main__", f"argv [{str(folder / 'script.py')!r}, '--flag', 'x', '0']",
        "keras gkeras gkeras.layers.core sibling"]
    assert run_module([str(folder / "script.py"), "3"], cwd=tmp_path).returncode == 3


def test_python_m_gkeras_keras2_reports_a_failing_script_and_bad_usage(tmp_path):
    (tmp_path / "broken.py").write_text("import keras\nraise ValueError('boom')\n")
    result = run_module(["broken.py"], cwd=tmp_path)
    assert result.returncode == 1 and "ValueError: boom" in result.stderr
    result = run_module([], cwd=tmp_path)
    assert result.returncode == 2 and "usage: python -m gkeras.keras2" in result.stderr
    result = run_module(["missing.py"], cwd=tmp_path)
    assert result.returncode == 2 and "no script file 'missing.py'" in result.stderr
