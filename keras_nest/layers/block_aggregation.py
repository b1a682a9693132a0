"""Block aggregation: merge each 2x2 group of blocks into one block."""

import keras

from keras_nest.errors import InvalidValueError
from keras_nest.layers._checks import check_int
from keras_nest.layers.block_partition import _pair, blockify, deblockify
from keras_nest.layers.transformer_block import layer_norm


@keras.saving.register_keras_serializable(package="keras_nest")
class BlockAggregation(keras.layers.Layer):
    """NesT's block aggregation (the official `ConvPool`).

    `(B, T, n, C)` on a `gh x gw` grid of `bh x bw` blocks becomes
    `(B, T / 4, n, filters)`: the blocks are put back on the image plane,
    then Conv2D 3x3 ("same", with bias) -> LayerNorm (eps 1e-6) -> max-pool
    3x3 stride 2 with TF "SAME" padding (the extra pad row/column goes at
    the end, filled with -inf), and the half-size plane is cut again into
    blocks of the same `bh x bw` size. Because the 3x3 windows straddle
    block borders, this is where neighbouring blocks exchange information.

    Args:
        filters: int. Output width.
        grid_size: int or `(gh, gw)`. Input block grid; both sides even.
        block_size: int or `(bh, bw)`. Tokens per block side.

    Raises:
        TypeError: `filters` is not an int, or a size not an int or pair.
        ValueError: a value is below 1, or the grid has an odd side.

    Example:

    >>> layer = BlockAggregation(64, grid_size=4, block_size=4)
    >>> tuple(layer(keras.ops.ones((2, 16, 16, 32))).shape)
    (2, 4, 16, 64)
    """

    def __init__(self, filters, grid_size, block_size, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_int("filters", filters, minimum=1)
        self.grid_size = _pair(grid_size, "grid_size")
        self.block_size = _pair(block_size, "block_size")
        if self.grid_size[0] % 2 or self.grid_size[1] % 2:
            raise InvalidValueError(
                f"grid_size must have even sides: block aggregation merges 2x2 groups "
                f"of blocks; a {self.grid_size[0]}x{self.grid_size[1]} grid has an odd side."
            )
        self.conv = keras.layers.Conv2D(
            self.filters,
            3,
            padding="same",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            bias_initializer="zeros",
            name="conv",
            dtype=self.dtype_policy,
        )
        self.norm = layer_norm("norm", dtype=self.dtype_policy)
        self.pool = keras.layers.MaxPooling2D(3, strides=2, padding="same", dtype=self.dtype_policy)

    def build(self, input_shape):
        (gh, gw), (bh, bw) = self.grid_size, self.block_size
        plane = (input_shape[0], gh * bh, gw * bw, input_shape[-1])
        self.conv.build(plane)
        self.norm.build((*plane[:-1], self.filters))

    def call(self, x):
        return self.pool_blocks(self.normalized(x))

    def normalized(self, x):
        """The full-resolution plane after Conv2D and LayerNorm, before pooling.

        `(B, T, n, C)` blocks in, `(B, gh * bh, gw * bw, filters)` out: the
        features of the level below as the next level reads them
        (explanations differentiate here).
        """
        return self.norm(self.conv(deblockify(x, self.grid_size, self.block_size)))

    def pool_blocks(self, plane):
        """Max-pools a `normalized` plane and cuts it into the next level's blocks."""
        return blockify(self.pool(plane), self.block_size)

    def compute_output_shape(self, input_shape):
        gh, gw = self.grid_size
        return (input_shape[0], (gh // 2) * (gw // 2), input_shape[2], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"filters": self.filters, "grid_size": self.grid_size, "block_size": self.block_size}
        )
        return config
