"""`tfds:NAME` data sets: TensorFlow Datasets already prepared on this machine.

Nothing is ever downloaded at run time (`download=False`): without the
`tensorflow-datasets` package an ImportError, and without the prepared data
a FileNotFoundError, say how to get them. The data directory is the
`data_dir` option, else `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`.

Any image-classification set with supervised keys works (`tfds:cifar10`,
`tfds:mnist`, `tfds:imagenet2012`, ...); `split` takes TFDS split syntax
(`"train[:10%]"`). `load_dataset` and training stream the records
(`TfdsRecords`): the encoded images are read from the prepared files and
decoded in the pipeline, never all in memory; only the labels are read up
front, once per process, without decoding an image. `load_arrays` decodes a
split into memory (for small sets). Normalisation uses the per-channel mean
and std of up to the first 10,000 train images at the requested size (at
their own size when none is given), accumulated batch by batch.
"""

import dataclasses
import functools
import os

import numpy as np
import tensorflow as tf

from keras_nest.data.images import channel_stats, convert_channels, read_only
from keras_nest.data.info import DatasetInfo
from keras_nest.data.labels import check_labels
from keras_nest.data.streaming import shard_indices
from keras_nest.data.transforms import decode, resize
from keras_nest.errors import InvalidTypeError, InvalidValueError, MissingDependencyError

SPLITS = None  # whatever the TFDS builder has
OPTIONS = frozenset({"data_dir"})
_STATS_EXAMPLES = 10_000
_SHUFFLE_RECORDS = 2048  # encoded images held to shuffle a training pass (~0.2 GB for ImageNet JPEGs)


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
    if data_dir is None:  # read now: TFDS itself reads the variable only when it is imported
        return os.environ.get("TFDS_DATA_DIR") or None
    return os.fspath(data_dir)


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
    tfds, builder = _builder(name, data_dir)
    image_key, label_key = _keys(builder)
    ds = _read(tfds, name, "train", data_dir, {image_key: tfds.decode.SkipDecoding()}).take(_STATS_EXAMPLES)

    def pixels(example):
        image = decode(example[image_key], channels)
        if image_size is None:
            return tf.reshape(image, [-1, channels])
        return tf.reshape(resize(image, image_size), [-1, channels])

    batches = ds.map(pixels, num_parallel_calls=tf.data.AUTOTUNE).as_numpy_iterator()
    return channel_stats(batches)


@dataclasses.dataclass(frozen=True)
class TfdsRecords:
    """Examples of a prepared TFDS split, by position, with their labels; decoded only when streamed.

    Attributes:
        name, split, data_dir: what `tfds.load` reads.
        positions: int64 positions of the kept examples in the split, ascending.
        labels: their labels.
    """

    name: str
    split: str
    data_dir: str
    positions: np.ndarray
    labels: np.ndarray

    @property
    def root(self):
        return f"tfds:{self.name}[{self.split}]"

    def __len__(self):
        return len(self.positions)

    def subset(self, indices):
        """The examples at `indices` (kept in storage order: records are read sequentially)."""
        indices = np.sort(np.asarray(indices, np.int64))
        return dataclasses.replace(self, positions=self.positions[indices], labels=self.labels[indices])

    def shard(self, count, index):
        """One worker's share of the examples (every worker reads the records, each decodes its own)."""
        return self.subset(shard_indices(len(self), count, index))

    def records(self, epoch, training, seed):
        """`(encoded image, label, position)` of the kept examples; a seeded shuffle buffer when training."""
        tfds, builder = _builder(self.name, self.data_dir)
        image_key, label_key = _keys(builder)
        total = int(self.positions.max()) + 1
        keep = np.zeros(total, bool)
        keep[self.positions] = True
        keep = tf.constant(keep)
        ds = _read(tfds, self.name, self.split, self.data_dir, {image_key: tfds.decode.SkipDecoding()}).take(total)
        ds = ds.enumerate().filter(lambda i, example: keep[i])
        ds = ds.map(lambda i, example: (example[image_key], tf.cast(example[label_key], tf.int64), i))
        return _window_shuffle(ds, tf.stack([tf.constant(seed, tf.int64), epoch])) if training else ds


