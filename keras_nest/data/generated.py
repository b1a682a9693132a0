"""What the generated data sets (`shapes`, `cluttered_digits`) share.

Each split is drawn from its own seed, a stable hash of the data set's name,
the split and the `data_seed` option, so splits never share images and the
`seed` of `load_dataset` only changes the shuffling. Generated arrays are
kept in memory (an LRU cache keyed by the arguments) and, for sets of a
million pixels or more, on disk (see `keras_nest.data.cache`).
"""

import dataclasses
import functools
import os
import zlib

from keras_nest.data.cache import cached_arrays
from keras_nest.data.images import convert_channels, read_only
from keras_nest.data.info import DatasetInfo
from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.validation import check_int

OPTIONS = frozenset({"data_seed", "cache_dir"})
# Smaller sets are redrawn faster than a disk cache would pay off.
_DISK_CACHE_MIN_PIXELS = 2**20


def split_seed(name, split, data_seed=0):
    """The generator seed of a split: a stable hash of its data set, name and `data_seed`.

    Example:

    >>> split_seed("shapes", "train") != split_seed("shapes", "test")
    True
    """
    data_seed = check_int("data_seed", data_seed, minimum=0)
    return zlib.crc32(f"{name}/{split}/{int(data_seed)}".encode())


def check_options(data_seed, cache_dir):
    """The checked `(data_seed, cache_dir)` options of a generated data set."""
    data_seed = check_int("data_seed", data_seed, minimum=0)
    if cache_dir is not None and cache_dir is not False \
            and not isinstance(cache_dir, (str, os.PathLike)):
        raise InvalidTypeError(
            "cache_dir must be a folder path (str or os.PathLike), False (no disk cache) or None "
            f"(the default), got {cache_dir!r} ({type(cache_dir).__name__})."
        )
    return data_seed, cache_dir


def square_size(name, image_size, default, minimum):
    """`image_size` (or `default`) as `(s, s)`; an error unless square and >= `minimum`."""
    size = image_size or default
    if size[0] != size[1]:
        raise InvalidValueError(f"{name} images are square; got image_size {image_size}.")
    if size[0] < minimum:
        raise InvalidValueError(f"{name} needs image_size >= {minimum}, got {size[0]}.")
    return size


@functools.lru_cache(maxsize=8)
def generate(generator, key, num_examples, image_size, seed, cache_dir):
    """`generator(num_examples, image_size, seed)` without `class_names`, cached.

    `key` names the generator's version in the disk cache (bump it when
    the drawing changes, so stale files are not reused).
    """
    def build():
        data = generator(num_examples, image_size, seed)
        data.pop("class_names")
        return data

    if num_examples * image_size**2 < _DISK_CACHE_MIN_PIXELS:
        return read_only(build())
    return read_only(cached_arrays(f"{key}-n{num_examples}-s{image_size}-seed{seed}", build, cache_dir))


@dataclasses.dataclass(frozen=True)
class GeneratedSet:
    """The facts of a generated data set, and its `info`/`load` for the loaders.

    `mean`/`std` are those of the default train split in `[0, 1]` units, RGB
    and (`gray_*`) for `channels=1`.
    """

    name: str
    class_names: tuple
    default_size: tuple
    min_size: int
    num_examples: dict
    mean: tuple
    std: tuple
    gray_mean: tuple
    gray_std: tuple

    def info(self, image_size, channels, data_seed=0, cache_dir=None):
        check_options(data_seed, cache_dir)
        return DatasetInfo(
            name=self.name,
            num_classes=len(self.class_names),
            class_names=self.class_names,
            image_size=square_size(self.name, image_size, self.default_size, self.min_size),
            default_image_size=self.default_size,
            num_examples=dict(self.num_examples),
            channels=channels,
            mean=self.mean if channels == 3 else self.gray_mean,
            std=self.std if channels == 3 else self.gray_std,
        )

    def load(self, generator, key, split, image_size, channels, num_examples, data_seed=0, cache_dir=None):
        """`split` drawn by `generator` (see `generate`), with `class_names`, in `channels`."""
        data_seed, cache_dir = check_options(data_seed, cache_dir)
        size = square_size(self.name, image_size, self.default_size, self.min_size)[0]
        count = self.num_examples[split] if num_examples is None else int(num_examples)
        data = generate(generator, key, count, size, split_seed(self.name, split, data_seed), cache_dir)
        if channels != 3:
            data = dict(data, images=convert_channels(data["images"], channels))
        return read_only(dict(data, class_names=list(self.class_names)))
