"""One gradient call for every Keras backend.

Keras 3 has no backend-neutral `GradientTape`, so explanations that need
`d logit / d activation` go through `value_and_gradients`, which dispatches
to `tf.GradientTape`, `jax.value_and_grad` or `torch.autograd.grad`;
`level_gradients` uses it for every NesT level at once.
"""

import keras
import numpy as np
from keras import ops

from keras_nest.explain.forward import (
    FEATURES,
    check_class_index,
    check_classifier,
    check_images,
    chosen_classes,
    feature_shapes,
    nest_forward,
)
from keras_nest.validation import check_choice


def value_and_gradients(fn, tensors):
    """Runs `fn(tensors) -> (scalar, aux)` and differentiates the scalar.

    Args:
        fn: callable taking a list of tensors, returning a scalar tensor and
            any nest of tensors (`aux`).
        tensors: list of arrays to differentiate with respect to.

    Returns:
        `(aux, gradients)` as numpy: `aux` with the structure `fn` gave it,
        `gradients` a list aligned with `tensors`.

    Example:

    >>> import numpy as np
    >>> aux, (g,) = value_and_gradients(
    ...     lambda ts: (keras.ops.sum(ts[0] ** 2), ts[0] * 1.0), [np.array([1.0, 2.0])])
    >>> g.tolist()
    [2.0, 4.0]
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.convert_to_tensor(t) for t in tensors]
        with tf.GradientTape() as tape:
            tape.watch(tensors)
            value, aux = fn(tensors)
        grads = tape.gradient(value, tensors)
    elif backend == "jax":
        import jax

        tensors = [jax.numpy.asarray(t) for t in tensors]
        (_, aux), grads = jax.value_and_grad(fn, has_aux=True)(tensors)
    elif backend == "torch":
        import torch

        tensors = [keras.ops.convert_to_tensor(t).detach().requires_grad_(True) for t in tensors]
        value, aux = fn(tensors)
        grads = torch.autograd.grad(value, tensors)
        aux = keras.tree.map_structure(lambda t: t.detach(), aux)
    else:
        raise NotImplementedError(
            f"Gradient explanations support the tensorflow, jax and torch backends, not {backend!r}."
        )
    to_numpy = keras.ops.convert_to_numpy
    return keras.tree.map_structure(to_numpy, aux), [to_numpy(g) for g in grads]


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
    return taps, grads, chosen_classes(index, logits), logits
