"""Keras 2.2.4's image batch iterators (keras_preprocessing 1.0.5): ``Iterator``,
``NumpyArrayIterator`` and ``DirectoryIterator``. They are ``keras.utils.Sequence``s (fit can
index them) and endless thread-safe iterators (``next``), with the version's batch order:
with a ``seed``, NumPy's global generator is reseeded with ``seed + total_batches_seen``
before every batch, so shuffles and augmentations repeat exactly."""
import os
import threading
import warnings

import numpy as np

from .. import config
from ..utils.sequence import Sequence
from .image_io import array_to_img, img_to_array, load_img, require_pillow

IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")


class Iterator(Sequence):
    """Base class of the image iterators: ``n`` samples in batches of ``batch_size``,
    reshuffled every epoch when ``shuffle``. Subclasses define
    ``_get_batches_of_transformed_samples(index_array)``."""

    def __init__(self, n, batch_size, shuffle, seed):
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array = None
        self.index_generator = self._flow_index()

    def _set_index_array(self):
        self.index_array = np.arange(self.n)
        if self.shuffle:
            self.index_array = np.random.permutation(self.n)

    def __getitem__(self, idx):
        if idx >= len(self):
            raise ValueError(f"Asked to retrieve element {idx}, but the Sequence has length "
                             f"{len(self)}")
        if self.seed is not None:
            np.random.seed(self.seed + self.total_batches_seen)
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        index_array = self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)]
        return self._get_batches_of_transformed_samples(index_array)

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self):
        self._set_index_array()

    def reset(self):
        self.batch_index = 0

    def _flow_index(self):
        self.reset()
        while True:
            if self.n == 0:
                raise ValueError(f"{type(self).__name__} has no samples to iterate over.")
            if self.seed is not None:
                np.random.seed(self.seed + self.total_batches_seen)
            if self.batch_index == 0:
                self._set_index_array()
            current_index = (self.batch_index * self.batch_size) % self.n
            if self.n > current_index + self.batch_size:
                self.batch_index += 1
            else:
                self.batch_index = 0
            self.total_batches_seen += 1
            yield self.index_array[current_index:current_index + self.batch_size]

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def next(self):
        """The next batch; only the index bookkeeping is locked, so threads can transform
        images in parallel."""
        with self.lock:
            index_array = next(self.index_generator)
        return self._get_batches_of_transformed_samples(index_array)

    def _get_batches_of_transformed_samples(self, index_array):
        raise NotImplementedError(
            f"{type(self).__name__} must define _get_batches_of_transformed_samples.")

    def _transform_batch(self, images, index_array):
        """Augment and standardize each image (with the generator's random draws, in
        sample order) into a new batch; optionally save the results."""
        generator = self.image_data_generator
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        for i, image in enumerate(images):
            params = generator.get_random_transform(image.shape)
            image = generator.apply_transform(image.astype(self.dtype), params)
            batch_x[i] = generator.standardize(image)
        if self.save_to_dir:
            for i, j in enumerate(index_array):
                img = array_to_img(batch_x[i], self.data_format, scale=True)
                fname = "{prefix}_{index}_{hash}.{format}".format(
                    prefix=self.save_prefix, index=j, hash=np.random.randint(self._hash_range),
                    format=self.save_format)
                img.save(os.path.join(self.save_to_dir, fname))
        return batch_x


def _check_lengths(x, other, what):
    if other is not None and len(x) != len(other):
        raise ValueError(f"`x` (images tensor) and `{what}` should have the same length. "
                         f"Found: x.shape = {np.shape(x)}, {what}.shape = {np.shape(other)}")


class NumpyArrayIterator(Iterator):
    """Batches of augmented images from a rank-4 array ``x`` (or ``(x, misc)``: arrays
    passed through untouched), with labels ``y`` and ``sample_weight`` when given."""
    _hash_range = 10 ** 4

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, data_format=None, save_to_dir=None,
                 save_prefix="", save_format="png", subset=None, dtype=None):
        self.dtype = config.floatx() if dtype is None else dtype
        data_format = config.image_data_format() if data_format is None else data_format
        if type(x) is tuple or type(x) is list:
            misc = x[1] if type(x[1]) is list else [x[1]]
            x_misc = [np.asarray(xx) for xx in misc]
            x = x[0]
            for xx in x_misc:
                if len(x) != len(xx):
                    raise ValueError("All of the arrays in `x` should have the same length. "
                                     f"Found a pair with: len(x[0]) = {len(x)}, "
                                     f"len(x[?]) = {len(xx)}")
        else:
            x_misc = []
        _check_lengths(x, y, "y")
        _check_lengths(x, sample_weight, "sample_weight")
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f"Invalid subset name: {subset!r}; expected \"training\" or "
                                 "\"validation\".")
            split_idx = int(len(x) * image_data_generator._validation_split)
            if y is not None and not np.array_equal(np.unique(y[:split_idx]),
                                                    np.unique(y[split_idx:])):
                raise ValueError("Training and validation subsets have different number of "
                                 "classes after the split. If your numpy arrays are sorted "
                                 "by the label, you might want to shuffle them.")
            part = slice(None, split_idx) if subset == "validation" else slice(split_idx, None)
            x = x[part]
            x_misc = [np.asarray(xx[part]) for xx in x_misc]
            y = None if y is None else y[part]
            # the version leaves sample_weight whole; a subset needs its own part
            sample_weight = None if sample_weight is None else sample_weight[part]
        self.x = np.asarray(x, dtype=self.dtype)
        self.x_misc = x_misc
        if self.x.ndim != 4:
            raise ValueError("Input data in `NumpyArrayIterator` should have rank 4. You passed "
                             f"an array with shape {self.x.shape}")
        channels_axis = 3 if data_format == "channels_last" else 1
        if self.x.shape[channels_axis] not in (1, 3, 4):
            warnings.warn(
                f'NumpyArrayIterator is set to use the data format convention "{data_format}" '
                f"(channels on axis {channels_axis}), i.e. expected either 1, 3, or 4 channels "
                f"on axis {channels_axis}. However, it was passed an array with shape "
                f"{self.x.shape} ({self.x.shape[channels_axis]} channels).")
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.data_format = data_format
        self.image_shape = self.x.shape[1:]
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, index_array):
        batch_x = self._transform_batch(self.x[index_array], index_array)
        batch_misc = [xx[index_array] for xx in self.x_misc]
        inputs = [batch_x] + batch_misc if batch_misc else batch_x
        if self.y is None:
            return inputs
        if self.sample_weight is None:
            return inputs, self.y[index_array]
        return inputs, self.y[index_array], self.sample_weight[index_array]


