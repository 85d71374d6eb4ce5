"""gkeras.preprocessing.image's ImageDataGenerator and iterators against Keras 2.2.4
(keras_preprocessing 1.0.5, run with SciPy 1.17.1 and Pillow 13; its outputs hard-coded
here), plus the Pillow file helpers (skipped without Pillow) and the missing-Pillow error."""
import inspect
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import gkeras
from gkeras import config
from gkeras.preprocessing import image, image_io
from gkeras.utils import Sequence

FULL = dict(rotation_range=25, width_shift_range=0.2, height_shift_range=1.5,
            brightness_range=(0.6, 1.4), shear_range=8, zoom_range=0.15,
            channel_shift_range=20., horizontal_flip=True, vertical_flip=True,
            fill_mode="reflect")
X = ((np.arange(45, dtype=np.float32).reshape(3, 5, 3) * 7.3) % 230) + 5
XF = np.array([
    5.488134860992432, 7.151893615722656, 6.0276336669921875, 5.448832035064697,
    4.236547946929932, 6.4589409828186035, 4.3758721351623535, 8.917730331420898,
    9.636627197265625, 3.8344151973724365, 7.917250156402588, 5.288949012756348,
    5.680445671081543, 9.255966186523438, 0.710360586643219, 0.8712930083274841,
    0.20218397676944733, 8.32619857788086, 7.781567573547363, 8.700121879577637,
    9.78618335723877, 7.991585731506348, 4.61479377746582, 7.805291652679443,
    1.1827442646026611, 6.399209976196289, 1.4335328340530396, 9.44668960571289,
    5.2184834480285645, 4.1466193199157715, 2.6455562114715576, 7.742336750030518,
    4.5615034103393555, 5.68433952331543, 0.18789801001548767, 6.176354885101318,
    6.120957374572754, 6.169340133666992, 9.437480926513672, 6.818202972412109,
    3.595078945159912, 4.370319366455078, 6.976312160491943, 0.6022546887397766,
    6.667667388916016, 6.70637845993042, 2.103825569152832, 1.2892630100250244,
    3.1542835235595703, 3.6371076107025146, 5.701967716217041, 4.386014938354492,
    9.88373851776123, 1.020448088645935], dtype=np.float32).reshape(6, 3, 3, 1)
XS = (np.arange(10 * 9, dtype=np.float32).reshape(10, 3, 3, 1) * 1.7) % 40

# keras_preprocessing 1.0.5 outputs
PARAMS_SEED7 = {"theta": -21.18458553130214, "tx": 0.8397563767203438,
                "ty": -0.12318153711821295, "shear": 3.5754428452950595,
                "zx": 1.1433968535989807, "zy": 1.01154876112313, "flip_horizontal": 0.0,
                "flip_vertical": 1.0, "channel_shift_intensity": -9.262440795925153,
                "brightness": 0.9999060006604479}
SHIFTS = {  # (tx, ty) for seeds 0..5 with height_shift_range=0.25 and this width range
    2: [(0.0732202559, -1.0), (-0.1244669929, 0.0), (-0.0960076468, -1.0),
        (0.0761968539, 1.0), (0.7005447585, 1.0), (-0.4170102434, 1.0)],
    (-1, 0, 3): [(0.0732202559, 0.0), (-0.1244669929, 1.0), (-0.0960076468, 0.0),
                 (0.0761968539, 0.0), (0.7005447585, 0.0), (-0.4170102434, 0.0)],
    3.0: [(0.0732202559, 1.2911361982), (-0.1244669929, 1.3219469607),
          (-0.0960076468, -2.844442609), (0.0761968539, 1.2488869357),
          (0.7005447585, 0.2833934951), (-0.4170102434, 2.2243938371)],
}
RANDOM_TRANSFORM_SEED11 = np.array([  # channels first view of the channels-last output
    [[255., 255., 193., 117., 52.], [183., 169., 133., 97., 61.], [195., 230., 233., 236., 240.]],
    [[255., 255., 204., 130., 64.], [195., 180., 144., 110., 74.], [208., 242., 245., 249., 252.]],
    [[255., 255., 217., 142., 76.], [207., 193., 157., 121., 85.], [220., 254., 255., 255., 255.]]])
