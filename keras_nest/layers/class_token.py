"""A learned class token, prepended to a sequence of tokens (ViT)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_nest")
class ClassToken(keras.layers.Layer):
    """Prepends one learned token along the token axis (`axis=-2`).

    `(..., n, C)` becomes `(..., n + 1, C)`; the token is shared by every
    sample (and every block, for a blocked `(B, T, n, C)` input). NesT has
    no class token; the ViT baseline can use one instead of mean pooling.

    Example:

    >>> tuple(ClassToken()(keras.ops.zeros((2, 1, 16, 8))).shape)
    (2, 1, 17, 8)
    """

    def build(self, input_shape):
        self.token = self.add_weight(
            name="class_token",
            shape=(1,) * (len(input_shape) - 1) + (input_shape[-1],),
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        )

    def call(self, x):
        leading = ops.shape(x)[:-2]
        token = ops.broadcast_to(ops.cast(self.token, x.dtype), (*leading, 1, x.shape[-1]))
        return ops.concatenate([token, x], axis=-2)

    def compute_output_shape(self, input_shape):
        tokens = None if input_shape[-2] is None else input_shape[-2] + 1
        return (*input_shape[:-2], tokens, input_shape[-1])
