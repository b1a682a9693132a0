"""Learned position embedding with one table per block."""

import keras
import numpy as np
from keras import ops

from keras_nest.errors import InvalidValueError


@keras.saving.register_keras_serializable(package="keras_nest")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding of the input's full non-batch shape.

    For NesT the input is `(B, T, n, C)`, so the weight is `(1, T, n, C)`:
    every block has its own table (as in the official code). The weight is
    named `pos_embedding` so optimizers can exclude it from weight decay by
    name, as the NesT recipe does.

    Args:
        initializer: initializer of the table. Defaults to
            `TruncatedNormal(stddev=0.02)`.

    Raises:
        ValueError: Keras cannot interpret `initializer`.

    Example:

    >>> layer = PositionEmbedding()
    >>> tuple(layer(keras.ops.zeros((2, 4, 16, 8))).shape)
    (2, 4, 16, 8)
    >>> tuple(layer.embedding.shape)
    (1, 4, 16, 8)
    """

    def __init__(self, initializer=None, **kwargs):
        super().__init__(**kwargs)
        if initializer is None:
            initializer = keras.initializers.TruncatedNormal(stddev=0.02)
        try:
            self.initializer = keras.initializers.get(initializer)
        except (ValueError, TypeError):
            raise InvalidValueError(
                "initializer must be None, a Keras initializer or its name (e.g. "
                f"'zeros', 'truncated_normal'); got {initializer!r}."
            ) from None

    def build(self, input_shape):
        self.embedding = self.add_weight(
            name="pos_embedding",
            shape=(1, *input_shape[1:]),
            initializer=self.initializer,
        )

    def call(self, x):
        return x + ops.cast(self.embedding, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["initializer"] = keras.initializers.serialize(self.initializer)
        return config


def resize_position_embedding(embedding, old_block_size, new_block_size, method="bilinear"):
    """Resizes a `(1, T, n, C)` per-block table to a new block size.

    Each block's table is a `bh x bw` grid of vectors; every block is
    resized on its own (the number of blocks is unchanged), with
    half-pixel-centre interpolation (`keras.ops.image.resize`, no
    antialiasing). This follows the official code, which zooms each block's
    grid separately, rather than resizing the whole level as one image.

    Args:
        embedding: array `(1, T, bh * bw, C)`.
        old_block_size: `(bh, bw)` of `embedding`.
        new_block_size: `(bh', bw')` wanted.
        method: `"bilinear"` (default) or `"bicubic"`.

    Returns:
        A numpy array `(1, T, bh' * bw', C)`.
    """
    embedding = np.asarray(embedding)
    (bh, bw), (nh, nw) = tuple(old_block_size), tuple(new_block_size)
    _, blocks, tokens, channels = embedding.shape
    if tokens != bh * bw:
        raise InvalidValueError(
            f"Embedding has {tokens} tokens per block; block size {bh}x{bw} needs {bh * bw}."
        )
    if (bh, bw) == (nh, nw):
        return embedding
    grids = embedding.reshape(blocks, bh, bw, channels).astype("float32")
    resized = ops.image.resize(grids, (nh, nw), interpolation=method, antialias=False)
    return ops.convert_to_numpy(resized).reshape(1, blocks, nh * nw, channels)