RANDOM_TRANSFORM_NOBRIGHT_SEED11 = np.array([
    [[195.62148, 160.55226, 115.86799, 71.18374, 31.628521],
     [110.27227, 101.40552, 80.108894, 58.812263, 37.515636],
     [117.841446, 138.24944, 140.34044, 142.43143, 144.52243]],
    [[195.62148, 167.85225, 123.16799, 78.483734, 38.92852],
     [117.572266, 108.70551, 87.40889, 66.11227, 44.815636],
     [125.14144, 145.54944, 147.64044, 149.73145, 151.82243]],
    [[195.62148, 175.15225, 130.46799, 85.78374, 46.22852],
     [124.87227, 116.005516, 94.70889, 73.41226, 52.11564],
     [132.44145, 152.84944, 154.94044, 157.03145, 159.12244]]])
FEATURE_MEAN, FEATURE_STD = 5.369902610778809, 2.758887767791748
FEATURE_STANDARDIZED = np.array([[0.04285503, 0.645909, 0.23840435],
                                 [0.02860914, -0.41080114, 0.39473805],
                                 [-0.36030105, 1.2859626, 1.5465374]])
XZ = np.random.RandomState(1).uniform(0, 10, (20, 2, 2, 1)).astype(np.float32)
ZCA_PCS = np.array([[0.31580576, -0.05362945, -0.03358248, -0.03735472],
                    [-0.05362945, 0.3933139, 0.08767305, 0.02685964],
                    [-0.03358248, 0.08767305, 0.34970474, 0.03334206],
                    [-0.03735472, 0.02685966, 0.03334207, 0.4163413]])
ZCA_STANDARDIZED = np.array([[-0.07400829, 0.5728765], [-1.4455917, -0.75136995]])
SAMPLEWISE = np.array([[-0.25630054, 0.98660463, 0.1864917],
                       [0.30567193, 1.3941394, -1.2073319],
                       [-1.1583405, -1.3620319, 1.1110976]])
AUGMENTED_MEAN = 1.4943273067474365
CF_MEAN = [4.38473653793335, 4.236635684967041, 5.747982501983643]
CF_STD = [2.7628486156463623, 2.862809181213379, 2.6611013412475586]
FLOW_Y_ORDER = [[8, 1, 5, 0], [7, 2, 9, 4], [3, 6], [2, 4, 1, 8], [9, 6, 5, 7], [0, 3]]
FLOW_FIRST_BATCH = np.array([
    [[6.454725, 5.407625, 3.8167472], [11.227369, 8.437983, 5.0493493],
     [16., 12.611369, 9.222737]],
    [[19.40505, 18.359636, 16.777143], [24.152527, 21.327906, 17.882223],
     [28.900002, 25.454317, 22.008635]],
    [[34.5529, 21.048971, 8.500971], [4.726, 4.867815, 5.3856115],
     [10.100006, 8.501983, 6.903966]],
    [[1.3287994, 1.9985603, 3.0598586], [6.390253, 7.2686315, 8.329929],
     [10.225698, 11.912849, 13.6]]])
GETITEM_Y = [[8, 1, 5, 0], [7, 2, 9, 4], [3, 6]]
GETITEM_Y_AFTER_EPOCH_END = [[0, 2, 5, 1], [4, 9, 8, 7], [3, 6]]
GETITEM_BATCH1_FIRST = np.array([[25.874617, 24.599998, 23.27066],
                                 [30.337313, 27.203959, 23.247713],
                                 [34.800003, 30.843756, 26.887512]])
FLOW_AUGMENT = dict(rotation_range=30, horizontal_flip=True, width_shift_range=1,
                    fill_mode="nearest")


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-4)


def test_keras_224_arguments_and_defaults():
    defaults = {name: p.default for name, p in
                inspect.signature(image.ImageDataGenerator).parameters.items()}
    assert defaults == dict(
        featurewise_center=False, samplewise_center=False,
        featurewise_std_normalization=False, samplewise_std_normalization=False,
        zca_whitening=False, zca_epsilon=1e-6, rotation_range=0, width_shift_range=0.,
        height_shift_range=0., brightness_range=None, shear_range=0., zoom_range=0.,
        channel_shift_range=0., fill_mode="nearest", cval=0., horizontal_flip=False,
        vertical_flip=False, rescale=None, preprocessing_function=None, data_format=None,
        validation_split=0.0, dtype=None)
    flow = inspect.signature(image.ImageDataGenerator.flow).parameters
    assert [(n, p.default) for n, p in flow.items()][1:] == [
        ("x", inspect.Parameter.empty), ("y", None), ("batch_size", 32), ("shuffle", True),
        ("sample_weight", None), ("seed", None), ("save_to_dir", None), ("save_prefix", ""),
        ("save_format", "png"), ("subset", None)]
    assert gkeras.preprocessing.image is image


