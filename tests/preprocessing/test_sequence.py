"""gkeras.preprocessing.sequence against Keras 2.2.4 (keras_preprocessing 1.0.5): every expected
value below was computed by keras_preprocessing 1.0.5 (NumPy 1.26) on the same inputs."""
import json
import random

import numpy as np
import pytest

from gkeras.preprocessing import sequence
from gkeras.preprocessing.sequence import (TimeseriesGenerator, _remove_long_seq,
                                           make_sampling_table, pad_sequences, skipgrams)
from gkeras.utils import Sequence

RAGGED = [[1, 2, 3], [], [4, 5, 6, 7, 8], [9]]


# ---------------------------------------------------------------- pad_sequences

@pytest.mark.parametrize("padding,truncating,maxlen,expected", [
    ("pre", "pre", None, [[-1, -1, 1, 2, 3], [-1] * 5, [4, 5, 6, 7, 8], [-1, -1, -1, -1, 9]]),
    ("pre", "pre", 2, [[2, 3], [-1, -1], [7, 8], [-1, 9]]),
    ("pre", "post", 2, [[1, 2], [-1, -1], [4, 5], [-1, 9]]),
    ("post", "pre", 2, [[2, 3], [-1, -1], [7, 8], [9, -1]]),
    ("post", "post", 2, [[1, 2], [-1, -1], [4, 5], [9, -1]]),
    ("post", "post", 6, [[1, 2, 3, -1, -1, -1], [-1] * 6, [4, 5, 6, 7, 8, -1],
                         [9, -1, -1, -1, -1, -1]]),
    ("pre", "post", 4, [[-1, 1, 2, 3], [-1] * 4, [4, 5, 6, 7], [-1, -1, -1, 9]]),
])
def test_pad_sequences_pads_and_truncates_on_the_chosen_side(padding, truncating, maxlen,
                                                              expected):
    padded = pad_sequences(RAGGED, maxlen=maxlen, padding=padding, truncating=truncating,
                           value=-1)
    assert padded.dtype == np.int32
    np.testing.assert_array_equal(padded, expected)


def test_pad_sequences_default_is_int32_zero_pre_padding_and_accepts_arrays():
    padded = pad_sequences([np.array([5, 6]), (7,), np.array([], dtype=np.int64)])
    assert padded.dtype == np.int32
    np.testing.assert_array_equal(padded, [[5, 6], [0, 7], [0, 0]])


def test_pad_sequences_of_vectors_keeps_the_step_shape():
    vectors = [[[1, 2], [3, 4]], [], [[5, 6], [7, 8], [9, 10]]]
    np.testing.assert_array_equal(pad_sequences(vectors, maxlen=2),
                                  [[[1, 2], [3, 4]], [[0, 0], [0, 0]], [[7, 8], [9, 10]]])
    padded = pad_sequences(vectors, padding="post", truncating="post", dtype="float32",
                           value=0.5)
    assert padded.dtype == np.float32 and padded.shape == (3, 3, 2)
    np.testing.assert_array_equal(padded, [[[1, 2], [3, 4], [.5, .5]], [[.5, .5]] * 3,
                                           [[5, 6], [7, 8], [9, 10]]])


def test_pad_sequences_casts_like_numpy_and_pads_strings_as_objects():
    # float steps and padding value are cast to int32 (truncated toward zero), as Keras does
    np.testing.assert_array_equal(pad_sequences([[1.7, -2.5]], maxlen=3, value=0.9),
                                  [[0, 1, -2]])
    padded = pad_sequences([["a", "b"], ["c"]], dtype=object, value="x")
    assert padded.dtype == object and padded.tolist() == [["a", "b"], ["x", "c"]]
    assert pad_sequences([["ab", "c"]], maxlen=3, dtype="<U2", value="z").tolist() == [
        ["z", "ab", "c"]]
    assert pad_sequences([[1]], maxlen=2, dtype="float64").dtype == np.float64


def test_pad_sequences_shapes_of_empty_inputs():
    assert pad_sequences([[], []]).shape == (2, 0)
    assert pad_sequences([], maxlen=3).shape == (0, 3)
    np.testing.assert_array_equal(pad_sequences([[1, 2], []], maxlen=0), np.zeros((2, 0)))


