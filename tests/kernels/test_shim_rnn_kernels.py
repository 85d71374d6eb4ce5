"""Every kernel of kernels/rnn.cu, run on the CPU through the shim (g++), equals the NumPy
reference primitive of its contract (backends/numpy_rnn.py; NumpyBackend.take_backward for the
embedding gradient) -- on batches of 3 and 7 rows, unit counts that no block size divides,
masks with masked rows and without a mask, every activation as either activation, float32 and
float64 -- under the launches of test_shim_kernels (grid-stride heavy, odd blocks, surplus
threads in reverse order: the same bits) with guard zones around every array. Outputs start
out as random values, so an element the kernel fails to write, or writes where the contract
keeps it, shows as a difference."""
import inspect

import numpy
import pytest

from gkeras import kernels
from gkeras.backends import numpy_rnn
from gkeras.backends.numpy_backend import NumpyBackend

from test_shim_kernels import _launch

DTYPES = ("float32", "float64")
TOLERANCE = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-13)}
# (batch, units): units prime or 1, batches with and without masked rows
SHAPES = [(3, 5), (7, 37), (1, 1)]
# activation, recurrent_activation: each of the six appears as both
ACTIVATION_PAIRS = [("tanh", "hard_sigmoid"), ("sigmoid", "sigmoid"), ("hard_sigmoid", "tanh"),
                    ("relu", "softsign"), ("linear", "relu"), ("softsign", "linear")]
# columns of each array, in units, per kernel (1 where not listed; "recurrent_bias" is 1-D)
WIDTHS = {
    "lstm_step_forward": dict(xw=4, hu=4, gates=4),
    "lstm_step_backward": dict(gates=4, dz=4),
    "gru_step_forward": dict(xw=3, hu=3, recurrent_bias=3, gates=4),
    "gru_step_backward": dict(gates=4, dxw=3, dhu=3),
    "gru_gates_forward": dict(xw=3, hu_zr=2, gates=3),
    "gru_output_forward": dict(xw=3, gates=3),
    "gru_output_backward": dict(gates=3, dxw=3),
    "gru_gates_backward": dict(gates=3, dxw=3),
    "simple_rnn_step_forward": {},
    "simple_rnn_step_backward": {},
}
# without a mask these outputs are ignored (the primitive takes None)
UNUSED_WITHOUT_MASK = {"lstm_step_backward": "dh_carry", "simple_rnn_step_backward": "dh_carry"}
NUMPY = NumpyBackend()


def _mask(rng, batch, masked):
    if not masked:
        return None
    mask = rng.random((batch, 1)) < 0.6
    mask[0, 0] = False  # at least one masked row, and one real row when there are two
    if batch > 1:
        mask[-1, 0] = True
    return mask


