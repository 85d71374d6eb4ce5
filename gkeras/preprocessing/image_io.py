"""Keras 2.2.4's image file helpers (``load_img``, ``save_img``, ``array_to_img``,
``img_to_array``), on Pillow, an optional dependency: ``pip install Pillow`` or
``pip install gkeras[image]``."""
import os
import re
import warnings

import numpy as np

from .. import config
from .affine import to_uint8_image

_NOT_LOADED = object()
# Pillow's PIL.Image, imported on first use (not by `import gkeras`); None when missing
pil_image = _NOT_LOADED

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def require_pillow(what):
    """Pillow's ``PIL.Image`` module, or an ImportError saying how to install it."""
    global pil_image
    if pil_image is _NOT_LOADED:
        try:
            from PIL import Image as pil_image
        except ImportError:
            pil_image = None
    if pil_image is None:
        raise ImportError(f"{what} requires Pillow, which is not installed. Install it with "
                          "`pip install Pillow` (or `pip install gkeras[image]`).")
    return pil_image


def _data_format(data_format):
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError("data_format must be 'channels_first' or 'channels_last'. "
                         f"Received: data_format={data_format!r}")
    return data_format


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A PIL Image of one image array (rank 3; 1, 3 or 4 channels: 'L', 'RGB', 'RGBA'). With
    ``scale`` the values are shifted to be non-negative and stretched so the maximum is 255."""
    image_module = require_pillow("array_to_img")
    data_format = _data_format(data_format)
    x = np.asarray(x, dtype=config.floatx() if dtype is None else dtype)
    if x.ndim != 3:
        raise ValueError("Expected image array to have rank 3 (single image). "
                         f"Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if x.shape[2] not in (1, 3, 4):
        raise ValueError(f"Unsupported channel number: {x.shape[2]} (expected 1, 3 or 4; "
                         f"image of shape {x.shape} in {data_format})")
    pixels = to_uint8_image(x) if scale else x.astype(np.uint8)
    if pixels.shape[2] == 1:
        return image_module.fromarray(pixels[:, :, 0], "L")
    return image_module.fromarray(pixels, "RGBA" if pixels.shape[2] == 4 else "RGB")


def img_to_array(img, data_format=None, dtype=None):
    """The pixels of a PIL Image as a rank-3 array (grayscale gets a channel axis)."""
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=config.floatx() if dtype is None else dtype)
    if x.ndim == 2:
        x = x[None] if data_format == "channels_first" else x[:, :, None]
    elif x.ndim == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    else:
        raise ValueError(f"Unsupported image shape: {x.shape}")
    return x


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save one image array to ``path`` (or a file object with ``file_format``); extra
    keyword arguments go to ``PIL.Image.save``."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format in ("jpg", "jpeg"):
        warnings.warn("The JPG format does not support RGBA images, converting to RGB.")
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(path, grayscale=False, color_mode="rgb", target_size=None,
             interpolation="nearest"):
    """A PIL Image read from ``path``, converted to ``color_mode`` ('grayscale', 'rgb',
    'rgba') and resized to ``target_size`` ``(height, width)`` with ``interpolation``."""
    if grayscale is True:
        warnings.warn('grayscale is deprecated. Please use color_mode = "grayscale"')
        color_mode = "grayscale"
    image_module = require_pillow("load_img")
    modes = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba". '
                         f"Received: color_mode={color_mode!r}")
    img = image_module.open(path)
    if img.mode != modes[color_mode]:
        img = img.convert(modes[color_mode])
    if target_size is not None:
        width_height = (target_size[1], target_size[0])
        if img.size != width_height:
            if interpolation not in _INTERPOLATIONS:
                raise ValueError(f"Invalid interpolation method {interpolation} specified. "
                                 f"Supported methods are {', '.join(_INTERPOLATIONS)}")
            resample = getattr(image_module, interpolation.upper())
            img = img.resize(width_height, resample)
    return img


def list_pictures(directory, ext="jpg|jpeg|bmp|png|ppm"):
    """The paths of the pictures under ``directory`` whose extension matches ``ext``."""
    return [os.path.join(root, f)
            for root, _, files in os.walk(directory) for f in files
            if re.match(r"([\w]+\.(?:" + ext + "))", f.lower())]
