"""The NumPy image transforms of gkeras.preprocessing (affine.py) against reference values
computed with keras_preprocessing 1.0.5 on SciPy 1.17.1 (scipy.ndimage.affine_transform,
order=1) and Pillow 13 (brightness), hard-coded here: the tests need neither."""
import numpy as np
import pytest

from gkeras.preprocessing import image
from gkeras.preprocessing.affine import affine_resample

# a 3x5 image with two different channels, channels last
IMG2 = np.stack([np.arange(15.).reshape(3, 5), np.arange(15.).reshape(3, 5)[::-1] * 2],
                -1).astype(np.float32)
COMBINED = dict(theta=20, tx=0.4, ty=-0.6, shear=10, zx=0.9, zy=1.1)
RGB = (np.arange(45, dtype=np.float32).reshape(3, 5, 3) * 3.7) % 200 + 10
RGBA = np.concatenate([RGB, RGB[..., :1] * 0.5], -1)
# source columns sampled on the row [1, 2, 4, 8, 16] (cval -5) by SciPy
LINE_COORDS = [-9.5, -5, -4.5, -4, -1.5, -0.75, -0.25, 0, 0.5, 3.75, 4, 4.25, 4.5, 5, 5.5, 8,
               9, 12.5]

# reference values (keras_preprocessing 1.0.5 + SciPy 1.17.1 / Pillow 13)
COMBINED_CONSTANT = np.array([[[-1.       , 10.000313 ,  8.20294  ,  6.405568 ,  4.6081963],
  [-1.       , -1.       , -1.       , 10.942003 ,  9.144631 ],
  [-1.       , -1.       , -1.       , -1.       , -1.       ]],

 [[-1.       ,  0.2077765,  7.6130323, 15.018289 , 22.423544 ],
  [-1.       , -1.       , -1.       ,  7.176691 , 14.581946 ],
  [-1.       , -1.       , -1.       , -1.       , -1.       ]]])
COMBINED_NEAREST = np.array([[[10.        , 10.000313  ,  8.20294   ,  6.405568  ,  4.6081963 ],
  [10.        , 10.359919  , 11.312547  , 10.942003  ,  9.144631  ],
  [10.        , 10.667737  , 11.620364  , 12.572992  , 13.52562   ]],

 [[ 0.        ,  0.2077765 ,  7.6130323 , 15.018289  , 22.423544  ],
  [ 0.        ,  0.71983695,  2.6250927 ,  7.176691  , 14.581946  ],
  [ 0.        ,  1.3354732 ,  3.240729  ,  5.145985  ,  7.051241  ]]])
COMBINED_REFLECT = np.array([[[10.        , 10.000313  ,  8.20294   ,  6.405568  ,  4.6081963 ],
  [ 8.073171  , 10.359919  , 11.312547  , 10.942003  ,  9.144631  ],
  [ 3.8445544 ,  7.262291  , 10.964919  , 12.572992  , 13.52562   ]],

 [[ 0.        ,  0.2077765 ,  7.6130323 , 15.018289  , 22.423544  ],
  [ 3.8536577 ,  0.71983695,  2.6250927 ,  7.176691  , 14.581946  ],
  [12.310891  ,  8.146364  ,  4.5516205 ,  5.145985  ,  7.051241  ]]])
COMBINED_WRAP = np.array([[[ 5.7976847, 10.000313 ,  8.20294  ,  6.405568 ,  4.6081963],
  [10.33412  ,  4.5367475,  2.7393754, 10.942003 ,  9.144631 ],
  [ 4.8705544,  9.073182 ,  7.2758102,  5.4784384,  3.681066 ]],

 [[20.80252  ,  0.2077765,  7.6130323, 15.018289 , 22.423544 ],
  [12.960923 , 12.366179 , 19.771435 ,  7.176691 , 14.581946 ],
  [25.119326 ,  4.524582 , 11.929838 , 19.335094 , 26.740349 ]]])
