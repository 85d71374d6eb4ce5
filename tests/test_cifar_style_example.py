"""examples/cifar_style_cnn.py as shipped: it runs, reaches the accuracy it claims, and its
batch-normalized model predicts the same after an HDF5 round trip. Run on a copy of examples/
in a temporary folder."""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def test_cifar_style_cnn_reaches_the_accuracy_it_claims(tmp_path):
    shutil.copy(os.path.join(EXAMPLES, "cifar_style_cnn.py"), tmp_path)
    shutil.copytree(os.path.join(EXAMPLES, "data"), tmp_path / "data")
    proc = subprocess.run([sys.executable, str(tmp_path / "cifar_style_cnn.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    found = re.search(r"^CIFAR-style CNN test loss: [\d.]+  test accuracy: (\d+\.\d+) "
                      r"\((\d+) held-out images", proc.stdout, re.M)
    assert found, output
    assert float(found.group(1)) >= 0.93, output
    assert int(found.group(2)) == 360  # 20% of the 1,797 digits, never trained on
    assert "Reloaded model predicts the same: True" in proc.stdout
    # the summary names the layers the example is about
    for name in ("batch_normalization", "re_lu", "spatial_dropout2d", "global_average_pooling2d"):
        assert re.search(rf"^ {name}\S* \(", proc.stdout, re.M), name
