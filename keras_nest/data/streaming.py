"""`file_dataset`: image files (or TFDS records) to training batches, decoded on the fly.

The data set is never held in memory: only the list of examples (paths or
record positions) and their labels is. Each pass reads, decodes and resizes
the images in parallel (`num_parallel_calls=AUTOTUNE`, deterministic order)
and prefetches batches. Training passes visit a folder's files in an order
drawn from `(seed, epoch)` alone, so a run resumed at epoch `k` sees the
files the uninterrupted run saw; there is no shuffle buffer of decoded
images. (TFDS records are read in storage order through a bounded shuffle
buffer of encoded images, seeded the same way; `keras_nest.data.tfds_source`.)

A file that is not an image (wrong first bytes, empty) or that fails to
decode is skipped inside the pipeline, never a crash: at the end of each
pass one line on stderr says how many of the pass's files were skipped, and
`SkippedFiles.count` keeps the total.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from keras_nest.data.pipeline import batch_preparer, checked_normalization
from keras_nest.data.transforms import ImageTransform, decode, eval_image, looks_like_image, train_image
from keras_nest.errors import InvalidValueError
from keras_nest.validation import check_bool, check_int


@dataclasses.dataclass(frozen=True)
class FileList:
    """Image files and their integer labels, in a fixed order.

    Attributes:
        paths: tuple of file paths (str).
        labels: int64 `(N,)` labels in `0 .. num_classes - 1`.
        root: where they were listed from (for messages).
    """

    paths: tuple
    labels: np.ndarray
    root: str = ""

    def __len__(self):
        return len(self.paths)

    def subset(self, indices):
        """The files at `indices`, in that order."""
        indices = np.asarray(indices, np.int64)
        return FileList(tuple(self.paths[i] for i in indices), self.labels[indices], self.root)

    def shard(self, count, index):
        """Every `count`-th file from `index`: one worker's share under multi-worker training.

        Example:

        >>> files = FileList(("a", "b", "c", "d", "e"), np.arange(5))
        >>> files.shard(2, 0).paths, files.shard(2, 1).paths
        (('a', 'c', 'e'), ('b', 'd'))
        """
        return self.subset(shard_indices(len(self), count, index))

    def records(self, epoch, training, seed):
        """`(encoded bytes, label, key)` of every file, in the pass's order; `key` seeds its crop."""
        paths, labels = tf.constant(list(self.paths), tf.string), tf.constant(self.labels, tf.int64)
        order = tf.range(len(self), dtype=tf.int64)
        if training:
            order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(order).map(
            lambda i: (tf.io.read_file(paths[i]), labels[i], i), num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True)


def shard_indices(length, count, index):
    """Positions `index, index + count, ...` below `length`: one worker's share."""
    count = check_int("shard count", count, minimum=1)
    index = check_int("shard index", index, minimum=0, maximum=count - 1)
    return np.arange(index, length, count)


class SkippedFiles:
    """Counts the files a pipeline skipped (not images, empty, or failing to decode)."""

    def __init__(self):
        self._count = tf.Variable(0, dtype=tf.int64, trainable=False, name="skipped_files")

    @property
    def count(self):
        """Files skipped so far, over every pass."""
        return int(self._count.numpy())

    def add(self, missing):
        """The op that counts `missing` more (inside the pipeline)."""
        return self._count.assign_add(missing)


def file_dataset(files, num_classes, transform, batch_size=32, training=False, seed=0, first_epoch=None,
                 drop_remainder=False, mean=None, std=None, skipped=None):
    """Batches of `(images, one-hot labels)` decoded from `files` as they are read.

    Args:
        files: a `FileList`, or `TfdsRecords` (`keras_nest.data.tfds_source`).
        num_classes: depth of the one-hot labels.
        transform: an `ImageTransform` (size, channels, crops).
        batch_size: positive int.
        training: bool: random crops (`transform.train_crop_min_area`) and
            a fresh file order every pass; else the evaluation view, in order.
        seed: int >= 0, for the file order and the crops.
        first_epoch: `None`: one pass per iteration over the dataset (each
            a new order and new crops in training); an int `k`: an endless
            stream of passes `k, k + 1, ...`, each ordered from `(seed, pass)`
            alone (stop it with `steps_per_epoch`).
        drop_remainder: bool, drop a last smaller batch of each pass.
        mean, std: normalisation in `[0, 1]` pixel units; both `None` keeps
            raw pixels (float32 `0..255`, for a model that normalises inside).
        skipped: a `SkippedFiles` to count into (default: a new one).

    Returns:
        A prefetched `tf.data.Dataset` of float32 `(B, H, W, C)` images and
        float32 `(B, num_classes)` one-hot labels.

    Raises:
        ValueError: no files, labels outside `0 .. num_classes - 1`, a bad
            batch size, seed or normalisation. While iterating, a pass in
            which no file is readable stops with an error that says so.

    Example:

    >>> import os, tempfile, keras
    >>> folder = tempfile.mkdtemp()
    >>> keras.utils.save_img(os.path.join(folder, "a.png"), np.zeros((30, 20, 3), np.uint8))
    >>> files = FileList((os.path.join(folder, "a.png"),), np.array([1]))
    >>> x, y = next(iter(file_dataset(files, 2, ImageTransform((16, 16)))))
    >>> tuple(x.shape), y.numpy().tolist()
    ((1, 16, 16, 3), [[0.0, 1.0]])
    """
    if not hasattr(files, "records") or not isinstance(transform, ImageTransform):
        raise InvalidValueError("file_dataset needs a FileList (or TfdsRecords) and an ImageTransform.")
    if len(files) == 0:
        raise InvalidValueError(f"No image files to read in {files.root or 'the file list'}.")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    training = check_bool("training", training)
    seed = check_int("seed", seed, minimum=0, maximum=2**31 - 1)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    if files.labels.min() < 0 or files.labels.max() >= num_classes:
        raise InvalidValueError(f"Labels of {files.root or 'the files'} must be in 0..{num_classes - 1}; got "
                                f"[{files.labels.min()}, {files.labels.max()}].")
    mean, std = checked_normalization(mean, std, transform.channels)
    skipped = SkippedFiles() if skipped is None else skipped
    prepare = batch_preparer(num_classes, mean, std, uint8=True)
    reader = _PassReader(files, transform, training, seed, skipped,
                         _Batching(batch_size, check_bool("drop_remainder", drop_remainder), prepare),
                         fill=first_epoch is not None)
    if first_epoch is None:
        ds = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).map(reader.next_pass).flat_map(reader.one_pass)
    else:
        first = check_int("first_epoch", first_epoch, minimum=0)
        ds = tf.data.Dataset.counter(first).flat_map(reader.one_pass)
    return ds.prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass(frozen=True)
