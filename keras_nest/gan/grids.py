"""Sample grids: generated images tiled into one PNG."""

import math

import numpy as np

from keras_nest.io_utils import atomic_write


def tile(images, columns=None):
    """`(N, H, W, C)` images in [-1, 1] to one uint8 `(rows*H, cols*W, C)` mosaic (1-px gaps)."""
    images = np.asarray(images, np.float32)
    n, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    canvas = np.full((rows * (height + 1) + 1, columns * (width + 1) + 1, channels), 255, np.uint8)
    pixels = np.clip((images + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    for i, image in enumerate(pixels):
        r, c = divmod(i, columns)
        canvas[1 + r * (height + 1):1 + r * (height + 1) + height,
               1 + c * (width + 1):1 + c * (width + 1) + width] = image
    return canvas


def save_grid(images, path, columns=None):
    """Writes `tile(images)` as a PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    canvas = tile(images, columns)
    if canvas.shape[-1] == 1:
        canvas = canvas[..., 0]
    atomic_write(path, lambda tmp: plt.imsave(tmp, canvas, format="png", cmap="gray"))
    return path
