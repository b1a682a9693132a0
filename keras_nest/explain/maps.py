"""Turning token-grid maps into image-sized maps, and images into model inputs."""

import dataclasses
import warnings

import numpy as np
from keras import ops

from keras_nest.data.images import check_normalization
from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.explain.forward import check_classifier
from keras_nest.validation import check_choice, check_int_tuple, check_numeric_array

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")


@dataclasses.dataclass
class ClassMaps:
    """Maps of one class per image.

    Attributes:
        maps: float32 `(N, H, W)` at input resolution, min-max normalised
            to `[0, 1]` per image.
        token_maps: float32 `(N, h, w)` raw values on the token grid
            (for the head's CAM: logit units, `token_maps.mean((1, 2)) == logits[c]`).
        class_index: int64 `(N,)`, the class each map explains.
        logits: float32 `(N, num_classes)`, before any classifier activation.
    """

    maps: np.ndarray
    token_maps: np.ndarray
    class_index: np.ndarray
    logits: np.ndarray


def _check_maps(maps):
    try:
        maps = np.asarray(maps, np.float32)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"maps must be a numeric (N, h, w) array; got {type(maps).__name__}.") from None
    if maps.ndim != 3 or 0 in maps.shape:
        raise InvalidValueError(f"maps must be a non-empty (N, h, w) array; got shape {maps.shape}.")
    return maps


def upsample_maps(maps, size, interpolation="bilinear"):
    """`(N, h, w)` maps to `(N, H, W)` (half-pixel centres, as cv2/tf resize).

    `size` is `(H, W)`; `interpolation` one of `INTERPOLATIONS`.
    """
    maps = _check_maps(maps)
    size = check_int_tuple("size", size, length=2)
    check_choice("interpolation", interpolation, INTERPOLATIONS)
    if tuple(maps.shape[1:3]) == tuple(size):
        return maps
    resized = ops.image.resize(maps[..., None], tuple(size), interpolation=interpolation)
    return ops.convert_to_numpy(resized)[..., 0]


def normalize_maps(maps):
    """Min-max normalises each map to `[0, 1]` (a constant map becomes zeros).

    Example:

    >>> normalize_maps(np.array([[[1.0, 3.0], [2.0, 5.0]]])).tolist()
    [[[0.0, 0.5], [0.25, 1.0]]]
    """
    maps = _check_maps(maps)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return np.where(span > 0, (maps - low) / np.where(span > 0, span, 1.0), 0.0).astype(np.float32)


def image_maps(token_maps, image_size, interpolation="bilinear"):
    """Token-grid maps to input resolution, normalised to `[0, 1]`."""
    return normalize_maps(upsample_maps(token_maps, image_size, interpolation))


def combined_maps(level_maps, size):
    """Maps of several levels as one: each normalised and resized to `size`, averaged, normalised.

    Args:
        level_maps: list of `(N, h_l, w_l)` maps, one per level.
        size: `(H, W)` of the result.

    Returns:
        float32 `(N, H, W)` in `[0, 1]`.

    Example:

    >>> fine = np.zeros((1, 4, 4)); fine[0, 0, 0] = 1.0
    >>> combined_maps([fine, np.ones((1, 2, 2))], (4, 4))[0, 0].tolist()
    [1.0, 0.0, 0.0, 0.0]
    """
    if not level_maps:
        raise InvalidValueError("combined_maps needs at least one level's maps.")
    total = sum(image_maps(m, size) for m in level_maps) / len(level_maps)
    return normalize_maps(total)


