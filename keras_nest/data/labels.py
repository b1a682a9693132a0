"""Checking integer class labels, and how many classes they stand for.

The number of classes is taken, in order, from an explicit `num_classes`,
from the length of explicit `class_names`, or inferred as `max(labels) + 1`.
Inference is only trusted when it is unambiguous: **every class
`0 .. max(labels)` must occur at least once**. Otherwise the labels are a
subset of a larger label set (a test split missing a class, ids such as
`10**9` that are not indices) and `max + 1` would build nonsense, e.g. a
billion class names for one stray label; such labels are refused with a
message to pass `num_classes=` (or `class_names=`) explicitly. The check
sorts the labels (`np.unique`), so it never allocates per-class memory.

An explicit count must be an int in `1 .. MAX_CLASSES` (one million: the
largest label spaces in practice, face identities or extreme
classification, are around that size). Every class gets a name and a
one-hot column, so a batch of 32 one-hot labels at a million classes is
already 128 MB; a larger count is refused rather than allowed to exhaust
memory later.
"""

import numpy as np

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.validation import check_int

MAX_CLASSES = 1_000_000


def check_num_classes(num_classes):
    """`num_classes` as an int in `1 .. MAX_CLASSES`.

    Example:

    >>> check_num_classes(10)
    10
    >>> check_num_classes(10**9)
    Traceback (most recent call last):
        ...
    keras_nest.errors.InvalidValueError: num_classes must be an int in [1, 1000000], got 1000000000.
    """
    return check_int("num_classes", num_classes, minimum=1, maximum=MAX_CLASSES)


def check_class_names(class_names, num_classes=None):
    """`class_names` (a sequence of distinct names) as a list, or None.

    Example:

    >>> check_class_names(("cat", "dog"), 2)
    ['cat', 'dog']
    >>> check_class_names(["cat", "dog"], 3)
    Traceback (most recent call last):
        ...
    keras_nest.errors.InvalidValueError: Got 2 class_names for 3 classes (num_classes=3); pass one name per class.
    """
    if class_names is None:
        return None
    if isinstance(class_names, (str, bytes)) or not hasattr(class_names, "__len__") \
            or not hasattr(class_names, "__iter__"):
        raise InvalidTypeError(
            f"class_names must be a list or tuple of names, one per class, got "
            f"{class_names!r} ({type(class_names).__name__})."
        )
    names = list(class_names)
    if not names:
        raise InvalidValueError("class_names is empty; pass one name per class.")
    if len(names) > MAX_CLASSES:
        raise InvalidValueError(f"Got {len(names)} class_names; at most {MAX_CLASSES} classes are supported.")
    if num_classes is not None and len(names) != num_classes:
        raise InvalidValueError(
            f"Got {len(names)} class_names for {num_classes} classes (num_classes={num_classes}); "
            "pass one name per class."
        )
    seen = set()
    for name in names:
        key = str(name)
        if key in seen:
            raise InvalidValueError(f"class_names must be distinct; {key!r} appears more than once.")
        seen.add(key)
    return names


def check_labels(labels, num_classes=None, num_images=None):
    """Returns `(labels as int64, num_classes)`, or raises a ValueError saying what is wrong.

    Args:
        labels: 1-D class indices (integers, or floats holding integers).
        num_classes: number of classes (an int in `1 .. MAX_CLASSES`);
            `None` infers `max(labels) + 1`, which is refused unless every
            class `0 .. max(labels)` occurs (see the module docstring).
        num_images: if given, the number of labels must match it.

    Example:

    >>> check_labels([0, 2, 1])
    (array([0, 2, 1]), 3)
    >>> check_labels([0, 3], num_classes=3)
    Traceback (most recent call last):
        ...
    keras_nest.errors.InvalidValueError: Label 3 at index 1 is out of range for 3 classes (valid: 0..2); ...
    >>> check_labels([0, 1, 10**9])
    Traceback (most recent call last):
        ...
    keras_nest.errors.InvalidValueError: Cannot infer the number of classes from the labels: ...
    """
    if num_classes is not None:
        num_classes = check_num_classes(num_classes)
    try:
        y = np.asarray(labels)
    except (TypeError, ValueError):
        raise InvalidValueError(
            f"labels must be a 1-D array of class indices, got {type(labels).__name__}."
        ) from None
    if y.ndim != 1:
        raise InvalidValueError(f"labels must be a 1-D array of class indices, got shape {y.shape}.")
    if num_images is not None and len(y) != num_images:
        raise InvalidValueError(f"Got {num_images} images but {len(y)} labels.")
    if len(y) == 0:
        raise InvalidValueError("The dataset is empty: no labels.")
    if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.integer):
        raise InvalidValueError(f"labels must be integer class indices, got dtype {y.dtype}.")
    y = y.astype(np.int64)
    low, high = int(y.min()), int(y.max())
    inferred = num_classes is None
    if inferred:
        # max + 1 names the out-of-range message when a label is negative.
        num_classes = max(high + 1, 1)
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if bad.size:
        i = int(bad[0])
        raise InvalidValueError(
            f"Label {int(y[i])} at index {i} is out of range for {num_classes} classes "
            f"(valid: 0..{num_classes - 1}); {bad.size} label(s) are out of range."
        )
    if inferred and low >= 0:
        present = np.unique(y)
        if len(present) < num_classes:
            missing = _first_missing(present)
            raise InvalidValueError(
                "Cannot infer the number of classes from the labels: the largest label is "
                f"{high}, which would mean {num_classes} classes, but only {len(present)} "
                f"distinct label(s) occur in {len(y)} example(s) (class {missing} never does). "
                "Pass num_classes= (or class_names=) explicitly."
            )
        if num_classes > MAX_CLASSES:
            raise InvalidValueError(
                f"The labels go up to {high}, i.e. {num_classes} classes; at most {MAX_CLASSES} "
                "classes are supported."
            )
    return y, num_classes


def _first_missing(present):
    """The smallest non-negative int absent from sorted, distinct, non-negative `present`."""
    gaps = np.flatnonzero(present != np.arange(len(present)))
    return int(gaps[0]) if gaps.size else len(present)
