"""``keras.preprocessing.text`` as Keras 2.2.4 ships it (keras_preprocessing 1.0.5): splitting
texts into words, hashing words to indices and the vocabulary-building ``Tokenizer``."""
import json
import warnings
from collections import OrderedDict, defaultdict
from hashlib import md5

import numpy as np

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
MATRIX_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """The words of ``text``: lower-cased (``lower``), every character of ``filters`` replaced
    by ``split``, split on ``split``, empty words dropped."""
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans({char: split for char in filters}))
    return [word for word in text.split(split) if word]


def _md5_hash(word):
    return int(md5(word.encode()).hexdigest(), 16)


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True,
                  split=" "):
    """The words of ``text`` as indices ``hash_function(word) % (n - 1) + 1`` in ``[1, n)``
    (0 stays free for padding; distinct words may collide).

    ``hash_function`` None uses Python's ``hash``, which is salted per process (set
    PYTHONHASHSEED for repeatable indices); 'md5' is stable across runs; or any callable
    from a word to an int."""
    if hash_function is None:
        hash_function = hash
    elif isinstance(hash_function, str) and hash_function == "md5":
        hash_function = _md5_hash
    elif not callable(hash_function):
        raise ValueError(f"hashing_trick: `hash_function` must be None, 'md5' or a callable "
                         f"from a word to an int, received {hash_function!r}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"hashing_trick: the hashing space `n` must be an integer >= 2 "
                         f"(index 0 is reserved), received n={n!r}.")
    words = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    return [hash_function(word) % (n - 1) + 1 for word in words]


