"""Attention rollout (Abnar & Zuidema, 2020) for the ViT baseline.

Each layer's attention is averaged over heads, mixed with the identity for
the residual path (`0.5 A + 0.5 I`, rows renormalised), and the layers are
multiplied from the first to the last. Row `q` of the product says how much
each input token flows into output token `q`. A GAP ViT averages its output
tokens, so its map is the mean row; a class-token ViT reads the class
token's row. The map is class-agnostic.
"""

import numpy as np
from keras import ops

from keras_nest.errors import InvalidTypeError
from keras_nest.explain.forward import check_classifier, check_images, token_grid, vit_forward
from keras_nest.explain.maps import ClassMaps, image_maps
from keras_nest.models.vit import VitModel


def attention_rollout(model, images):
    """Attention-rollout maps of a keras_nest ViT classifier.

    Args:
        model: a `VitModel` (either pooling).
        images: model inputs `(N, H, W, C)` or one image.

    Returns:
        `ClassMaps` whose `class_index` is the predicted class (the map
        itself does not depend on it).

    Example:

    >>> import keras_nest
    >>> model = keras_nest.create_model("vit_nano_16", num_classes=3)
    >>> attention_rollout(model, np.zeros((2, 16, 16, 3), np.float32)).token_maps.shape
    (2, 8, 8)
    """
    if not isinstance(model, VitModel):
        raise InvalidTypeError(
            "attention_rollout needs a keras_nest ViT baseline (keras_nest.create_model("
            f"'vit_nano_16', ...) or a .keras file it saved); got {type(model).__name__}. For a "
            "NesT classifier use class_attention_map, grad_cam or gradcat."
        )
    check_classifier(model, allow_vit=True)
    images = check_images(model, images)
    _, logits, attention = vit_forward(model, images, with_attention=True)
    rollout = attention_flow(attention)
    if model.model_config["global_pool"] == "token":
        flow = rollout[:, 0, 1:]
    else:
        flow = rollout.mean(axis=1)
    token_maps = flow.reshape((len(images), *token_grid(model)))
    logits = ops.convert_to_numpy(logits)
    return ClassMaps(image_maps(token_maps, images.shape[1:3]), token_maps, np.argmax(logits, -1), logits)


def attention_flow(attention):
    """Rollout of per-layer attention weights, first layer first.

    Args:
        attention: list of `(N, heads, n, n)` softmax weights (rows are
            queries).

    Returns:
        float32 `(N, n, n)`: row `q` says how much each input token flows
        into output token `q` (rows sum to 1).

    Example (one layer that copies token 1 into token 0):

    >>> w = np.array([[[[0.0, 1.0], [0.0, 1.0]]]])
    >>> attention_flow([w]).tolist()
    [[[0.5, 0.5], [0.0, 1.0]]]
    """
    flow = None
    for weights in attention:
        mixed = 0.5 * np.mean(ops.convert_to_numpy(ops.cast(weights, "float32")), axis=1)
        mixed += 0.5 * np.eye(mixed.shape[-1], dtype=np.float32)
        mixed /= mixed.sum(axis=-1, keepdims=True)
        flow = mixed if flow is None else mixed @ flow
    return flow