def scaled_images(images, size):
    """Images as float32 `(N, h, w, C)` in `[0, 1]` at `size` (bilinear, antialiased).

    `images` is `(N, H, W, C)` or one `(H, W, C)`, uint8 `0..255` or float `[0, 1]`.
    """
    images = check_numeric_array(
        "images", images, "a uint8 (0..255) or float ([0, 1]) array (N, H, W, C) or (H, W, C)")
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or 0 in images.shape:
        raise InvalidValueError(f"Expected images of shape (N, H, W, C) or (H, W, C); got {images.shape}.")
    size = check_int_tuple("size", size, length=2)
    if np.issubdtype(images.dtype, np.integer) and images.dtype != np.uint8:
        low, high = int(images.min()), int(images.max())
        if low < 0 or high > 255:
            raise InvalidValueError(f"Integer images must be in 0..255; got values in [{low}, {high}].")
        images = images.astype(np.uint8)
    if np.issubdtype(images.dtype, np.floating):
        low, high = float(np.min(images)), float(np.max(images))
        if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 1 + 1e-6:
            raise InvalidValueError(
                f"Float images must be raw pixels in [0, 1]; got values in [{low}, {high}]. "
                "Divide 0..255 data by 255 or pass it as uint8 (normalised model inputs go "
                "straight to class_attention_map, grad_cam or gradcat)."
            )
    scaled = images.astype(np.float32) / (255.0 if images.dtype == np.uint8 else 1.0)
    if scaled.shape[1:3] != tuple(size):
        scaled = ops.convert_to_numpy(
            ops.image.resize(scaled, tuple(size), interpolation="bilinear", antialias=True)
        )
    return scaled


def prepare_images(images, model, mean=None, std=None):
    """Raw images to model inputs: resized (with a warning) and normalised.

    A model built with `include_preprocessing=True` normalises inside: it
    gets the (resized) pixels in `0..255` as float32, and `mean`/`std`, if
    given, must be its own. A model without it gets `(x - mean) / std`.

    Args:
        images: `(N, H, W, C)` or `(H, W, C)`, uint8 `0..255` or float `[0, 1]`.
        model: the model that will read them (its input size is the target).
        mean, std: per-channel normalisation in `[0, 1]` units (one number
            or one per channel; mean in `[0, 1]`, std in `(0, 1]`), as
            training used (`keras_nest.data.dataset_info(name).mean` /
            `.std`); needed only for a model without preprocessing.

    Returns:
        float32 `(N, h, w, C)` inputs.

    Raises:
        ValueError: wrong channels; mean/std missing for a model that needs
            them, or other than those inside the model.

    Example:

    >>> import keras_nest
    >>> model = keras_nest.create_model("nest_nano_16")
    >>> prepare_images(np.zeros((16, 16, 3), np.uint8), model, 0.5, 0.25).shape
    (1, 16, 16, 3)
    >>> raw = keras_nest.create_model("nest_nano_16", include_preprocessing=True)
    >>> float(prepare_images(np.full((16, 16, 3), 200, np.uint8), raw).max())
    200.0
    """
    check_classifier(model, allow_vit=True)
    height, width, channels = model.model_config["input_shape"]
    shape = np.shape(images)
    if len(shape) in (3, 4) and shape[-1] != channels:
        raise InvalidValueError(f"The model takes {channels}-channel images; got {shape[-1]} channels.")
    if len(shape) in (3, 4) and tuple(shape[-3:-1]) != (height, width):
        warnings.warn(
            f"Resizing images from {shape[-3]}x{shape[-2]} to the model's "
            f"{height}x{width}; maps and boxes refer to the resized image.",
            stacklevel=2,
        )
    if model.includes_preprocessing:
        _check_same_normalization(model, mean, std, channels)
        return (scaled_images(images, (height, width)) * 255.0).astype(np.float32)
    if mean is None or std is None:
        raise InvalidValueError("This model takes normalised images: pass the mean and std its training used "
                                "(keras_nest.data.dataset_info(name).mean / .std, or result.json's "
                                "normalization), or build it with include_preprocessing=True.")
    mean, std = check_normalization(mean, std, channels)
    scaled = scaled_images(images, (height, width))
    return ((scaled - mean) / std).astype(np.float32)


def _check_same_normalization(model, mean, std, channels):
    """Refuses a mean or std other than the model's own (a caller that would normalise twice)."""
    checked = check_normalization(0.0 if mean is None else mean, 1.0 if std is None else std, channels)
    for name, given, value in zip(("mean", "std"), (mean, std), checked):
        inside = model.model_config[f"pixel_{name}"]
        if given is not None and not np.allclose(value, inside, atol=1e-4):
            raise InvalidValueError(f"This model normalises inside with pixel_{name} {inside}; got {name}="
                                    f"{given}. Leave {name} out (None) for a model built with "
                                    "include_preprocessing=True.")
