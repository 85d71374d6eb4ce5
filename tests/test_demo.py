"""`make demo` as shipped: examples/demo_digits.py itself runs, reaches the accuracy it claims,
and reloads the `.keras` archives it saves with identical predictions. It runs on a copy of
examples/ in a temporary folder, so the files it saves never land in the source tree."""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def test_make_demo_reaches_the_accuracy_it_claims(tmp_path):
    shutil.copy(os.path.join(EXAMPLES, "demo_digits.py"), tmp_path)
    shutil.copytree(os.path.join(EXAMPLES, "data"), tmp_path / "data")
    proc = subprocess.run([sys.executable, str(tmp_path / "demo_digits.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    found = re.findall(r"^(MLP|CNN) test loss: [\d.]+  test accuracy: (\d+\.\d+) "
                       r"\((\d+) held-out digits", proc.stdout, re.M)
    assert [name for name, _, _ in found] == ["MLP", "CNN"], output
    for name, accuracy, held_out in found:
        assert float(accuracy) >= 0.95, (name, output)
        # 20% of the 1,797 digits: the accuracy is measured on unseen data
        assert int(held_out) == 360
        assert os.path.exists(tmp_path / f"digits_{name.lower()}.weights.h5")
    # each trained model is saved as .keras, reloaded, and predicts exactly the same
    reloaded = re.findall(r"^(MLP|CNN) reloaded from (.*digits_\w+\.keras): predictions match "
                          r"\(max difference 0\.0e\+00, 360 digits\)$", proc.stdout, re.M)
    assert [name for name, _ in reloaded] == ["MLP", "CNN"], output
    for name, path in reloaded:
        assert path == str(tmp_path / f"digits_{name.lower()}.keras")
        assert os.path.exists(path)
