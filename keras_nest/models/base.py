"""What every keras_nest model shares: config round-trips, dtypes, the head."""

import keras
from keras import ops

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.presets import IMAGENET_MEAN, IMAGENET_STD
from keras_nest.validation import check_bool, check_float, check_normalization


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


class ClassifierModel(ConfiguredModel):
    """A `ConfiguredModel` that reads images: optional preprocessing, class names.

    With `include_preprocessing=True` the graph starts with `preprocessing`,
    a `keras.layers.Rescaling` named `preprocessing` that maps raw pixels
    in `0..255` to `(x / 255 - pixel_mean) / pixel_std`, so the model (and
    every export of it) takes images as they come. Without it, `preprocessing`
    is `None` and inputs are the normalised images (as before).
    """

    preprocessing = None

    @property
    def class_names(self):
        """The class names stored with the model (a tuple), or `None`."""
        names = self.model_config.get("class_names")
        return None if names is None else tuple(names)

    @property
    def includes_preprocessing(self):
        """Whether the model takes raw `0..255` pixels (its `preprocessing` layer normalises them)."""
        return bool(self.model_config.get("include_preprocessing"))

    @property
    def crop_pct(self):
        """The evaluation crop images of other sizes get before this model (1: resize the whole image)."""
        return self.model_config.get("crop_pct", 1.0)

    def normalize_inputs(self, images):
        """The model's inputs as its first layer after preprocessing sees them."""
        return images if self.preprocessing is None else self.preprocessing(images)

    def variable_depths(self):
        """`{variable path: depth}`: 0 for the stem, 1.. for the transformer blocks, the most for the top.

        The layer index of layer-wise learning-rate decay (BEiT, timm's
        `group_matcher`): position embeddings and the block aggregation into
        a level count with that level's first block; the final norm and the
        head sit one above the last block.
        """
        return {variable.path: depth for depth, group in enumerate(self._depth_groups())
                for part in group if part is not None for variable in getattr(part, "weights", [part])}

    def _depth_groups(self):
        """Parts (layers or variables) from input to output, one list per depth."""
        raise NotImplementedError


def checked_preprocessing(include_preprocessing, pixel_mean, pixel_std, channels, crop_pct=1.0):
    """The preprocessing entries of a classifier's config, checked.

    Returns a dict with `include_preprocessing` (bool), `pixel_mean`,
    `pixel_std` (lists of `channels` floats in `[0, 1]` pixel units, ImageNet's
    by default for RGB; `None` without preprocessing) and `crop_pct` (how
    evaluation brought images of other sizes to the input: resize to
    `size / crop_pct`, centre crop; 1 resizes the whole image. Not applied by
    the model: `keras-nest predict` and `evaluate` read it).

    Raises:
        ValueError: mean or std out of range or of the wrong length, or given
            without `include_preprocessing=True`.
    """
    include = check_bool("include_preprocessing", include_preprocessing)
    crop_pct = check_float("crop_pct", crop_pct, 0.0, 1.0, min_inclusive=False)
    if not include:
        if pixel_mean is not None or pixel_std is not None:
            raise InvalidValueError("pixel_mean and pixel_std configure the preprocessing layer; pass "
                                    "include_preprocessing=True with them.")
        return {"include_preprocessing": False, "pixel_mean": None, "pixel_std": None, "crop_pct": crop_pct}
    if channels != 3 and (pixel_mean is None or pixel_std is None):
        raise InvalidValueError(f"The default pixel_mean/pixel_std are ImageNet's RGB statistics; pass both "
                                f"for {channels}-channel images.")
    mean, std = check_normalization(IMAGENET_MEAN if pixel_mean is None else pixel_mean,
                                    IMAGENET_STD if pixel_std is None else pixel_std, channels,
                                    names=("pixel_mean", "pixel_std"))
    as_list = lambda values: [round(float(v), 6) for v in values]  # noqa: E731  (readable configs)
    return {"include_preprocessing": True, "pixel_mean": as_list(mean), "pixel_std": as_list(std),
            "crop_pct": crop_pct}


def preprocessing_layer(config):
    """The layer for a config from `checked_preprocessing`, or `None`.

    A `keras.layers.Rescaling` with per-channel `scale = 1 / (255 std)` and
    `offset = -mean / std`: its constants are built while tracing, so every
    exporter sees them as constants (`Normalization` keeps captured tensors,
    which the ONNX converter turns into extra graph inputs). float32 whatever
    the model's policy: pixel values up to 255 would lose their last bits in
    bfloat16 before the offset is added.
    """
    if not config["include_preprocessing"]:
        return None
    mean, std = config["pixel_mean"], config["pixel_std"]
    return keras.layers.Rescaling(
        scale=[1.0 / (255.0 * s) for s in std],
        offset=[-m / s for m, s in zip(mean, std)],
        name="preprocessing",
        dtype="float32",
    )


def check_class_names(class_names, num_classes):
    """`class_names` as a list of `num_classes` distinct strings, or `None`.

    Example:

    >>> check_class_names(("cat", "dog"), 2)
    ['cat', 'dog']
    >>> check_class_names(["cat"], 2)
    Traceback (most recent call last):
        ...
    keras_nest.errors.InvalidValueError: class_names must list one name per class (2), got 1: ['cat'].
    """
    if class_names is None:
        return None
    if isinstance(class_names, (str, bytes)) or not hasattr(class_names, "__len__"):
        raise InvalidTypeError(f"class_names must be a list of strings, got {class_names!r}.")
    names = list(class_names)
    if not all(isinstance(n, str) for n in names):
        raise InvalidTypeError(f"class_names must be a list of strings, got {names!r}.")
    if num_classes is None or len(names) != num_classes:
        raise InvalidValueError(f"class_names must list one name per class ({num_classes}), got {len(names)}: "
                                f"{names[:5]}{' ...' if len(names) > 5 else ''}.")
    if len(set(names)) != len(names):
        raise InvalidValueError(f"class_names must be distinct, got {names[:5]}{' ...' if len(names) > 5 else ''}.")
    return names


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