MIRROR = np.array([[ 8.202315 , 10.000313 ,  8.20294  ,  6.405568 ,  4.6081963],
 [ 3.6658807,  6.1830897,  9.885717 , 10.942003 ,  9.144631 ],
 [ 1.4403371,  2.262291 ,  5.964919 ,  9.667547 , 13.370174 ]])
ROT90_CONSTANT = np.array([[-1., -1., -1., 11.,  6.],
 [-1., -1., -1., 12.,  7.],
 [-1., -1., -1., 13.,  8.]])
ROTATE_25_WRAP = np.array([[10.712036 ,  5.505253 ,  4.298469 ,  3.0916855, 11.884902 ],
 [ 5.6661935, 10.45941  ,  9.252626 ,  8.045843 ,  6.8390594],
 [ 6.6203504,  5.413567 ,  4.2067833, 13.       , 11.793217 ]])
SHIFT_REFLECT = np.array([[4.75, 5.75, 6.5 , 6.25, 5.25],
 [2.25, 3.25, 4.  , 3.75, 2.75],
 [4.75, 5.75, 6.5 , 6.25, 5.25]])
SHEAR_NEAREST = np.array([[ 9.146191 ,  7.0974603,  5.0487304,  3.       ,  3.819152 ],
 [10.542543 , 11.361696 , 10.04873  ,  8.       ,  5.9512696],
 [10.542543 , 11.361696 , 12.180848 , 13.       , 10.95127  ]])
ZOOM_CONSTANT = np.array([[ 3. ,  3. ,  5.3,  7. ,  3. ],
 [ 3. ,  3. ,  8.3, 10. ,  3. ],
 [ 3. ,  3. , 11.3, 13. ,  3. ]])
LINE_CONSTANT = [
    -5, -5, -5, -5, -5, -5, -5, 1, 1.5, 14, 16, -5, -5, -5, -5, -5, -5, -5]
LINE_NEAREST = [
    1, 1, 1, 1, 1, 1, 1, 1, 1.5, 14, 16, 16, 16, 16, 16, 16, 16, 16]
LINE_REFLECT = [
    1.5, 16, 12, 8, 1.5, 1, 1, 1, 1.5, 14, 16, 16, 16, 16, 12, 2, 1, 6]
LINE_WRAP = [
    6, 8, 12, 16, 6, 10, 14, 1, 1.5, 14, 16, 1.25, 1.5, 2, 3, 1, 2, 1.5]
LINE_MIRROR = [
    3, 8, 12, 16, 3, 1.75, 1.25, 1, 1.5, 14, 16, 14, 12, 8, 6, 1, 2, 12]
BRIGHT_RGB_07 = np.array([[  9.,  21.,  32.,  44.,  56.],
 [ 67.,  79.,  90., 101., 113.],
 [124., 135., 147., 158., 170.]])
BRIGHT_RGB_13 = np.array([[ 26.,  46.,  67.,  89., 110.],
 [132., 153., 174., 196., 217.],
 [239., 255., 255., 255., 255.]])
BRIGHT_GRAY_09 = np.array([[  0.,  16.,  32.,  48.,  64.],
 [ 81.,  98., 114., 130., 146.],
 [163., 180., 196., 212., 229.]])
BRIGHT_RGBA_16_C2 = np.array([[ 40.,  67.,  92., 118., 145.],
 [171., 196., 224., 249., 255.],
 [255., 255., 255., 255., 255.]])
BRIGHT_RGBA_16_A = np.array([[  7.,  15.,  23.,  31.,  40.],
 [ 48.,  56.,  64.,  72.,  81.],
 [ 89.,  97., 105., 113., 122.]])


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("mode,expected", [("constant", COMBINED_CONSTANT),
                                           ("nearest", COMBINED_NEAREST),
                                           ("reflect", COMBINED_REFLECT),
                                           ("wrap", COMBINED_WRAP)])
