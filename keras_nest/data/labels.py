"""Checking integer class labels."""

import numpy as np


def check_labels(labels, num_classes=None, num_images=None):
    """Returns `(labels as int64, num_classes)`, or raises a ValueError saying what is wrong.

    Args:
        labels: 1-D class indices (integers, or floats holding integers).
        num_classes: number of classes; `None` infers `max(labels) + 1`.
        num_images: if given, the number of labels must match it.

    Example:

    >>> check_labels([0, 2, 1])
    (array([0, 2, 1]), 3)
    >>> check_labels([0, 3], num_classes=3)
    Traceback (most recent call last):
        ...
    ValueError: Label 3 at index 1 is out of range for 3 classes (valid: 0..2); ...
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be a 1-D array of class indices, got shape {y.shape}.")
    if num_images is not None and len(y) != num_images:
        raise ValueError(f"Got {num_images} images but {len(y)} labels.")
    if len(y) == 0:
        raise ValueError("The dataset is empty: no labels.")
    if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {y.dtype}.")
    y = y.astype(np.int64)
    if num_classes is None:
        num_classes = max(int(y.max()) + 1, 1)
    num_classes = int(num_classes)
    if num_classes <= 0:
        raise ValueError(f"num_classes must be positive, got {num_classes}.")
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"Label {int(y[i])} at index {i} is out of range for {num_classes} classes "
            f"(valid: 0..{num_classes - 1}); {bad.size} label(s) are out of range."
        )
    return y, num_classes