@pytest.mark.parametrize("kwargs,message", [
    (dict(sequences=[[1]], padding="mid"), 'Padding type "mid" not understood'),
    (dict(sequences=[[1, 2, 3]], maxlen=2, truncating="end"),
     'Truncating type "end" not understood'),
    (dict(sequences=[[]], maxlen=2, truncating="end"), 'Truncating type "end" not understood'),
    (dict(sequences=[[1], 5]), "must be a list of iterables. Found non-iterable at position 1"),
    (dict(sequences=5), "`sequences` must be iterable"),
    (dict(sequences=[[1]], value="x"), "`dtype` int32 is not compatible with `value`'s type"),
    (dict(sequences=[[1]], maxlen=3, value=float("nan")), "cannot be cast to the integer"),
    (dict(sequences=[[1]], maxlen=3, dtype="int8", value=300), "value 300 cannot be cast"),
    (dict(sequences=[[[1, 2]], [[1, 2, 3]]]),
     r"Shape of sample \(3,\) of sequence at position 1 is different from expected shape "
     r"\(2,\)"),
    (dict(sequences=[["a", 1]], maxlen=3), "sequence at position 0 cannot be cast to dtype"),
    (dict(sequences=[]), "`sequences` is empty"),
    (dict(sequences=[[1]], maxlen=-1), "`maxlen` must be None or a non-negative integer"),
    (dict(sequences=[[1]], maxlen=2.0), "`maxlen` must be None or a non-negative integer"),
])
def test_pad_sequences_rejects_bad_input_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pad_sequences(**kwargs)


# ---------------------------------------------------------------- sampling table, skipgrams

def test_make_sampling_table_matches_keras():
    np.testing.assert_allclose(make_sampling_table(5), [
        0.0031522478751942504, 0.0031522478751942504, 0.0054759726939176976,
        0.007415564097374219, 0.009128167456366161], rtol=1e-14, atol=0)
    table = make_sampling_table(12, sampling_factor=1e-2)
    # min(1, .) caps nothing here; the ranks past ~40 would be capped at 1
    np.testing.assert_allclose(table, [
        0.0996828303504002, 0.0996828303504002, 0.1731654611766799, 0.23450072682673187,
        0.2886580002554273, 0.3378686563666987, 0.38338841827159365, 0.4260101675016974,
        0.46627369287546144, 0.5045667640339255, 0.5411794304720674, 0.5763355987895101],
        rtol=1e-14, atol=0)
    assert make_sampling_table(100, sampling_factor=1e-2)[-1] == 1.0
    with pytest.raises(ValueError, match="`size` must be a positive integer"):
        make_sampling_table(0)


SENTENCE = [1, 2, 0, 3, 4, 5, 0, 6]


def _skipgrams(**kwargs):
    random.seed(123)
    return skipgrams(SENTENCE, 10, **kwargs)


def test_skipgrams_positive_pairs_skip_index_zero():
    couples, labels = _skipgrams(window_size=2, negative_samples=0, shuffle=False)
    assert couples == [[1, 2], [2, 1], [2, 3], [3, 2], [3, 4], [3, 5], [4, 3], [4, 5], [5, 3],
                       [5, 4], [5, 6], [6, 5]]
    assert labels == [1] * 12


def test_skipgrams_negative_pairs_reproduce_keras_after_random_seed():
    couples, labels = _skipgrams(window_size=1, shuffle=False)
    assert couples == [[1, 2], [2, 1], [3, 4], [4, 3], [4, 5], [5, 4],
                       [4, 2], [4, 1], [2, 7], [5, 9], [3, 9], [1, 6]]
    assert labels == [1] * 6 + [0] * 6
    couples, labels = _skipgrams(window_size=1, negative_samples=2.5, shuffle=False)
    assert couples[6:] == [[4, 2], [4, 1], [2, 7], [5, 9], [3, 9], [1, 6], [4, 6], [4, 1],
                           [2, 3], [5, 3], [3, 6], [1, 9], [4, 6], [4, 4], [2, 3]]
    assert labels == [1] * 6 + [0] * 15


def test_skipgrams_shuffle_with_seed_reproduces_keras_couples_and_labels():
    couples, labels = _skipgrams(seed=7)
    assert couples == [
        [3, 8], [4, 3], [4, 3], [4, 5], [3, 5], [3, 9], [3, 6], [4, 6], [3, 2], [1, 7], [4, 1],
        [2, 6], [2, 8], [3, 2], [1, 2], [6, 4], [5, 4], [4, 1], [1, 4], [4, 7], [6, 3], [1, 6],
        [5, 2], [2, 5], [5, 3], [1, 3], [6, 5], [5, 2], [3, 1], [3, 1], [4, 8], [2, 1], [4, 6],
        [2, 4], [1, 4], [4, 2], [5, 3], [6, 9], [5, 8], [6, 5], [2, 5], [3, 1], [2, 3], [2, 1],
        [6, 5], [5, 2], [3, 4], [5, 6]]
    assert labels == [0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0,
                      1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1]


