"""`make_dataset`: numpy images and labels to a batched, normalised `tf.data.Dataset`."""

import numpy as np
import tensorflow as tf

from keras_nest.data.images import check_normalization
from keras_nest.data.labels import check_num_classes
from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.validation import check_bool, check_int


def make_dataset(images, labels, num_classes, mean=None, std=None, batch_size=32, training=False, seed=0,
                 drop_remainder=False, epochs=None):
    """Batches of `(normalised float32 NHWC images, one-hot float32 labels)`.

    The raw examples are cached; in training mode they are reshuffled every
    epoch (each new iteration over the data set) with a full-size buffer,
    seeded by `seed`, so two data sets built with the same seed give the same
    sequence of epochs. (TensorFlow combines `seed` with its global seed, set
    e.g. by `keras.utils.set_random_seed`; keep that fixed too.) Batches are
    normalised as `(x - mean) / std` with `x` in `[0, 1]` (uint8 images are
    divided by 255), and prefetched. Without `mean` and `std` they are raw
    pixels, float32 in `0..255`, for a model that normalises inside
    (`include_preprocessing=True`).

    Args:
        images: `(N, H, W, C)` uint8 (`0..255`) or float (`[0, 1]`) array.
        labels: `(N,)` integer class indices in `0 .. num_classes - 1`.
        num_classes: int, depth of the one-hot labels.
        mean: per-channel mean (or one value for all), in `[0, 1]` pixel
            units; `None` (with `std=None`) keeps raw pixels.
        std: per-channel standard deviation (or one value), in `(0, 1]`.
        batch_size: positive int.
        training: bool; shuffle (and reshuffle every epoch) when True.
        seed: int >= 0, the shuffling seed.
        drop_remainder: bool; drop a last, smaller batch (refused when it
            would leave no batch at all).
        epochs: `(first, stop)`: instead of one pass, the batches of epochs
            `first .. stop - 1` back to back, each epoch in an order drawn
            from `(seed, epoch)` alone. A training run resumed at epoch `k`
            then sees exactly the batches the uninterrupted run saw (pass
            `steps_per_epoch` to `fit`). Implies shuffling.

    Every argument is checked first; a bad one raises a TypeError or
    ValueError that names it (labels outside `0..num_classes - 1` too, which
    `tf.one_hot` would silently turn into all-zero rows).

    Example:

    >>> ds = make_dataset(np.zeros((5, 4, 4, 3), np.uint8), np.array([0, 1, 2, 1, 0]),
    ...                   num_classes=3, mean=0.5, std=0.25, batch_size=2)
    >>> [tuple(x.shape) for x, _ in ds]
    [(2, 4, 4, 3), (2, 4, 4, 3), (1, 4, 4, 3)]
    >>> x, y = next(iter(ds))
    >>> float(x[0, 0, 0, 0]), y.numpy().tolist()
    (-2.0, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> raw = make_dataset(np.full((2, 4, 4, 3), 200, np.uint8), np.array([0, 1]), num_classes=2)
    >>> float(next(iter(raw))[0][0, 0, 0, 0])
    200.0
    """
    images, labels, num_classes, mean, std = _check_arrays(images, labels, num_classes, mean, std)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    training = check_bool("training", training)
    seed = check_int("seed", seed, minimum=0, maximum=2**63 - 1)
    drop_remainder = check_bool("drop_remainder", drop_remainder)
    if drop_remainder and batch_size > len(images):
        raise InvalidValueError(
            f"drop_remainder=True with batch_size {batch_size} and only {len(images)} examples "
            "leaves no batch at all; use a batch_size <= the number of examples or "
            "drop_remainder=False."
        )
    prepare = batch_preparer(num_classes, mean, std, uint8=images.dtype == np.uint8)
    if epochs is not None:
        return _epoch_batches(images, labels, prepare, batch_size, seed, epochs, drop_remainder)
    # Caching the raw uint8 examples (before the float conversion) keeps the
    # cache a quarter of the normalised size.
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).cache()
    if training:
        ds = ds.shuffle(len(images), seed=int(seed), reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size), drop_remainder=drop_remainder)
    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def batch_preparer(num_classes, mean, std, uint8=True):
    """`prepare(images, labels)` for batches: float32 `(x - mean) / std` (`x` in `[0, 1]`) and one-hot labels.

    `mean` and `std` come from `checked_normalization`; uint8 pixels are
    divided by 255, floats are taken as `[0, 1]`.
    """
    # Folding the [0, 1] scaling into the affine map saves one op per pixel.
    multiplier = tf.constant((1 / 255 if uint8 else 1.0) / std, tf.float32)
    offset = tf.constant(mean / std, tf.float32)

    def prepare(x, y):
        x = tf.cast(x, tf.float32) * multiplier - offset
        return x, tf.one_hot(y, num_classes, dtype=tf.float32)

    return prepare


def checked_normalization(mean, std, channels):
    """`(mean, std)` per channel, or the pair that keeps raw `0..255` pixels when both are `None`."""
    if mean is None and std is None:  # x * 255 / 255 - 0
        return np.float32(0.0), np.float32(1 / 255)
    return check_normalization(mean, std, channels)


def _epoch_batches(images, labels, prepare, batch_size, seed, epochs, drop_remainder):
    first, stop = (int(e) for e in epochs)
    if not 0 <= first <= stop:
        raise InvalidValueError(f"epochs must be (first, stop) with 0 <= first <= stop, got {epochs}.")
    images, labels = tf.constant(images), tf.constant(labels)
    count = int(images.shape[0])

    def epoch(index):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count, dtype=tf.int64), seed=tf.stack([tf.constant(int(seed), tf.int64), index]))
        return tf.data.Dataset.from_tensor_slices(order).batch(int(batch_size), drop_remainder=drop_remainder)

    ds = tf.data.Dataset.range(first, stop).flat_map(epoch)
    ds = ds.map(lambda idx: prepare(tf.gather(images, idx), tf.gather(labels, idx)),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def _check_arrays(images, labels, num_classes, mean, std):
    """The arrays and normalisation of `make_dataset`, checked for consistency."""
    if not isinstance(images, np.ndarray):
        images = np.asarray(images)
    if images.ndim != 4:
        raise InvalidValueError(f"images must be an (N, H, W, C) array, got shape {images.shape}.")
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise InvalidTypeError(
            f"images must be uint8 (0..255) or float ([0, 1]), got dtype {images.dtype}."
        )
    if len(images) == 0:
        raise InvalidValueError("The dataset is empty.")
    num_classes = check_num_classes(num_classes)
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise InvalidValueError(
            f"labels must be a 1-D array of integer class indices, got shape {labels.shape} "
            f"and dtype {labels.dtype}."
        )
    if len(labels) != len(images):
        raise InvalidValueError(f"Got {len(images)} images but {len(labels)} labels.")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_classes:
        raise InvalidValueError(
            f"labels must be in 0..{num_classes - 1} for num_classes={num_classes}, got values "
            f"in [{low}, {high}]."
        )
    mean, std = checked_normalization(mean, std, images.shape[-1])
    return images, labels, num_classes, mean, std
