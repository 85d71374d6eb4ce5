"""``import cupy`` answered by the fake device, so ``KERAS_BACKEND=cupy pytest -m gpu`` runs the
real-GPU tests on a CPU (``make test`` does, after the main suite). Put this folder first on
PYTHONPATH; never install it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fakecupy import FakeCupy  # noqa: E402

sys.modules[__name__] = FakeCupy()