def _window_shuffle(ds, seed):
    """Shuffles records within windows of `_SHUFFLE_RECORDS`, the windows shifted per pass; stateless.

    Records are read in storage order (TFDS shuffled them when preparing), so
    only a window of encoded images is held. Each pass draws its own shift of
    the window boundaries and its own order inside every window from `seed`
    (the run's seed and the pass), so a resumed run reads what the
    uninterrupted one read.
    """
    shift = tf.random.stateless_uniform([], seed=seed, maxval=_SHUFFLE_RECORDS, dtype=tf.int64)
    ds = ds.skip(shift).concatenate(ds.take(shift))

    def mix(window, batch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(tf.shape(batch[1])[0]), seed=tf.stack([seed[0] * 100_003 + seed[1], window]))
        return tuple(tf.gather(part, order) for part in batch)

    return ds.batch(_SHUFFLE_RECORDS).enumerate().map(mix).unbatch()


def stream(arg, split, image_size, channels, num_examples=None, data_dir=None):
    """The split's `TfdsRecords` and the size to decode to (the native one if `image_size` is None).

    Raises:
        ValueError: `image_size` is None and the images have no fixed size.
    """
    data_dir = _check_data_dir(data_dir)
    labels = _labels(arg, split, data_dir)
    if num_examples is not None:
        labels = labels[:num_examples]
    records = TfdsRecords(arg, split, data_dir, np.arange(len(labels), dtype=np.int64), labels)
    if image_size is None:
        _, builder = _builder(arg, data_dir)
        shape = builder.info.features[_keys(builder)[0]].shape
        if None in shape[:2]:
            raise InvalidValueError(f"Images of 'tfds:{arg}' differ in size; pass image_size to resize them.")
        image_size = tuple(shape[:2])
    return records, tuple(image_size)


@functools.lru_cache(maxsize=8)
def _labels(name, split, data_dir):
    """Every label of a split, read once without decoding an image."""
    tfds, builder = _builder(name, data_dir)
    image_key, label_key = _keys(builder)
    ds = _read(tfds, name, split, data_dir, {image_key: tfds.decode.SkipDecoding()})
    labels = [batch for batch in ds.map(lambda example: example[label_key]).batch(65_536).as_numpy_iterator()]
    if not labels:
        raise InvalidValueError(f"Split {split!r} of 'tfds:{name}' is empty.")
    num_classes = int(builder.info.features[label_key].num_classes)
    return read_only({"labels": check_labels(np.concatenate(labels), num_classes=num_classes)[0]})["labels"]


def _read(tfds, name, split, data_dir, decoders=None):
    """`tfds.load` of a split as example dicts, in storage order, never downloading."""
    try:
        return tfds.load(name, split=split, data_dir=data_dir, download=False, shuffle_files=False,
                         decoders=decoders)
    except Exception as err:  # noqa: BLE001 - TFDS raises many types here
        raise FileNotFoundError(
            f"Could not read split {split!r} of TFDS data set {name!r} ({err}). {_how_to_get(name, data_dir)}"
        ) from err


@functools.lru_cache(maxsize=4)
def _load(name, split, image_size, channels, num_examples, data_dir):
    tfds, builder = _builder(name, data_dir)
    image_key, label_key = _keys(builder)
    ds = _read(tfds, name, split, data_dir).map(lambda example: (example[image_key], example[label_key]))
    if num_examples is not None:
        ds = ds.take(num_examples)
    if image_size is not None:
        def resized(image, label):
            return resize(image, image_size), label
        ds = ds.map(resized, num_parallel_calls=tf.data.AUTOTUNE)
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
