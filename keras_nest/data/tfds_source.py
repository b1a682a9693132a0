"""`tfds:NAME` data sets: TensorFlow Datasets already prepared on this machine.

Nothing is ever downloaded at run time (`download=False`): without the
`tensorflow-datasets` package an ImportError, and without the prepared data
a FileNotFoundError, say how to get them. The data directory is the
`data_dir` option, else `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`.

Any image-classification set with supervised keys works (`tfds:cifar10`,
`tfds:mnist`, ...); `split` takes TFDS split syntax (`"train[:10%]"`).
Normalisation uses the per-channel mean and std of up to the first 10,000
train images at the requested size.
"""

import functools
import os

import numpy as np
import tensorflow as tf

from keras_nest.data.images import channel_stats, convert_channels, read_only
from keras_nest.data.info import DatasetInfo
from keras_nest.data.labels import check_labels
from keras_nest.errors import InvalidTypeError, InvalidValueError, MissingDependencyError

SPLITS = None  # whatever the TFDS builder has
OPTIONS = frozenset({"data_dir"})
_STATS_EXAMPLES = 10_000


def _how_to_get(name, data_dir):
    where = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
    return (
        f"To use 'tfds:{name}': pip install tensorflow-datasets (or keras-nest[tfds]); then, "
        f"on a machine with internet access, prepare the data with `tfds build {name}` or "
        f"`python -c \"import tensorflow_datasets as tfds; tfds.load('{name}', download=True)\"` "
        f"and copy the data directory to {where} here (or pass data_dir=..., or set "
        "TFDS_DATA_DIR). keras_nest never downloads data at run time."
    )


def _tfds(name, data_dir):
    try:
        import tensorflow_datasets
    except ImportError:
        raise MissingDependencyError(
            f"tensorflow-datasets is not installed. {_how_to_get(name, data_dir)}"
        ) from None
    return tensorflow_datasets


def _builder(name, data_dir):
    tfds = _tfds(name, data_dir)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
        splits = dict(builder.info.splits)
    except Exception as err:  # noqa: BLE001 - TFDS raises many types here
        raise FileNotFoundError(
            f"TFDS data set {name!r} is not available locally ({err}). "
            f"{_how_to_get(name, data_dir)}"
        ) from err
    if not splits:
        raise FileNotFoundError(
            f"TFDS data set {name!r} is not prepared in this data directory. "
            f"{_how_to_get(name, data_dir)}"
        )
    return tfds, builder


def _keys(builder):
    image_key, label_key = builder.info.supervised_keys or ("image", "label")
    return image_key, label_key


def _check_data_dir(data_dir):
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise InvalidTypeError(
            f"data_dir must be a folder path (str or os.PathLike) or None, got {data_dir!r} "
            f"({type(data_dir).__name__})."
        )
    return None if data_dir is None else os.fspath(data_dir)


def info(arg, image_size, channels, data_dir=None):
    data_dir = _check_data_dir(data_dir)
    _, builder = _builder(arg, data_dir)
    image_key, label_key = _keys(builder)
    label = builder.info.features[label_key]
    shape = builder.info.features[image_key].shape
    native = tuple(shape[:2]) if None not in shape[:2] else None
    mean, std = _train_stats(arg, image_size, channels, data_dir)
    return DatasetInfo(
        name=f"tfds:{arg}",
        num_classes=int(label.num_classes),
        class_names=tuple(label.names),
        image_size=native,
        default_image_size=None,
        num_examples={s: int(v.num_examples) for s, v in builder.info.splits.items()},
        channels=channels,
        mean=mean,
        std=std,
    )


def load(arg, split, image_size, channels, num_examples=None, data_dir=None):
    data_dir = _check_data_dir(data_dir)
    return _load(arg, split, image_size, channels, num_examples, data_dir)


@functools.lru_cache(maxsize=4)
def _train_stats(name, image_size, channels, data_dir):
    data = _load(name, "train", image_size, channels, _STATS_EXAMPLES, data_dir)
    return channel_stats(data["images"])


@functools.lru_cache(maxsize=4)
def _load(name, split, image_size, channels, num_examples, data_dir):
    tfds, builder = _builder(name, data_dir)
    _, label_key = _keys(builder)
    try:
        ds = tfds.load(name, split=split, data_dir=data_dir, download=False, as_supervised=True)
    except Exception as err:  # noqa: BLE001
        raise FileNotFoundError(
            f"Could not read split {split!r} of TFDS data set {name!r} ({err}). "
            f"{_how_to_get(name, data_dir)}"
        ) from err
    if num_examples is not None:
        ds = ds.take(num_examples)
    if image_size is not None:
        def resize(image, label):
            image = tf.image.resize(image, image_size, method="bilinear", antialias=True)
            return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8), label
        ds = ds.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
    images, labels = [], []
    try:
        for image_batch, label_batch in ds.batch(512).as_numpy_iterator():
            images.append(image_batch)
            labels.append(label_batch)
    except tf.errors.InvalidArgumentError as err:
        raise InvalidValueError(
            f"Images of 'tfds:{name}' differ in size; pass image_size to resize them."
        ) from err
    if not images:
        raise InvalidValueError(f"Split {split!r} of 'tfds:{name}' is empty.")
    images = np.concatenate(images)
    if images.dtype != np.uint8:
        images = np.clip(images, 0, 255).astype(np.uint8)
    label_feature = builder.info.features[label_key]
    labels, _ = check_labels(np.concatenate(labels), num_classes=int(label_feature.num_classes))
    return read_only({
        "images": convert_channels(images, channels),
        "labels": labels,
        "class_names": list(label_feature.names),
    })
