"""NesT models; their named presets live in `keras_nest.presets`."""

from keras_nest.models.complexity import count_macs
from keras_nest.models.factory import (
    create_discriminator,
    create_generator,
    create_model,
    list_generators,
    list_models,
    preset_config,
)
from keras_nest.models.nest import NestModel, drop_path_schedule, level_geometry
from keras_nest.models.vit import VitModel
from keras_nest.models.weights import load_saved_model, load_weights, transfer_weights

__all__ = [
    "NestModel",
    "VitModel",
    "count_macs",
    "create_discriminator",
    "create_generator",
    "create_model",
    "drop_path_schedule",
    "level_geometry",
    "list_generators",
    "list_models",
    "load_saved_model",
    "load_weights",
    "preset_config",
    "transfer_weights",
]