def test_combined_transform_every_fill_mode_both_layouts(mode, expected):
    out = image.apply_affine_transform(IMG2, fill_mode=mode, cval=-1.0, **COMBINED)
    assert out.shape == IMG2.shape and out.dtype == np.float32
    close(np.moveaxis(out, -1, 0), expected)
    channels_first = image.apply_affine_transform(np.moveaxis(IMG2, -1, 0), row_axis=1,
                                                  col_axis=2, channel_axis=0, fill_mode=mode,
                                                  cval=-1.0, **COMBINED)
    close(channels_first, expected)


def test_scipy_mirror_mode_keras_passed_through():
    close(image.apply_affine_transform(IMG2, fill_mode="mirror", **COMBINED)[..., 0], MIRROR)


@pytest.mark.parametrize("params,mode,cval,expected", [
    (dict(theta=90), "constant", -1.0, ROT90_CONSTANT),
    (dict(theta=25), "wrap", 0.0, ROTATE_25_WRAP),
    (dict(tx=-1.5, ty=2.25), "reflect", 0.0, SHIFT_REFLECT),
    (dict(shear=35), "nearest", 0.0, SHEAR_NEAREST),
    (dict(zx=0.6, zy=1.7), "constant", 3.0, ZOOM_CONSTANT),
])
def test_each_transform_alone(params, mode, cval, expected):
    out = image.apply_affine_transform(IMG2, fill_mode=mode, cval=cval, **params)
    close(out[..., 0], expected)


@pytest.mark.parametrize("mode,expected", [("constant", LINE_CONSTANT),
                                           ("nearest", LINE_NEAREST),
                                           ("reflect", LINE_REFLECT),
                                           ("wrap", LINE_WRAP),
                                           ("mirror", LINE_MIRROR)])
def test_boundary_rules_match_scipy_on_a_line(mode, expected):
    # every output pixel reads the input at (1, c): a zero matrix and offset (1, c)
    row = np.zeros((3, 5, 1))
    row[1, :, 0] = [1., 2., 4., 8., 16.]
    got = [affine_resample(row, np.zeros((2, 2)), (1.0, c), mode, -5.0)[0, 0, 0]
           for c in LINE_COORDS]
    np.testing.assert_array_equal(got, expected)


def test_resample_one_pixel_axes_and_integer_images():
    single_row = np.array([[[3.0], [7.0]]])
    for mode in ("nearest", "reflect", "wrap", "mirror"):
        assert affine_resample(single_row, np.zeros((2, 2)), (-1.5, 0.5), mode)[0, 0, 0] == 5.0
    assert affine_resample(single_row, np.zeros((2, 2)), (0.5, 0.5), "constant", 9)[0, 0, 0] == 9
    # integer images round half away from zero and saturate, as SciPy stores them
    ints = np.array([[[0], [255]], [[255], [0]]], dtype=np.uint8)
    out = affine_resample(ints, np.eye(2), (0.0, 0.3), "nearest")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], [[77, 255], [179, 0]])


def test_neutral_parameters_return_the_input_itself():
    assert image.apply_affine_transform(IMG2) is IMG2


def test_bad_rank_and_fill_mode_are_clear_errors():
    with pytest.raises(ValueError, match="rank 3.*shape \\(3, 5\\)"):
        image.apply_affine_transform(IMG2[..., 0], theta=10)
    with pytest.raises(ValueError, match="fill_mode must be one of.*'bogus'"):
        image.apply_affine_transform(IMG2, theta=10, fill_mode="bogus")


def test_transform_matrix_offset_center_is_kerass_half_pixel_centre():
    shifted = image.transform_matrix_offset_center(np.eye(3) * [2, 2, 1], 4, 6)
    # centre (4/2 + 0.5, 6/2 + 0.5) = (2.5, 3.5) stays put under the zoom
    np.testing.assert_allclose(shifted @ [2.5, 3.5, 1], [2.5, 3.5, 1])


