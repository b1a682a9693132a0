"""Data sets for training and probing NesT models, as `tf.data` pipelines or numpy arrays.

`load_dataset(name, ...)` is the entry point; `name` is `"digits"`,
`"shapes"`, `"cluttered_digits"`, `"tfds:NAME"`, `"folder:PATH"` or an `(images, labels)` pair.
See `keras_nest.data.loading` for the details of each.

Example:

>>> from keras_nest import data
>>> data.dataset_info("shapes").class_names
('circle', 'ring', 'square', 'triangle', 'crescent', 'star', 'cross')
"""

from keras_nest.data.cluttered_digits import generate_cluttered_digits
from keras_nest.data.info import DatasetInfo
from keras_nest.data.loading import (
    dataset_info,
    dataset_slug,
    from_arrays,
    held_out_split,
    load_arrays,
    load_dataset,
    load_examples,
    real_images,
)
from keras_nest.data.shapes import SHAPE_CLASSES, generate_shapes, mask_boxes

__all__ = [
    "SHAPE_CLASSES",
    "DatasetInfo",
    "dataset_info",
    "dataset_slug",
    "from_arrays",
    "generate_cluttered_digits",
    "generate_shapes",
    "held_out_split",
    "load_arrays",
    "load_dataset",
    "load_examples",
    "mask_boxes",
    "real_images",
]