def test_skipgrams_categorical_labels_and_sampling_table():
    couples, labels = _skipgrams(window_size=1, categorical=True, seed=3, negative_samples=0.5)
    assert couples == [[2, 1], [5, 4], [4, 2], [1, 2], [2, 7], [4, 5], [4, 1], [3, 4], [4, 3]]
    assert labels == [[0, 1], [0, 1], [1, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 1], [0, 1]]
    table = [0, 0.9, 0.1, 0.5, 1.0, 0.2, 0.7, 0.3]
    couples, labels = _skipgrams(window_size=2, sampling_table=table, seed=11)
    assert couples == [[3, 5], [3, 4], [4, 3], [2, 1], [3, 7], [3, 1], [1, 2], [4, 3], [4, 5],
                       [2, 2], [2, 3], [3, 2], [4, 4], [2, 2], [6, 5], [3, 1], [6, 6], [1, 7]]
    assert labels == [1, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0]
    with pytest.raises(ValueError, match="word index 5 is outside the sampling_table"):
        skipgrams([1, 5], 6, sampling_table=[1, 1])


def test_skipgrams_of_nothing_and_without_a_seed():
    assert skipgrams([], 5) == ([], [])
    assert skipgrams([0, 0, 3], 5) == ([], [])
    couples, labels = skipgrams([1, 2, 3], 4, window_size=1)
    # each couple keeps its label through the shuffle
    assert sorted(map(tuple, [c for c, l in zip(couples, labels) if l])) == [
        (1, 2), (2, 1), (2, 3), (3, 2)]
    assert labels.count(0) == 4 and all(1 <= c[1] <= 3 for c in couples)


def test_remove_long_seq_keeps_strictly_shorter_sequences():
    assert _remove_long_seq(3, [[1, 2], [1, 2, 3], [1]], [0, 1, 2]) == ([[1, 2], [1]], [0, 2])


# ---------------------------------------------------------------- TimeseriesGenerator

DATA = np.arange(50).reshape(25, 2) * 1.5
TARGETS = np.arange(25) * 10


def test_timeseries_generator_is_a_sequence_of_float64_window_batches():
    generator = TimeseriesGenerator(DATA, TARGETS, length=4, batch_size=3)
    assert isinstance(generator, Sequence) and len(generator) == 7
    x, y = generator[0]
    assert x.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_array_equal(x, [[[0, 1.5], [3, 4.5], [6, 7.5], [9, 10.5]],
                                      [[3, 4.5], [6, 7.5], [9, 10.5], [12, 13.5]],
                                      [[6, 7.5], [9, 10.5], [12, 13.5], [15, 16.5]]])
    np.testing.assert_array_equal(y, [40, 50, 60])
    x, y = generator[6]
    np.testing.assert_array_equal(x, [[[54, 55.5], [57, 58.5], [60, 61.5], [63, 64.5]],
                                      [[57, 58.5], [60, 61.5], [63, 64.5], [66, 67.5]],
                                      [[60, 61.5], [63, 64.5], [66, 67.5], [69, 70.5]]])
    np.testing.assert_array_equal(y, [220, 230, 240])
    x, y = generator[7]   # past the end: an empty batch, as in Keras
    assert x.shape == (0, 4, 2) and y.shape == (0,)
    assert sum(len(batch_y) for _, batch_y in generator) == 21


