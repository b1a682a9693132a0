"""Weakly-supervised object localization metrics (Choe et al., CVPR 2020).

All functions take maps `(N, H, W)` in `[0, 1]` (one per image, for the
class being localised) and ground-truth boxes `(N, 4)` as `(x0, y0, x1, y1)`
pixels with `x1`, `y1` exclusive, as `keras_nest.data.load_arrays("shapes")`
returns them. With exclusive ends a box's area is `(x1 - x0) * (y1 - y0)`,
the same as the "+1" convention of the reference code on inclusive ends.

Boxes from a map: keep pixels whose value is above `tau`, label the
8-connected components (`scipy.ndimage.label`), and take the bounding box of
the largest component (MaxBoxAcc, classic CAM) or of every component
(MaxBoxAccV2: an image counts if any of them matches). The reference code
uses OpenCV contours instead; a contour's polygon area and a component's
pixel count can rank two components differently in rare near-ties, and a
component with a hole is one component in both. A map with nothing above
`tau` gives the empty box `(0, 0, 0, 0)`, which matches nothing.

`tau` is swept over `thresholds` (default `0, 0.01, ..., 0.99`; the
reference uses steps of 0.001 on 224-pixel maps, which changes results by
well under a point on the maps here while costing 10x the time).

Arguments are checked at every public function: map thresholds `tau` lie
in `[0, 1)` (a map in `[0, 1]` has nothing above 1), IoU thresholds in
`(0, 1]` (at 0 every box, even an empty one, would count as a hit), a
threshold step in `[0.0001, 1]`; a bad value raises a ValueError or
TypeError naming the argument.
"""

import numpy as np
from scipy import ndimage

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.validation import check_bool, check_float, check_int, check_int_tuple, check_numeric_array

IOU_THRESHOLDS = (0.3, 0.5, 0.7)
MIN_THRESHOLD_STEP = 1e-4
MAX_PXAP_BINS = 1_000_000
_EIGHT_CONNECTED = np.ones((3, 3), bool)


def default_thresholds(step=0.01, name="step"):
    """The `tau` sweep `0, step, 2 step, ... < 1`; `step` in `[0.0001, 1]`.

    Example:

    >>> default_thresholds(0.25).tolist()
    [0.0, 0.25, 0.5, 0.75]
    """
    step = check_float(name, step, minimum=MIN_THRESHOLD_STEP, maximum=1.0)
    return np.arange(0.0, 1.0, step)


def _numbers(name, values, what):
    """`values` as a non-empty, finite 1-D float64 array."""
    if isinstance(values, (str, bytes)):
        raise InvalidTypeError(f"{name} must be {what}; got {values!r}.")
    try:
        array = np.asarray(values, np.float64)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"{name} must be {what}; got {values!r}.") from None
    if array.ndim != 1 or array.size == 0:
        raise InvalidValueError(f"{name} must be {what}; got shape {array.shape}: {values!r}.")
    if not np.all(np.isfinite(array)):
        raise InvalidValueError(f"{name} must be {what}; got {values!r}.")
    return array


def _check_thresholds(thresholds):
    if thresholds is None:
        return default_thresholds()
    what = "a non-empty sequence of map thresholds in [0, 1)"
    array = _numbers("thresholds", thresholds, what)
    if np.any((array < 0) | (array >= 1)):
        raise InvalidValueError(f"thresholds must be {what}; got {np.asarray(thresholds).tolist()}.")
    return array


def _check_iou_thresholds(iou_thresholds):
    what = "a non-empty sequence of IoU thresholds in (0, 1]"
    array = _numbers("iou_thresholds", iou_thresholds, what)
    if np.any((array <= 0) | (array > 1)):
        raise InvalidValueError(f"iou_thresholds must be {what}; got {np.asarray(iou_thresholds).tolist()}.")
    return array


def _check_iou(iou_threshold):
    return check_float("iou_threshold", iou_threshold, minimum=0.0, maximum=1.0, min_inclusive=False)


def _check_tau(tau):
    return check_float("tau", tau, minimum=0.0, maximum=1.0, max_inclusive=False)


def _check(maps, boxes=None):
    try:
        maps = np.asarray(maps, np.float32)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"maps must be a numeric (N, H, W) array; got {type(maps).__name__}.") from None
    if maps.ndim != 3:
        raise InvalidValueError(f"maps must be (N, H, W); got shape {maps.shape}.")
    if not np.all(np.isfinite(maps)) or maps.min(initial=0) < 0 or maps.max(initial=0) > 1:
        raise InvalidValueError("maps must be finite and in [0, 1]; normalise them first (normalize_maps).")
    if boxes is None:
        return maps
    return maps, _check_boxes("boxes", boxes, len(maps)).astype(np.int64)


