"""DropPath (stochastic depth), which core Keras does not ship."""

import keras
from keras import ops

from keras_nest.layers._checks import check_rate, check_seed


@keras.saving.register_keras_serializable(package="keras_nest")
class DropPath(keras.layers.Layer):
    """Drops the whole residual branch for random samples while training.

    Each sample is kept with probability `1 - rate`; kept samples are
    scaled by `1 / (1 - rate)` so the expectation is unchanged. At inference
    the layer is the identity. Randomness comes from a `SeedGenerator`, so
    the layer is reproducible under a seed and traceable under JAX.

    Args:
        rate: float in `[0, 1)`. Probability of dropping a sample's branch.
        seed: int or `None`. Seed of the layer's generator.

    Raises:
        TypeError: `rate` is not a number or `seed` not an int.
        ValueError: `rate` is outside `[0, 1)`.

    Example:

    >>> layer = DropPath(0.5, seed=1)
    >>> x = keras.ops.ones((8, 3))
    >>> bool(keras.ops.all(layer(x, training=False) == x))
    True
    >>> sorted(set(keras.ops.convert_to_numpy(layer(x, training=True)[:, 0]).tolist())) in ([0.0, 2.0], [0.0], [2.0])
    True
    """

    def __init__(self, rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("rate", rate)
        self.seed = check_seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, x, training=None):
        if not training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        noise = keras.random.uniform(shape, seed=self.seed_generator, dtype=x.dtype)
        mask = ops.floor(keep + noise)
        return x * (mask / keep)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
