"""`generate_shapes`: a seeded, procedurally drawn shape-classification set.

Every image holds exactly one object of one of `SHAPE_CLASSES` at a random
position, size, rotation, colour and shading, drawn over a cluttered
background (colour gradient, soft or hard stripes, blotchy low-frequency
texture, pixel noise) and 3 to 7 small distractors (line segments, open arcs,
small blobs) that belong to no class. The object is drawn last, so its
boolean mask is exactly what is visible and the box is tight around that
mask; both serve as ground truth for interpretability (does the model look
at the object?).

Drawing is numpy only: every mark is a signed distance on the pixel grid,
turned into anti-aliased coverage (`0.5 - distance`, clipped); the object's
mask is where the distance at the pixel centre is <= 0, i.e. coverage >= 1/2.
Work is vectorised over chunks of images and restricted to a window around
each mark.
"""

import numpy as np

from keras_nest.errors import InvalidValueError
from keras_nest.validation import check_int

SHAPE_CLASSES = ("circle", "ring", "square", "triangle", "crescent", "star", "cross")

# Bumped whenever the drawing changes, so stale disk caches are not reused.
GENERATOR_VERSION = 1

MIN_IMAGE_SIZE = 16
# Images per vectorised chunk: about a million pixels, a good speed trade-off.
_CHUNK_PIXELS = 2**20
_MAX_DISTRACTORS = 7
# A set is refused when its arrays (3 bytes of RGB and 1 of mask per pixel)
# would exceed 16 GiB: 4 million 32x32 images; an accidental 10**9 would
# otherwise only fail when memory runs out.
MAX_ARRAY_BYTES = 16 * 2**30
_BYTES_PER_PIXEL = 4