def _run(name, dtype, batch, units, masked, activation, recurrent_activation, seed=0):
    """(kernel outputs, NumPy outputs) by parameter name, from the same random arrays."""
    rng = numpy.random.default_rng(seed)
    parameters = kernels.signatures(kernels.source("rnn.cu"))[name]
    mask = _mask(rng, batch, masked)
    arrays, reference = [], {}
    for p in parameters:
        if not p.pointer:
            break
        if p.name == "mask":
            kernel_array = mask.reshape(-1) if masked else numpy.ones(1, bool)
            reference[p.name] = mask
        elif p.name == "recurrent_bias":
            values = rng.uniform(-1, 1, 3 * units).astype(dtype)
            kernel_array, reference[p.name] = (values, values) if masked else (
                numpy.zeros(1, dtype), None)
        elif p.name == UNUSED_WITHOUT_MASK.get(name) and not masked:
            kernel_array, reference[p.name] = numpy.zeros(1, dtype), None
        else:
            width = WIDTHS[name].get(p.name, 1) * units
            kernel_array = rng.uniform(-1.5, 1.5, (batch, width)).astype(dtype)
            reference[p.name] = kernel_array.copy()
        arrays.append(kernel_array)
    scalars = {"units": units, "masked": int(masked), "has_bias": int(masked),
               "activation": numpy_rnn.ACTIVATIONS.index(activation),
               "recurrent_activation": numpy_rnn.ACTIVATIONS.index(recurrent_activation)}
    rest = [scalars[p.name] for p in parameters[len(arrays) + 1:]]
    outputs = [i for i, p in enumerate(parameters[:len(arrays)]) if not p.const]
    got = _launch(name, dtype, batch * units, arrays, rest, outputs)
    got = {parameters[i].name: g for i, g in zip(outputs, got)}

    function = getattr(numpy_rnn, name)
    names = list(inspect.signature(function).parameters)[1:]
    choices = dict(activation=activation, recurrent_activation=recurrent_activation)
    function(numpy, *[reference[n] if n in reference else choices[n] for n in names])
    return got, reference


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("masked", [True, False], ids=["mask", "no_mask"])
@pytest.mark.parametrize("batch,units", SHAPES)
@pytest.mark.parametrize("activation,recurrent_activation", ACTIVATION_PAIRS)
@pytest.mark.parametrize("name", list(WIDTHS))
def test_step_kernel_equals_the_numpy_primitive(name, activation, recurrent_activation, batch,
                                                units, masked, dtype):
    got, want = _run(name, dtype, batch, units, masked, activation, recurrent_activation)
    assert got, name
    for output, value in got.items():
        if want[output] is None:  # an unused placeholder: untouched
            assert value.tobytes() == numpy.zeros(1, dtype).tobytes(), (name, output)
            continue
        numpy.testing.assert_allclose(value, want[output], err_msg=f"{name}: {output}",
                                      **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_rows_keep_their_states_exactly(dtype):
    """The contract's exact copies: h and c of masked rows are bit-identical to the previous
    ones, and masked rows send nothing through the gates."""
    got, want = _run("lstm_step_forward", dtype, 7, 37, True, "tanh", "hard_sigmoid", seed=3)
    mask = want["mask"][:, 0]
    assert got["h"][~mask].tobytes() == want["h_prev"][~mask].tobytes()
    assert got["c"][~mask].tobytes() == want["c_prev"][~mask].tobytes()
    got, want = _run("lstm_step_backward", dtype, 7, 37, True, "tanh", "sigmoid", seed=3)
    mask = want["mask"][:, 0]
    assert not got["dz"][~mask].any()
    assert got["dc_prev"][~mask].tobytes() == want["dc"][~mask].tobytes()
    assert got["dh_carry"][~mask].tobytes() == want["dh"][~mask].tobytes()
    assert not got["dh_carry"][mask].any()


def _embedding_gradient(indices, dy, rows):
    """The kernel on the shim, with the sorted order and row starts the backend computes."""
    flat = indices.reshape(-1)
    order = numpy.argsort(flat, kind="stable").astype(numpy.int64)
    starts = numpy.searchsorted(flat[order], numpy.arange(rows + 1)).astype(numpy.int64)
    columns = int(numpy.prod(dy.shape[indices.ndim:], dtype=numpy.int64))
    table = numpy.full((rows, columns), numpy.nan, dy.dtype)
    total = rows * columns
    (got,) = _launch("embedding_gradient", dy.dtype, total,
                     [dy.reshape(flat.size, columns), order, starts, table], [columns], [3])
    return got.reshape((rows,) + dy.shape[indices.ndim:])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows,index_shape,row_shape", [
    (11, (3, 7), (5,)),      # repeats, unused rows
    (4, (7, 3), (2, 3)),     # rows of matrices
    (9, (0,), (3,)),         # nothing gathered: all zeros
    (1, (5,), (1,)),         # every update into one row
])
def test_embedding_gradient_is_numpy_add_at_bit_for_bit(rows, index_shape, row_shape, dtype):
    rng = numpy.random.default_rng(4)
    indices = rng.integers(0, rows, index_shape)
    dy = rng.standard_normal(index_shape + row_shape).astype(dtype)
    got = _embedding_gradient(indices, dy, rows)
    want = NUMPY.take_backward(indices, dy, rows)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()  # the same sums in the same order
