"""Every kernel source, and every kernel instance the loader asks for, compiles with NVRTC for
the GPUs gkeras targets -- with no GPU and no CuPy: NVRTC from the pip package
``nvidia-cuda-nvrtc`` (the ``test`` extra), called through ctypes. A compile error or warning
fails with NVRTC's log."""
import ctypes
import glob
import importlib.util
import os

import pytest

from gkeras import kernels

ARCHITECTURES = ("sm_80", "sm_90")  # A100, H100/H200
KERNEL_DIRECTORY = os.path.dirname(os.path.abspath(kernels.__file__))


def _find_nvrtc():
    spec = importlib.util.find_spec("nvidia")
    directories = list(spec.submodule_search_locations) if spec is not None else []
    # nvidia/cu13/lib (CUDA 13 wheels) or nvidia/cuda_nvrtc/lib (CUDA 12 wheels)
    found = sorted(path for d in directories for path in glob.glob(os.path.join(d, "*", "lib",
                                                                                "libnvrtc.so*"))
                   if "builtins" not in os.path.basename(path))
    if not found:
        pytest.fail("NVRTC not found: install the test extra (pip install -e '.[test]'), which "
                    "brings the pip package nvidia-cuda-nvrtc (its libnvrtc.so lies under "
                    f"site-packages/nvidia/*/lib); searched {directories}")
    return ctypes.CDLL(found[0])


@pytest.fixture(scope="module")
def nvrtc():
    return _find_nvrtc()


def _check(nvrtc, status, what):
    if status != 0:
        nvrtc.nvrtcGetErrorString.restype = ctypes.c_char_p
        raise RuntimeError(f"{what}: {nvrtc.nvrtcGetErrorString(status).decode()}")


def compile_with_nvrtc(nvrtc, code, filename, architecture, name_expressions):
    """{name expression: lowered name} of ``code`` compiled to a cubin for ``architecture``;
    raises AssertionError with NVRTC's log if it reports an error or a warning."""
    program = ctypes.c_void_p()
    _check(nvrtc, nvrtc.nvrtcCreateProgram(ctypes.byref(program), code.encode(),
                                           filename.encode(), 0, None, None), "create")
    try:
        for expression in name_expressions:
            _check(nvrtc, nvrtc.nvrtcAddNameExpression(program, expression.encode()), expression)
        options = [f"--gpu-architecture={architecture}", *kernels.COMPILE_OPTIONS]
        status = nvrtc.nvrtcCompileProgram(program, len(options),
                                           (ctypes.c_char_p * len(options))(
                                               *[o.encode() for o in options]))
        size = ctypes.c_size_t()
        _check(nvrtc, nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size)), "log size")
        log = ctypes.create_string_buffer(size.value)
        _check(nvrtc, nvrtc.nvrtcGetProgramLog(program, log), "log")
        log = log.value.decode(errors="replace").strip()
        assert status == 0 and not log, (
            f"NVRTC ({architecture}, options {options}) rejected {filename}:\n{log}")
        _check(nvrtc, nvrtc.nvrtcGetCUBINSize(program, ctypes.byref(size)), "cubin size")
        assert size.value > 0, f"{filename}: NVRTC made an empty cubin for {architecture}"
        lowered = {}
        for expression in name_expressions:
            name = ctypes.c_char_p()
            _check(nvrtc, nvrtc.nvrtcGetLoweredName(program, expression.encode(),
                                                    ctypes.byref(name)), expression)
            lowered[expression] = name.value.decode()
        return lowered
    finally:
        nvrtc.nvrtcDestroyProgram(ctypes.byref(program))


def test_the_loader_knows_every_kernel_source():
    on_disk = sorted(os.path.basename(p) for p in glob.glob(os.path.join(KERNEL_DIRECTORY,
                                                                         "*.cu")))
    assert sorted(kernels.SOURCES) == on_disk


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("filename", kernels.SOURCES)
def test_kernel_source_compiles_with_nvrtc(nvrtc, filename, architecture):
    expressions = kernels.name_expressions(filename)
    lowered = compile_with_nvrtc(nvrtc, kernels.source(filename), filename, architecture,
                                 expressions)
    assert sorted(lowered) == sorted(expressions)
    # every instance is a distinct, mangled C++ template instance
    assert all(name.startswith("_Z") for name in lowered.values())
    assert len(set(lowered.values())) == len(expressions)


def test_every_kernel_has_an_instance_per_element_type():
    for filename in kernels.SOURCES:
        names = kernels.signatures(kernels.source(filename))
        assert names, filename
        assert len(kernels.name_expressions(filename)) == len(names) * len(kernels.ELEMENT_TYPES)
    assert {n for f in kernels.SOURCES for n in kernels.signatures(kernels.source(f))} == {
        "im2col", "col2im", "max_pool", "max_pool_backward", "avg_pool", "avg_pool_backward",
        "lstm_step_forward", "lstm_step_backward", "gru_step_forward", "gru_step_backward",
        "gru_gates_forward", "gru_output_forward", "gru_output_backward", "gru_gates_backward",
        "simple_rnn_step_forward", "simple_rnn_step_backward", "embedding_gradient",
        "moments_partial", "moments_combine", "chunk_sums_combine", "batch_norm_forward",
        "batch_norm_backward_partial", "batch_norm_backward", "layer_norm_forward",
        "layer_norm_row_partial", "layer_norm_column_partial", "layer_norm_backward",
        "sgd_update", "rmsprop_update", "adagrad_update", "adadelta_update", "adam_update",
        "adamax_update", "nadam_update",
        "bias_activation", "activation_backward", "softmax_rows", "softmax_rows_backward",
        "softmax_crossentropy", "softmax_crossentropy_backward", "sparse_softmax_crossentropy",
        "sparse_softmax_crossentropy_backward", "dropout_multiplier"}


def test_a_compile_error_fails_with_the_nvrtc_log(nvrtc):
    broken = kernels.source("conv.cu").replace("T sum = T(0);", "T sum = undeclared;")
    with pytest.raises(AssertionError, match=r"(?s)conv\.cu.*undeclared"):
        compile_with_nvrtc(nvrtc, broken, "conv.cu", "sm_80", kernels.name_expressions("conv.cu"))


def test_a_warning_fails_too(nvrtc):
    warned = kernels.source("conv.cu") + "\n__device__ int unused() { int x; return x; }\n"
    with pytest.raises(AssertionError, match="warning"):
        compile_with_nvrtc(nvrtc, warned, "conv.cu", "sm_80", [])
