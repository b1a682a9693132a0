"""GradCAT: gradient-based class-aware tree traversal of NesT's block tree.

NesT's levels form a tree: the top level is one block (the root), and each
block at level `l` was aggregated from a 2x2 group of blocks at level
`l - 1` (its children). GradCAT explains a class by walking from the root
down to one leaf block of level 0, at each step moving to the child with
the highest score.

The score of block `b` at level `l` for class `c` is

    s_l(b) = sum over the block's tokens t and channels k of A_l[b, t, k] * dy_c/dA_l[b, t, k],

with `A_l` the output of level `l`'s transformer layers (before the next
aggregation) and `y_c` the class logit (before any softmax). It is the
first-order estimate of how much `y_c` would drop if the block's features
were zeroed (a Taylor expansion around the actual activations). The sign
is kept and no ReLU is applied: a block whose features argue against the
class scores negatively and is not chosen over one that argues for it.
Summing or averaging over tokens and channels picks the same child, since
all blocks of a level have equal size; the sum keeps logit units.

The reconstruction follows the paper's description; its code was never
released, so the exact published formula may differ in normalisation.
"""

import dataclasses

import numpy as np

from keras_nest.explain.cam import level_gradients
from keras_nest.explain.maps import normalize_maps, upsample_maps
from keras_nest.layers.block_partition import block_box, block_children

DEFAULT_SCORE = "activation_gradient"
DEFAULT_FEATURES = "output"


@dataclasses.dataclass
class GradCAT:
    """A root-to-leaf explanation of one image.

    Attributes:
        path: list of `(level, block_index, (x0, y0, x1, y1))` from the root
            (top level, block 0, the whole image) to the chosen level-0 block;
            boxes are input pixels, `x1`/`y1` exclusive.
        score_maps: per level (level 0 first), float32 scores on the block
            grid `(gh, gw)`.
        class_index: the class explained.
        logits: float32 `(num_classes,)`.
    """

    path: list
    score_maps: list
    class_index: int
    logits: np.ndarray

    @property
    def leaf(self):
        """The last step of the path: `(0, block_index, box)`."""
        return self.path[-1]

    def heatmap(self, image_size):
        """Per-level positive scores, max-normalised, at input size, averaged over levels.

        A coarse class map that keeps the tree's block edges (nearest
        upsampling); used to score GradCAT with box and pixel metrics.
        """
        total = np.zeros(image_size, np.float32)
        for scores in self.score_maps:
            positive = np.maximum(scores, 0.0)
            peak = positive.max()
            if peak > 0:
                total += upsample_maps((positive / peak)[None], image_size, "nearest")[0]
        return normalize_maps((total / len(self.score_maps))[None])[0]


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
    top = len(score_maps) - 1
    if np.shape(score_maps[top]) != (1, 1):
        raise ValueError(f"The top level must be one block; its grid is {np.shape(score_maps[top])}.")
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


SCORES = {
    "activation_gradient": lambda a, g: np.einsum("nbtc,nbtc->nb", a, g),
    "absolute": lambda a, g: np.abs(np.einsum("nbtc,nbtc->nb", a, g)),
    "gradient_norm": lambda a, g: np.sqrt(np.einsum("nbtc,nbtc->nb", g, g)),
}


def block_scores(activations, gradients, score="activation_gradient"):
    """One score per image and block of a level: `(N, blocks)` (see `SCORES`)."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {sorted(SCORES)}; got {score!r}.")
    return SCORES[score](activations, gradients)


def gradcat_batch(model, images, class_index=None, score=DEFAULT_SCORE, features=DEFAULT_FEATURES):
    """`gradcat` for a batch: one `GradCAT` per image (one backward pass)."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {sorted(SCORES)}; got {score!r}.")
    activations, grads, index, logits = level_gradients(model, images, class_index, features)
    per_level = [
        block_scores(a, g, score).reshape((-1, *geo["grid_size"]))
        for a, g, geo in zip(activations, grads, model.geometry)
    ]
    results = []
    for i in range(len(index)):
        maps = [scores[i].astype(np.float32) for scores in per_level]
        results.append(GradCAT(traverse(maps, model.image_size), maps, int(index[i]), logits[i]))
    return results


def gradcat(model, image, class_index=None, score=DEFAULT_SCORE, features=DEFAULT_FEATURES):
    """Explains one image as a path through NesT's block tree.

    Args:
        model: a keras_nest NesT classifier.
        image: one model input `(H, W, C)` (or a batch of one), sized and
            normalised as in training.
        class_index: None (the predicted class) or an int.

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
    image = np.asarray(image)
    if image.ndim == 4 and len(image) != 1:
        raise ValueError(f"gradcat explains one image; got a batch of {len(image)} (use gradcat_batch).")
    if class_index is not None and np.ndim(class_index) != 0:
        raise ValueError("gradcat takes one class_index (an int) for its one image.")
    return gradcat_batch(model, image, class_index, score, features)[0]
