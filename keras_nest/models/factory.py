"""`create_model`, `create_generator`, `create_discriminator`: presets to Keras models.

The presets themselves (configs, parameter counts, descriptions) live in
`keras_nest.presets`, one `Preset` schema for every kind; this module only
resolves a preset's `class_name` to its class and applies overrides.
"""

import inspect

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.layers._checks import check_int
from keras_nest.models.nest import NestModel
from keras_nest.models.nest_generator import NestGenerator
from keras_nest.models.pretrained import fetch_weights, published_record, weights_config
from keras_nest.models.sagan import ResnetDiscriminator, SaganGenerator
from keras_nest.models.vit import VitModel
from keras_nest.models.weights import load_weights
from keras_nest.presets import get_preset, list_presets

_CLASSES = {cls.__name__: cls for cls in (NestModel, VitModel, NestGenerator, SaganGenerator, ResnetDiscriminator)}


def list_models(family=None):
    """Names accepted by `create_model`, sorted; `family` is "nest" or "vit"."""
    return [p.name for p in list_presets("classifier", family)]


def _check_model_name(overrides, default):
    """The Keras name of the new model: `overrides["name"]` (a string) or `default`."""
    name = overrides.get("name", default)
    if not isinstance(name, str):
        raise InvalidTypeError(f"name must be a string, got {name!r} ({type(name).__name__}).")
    if not name or "/" in name:
        raise InvalidValueError(f"name must be a non-empty string without '/', got {name!r}.")
    return name


def preset_config(preset, /, **overrides):
    """The model class and full config of a named model, overrides applied.

    `preset` is positional, so `name=` among the overrides is the Keras
    name of the model (not part of the config).

    Raises:
        TypeError: `preset` is not a string.
        ValueError: `preset` is unknown (the message lists the names), or an
            override is not an argument of the model.
    """
    return _apply_overrides(get_preset(preset, "classifier"), overrides)


def _apply_overrides(preset, overrides):
    """The class of `preset` and its config with `overrides` (not `name`) applied."""
    name, model_class = preset.name, _CLASSES[preset.class_name]
    if "classes" in overrides:  # keras.applications spelling
        classes = overrides.pop("classes")
        if overrides.get("num_classes", classes) != classes:
            raise InvalidValueError("Give either `classes` or `num_classes`, not two different values.")
        overrides["num_classes"] = classes
    valid = set(inspect.signature(model_class.__init__).parameters) - {"self", "kwargs"}
    unknown = sorted(set(overrides) - valid - {"name"})
    if unknown:
        raise InvalidValueError(
            f"Unknown argument(s) {unknown} for {name!r}. Valid: {', '.join(sorted(valid))}."
        )
    config = dict(preset.config)
    config.update({k: v for k, v in overrides.items() if k != "name"})
    shape = config.get("input_shape")
    if isinstance(shape, (tuple, list)) and len(shape) == 2:  # (H, W): RGB
        config["input_shape"] = (*shape, 3)
    return model_class, config


def create_model(preset, /, weights=None, **overrides):
    """Builds a named NesT (or ViT baseline) as a functional `keras.Model`, optionally with weights.

    Args:
        preset: one of `list_models()` (positional only).
        weights: `None` (random initialisation), or:
            - `"imagenet"` for `nest_{tiny,small,base}_imagenet`: the
              official ImageNet-1k weights as timm publishes them on the
              Hugging Face hub (`timm/nest_*_jx.goog_in1k`), downloaded
              once into the hub cache and checked by SHA-256; the model
              then takes raw `0..255` RGB pixels (ImageNet mean/std inside),
              names the 1,000 ImageNet classes and evaluates with crop 0.875;
            - `"hf://ORG/REPO"` (its `model.safetensors`, timm layout) or
              `"hf://ORG/REPO/FILE"`;
            - a path: a timm checkpoint (`.safetensors`, `.pth`, `.pt`,
              `.bin`) or a keras_nest `.keras` / `.weights.h5` file.
            Fine-tuning: every tensor that fits is kept, position embeddings
            are resized per block when `input_shape` changes the blocks, and
            given `num_classes=` (or `classes=`) other than the weights'
            class count, the head is freshly initialised; without it, a
            head that does not fit raises. See `keras_nest.models.pretrained`.
        **overrides: any `NestModel` argument, e.g. `num_classes` (or
            `classes`), `input_shape`, `include_top`, `pooling`,
            `classifier_activation`, `drop_path_rate`, `attention`,
            `gelu_approximate`, `feature_pyramid`, `include_preprocessing`,
            `dtype`, `name` (the Keras name of the model; default: the
            preset name). They win over what the weights bring.

    Raises:
        TypeError: `preset` is not a string, or an override has the wrong
            type (e.g. `input_shape=(16.5, 16, 3)`, `include_top="False"`).
        ValueError: `preset` is unknown (the message lists the names), an
            override is not an argument of the model, or its value is out
            of range or inconsistent (e.g. `input_shape=(16, 16, 0)`,
            `num_heads=(-2, 3, 4)`); see `NestModel` and `VitModel`. Weights
            whose tensors do not fit (the message names the tensor and
            what to change).
        keras_nest.errors.WeightsNotFoundError: hub weights neither cached nor
            downloadable (the message says how to place the file by hand).
        keras_nest.errors.ChecksumMismatchError: a downloaded file is not the
            published one.

    Example:

    >>> model = keras_nest.create_model("nest_tiny_cifar", num_classes=100)
    >>> model.count_params()
    6024100
    """
    spec = get_preset(preset, "classifier")
    if weights is not None:
        overrides = _with_weights_config(spec, weights, overrides)
    model_class, config = _apply_overrides(spec, overrides)
    model = model_class(name=_check_model_name(overrides, preset), **config)
    if weights is not None:
        make_model = lambda **kw: model_class(name=model.name, **dict(config, **kw))  # noqa: E731
        # A new head only when asked for one: a class count given that differs from the weights'.
        new_head = "num_classes" in overrides or "classes" in overrides
        load_weights(model, fetch_weights(spec, weights), make_model, new_head=new_head)
    return model


