"""`create_model` and `list_models`: named NesT configs to Keras models."""

import inspect

from keras_nest.models.nest import NestModel
from keras_nest.models.nest_presets import NEST_PRESETS
from keras_nest.models.weights import load_weights


def list_models():
    """Names accepted by `create_model`, sorted."""
    return sorted(NEST_PRESETS)


def model_config(name, **overrides):
    """The full `NestModel` config of a named model with overrides applied."""
    if name not in NEST_PRESETS:
        raise ValueError(f"Unknown model {name!r}. Available models: {', '.join(list_models())}.")
    if "classes" in overrides:  # keras.applications spelling
        classes = overrides.pop("classes")
        if overrides.get("num_classes", classes) != classes:
            raise ValueError("Give either `classes` or `num_classes`, not two different values.")
        overrides["num_classes"] = classes
    valid = set(inspect.signature(NestModel.__init__).parameters) - {"self", "kwargs"}
    unknown = sorted(set(overrides) - valid - {"name"})
    if unknown:
        raise ValueError(
            f"Unknown argument(s) {unknown} for {name!r}. Valid: {', '.join(sorted(valid))}."
        )
    config = dict(NEST_PRESETS[name]["config"])
    config.update({k: v for k, v in overrides.items() if k != "name"})
    if config.get("input_shape") is not None and len(config["input_shape"]) == 2:
        config["input_shape"] = (*config["input_shape"], 3)
    return config


def create_model(name, weights=None, **overrides):
    """Builds a named NesT as a functional `keras.Model`.

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
    config = model_config(name, **overrides)
    model = NestModel(name=overrides.get("name", name), **config)
    if weights is not None:
        load_weights(model, weights, lambda **kw: NestModel(name=model.name, **dict(config, **kw)))
    return model
