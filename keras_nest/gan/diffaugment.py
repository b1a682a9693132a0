"""DiffAugment (Zhao et al., NeurIPS 2020): differentiable augmentation of real and fake images.

The same random policy is applied to every image the discriminator sees,
real or generated, and gradients flow through it to the generator. Images
are `(B, H, W, C)` in [-1, 1]. Policies: `color` (brightness, saturation,
contrast), `translation` (up to 1/8 of the side, zero fill), `cutout` (a
zeroed square of half the side).
"""

import keras
from keras import ops

from keras_nest.errors import InvalidValueError

POLICIES = ("color", "translation", "cutout")


def check_policy(policy):
    names = [p for p in (policy or "").split(",") if p]
    unknown = sorted(set(names) - set(POLICIES))
    if unknown:
        raise InvalidValueError(f"Unknown DiffAugment policies {unknown}; choose from {POLICIES}.")
    return names


def _uniform(shape, low, high, seed):
    return keras.random.uniform(shape, low, high, seed=seed)


def _color(x, seed):
    batch = ops.shape(x)[0]
    x = x + _uniform((batch, 1, 1, 1), -0.5, 0.5, seed) * 2.0  # brightness, in [-1, 1] units
    mean = ops.mean(x, axis=-1, keepdims=True)
    x = (x - mean) * _uniform((batch, 1, 1, 1), 0.0, 2.0, seed) + mean  # saturation
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * _uniform((batch, 1, 1, 1), 0.5, 1.5, seed) + mean  # contrast


def _shift_masks(x, offsets_y, offsets_x):
    """Per-image integer translation with zero fill, via one-hot shift matrices."""
    _, height, width, _ = x.shape
    rows = ops.arange(height)
    cols = ops.arange(width)
    # shift_y[b, i, j] = 1 where output row i reads input row j = i - dy
    shift_y = ops.cast(ops.equal(rows[None, :, None] - offsets_y[:, None, None], rows[None, None, :]), x.dtype)
    shift_x = ops.cast(ops.equal(cols[None, :, None] - offsets_x[:, None, None], cols[None, None, :]), x.dtype)
    x = ops.einsum("bij,bjwc->biwc", shift_y, x)
    return ops.einsum("bij,bhjc->bhic", shift_x, x)


def _translation(x, seed, ratio=0.125):
    batch = ops.shape(x)[0]
    _, height, width, _ = x.shape
    dy = ops.cast(ops.round(_uniform((batch,), -ratio, ratio, seed) * height), "int32")
    dx = ops.cast(ops.round(_uniform((batch,), -ratio, ratio, seed) * width), "int32")
    return _shift_masks(x, dy, dx)


def _cutout(x, seed, ratio=0.5):
    """Zeroes one square of half the side per image, placed as in the official DiffAugment code."""
    batch = ops.shape(x)[0]
    _, height, width, _ = x.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    cy = ops.floor(_uniform((batch, 1, 1), 0.0, 1.0, seed) * (height + 1 - size_y % 2))
    cx = ops.floor(_uniform((batch, 1, 1), 0.0, 1.0, seed) * (width + 1 - size_x % 2))
    return x * ops.cast(~cutout_square(height, width, cy, cx, size_y, size_x), x.dtype)[..., None]


def cutout_square(height, width, cy, cx, size_y, size_x):
    """`(B, H, W)` booleans: the `size_y x size_x` square whose first row is `cy - size_y // 2`.

    The official code draws the offset `cy` in `[0, H + 1 - size_y % 2)` and
    clamps the square's indices to the image, so near an edge it keeps at
    least `size // 2` rows (columns); `cy`, `cx`: `(B, 1, 1)` whole numbers.

    >>> hole = cutout_square(8, 8, ops.zeros((1, 1, 1)), ops.full((1, 1, 1), 8.0), 4, 4)
    >>> ops.convert_to_numpy(hole)[0].nonzero()[0].tolist()  # rows 0-1, columns 6-7
    [0, 0, 1, 1]
    """
    rows = ops.arange(height, dtype="float32")[None, :, None]
    cols = ops.arange(width, dtype="float32")[None, None, :]
    top, left = cy - size_y // 2, cx - size_x // 2
    return (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}


def diff_augment(images, policy, seed):
    """Applies the comma-separated `policy` to `images` with a `keras.random.SeedGenerator`."""
    for name in check_policy(policy):
        images = _OPS[name](images, seed)
    return images