def test_data_format_and_dtype_follow_the_configuration():
    generator = image.ImageDataGenerator()
    assert (generator.data_format, generator.dtype) == ("channels_last", "float32")
    assert generator.zoom_range == [1, 1]
    config.set_image_data_format("channels_first")
    config.set_floatx("float64")
    generator = image.ImageDataGenerator(zoom_range=0.25)
    assert (generator.data_format, generator.dtype) == ("channels_first", "float64")
    assert (generator.channel_axis, generator.row_axis, generator.col_axis) == (1, 2, 3)
    assert generator.zoom_range == [0.75, 1.25]
    batch = generator.flow(np.zeros((2, 3, 4, 5)), batch_size=2)[0]
    assert batch.dtype == np.float64


def test_constructor_errors_and_flag_overrides():
    with pytest.raises(ValueError, match="data_format"):
        image.ImageDataGenerator(data_format="channels_middle")
    with pytest.raises(ValueError, match="validation_split.*1.5"):
        image.ImageDataGenerator(validation_split=1.5)
    with pytest.raises(ValueError, match="zoom_range"):
        image.ImageDataGenerator(zoom_range=(0.1, 0.2, 0.3))
    with pytest.warns(UserWarning, match="zca_whitening"):
        generator = image.ImageDataGenerator(zca_whitening=True,
                                             featurewise_std_normalization=True)
    assert generator.featurewise_center and not generator.featurewise_std_normalization
    with pytest.warns(UserWarning, match="samplewise_std_normalization"):
        assert image.ImageDataGenerator(samplewise_std_normalization=True).samplewise_center


def test_get_random_transform_draws_like_keras():
    params = image.ImageDataGenerator(**FULL).get_random_transform((3, 5, 3), seed=7)
    assert params.keys() == PARAMS_SEED7.keys()
    for key, expected in PARAMS_SEED7.items():
        assert params[key] == pytest.approx(expected, rel=1e-12), key


@pytest.mark.parametrize("width_shift_range", [2, (-1, 0, 3), 3.0])
def test_shift_range_int_list_and_float_semantics(width_shift_range):
    generator = image.ImageDataGenerator(
        width_shift_range=list(width_shift_range) if isinstance(width_shift_range, tuple)
        else width_shift_range, height_shift_range=0.25)
    got = [generator.get_random_transform((3, 5, 3), seed=s) for s in range(6)]
    np.testing.assert_allclose([(p["tx"], p["ty"]) for p in got], SHIFTS[width_shift_range],
                               atol=1e-9)


def test_random_transform_by_value_both_data_formats():
    out = image.ImageDataGenerator(**FULL).random_transform(X.copy(), seed=11)
    np.testing.assert_array_equal(np.moveaxis(out, -1, 0), RANDOM_TRANSFORM_SEED11)
    no_brightness = dict(FULL, brightness_range=None)
    out = image.ImageDataGenerator(**no_brightness).random_transform(X.copy(), seed=11)
    close(np.moveaxis(out, -1, 0), RANDOM_TRANSFORM_NOBRIGHT_SEED11)
    channels_first = image.ImageDataGenerator(data_format="channels_first", **FULL)
    out = channels_first.random_transform(np.moveaxis(X, -1, 0).copy(), seed=11)
    np.testing.assert_array_equal(out, RANDOM_TRANSFORM_SEED11)


def test_apply_transform_with_partial_parameters():
    generator = image.ImageDataGenerator()
    out = generator.apply_transform(X, {"flip_horizontal": True, "flip_vertical": True})
    np.testing.assert_array_equal(out, X[::-1, ::-1])
    out = generator.apply_transform(X, {"channel_shift_intensity": 100.0})
    np.testing.assert_array_equal(out, np.clip(X + 100, X.min(), X.max()))


