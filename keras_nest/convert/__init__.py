"""Weight conversion from other NesT implementations."""

from keras_nest.convert.timm import load_timm_weights, read_state_dict, timm_variable_map

__all__ = ["load_timm_weights", "read_state_dict", "timm_variable_map"]