def _check_boxes(name, boxes, count=None):
    """Numeric `(count, 4)` boxes `(x0, y0, x1, y1)` with `x0 <= x1`, `y0 <= y1`."""
    boxes = check_numeric_array(name, boxes, "a numeric array of (x0, y0, x1, y1) boxes")
    rows = "k" if count is None else count
    if boxes.ndim != 2 or boxes.shape[1] != 4 or (count is not None and len(boxes) != count):
        raise InvalidValueError(f"{name} must be ({rows}, 4) as (x0, y0, x1, y1); got shape {boxes.shape}.")
    if not np.all(np.isfinite(boxes)):
        raise InvalidValueError(f"{name} hold NaN or infinite coordinates.")
    flipped = np.flatnonzero((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))
    if flipped.size:
        i = int(flipped[0])
        raise InvalidValueError(
            f"{name}[{i}] is {boxes[i].tolist()}: boxes are (x0, y0, x1, y1) with x0 <= x1 and "
            "y0 <= y1."
        )
    return boxes


def boxes_from_map(heatmap, tau, all_components=True):
    """Boxes `(k, 4)` around the components of `heatmap > tau`.

    Example:

    >>> m = np.zeros((8, 8)); m[1:3, 1:4] = 1.0; m[5:8, 6] = 0.6
    >>> boxes_from_map(m, 0.5).tolist()
    [[1, 1, 4, 3], [6, 5, 7, 8]]
    >>> boxes_from_map(m, 0.5, all_components=False).tolist()
    [[1, 1, 4, 3]]
    >>> boxes_from_map(m, 0.99, all_components=False).tolist()
    [[1, 1, 4, 3]]
    """
    heatmap = np.asarray(heatmap)
    if heatmap.ndim != 2:
        raise InvalidValueError(f"heatmap must be one (H, W) map; got shape {heatmap.shape}.")
    tau = check_float("tau", tau)
    all_components = check_bool("all_components", all_components)
    labels, count = ndimage.label(heatmap > tau, structure=_EIGHT_CONNECTED)
    if count == 0:
        return np.zeros((1, 4), np.int64)
    slices = ndimage.find_objects(labels)
    boxes = np.array([(s[1].start, s[0].start, s[1].stop, s[0].stop) for s in slices], np.int64)
    if all_components:
        return boxes
    sizes = np.bincount(labels.ravel())[1:]
    return boxes[[int(np.argmax(sizes))]]


def box_iou(boxes, box):
    """IoU of each of `boxes` `(k, 4)` with one `box`, exclusive ends.

    Example:

    >>> box_iou(np.array([[0, 0, 4, 4], [2, 0, 6, 4], [8, 8, 9, 9]]), np.array([0, 0, 4, 4])).tolist()
    [1.0, 0.3333333333333333, 0.0]
    """
    boxes = _check_boxes("boxes", [boxes] if np.ndim(boxes) == 1 else boxes)
    box = _check_boxes("box", [box] if np.ndim(box) == 1 else box, 1)[0]
    boxes, box = boxes.astype(np.float64), box.astype(np.float64)
    width = np.clip(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0, None)
    height = np.clip(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0, None)
    inter = width * height
    union = _box_area(boxes) + _box_area(box) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def _box_area(boxes):
    return np.clip(boxes[..., 2] - boxes[..., 0], 0, None) * np.clip(boxes[..., 3] - boxes[..., 1], 0, None)


def best_ious(maps, gt_boxes, thresholds=None, all_components=True):
    """The best IoU with the ground truth per image and threshold: `(N, len(thresholds))`."""
    maps, gt_boxes = _check(maps, gt_boxes)
    thresholds = _check_thresholds(thresholds)
    all_components = check_bool("all_components", all_components)
    out = np.zeros((len(maps), len(thresholds)))
    for i, (heatmap, box) in enumerate(zip(maps, gt_boxes)):
        for j, tau in enumerate(thresholds):
            out[i, j] = box_iou(boxes_from_map(heatmap, tau, all_components), box).max()
    return out


def box_accuracy_curve(maps, gt_boxes, iou_thresholds=IOU_THRESHOLDS, thresholds=None, all_components=True):
    """Box accuracy per IoU threshold and map threshold: `(len(iou), len(thresholds))`."""
    iou_thresholds = _check_iou_thresholds(iou_thresholds)
    ious = best_ious(maps, gt_boxes, thresholds, all_components)
    return np.stack([(ious >= delta).mean(axis=0) for delta in iou_thresholds])


def max_box_acc_v2(maps, gt_boxes, iou_thresholds=IOU_THRESHOLDS, thresholds=None):
    """MaxBoxAccV2: mean over IoU thresholds of the best box accuracy over `tau`.

    Boxes come from every component above `tau`. Returns a float in `[0, 1]`.

    Example (a map that is exactly the box, and one that misses it):

    >>> maps = np.zeros((2, 16, 16), np.float32); maps[0, 2:6, 3:9] = 1.0; maps[1, 12:, 12:] = 1.0
    >>> float(max_box_acc_v2(maps, np.array([[3, 2, 9, 6], [0, 0, 4, 4]])))
    0.5
    """
    curve = box_accuracy_curve(maps, gt_boxes, iou_thresholds, thresholds, all_components=True)
    return float(curve.max(axis=1).mean())


