"""Image batches as numpy arrays: checking, channel conversion, resizing, statistics.

Every data source hands over `(N, H, W, C)` arrays, either uint8 in
`0..255` or float32 in `[0, 1]`; these helpers keep them that way.
"""

import numbers

import numpy as np
import tensorflow as tf

from keras_nest.data.transforms import LUMA, decode
from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.validation import check_normalization  # noqa: F401 (re-exported)

# ITU-R BT.601 luma, the weights tf.image.rgb_to_grayscale uses too.
_LUMA = np.array(LUMA, np.float32)
_RESIZE_CHUNK = 512
# Larger sides are refused: one 8192x8192 RGB image is already 200 MB as
# uint8, and a typo such as image_size=32000 would otherwise only fail when
# the resized arrays cannot be allocated.
MAX_IMAGE_SIZE = 8192


def check_image_size(image_size):
    """`None`, or `image_size` (an int or a `(height, width)` pair) as a pair of ints.

    Sides must be in `1 .. MAX_IMAGE_SIZE` (8192).

    Example:

    >>> check_image_size(16), check_image_size((24, 32)), check_image_size(None)
    ((16, 16), (24, 32), None)
    >>> check_image_size(0)
    Traceback (most recent call last):
        ...
    keras_nest.errors.InvalidValueError: image_size must be positive (an int >= 1 or a (height, width) ...
    """
    if image_size is None:
        return None
    wanted = "an int >= 1 or a (height, width) pair of them"
    if _is_int(image_size):
        size = (image_size, image_size)
    elif isinstance(image_size, (tuple, list, np.ndarray)) and np.ndim(image_size) == 1:
        size = tuple(image_size)
    else:
        raise InvalidTypeError(f"image_size must be {wanted}, got {_describe(image_size)}.")
    if len(size) != 2:
        raise InvalidValueError(f"image_size must be {wanted}, got {len(size)} entries: {image_size!r}.")
    if not all(_is_int(s) for s in size):
        raise InvalidTypeError(f"image_size must be {wanted}, got {image_size!r}.")
    if min(size) <= 0:
        raise InvalidValueError(f"image_size must be positive ({wanted}), got {image_size!r}.")
    if max(size) > MAX_IMAGE_SIZE:
        raise InvalidValueError(
            f"image_size must be at most {MAX_IMAGE_SIZE} per side, got {image_size!r}."
        )
    return int(size[0]), int(size[1])


def check_channels(channels):
    """Validates `channels`: 1 (grayscale) or 3 (RGB).

    Example:

    >>> check_channels(2)
    Traceback (most recent call last):
        ...
    keras_nest.errors.InvalidValueError: channels must be 1 or 3, got 2.
    """
    if not _is_int(channels):
        raise InvalidTypeError(f"channels must be 1 or 3, got {_describe(channels)}.")
    if int(channels) not in (1, 3):
        raise InvalidValueError(f"channels must be 1 or 3, got {channels!r}.")
    return int(channels)


def as_image_batch(images):
    """Checks user images and returns them as `(N, H, W, C)` uint8 or float32.

    Accepts `(N, H, W)` or `(N, H, W, C)` with 1, 3 or 4 channels (alpha is
    dropped): any integer dtype with values in `0..255` (returned as uint8)
    or floats in `[0, 1]` (returned as float32).

    Example:

    >>> as_image_batch(np.zeros((2, 4, 4), np.uint8)).shape
    (2, 4, 4, 1)
    """
    try:
        x = np.asarray(images)
    except (TypeError, ValueError):
        raise InvalidValueError(
            "images must be one array (N, H, W) or (N, H, W, C) of equally sized images, got a "
            f"{type(images).__name__} that numpy cannot stack."
        ) from None
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise InvalidValueError(f"images must be (N, H, W) or (N, H, W, C), got shape {x.shape}.")
    if x.shape[0] == 0 or x.size == 0:
        raise InvalidValueError(f"The dataset is empty: images have shape {x.shape}.")
    if x.shape[-1] not in (1, 3, 4):
        raise InvalidValueError(f"images must have 1, 3 or 4 channels, got shape {x.shape}.")
    if x.shape[-1] == 4:
        x = x[..., :3]
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.integer):
        low, high = x.min(), x.max()
        if low < 0 or high > 255:
            raise InvalidValueError(f"Integer images must be in 0..255, got values in [{low}, {high}].")
        return x.astype(np.uint8)
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32, copy=False)
        low, high = float(np.min(x)), float(np.max(x))
        if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 1 + 1e-6:
            raise InvalidValueError(
                f"Float images must be in [0, 1], got values in [{low}, {high}]; "
                "divide 0..255 data by 255 or pass it as uint8."
            )
        return x
    raise InvalidValueError(f"images must be an integer or float array, got dtype {x.dtype}.")