def test_fit_featurewise_and_standardize():
    generator = image.ImageDataGenerator(featurewise_center=True,
                                         featurewise_std_normalization=True)
    generator.fit(XF)
    assert generator.mean.shape == (1, 1, 1) and generator.std.shape == (1, 1, 1)
    assert generator.mean.item() == pytest.approx(FEATURE_MEAN, rel=1e-6)
    assert generator.std.item() == pytest.approx(FEATURE_STD, rel=1e-6)
    close(generator.standardize(XF[0].copy())[..., 0], FEATURE_STANDARDIZED)


def test_fit_channels_first_per_channel_statistics():
    xc = np.random.RandomState(3).uniform(0, 10, (4, 3, 2, 3)).astype(np.float32)
    generator = image.ImageDataGenerator(featurewise_center=True,
                                         featurewise_std_normalization=True,
                                         data_format="channels_first")
    generator.fit(xc)
    assert generator.mean.shape == (3, 1, 1)
    close(generator.mean.ravel(), xc.mean(axis=(0, 2, 3)))
    close(generator.std.ravel(), (xc - xc.mean(axis=(0, 2, 3), keepdims=True)).std(
        axis=(0, 2, 3)))


def test_fit_zca_whitening():
    with pytest.warns(UserWarning, match="zca_whitening"):
        generator = image.ImageDataGenerator(zca_whitening=True)
    generator.fit(XZ)
    close(generator.principal_components, ZCA_PCS)
    close(generator.standardize(XZ[0].copy())[..., 0], ZCA_STANDARDIZED)


def test_fit_with_augmentation_and_samplewise_standardize():
    generator = image.ImageDataGenerator(featurewise_center=True, rotation_range=40,
                                         fill_mode="constant", cval=-3)
    generator.fit(XF, augment=True, rounds=2, seed=5)
    assert generator.mean.item() == pytest.approx(AUGMENTED_MEAN, rel=1e-6)
    samplewise = image.ImageDataGenerator(samplewise_center=True,
                                          samplewise_std_normalization=True, rescale=0.5)
    close(samplewise.standardize(XF[1].copy())[..., 0], SAMPLEWISE)


def test_fit_errors_and_unfit_warning():
    generator = image.ImageDataGenerator(featurewise_center=True)
    with pytest.raises(ValueError, match="rank 4.*\\(3, 3, 1\\)"):
        generator.fit(XF[0])
    with pytest.warns(UserWarning, match="2 channels"):
        generator.fit(np.zeros((2, 3, 3, 2)))
    with pytest.warns(UserWarning, match="hasn't been fit"):
        image.ImageDataGenerator(featurewise_center=True).standardize(XF[0].copy())


def test_flow_seeded_batch_order_and_values():
    iterator = image.ImageDataGenerator(**FLOW_AUGMENT).flow(XS, np.arange(10), batch_size=4,
                                                             seed=42)
    assert isinstance(iterator, Sequence) and isinstance(iterator, image.Iterator)
    assert len(iterator) == 3
    batches = [next(iterator) for _ in range(6)]
    assert [b[1].tolist() for b in batches] == FLOW_Y_ORDER
    assert batches[0][0].dtype == np.float32
    close(batches[0][0][..., 0], FLOW_FIRST_BATCH)


def test_sequence_indexing_and_epoch_end():
    iterator = image.ImageDataGenerator(**FLOW_AUGMENT).flow(XS, np.arange(10), batch_size=4,
                                                             seed=42)
    assert [iterator[i][1].tolist() for i in range(3)] == GETITEM_Y
    iterator.on_epoch_end()
    assert [iterator[i][1].tolist() for i in range(3)] == GETITEM_Y_AFTER_EPOCH_END
    close(iterator[1][0][0, ..., 0], GETITEM_BATCH1_FIRST)
    with pytest.raises(ValueError, match="element 3.*length 3"):
        iterator[3]


def test_unshuffled_order_reset_and_outputs():
    generator = image.ImageDataGenerator()
    iterator = generator.flow(XS, np.arange(10), batch_size=4, shuffle=False)
    assert [next(iterator)[1].tolist() for _ in range(4)] == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3]]
    iterator.reset()
    first = next(iterator)
    np.testing.assert_array_equal(first[0], XS[:4])
    assert isinstance(generator.flow(XS, shuffle=False, batch_size=3)[0], np.ndarray)
    x, y, weights = generator.flow(XS, np.arange(10), sample_weight=np.arange(10) / 10,
                                   shuffle=False, batch_size=3)[1]
    np.testing.assert_array_equal(weights, [0.3, 0.4, 0.5])
    (images, misc), y = generator.flow((XS, np.arange(10) * 2), np.arange(10), shuffle=False,
                                       batch_size=3)[2]
    np.testing.assert_array_equal(misc, [12, 14, 16])
    np.testing.assert_array_equal(images, XS[6:9])


