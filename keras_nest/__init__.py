"""keras_nest: NesT (Nested Hierarchical Transformer) for Keras 3."""

__version__ = "0.1.0"

from keras_nest import layers  # noqa: F401
from keras_nest.models import (  # noqa: F401
    NestModel,
    count_macs,
    create_discriminator,
    create_generator,
    create_model,
    list_generators,
    list_models,
    transfer_weights,
)