def max_box_acc(maps, gt_boxes, iou_threshold=0.5, thresholds=None):
    """MaxBoxAcc (version 1): best accuracy over `tau` at one IoU, largest component only."""
    iou_threshold = _check_iou(iou_threshold)
    curve = box_accuracy_curve(maps, gt_boxes, (iou_threshold,), thresholds, all_components=False)
    return float(curve.max())


def best_threshold(maps, gt_boxes, iou_threshold=0.5, thresholds=None):
    """The `tau` that maximises largest-component box accuracy (choose it on held-out data)."""
    iou_threshold = _check_iou(iou_threshold)
    thresholds = _check_thresholds(thresholds)
    curve = box_accuracy_curve(maps, gt_boxes, (iou_threshold,), thresholds, all_components=False)
    return float(thresholds[int(np.argmax(curve[0]))])


def gt_known_localization(maps, gt_boxes, tau, iou_threshold=0.5):
    """GT-known Loc: share of images whose largest-component box at `tau` has IoU >= 0.5.

    The maps must be those of each image's ground-truth class.
    """
    tau, iou_threshold = _check_tau(tau), _check_iou(iou_threshold)
    ious = best_ious(maps, gt_boxes, [tau], all_components=False)[:, 0]
    return float((ious >= iou_threshold).mean())


def top1_localization(maps, gt_boxes, predicted, labels, tau, iou_threshold=0.5):
    """Top-1 Loc: the predicted class is right and its map's box has IoU >= 0.5.

    `maps` are those of each image's predicted class.
    """
    tau, iou_threshold = _check_tau(tau), _check_iou(iou_threshold)
    ious = best_ious(maps, gt_boxes, [tau], all_components=False)[:, 0]
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    for name, values in (("predicted", predicted), ("labels", labels)):
        if values.shape != ious.shape or not np.issubdtype(values.dtype, np.integer):
            raise InvalidValueError(
                f"{name} must be {len(ious)} integer class indices, one per map; got shape "
                f"{values.shape} and dtype {values.dtype}."
            )
    correct = predicted == labels
    return float(((ious >= iou_threshold) & correct).mean())


def pxap(maps, masks, bins=1000):
    """Pixel average precision: area under the pixel precision-recall curve.

    Every pixel of every image is one prediction scored by its map value;
    the object mask says which are positive. Returns a float in `[0, 1]`.

    Example (perfect, then reversed maps):

    >>> masks = np.zeros((1, 4, 4), bool); masks[0, :2] = True
    >>> round(pxap(masks.astype(np.float32), masks), 3), round(pxap(1.0 - masks, masks), 3)
    (1.0, 0.5)
    """
    maps = _check(maps)
    bins = check_int("bins", bins, minimum=1, maximum=MAX_PXAP_BINS)
    masks = np.asarray(masks, bool)
    if masks.shape != maps.shape:
        raise InvalidValueError(f"masks must match maps {maps.shape}; got {masks.shape}.")
    if not masks.any():
        raise InvalidValueError("The masks hold no object pixels; PxAP is undefined.")
    edges = np.linspace(0.0, 1.0, bins + 1)
    positive = np.histogram(maps[masks], bins=edges)[0]
    negative = np.histogram(maps[~masks], bins=edges)[0]
    # Predictions at threshold `edges[i]`: every pixel in bins >= i.
    tp = np.cumsum(positive[::-1])[::-1].astype(np.float64)
    fp = np.cumsum(negative[::-1])[::-1].astype(np.float64)
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / masks.sum()
    recall_steps = recall - np.append(recall[1:], 0.0)
    return float(np.sum(precision * recall_steps))


def centre_maps(num_images, image_size, sigma=0.25):
    """The centre baseline: an isotropic Gaussian at the image centre.

    Swept over `tau` it proposes centred boxes of every size, so its
    MaxBoxAccV2 is that of the best centred box (Choe et al.'s baseline).
    `sigma` is a fraction of the image side.
    """
    num_images = check_int("num_images", num_images, minimum=1)
    height, width = check_int_tuple("image_size", image_size, length=2)
    sigma = check_float("sigma", sigma, minimum=0.0, min_inclusive=False)
    ys = (np.arange(height) + 0.5) / height - 0.5
    xs = (np.arange(width) + 0.5) / width - 0.5
    gauss = np.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * sigma**2)).astype(np.float32)
    gauss = (gauss - gauss.min()) / (gauss.max() - gauss.min())
    return np.broadcast_to(gauss, (num_images, height, width)).copy()