def _valid_files(directory, follow_links):
    """``(root, filename)`` of the images under ``directory``, sorted as the version walks."""
    walk = sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0])
    for root, _, files in walk:
        for fname in sorted(files):
            lower = fname.lower()
            if lower.endswith(".tiff"):
                warnings.warn("Using '.tiff' files with multiple bands will cause distortion. "
                              "Please verify your output.")
            if any(lower.endswith("." + ext) for ext in IMAGE_EXTENSIONS):
                yield root, fname


def _class_files(directory, split, follow_links):
    """Image paths of one class directory relative to its parent, the ``split`` fraction."""
    files = list(_valid_files(directory, follow_links))
    if split:
        files = files[int(split[0] * len(files)):int(split[1] * len(files))]
    dirname = os.path.basename(directory)
    return [os.path.join(dirname, os.path.relpath(os.path.join(root, fname), directory))
            for root, fname in files]


class DirectoryIterator(Iterator):
    """Batches of augmented images read from ``directory``: one subdirectory per class
    (sorted names, or ``classes``), labels as ``class_mode`` says ('categorical', 'binary',
    'sparse', 'input' or None). Needs Pillow."""
    _hash_range = 10 ** 7

    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode="rgb", classes=None, class_mode="categorical", batch_size=32,
                 shuffle=True, seed=None, data_format=None, save_to_dir=None, save_prefix="",
                 save_format="png", follow_links=False, subset=None,
                 interpolation="nearest", dtype=None):
        require_pillow("DirectoryIterator (flow_from_directory)")
        self.dtype = config.floatx() if dtype is None else dtype
        self.data_format = config.image_data_format() if data_format is None else data_format
        self.image_data_generator = image_data_generator
        self.target_size = tuple(target_size)
        channels = {"rgb": 3, "rgba": 4, "grayscale": 1}
        if color_mode not in channels:
            raise ValueError(f"Invalid color mode: {color_mode!r}; expected \"rgb\", \"rgba\", "
                             "or \"grayscale\".")
        self.color_mode = color_mode
        if self.data_format == "channels_last":
            self.image_shape = self.target_size + (channels[color_mode],)
        else:
            self.image_shape = (channels[color_mode],) + self.target_size
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        self.interpolation = interpolation
        if subset is None:
            self.split = None
        elif subset == "validation":
            self.split = (0, image_data_generator._validation_split)
        elif subset == "training":
            self.split = (image_data_generator._validation_split, 1)
        else:
            raise ValueError(f"Invalid subset name: {subset!r}; expected \"training\" or "
                             "\"validation\"")
        self.subset = subset
        if class_mode not in ("categorical", "binary", "sparse", "input", None):
            raise ValueError(f"Invalid class_mode: {class_mode!r}; expected one of "
                             "\"categorical\", \"binary\", \"sparse\", \"input\" or None.")
        self.class_mode = class_mode
        self.directory = directory
        if not classes:
            classes = [d for d in sorted(os.listdir(directory))
                       if os.path.isdir(os.path.join(directory, d))]
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))
        self.filenames = []
        labels = []
        for name in classes:
            files = _class_files(os.path.join(directory, name), self.split, follow_links)
            self.filenames += files
            labels += [self.class_indices[name]] * len(files)
        self.samples = len(self.filenames)
        self.classes = np.array(labels, dtype="int32")
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _load(self, j):
        img = load_img(os.path.join(self.directory, self.filenames[j]),
                       color_mode=self.color_mode, target_size=self.target_size,
                       interpolation=self.interpolation)
        x = img_to_array(img, data_format=self.data_format, dtype=self.dtype)
        img.close()
        return x

    def _get_batches_of_transformed_samples(self, index_array):
        batch_x = self._transform_batch((self._load(j) for j in index_array), index_array)
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        labels = self.classes[index_array]
        if self.class_mode == "sparse":
            return batch_x, labels
        if self.class_mode == "binary":
            return batch_x, labels.astype(self.dtype)
        if self.class_mode == "categorical":
            batch_y = np.zeros((len(batch_x), self.num_classes), dtype=self.dtype)
            batch_y[np.arange(len(labels)), labels] = 1.
            return batch_x, batch_y
        return batch_x
