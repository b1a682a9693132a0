"""The block layout of NesT's levels: one `LevelGeometry` per level."""

import dataclasses

from keras_nest.errors import InvalidValueError


@dataclasses.dataclass(frozen=True)
class LevelGeometry:
    """How one NesT level lays its tokens out.

    Attributes:
        grid_size: `(gh, gw)`, blocks per column and per row.
        block_size: `(bh, bw)`, tokens per block side.
        plane_size: `(gh * bh, gw * bw)`, tokens per side of the whole level.

    Example:

    >>> g = LevelGeometry(grid_size=(4, 4), block_size=(4, 16), plane_size=(16, 64))
    >>> g.num_blocks, g.tokens_per_block
    (16, 64)
    """

    grid_size: tuple
    block_size: tuple
    plane_size: tuple

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, tuple(int(v) for v in getattr(self, field.name)))

    @property
    def num_blocks(self):
        """`gh * gw`, the `T` of the level's `(B, T, n, C)` tokens."""
        return self.grid_size[0] * self.grid_size[1]

    @property
    def tokens_per_block(self):
        """`bh * bw`, the `n` of the level's `(B, T, n, C)` tokens."""
        return self.block_size[0] * self.block_size[1]



def _valid_sizes_near(value, multiple):
    below = (value // multiple) * multiple
    sizes = [s for s in (below, below + multiple) if s > 0]
    return " or ".join(str(s) for s in sizes)


def level_geometry(image_size, patch_size, num_levels):
    """Block layout of every level for an input size.

    NesT keeps the number of blocks per level fixed (`4**(L-1-l)` at level
    `l`, one block at the top) and lets the block size follow the input, as
    the official code does when it runs at 384 px. So the patch grid must
    divide into `2**(L-1)` blocks per side.

    Returns:
        A tuple with one `LevelGeometry` per level (level 0 first).

    Raises:
        ValueError: the size cannot be laid out; the message names sizes
            that can.

    Example:

    >>> [g.grid_size for g in level_geometry((16, 64), 1, 3)]
    [(4, 4), (2, 2), (1, 1)]
    >>> level_geometry((16, 64), 1, 3)[0].block_size
    (4, 16)
    """
    height, width = image_size
    blocks = 2 ** (num_levels - 1)
    multiple = patch_size * blocks
    for side_name, side in (("height", height), ("width", width)):
        if side is None:
            raise InvalidValueError("NesT needs a static image size; got None in input_shape.")
        if side % multiple:
            detail = (
                f"{side}/{patch_size} = {side / patch_size:g} patches"
                if side % patch_size
                else f"{side // patch_size} patches do not split into {blocks} blocks"
            )
            raise InvalidValueError(
                f"Image {side_name} {side} does not fit this NesT: with patch size "
                f"{patch_size} and {num_levels} levels ({blocks}x{blocks} blocks at "
                f"level 0), {detail}. Use a multiple of {multiple}, e.g. "
                f"{_valid_sizes_near(side, multiple)}."
            )
    block = (height // multiple, width // multiple)
    geometry = []
    for level in range(num_levels):
        grid = 2 ** (num_levels - 1 - level)
        geometry.append(
            LevelGeometry(
                grid_size=(grid, grid),
                block_size=block,
                plane_size=(grid * block[0], grid * block[1]),
            )
        )
    return tuple(geometry)
