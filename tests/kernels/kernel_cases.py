"""Window geometries the kernel tests share: odd sizes that no block size divides, strides,
dilations, asymmetric and oversized pads, 1-D as height 1."""

# name: (x shape as (n, h, w, c), window (kh, kw), strides, dilation, ((pt, pb), (pl, pr)))
CASES = {
    "valid_3x3": ((2, 7, 9, 3), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0))),
    "strided_asymmetric_pads": ((2, 8, 11, 5), (3, 2), (2, 3), (1, 1), ((1, 2), (0, 1))),
    "dilated": ((1, 9, 10, 2), (3, 3), (1, 2), (2, 3), ((2, 1), (3, 0))),
    "1d_causal_dilated": ((3, 1, 13, 4), (1, 4), (1, 1), (1, 2), ((0, 0), (6, 0))),
    "stride_over_window": ((2, 10, 7, 3), (2, 2), (3, 3), (1, 1), ((0, 1), (1, 0))),
    "window_is_the_input": ((1, 4, 5, 1), (4, 5), (1, 1), (1, 1), ((0, 0), (0, 0))),
    "windows_of_padding_only": ((1, 3, 3, 2), (2, 2), (1, 1), (1, 1), ((2, 2), (2, 2))),
}
# Keras's pooling layers have no dilation: the cases the contract's pooling primitives take
POOL_CASES = {name: case for name, case in CASES.items() if case[3] == (1, 1)}
LAYOUTS = {"channels_last": True, "channels_first": False}
DTYPES = ("float32", "float64")
TOLERANCE = {"float32": dict(rtol=2e-6, atol=2e-6), "float64": dict(rtol=1e-13, atol=1e-13)}


def x_shape(case, channels_last):
    n, h, w, c = CASES[case][0]
    return (n, h, w, c) if channels_last else (n, c, h, w)


def pooled_shape(shape, oh, ow, channels_last):
    return (shape[0], oh, ow, shape[3]) if channels_last else (shape[0], shape[1], oh, ow)


def with_ties(rng, shape, dtype):
    """Values from a small set, so windows hold equal maxima."""
    return rng.integers(-2, 3, shape).astype(dtype)