def test_random_transforms_draw_like_keras():
    chw = np.moveaxis(IMG2, -1, 0)  # the random_* defaults are channels first
    np.random.seed(3)
    theta = np.random.uniform(-40, 40)
    np.random.seed(3)
    close(image.random_rotation(chw, 40, fill_mode="reflect"),
          image.apply_affine_transform(chw, theta=theta, row_axis=1, col_axis=2,
                                       channel_axis=0, fill_mode="reflect"))
    np.random.seed(4)
    tx, ty = np.random.uniform(-0.3, 0.3) * 3, np.random.uniform(-0.2, 0.2) * 5
    np.random.seed(4)
    close(image.random_shift(chw, 0.2, 0.3),
          image.apply_affine_transform(chw, tx=tx, ty=ty, row_axis=1, col_axis=2,
                                       channel_axis=0))
    np.random.seed(5)
    shear = np.random.uniform(-30, 30)
    np.random.seed(5)
    close(image.random_shear(IMG2, 30, row_axis=0, col_axis=1, channel_axis=2),
          image.apply_affine_transform(IMG2, shear=shear))
    np.random.seed(6)
    zx, zy = np.random.uniform(0.7, 1.4, 2)
    np.random.seed(6)
    close(image.random_zoom(IMG2, (0.7, 1.4), row_axis=0, col_axis=1, channel_axis=2,
                            fill_mode="wrap"),
          image.apply_affine_transform(IMG2, zx=zx, zy=zy, fill_mode="wrap"))
    state = np.random.get_state()[1].copy()
    assert image.random_zoom(IMG2, (1, 1), channel_axis=2) is IMG2
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # (1, 1) draws nothing
    with pytest.raises(ValueError, match="zoom_range"):
        image.random_zoom(IMG2, (0.5, 1, 2))


def test_channel_shift_clips_to_the_image_range():
    out = image.apply_channel_shift(IMG2, 5.0, channel_axis=2)
    expected = np.clip(IMG2 + 5.0, 0.0, 28.0)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32
    np.random.seed(1)
    intensity = np.random.uniform(-7, 7)
    np.random.seed(1)
    np.testing.assert_array_equal(image.random_channel_shift(IMG2, 7, channel_axis=2),
                                  np.clip(IMG2 + np.float32(intensity), 0.0, 28.0))


def test_brightness_matches_pillow_imageenhance():
    out = image.apply_brightness_shift(RGB, 0.7)
    assert out.shape == RGB.shape and out.dtype == np.float32
    close(out[..., 0], BRIGHT_RGB_07)
    close(image.apply_brightness_shift(RGB, 1.3)[..., 1], BRIGHT_RGB_13)
    close(image.apply_brightness_shift(RGB[..., :1] - 50, 0.9)[..., 0], BRIGHT_GRAY_09)
    rgba = image.apply_brightness_shift(RGBA, 1.6)
    close(rgba[..., 2], BRIGHT_RGBA_16_C2)
    close(rgba[..., 3], BRIGHT_RGBA_16_A)
    channels_first = image.apply_brightness_shift(np.moveaxis(RGB, -1, 0), 0.7, channel_axis=0)
    close(channels_first[0], BRIGHT_RGB_07)
    np.random.seed(2)
    factor = np.random.uniform(0.5, 1.5)
    np.random.seed(2)
    np.testing.assert_array_equal(image.random_brightness(RGB, (0.5, 1.5)),
                                  image.apply_brightness_shift(RGB, factor))
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        image.apply_brightness_shift(RGB[..., :2], 0.5)


def test_brightness_against_installed_pillow():
    pil = pytest.importorskip("PIL.ImageEnhance")
    for x, factor in ((RGB, 0.45), (RGB, 1.7), (RGBA, 0.8), (RGB[..., :1], 1.2)):
        img = image.array_to_img(x, data_format="channels_last")
        expected = image.img_to_array(pil.Brightness(img).enhance(factor),
                                      data_format="channels_last")
        np.testing.assert_array_equal(image.apply_brightness_shift(x, factor), expected)


def test_flip_axis():
    np.testing.assert_array_equal(image.flip_axis(IMG2, 1), IMG2[:, ::-1])
    np.testing.assert_array_equal(image.flip_axis(IMG2, 0), IMG2[::-1])
