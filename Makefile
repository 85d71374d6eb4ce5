PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: test demo bench gpu-check clean keras2-examples

# Keras 2.2.4's source distribution: tests/test_keras2_scripts.py runs its examples/ scripts
# (they are not kept in this repository; the test checks the file's sha256)
KERAS2_SDIST := .cache/Keras-2.2.4.tar.gz
FETCH_KERAS2 = test -f $(KERAS2_SDIST) || $(PY) -m pip download -q keras==2.2.4 --no-deps \
	--no-binary :all: -d .cache

# A fresh virtual environment every time, so the tests see exactly what a new machine gets.
test:
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(FETCH_KERAS2)
	$(PY) -m pytest -q tests
	@echo "--- the whole suite again on plain NumPy: the CPU extra (numba) off ---"
	GKERAS_CPU_ACCEL=0 $(PY) -m pytest -q -p no:cacheprovider tests
	@echo "--- the gpu-marked tests, rehearsed on the fake device (tests/fakecupy.py) ---"
	KERAS_BACKEND=cupy PYTHONPATH=tests/fakegpu $(PY) -m pytest -q -p no:cacheprovider -m gpu tests

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .

keras2-examples: $(PY)
	$(FETCH_KERAS2)

demo: $(PY)
	$(PY) examples/demo_digits.py

bench: $(PY)
	$(PY) bench/bench_train.py

# On a CUDA machine without network: its python3 already has cupy, numpy, h5py, pytest, torch.
gpu-check:
	$(PYTHON) -m pip install -q --no-index --no-deps --no-build-isolation -e .
	KERAS_BACKEND=cupy $(PYTHON) -m pytest -q -m gpu tests
	KERAS_BACKEND=cupy $(PYTHON) bench/bench_train.py --quick --frameworks gkeras,gkeras-graph,torch

clean:
	rm -rf $(VENV) build *.egg-info examples/*.h5 examples/*.keras
