"""Class maps of NesT: the head's exact CAM, its rollout, and the gradient map (default).

NesT's head is `LayerNorm -> mean over the top level's tokens -> Dense`.
The top level is a single block whose `h x w` tokens keep the image layout,
so with `f_t` the normalised token `t`, `W` the Dense kernel and `b` its bias,

    logit_c = (1 / T) * sum_t (f_t . W[:, c]) + b_c = mean_t CAM_c(t),
    CAM_c(t) = f_t . W[:, c] + b_c.

`CAM_c` (`method="head"`) is exactly each token's share of the class logit
(Zhou et al., 2016, without the approximation a CNN's global pooling
needs). It says where the top level *stores* class evidence, which need not
be where the evidence is: measured on `shapes` and `cluttered_digits`
(`benchmarks/cam_study.py`, README "Explaining predictions"), our trained
NesTs keep it in the background tokens around the object, so the head's CAM
is a sharp negative of the object at every training length tried, with or
without the final LayerNorm, and already at the top level's input (the
block-local attention below has mixed it too).

`method="rollout"` moves each top-level token's CAM back to the tokens it
read from, along the top level's attention rollout (Abnar & Zuidema, 2020):
`map(i) = sum_q CAM_c(q) R[q, i]`. Rows of `R` sum to 1, so the map still
averages to the logit.

`method="gradient"` (the default for NesT) is the class logit's sensitivity
to each token at every level below the top, where tokens still hold their
own place: per level the L2 norm over channels of `d logit_c / d F_l(t)`
(`F_l`: the features as the next stage reads them, after its LayerNorm),
each level's map min-max normalised and upsampled, then averaged. It is the
map GradCAT walks (`GradCAT.heatmap`), and the one that localizes.
"""

import numpy as np
from keras import ops

from keras_nest.errors import InvalidValueError
from keras_nest.explain.forward import (
    check_class_index,
    check_classifier,
    check_images,
    chosen_classes,
    level_plane,
    token_grid,
    vit_forward,
)
from keras_nest.explain.gradcat import score_heatmap, token_scores
from keras_nest.explain.gradients import level_gradients
from keras_nest.explain.maps import ClassMaps, image_maps
from keras_nest.explain.rollout import attention_flow
from keras_nest.models.nest import NestModel
from keras_nest.models.vit import VitModel
from keras_nest.validation import check_choice, check_int

CAM_METHODS = ("gradient", "head", "rollout")


def class_attention_map(model, images, class_index=None, method=None):
    """Class map of a NesT (or GAP ViT) classifier for a batch of images.

    Args:
        model: a keras_nest NesT classifier (or ViT with `global_pool="gap"`).
        images: model inputs `(N, H, W, C)` or one `(H, W, C)` image, sized
            and normalised as in training (see `prepare_images`).
        class_index: None (each image's predicted class), an int, or `N` ints.
        method: one of `CAM_METHODS` (see the module docstring), default
            `"gradient"` for NesT; a ViT has only `"head"`, its default.

            - `"gradient"`: the class logit's gradient norm per token on
              every level below the top, averaged; `token_maps` lie on the
              level-0 token plane in `[0, 1]`.
            - `"head"`: the exact CAM of the trained head on the top level's
              token grid, in logit units (`token_maps.mean((1, 2))` is the
              logit).
            - `"rollout"`: the head's CAM moved along the top level's
              attention rollout; still averages to the logit.

    Returns:
        `ClassMaps`.

    Raises:
        TypeError: not a keras_nest classifier, or a bad `class_index` type.
        ValueError: a wrong image size, a class out of range, an unknown
            `method`, or a method the model does not have.

    Example:

    >>> import keras_nest
    >>> model = keras_nest.create_model("nest_nano_16", num_classes=3)
    >>> x = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype(np.float32)
    >>> class_attention_map(model, x).token_maps.shape  # the gradient map, on level 0
    (2, 16, 16)
    >>> cam = class_attention_map(model, x, class_index=1, method="head")
    >>> cam.maps.shape, cam.token_maps.shape
    ((2, 16, 16), (2, 4, 4))
    >>> bool(np.allclose(cam.token_maps.mean((1, 2)), cam.logits[:, 1], atol=1e-5))
    True
    """
    check_classifier(model, allow_vit=True)
    is_nest = isinstance(model, NestModel)
    method = ("gradient" if is_nest else "head") if method is None else method
    check_choice("method", method, CAM_METHODS)
    if not is_nest and method != "head":
        raise InvalidValueError(f"A ViT has only the head's CAM (method='head'); got method={method!r}.")
    if isinstance(model, VitModel) and model.model_config["global_pool"] != "gap":
        raise InvalidValueError(
            "Class attention maps need a head that averages the tokens; this ViT pools its "
            "class token (global_pool='token'). Use attention_rollout instead."
        )
    images = check_images(model, images)
    index = check_class_index(class_index, model.model_config["num_classes"], len(images))
    if method == "gradient":
        return _gradient_map(model, images, index)
    if is_nest:
        out = model.forward_levels(images, with_attention=method == "rollout")
        tokens, logits = out.tokens, out.logits
    else:
        tokens, logits, _ = vit_forward(model, images)
    logits = ops.convert_to_numpy(ops.cast(logits, "float32"))
    index = chosen_classes(index, logits)
    values = np.take_along_axis(head_cam(model, tokens[:, 0]), index[:, None, None], axis=2)[..., 0]
    if method == "rollout":
        flow = attention_flow([w[:, 0] for w in out.attention[-1]])
        values = np.einsum("nq,nqi->ni", values, flow)
    token_maps = values.reshape((len(images), *token_grid(model)))
    return ClassMaps(image_maps(token_maps, images.shape[1:3]), token_maps, index, logits)


def head_cam(model, tokens):
    """The head's CAM of every class: `(N, n, K)` float32 logit shares.

    Args:
        model: a NesT or GAP ViT classifier (with its head).
        tokens: final-normed top-level tokens `(N, n, C)` (`forward_levels(...).tokens[:, 0]`).

    Returns:
        `CAM_c(t) = f_t . W[:, c] + b_c` per token `t` and class `c`; the
        mean over tokens is the logits.
    """
    tokens = ops.convert_to_numpy(ops.cast(tokens, "float32"))
    kernel = ops.convert_to_numpy(ops.cast(model.head.kernel, "float32"))
    return tokens @ kernel + ops.convert_to_numpy(ops.cast(model.head.bias, "float32"))


def _gradient_map(model, images, index):
    activations, grads, index, logits = level_gradients(model, images, index, features="normalized")
    planes = [level_plane(token_scores(a, g, "gradient_norm"), geo)
              for a, g, geo in zip(activations, grads, model.geometry)]
    token_maps = score_heatmap(planes, planes[0].shape[1:3])
    return ClassMaps(score_heatmap(planes, model.image_size), token_maps, index, logits)


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
