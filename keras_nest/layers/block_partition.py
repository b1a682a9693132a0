"""Block partition: cut a token plane into non-overlapping blocks, and back.

NesT attends only inside blocks. A level holds its tokens as ``(B, T, n, C)``:
``T = gh * gw`` blocks numbered row-major over the block grid, each with
``n = bh * bw`` tokens numbered row-major inside the block. This is the order
of the official ``block_images`` and of timm's ``blockify``, so position
embeddings and checkpoints carry over unchanged.

The block tree helpers at the bottom describe the hierarchy that block
aggregation builds: block ``(r, c)`` of a level covers blocks
``(2r + a, 2c + b)``, ``a, b in {0, 1}``, of the level below.
"""

import keras
from keras import ops

from keras_nest.errors import InvalidValueError
from keras_nest.layers._checks import check_bool, check_int, check_pair

# (B, a, b, c, d, C) -> (B, a, c, b, d, C). The permutation is its own inverse,
# so one regrouping routine serves both directions.
_SWAP_MIDDLE = (0, 1, 3, 2, 4, 5)


def _pair(value, what):
    """An int or a pair of positive ints as `(int, int)`; raises naming `what`."""
    return check_pair(what, value)


def _regroup(x, split, merged):
    channels = x.shape[-1]
    x = ops.reshape(x, (-1, *split, channels))
    x = ops.transpose(x, _SWAP_MIDDLE)
    return ops.reshape(x, (-1, *merged, channels))


def blockify(x, block_size, grid_size=None):
    """Split `(B, H, W, C)` into blocks: returns `(B, T, n, C)`.

    `grid_size` (blocks per side), when given, is the layout expected: it
    must agree with a static `H x W`, and it supplies the size when `H` or
    `W` is unknown while tracing (e.g. a `tf.data` pipeline of images of
    shape `(None, None, 3)`); a different size at run time then fails.

    Raises:
        ValueError: the sides are not multiples of the block sides, do not
            match `grid_size`, or are unknown and no `grid_size` is given.
    """
    bh, bw = _pair(block_size, "block_size")
    height, width = x.shape[1], x.shape[2]
    if grid_size is not None:
        gh, gw = _pair(grid_size, "grid_size")
    if height is None or width is None:
        if grid_size is None:
            raise ValueError(
                f"Cannot cut a token plane of unknown size {height}x{width} into {bh}x{bw} "
                "blocks: give the input pipeline a static image size (e.g. "
                "keras.Input((H, W, C)), or tf.ensure_shape / a resize in tf.data)."
            )
        x = _with_plane_size(x, (gh * bh, gw * bw))
    elif height % bh or width % bw:
        raise ValueError(
            f"A {height}x{width} token plane cannot be cut into {bh}x{bw} "
            "blocks: both sides must be multiples of the block side."
        )
    elif grid_size is not None and (height, width) != (gh * bh, gw * bw):
        raise ValueError(
            f"Expected a {gh * bh}x{gw * bw} token plane ({gh}x{gw} blocks of {bh}x{bw} "
            f"tokens), got {height}x{width}."
        )
    gh, gw = x.shape[1] // bh, x.shape[2] // bw
    return _regroup(x, (gh, bh, gw, bw), (gh * gw, bh * bw))


def _with_plane_size(x, plane_size):
    """`x` with its unknown height and width set to `plane_size`, checked at run time."""
    shape = (None, *plane_size, x.shape[-1])
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.ensure_shape(x, shape)  # raises at run time on another size
    return ops.reshape(x, (ops.shape(x)[0], *shape[1:]))


def deblockify(x, grid_size, block_size):
    """Inverse of `blockify`: `(B, T, n, C)` back to `(B, H, W, C)`."""
    gh, gw = _pair(grid_size, "grid_size")
    bh, bw = _pair(block_size, "block_size")
    if x.shape[1] != gh * gw or x.shape[2] != bh * bw:
        raise ValueError(
            f"Expected {gh * gw} blocks of {bh * bw} tokens "
            f"(grid {gh}x{gw}, blocks {bh}x{bw}), got shape {tuple(x.shape)}."
        )
    return _regroup(x, (gh, gw, bh, bw), (gh * bh, gw * bw))


