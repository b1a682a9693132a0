"""Class attention maps (CAM) and Grad-CAM for NesT.

NesT's head is `LayerNorm -> mean over the top level's tokens -> Dense`.
The top level is a single block whose `h x w` tokens keep the image layout,
so with `f_t` the normalised token `t`, `W` the Dense kernel and `b` its bias,

    logit_c = (1 / T) * sum_t (f_t . W[:, c]) + b_c = mean_t CAM_c(t),
    CAM_c(t) = f_t . W[:, c] + b_c.

`CAM_c` is exactly each token's share of the class logit (Zhou et al., 2016,
without the approximation a CNN's global pooling needs). The same holds
for a ViT whose head averages its tokens (`global_pool="gap"`).
"""

import dataclasses

import numpy as np
from keras import ops

from keras_nest.errors import InvalidValueError
from keras_nest.explain.forward import (
    FEATURES,
    check_class_index,
    check_classifier,
    check_images,
    feature_shapes,
    level_plane,
    nest_forward,
    token_grid,
    vit_forward,
)
from keras_nest.explain.gradients import value_and_gradients
from keras_nest.explain.maps import image_maps
from keras_nest.models.nest import NestModel
from keras_nest.models.vit import VitModel
from keras_nest.validation import check_choice, check_int


@dataclasses.dataclass
class ClassMaps:
    """Maps of one class per image.

    Attributes:
        maps: float32 `(N, H, W)` at input resolution, min-max normalised
            to `[0, 1]` per image.
        token_maps: float32 `(N, h, w)` raw values on the token grid
            (for CAM: logit units, `token_maps.mean((1, 2)) == logits[c]`).
        class_index: int64 `(N,)`, the class each map explains.
        logits: float32 `(N, num_classes)`, before any classifier activation.
    """

    maps: np.ndarray
    token_maps: np.ndarray
    class_index: np.ndarray
    logits: np.ndarray


def _chosen(class_index, logits):
    return np.argmax(logits, axis=-1) if class_index is None else class_index


def class_attention_map(model, images, class_index=None):
    """CAM of a NesT (or GAP ViT) classifier for a batch of images.

    Args:
        model: a keras_nest NesT classifier (or ViT with `global_pool="gap"`).
        images: model inputs `(N, H, W, C)` or one `(H, W, C)` image, sized
            and normalised as in training (see `prepare_images`).
        class_index: None (each image's predicted class), an int, or `N` ints.

    Returns:
        `ClassMaps`.

    Example:

    >>> import keras_nest
    >>> model = keras_nest.create_model("nest_nano_16", num_classes=3)
    >>> cam = class_attention_map(model, np.zeros((2, 16, 16, 3), np.float32), class_index=1)
    >>> cam.maps.shape, cam.token_maps.shape
    ((2, 16, 16), (2, 4, 4))
    >>> bool(np.allclose(cam.token_maps.mean((1, 2)), cam.logits[:, 1], atol=1e-5))
    True
    """
    check_classifier(model, allow_vit=True)
    if isinstance(model, VitModel) and model.model_config["global_pool"] != "gap":
        raise InvalidValueError(
            "Class attention maps need a head that averages the tokens; this ViT pools its "
            "class token (global_pool='token'). Use attention_rollout instead."
        )
    images = check_images(model, images)
    index = check_class_index(class_index, model.model_config["num_classes"], len(images))
    if isinstance(model, NestModel):
        _, tokens, logits = nest_forward(model, images)
    else:
        tokens, logits, _ = vit_forward(model, images)
    tokens = ops.convert_to_numpy(ops.cast(tokens[:, 0], "float32"))
    logits = ops.convert_to_numpy(logits)
    index = _chosen(index, logits)
    head = model.head
    kernel = ops.convert_to_numpy(ops.cast(head.kernel, "float32"))[:, index].T  # (N, C)
    bias = ops.convert_to_numpy(ops.cast(head.bias, "float32"))[index]
    values = np.einsum("ntc,nc->nt", tokens, kernel) + bias[:, None]
    token_maps = values.reshape((len(images), *token_grid(model)))
    return ClassMaps(image_maps(token_maps, images.shape[1:3]), token_maps, index, logits)


def level_gradients(model, images, class_index=None, features="output"):
    """Every level's features and `d logit_c / d features` for a NesT.

    Args:
        model, images, class_index: as for `class_attention_map`.
        features: which features of each level (see `NestModel.forward_levels`):
            `"output"` (the transformer stack's output) or `"normalized"`
            (after the next stage's LayerNorm).

    Returns:
        `(features, gradients, class_index, logits)`; features and
        gradients are lists (level 0 first) of float32 `(N, blocks, n, C)`.
        The gradient of image `i` is that of its own class logit (images do
        not interact, so one backward pass of the summed logits gives all).
    """
    check_classifier(model)
    check_choice("features", features, FEATURES)
    images = check_images(model, images)
    num_classes = model.model_config["num_classes"]
    index = check_class_index(class_index, num_classes, len(images))
    offsets = [np.zeros(shape, np.float32) for shape in feature_shapes(model, len(images), features)]

    def target(offsets):
        taps, _, logits = nest_forward(model, images, offsets, features)
        chosen = ops.argmax(logits, axis=-1) if index is None else ops.convert_to_tensor(index)
        score = ops.sum(logits * ops.one_hot(chosen, num_classes, dtype=logits.dtype))
        return score, ([ops.cast(t, "float32") for t in taps], logits)

    (taps, logits), grads = value_and_gradients(target, offsets)
    return taps, grads, _chosen(index, logits), logits


def grad_cam(model, images, class_index=None, level=-1):
    """Grad-CAM (Selvaraju et al., 2017) on any NesT level.

    Channel weights are the class logit's gradient averaged over the level's
    tokens; the map is `ReLU(sum_k weight_k * A_k)` on the level's token
    plane (all its blocks put back in place), upsampled to the input.

    Args:
        model: a keras_nest NesT classifier.
        images: model inputs `(N, H, W, C)` or one image.
        class_index: None (predicted class), an int, or `N` ints.
        level: level index (0 is the finest; -1, the default, the top).

    Returns:
        `ClassMaps` whose `token_maps` lie on the level's token plane.

    Example:

    >>> import keras_nest
    >>> model = keras_nest.create_model("nest_nano_16", num_classes=3)
    >>> grad_cam(model, np.zeros((1, 16, 16, 3), np.float32), level=0).token_maps.shape
    (1, 16, 16)
    """
    check_classifier(model)
    level = check_int("level", level)
    if not -model.num_levels <= level < model.num_levels:
        raise InvalidValueError(f"level must be in [{-model.num_levels}, {model.num_levels - 1}]; got {level}.")
    activations, grads, index, logits = level_gradients(model, images, class_index)
    act, grad = activations[level], grads[level]
    weights = grad.mean(axis=(1, 2))  # (N, C)
    values = np.maximum(np.einsum("nbtc,nc->nbt", act, weights), 0.0)
    token_maps = level_plane(values, model.geometry[level])
    return ClassMaps(image_maps(token_maps, model.image_size), token_maps, index, logits)
