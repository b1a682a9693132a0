"""One gradient call for every Keras backend.

Keras 3 has no backend-neutral `GradientTape`, so explanations that need
`d logit / d activation` go through `value_and_gradients`, which dispatches
to `tf.GradientTape`, `jax.value_and_grad` or `torch.autograd.grad`.
"""

import keras


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
