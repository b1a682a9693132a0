"""Interpretability for NesT: class attention maps, Grad-CAM, GradCAT and localization.

Everything takes a keras_nest classifier and model-ready inputs (sized and
normalised as in training; `prepare_images` makes them from raw images).
"""

from keras_nest.explain import localization
from keras_nest.explain.cam import CAM_METHODS, class_attention_map, grad_cam
from keras_nest.explain.evaluation import evaluate_localization, leaf_hit_rates
from keras_nest.explain.figures import explain_figure, explain_image, plot_cam, plot_gradcat
from keras_nest.explain.gradcat import (
    SCORES,
    GradCAT,
    block_scores,
    gradcat,
    gradcat_batch,
    token_scores,
    traverse,
)
from keras_nest.explain.gradients import level_gradients
from keras_nest.explain.maps import (
    ClassMaps,
    combined_maps,
    image_maps,
    normalize_maps,
    prepare_images,
    upsample_maps,
)
from keras_nest.explain.rollout import attention_rollout

__all__ = [
    "CAM_METHODS",
    "SCORES",
    "block_scores",
    "ClassMaps",
    "GradCAT",
    "attention_rollout",
    "class_attention_map",
    "combined_maps",
    "evaluate_localization",
    "explain_figure",
    "explain_image",
    "grad_cam",
    "gradcat",
    "gradcat_batch",
    "image_maps",
    "leaf_hit_rates",
    "level_gradients",
    "localization",
    "normalize_maps",
    "plot_cam",
    "plot_gradcat",
    "prepare_images",
    "token_scores",
    "traverse",
    "upsample_maps",
]
