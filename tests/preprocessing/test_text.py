"""gkeras.preprocessing.text against Keras 2.2.4 (keras_preprocessing 1.0.5): every expected
value below was computed by keras_preprocessing 1.0.5 (NumPy 1.26) on the same inputs; the
tf-idf logs are compared to 1e-14 relative, since NumPy versions' logs differ in the last bit."""
import json
from collections import OrderedDict, defaultdict

import numpy as np
import pytest

from gkeras.preprocessing import text
from gkeras.preprocessing.text import (Tokenizer, hashing_trick, one_hot, text_to_word_sequence,
                                       tokenizer_from_json)

SENTENCE = "The cat sat on the mat. The dog, ate? my HOMEwork!\tyes\nno"
TEXTS = ["The cat sat on the mat.", "The dog ate my homework", "the cat ate the dog! The end",
         "Dog dog dog"]
NEW_TEXTS = ["the cat and the bird ate", "unknown words only", "", "dog the"]
# the vocabulary of TEXTS: by count, ties in order of first appearance
WORD_INDEX = {"the": 1, "dog": 2, "cat": 3, "ate": 4, "sat": 5, "on": 6, "mat": 7, "my": 8,
              "homework": 9, "end": 10}
WORD_COUNTS = [("the", 6), ("cat", 2), ("sat", 1), ("on", 1), ("mat", 1), ("dog", 5),
               ("ate", 2), ("my", 1), ("homework", 1), ("end", 1)]
WORD_DOCS = {"the": 3, "cat": 2, "sat": 1, "on": 1, "mat": 1, "dog": 3, "ate": 2, "my": 1,
             "homework": 1, "end": 1}
OOV_WORD_INDEX = {"<unk>": 1, **{word: index + 1 for word, index in WORD_INDEX.items()}}


def fitted(**kwargs):
    tokenizer = Tokenizer(**kwargs)
    tokenizer.fit_on_texts(TEXTS)
    return tokenizer


# ---------------------------------------------------------------- functions

def test_text_to_word_sequence_filters_lowers_and_splits():
    assert text_to_word_sequence(SENTENCE) == ["the", "cat", "sat", "on", "the", "mat", "the",
                                               "dog", "ate", "my", "homework", "yes", "no"]
    assert text_to_word_sequence(SENTENCE, filters=".,", lower=False) == [
        "The", "cat", "sat", "on", "the", "mat", "The", "dog", "ate?", "my",
        "HOMEwork!\tyes\nno"]
    assert text_to_word_sequence("a-b--c d", filters="", split="-") == ["a", "b", "c d"]
    assert text_to_word_sequence("a.b", filters=".", split="::") == ["a", "b"]
    assert text_to_word_sequence("  ") == []


def test_hashing_trick_md5_is_stable_and_callables_are_used_as_given():
    assert hashing_trick(SENTENCE, 17, hash_function="md5") == [8, 9, 13, 1, 8, 9, 8, 6, 7, 13,
                                                                10, 15, 8]
    assert hashing_trick("hello world again", 1000, hash_function="md5", lower=False) == [
        800, 90, 104]
    assert hashing_trick(SENTENCE, 7, hash_function=len) == [4, 4, 4, 3, 4, 4, 4, 4, 4, 3, 3,
                                                             4, 3]


def test_hashing_trick_default_and_one_hot_use_pythons_salted_hash():
    words = text_to_word_sequence(SENTENCE)
    expected = [hash(word) % 9 + 1 for word in words]
    assert hashing_trick(SENTENCE, 10) == expected
    assert one_hot(SENTENCE, 10) == expected
    assert one_hot("A,B", 5, filters="", lower=False, split=",") == [hash("A") % 4 + 1,
                                                                     hash("B") % 4 + 1]


@pytest.mark.parametrize("kwargs,message", [
    (dict(hash_function="sha1"), "`hash_function` must be None, 'md5' or a callable"),
    (dict(n=1), "the hashing space `n` must be an integer >= 2"),
    (dict(n=2.5), "the hashing space `n` must be an integer >= 2"),
])
def test_hashing_trick_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hashing_trick("a b", **{"n": 5, **kwargs})


# ---------------------------------------------------------------- Tokenizer: fitting