def test_subsets_split_like_keras():
    generator = image.ImageDataGenerator(validation_split=0.3)
    labels = np.array([0, 1] * 5)
    validation = generator.flow(XS, labels, shuffle=False, batch_size=10,
                                sample_weight=np.arange(10.), subset="validation")
    training = generator.flow(XS, labels, shuffle=False, batch_size=10,
                              sample_weight=np.arange(10.), subset="training")
    assert (validation.n, training.n) == (3, 7)
    x, y, w = validation[0]
    np.testing.assert_array_equal(x, XS[:3])
    np.testing.assert_array_equal(w, [0., 1., 2.])
    np.testing.assert_array_equal(training[0][2], np.arange(3., 10.))
    with pytest.raises(ValueError, match="different number of classes"):
        generator.flow(XS, np.arange(10), subset="training")
    with pytest.raises(ValueError, match="Invalid subset name"):
        generator.flow(XS, labels, subset="test")


def test_flow_input_errors():
    generator = image.ImageDataGenerator()
    with pytest.raises(ValueError, match="rank 4.*\\(10, 9\\)"):
        generator.flow(XS.reshape(10, 9))
    with pytest.raises(ValueError, match="`y`.*same length.*\\(10, 3, 3, 1\\).*\\(9,\\)"):
        generator.flow(XS, np.arange(9))
    with pytest.raises(ValueError, match="sample_weight.*same length"):
        generator.flow(XS, np.arange(10), sample_weight=np.ones(4))
    with pytest.raises(ValueError, match="All of the arrays in `x`"):
        generator.flow((XS, np.ones(3)))
    with pytest.warns(UserWarning, match="expected either 1, 3, or 4 channels.*5 channels"):
        generator.flow(np.zeros((2, 3, 3, 5)))


def test_next_is_thread_safe():
    iterator = image.ImageDataGenerator().flow(XS, np.arange(10), batch_size=1, shuffle=False)
    seen = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            label = next(iterator)[1][0]
            with lock:
                seen.append(int(label))
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(list(range(10)) * 2)


def test_missing_pillow_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setattr(image_io, "pil_image", None)
    for call in (lambda: image.load_img(str(tmp_path / "a.png")),
                 lambda: image.array_to_img(np.zeros((2, 2, 3))),
                 lambda: image.save_img(str(tmp_path / "a.png"), np.zeros((2, 2, 3))),
                 lambda: image.ImageDataGenerator().flow_from_directory(str(tmp_path))):
        with pytest.raises(ImportError, match=r"requires Pillow.*pip install Pillow.*"
                                              r"gkeras\[image\]"):
            call()


# ---- with Pillow ---------------------------------------------------------------------------

def _png_tree(root, pil):
    """Two classes of 4x6 RGB PNGs: cats (3 images), dogs (2), plus a non-image file."""
    pictures = {}
    for label, count in (("cats", 3), ("dogs", 2)):
        os.makedirs(os.path.join(root, label))
        for k in range(count):
            pixels = ((np.arange(72).reshape(4, 6, 3) * (k + 3) + 40 * k) % 256).astype(np.uint8)
            path = os.path.join(root, label, f"img{k}.png")
            pil.fromarray(pixels, "RGB").save(path)
            pictures[os.path.join(label, f"img{k}.png")] = pixels
    open(os.path.join(root, "cats", "notes.txt"), "w").close()
    return pictures