def generate_shapes(num_examples, image_size=32, seed=0):
    """Draws `num_examples` shape images; the same arguments give the same data.

    Args:
        num_examples: positive int (the images and masks may take at most
            `MAX_ARRAY_BYTES`, 16 GiB).
        image_size: int >= 16, height and width of the square images.
        seed: int >= 0, seed of the whole set.

    Returns:
        A dict with `images` uint8 `(N, S, S, 3)`, `labels` int64 `(N,)`
        (balanced: each class appears `N // num_classes` or one more times),
        `boxes` int32 `(N, 4)` as `(x0, y0, x1, y1)` pixels with `x1`, `y1`
        exclusive, tight around `masks`, bool `(N, S, S)`, and `class_names`.

    Example:

    >>> data = generate_shapes(8, image_size=32, seed=0)
    >>> data["images"].shape, data["images"].dtype, data["masks"].shape
    ((8, 32, 32, 3), dtype('uint8'), (8, 32, 32))
    >>> data["class_names"][:3]
    ['circle', 'ring', 'square']
    >>> x0, y0, x1, y1 = data["boxes"][0]
    >>> bool(data["masks"][0, y0:y1, x0:x1].sum() == data["masks"][0].sum())
    True
    """
    num_examples = check_int("num_examples", num_examples)
    image_size = check_int("image_size", image_size)
    seed = check_int("seed", seed, minimum=0)
    if num_examples <= 0:
        raise InvalidValueError(f"num_examples must be positive (an int >= 1), got {num_examples}.")
    if image_size < MIN_IMAGE_SIZE:
        raise InvalidValueError(f"Shapes are drawn at image_size >= {MIN_IMAGE_SIZE}, got {image_size}.")
    needed = num_examples * image_size**2 * _BYTES_PER_PIXEL
    if needed > MAX_ARRAY_BYTES:
        raise InvalidValueError(
            f"num_examples={num_examples} at image_size {image_size} would need "
            f"{needed / 2**30:.1f} GiB of images and masks (the limit is "
            f"{MAX_ARRAY_BYTES / 2**30:.0f} GiB); draw fewer or smaller images."
        )
    root = np.random.SeedSequence([int(seed), image_size, GENERATOR_VERSION])
    chunk = max(16, _CHUNK_PIXELS // image_size**2)
    label_seed, *chunk_seeds = root.spawn(1 + -(-num_examples // chunk))
    num_classes = len(SHAPE_CLASSES)
    labels = np.random.default_rng(label_seed).permutation(np.arange(num_examples) % num_classes)
    labels = labels.astype(np.int64)

    images = np.empty((num_examples, image_size, image_size, 3), np.uint8)
    masks = np.empty((num_examples, image_size, image_size), bool)
    for i, chunk_seed in enumerate(chunk_seeds):
        sl = slice(i * chunk, min((i + 1) * chunk, num_examples))
        images[sl], masks[sl] = _draw_chunk(np.random.default_rng(chunk_seed), labels[sl],
                                            image_size)
    return {
        "images": images,
        "labels": labels,
        "boxes": mask_boxes(masks),
        "masks": masks,
        "class_names": list(SHAPE_CLASSES),
    }


def mask_boxes(masks):
    """Tight `(x0, y0, x1, y1)` boxes (exclusive ends) of boolean `(N, H, W)` masks.

    Example:

    >>> m = np.zeros((1, 5, 6), bool)
    >>> m[0, 1:3, 2:5] = True
    >>> mask_boxes(m).tolist()
    [[2, 1, 5, 3]]
    """
    masks = np.asarray(masks, bool)
    if masks.ndim != 3:
        raise InvalidValueError(f"masks must be boolean (N, H, W), got shape {masks.shape}.")
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    h, w = masks.shape[1:]
    y0 = rows.argmax(axis=1)
    y1 = h - rows[:, ::-1].argmax(axis=1)
    x0 = cols.argmax(axis=1)
    x1 = w - cols[:, ::-1].argmax(axis=1)
    return np.stack([x0, y0, x1, y1], axis=1).astype(np.int32)


def _draw_chunk(rng, labels, size):
    n = len(labels)
    f32 = np.float32
    canvas = textured_background(rng, n, size)
    draw_distractors(rng, canvas, size)

    # Circumradius r; the centre keeps the whole circumcircle inside the image.
    radius = rng.uniform(0.2, 0.38, n).astype(f32) * size
    cx = rng.uniform(radius + 1, size - radius - 1).astype(f32)
    cy = rng.uniform(radius + 1, size - radius - 1).astype(f32)
    angle = rng.uniform(0, 2 * np.pi, n).astype(f32)
    shape_param = rng.uniform(0, 1, n).astype(f32)
    shading = rng.uniform(-30, 30, n).astype(f32)
    candidates = rng.uniform(0, 255, (n, 6, 3)).astype(f32)

    win = min(size, int(np.ceil(0.76 * size)) + 3)
    rows, cols = _window(cy, win, size), _window(cx, win, size)
    u, v = _local_coords(cols + 0.5, rows + 0.5, cx, cy, angle, radius)
    dist = np.empty_like(u)
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        dist[idx] = _SHAPE_DISTANCE[SHAPE_CLASSES[label]](u[idx], v[idx],
                                                          shape_param[idx, None, None])
    coverage = np.clip(0.5 - dist * radius[:, None, None], 0, 1)[..., None]

    window = np.stack([canvas[i, r[0]:r[0] + win, c[0]:c[0] + win] for i, (r, c)
                       in enumerate(zip(rows, cols))])
    # Colour the object away from the background it covers, so it stays visible.
    under = (window * coverage).sum(axis=(1, 2)) / coverage.sum(axis=(1, 2))
    best = np.linalg.norm(candidates - under[:, None], axis=2).argmax(axis=1)
    fill = candidates[np.arange(n), best][:, None, None, :]
    fill = fill + (shading[:, None, None] * np.clip(u, -1, 1))[..., None]
    window += coverage * (fill - window)

    mask = np.zeros((n, size, size), bool)
    for i, (r, c) in enumerate(zip(rows[:, 0], cols[:, 0])):
        canvas[i, r:r + win, c:c + win] = window[i]
        mask[i, r:r + win, c:c + win] = dist[i] <= 0

    return finish_canvas(rng, canvas), mask


def finish_canvas(rng, canvas):
    """Float `(N, H, W, 3)` canvases plus uniform pixel noise (8 to 50 levels wide) as uint8."""
    noise = rng.random(canvas.shape, dtype=np.float32) - 0.5
    canvas += noise * rng.uniform(8, 50, (len(canvas), 1, 1, 1)).astype(np.float32)
    return np.clip(canvas, 0, 255).round().astype(np.uint8)


def _window(centre, win, size):
    """Pixel indices `(N, win)` of a window around `centre`, kept inside the image.

    Clamping keeps every in-image pixel within `win / 2` of the centre inside
    the window, so nothing drawn there is cut.
    """
    origin = np.clip(np.floor(centre).astype(int) - win // 2, 0, size - win)
    return origin[:, None] + np.arange(win)[None]


def _local_coords(x, y, cx, cy, angle, scale):
    """Coordinates `(N, H, W)` in a mark's frame: centred, rotated, divided by `scale`.

    `x` is `(N, W)` along columns and `y` `(N, H)` along rows.
    """
    dx = (x - cx[:, None])[:, None, :].astype(np.float32)
    dy = (y - cy[:, None])[:, :, None].astype(np.float32)
    c = (np.cos(angle) / scale)[:, None, None]
    s = (np.sin(angle) / scale)[:, None, None]
    return c * dx + s * dy, c * dy - s * dx


# Signed distances in units of the circumradius (negative inside). Polygons
# use the max over edge half-planes: exact along edges, which is all the
# anti-aliasing and the mask need.


def _polygon_distance(points):
    apothem = np.cos(np.pi / points)
    normals = [(np.cos(a), np.sin(a)) for a in np.pi / points * (2 * np.arange(points) + 1)]

    def distance(u, v, p):
        d = normals[0][0] * u + normals[0][1] * v
        for nx, ny in normals[1:]:
            d = np.maximum(d, nx * u + ny * v)
        return d - apothem

    return distance


def _circle(u, v, p):
    return np.sqrt(u * u + v * v) - 1


def _ring(u, v, p):
    rho = np.sqrt(u * u + v * v)
    return np.maximum(rho - 1, (0.5 + 0.15 * p) - rho)


def _crescent(u, v, p):
    # The unit disc minus a disc shifted along +u; `p` sets the bite.
    bite = 0.75 + 0.1 * p
    return np.maximum(np.sqrt(u * u + v * v) - 1, bite - np.sqrt((u - 0.55) ** 2 + v * v))


def _star(u, v, p, points=5):
    # Folding the angle into half a sector leaves one edge, from the outer
    # vertex (1, 0) to the inner vertex at angle pi / points.
    sector = 2 * np.pi / points
    phi = np.mod(np.arctan2(v, u), sector)
    phi = np.minimum(phi, sector - phi)
    rho = np.sqrt(u * u + v * v)
    px, py = rho * np.cos(phi), rho * np.sin(phi)
    inner = 0.38 + 0.1 * p
    ex, ey = inner * np.cos(np.pi / points) - 1, inner * np.sin(np.pi / points)
    return (ey * (px - 1) - ex * py) / np.sqrt(ex * ex + ey * ey)


def _cross(u, v, p):
    half_width = 0.3 + 0.06 * p
    half_length = np.sqrt(1 - half_width * half_width)
    au, av = np.abs(u), np.abs(v)
    return np.minimum(np.maximum(au - half_width, av - half_length),
                      np.maximum(av - half_width, au - half_length))


_SHAPE_DISTANCE = {
    "circle": _circle,
    "ring": _ring,
    "square": _polygon_distance(4),
    "triangle": _polygon_distance(3),
    "crescent": _crescent,
    "star": _star,
    "cross": _cross,
}


def _upsample(coarse, size):
    """Bilinear upsampling of `(N, g, g, C)` to `(N, size, size, C)` by two matmuls."""
    g = coarse.shape[1]
    pos = (np.arange(size, dtype=np.float32) + 0.5) / size * (g - 1)
    lo = np.minimum(pos.astype(int), g - 2)
    frac = pos - lo
    interp = np.zeros((size, g), np.float32)
    interp[np.arange(size), lo] = 1 - frac
    interp[np.arange(size), lo + 1] = frac
    return np.einsum("yi,nijc,xj->nyxc", interp, coarse, interp, optimize=True)


def textured_background(rng, n, size):
    """`n` float32 `(size, size, 3)` clutter backgrounds in `0..255` units.

    A colour gradient, stripes on about two thirds (half of them hard-edged)
    and a blotchy low-frequency texture; pixel noise is added last by the
    callers, over the objects too.
    """
    f32 = np.float32
    grid = (np.arange(size, dtype=f32) + 0.5) / size - 0.5
    col0 = rng.uniform(0, 255, (n, 3)).astype(f32)
    col1 = rng.uniform(0, 255, (n, 3)).astype(f32)
    direction = rng.uniform(0, 2 * np.pi, n).astype(f32)
    steep = rng.uniform(0.5, 1.5, n).astype(f32)
    t = (grid[None, None, :] * (np.cos(direction) * steep)[:, None, None]
         + grid[None, :, None] * (np.sin(direction) * steep)[:, None, None])
    t = np.clip(t + 0.5, 0, 1)[..., None]
    canvas = col0[:, None, None] + (col1 - col0)[:, None, None] * t

    # Stripes on about two thirds of the images, half of them hard-edged.
    freq = rng.uniform(2, 9, n).astype(f32) * 2 * np.pi
    orient = rng.uniform(0, np.pi, n).astype(f32)
    phase = rng.uniform(0, 2 * np.pi, n).astype(f32)
    wave = np.sin(grid[None, None, :] * (freq * np.cos(orient))[:, None, None]
                  + grid[None, :, None] * (freq * np.sin(orient))[:, None, None]
                  + phase[:, None, None])
    hard = rng.uniform(0, 1, n) < 0.5
    wave[hard] = np.tanh(4 * wave[hard])
    amplitude = rng.uniform(10, 55, n).astype(f32) * (rng.uniform(0, 1, n) < 0.65)
    tint = rng.normal(0, 1, (n, 3)).astype(f32)
    tint *= np.sqrt(3) / np.linalg.norm(tint, axis=1, keepdims=True)
    canvas += (amplitude[:, None] * tint)[:, None, None, :] * wave[..., None]

    blotch = rng.normal(0, 1, (n, 5, 5, 3)).astype(f32)
    blotch *= rng.uniform(0, 30, (n, 1, 1, 1)).astype(f32)
    canvas += _upsample(blotch, size)
    return canvas


def draw_distractors(rng, canvas, size):
    """Paints 3 to 7 small non-class marks per image, in place: segments, arcs, blobs."""
    f32 = np.float32
    n = canvas.shape[0]
    count = rng.integers(3, _MAX_DISTRACTORS + 1, n)
    # Every mark fits in a window of half the image around its centre.
    win = min(size, size // 2 + 3)
    for slot in range(_MAX_DISTRACTORS):
        kind = rng.integers(0, 3, n)
        colour = rng.uniform(0, 255, (n, 3)).astype(f32)
        alpha = rng.uniform(0.6, 1.0, n).astype(f32)
        mx = rng.uniform(0, size, n).astype(f32)
        my = rng.uniform(0, size, n).astype(f32)
        half_width = rng.uniform(0.4, 1.0, n).astype(f32) * size / 32
        orient = rng.uniform(0, 2 * np.pi, n).astype(f32)
        length = rng.uniform(0.15, 0.45, n).astype(f32) * size
        arc_radius = rng.uniform(0.08, 0.2, n).astype(f32) * size
        arc_extent = rng.uniform(0.4, 1.3, n).astype(f32) * np.pi
        blob_a = rng.uniform(0.03, 0.09, n).astype(f32) * size
        blob_b = blob_a * rng.uniform(0.35, 1.0, n).astype(f32)
        for k in range(3):
            idx = np.flatnonzero((kind == k) & (slot < count))
            if idx.size == 0:
                continue
            rows, cols = _window(my[idx], win, size), _window(mx[idx], win, size)
            u, v = _local_coords(cols + 0.5, rows + 0.5, mx[idx], my[idx], orient[idx], f32(1))
            if k == 0:  # segment through the centre along `orient`
                half = length[idx, None, None] / 2
                dist = np.sqrt((u - np.clip(u, -half, half)) ** 2 + v * v)
                dist -= half_width[idx, None, None]
            elif k == 1:  # open arc from angle 0 to `arc_extent` around the centre
                rho = np.sqrt(u * u + v * v)
                dist = np.abs(rho - arc_radius[idx, None, None]) - half_width[idx, None, None]
                ext = arc_extent[idx, None, None]
                beyond_end = np.cos(ext) * v - np.sin(ext) * u > 0
                inside = np.where(ext <= np.pi, (v >= 0) & ~beyond_end, (v >= 0) | ~beyond_end)
                dist = np.where(inside, dist, np.inf)
            else:  # small ellipse; the distance is approximate, fine for a blob
                a = blob_a[idx, None, None]
                b = blob_b[idx, None, None]
                dist = (np.sqrt((u / a) ** 2 + (v / b) ** 2) - 1) * b
            cover = (np.clip(0.5 - dist, 0, 1) * alpha[idx, None, None])[..., None]
            paint = colour[idx, None, None, :]
            for j, i in enumerate(idx):
                r, c = rows[j, 0], cols[j, 0]
                patch = canvas[i, r:r + win, c:c + win]
                patch += cover[j] * (paint[j] - patch)
