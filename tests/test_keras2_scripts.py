"""Keras 2.2.4's own example scripts run unchanged on gkeras (``python -m gkeras.keras2``).

The scripts come from the Keras 2.2.4 source distribution on PyPI, fetched by ``make test``
into .cache/ (they are not part of this repository). Each script runs in a fresh interpreter,
in an empty folder, with ``HOME`` and ``KERAS_HOME`` pointing at a folder whose
``.keras/datasets`` holds tiny files in the formats Keras downloads (tests/keras2_datasets.py);
get_file accepts them by their own hashes (tests/keras2_stand_ins.py says how).
The only change to a script's text is its number of epochs, set to 1 (SHORTEN); a script that
needs another change says so in its Script entry. docs/keras2_scripts.md surveys every example.
"""
import dataclasses
import difflib
import functools
import hashlib
import math
import os
import re
import subprocess
import sys
import tarfile

import numpy
import pytest

import keras2_datasets as datasets

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SDIST = os.path.join(ROOT, ".cache", "Keras-2.2.4.tar.gz")
SDIST_SHA256 = "90b610a3dbbf6d257b20a079eba3fdf2eed2158f64066a7c6f7227023fd60bc9"
FETCH = ("python -m pip download keras==2.2.4 --no-deps --no-binary :all: -d .cache "
         "(`make keras2-examples` does it; `make test` runs it first)")
STUBS = os.path.join(HERE, "keras2_stubs")
# python -m gkeras.keras2, with get_file told the stand-in files' own hashes
RUNNER = os.path.join(HERE, "keras2_stand_ins.py")
SURVEY = os.path.join(ROOT, "docs", "keras2_scripts.md")

# a callback's warning that the quantity it monitors (a Keras 2 log name) is not logged
MONITOR_MISSING = re.compile(r"only with \S+ available|not available\. Available metrics are")
# `epochs = 12`, `epochs=15,`: one epoch is enough to prove the script runs end to end
SHORTEN = (re.compile(r"\b(epochs\s*=\s*)\d+"), r"\g<1>1")

MNIST_SMALL = functools.partial(datasets.mnist, n_train=200, n_test=50)
# mnist_mlp and antirectifier reshape to (60000, 784) and (10000, 784): Keras's sizes
MNIST_FULL = functools.partial(datasets.mnist, n_train=60000, n_test=10000)
# mnist_acgan shows 400 training images, mnist_denoising_autoencoder 300 test images
MNIST_GRID = functools.partial(datasets.mnist, n_train=400, n_test=300)
CIFAR10 = functools.partial(datasets.cifar10, per_batch=20, n_test=20)
IMDB = functools.partial(datasets.imdb, n_train=100, n_test=60)
REUTERS = functools.partial(datasets.reuters, n=300)


@dataclasses.dataclass
class Script:
    data: tuple = ()          # builders of the files the script loads from the cache
    workfiles: tuple = ()     # builders of the files it reads from its working folder
    after: str = None         # a script that must run first in the same working folder
    prints: tuple = ()        # lines it must print (regular expressions)
    results: tuple = ()       # labels of printed numbers that must be finite
    accuracies: tuple = ()    # labels of printed accuracies: fractions, or percentages with %
    validates: bool = False   # its fit log must show a finite val_loss
    files: tuple = ()         # files the script writes (relative to its working folder)
    edits: tuple = ()         # (pattern, replacement, why) beyond SHORTEN
    stubs: bool = False       # it plots: runs with tests/keras2_stubs (matplotlib) importable
    timeout: int = 300


