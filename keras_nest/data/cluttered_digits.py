"""`cluttered_digits`: real handwritten digits pasted into clutter, with boxes and masks.

A localization set of real pictures: each 64x64 image holds one of
scikit-learn's bundled handwritten digits (`keras_nest.data.digits`,
1,797 scans of 8x8), upsampled bilinearly to 50-75% of the image side and
pasted at a random place in a random colour over the clutter of `shapes`
(gradient, stripes, blotches, 3-7 line/arc/blob marks), with 1-3 fragments
of other digits (3x3 or 4x4-cell crops of digits of other classes, at
60-90% of the digit's scale) as distractors, and pixel noise over everything. The digit is
pasted last with its scan intensity as opacity, so its mask (opacity >=
1/2, i.e. more digit than background) is exactly what is visible and the box
is tight around the mask.

Splits: `train` (5,000) and `validation` (1,000) paste digits of the
digits' train split, `test` (1,000) those of its test split, so test digits
are handwriting no training image shows. Splits are seeded and cached as
every generated set is (`keras_nest.data.generated`; options `data_seed`,
`cache_dir`). Labels are balanced. `load_arrays` also returns `digit_index`:
which scan of the digits split each image shows.

Normalisation constants: those of the default train split (5,000 at
64x64), in `[0, 1]` units: mean (0.4991, 0.5043, 0.5021), std (0.2436,
0.2436, 0.2435) for RGB, and mean 0.5025, std 0.1623 for `channels=1`. The
digit covers 12.1% of the image on average, its box 23.6%.

Example:

>>> from keras_nest import data
>>> d = data.load_arrays("cluttered_digits", "test", num_examples=4)
>>> d["images"].shape, d["boxes"].shape, d["masks"].shape, d["class_names"][:3]
((4, 64, 64, 3), (4, 4), (4, 64, 64), ['0', '1', '2'])
"""

import functools

import numpy as np

from keras_nest.data import digits, generated
from keras_nest.data.shapes import draw_distractors, finish_canvas, mask_boxes, textured_background
from keras_nest.validation import check_choice, check_int

CLASS_NAMES = digits.CLASS_NAMES
# Bumped whenever the drawing changes, so stale disk caches are not reused.
GENERATOR_VERSION = 2
MIN_IMAGE_SIZE = 32
SPLITS = ("train", "validation", "test")
OPTIONS = generated.OPTIONS
DEFAULT_SIZE = (64, 64)
NUM_EXAMPLES = {"train": 5000, "validation": 1000, "test": 1000}
# Which split of the scanned digits each split pastes.
DIGIT_SPLIT = {"train": "train", "validation": "train", "test": "test"}
MEAN = (0.4991, 0.5043, 0.5021)
STD = (0.2436, 0.2436, 0.2435)
GRAY_MEAN = (0.5025,)
GRAY_STD = (0.1623,)

SET = generated.GeneratedSet("cluttered_digits", CLASS_NAMES, DEFAULT_SIZE, MIN_IMAGE_SIZE, NUM_EXAMPLES,
                              MEAN, STD, GRAY_MEAN, GRAY_STD)

_DIGIT_SIDE = (0.5, 0.75)  # the pasted 8x8 scan's side, as a share of the image side
_FRAGMENTS = (1, 3)  # distractor fragments per image, inclusive
_FRAGMENT_CELLS = (3, 4)  # a fragment's side in scan cells, inclusive
_CHUNK = 256  # images drawn per generator stream


