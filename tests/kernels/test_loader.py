"""gkeras.kernels, the loader: signatures parsed from the CUDA source, name expressions, typed
launch arguments, grid sizes for any n, one compile per source and xp."""
import ast
import os

import numpy
import pytest

from gkeras import kernels

from fakecupy import FakeCupy


def test_signatures_come_from_the_cuda_source():
    parameters = kernels.signatures(kernels.source("pooling.cu"))["max_pool_backward"]
    assert [(p.name, p.ctype("float32")) for p in parameters[:5]] == [
        ("dy", "const float*"), ("argmax", "const int*"), ("dx", "float*"),
        ("total", "long long"), ("channels_last", "int")]
    assert [p.name for p in parameters[4:]] == [
        "channels_last", "c", "h", "w", "oh", "ow", "kh", "kw", "sh", "sw", "dh", "dw", "pt",
        "pl"]
    assert parameters[2].ctype("float64") == "double*"
    assert kernels.name_expressions("conv.cu") == [
        "im2col<float>", "im2col<double>", "col2im<float>", "col2im<double>"]
    assert kernels.file_of("avg_pool") == "pooling.cu"
    with pytest.raises(KeyError, match="no kernel named 'conv3d'"):
        kernels.file_of("conv3d")


def test_bool_pointers_are_masks_of_numpy_bools():
    parameters = kernels.signatures(kernels.source("rnn.cu"))["simple_rnn_step_forward"]
    mask = parameters[3]
    assert (mask.name, mask.ctype("float64"), mask.dtype("float64")) == (
        "mask", "const bool*", numpy.dtype(bool))
    kernel = _kernel("simple_rnn_step_forward")
    h = numpy.zeros((3, 5))
    kernel(15, h, h, h, numpy.ones(3, bool), h, 15, 5, 1, 0)
    with pytest.raises(TypeError, match="argument mask must be a C-contiguous bool array, "
                                        "got int32"):
        kernel(15, h, h, h, numpy.ones(3, numpy.int32), h, 15, 5, 1, 0)


def test_source_starts_with_the_prelude_and_keeps_line_numbers():
    text = kernels.source("conv.cu")
    assert text.index("#define GRID_STRIDE_LOOP") < text.index('#line 1 "conv.cu"')
    with open(os.path.join(os.path.dirname(kernels.__file__), "conv.cu")) as f:
        assert text.endswith(f.read())


def test_unparsable_kernels_are_refused():
    with pytest.raises(ValueError, match="parameter 'size_t n'"):
        kernels.signatures("template <typename T>\n__global__ void k(T* y, size_t n) {}")
    with pytest.raises(ValueError, match="must be a 'template <typename T>'"):
        kernels.signatures("__global__ void plain(float* y) {}")


@pytest.mark.parametrize("n,blocks", [(1, 1), (256, 1), (257, 2), (10**6, 3907),
                                      (2**40, kernels.MAX_BLOCKS)])
def test_blocks_for_any_n(n, blocks):
    assert kernels.blocks_for(n) == blocks
    # the grid-stride loop covers the rest of n
    assert blocks * kernels.THREADS_PER_BLOCK >= min(n, kernels.MAX_BLOCKS * 256)


class _Recorder:
    def __init__(self):
        self.launches = []

    def __call__(self, grid, block, args):
        self.launches.append((grid, block, args))


def _kernel(name="avg_pool", dtype="float64"):
    parameters = kernels.signatures(kernels.source(kernels.file_of(name)))[name]
    return kernels.Kernel(_Recorder(), name, dtype, parameters)


def test_kernel_types_scalars_and_computes_the_grid():
    kernel = _kernel()
    x, y = numpy.zeros((1, 4, 4, 1)), numpy.zeros((1, 2, 2, 1))
    kernel(300, x, y, 4, *range(14))
    (grid, block, args), = kernel.function.launches
    assert grid == (2,) and block == (kernels.THREADS_PER_BLOCK,)
    assert args[0] is x and args[1] is y
    assert type(args[2]) is numpy.int64 and all(type(a) is numpy.int32 for a in args[3:])
    kernel(0, x, y, 0, *range(14))
    assert len(kernel.function.launches) == 1  # nothing to do: no (invalid) empty launch


def test_kernel_refuses_wrong_arrays_and_argument_counts():
    kernel = _kernel()
    x, y = numpy.zeros((1, 4, 4, 1)), numpy.zeros((1, 2, 2, 1))
    with pytest.raises(TypeError, match="takes 17 arguments"):
        kernel(4, x, y, 4)
    with pytest.raises(TypeError, match="argument x must be a C-contiguous float64 array, "
                                        "got float32"):
        kernel(4, x.astype("float32"), y, 4, *range(14))
    with pytest.raises(TypeError, match=r"argument x must be .*contiguous: False"):
        kernel(4, x.transpose(0, 2, 1, 3), y, 4, *range(14))
    with pytest.raises(TypeError, match="no float16 instance of kernel avg_pool"):
        kernels.get(FakeCupy(), "avg_pool", "float16")


def test_each_source_is_compiled_once_per_xp():
    fake = FakeCupy()
    built = []
    make = fake.RawModule

    def counting_raw_module(**kwargs):
        built.append(kwargs)
        return make(**kwargs)
    fake.RawModule = counting_raw_module
    a = kernels.get(fake, "max_pool", "float32")
    assert kernels.get(fake, "max_pool", "float32") is a
    kernels.get(fake, "max_pool_backward", "float64")
    kernels.get(fake, "im2col", "float64")
    assert [b["name_expressions"] for b in built] == [kernels.name_expressions("pooling.cu"),
                                                      kernels.name_expressions("conv.cu")]
    assert all(b["options"] == ("--std=c++17",) for b in built)
    other = FakeCupy()
    assert kernels.get(other, "max_pool", "float32") is not a


def test_the_kernels_package_imports_no_gkeras_module():
    with open(kernels.__file__) as f:
        tree = ast.parse(f.read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "." for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert imported <= {"functools", "os", "re", "numpy"}, imported