@keras.saving.register_keras_serializable(package="keras_nest")
class BlockPartition(keras.layers.Layer):
    """Cuts an image-plane tensor into non-overlapping blocks of tokens.

    Maps `(B, H, W, C)` to `(B, T, n, C)`, with `T = (H / bh) * (W / bw)`
    blocks in row-major order and `n = bh * bw` tokens per block, also
    row-major. With `inverse=True` it maps `(B, T, n, C)` back to
    `(B, H, W, C)`; `grid_size` (blocks per column and row) is then needed
    because `T` alone does not tell a 2x8 grid from a 4x4 one.

    Without `inverse`, a `grid_size` fixes the expected plane
    `(gh * bh, gw * bw)`: inputs whose height and width are unknown while
    tracing (a `tf.data` pipeline of `(None, None, 3)` images) are taken to
    be of that size (checked at run time); without it such inputs raise a
    `ValueError` asking for a static size.

    Args:
        block_size: int or `(bh, bw)`. Tokens per block side.
        grid_size: int or `(gh, gw)`. Blocks per side; needed for
            `inverse=True`, optional otherwise.
        inverse: bool. Undo the partition instead. Defaults to `False`.

    Raises:
        TypeError: a size is not an int or pair of ints, or `inverse` is
            not a bool.
        ValueError: a size is below 1, or `inverse=True` without `grid_size`.

    Example:

    >>> x = keras.ops.reshape(keras.ops.arange(16.0), (1, 4, 4, 1))
    >>> blocks = BlockPartition(2)(x)
    >>> tuple(blocks.shape)
    (1, 4, 4, 1)
    >>> back = BlockPartition(2, grid_size=2, inverse=True)(blocks)
    >>> bool(keras.ops.all(back == x))
    True
    """

    def __init__(self, block_size, grid_size=None, inverse=False, **kwargs):
        super().__init__(**kwargs)
        self.block_size = _pair(block_size, "block_size")
        self.inverse = check_bool("inverse", inverse)
        if self.inverse and grid_size is None:
            raise InvalidValueError("BlockPartition(inverse=True) needs `grid_size`.")
        self.grid_size = None if grid_size is None else _pair(grid_size, "grid_size")

    def call(self, x):
        if self.inverse:
            return deblockify(x, self.grid_size, self.block_size)
        return blockify(x, self.block_size, self.grid_size)

    def compute_output_shape(self, input_shape):
        batch, channels = input_shape[0], input_shape[-1]
        bh, bw = self.block_size
        if self.inverse:
            gh, gw = self.grid_size
            return (batch, gh * bh, gw * bw, channels)
        if self.grid_size is not None:
            return (batch, self.grid_size[0] * self.grid_size[1], bh * bw, channels)
        if input_shape[1] is None or input_shape[2] is None:
            return (batch, None, bh * bw, channels)
        return (batch, (input_shape[1] // bh) * (input_shape[2] // bw), bh * bw, channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "block_size": self.block_size,
                "grid_size": self.grid_size,
                "inverse": self.inverse,
            }
        )
        return config


# --- Block tree -------------------------------------------------------------


def block_children(index, grid_size):
    """Indices of the 2x2 blocks one level below that block `index` merges.

    Args:
        index: int. Block index, row-major, on a `grid_size` grid.
        grid_size: int or `(gh, gw)`. The block grid of the parent's level.

    Returns:
        A list of four indices on the child grid `(2 gh, 2 gw)`, in row-major
        order: top-left, top-right, bottom-left, bottom-right.
    """
    gh, gw = _pair(grid_size, "grid_size")
    index = check_int("index", index)
    if not 0 <= index < gh * gw:
        raise InvalidValueError(f"Block index {index} is outside a {gh}x{gw} grid.")
    row, col = divmod(index, gw)
    child_cols = 2 * gw
    return [(2 * row + a) * child_cols + 2 * col + b for a in (0, 1) for b in (0, 1)]


def block_parent(index, grid_size):
    """Index of the block one level up that contains block `index`.

    `grid_size` is the block grid of the child's level (both sides even).
    """
    gh, gw = _pair(grid_size, "grid_size")
    index = check_int("index", index)
    if not 0 <= index < gh * gw:
        raise InvalidValueError(f"Block index {index} is outside a {gh}x{gw} grid.")
    row, col = divmod(index, gw)
    return (row // 2) * (gw // 2) + col // 2


def block_box(index, grid_size, image_size):
    """Pixel box `(x0, y0, x1, y1)` that block `index` covers in the input.

    Args:
        index: int. Block index, row-major.
        grid_size: int or `(gh, gw)`. Block grid of the block's level.
        image_size: int or `(H, W)`. Input image size in pixels.

    `x1`/`y1` are exclusive, so the boxes of one level tile the image.
    """
    gh, gw = _pair(grid_size, "grid_size")
    height, width = _pair(image_size, "image_size")
    index = check_int("index", index)
    if not 0 <= index < gh * gw:
        raise InvalidValueError(f"Block index {index} is outside a {gh}x{gw} grid.")
    row, col = divmod(index, gw)
    y0, y1 = row * height // gh, (row + 1) * height // gh
    x0, x1 = col * width // gw, (col + 1) * width // gw
    return (x0, y0, x1, y1)