def convert_channels(images, channels):
    """Grayscale <-> RGB: replicates one channel, or takes the luma of three."""
    have = images.shape[-1]
    if have == channels:
        return images
    if have == 1 and channels == 3:
        return np.repeat(images, 3, axis=-1)
    if have == 3 and channels == 1:
        gray = images.astype(np.float32) @ _LUMA
        return _like(gray[..., None], images.dtype)
    raise InvalidValueError(f"Cannot convert {have}-channel images to {channels} channels.")


def to_signed_unit(images):
    """uint8 `0..255` or float `[0, 1]` images as float32 in `[-1, 1]` (generators' range).

    Example:

    >>> to_signed_unit(np.array([0, 255], np.uint8)).tolist()
    [-1.0, 1.0]
    """
    images = np.asarray(images)
    scale = 127.5 if images.dtype == np.uint8 else 0.5
    return (images.astype(np.float32) / scale - 1.0).astype(np.float32)


def read_image(path, channels=3):
    """Decodes one image file (PNG, JPEG, GIF, BMP) to uint8 `(H, W, channels)`.

    Raises:
        ValueError: the file is missing, unreadable or not an image.
    """
    try:
        return decode(tf.io.read_file(str(path)), channels).numpy()
    except (tf.errors.OpError, ValueError, OSError) as error:
        raise InvalidValueError(f"Cannot read {str(path)!r} as an image ({type(error).__name__}).") from None


def resize_images(images, size):
    """Bilinear resize of `(N, H, W, C)` images to `size`, keeping the dtype.

    Antialiasing averages properly when shrinking; uint8 results are rounded.

    Example:

    >>> resize_images(np.full((1, 8, 8, 1), 200, np.uint8), (16, 16))[0, :2, :2, 0].tolist()
    [[200, 200], [200, 200]]
    """
    if size is None or tuple(images.shape[1:3]) == tuple(size):
        return images
    out = np.empty((len(images), *size, images.shape[-1]), images.dtype)
    for start in range(0, len(images), _RESIZE_CHUNK):
        chunk = tf.image.resize(images[start:start + _RESIZE_CHUNK].astype(np.float32), size,
                                method="bilinear", antialias=True)
        out[start:start + _RESIZE_CHUNK] = _like(chunk.numpy(), images.dtype)
    return out


def channel_stats(images):
    """Per-channel mean and std of images, in `[0, 1]` pixel units.

    `images` is one `(N, H, W, C)` array, or an iterable of such batches
    (any sizes), so large or streamed sets need the memory of one batch.
    Accumulates in float64.

    Example:

    >>> mean, std = channel_stats(np.array([[[[0]], [[255]]]], np.uint8))
    >>> mean, std
    ((0.5,), (0.5,))
    """
    batches = (images[i:i + 256] for i in range(0, len(images), 256)) if isinstance(images, np.ndarray) else images
    total = total_sq = 0.0
    count = 0
    for batch in batches:
        channels = batch.shape[-1]
        chunk = batch.reshape(-1, channels).astype(np.float64) * (1 / 255 if batch.dtype == np.uint8 else 1.0)
        total, total_sq, count = total + chunk.sum(axis=0), total_sq + (chunk * chunk).sum(axis=0), count + len(chunk)
    if not count:
        raise InvalidValueError("No pixels to measure the channel statistics on.")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean * mean, 0))
    # A constant channel would divide by zero; leave it unscaled instead.
    std = np.where(std > 1e-6, std, 1.0)
    return tuple(round(float(m), 6) for m in mean), tuple(round(float(s), 6) for s in std)


def read_only(arrays):
    """Marks the arrays of a dict read-only, so a cached copy cannot be altered."""
    for value in arrays.values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return arrays


def _like(values, dtype):
    if dtype == np.uint8:
        return np.clip(np.round(values), 0, 255).astype(np.uint8)
    return np.clip(values, 0, 1).astype(dtype)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _describe(value):
    return f"{value!r} ({type(value).__name__})"
