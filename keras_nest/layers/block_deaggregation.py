"""Block de-aggregation: one block becomes four (NesT's generator)."""

import keras

from keras_nest.layers._checks import check_int
from keras_nest.layers.block_partition import _pair, blockify, deblockify
from keras_nest.layers.pixel_shuffle_upsample import PixelShuffleUpsample


@keras.saving.register_keras_serializable(package="keras_nest")
class BlockDeaggregation(keras.layers.Layer):
    """The generator's inverse of `BlockAggregation`.

    `(B, T, n, C)` on a `gh x gw` grid of `bh x bw` blocks is put back on the
    image plane, doubled in both directions by `PixelShuffleUpsample` (a
    learned projection to `4 * filters` channels, then depth-to-space), and
    cut again into blocks of the same size: `(B, 4 T, n, filters)`, so every
    block becomes its four children of the next (finer) level.

    Args:
        filters: int. Output width.
        grid_size: int or `(gh, gw)`. Input block grid.
        block_size: int or `(bh, bw)`. Tokens per block side.

    Raises:
        TypeError: `filters` is not an int, or a size not an int or pair.
        ValueError: a value is below 1.

    Example:

    >>> layer = BlockDeaggregation(32, grid_size=1, block_size=4)
    >>> tuple(layer(keras.ops.ones((2, 1, 16, 64))).shape)
    (2, 4, 16, 32)
    """

    def __init__(self, filters, grid_size, block_size, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_int("filters", filters, minimum=1)
        self.grid_size = _pair(grid_size, "grid_size")
        self.block_size = _pair(block_size, "block_size")
        self.upsample = PixelShuffleUpsample(self.filters, 2, name="upsample", dtype=self.dtype_policy)

    def build(self, input_shape):
        (gh, gw), (bh, bw) = self.grid_size, self.block_size
        self.upsample.build((input_shape[0], gh * bh, gw * bw, input_shape[-1]))

    def call(self, x):
        plane = self.upsample(deblockify(x, self.grid_size, self.block_size))
        return blockify(plane, self.block_size)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 4 * input_shape[1], input_shape[2], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"filters": self.filters, "grid_size": self.grid_size, "block_size": self.block_size}
        )
        return config
