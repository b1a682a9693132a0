"""`make_dataset`: numpy images and labels to a batched, normalised `tf.data.Dataset`."""

import numpy as np
import tensorflow as tf


def make_dataset(images, labels, num_classes, mean, std, batch_size=32, training=False, seed=0,
                 drop_remainder=False):
    """Batches of `(normalised float32 NHWC images, one-hot float32 labels)`.

    The raw examples are cached; in training mode they are reshuffled every
    epoch (each new iteration over the data set) with a full-size buffer,
    seeded by `seed`, so two data sets built with the same seed give the same
    sequence of epochs. (TensorFlow combines `seed` with its global seed, set
    e.g. by `keras.utils.set_random_seed`; keep that fixed too.) Batches are
    normalised as `(x - mean) / std` with `x` in `[0, 1]` (uint8 images are
    divided by 255), and prefetched.

    Args:
        images: `(N, H, W, C)` uint8 (`0..255`) or float (`[0, 1]`) array.
        labels: `(N,)` integer class indices, already checked.
        num_classes: int, depth of the one-hot labels.
        mean: per-channel mean (or one value for all), `[0, 1]` units.
        std: per-channel standard deviation (or one value).
        batch_size: positive int.
        training: shuffle (and reshuffle every epoch) when true.
        seed: int, the shuffling seed.
        drop_remainder: drop a last, smaller batch.

    Example:

    >>> ds = make_dataset(np.zeros((5, 4, 4, 3), np.uint8), np.array([0, 1, 2, 1, 0]),
    ...                   num_classes=3, mean=0.5, std=0.25, batch_size=2)
    >>> [tuple(x.shape) for x, _ in ds]
    [(2, 4, 4, 3), (2, 4, 4, 3), (1, 4, 4, 3)]
    >>> x, y = next(iter(ds))
    >>> float(x[0, 0, 0, 0]), y.numpy().tolist()
    (-2.0, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    if len(images) == 0:
        raise ValueError("The dataset is empty.")
    channels = images.shape[-1]
    mean = np.broadcast_to(np.asarray(mean, np.float32), (channels,))
    std = np.broadcast_to(np.asarray(std, np.float32), (channels,))
    if np.any(std <= 0):
        raise ValueError(f"std must be positive, got {std.tolist()}.")
    scale = 1 / 255 if images.dtype == np.uint8 else 1.0
    # Folding the [0, 1] scaling into the affine map saves one op per pixel.
    multiplier = tf.constant(scale / std, tf.float32)
    offset = tf.constant(mean / std, tf.float32)

    def prepare(x, y):
        x = tf.cast(x, tf.float32) * multiplier - offset
        return x, tf.one_hot(y, num_classes, dtype=tf.float32)

    # Caching the raw uint8 examples (before the float conversion) keeps the
    # cache a quarter of the normalised size.
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).cache()
    if training:
        ds = ds.shuffle(len(images), seed=int(seed), reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size), drop_remainder=drop_remainder)
    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