TEST = ("Test loss:", "Test accuracy:")
SCORE = ("Test score:", "Test accuracy:")
AUGMENTED = (r"^Using real-time data augmentation\.$",)  # the ImageDataGenerator path ran
SCRIPTS = {
    # the four the issue names
    "mnist_cnn": Script(data=(MNIST_SMALL,), results=TEST, accuracies=TEST[1:]),
    "imdb_lstm": Script(data=(IMDB,), results=SCORE, accuracies=SCORE[1:]),
    "cifar10_cnn": Script(data=(CIFAR10,), results=TEST, accuracies=TEST[1:], prints=AUGMENTED,
                          files=("saved_models/keras_cifar10_trained_model.h5",)),
    "antirectifier": Script(data=(MNIST_FULL,), validates=True),
    # their siblings that run on the CPU in seconds with small data
    "mnist_mlp": Script(data=(MNIST_FULL,), results=TEST, accuracies=TEST[1:]),
    "mnist_hierarchical_rnn": Script(data=(MNIST_SMALL,), results=TEST, accuracies=TEST[1:]),
    "mnist_irnn": Script(data=(functools.partial(datasets.mnist, n_train=64, n_test=32),),
                         results=("IRNN test score:", "IRNN test accuracy:"),
                         accuracies=("IRNN test accuracy:",)),
    "mnist_siamese": Script(data=(MNIST_SMALL,),
                            results=("* Accuracy on training set:", "* Accuracy on test set:"),
                            accuracies=("* Accuracy on training set:",
                                        "* Accuracy on test set:")),
    "mnist_transfer_cnn": Script(data=(MNIST_SMALL,), results=SCORE, accuracies=SCORE[1:]),
    "mnist_net2net": Script(data=(MNIST_SMALL,), validates=True),
    "imdb_cnn": Script(data=(IMDB,), validates=True),
    "imdb_cnn_lstm": Script(data=(IMDB,), results=SCORE, accuracies=SCORE[1:]),
    "imdb_bidirectional_lstm": Script(data=(IMDB,), validates=True),
    "imdb_fasttext": Script(data=(IMDB,), validates=True),
    "reuters_mlp": Script(data=(REUTERS,), results=SCORE, accuracies=SCORE[1:]),
    "reuters_mlp_relu_vs_selu": Script(data=(REUTERS,), results=SCORE, accuracies=SCORE[1:],
                                       files=("comparison_of_networks.png",), stubs=True),
    "cifar10_resnet": Script(data=(CIFAR10,), results=TEST, accuracies=TEST[1:], prints=AUGMENTED,
                             files=("saved_models/cifar10_ResNet20v1_model.001.h5",)),
    "cifar10_cnn_capsule": Script(data=(CIFAR10,), validates=True, prints=AUGMENTED),
    "lstm_seq2seq": Script(workfiles=(datasets.fra_eng,), files=("s2s.h5",),
                           prints=(r"^Decoded sentence: ",)),
    "lstm_seq2seq_restore": Script(workfiles=(datasets.fra_eng,), after="lstm_seq2seq",
                                   prints=(r"^Decoded sentence: ",)),
    "lstm_text_generation": Script(data=(datasets.nietzsche,),
                                   prints=(r"^----- diversity: 1.2$",)),
    "pretrained_word_embeddings": Script(workfiles=(datasets.glove_and_newsgroups,),
                                         validates=True),
    "mnist_denoising_autoencoder": Script(data=(MNIST_GRID,), stubs=True,
                                          files=("corrupted_and_denoised.png",)),
    "mnist_acgan": Script(data=(MNIST_GRID,), files=(
        "params_generator_epoch_001.hdf5", "params_discriminator_epoch_001.hdf5",
        "plot_epoch_001_generated.png", "acgan-history.pkl")),
    "addition_rnn": Script(validates=True, edits=(
        (r"for iteration in range\(1, 200\):", "for iteration in range(1, 2):",
         "its loop of 199 one-epoch fits is its epoch count"),)),
}


@pytest.fixture(scope="module")
def examples():
    """{script name: source text} of Keras 2.2.4's examples/ folder."""
    if not os.path.exists(SDIST):
        pytest.fail(f"The Keras 2.2.4 source distribution is missing at {SDIST}; fetch it "
                    f"with: {FETCH}", pytrace=False)
    with open(SDIST, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == SDIST_SHA256, (f"{SDIST} is not Keras 2.2.4's sdist (sha256 {digest}); "
                                     f"delete it and fetch it again with: {FETCH}")
    with tarfile.open(SDIST) as tar:
        return {os.path.basename(m.name)[:-3]: tar.extractfile(m).read().decode("utf-8")
                for m in tar.getmembers()
                if re.fullmatch(r"Keras-2\.2\.4/examples/[^/]+\.py", m.name)}


def shortened(name, source):
    """The script's text with its epochs set to 1 and its listed edits; each must apply."""
    pattern, replacement = SHORTEN
    text, count = pattern.subn(replacement, source)
    for edit, new, why in SCRIPTS[name].edits:
        text, edits = re.subn(edit, new, text)
        assert edits, f"{name}: the edit {edit!r} ({why}) no longer applies"
    assert count or SCRIPTS[name].edits, f"{name}: found no epochs to shorten"
    return text


def numbers_after(label, output):
    """The numbers printed right after ``label`` at the start of a line."""
    found = re.findall(rf"^{re.escape(label)}\s*(\S+?)(%?)$", output, re.M)
    return [(float(value), percent == "%") for value, percent in found]


def run_script(name, examples, tmp_path):
    """Run the shortened script as ``python -m gkeras.keras2`` does (through RUNNER);
    (CompletedProcess, its working folder)."""
    spec = SCRIPTS[name]
    home, work, scripts = tmp_path / "home", tmp_path / "work", tmp_path / "scripts"
    cache = home / ".keras" / "datasets"
    for folder in (cache, work, scripts):
        folder.mkdir(parents=True, exist_ok=True)
    for build in spec.data:
        build(str(cache))
    for build in spec.workfiles:
        build(str(work))
    if spec.after:
        first, _ = run_script(spec.after, examples, tmp_path / spec.after)
        assert first.returncode == 0, f"{spec.after}, run before {name}, failed:\n{first.stderr}"
        for path in SCRIPTS[spec.after].files:
            os.replace(tmp_path / spec.after / "work" / path, work / path)
    source = examples[name]
    script = scripts / f"{name}.py"
    script.write_text(shortened(name, source))
    env = dict(os.environ, HOME=str(home), KERAS_HOME=str(home / ".keras"),
               PYTHONDONTWRITEBYTECODE="1")
    if spec.stubs:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [STUBS, env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, RUNNER, str(cache), str(script)], cwd=work,
                            env=env, capture_output=True, text=True, timeout=spec.timeout)
    return result, work


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_keras2_example_runs_unchanged(name, examples, tmp_path):
    spec = SCRIPTS[name]
    result, work = run_script(name, examples, tmp_path)
    output = result.stdout
    assert result.returncode == 0, (f"{name} failed (exit {result.returncode}):\n"
                                    f"{output[-3000:]}\n{result.stderr[-6000:]}")
    assert not MONITOR_MISSING.search(result.stderr), (
        f"{name} monitors a quantity the logs do not have:\n{result.stderr[-3000:]}")
    for pattern in spec.prints:
        assert re.search(pattern, output, re.M), f"{name} never printed {pattern!r}"
    for label in spec.results:
        values = numbers_after(label, output)
        assert values, f"{name} printed no {label!r} line:\n{output[-3000:]}"
        assert all(math.isfinite(value) for value, _ in values), (label, values)
    for label in spec.accuracies:
        for value, percent in numbers_after(label, output):
            assert 0 <= value <= (100 if percent else 1), (label, value)
    if spec.validates:
        losses = [float(v) for v in re.findall(r"val_loss: ([-+.\deEnaif]+)", output)]
        assert losses and all(map(math.isfinite, losses)), f"{name}: val_loss {losses}"
    for path in spec.files:
        assert (work / path).is_file(), f"{name} did not write {path}"
        check_written_file(work / path)