def test_timeseries_generator_sampling_rate_stride_and_index_range():
    generator = TimeseriesGenerator(DATA, TARGETS, length=6, sampling_rate=2, batch_size=4)
    assert len(generator) == 5
    x, y = generator[1]
    np.testing.assert_array_equal(x, [[[12, 13.5], [18, 19.5], [24, 25.5]],
                                      [[15, 16.5], [21, 22.5], [27, 28.5]],
                                      [[18, 19.5], [24, 25.5], [30, 31.5]],
                                      [[21, 22.5], [27, 28.5], [33, 34.5]]])
    np.testing.assert_array_equal(y, [100, 110, 120, 130])
    generator = TimeseriesGenerator(DATA, TARGETS, length=3, stride=3, batch_size=2,
                                    start_index=2, end_index=20)
    assert len(generator) == 3
    x, y = generator[1]
    np.testing.assert_array_equal(x, [[[24, 25.5], [27, 28.5], [30, 31.5]],
                                      [[33, 34.5], [36, 37.5], [39, 40.5]]])
    np.testing.assert_array_equal(y, [110, 140])
    # the whole series as one window
    x, y = TimeseriesGenerator(DATA, TARGETS, length=24)[0]
    np.testing.assert_array_equal(x, DATA[None, :24])
    np.testing.assert_array_equal(y, [240])


def test_timeseries_generator_reverse_and_shuffle():
    generator = TimeseriesGenerator(DATA, TARGETS, length=4, reverse=True, batch_size=2,
                                    stride=2)
    assert len(generator) == 6
    x, y = generator[0]
    np.testing.assert_array_equal(x, [[[9, 10.5], [6, 7.5], [3, 4.5], [0, 1.5]],
                                      [[15, 16.5], [12, 13.5], [9, 10.5], [6, 7.5]]])
    np.testing.assert_array_equal(y, [40, 60])
    np.random.seed(5)
    generator = TimeseriesGenerator(DATA, TARGETS, length=4, shuffle=True, batch_size=5)
    x, y = generator[0]
    np.testing.assert_array_equal(y, [70, 180, 190, 100, 200])
    np.testing.assert_array_equal(x[:, 0], [[9, 10.5], [42, 43.5], [45, 46.5], [18, 19.5],
                                            [48, 49.5]])
    np.testing.assert_array_equal(x[:, -1], [[18, 19.5], [51, 52.5], [54, 55.5], [27, 28.5],
                                             [57, 58.5]])


def test_timeseries_generator_accepts_lists_and_uneven_sampling_rates():
    x, y = TimeseriesGenerator(list(range(20)), list(range(20)), length=4, batch_size=2)[0]
    np.testing.assert_array_equal(x, [[0, 1, 2, 3], [1, 2, 3, 4]])
    np.testing.assert_array_equal(y, [4, 5])
    # length 5 at rate 2: steps row-5, row-3, row-1 (keras_preprocessing 1.0.5 crashed here)
    x, _ = TimeseriesGenerator(np.arange(20), np.arange(20), length=5, sampling_rate=2)[0]
    np.testing.assert_array_equal(x[:2], [[0, 2, 4], [1, 3, 5]])


def test_timeseries_generator_rejects_too_short_data_and_bad_arguments():
    with pytest.raises(ValueError, match=r"`start_index\+length=25 > end_index=24` is "
                                         r"disallowed"):
        TimeseriesGenerator(DATA, TARGETS, length=25)
    with pytest.raises(ValueError, match="Data length is 25 while target length is 3"):
        TimeseriesGenerator(DATA, TARGETS[:3], length=2)
    for name in ("length", "sampling_rate", "stride", "batch_size"):
        kwargs = {"length": 2, name: 0}
        with pytest.raises(ValueError, match=f"`{name}` must be a positive integer"):
            TimeseriesGenerator(DATA, TARGETS, **kwargs)


def test_timeseries_generator_config_is_keras_s():
    generator = TimeseriesGenerator(DATA[:6], TARGETS[:6], length=2, stride=2, batch_size=2)
    expected = {"data": "[[0.0, 1.5], [3.0, 4.5], [6.0, 7.5], [9.0, 10.5], [12.0, 13.5], "
                        "[15.0, 16.5]]",
                "targets": "[0, 10, 20, 30, 40, 50]", "length": 2, "sampling_rate": 1,
                "stride": 2, "start_index": 2, "end_index": 5, "shuffle": False,
                "reverse": False, "batch_size": 2}
    assert generator.get_config() == expected
    assert json.loads(generator.to_json()) == {"class_name": "TimeseriesGenerator",
                                               "config": expected}
    assert generator.to_json(indent=1).startswith('{\n "class_name"')
    with pytest.raises(TypeError, match="Data not JSON Serializable"):
        TimeseriesGenerator([object()] * 3, [0] * 3, length=1).get_config()


def test_module_exports_keras_names():
    assert set(sequence.__all__) == {"TimeseriesGenerator", "make_sampling_table",
                                     "pad_sequences", "skipgrams"}
