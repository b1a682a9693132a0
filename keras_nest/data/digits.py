"""The `digits` data set: scikit-learn's bundled 8x8 handwritten digits.

1,797 real images (values 0..16) of the digits 0-9, shipped inside
scikit-learn, so no download is ever needed. A fixed stratified 80/20 split
(`random_state=0`, independent of any `seed` argument) gives 1,437 train
and 360 test images, every class in both. Images are scaled to 0..255,
resized bilinearly to `image_size` (default 16) and stored as uint8,
grayscale replicated to 3 channels unless `channels=1`.

Normalisation constants: at the default 16x16 the train split has mean
`MEAN = 0.3054` and std `STD = 0.3186` (`[0, 1]` units, all channels).
Resizing changes the spread (8x8: std 0.376, 32x32: 0.324), so at other
sizes the statistics are measured on the train split at that size.
"""

import functools

import numpy as np

from keras_nest.data.images import channel_stats, convert_channels, read_only, resize_images
from keras_nest.data.info import DatasetInfo

SPLITS = ("train", "test")
OPTIONS = frozenset()
NATIVE_SIZE = (8, 8)
DEFAULT_SIZE = (16, 16)
NUM_EXAMPLES = {"train": 1437, "test": 360}
CLASS_NAMES = tuple(str(d) for d in range(10))
MEAN = 0.3054
STD = 0.3186
_SPLIT_SEED = 0
_TEST_FRACTION = 0.2


def info(arg, image_size, channels):
    if (image_size or DEFAULT_SIZE) == DEFAULT_SIZE:
        mean, std = (MEAN,) * channels, (STD,) * channels
    else:
        mean, std = channel_stats(_load("train", image_size, channels)["images"])
    return DatasetInfo(
        name="digits",
        num_classes=10,
        class_names=CLASS_NAMES,
        image_size=NATIVE_SIZE,
        default_image_size=DEFAULT_SIZE,
        num_examples=dict(NUM_EXAMPLES),
        channels=channels,
        mean=mean,
        std=std,
    )


def load(arg, split, image_size, channels, num_examples=None):
    # The whole split; `load_arrays` takes the first `num_examples`.
    return _load(split, image_size, channels)


@functools.lru_cache(maxsize=8)
def _load(split, image_size, channels):
    images, labels = native_split(split)
    images = resize_images(images, image_size or DEFAULT_SIZE)
    images = np.clip(np.round(images * 255), 0, 255).astype(np.uint8)
    return read_only({
        "images": convert_channels(images, channels),
        "labels": labels,
        "class_names": list(CLASS_NAMES),
    })


@functools.lru_cache(maxsize=2)
def native_split(split):
    """A split's native 8x8 images, float32 `(M, 8, 8, 1)` in `[0, 1]`, and int64 labels."""
    # Imported here: only this data set needs scikit-learn.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    index = np.arange(len(digits.target))
    train, test = train_test_split(index, test_size=_TEST_FRACTION, stratify=digits.target,
                                   random_state=_SPLIT_SEED)
    chosen = np.sort(train if split == "train" else test)
    images = digits.images[chosen].astype(np.float32)[..., None] / 16
    return images, digits.target[chosen].astype(np.int64)
