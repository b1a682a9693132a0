"""The `shapes` data set: `generate_shapes` images in fixed train/validation/test splits.

Each split is drawn from its own seed, derived from the split name (and
the `data_seed` option, default 0), so the splits never share images and
`load_dataset`'s `seed` only changes the shuffling. Default sizes are 5,000
train, 1,000 validation and 1,000 test images of 32x32 (`num_examples` and
`image_size` override them; any size >= 16 is drawn natively, not resized).
Besides images and labels, `load_arrays` returns each object's box and mask.

Generated arrays are kept in memory (an LRU cache keyed by the arguments)
and, for sets of a million pixels or more, on disk (see
`keras_nest.data.cache`).

Normalisation constants (`MEAN`, `STD`, `[0, 1]` units) are those of the
default train split (5,000 at 32x32): mean (0.4996, 0.4969, 0.4988), std
(0.2656, 0.2643, 0.2649) for RGB, and mean 0.4979, std 0.1777 (`GRAY_MEAN`,
`GRAY_STD`) for `channels=1`. Objects and marks are drawn relative to the
image size, so other sizes stay within about 1% (64x64: std 0.268).
"""

import functools
import os
import zlib

from keras_nest.data.cache import cached_arrays
from keras_nest.data.images import convert_channels, read_only
from keras_nest.data.info import DatasetInfo
from keras_nest.data.shapes import (
    GENERATOR_VERSION,
    MIN_IMAGE_SIZE,
    SHAPE_CLASSES,
    generate_shapes,
)
from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.validation import check_int

SPLITS = ("train", "validation", "test")
OPTIONS = frozenset({"data_seed", "cache_dir"})
DEFAULT_SIZE = (32, 32)
NUM_EXAMPLES = {"train": 5000, "validation": 1000, "test": 1000}
MEAN = (0.4996, 0.4969, 0.4988)
STD = (0.2656, 0.2643, 0.2649)
GRAY_MEAN = (0.4979,)
GRAY_STD = (0.1777,)
# Smaller sets are redrawn faster than a disk cache would pay off.
_DISK_CACHE_MIN_PIXELS = 2**20


def info(arg, image_size, channels, data_seed=0, cache_dir=None):
    _check_options(data_seed, cache_dir)
    size = _square_size(image_size)
    return DatasetInfo(
        name="shapes",
        num_classes=len(SHAPE_CLASSES),
        class_names=SHAPE_CLASSES,
        image_size=size,
        default_image_size=DEFAULT_SIZE,
        num_examples=dict(NUM_EXAMPLES),
        channels=channels,
        mean=MEAN if channels == 3 else GRAY_MEAN,
        std=STD if channels == 3 else GRAY_STD,
    )


def split_seed(split, data_seed=0):
    """The generator seed of a split: a stable hash of its name and `data_seed`.

    Example:

    >>> split_seed("train") != split_seed("test")
    True
    """
    data_seed = check_int("data_seed", data_seed, minimum=0)
    return zlib.crc32(f"shapes/{split}/{int(data_seed)}".encode())


def load(arg, split, image_size, channels, num_examples=None, data_seed=0, cache_dir=None):
    data_seed, cache_dir = _check_options(data_seed, cache_dir)
    size = _square_size(image_size)[0]
    count = NUM_EXAMPLES[split] if num_examples is None else int(num_examples)
    data = _generate(count, size, split_seed(split, data_seed), cache_dir)
    if channels != 3:
        data = dict(data, images=convert_channels(data["images"], channels))
    return read_only(dict(data, class_names=list(SHAPE_CLASSES)))


@functools.lru_cache(maxsize=4)
def _generate(num_examples, image_size, seed, cache_dir):
    def build():
        data = generate_shapes(num_examples, image_size, seed)
        data.pop("class_names")
        return data

    if num_examples * image_size**2 < _DISK_CACHE_MIN_PIXELS:
        return read_only(build())
    key = f"shapes-v{GENERATOR_VERSION}-n{num_examples}-s{image_size}-seed{seed}"
    return read_only(cached_arrays(key, build, cache_dir))


def _check_options(data_seed, cache_dir):
    data_seed = check_int("data_seed", data_seed, minimum=0)
    if cache_dir is not None and cache_dir is not False \
            and not isinstance(cache_dir, (str, os.PathLike)):
        raise InvalidTypeError(
            "cache_dir must be a folder path (str or os.PathLike), False (no disk cache) or None "
            f"(the default), got {cache_dir!r} ({type(cache_dir).__name__})."
        )
    return data_seed, cache_dir


def _square_size(image_size):
    size = image_size or DEFAULT_SIZE
    if size[0] != size[1]:
        raise InvalidValueError(f"shapes images are square; got image_size {image_size}.")
    if size[0] < MIN_IMAGE_SIZE:
        raise InvalidValueError(f"shapes needs image_size >= {MIN_IMAGE_SIZE}, got {size[0]}.")
    return size
