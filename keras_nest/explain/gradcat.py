"""GradCAT: gradient-based class-aware tree traversal of NesT's block tree.

NesT's levels form a tree: the top level is one block (the root), and each
block at level `l` was aggregated from a 2x2 group of blocks at level
`l - 1` (its children). GradCAT explains a class by walking from the root
down to one leaf block of level 0, at each step moving to the child with
the highest score. The path, drawn as nested boxes, says where the
evidence for the class sits at every scale.

Definition used here (defaults `score="gradient_norm"`,
`features="normalized"`): with `y_c` the class logit (before any softmax)
and `F_l` the features of level `l` *as the next stage reads them* (the
next block aggregation's Conv2D + LayerNorm output, before its max-pool,
cut into level `l`'s blocks), the score of block `b` is

    s_l(b) = || d y_c / d F_l[b] ||_2   over the block's tokens and channels,

the class logit's sensitivity to that block. It is class-aware because it
differentiates the chosen class's logit; it has no sign to handle (a norm).

Why not activation x gradient, `sum(A * dy_c/dA)`, the usual reading of the
paper's description (available as `score="activation_gradient"`, with
`features="output"` for the raw level outputs)? Every level output reaches
the logit only through a LayerNorm, which ignores its scale; by Euler's
theorem `sum(A * dy/dA)` over a scale-invariant input is 0, so block scores
are left with border and bias effects and their signs are arbitrary
(tested: the top level's sum is 0 to float precision). Measured on 500
`shapes` validation images with `nest_micro_64` (82.8% test accuracy), the
share of the chosen leaf block covered by the object, against 0.173 for a
random block: activation x gradient 0.358 (outputs) / 0.280 (normalised);
its absolute value 0.398 / 0.368; gradient norm 0.612 / **0.620**. The
defaults are the best on that validation split; the test split is only
reported (`benchmarks/localization.py`).

The paper's code was never released, so the published formula may differ.
"""

import dataclasses

import numpy as np

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.explain.forward import check_classifier, level_plane
from keras_nest.explain.gradients import level_gradients
from keras_nest.explain.maps import combined_maps
from keras_nest.layers.block_partition import block_box, block_children
from keras_nest.validation import check_int_tuple

DEFAULT_SCORE = "gradient_norm"
DEFAULT_FEATURES = "normalized"


@dataclasses.dataclass
class GradCAT:
    """A root-to-leaf explanation of one image.

    Attributes:
        path: list of `(level, block_index, (x0, y0, x1, y1))` from the root
            (top level, block 0, the whole image) to the chosen level-0 block;
            boxes are input pixels, `x1`/`y1` exclusive.
        score_maps: per level (level 0 first), float32 scores on the block
            grid `(gh, gw)`.
        token_maps: per level (level 0 first), the same score per token on
            the level's token plane (`token_scores`).
        class_index: the class explained.
        logits: float32 `(num_classes,)`.
    """

    path: list
    score_maps: list
    token_maps: list
    class_index: int
    logits: np.ndarray

    @property
    def leaf(self):
        """The last step of the path: `(0, block_index, box)`."""
        return self.path[-1]

    def heatmap(self, image_size):
        """A class map `(H, W)` in `[0, 1]` of the token scores (`score_heatmap`);
        `class_attention_map`'s default map."""
        return score_heatmap([m[None] for m in self.token_maps], image_size)[0]


def score_heatmap(token_maps, size):
    """Per-level token scores `(N, h_l, w_l)`, level 0 first, as one map `(N, H, W)` in `[0, 1]`.

    Every level below the root is min-max normalised, resized to `size` and
    averaged (`combined_maps`); the root's tokens all feed the head's mean
    with the same weight, so its gradient norm is flat and it is left out
    (unless it is the only level).
    """
    return combined_maps(token_maps[:-1] or token_maps, size)


def traverse(score_maps, image_size):
    """The greedy root-to-leaf path through per-level block scores.

    Args:
        score_maps: list of `(gh, gw)` arrays, level 0 first; each level's grid
            is twice the next one's per side, and the last is `(1, 1)`.
        image_size: `(H, W)` of the input, for the boxes.

    Returns:
        The path as in `GradCAT.path`.

    Example (the top-right child wins, then its bottom-left child):

    >>> level1 = np.array([[0.0, 5.0], [1.0, 2.0]])
    >>> level0 = np.zeros((4, 4)); level0[1, 2] = 3.0
    >>> [(lvl, idx) for lvl, idx, _ in traverse([level0, level1, np.ones((1, 1))], (16, 16))]
    [(2, 0), (1, 1), (0, 6)]
    """
    score_maps = _check_score_maps(score_maps)
    image_size = check_int_tuple("image_size", image_size, length=2)
    top = len(score_maps) - 1
    if np.shape(score_maps[top]) != (1, 1):
        raise InvalidValueError(f"The top level must be one block; its grid is {np.shape(score_maps[top])}.")
    path = [(top, 0, block_box(0, (1, 1), image_size))]
    node = 0
    for level in range(top - 1, -1, -1):
        parent_grid = np.shape(score_maps[level + 1])
        grid = np.shape(score_maps[level])
        children = block_children(node, parent_grid)
        scores = np.asarray(score_maps[level]).reshape(-1)[children]
        node = int(children[int(np.argmax(scores))])
        path.append((level, node, block_box(node, grid, image_size)))
    return path


