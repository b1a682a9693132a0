"""`create_model` and `list_models`: named configs to Keras models."""

import inspect
import os

from keras_nest.layers._checks import check_int
from keras_nest.models.gan_presets import GENERATOR_PRESETS, ResnetDiscriminator, discriminator_config
from keras_nest.models.nest import NestModel
from keras_nest.models.nest_presets import NEST_PRESETS
from keras_nest.models.vit import VIT_PRESETS, VitModel
from keras_nest.models.weights import load_weights

_REGISTRY = {
    **{name: (NestModel, preset) for name, preset in NEST_PRESETS.items()},
    **{name: (VitModel, preset) for name, preset in VIT_PRESETS.items()},
}


def list_models(family=None):
    """Names accepted by `create_model`, sorted; `family` is "nest" or "vit"."""
    return sorted(n for n in _REGISTRY if family is None or n.startswith(f"{family}_"))


def _check_name(kind, name, names):
    """`name` if it is one of `names`; TypeError/ValueError listing them otherwise."""
    if not isinstance(name, str):
        raise TypeError(
            f"{kind} name must be a string, one of {', '.join(names)}; got {name!r} "
            f"({type(name).__name__})."
        )
    if name not in names:
        raise ValueError(f"Unknown {kind} {name!r}. Available {kind}s: {', '.join(names)}.")
    return name


def _check_model_name(overrides, default):
    """The Keras name of the new model: `overrides["name"]` (a string) or `default`."""
    name = overrides.get("name", default)
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r} ({type(name).__name__}).")
    if not name or "/" in name:
        raise ValueError(f"name must be a non-empty string without '/', got {name!r}.")
    return name


def preset_config(name, **overrides):
    """The model class and full config of a named model, overrides applied.

    Raises:
        TypeError: `name` is not a string.
        ValueError: `name` is unknown (the message lists the names), or an
            override is not an argument of the model.
    """
    _check_name("model", name, list_models())
    return _apply_overrides(name, *_REGISTRY[name], overrides)


def _apply_overrides(name, model_class, preset, overrides):
    if "classes" in overrides:  # keras.applications spelling
        classes = overrides.pop("classes")
        if overrides.get("num_classes", classes) != classes:
            raise ValueError("Give either `classes` or `num_classes`, not two different values.")
        overrides["num_classes"] = classes
    valid = set(inspect.signature(model_class.__init__).parameters) - {"self", "kwargs"}
    unknown = sorted(set(overrides) - valid - {"name"})
    if unknown:
        raise ValueError(
            f"Unknown argument(s) {unknown} for {name!r}. Valid: {', '.join(sorted(valid))}."
        )
    config = dict(preset["config"])
    config.update({k: v for k, v in overrides.items() if k != "name"})
    shape = config.get("input_shape")
    if isinstance(shape, (tuple, list)) and len(shape) == 2:  # (H, W): RGB
        config["input_shape"] = (*shape, 3)
    return model_class, config


def create_model(name, weights=None, **overrides):
    """Builds a named NesT (or ViT baseline) as a functional `keras.Model`.

    Args:
        name: one of `list_models()`.
        weights: `None`, or a `.keras` / `.weights.h5` file of the same
            architecture, possibly at another input size: position
            embeddings are then resized (see `transfer_weights`). For timm
            checkpoints use `keras_nest.convert.load_timm_weights`.
        **overrides: any `NestModel` argument, e.g. `num_classes` (or
            `classes`), `input_shape`, `include_top`, `pooling`,
            `classifier_activation`, `drop_path_rate`, `attention`,
            `gelu_approximate`, `feature_pyramid`, `dtype`, `name`.

    Raises:
        TypeError: `name` is not a string, or an override has the wrong
            type (e.g. `input_shape=(16.5, 16, 3)`, `include_top="False"`).
        ValueError: `name` is unknown (the message lists the names), an
            override is not an argument of the model, or its value is out
            of range or inconsistent (e.g. `input_shape=(16, 16, 0)`,
            `num_heads=(-2, 3, 4)`); see `NestModel` and `VitModel`.

    Example:

    >>> model = keras_nest.create_model("nest_tiny_cifar", num_classes=100)
    >>> model.count_params()
    6024100
    """
    model_class, config = preset_config(name, **overrides)
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights must be None or a file path, got {weights!r}.")
    model = model_class(name=_check_model_name(overrides, name), **config)
    if weights is not None:
        load_weights(model, weights, lambda **kw: model_class(name=model.name, **dict(config, **kw)))
    return model


def list_generators(family=None):
    """Names accepted by `create_generator`; `family` is "nest" or "sagan"."""
    return sorted(n for n in GENERATOR_PRESETS if family is None or n.startswith(f"{family}_"))


def create_generator(name, **overrides):
    """Builds a named image generator: `(B, latent_dim)` noise to `(B, S, S, 3)` in [-1, 1].

    Args:
        name: one of `list_generators()` (`nest_gan_*` or the `sagan_*` baselines).
        **overrides: constructor arguments, e.g. `latent_dim`, `channels`.

    Raises:
        TypeError: `name` is not a string, or an override has the wrong type.
        ValueError: `name` is unknown (the message lists the names), an
            override is not an argument of the generator, or its value is
            out of range (e.g. `latent_dim=0`, `channels=0`); see
            `NestGenerator` and `SaganGenerator`.

    Example:

    >>> g = keras_nest.create_generator("nest_gan_tiny", latent_dim=16)
    >>> tuple(g(keras.ops.zeros((2, 16))).shape)
    (2, 16, 16, 3)
    """
    _check_name("generator", name, list_generators())
    preset = GENERATOR_PRESETS[name]
    model_class, config = _apply_overrides(name, preset["class"], preset, overrides)
    return model_class(name=_check_model_name(overrides, name), **config)


def create_discriminator(image_size, channels=3, **overrides):
    """The SAGAN-style ResNet discriminator for `image_size` (16, 32 or 64) images.

    Args:
        image_size: int. 16, 32 or 64.
        channels: int >= 1. Image channels.
        **overrides: other `ResnetDiscriminator` arguments (`widths`,
            `downsample`, `attention_resolution`, `dtype`, `name`).

    Raises:
        TypeError: `image_size` or `channels` is not an int (e.g. 16.5).
        ValueError: no discriminator for `image_size` (the message lists
            the sizes), `channels < 1`, or an unknown or bad override.

    Example:

    >>> tuple(keras_nest.create_discriminator(16)(keras.ops.zeros((2, 16, 16, 3))).shape)
    (2, 1)
    """
    image_size = check_int("image_size", image_size)
    channels = check_int("channels", channels, minimum=1)
    valid = set(inspect.signature(ResnetDiscriminator.__init__).parameters) - {"self", "kwargs"}
    unknown = sorted(set(overrides) - (valid - {"image_size", "channels"}) - {"name"})
    if unknown:
        raise ValueError(
            f"Unknown argument(s) {unknown} for create_discriminator. Valid: image_size, channels, "
            f"{', '.join(sorted(valid - {'image_size', 'channels'}))}, name."
        )
    name = _check_model_name(overrides, f"discriminator_{image_size}")
    config = dict(discriminator_config(image_size, channels))
    config.update({k: v for k, v in overrides.items() if k != "name"})
    return ResnetDiscriminator(name=name, **config)