PNG = b"\x89PNG\r\n\x1a\n"


def check_written_file(path):
    content = path.read_bytes()
    if path.suffix == ".h5":
        check_saved_model(path)
    elif path.suffix == ".hdf5":
        import h5py
        assert h5py.is_hdf5(str(path)), path
    elif path.suffix == ".png":  # Pillow's picture, or the stand-in pyplot's list of calls
        assert content.startswith(PNG) or b"plot\n" in content, path
    else:
        assert content, path


def check_saved_model(path):
    """The model the script saved loads back in gkeras, compiled, and predicts finite values
    (zeros in, unknown sizes taken as 3)."""
    import gkeras
    model = gkeras.models.load_model(str(path))
    assert model.optimizer is not None, f"{path} was saved without its compiled state"
    inputs = [numpy.zeros([3 if size is None else size for size in x.shape], "float32")
              for x in model.inputs]
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    for output in outputs if isinstance(outputs, list) else [outputs]:
        assert output.shape[0] == 3 and numpy.isfinite(output).all(), path


def test_the_scripts_are_changed_only_in_their_epochs(examples):
    for name in SCRIPTS:
        original, changed = examples[name].splitlines(), shortened(name, examples[name])
        edited = [line for line in difflib.unified_diff(original, changed.splitlines(),
                                                        lineterm="", n=0)
                  if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        extra = [new for _, new, _ in SCRIPTS[name].edits]
        for line in edited:
            assert "epochs" in line or any(new in line for new in extra) or (
                line.startswith("-") and any(re.search(edit, line)
                                             for edit, _, _ in SCRIPTS[name].edits)), (name, line)


def test_the_survey_lists_every_example_script(examples):
    with open(SURVEY) as f:
        rows = re.findall(r"^\| `([a-z0-9_]+)\.py` \|", f.read(), re.M)
    assert sorted(rows) == sorted(examples), (
        f"docs/keras2_scripts.md misses {sorted(set(examples) - set(rows))} and lists "
        f"{sorted(set(rows) - set(examples))} that Keras 2.2.4 does not have")
    assert set(SCRIPTS) <= set(rows)


def test_the_stand_in_files_have_keras_cache_formats(tmp_path):
    """The stand-ins hold what Keras's loaders read (the names, keys and dtypes above)."""
    import pickle
    MNIST_SMALL(str(tmp_path))
    CIFAR10(str(tmp_path))
    IMDB(str(tmp_path))
    REUTERS(str(tmp_path))
    with numpy.load(tmp_path / "mnist.npz") as f:
        assert f["x_train"].shape == (200, 28, 28) and f["x_train"].dtype == numpy.uint8
        assert f["y_test"].shape == (50,) and set(f["y_train"]) == set(range(10))
    with numpy.load(tmp_path / "imdb.npz", allow_pickle=True) as f:
        assert f["x_train"].dtype == object and isinstance(f["x_train"][0], list)
        assert f["y_train"].dtype == numpy.int64 and set(f["y_test"]) == {0, 1}
    with numpy.load(tmp_path / "reuters.npz", allow_pickle=True) as f:
        assert len(f["x"]) == len(f["y"]) == 300 and set(f["y"]) == set(range(46))
    with tarfile.open(tmp_path / "cifar-10-batches-py.tar.gz") as tar:
        batch = pickle.load(tar.extractfile("cifar-10-batches-py/data_batch_3"),
                            encoding="bytes")
        assert batch[b"data"].shape == (20, 3072) and batch[b"data"].dtype == numpy.uint8
        assert len(batch[b"labels"]) == 20 and isinstance(batch[b"labels"][0], int)
        assert "cifar-10-batches-py/test_batch" in tar.getnames()