class _Batching:
    size: int
    drop_remainder: bool
    prepare: object


class _PassReader:
    """Builds the batches of one pass: read, check, decode, transform, count, batch.

    Batches are formed within a pass, so training epoch `k` is pass `k`, as
    in the in-memory pipeline. In the endless training stream (`fill`) a pass
    with skipped files is topped up with its first readable images read
    again, so every pass is exactly `len(files)` images (`ceil(len / batch)`
    batches, `floor` with `drop_remainder`): Keras' `steps_per_epoch` from the
    listed files ends every epoch on a pass boundary, and a resumed run reads
    what the uninterrupted one read, skipped files or not.
    """

    def __init__(self, files, transform, training, seed, skipped, batching, fill):
        self.files, self.count = files, len(files)
        self.transform, self.training, self.seed, self.skipped = transform, training, seed, skipped
        self.batching, self.fill = batching, fill
        self.root = files.root
        self.passes = tf.Variable(0, dtype=tf.int64, trainable=False)

    def next_pass(self, _):
        return self.passes.assign_add(1) - 1

    @tf.autograph.experimental.do_not_convert  # plain Python; TFDS' wrapt-decorated load confuses AutoGraph
    def one_pass(self, epoch):
        end = tf.data.Dataset.from_tensors((tf.zeros((*self.transform.size, self.transform.channels), tf.uint8),
                                            tf.constant(-1, tf.int64), False))
        # The count lives in the scan's state: one per iterator and pass, so a pass stopped early
        # (take, next(iter(...))) or two iterators at once cannot confuse it.
        ds = self._readable(epoch).concatenate(end).scan(tf.constant(0, tf.int64), self._tally)
        ds = ds.filter(lambda image, label: label >= 0)
        if self.fill:
            top_up = self._readable(epoch).map(lambda image, label, ok: (image, label)).repeat()
            ds = ds.concatenate(top_up).take(self.count)
        batching = self.batching
        ds = ds.batch(batching.size, drop_remainder=batching.drop_remainder)
        return ds.map(batching.prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def _readable(self, epoch):
        """`(image, label, ok)` of the pass's readable images, in the pass's order."""
        ds = self.files.records(epoch, self.training, self.seed).map(
            lambda encoded, label, key: self._load(encoded, label, key, epoch),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        # An image that fails to decode raises inside the map; the element is dropped here.
        return ds.filter(lambda image, label, ok: ok).ignore_errors()

    def _load(self, encoded, label, key, epoch):
        ok = looks_like_image(encoded)
        empty = tf.zeros((*self.transform.size, self.transform.channels), tf.uint8)
        image = tf.cond(ok, lambda: self._view(decode(encoded, self.transform.channels), key, epoch), lambda: empty)
        return image, label, ok

    def _view(self, image, key, epoch):
        if self.training:  # a crop per (seed, pass, example)
            seed = tf.stack([tf.constant(self.seed, tf.int64), epoch * 2**32 + key])
            return train_image(image, self.transform, seed)
        return eval_image(image, self.transform)

    def _tally(self, delivered, element):
        """Counts delivered images; at the end-of-pass marker, reports and records the missing ones."""
        image, label, _ = element

        def end_of_pass():
            missing = self.count - delivered
            report = tf.cond(missing > 0, lambda: tf.print(
                "keras_nest: skipped", missing, "of", self.count, "images in", self.root or "this pass",
                "(not images, empty or corrupt)", output_stream="file:///dev/stderr"), tf.no_op)
            # A pass without one readable image would make an endless stream spin forever.
            readable = tf.debugging.assert_positive(
                delivered, message=f"No readable image in a pass over {self.root or 'the files'}: every file "
                "is not an image, empty or corrupt.")
            with tf.control_dependencies([report, readable, self.skipped.add(missing)]):
                return tf.constant(0, tf.int64)

        state = tf.cond(label < 0, end_of_pass, lambda: delivered + 1)
        return state, (image, label)
