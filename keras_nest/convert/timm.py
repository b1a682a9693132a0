"""timm NesT checkpoints: re-exported from `keras_nest.models.timm_checkpoint`.

The mapping lives with the models because `create_model(weights="imagenet")`
loads timm's published checkpoints; this module keeps the public import path.
"""

from keras_nest.models.timm_checkpoint import load_timm_weights, read_state_dict, timm_variable_map

__all__ = ["load_timm_weights", "read_state_dict", "timm_variable_map"]
