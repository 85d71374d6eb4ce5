"""Every kernel of kernels/optimizers.cu, run on the CPU through the shim (g++), equals the
NumPy reference step of its contract (backends/numpy_optimizers.py) bit for bit -- weight and
every slot, float32 and float64, odd sizes, every configuration of each optimizer -- under the
launches of test_shim_kernels (grid-stride heavy, odd blocks, surplus threads in reverse
order: the same bits) with guard zones around every array (unused slots included: never
read nor written)."""
import warnings

import numpy
import pytest

from gkeras import kernels
from gkeras.backends import numpy_optimizers

from optimizer_cases import CASES, IDS, SIZES, arrays
from test_shim_kernels import _launch


def _reference(name, weight, grad, slots, hyper):
    weight, slots = weight.copy(), tuple(None if s is None else s.copy() for s in slots)
    scratch = {}

    def buffer(which):
        return scratch.setdefault(which, numpy.empty_like(weight))

    numpy_optimizers.STEPS[name](numpy, weight, grad, slots, hyper, buffer)
    return weight, slots


def _kernel(name, weight, grad, slots, hyper, device_step=False):
    """The kernel's step; with ``device_step`` its step scalars come from the ``step`` array
    (their by-value arguments are then garbage, which must not be read)."""
    placeholder = numpy.zeros(1, weight.dtype)
    args = [weight, grad] + [placeholder if s is None else s for s in slots]
    step_names = numpy_optimizers.STEP_SCALARS[name]
    if device_step:
        args.append(numpy.array([hyper[key] for key in step_names], weight.dtype))
        hyper = dict(hyper, **{key: 1e30 for key in step_names}, device_step=1)
    else:
        args.append(placeholder)
        hyper = dict(hyper, device_step=0)
    parameters = kernels.signatures(kernels.source("optimizers.cu"))[f"{name}_update"]
    assert [p.name for p in parameters[len(args) + 1:]] == \
        list(numpy_optimizers.HYPER[name]) + ["device_step"]
    outputs = [0] + [2 + i for i, s in enumerate(slots) if s is not None]
    got = _launch(f"{name}_update", weight.dtype, weight.size, args,
                  [hyper[p.name] for p in parameters[len(args) + 1:]], outputs)
    written = iter(got[1:])
    return got[0], tuple(None if s is None else next(written) for s in slots)


@pytest.mark.parametrize("device_step", [False, True], ids=["host_scalars", "device_step"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_kernel_equals_the_reference_bit_for_bit(case, size, dtype, device_step):
    _, name, used, hyper = case
    weight, grad, slots = arrays(size, dtype, name, used)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NaN: the cases are in range
        want_weight, want_slots = _reference(name, weight, grad, slots, hyper)
    got_weight, got_slots = _kernel(name, weight, grad, slots, hyper, device_step)
    assert numpy.isfinite(got_weight).all()
    assert got_weight.tobytes() == want_weight.tobytes(), name
    for got, want in zip(got_slots, want_slots):
        assert (got is None) == (want is None)
        if got is not None:
            assert got.tobytes() == want.tobytes(), name
    assert size < 3 or not numpy.array_equal(got_weight, weight)  # the step did something


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_amsgrad_and_adamax_maximum_let_nan_through_as_numpy(dtype):
    for case in CASES:
        if case[0] not in ("adam_amsgrad", "adamax"):
            continue
        _, name, used, hyper = case
        weight, grad, slots = arrays(9, dtype, name, used)
        grad[4] = numpy.nan
        slots[-1][6] = numpy.nan
        want_weight, want_slots = _reference(name, weight, grad, slots, hyper)
        got_weight, got_slots = _kernel(name, weight, grad, slots, hyper)
        assert got_weight.tobytes() == want_weight.tobytes(), name
        assert got_slots[-1].tobytes() == want_slots[-1].tobytes(), name
