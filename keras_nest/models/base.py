"""What every keras_nest model shares: config round-trips, dtypes, the head."""

import keras
from keras import ops

from keras_nest.errors import InvalidValueError


class ConfiguredModel(keras.Model):
    """A functional model rebuilt from its constructor arguments.

    Subclasses build their graph in `__init__` and store the arguments in
    `self.model_config`; saving writes those, loading calls the constructor
    again (the keras-hub Backbone pattern), so `.keras` files stay small
    and readable.
    """

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **self.model_config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        trainable = config.pop("trainable", True)
        model = cls(**config)
        model.trainable = trainable
        return model


class GeneratorModel(ConfiguredModel):
    """A `ConfiguredModel` from noise `(B, latent_dim)` to square images."""

    @property
    def latent_dim(self):
        return self.model_config["latent_dim"]

    @property
    def image_size(self):
        return self.model_config["image_size"]


def resolve_dtypes(dtype, head_dtype):
    """Returns `(policy name or None, policy, head dtype)`.

    Under a mixed policy the head computes in float32 so logits (and the
    loss) stay float32, as keras-hub does with `head_dtype`.

    Raises:
        ValueError: Keras does not know `dtype` or `head_dtype`.
    """
    policy = _dtype_policy("dtype", dtype) if dtype is not None else keras.config.dtype_policy()
    if head_dtype is not None:
        _dtype_policy("head_dtype", head_dtype)
    if head_dtype is None:
        head_dtype = "float32" if policy.compute_dtype != policy.variable_dtype else policy
    return (None if dtype is None else policy.name), policy, head_dtype


def _dtype_policy(name, value):
    try:
        return keras.dtype_policies.get(value)
    except (ValueError, TypeError):
        raise InvalidValueError(
            f"{name} must be None, a dtype policy or its name (e.g. 'float32', "
            f"'mixed_bfloat16'); got {value!r}."
        ) from None


def classification_head(num_classes, activation, dtype):
    """The Dense classifier layer, named `predictions` as in keras.applications."""
    return keras.layers.Dense(
        num_classes,
        activation=activation,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        bias_initializer="zeros",
        name="predictions",
        dtype=dtype,
    )


def head_logits(head, pooled):
    """Logits of the Dense `head` before its activation, in float32."""
    kernel = ops.cast(head.kernel, "float32")
    return ops.matmul(ops.cast(pooled, "float32"), kernel) + ops.cast(head.bias, "float32")
