"""Patch embedding: a strided convolution from pixels to tokens."""

import keras

from keras_nest.layers._checks import check_int


@keras.saving.register_keras_serializable(package="keras_nest")
class PatchEmbedding(keras.layers.Layer):
    """Maps non-overlapping `p x p` pixel patches to `embed_dim` features.

    A Conv2D with kernel = stride = `patch_size` and a bias: `(B, H, W, 3)`
    becomes `(B, H / p, W / p, embed_dim)`. With `patch_size=1` (NesT's
    CIFAR models) every pixel is a token. No norm follows, as in NesT.

    Args:
        embed_dim: int. Output width.
        patch_size: int. Patch side in pixels.

    Raises:
        TypeError: `embed_dim` or `patch_size` is not an int.
        ValueError: either is below 1; at build, an image side that is not
            a multiple of `patch_size`.

    Example:

    >>> embed = PatchEmbedding(96, patch_size=4)
    >>> tuple(embed(keras.ops.ones((1, 32, 32, 3))).shape)
    (1, 8, 8, 96)
    """

    def __init__(self, embed_dim, patch_size, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = check_int("embed_dim", embed_dim, minimum=1)
        self.patch_size = check_int("patch_size", patch_size, minimum=1)
        self.projection = keras.layers.Conv2D(
            self.embed_dim,
            self.patch_size,
            strides=self.patch_size,
            padding="valid",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            bias_initializer="zeros",
            name="projection",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        p = self.patch_size
        if (height is not None and height % p) or (width is not None and width % p):
            raise ValueError(
                f"Image size {height}x{width} is not a multiple of the patch size {p}."
            )
        self.projection.build(input_shape)

    def call(self, x):
        return self.projection(x)

    def compute_output_shape(self, input_shape):
        return self.projection.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"embed_dim": self.embed_dim, "patch_size": self.patch_size})
        return config
