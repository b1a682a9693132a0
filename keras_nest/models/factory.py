"""`create_model` and `list_models`: named configs to Keras models."""

import inspect

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


def preset_config(name, **overrides):
    """The model class and full config of a named model, overrides applied."""
    if name not in _REGISTRY:
        raise ValueError(f"Unknown model {name!r}. Available models: {', '.join(list_models())}.")
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
    if config.get("input_shape") is not None and len(config["input_shape"]) == 2:
        config["input_shape"] = (*config["input_shape"], 3)
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

    Example:

    >>> model = keras_nest.create_model("nest_tiny_cifar", num_classes=100)
    >>> model.count_params()
    6024100
    """
    model_class, config = preset_config(name, **overrides)
    model = model_class(name=overrides.get("name", name), **config)
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

    Example:

    >>> g = keras_nest.create_generator("nest_gan_tiny", latent_dim=16)
    >>> tuple(g(keras.ops.zeros((2, 16))).shape)
    (2, 16, 16, 3)
    """
    if name not in GENERATOR_PRESETS:
        raise ValueError(f"Unknown generator {name!r}. Available generators: {', '.join(list_generators())}.")
    preset = GENERATOR_PRESETS[name]
    model_class, config = _apply_overrides(name, preset["class"], preset, overrides)
    return model_class(name=overrides.get("name", name), **config)


def create_discriminator(image_size, channels=3, **overrides):
    """The SAGAN-style ResNet discriminator for `image_size` (16, 32 or 64) images.

    Example:

    >>> tuple(keras_nest.create_discriminator(16)(keras.ops.zeros((2, 16, 16, 3))).shape)
    (2, 1)
    """
    config = dict(discriminator_config(int(image_size), channels), **overrides)
    return ResnetDiscriminator(name=overrides.pop("name", f"discriminator_{image_size}"), **config)