def one_hot(text, n, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """``hashing_trick`` with Python's (per-process salted) ``hash``: word indices in
    ``[1, n)``, not a one-hot matrix."""
    return hashing_trick(text, n, hash_function=hash, filters=filters, lower=lower,
                         split=split)


class Tokenizer:
    """Builds a word (or character) vocabulary ranked by frequency and turns texts into index
    sequences or document-term matrices.

    Index 0 is never assigned; ``oov_token``, when given, takes index 1 and replaces unknown
    words (and words past ``num_words``) in ``texts_to_sequences``. ``num_words`` keeps the
    words of index ``< num_words`` (so the ``num_words - 1`` most frequent) when converting;
    the vocabulary itself keeps every word. A text may also be a list of tokens."""

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ",
                 char_level=False, oov_token=None, document_count=0, **kwargs):
        if "nb_words" in kwargs:
            warnings.warn("The `nb_words` argument in `Tokenizer` has been renamed "
                          "`num_words`.")
            num_words = kwargs.pop("nb_words")
        if kwargs:
            raise TypeError(f"Tokenizer: Unrecognized keyword arguments: {kwargs}")
        self.word_counts = OrderedDict()
        self.word_docs = defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs = defaultdict(int)
        self.word_index = {}
        self.index_word = {}

    def _tokens(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                return ([token.lower() for token in text] if isinstance(text, list)
                        else text.lower())
            return text
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        """Count the words of ``texts`` (strings, or lists of tokens) and re-rank the
        vocabulary: ``word_index`` by descending count, ties in order of first appearance."""
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            for token in tokens:
                self.word_counts[token] = self.word_counts.get(token, 0) + 1
            for token in dict.fromkeys(tokens):
                self.word_docs[token] += 1
        ranked = sorted(self.word_counts.items(), key=lambda item: item[1], reverse=True)
        vocabulary = ([] if self.oov_token is None else [self.oov_token])
        vocabulary += [word for word, _ in ranked]
        self.word_index = {word: index for index, word in enumerate(vocabulary, start=1)}
        self.index_word = {index: word for word, index in self.word_index.items()}
        for word, documents in self.word_docs.items():
            self.index_docs[self.word_index[word]] = documents

    def fit_on_sequences(self, sequences):
        """Count, for each index, the sequences it occurs in (for ``tfidf`` without texts)."""
        self.document_count += len(sequences)
        for seq in sequences:
            for index in set(seq):
                self.index_docs[index] += 1

    def texts_to_sequences(self, texts):
        """Each text as a list of word indices (unknown words dropped, or ``oov_token``)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        """``texts_to_sequences`` one text at a time."""
        oov_index = self.word_index.get(self.oov_token)
        for text in texts:
            sequence = []
            for token in self._tokens(text):
                index = self.word_index.get(token)
                if index is not None and not (self.num_words and index >= self.num_words):
                    sequence.append(index)
                elif oov_index is not None:
                    sequence.append(oov_index)
            yield sequence

    def sequences_to_texts(self, sequences):
        """Each index sequence as a space-joined string of its words."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        """``sequences_to_texts`` one sequence at a time."""
        oov_index = self.word_index.get(self.oov_token)
        for seq in sequences:
            words = []
            for index in seq:
                word = self.index_word.get(index)
                if word is not None and not (self.num_words and index >= self.num_words):
                    words.append(word)
                elif oov_index is not None:
                    words.append(self.index_word[oov_index])
            yield " ".join(words)

    def texts_to_matrix(self, texts, mode="binary"):
        """``sequences_to_matrix(texts_to_sequences(texts), mode)``."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """A float64 ``(len(sequences), num_words)`` matrix (``num_words`` defaults to
        ``len(word_index) + 1``); indices ``>= num_words`` are ignored. Entry ``(d, w)``:
        'binary' 1 if ``w`` occurs in document ``d``; 'count' its count ``c``; 'freq'
        ``c / len(d)`` (the length counts ignored indices too); 'tfidf'
        ``(1 + log c) * log(1 + document_count / (1 + index_docs[w]))``."""
        if not self.num_words:
            if not self.word_index:
                raise ValueError("Tokenizer.sequences_to_matrix: Specify a dimension "
                                 "(num_words argument), or fit on some text data first.")
            num_words = len(self.word_index) + 1
        else:
            num_words = self.num_words
        if not isinstance(mode, str) or mode not in MATRIX_MODES:
            raise ValueError(f"Tokenizer.sequences_to_matrix: Unknown vectorization mode "
                             f"{mode!r}, expected one of {', '.join(MATRIX_MODES)}.")
        if mode == "tfidf":
            if not self.document_count:
                raise ValueError("Tokenizer.sequences_to_matrix: Fit the Tokenizer on some "
                                 "data before using tfidf mode.")
            idf = self._inverse_document_frequency(num_words)

        matrix = np.zeros((len(sequences), num_words))
        for row, seq in enumerate(sequences):
            seq = np.asarray(seq, dtype=np.int64).reshape(-1)
            if not seq.size:
                continue
            if seq.min() < 0:
                raise ValueError(f"Tokenizer.sequences_to_matrix: sequence {row} holds the "
                                 f"negative word index {seq.min()}.")
            columns, counts = np.unique(seq[seq < num_words], return_counts=True)
            if mode == "binary":
                matrix[row, columns] = 1
            elif mode == "count":
                matrix[row, columns] = counts
            elif mode == "freq":
                matrix[row, columns] = counts / len(seq)
            else:
                matrix[row, columns] = (1 + np.log(counts)) * idf[columns]
        return matrix

    def _inverse_document_frequency(self, num_words):
        """``log(1 + document_count / (1 + documents containing w))`` for each index w."""
        documents = np.zeros(num_words)
        for index, count in self.index_docs.items():
            if 0 <= index < num_words:
                documents[index] = count
        return np.log(1 + self.document_count / (1 + documents))

    def get_config(self):
        """Keras's dict: the settings, and the five vocabulary dicts as JSON strings (so
        integer keys come back as strings)."""
        return {"num_words": self.num_words, "filters": self.filters, "lower": self.lower,
                "split": self.split, "char_level": self.char_level,
                "oov_token": self.oov_token, "document_count": self.document_count,
                "word_counts": json.dumps(self.word_counts),
                "word_docs": json.dumps(self.word_docs),
                "index_docs": json.dumps(self.index_docs),
                "index_word": json.dumps(self.index_word),
                "word_index": json.dumps(self.word_index)}

    def to_json(self, **kwargs):
        """``{"class_name": "Tokenizer", "config": get_config()}`` as JSON; ``kwargs`` go to
        ``json.dumps``. Read it back with ``tokenizer_from_json``."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()},
                          **kwargs)


def tokenizer_from_json(json_string):
    """The ``Tokenizer`` that ``to_json`` wrote, integer keys restored."""
    config = dict(json.loads(json_string)["config"])
    vocabulary = {name: json.loads(config.pop(name))
                  for name in ("word_counts", "word_docs", "index_docs", "index_word",
                               "word_index")}
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = OrderedDict(vocabulary["word_counts"])
    tokenizer.word_docs = defaultdict(int, vocabulary["word_docs"])
    tokenizer.index_docs = defaultdict(int, {int(index): count for index, count
                                             in vocabulary["index_docs"].items()})
    tokenizer.word_index = vocabulary["word_index"]
    tokenizer.index_word = {int(index): word for index, word
                            in vocabulary["index_word"].items()}
    return tokenizer


__all__ = ["Tokenizer", "hashing_trick", "one_hot", "text_to_word_sequence",
           "tokenizer_from_json"]
