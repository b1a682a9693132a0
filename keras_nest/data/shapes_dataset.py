"""The `shapes` data set: `generate_shapes` images in fixed train/validation/test splits.

Splits are seeded and cached as every generated set is (see
`keras_nest.data.generated`; option `data_seed`, default 0). Default sizes are 5,000
train, 1,000 validation and 1,000 test images of 32x32 (`num_examples` and
`image_size` override them; any size >= 16 is drawn natively, not resized).
Besides images and labels, `load_arrays` returns each object's box and mask.

Normalisation constants (`MEAN`, `STD`, `[0, 1]` units) are those of the
default train split (5,000 at 32x32): mean (0.4996, 0.4969, 0.4988), std
(0.2656, 0.2643, 0.2649) for RGB, and mean 0.4979, std 0.1777 (`GRAY_MEAN`,
`GRAY_STD`) for `channels=1`. Objects and marks are drawn relative to the
image size, so other sizes stay within about 1% (64x64: std 0.268).
"""

from keras_nest.data import generated
from keras_nest.data.shapes import (
    GENERATOR_VERSION,
    MIN_IMAGE_SIZE,
    SHAPE_CLASSES,
    generate_shapes,
)

SPLITS = ("train", "validation", "test")
OPTIONS = generated.OPTIONS
DEFAULT_SIZE = (32, 32)
NUM_EXAMPLES = {"train": 5000, "validation": 1000, "test": 1000}
MEAN = (0.4996, 0.4969, 0.4988)
STD = (0.2656, 0.2643, 0.2649)
GRAY_MEAN = (0.4979,)
GRAY_STD = (0.1777,)


SET = generated.GeneratedSet("shapes", SHAPE_CLASSES, DEFAULT_SIZE, MIN_IMAGE_SIZE, NUM_EXAMPLES,
                              MEAN, STD, GRAY_MEAN, GRAY_STD)


def info(arg, image_size, channels, data_seed=0, cache_dir=None):
    return SET.info(image_size, channels, data_seed, cache_dir)


def split_seed(split, data_seed=0):
    """The generator seed of a split (see `keras_nest.data.generated.split_seed`).

    Example:

    >>> split_seed("train") != split_seed("test")
    True
    """
    return generated.split_seed("shapes", split, data_seed)


def load(arg, split, image_size, channels, num_examples=None, data_seed=0, cache_dir=None):
    return SET.load(generate_shapes, f"shapes-v{GENERATOR_VERSION}", split, image_size, channels, num_examples,
                    data_seed, cache_dir)