def _check_score_maps(score_maps):
    if isinstance(score_maps, np.ndarray) or not isinstance(score_maps, (list, tuple)):
        raise InvalidTypeError(
            "score_maps must be a list of per-level (gh, gw) score grids, level 0 first; got "
            f"{type(score_maps).__name__}."
        )
    if not score_maps:
        raise InvalidValueError("score_maps is empty; pass one (gh, gw) grid per level, level 0 first.")
    maps = []
    for level, grid in enumerate(score_maps):
        try:
            grid = np.asarray(grid, np.float64)
        except (TypeError, ValueError):
            raise InvalidTypeError(f"score_maps[{level}] must be a numeric (gh, gw) array.") from None
        if grid.ndim != 2 or grid.size == 0:
            raise InvalidValueError(f"score_maps[{level}] must be a (gh, gw) grid; got shape {grid.shape}.")
        if not np.all(np.isfinite(grid)):
            raise InvalidValueError(f"score_maps[{level}] holds NaN or infinite scores.")
        if level and (2 * grid.shape[0], 2 * grid.shape[1]) != maps[-1].shape:
            raise InvalidValueError(
                f"Each level's grid must be twice the next one's per side; score_maps[{level - 1}] "
                f"is {maps[-1].shape[0]}x{maps[-1].shape[1]} but score_maps[{level}] is "
                f"{grid.shape[0]}x{grid.shape[1]}."
            )
        maps.append(grid)
    return maps


def _check_features(activations, gradients):
    activations, gradients = np.asarray(activations), np.asarray(gradients)
    if activations.ndim != 4 or activations.shape != gradients.shape:
        raise InvalidValueError(
            "activations and gradients must both be (N, blocks, n, C) with the same shape; got "
            f"{activations.shape} and {gradients.shape}."
        )
    return activations, gradients


def _check_score(score):
    if score not in SCORES:
        raise InvalidValueError(f"score must be one of {SCORES}; got {score!r}.")


SCORES = ("activation_gradient", "absolute", "gradient_norm")


def token_scores(activations, gradients, score=DEFAULT_SCORE):
    """Per-token scores `(N, blocks, n)` from features and gradients `(N, blocks, n, C)`.

    `activation_gradient`: sum over channels of a * g; `absolute`: its
    absolute value; `gradient_norm`: the L2 norm of g over channels.
    """
    _check_score(score)
    activations, gradients = _check_features(activations, gradients)
    if score == "gradient_norm":
        return np.sqrt(np.einsum("nbtc,nbtc->nbt", gradients, gradients))
    products = np.einsum("nbtc,nbtc->nbt", activations, gradients)
    return np.abs(products) if score == "absolute" else products


def block_scores(activations, gradients, score=DEFAULT_SCORE):
    """Per-block scores `(N, blocks)`: the token scores' sum (their L2 norm for
    `gradient_norm`, i.e. the norm of the whole block's gradient; the absolute
    value of the signed sum for `absolute`)."""
    if score == "gradient_norm":
        return np.sqrt(np.sum(token_scores(activations, gradients, score) ** 2, axis=-1))
    _check_score(score)
    total = token_scores(activations, gradients, "activation_gradient").sum(axis=-1)
    return np.abs(total) if score == "absolute" else total


def gradcat_batch(model, images, class_index=None, score=DEFAULT_SCORE, features=DEFAULT_FEATURES):
    """`gradcat` for a batch: one `GradCAT` per image (one backward pass)."""
    check_classifier(model)
    _check_score(score)
    activations, grads, index, logits = level_gradients(model, images, class_index, features)
    blocks, tokens = [], []
    for a, g, geo in zip(activations, grads, model.geometry):
        blocks.append(block_scores(a, g, score).reshape((-1, *geo.grid_size)))
        tokens.append(level_plane(token_scores(a, g, score), geo))
    results = []
    for i in range(len(index)):
        maps = [level[i].astype(np.float32) for level in blocks]
        results.append(GradCAT(traverse(maps, model.image_size), maps,
                               [level[i].astype(np.float32) for level in tokens], int(index[i]), logits[i]))
    return results


def gradcat(model, image, class_index=None, score=DEFAULT_SCORE, features=DEFAULT_FEATURES):
    """Explains one image as a path through NesT's block tree.

    Args:
        model: a keras_nest NesT classifier.
        image: one model input `(H, W, C)` (or a batch of one), sized and
            normalised as in training.
        class_index: None (the predicted class) or an int.
        score: block score, one of `SCORES`: `"gradient_norm"` (default),
            `"activation_gradient"` (signed sum of A * dy/dA) or `"absolute"`
            (its absolute value).
        features: `"normalized"` (default: after the next stage's LayerNorm)
            or `"output"` (each level's transformer output); see `nest_forward`.

    Returns:
        `GradCAT`.

    Example:

    >>> import keras_nest
    >>> model = keras_nest.create_model("nest_nano_16", num_classes=3)
    >>> result = gradcat(model, np.zeros((16, 16, 3), np.float32))
    >>> [(level, block) for level, block, _ in result.path][0], len(result.path)
    ((2, 0), 3)
    >>> [m.shape for m in result.score_maps]
    [(4, 4), (2, 2), (1, 1)]
    """
    check_classifier(model)
    image = np.asarray(image)
    if image.ndim == 4 and len(image) != 1:
        raise InvalidValueError(f"gradcat explains one image; got a batch of {len(image)} (use gradcat_batch).")
    if class_index is not None and np.ndim(class_index) != 0:
        raise InvalidValueError("gradcat takes one class_index (an int) for its one image.")
    return gradcat_batch(model, image, class_index, score, features)[0]