def generate_cluttered_digits(num_examples, image_size=64, seed=0, digit_split="train"):
    """Draws `num_examples` cluttered-digit images; the same arguments give the same data.

    Args:
        num_examples: positive int.
        image_size: int >= 32, height and width of the square images.
        seed: int >= 0, seed of the whole set.
        digit_split: `"train"` or `"test"`, the split of the scanned
            digits pasted (`keras_nest.data.digits`).

    Returns:
        A dict with `images` uint8 `(N, S, S, 3)`, `labels` int64 `(N,)`
        (balanced), `boxes` int32 `(N, 4)` as `(x0, y0, x1, y1)` pixels with
        `x1`, `y1` exclusive, tight around `masks`, bool `(N, S, S)`,
        `digit_index` int64 `(N,)` (the scan's index in `digit_split`) and
        `class_names`.

    Example:

    >>> d = generate_cluttered_digits(6, image_size=32, seed=0)
    >>> x0, y0, x1, y1 = d["boxes"][0]
    >>> bool(d["masks"][0, y0:y1, x0:x1].sum() == d["masks"][0].sum() > 0)
    True
    """
    num_examples = check_int("num_examples", num_examples, minimum=1)
    image_size = check_int("image_size", image_size, minimum=MIN_IMAGE_SIZE)
    seed = check_int("seed", seed, minimum=0)
    digit_split = check_choice("digit_split", digit_split, ("train", "test"))
    scans, scan_labels = digits.native_split(digit_split)
    root = np.random.SeedSequence([seed, image_size, GENERATOR_VERSION, digit_split == "test"])
    label_seed, *chunk_seeds = root.spawn(1 + -(-num_examples // _CHUNK))
    rng = np.random.default_rng(label_seed)
    labels = rng.permutation(np.arange(num_examples) % len(CLASS_NAMES)).astype(np.int64)
    # A random scan of each image's class.
    by_class = [np.flatnonzero(scan_labels == k) for k in range(len(CLASS_NAMES))]
    digit_index = np.array([rng.choice(by_class[k]) for k in labels], np.int64)

    images = np.empty((num_examples, image_size, image_size, 3), np.uint8)
    masks = np.empty((num_examples, image_size, image_size), bool)
    for i, chunk_seed in enumerate(chunk_seeds):
        sl = slice(i * _CHUNK, min((i + 1) * _CHUNK, num_examples))
        images[sl], masks[sl] = _draw_chunk(np.random.default_rng(chunk_seed), scans[..., 0], scan_labels,
                                            digit_index[sl], image_size)
    return {
        "images": images,
        "labels": labels,
        "boxes": mask_boxes(masks),
        "masks": masks,
        "digit_index": digit_index,
        "class_names": list(CLASS_NAMES),
    }


def resize_matrix(size_in, size_out):
    """`(size_out, size_in)` bilinear interpolation weights, pixel centres aligned.

    `M @ x @ M.T` resizes a square image `x`; every row sums to 1.

    Example:

    >>> resize_matrix(2, 4).round(3).tolist()
    [[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]]
    """
    pos = np.clip((np.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0, size_in - 1)
    lo = np.minimum(pos.astype(int), max(size_in - 2, 0))
    frac = (pos - lo).astype(np.float32)
    matrix = np.zeros((size_out, size_in), np.float32)
    matrix[np.arange(size_out), lo] = 1 - frac
    if size_in > 1:
        matrix[np.arange(size_out), lo + 1] += frac
    return matrix


def _resized(scan, rows, cols):
    return resize_matrix(scan.shape[0], rows) @ scan @ resize_matrix(scan.shape[1], cols).T


def _paste(canvas, opacity, colour, top, left):
    """Blends `colour` into `canvas` (H, W, 3) with `opacity` (h, w) at `(top, left)`, in place."""
    h, w = opacity.shape
    window = canvas[top:top + h, left:left + w]
    window += opacity[..., None] * (colour - window)


def _draw_chunk(rng, scans, scan_labels, digit_index, size):
    n = len(digit_index)
    canvas = textured_background(rng, n, size)
    draw_distractors(rng, canvas, size)
    masks = np.zeros((n, size, size), bool)
    for i, index in enumerate(digit_index):
        cell = rng.uniform(*_DIGIT_SIDE) * size / 8
        _draw_fragments(rng, canvas[i], scans, np.flatnonzero(scan_labels != scan_labels[index]), cell)
        side = int(round(8 * cell))
        opacity = np.clip(_resized(scans[index], side, side), 0, 1)
        top, left = rng.integers(0, size - side + 1, 2)
        under = canvas[i, top:top + side, left:left + side]
        behind = (under * opacity[..., None]).sum(axis=(0, 1)) / opacity.sum()
        # Colour the digit away from the background it covers, so it stays visible.
        candidates = rng.uniform(0, 255, (6, 3)).astype(np.float32)
        colour = candidates[np.linalg.norm(candidates - behind, axis=1).argmax()]
        _paste(canvas[i], opacity, colour, top, left)
        masks[i, top:top + side, left:left + side] = opacity >= 0.5
    return finish_canvas(rng, canvas), masks


def _draw_fragments(rng, canvas, scans, others, cell):
    """Pastes 2-5 crops of scans from `others` (indices of other classes) into one canvas."""
    size = canvas.shape[0]
    for _ in range(rng.integers(_FRAGMENTS[0], _FRAGMENTS[1] + 1)):
        scan = scans[rng.choice(others)]
        h, w = rng.integers(_FRAGMENT_CELLS[0], _FRAGMENT_CELLS[1] + 1, 2)
        r0, c0 = rng.integers(0, 8 - h + 1), rng.integers(0, 8 - w + 1)
        scale = cell * rng.uniform(0.6, 0.9)
        rows, cols = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
        opacity = np.clip(_resized(scan[r0:r0 + h, c0:c0 + w], rows, cols), 0, 1)
        opacity *= rng.uniform(0.6, 1.0)
        top, left = rng.integers(0, size - rows + 1), rng.integers(0, size - cols + 1)
        _paste(canvas, opacity, rng.uniform(0, 255, 3).astype(np.float32), top, left)


# --- the data-set source behind load_dataset("cluttered_digits") ------------------

def info(arg, image_size, channels, data_seed=0, cache_dir=None):
    return SET.info(image_size, channels, data_seed, cache_dir)


def load(arg, split, image_size, channels, num_examples=None, data_seed=0, cache_dir=None):
    digit_split = DIGIT_SPLIT[split]
    return SET.load(_GENERATORS[digit_split], f"cluttered_digits-v{GENERATOR_VERSION}-{digit_split}", split,
                    image_size, channels, num_examples, data_seed, cache_dir)


# One object per digit split, so the generated sets' LRU cache recognises them.
_GENERATORS = {s: functools.partial(generate_cluttered_digits, digit_split=s) for s in ("train", "test")}