def test_tokenizer_fit_on_texts_builds_keras_vocabulary():
    tokenizer = fitted()
    assert isinstance(tokenizer.word_counts, OrderedDict)
    assert list(tokenizer.word_counts.items()) == WORD_COUNTS
    assert isinstance(tokenizer.word_docs, defaultdict) and tokenizer.word_docs == WORD_DOCS
    assert tokenizer.word_index == WORD_INDEX
    assert tokenizer.index_word == {index: word for word, index in WORD_INDEX.items()}
    assert tokenizer.index_docs == {1: 3, 2: 3, 3: 2, 4: 2, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1, 10: 1}
    assert tokenizer.document_count == 4


def test_tokenizer_oov_token_takes_index_one():
    tokenizer = fitted(oov_token="<unk>")
    assert tokenizer.word_index == OOV_WORD_INDEX
    assert list(tokenizer.word_counts.items()) == WORD_COUNTS
    assert tokenizer.index_docs == {2: 3, 3: 3, 4: 2, 5: 2, 6: 1, 7: 1, 8: 1, 9: 1, 10: 1,
                                    11: 1}


def test_tokenizer_without_lowering_and_at_character_level():
    tokenizer = fitted(lower=False)
    assert tokenizer.word_index == {"dog": 1, "The": 2, "the": 3, "cat": 4, "ate": 5, "sat": 6,
                                    "on": 7, "mat": 8, "my": 9, "homework": 10, "end": 11,
                                    "Dog": 12}
    tokenizer = fitted(char_level=True)
    assert tokenizer.word_index == {
        " ": 1, "t": 2, "e": 3, "o": 4, "h": 5, "a": 6, "d": 7, "g": 8, "m": 9, "c": 10,
        "n": 11, "s": 12, ".": 13, "y": 14, "w": 15, "r": 16, "k": 17, "!": 18}
    assert tokenizer.word_counts["t"] == 12 and tokenizer.word_docs["o"] == 4
    assert tokenizer.texts_to_sequences(NEW_TEXTS[3:]) == [[7, 4, 8, 1, 2, 5, 3]]
    assert tokenizer.sequences_to_texts([[5, 6, 7, 8, 9, 10]]) == ["h a d g m c"]


def test_tokenizer_texts_may_be_token_lists():
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts([["Hello", "World", "hello"], ["x", "World"]])
    assert tokenizer.word_index == {"hello": 1, "world": 2, "x": 3}
    assert tokenizer.word_docs == {"hello": 1, "world": 2, "x": 1}
    assert tokenizer.texts_to_sequences([["HELLO", "x", "y"]]) == [[1, 3]]


def test_tokenizer_fit_on_sequences_counts_documents_per_index():
    tokenizer = Tokenizer(num_words=6)
    tokenizer.fit_on_sequences([[1, 2, 2, 3], [3, 4], [5, 5, 5, 1, 9]])
    assert tokenizer.index_docs == {1: 2, 2: 1, 3: 2, 4: 1, 5: 1, 9: 1}
    assert tokenizer.document_count == 3


def test_tokenizer_arguments():
    with pytest.warns(UserWarning, match="renamed `num_words`"):
        assert Tokenizer(nb_words=5).num_words == 5
    with pytest.raises(TypeError, match="Unrecognized keyword arguments"):
        Tokenizer(foo=1)
    tokenizer = Tokenizer(document_count=3)
    tokenizer.fit_on_texts(["a"])
    assert tokenizer.document_count == 4


# ---------------------------------------------------------------- Tokenizer: converting

@pytest.mark.parametrize("kwargs,sequences,texts", [
    ({}, [[1, 3, 1, 4], [], [], [2, 1]],
     ["the dog cat", "sat on mat my homework end", "", "the"]),
    ({"num_words": 4}, [[1, 3, 1], [], [], [2, 1]], ["the dog cat", "", "", "the"]),
    ({"oov_token": "<unk>"}, [[2, 4, 1, 2, 1, 5], [1, 1, 1], [], [3, 2]],
     ["<unk> the dog <unk>", "ate sat on mat my homework", "", "<unk> <unk>"]),
    ({"num_words": 4, "oov_token": "<unk>"}, [[2, 1, 1, 2, 1, 1], [1, 1, 1], [], [3, 2]],
     ["<unk> the dog <unk>", "<unk> <unk> <unk> <unk> <unk> <unk>", "", "<unk> <unk>"]),
])
def test_texts_to_sequences_and_back(kwargs, sequences, texts):
    tokenizer = fitted(**kwargs)
    assert tokenizer.texts_to_sequences(NEW_TEXTS) == sequences
    assert list(tokenizer.texts_to_sequences_generator(iter(NEW_TEXTS))) == sequences
    index_sequences = [[1, 2, 3, 40], [5, 6, 7, 8, 9, 10], [], [0, 1]]
    assert tokenizer.sequences_to_texts(index_sequences) == texts
    assert list(tokenizer.sequences_to_texts_generator(index_sequences)) == texts


