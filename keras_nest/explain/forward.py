"""Layer-by-layer replays of NesT and ViT classifiers, and input checks.

Explanations need what the functional graph does not return: every level's
activations, the final-normed tokens, the logits before any classifier
activation, ViT attention weights, and gradients with respect to
activations. `NestModel.forward_levels` replays a NesT level by level, and
`vit_forward` replays a ViT through its layer references; both work on
every backend. An optional zero `offset` added to each level's features is
the handle that `value_and_gradients` differentiates, since the gradient
with respect to an added zero equals the gradient with respect to the
activation.
"""

import numpy as np
from keras import ops

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.layers.block_partition import deblockify
from keras_nest.models.base import head_logits
from keras_nest.models.nest import NestModel
from keras_nest.models.vit import VitModel


def check_classifier(model, allow_vit=False):
    """Raises a clear error unless `model` is a keras_nest classifier with its head.

    Example:

    >>> import keras
    >>> check_classifier(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))
    Traceback (most recent call last):
        ...
    keras_nest.errors.InvalidTypeError: This explanation needs a NesT classifier built by keras_nest: ...
    """
    families = (NestModel, VitModel) if allow_vit else (NestModel,)
    if not isinstance(model, families):
        wanted = "a NesT (or ViT baseline) classifier" if allow_vit else "a NesT classifier"
        raise InvalidTypeError(
            f"This explanation needs {wanted} built by keras_nest: "
            "keras_nest.create_model('nest_micro_64', ...) or a .keras file saved by "
            "`keras-nest train` (load it with keras_nest.models.load_saved_model); got "
            f"{type(model).__name__}."
        )
    if not model.model_config["include_top"]:
        raise InvalidValueError("The model has no classification head; build it with include_top=True.")


def check_images(model, images):
    """`images` as float32 `(N, H, W, C)` model inputs; a clear error on a wrong size."""
    try:
        images = np.asarray(ops.convert_to_numpy(images), np.float32)
    except (TypeError, ValueError):
        raise InvalidTypeError(
            "images must be a numeric array of model inputs (N, H, W, C) or (H, W, C); got "
            f"{type(images).__name__}."
        ) from None
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4:
        raise InvalidValueError(f"Expected images of shape (N, H, W, C) or (H, W, C); got {images.shape}.")
    expected = tuple(model.model_config["input_shape"])
    if images.shape[1:] != expected:
        raise InvalidValueError(
            f"The model takes {expected[0]}x{expected[1]}x{expected[2]} inputs; got images of "
            f"{images.shape[1]}x{images.shape[2]}x{images.shape[3]}. Resize and normalise them "
            "first with keras_nest.explain.prepare_images(images, model, mean, std)."
        )
    if not np.all(np.isfinite(images)):
        raise InvalidValueError("The images contain NaN or infinite values.")
    return images


def check_class_index(class_index, num_classes, num_images):
    """None, or an int64 array of `num_images` valid class indices."""
    if class_index is None:
        return None
    try:
        index = np.asarray(class_index)
    except (TypeError, ValueError):
        index = np.asarray(None)
    if not np.issubdtype(index.dtype, np.integer):
        raise InvalidTypeError(
            f"class_index must be None, an int or {num_images} ints (one per image); got "
            f"{class_index!r}."
        )
    if index.ndim > 1 or (index.ndim == 1 and len(index) not in (1, num_images)):
        raise InvalidValueError(
            f"class_index must be one int or {num_images} ints (one per image); got shape "
            f"{index.shape}."
        )
    index = np.broadcast_to(index, (num_images,))
    bad = index[(index < 0) | (index >= num_classes)]
    if bad.size:
        raise InvalidValueError(
            f"class_index {int(bad[0])} is out of range: the model has {num_classes} classes "
            f"(0..{num_classes - 1})."
        )
    return index.astype(np.int64)


def chosen_classes(class_index, logits):
    """The checked `class_index`, or each image's predicted class when it is None."""
    return np.argmax(logits, axis=-1) if class_index is None else class_index


FEATURES = ("output", "normalized")


def feature_shapes(model, num_images, features="output"):
    """Blocked shapes `(N, blocks, n, C)` of the per-level features `nest_forward` taps."""
    dims = model.model_config["embed_dims"]
    if features == "normalized":
        dims = dims[1:] + dims[-1:]
    return [
        (num_images, g.num_blocks, g.tokens_per_block, int(d)) for g, d in zip(model.geometry, dims)
    ]


def nest_forward(model, images, offsets=None, features="output"):
    """Replays a NesT classifier in inference mode, tapping every level.

    Args:
        model: a `NestModel` with its head.
        images: model inputs `(N, H, W, C)`.
        offsets: optional list, one tensor per level shaped as
            `feature_shapes(...)`, added to the tapped features (zeros for
            gradients).
        features: `"output"`, each level's transformer output; or
            `"normalized"`, what the next stage reads after its LayerNorm:
            the next block aggregation's Conv2D + LayerNorm plane (before
            max-pooling) cut into this level's blocks, and for the top level
            the final-normed tokens.

    Returns:
        `(features, tokens, logits)`: per level (level 0 first) blocked
        `(N, blocks, n, C)` tensors, the final-normed top-level tokens
        `(N, 1, n, C)` and float32 logits.
    """
    if features not in FEATURES:
        raise InvalidValueError(f"features must be one of {FEATURES}; got {features!r}.")
    if features == "output":
        out = model.forward_levels(images, training=False, output_offsets=offsets)
        return list(out.levels), out.tokens, out.logits
    out = model.forward_levels(images, training=False, normalized_offsets=offsets)
    return list(out.normalized), out.tokens, out.logits


def vit_forward(model, images, with_attention=False):
    """Replays a ViT classifier: `(tokens, logits, attention)`.

    `tokens` are the final-normed tokens `(N, 1, n, C)` (class token first
    when the model has one); `attention` is a list of per-layer weights
    `(N, heads, n, n)`, or None.
    """
    x = model.tokens(model.patch_embedding(model.normalize_inputs(images), training=False))
    if model.class_token is not None:
        x = model.class_token(x)
    encoder = model.encoder
    x = encoder.position_embedding(x)
    attention = [] if with_attention else None
    for block in encoder.blocks:
        if with_attention:
            attention.append(block.attention.attention_weights(block.norm1(x))[:, 0])
        x = block(x, training=False)
    tokens = model.final_norm(x)
    if model.model_config["global_pool"] == "token":
        pooled = tokens[:, 0, 0]
    else:
        pooled = ops.mean(tokens, axis=(1, 2))
    return tokens, head_logits(model.head, pooled), attention


def token_grid(model):
    """`(h, w)` of the spatial token map that class attention maps live on."""
    if isinstance(model, NestModel):
        return model.geometry[-1].block_size
    height, width = model.model_config["input_shape"][:2]
    patch = model.model_config["patch_size"]
    return height // patch, width // patch


def level_plane(values, level):
    """Blocked `(N, blocks, n)` or `(N, blocks, n, C)` values of one level on its plane.

    `level` is the level's `LevelGeometry`.
    """
    values = np.asarray(values)
    squeeze = values.ndim == 3
    if squeeze:
        values = values[..., None]
    plane = ops.convert_to_numpy(
        deblockify(values, level.grid_size, level.block_size)
    )
    return plane[..., 0] if squeeze else plane
