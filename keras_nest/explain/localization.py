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
"""

import numpy as np
from scipy import ndimage

IOU_THRESHOLDS = (0.3, 0.5, 0.7)
_EIGHT_CONNECTED = np.ones((3, 3), bool)


def default_thresholds(step=0.01):
    return np.arange(0.0, 1.0, step)


def _check(maps, boxes=None):
    maps = np.asarray(maps, np.float32)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (N, H, W); got shape {maps.shape}.")
    if not np.all(np.isfinite(maps)) or maps.min(initial=0) < 0 or maps.max(initial=0) > 1:
        raise ValueError("maps must be finite and in [0, 1]; normalise them first (normalize_maps).")
    if boxes is None:
        return maps
    boxes = np.asarray(boxes)
    if boxes.shape != (len(maps), 4):
        raise ValueError(f"boxes must be ({len(maps)}, 4) as (x0, y0, x1, y1); got shape {boxes.shape}.")
    return maps, boxes.astype(np.int64)


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
    labels, count = ndimage.label(np.asarray(heatmap) > tau, structure=_EIGHT_CONNECTED)
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
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    box = np.asarray(box, np.float64)
    width = np.clip(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0, None)
    height = np.clip(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0, None)
    inter = width * height
    area = lambda b: np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)
    union = area(boxes) + area(box) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def best_ious(maps, gt_boxes, thresholds=None, all_components=True):
    """The best IoU with the ground truth per image and threshold: `(N, len(thresholds))`."""
    maps, gt_boxes = _check(maps, gt_boxes)
    thresholds = default_thresholds() if thresholds is None else np.asarray(thresholds)
    out = np.zeros((len(maps), len(thresholds)))
    for i, (heatmap, box) in enumerate(zip(maps, gt_boxes)):
        for j, tau in enumerate(thresholds):
            out[i, j] = box_iou(boxes_from_map(heatmap, tau, all_components), box).max()
    return out


def box_accuracy_curve(maps, gt_boxes, iou_thresholds=IOU_THRESHOLDS, thresholds=None, all_components=True):
    """Box accuracy per IoU threshold and map threshold: `(len(iou), len(thresholds))`."""
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
    curve = box_accuracy_curve(maps, gt_boxes, (iou_threshold,), thresholds, all_components=False)
    return float(curve.max())


def best_threshold(maps, gt_boxes, iou_threshold=0.5, thresholds=None):
    """The `tau` that maximises largest-component box accuracy (choose it on held-out data)."""
    thresholds = default_thresholds() if thresholds is None else np.asarray(thresholds)
    curve = box_accuracy_curve(maps, gt_boxes, (iou_threshold,), thresholds, all_components=False)
    return float(thresholds[int(np.argmax(curve[0]))])


def gt_known_localization(maps, gt_boxes, tau, iou_threshold=0.5):
    """GT-known Loc: share of images whose largest-component box at `tau` has IoU >= 0.5.

    The maps must be those of each image's ground-truth class.
    """
    ious = best_ious(maps, gt_boxes, [tau], all_components=False)[:, 0]
    return float((ious >= iou_threshold).mean())


def top1_localization(maps, gt_boxes, predicted, labels, tau, iou_threshold=0.5):
    """Top-1 Loc: the predicted class is right and its map's box has IoU >= 0.5.

    `maps` are those of each image's predicted class.
    """
    ious = best_ious(maps, gt_boxes, [tau], all_components=False)[:, 0]
    correct = np.asarray(predicted) == np.asarray(labels)
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
    masks = np.asarray(masks, bool)
    if masks.shape != maps.shape:
        raise ValueError(f"masks must match maps {maps.shape}; got {masks.shape}.")
    if not masks.any():
        raise ValueError("The masks hold no object pixels; PxAP is undefined.")
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
    height, width = image_size
    ys = (np.arange(height) + 0.5) / height - 0.5
    xs = (np.arange(width) + 0.5) / width - 0.5
    gauss = np.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * sigma**2)).astype(np.float32)
    gauss = (gauss - gauss.min()) / (gauss.max() - gauss.min())
    return np.broadcast_to(gauss, (num_images, height, width)).copy()
