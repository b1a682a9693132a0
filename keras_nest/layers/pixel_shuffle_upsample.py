"""Pixel-shuffle upsampling: NesT's block de-aggregation for generators."""

import keras
from keras import ops

from keras_nest.layers._checks import check_bool, check_positive_int


@keras.saving.register_keras_serializable(package="keras_nest")
class PixelShuffleUpsample(keras.layers.Layer):
    """Projects to `scale**2 * filters` channels, then depth-to-space.

    `(B, H, W, C)` becomes `(B, scale * H, scale * W, filters)`. Each output
    pixel of a `scale x scale` cell reads its own slice of the projected
    channels (`keras.ops.depth_to_space` order), so the upsampling is learned
    and free of checkerboard overlap. In the NesT generator, un-blockify ->
    this layer -> blockify with the same block size turns one block into
    four.

    Args:
        filters: int. Output width `C'`.
        scale: int. Upsampling factor. Defaults to 2.
        use_bias: bool. Bias on the projection. Defaults to `True`.

    Raises:
        TypeError: `filters` or `scale` is not an int, `use_bias` not a bool.
        ValueError: `filters` or `scale` is below 1.

    Example:

    >>> up = PixelShuffleUpsample(16)
    >>> tuple(up(keras.ops.ones((2, 4, 4, 32))).shape)
    (2, 8, 8, 16)
    """

    def __init__(self, filters, scale=2, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.scale = check_positive_int("scale", scale)
        self.use_bias = check_bool("use_bias", use_bias)
        self.projection = keras.layers.Dense(
            self.scale**2 * self.filters,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="projection",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        self.projection.build(input_shape)

    def call(self, x):
        return ops.depth_to_space(self.projection(x), self.scale)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        scale = lambda n: None if n is None else n * self.scale  # noqa: E731
        return (batch, scale(height), scale(width), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "scale": self.scale, "use_bias": self.use_bias})
        return config