MATRIX_TEXTS = NEW_TEXTS + TEXTS
MATRICES = {  # mode: rows of texts_to_matrix(MATRIX_TEXTS) of a Tokenizer fit on TEXTS
    "binary": [[0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0], [0] * 11, [0] * 11,
               [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0],
               [0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0], [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1],
               [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]],
    "count": [[0, 2, 0, 1, 1, 0, 0, 0, 0, 0, 0], [0] * 11, [0] * 11,
              [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [0, 2, 0, 1, 0, 1, 1, 1, 0, 0, 0],
              [0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0], [0, 3, 1, 1, 1, 0, 0, 0, 0, 0, 1],
              [0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0]],
    "freq": [[0, .5, 0, .25, .25, 0, 0, 0, 0, 0, 0], [0] * 11, [0] * 11,
             [0, .5, .5, 0, 0, 0, 0, 0, 0, 0, 0],
             [0, 2 / 6, 0, 1 / 6, 0, 1 / 6, 1 / 6, 1 / 6, 0, 0, 0],
             [0, .2, .2, 0, .2, 0, 0, 0, .2, .2, 0],
             [0, 3 / 7, 1 / 7, 1 / 7, 1 / 7, 0, 0, 0, 0, 0, 1 / 7],
             [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]],
}
A, B, C, D = 1.1736001944781467, 0.8472978603872034, 0.6931471805599453, 1.0986122886681096
E = 1.4546471909787542
MATRICES["tfidf"] = [[0, A, 0, B, B, 0, 0, 0, 0, 0, 0], [0] * 11, [0] * 11,
                     [0, C, C, 0, 0, 0, 0, 0, 0, 0, 0], [0, A, 0, B, 0, D, D, D, 0, 0, 0],
                     [0, C, C, 0, B, 0, 0, 0, D, D, 0], [0, E, C, B, B, 0, 0, 0, 0, 0, D],
                     [0, 0, E, 0, 0, 0, 0, 0, 0, 0, 0]]


@pytest.mark.parametrize("mode", ["binary", "count", "freq", "tfidf"])
def test_texts_to_matrix_modes(mode):
    matrix = fitted().texts_to_matrix(MATRIX_TEXTS, mode=mode)
    assert matrix.dtype == np.float64 and matrix.shape == (8, 11)
    np.testing.assert_allclose(matrix, MATRICES[mode], rtol=1e-14, atol=0)
    # num_words=4 keeps the columns of indices 1..3 (and the 'freq' denominators)
    matrix = fitted(num_words=4).texts_to_matrix(MATRIX_TEXTS, mode=mode)
    expected = np.array(MATRICES[mode])[:, :4]
    if mode == "freq":
        expected = [[0, 2 / 3, 0, 1 / 3], [0] * 4, [0] * 4, [0, .5, .5, 0], [0, 2 / 3, 0, 1 / 3],
                    [0, .5, .5, 0], [0, .6, .2, .2], [0, 0, 1, 0]]
    np.testing.assert_allclose(matrix, expected, rtol=1e-14, atol=0)


def test_texts_to_matrix_with_oov_token():
    tokenizer = fitted(num_words=4, oov_token="<unk>")
    np.testing.assert_array_equal(tokenizer.texts_to_matrix(MATRIX_TEXTS, mode="count"), [
        [0, 4, 2, 0], [0, 3, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [0, 4, 2, 0], [0, 3, 1, 1],
        [0, 3, 3, 1], [0, 0, 0, 3]])
    F, G = 3.840592615014062, 3.3775861808825516
    np.testing.assert_allclose(tokenizer.texts_to_matrix(MATRIX_TEXTS, mode="tfidf"), [
        [0, F, A, 0], [0, G, 0, 0], [0, 0, 0, 0], [0, 0, C, C], [0, F, A, 0], [0, G, C, C],
        [0, G, E, C], [0, 0, 0, E]], rtol=1e-14, atol=0)


@pytest.mark.parametrize("mode,expected", [
    ("binary", [[0, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1], [0] * 6, [0, 0, 0, 0, 1, 0]]),
    ("count", [[0, 1, 2, 1, 0, 0], [0, 0, 0, 0, 0, 1], [0] * 6, [0, 0, 0, 0, 4, 0]]),
    ("freq", [[0, .2, .4, .2, 0, 0], [0, 0, 0, 0, 0, 1], [0] * 6, [0, 0, 0, 0, 1, 0]]),
    ("tfidf", [[0, 0.6931471805599453, 1.5514150692459345, 0.6931471805599453, 0, 0],
               [0, 0, 0, 0, 0, 0.916290731874155], [0] * 6, [0, 0, 0, 0, 2.186539406617714, 0]]),
])
def test_sequences_to_matrix_after_fit_on_sequences(mode, expected):
    tokenizer = Tokenizer(num_words=6)
    tokenizer.fit_on_sequences([[1, 2, 2, 3], [3, 4], [5, 5, 5, 1, 9]])
    sequences = [[1, 2, 2, 7, 3], np.array([5]), [], (4, 4, 4, 4)]
    np.testing.assert_allclose(tokenizer.sequences_to_matrix(sequences, mode=mode), expected,
                               rtol=1e-14, atol=0)


@pytest.mark.parametrize("tokenizer,mode,message", [
    (Tokenizer(), "binary", "Specify a dimension"),
    (Tokenizer(num_words=3), "tfidf", "Fit the Tokenizer on some data before using tfidf"),
    (Tokenizer(num_words=3), "nope", "Unknown vectorization mode 'nope'"),
])
def test_sequences_to_matrix_errors(tokenizer, mode, message):
    with pytest.raises(ValueError, match=message):
        tokenizer.sequences_to_matrix([[1]], mode=mode)
    with pytest.raises(ValueError, match="negative word index -1"):
        Tokenizer(num_words=3).sequences_to_matrix([[1, -1]])


# ---------------------------------------------------------------- Tokenizer: JSON

def test_tokenizer_config_is_keras_s():
    config = fitted(oov_token="<unk>", num_words=5).get_config()
    vocabulary = {name: json.loads(config.pop(name)) for name in
                  ("word_counts", "word_docs", "index_docs", "index_word", "word_index")}
    assert config == {"num_words": 5, "filters": '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n',
                      "lower": True, "split": " ", "char_level": False, "oov_token": "<unk>",
                      "document_count": 4}
    assert list(vocabulary["word_counts"].items()) == WORD_COUNTS
    assert vocabulary["word_docs"] == WORD_DOCS
    assert vocabulary["index_docs"] == {"2": 3, "3": 3, "4": 2, "5": 2, "6": 1, "7": 1, "8": 1,
                                        "9": 1, "10": 1, "11": 1}
    assert vocabulary["word_index"] == OOV_WORD_INDEX
    assert vocabulary["index_word"] == {str(i): w for w, i in OOV_WORD_INDEX.items()}


def test_tokenizer_json_round_trip():
    original = fitted(oov_token="<unk>", num_words=5)
    as_json = original.to_json()
    assert json.loads(as_json)["class_name"] == "Tokenizer"
    restored = tokenizer_from_json(as_json)
    for name in ("word_counts", "word_docs", "index_docs", "word_index", "index_word",
                 "document_count", "num_words", "oov_token", "filters"):
        assert getattr(restored, name) == getattr(original, name), name
    assert restored.texts_to_sequences(NEW_TEXTS) == [[2, 4, 1, 2, 1, 1], [1, 1, 1], [], [3, 2]]
    np.testing.assert_allclose(restored.texts_to_matrix(NEW_TEXTS, mode="tfidf"), [
        [0, 3.3775861808825516, A, 0, B], [0, 3.3775861808825516, 0, 0, 0], [0] * 5,
        [0, 0, C, C, 0]], rtol=1e-14, atol=0)
    # unlike keras_preprocessing 1.0.5 (KeyError), a restored Tokenizer can keep fitting
    restored.fit_on_texts(["zebra the"])
    assert restored.word_index["zebra"] == 12 and restored.word_docs["zebra"] == 1
    assert original.to_json(indent=2).startswith('{\n  "class_name": "Tokenizer"')


def test_module_exports_keras_names():
    assert set(text.__all__) == {"Tokenizer", "hashing_trick", "one_hot",
                                 "text_to_word_sequence", "tokenizer_from_json"}
