"""Checks shared by every metric on `(N, D)` feature arrays."""

import numpy as np

from keras_nest.errors import InvalidValueError


def check_features(x, name, min_rows, purpose):
    """`x` as a float64 `(N, D)` array; an error naming `name` if it is not one, has NaN or too few rows.

    `purpose` ends the too-few-rows message ("to estimate a covariance").
    """
    x = np.asarray(x, np.float64)
    if x.ndim != 2:
        raise InvalidValueError(f"{name} must be an (N, D) array of features; got shape {x.shape}.")
    if len(x) < min_rows:
        raise InvalidValueError(f"{name} needs at least {min_rows} rows {purpose}; got {len(x)}.")
    if not np.all(np.isfinite(x)):
        raise InvalidValueError(f"{name} contains NaN or infinite values; check the images and the extractor.")
    return x


def check_same_width(a, b, name_a, name_b):
    """An error unless the `(N, D)` arrays `a` and `b` have the same `D`."""
    if a.shape[1] != b.shape[1]:
        raise InvalidValueError(f"Feature sizes differ: {name_a} has {a.shape[1]}, {name_b} has {b.shape[1]}; "
                                "both must come from the same feature extractor.")