def _with_weights_config(preset, weights, overrides):
    """`overrides` on top of the constructor arguments `weights` brings (and its class names)."""
    carried = weights_config(preset, weights)
    if overrides.get("include_preprocessing") is False:
        carried = {k: v for k, v in carried.items() if k not in ("pixel_mean", "pixel_std")}
    merged = {**carried, **overrides}
    record = published_record(preset, weights)
    num_classes = merged.get("num_classes", merged.get("classes", preset.config.get("num_classes")))
    if record is not None and record.labels == "imagenet" and num_classes == 1000:
        from keras_nest.imagenet_classes import imagenet_class_names

        merged.setdefault("class_names", list(imagenet_class_names()))
    return merged


def list_generators(family=None):
    """Names accepted by `create_generator`; `family` is "nest" or "sagan"."""
    return [p.name for p in list_presets("generator", family)]


def create_generator(preset, /, **overrides):
    """Builds a named image generator: `(B, latent_dim)` noise to `(B, S, S, 3)` in [-1, 1].

    Args:
        preset: one of `list_generators()` (`nest_gan_*` or the `sagan_*`
            baselines; positional only).
        **overrides: constructor arguments, e.g. `latent_dim`, `channels`,
            and `name` (the Keras name; default: the preset name).

    Raises:
        TypeError: `preset` is not a string, or an override has the wrong type.
        ValueError: `preset` is unknown (the message lists the names), an
            override is not an argument of the generator, or its value is
            out of range (e.g. `latent_dim=0`, `channels=0`); see
            `NestGenerator` and `SaganGenerator`.

    Example:

    >>> g = keras_nest.create_generator("nest_gan_tiny", latent_dim=16)
    >>> tuple(g(keras.ops.zeros((2, 16))).shape)
    (2, 16, 16, 3)
    """
    model_class, config = _apply_overrides(get_preset(preset, "generator"), overrides)
    return model_class(name=_check_model_name(overrides, preset), **config)


def create_discriminator(image_size, channels=3, **overrides):
    """The SAGAN-style ResNet discriminator for `image_size` (16, 32 or 64) images.

    Args:
        image_size: int. 16, 32 or 64.
        channels: int >= 1. Image channels.
        **overrides: other `ResnetDiscriminator` arguments (`widths`,
            `downsample`, `attention_resolution`, `dtype`, `name`; the
            default name is the preset's, `discriminator_<image_size>`).

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
        raise InvalidValueError(
            f"Unknown argument(s) {unknown} for create_discriminator. Valid: image_size, channels, "
            f"{', '.join(sorted(valid - {'image_size', 'channels'}))}, name."
        )
    presets = {p.config["image_size"]: p for p in list_presets("discriminator")}
    if image_size not in presets:
        raise InvalidValueError(f"No discriminator for {image_size}x{image_size} images (image_size={image_size!r}); "
                         f"available sizes: {sorted(presets)}.")
    preset = presets[image_size]
    name = _check_model_name(overrides, preset.name)
    config = dict(preset.config, channels=channels)
    config.update({k: v for k, v in overrides.items() if k != "name"})
    return _CLASSES[preset.class_name](name=name, **config)