def test_flow_from_directory(tmp_path, capsys):
    pil = pytest.importorskip("PIL.Image")
    pictures = _png_tree(str(tmp_path), pil)
    generator = image.ImageDataGenerator(rescale=0.5)
    iterator = generator.flow_from_directory(str(tmp_path), target_size=(4, 6), batch_size=5,
                                             shuffle=False)
    assert capsys.readouterr().out == "Found 5 images belonging to 2 classes.\n"
    assert iterator.filenames == [os.path.join("cats", "img0.png"),
                                  os.path.join("cats", "img1.png"),
                                  os.path.join("cats", "img2.png"),
                                  os.path.join("dogs", "img0.png"),
                                  os.path.join("dogs", "img1.png")]
    assert iterator.class_indices == {"cats": 0, "dogs": 1}
    np.testing.assert_array_equal(iterator.classes, [0, 0, 0, 1, 1])
    x, y = iterator[0]
    assert x.shape == (5, 4, 6, 3) and x.dtype == np.float32
    for i, name in enumerate(iterator.filenames):
        np.testing.assert_array_equal(x[i], pictures[name] * 0.5)
    np.testing.assert_array_equal(y, np.eye(2, dtype=np.float32)[[0, 0, 0, 1, 1]])
    for mode, expected in (("binary", [0., 0., 0., 1., 1.]), ("sparse", [0, 0, 0, 1, 1])):
        labels = generator.flow_from_directory(str(tmp_path), target_size=(4, 6),
                                               class_mode=mode, shuffle=False)[0][1]
        np.testing.assert_array_equal(labels, expected)
    gray = generator.flow_from_directory(str(tmp_path), target_size=(2, 3),
                                         color_mode="grayscale", class_mode=None,
                                         shuffle=False)[0]
    assert gray.shape == (5, 2, 3, 1)
    split = image.ImageDataGenerator(validation_split=0.4)
    validation = split.flow_from_directory(str(tmp_path), subset="validation", shuffle=False)
    training = split.flow_from_directory(str(tmp_path), subset="training", shuffle=False)
    assert validation.filenames == [os.path.join("cats", "img0.png")]
    assert len(training.filenames) == 4 and validation.samples + training.samples == 5
    channels_first = image.ImageDataGenerator(data_format="channels_first")
    x, y = channels_first.flow_from_directory(str(tmp_path), target_size=(4, 6),
                                              class_mode="input", shuffle=False)[0]
    assert x.shape == (5, 3, 4, 6)
    np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="Invalid class_mode"):
        generator.flow_from_directory(str(tmp_path), class_mode="ordinal")


def test_load_save_and_array_conversions(tmp_path):
    pytest.importorskip("PIL.Image")
    rgb = (np.arange(60).reshape(4, 5, 3) * 4).astype(np.float32)
    path = str(tmp_path / "picture.png")
    image.save_img(path, rgb, scale=False)
    loaded = image.load_img(path)
    assert loaded.size == (5, 4) and loaded.mode == "RGB"
    np.testing.assert_array_equal(image.img_to_array(loaded), rgb)
    np.testing.assert_array_equal(
        image.img_to_array(loaded, data_format="channels_first"), rgb.transpose(2, 0, 1))
    assert image.img_to_array(image.load_img(path, color_mode="grayscale")).shape == (4, 5, 1)
    assert image.load_img(path, color_mode="rgba").mode == "RGBA"
    small = image.load_img(path, target_size=(2, 3), interpolation="bilinear")
    assert small.size == (3, 2)
    with pytest.raises(ValueError, match="Invalid interpolation method"):
        image.load_img(path, target_size=(2, 3), interpolation="cubic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert image.load_img(path, grayscale=True).mode == "L"
    scaled = image.img_to_array(image.array_to_img(rgb - 10))
    assert scaled.min() == 0 and scaled.max() == 255
    assert image.array_to_img(rgb[..., :1]).mode == "L"
    assert image.array_to_img(np.zeros((3, 4, 5)), data_format="channels_first").size == (5, 4)
    with pytest.raises(ValueError, match="Unsupported channel number: 2"):
        image.array_to_img(np.zeros((3, 4, 2)))
    with pytest.raises(ValueError, match="rank 3"):
        image.array_to_img(np.zeros((3, 4)))


def test_save_to_dir_writes_the_augmented_batch(tmp_path):
    pytest.importorskip("PIL.Image")
    rgb = np.random.RandomState(0).uniform(0, 255, (3, 4, 5, 3))
    iterator = image.ImageDataGenerator().flow(rgb, batch_size=3, shuffle=False,
                                              save_to_dir=str(tmp_path), save_prefix="aug")
    next(iterator)
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 3 and all(n.startswith("aug_") and n.endswith(".png") for n in names)


def test_importing_gkeras_does_not_import_pillow():
    code = "import sys, gkeras, gkeras.preprocessing.image; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
