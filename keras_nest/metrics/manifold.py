"""Fidelity and diversity from k-nearest-neighbour balls: precision, recall, density, coverage.

A Fréchet distance folds fidelity (do samples look real?) and diversity (do
they cover the data?) into one number, so a generator that draws a few
modes sharply can score well. These metrics keep the two apart. Each set's
manifold is estimated as the union of balls around its feature vectors,
each ball reaching to that vector's k-th nearest neighbour in its own set:

* precision: share of generated samples inside the real manifold;
* recall: share of real samples inside the generated manifold
  (Kynkäänniemi et al., "Improved Precision and Recall Metric for
  Assessing Generative Models", NeurIPS 2019; k = 3);
* density: how many real balls hold each generated sample, over k (about
  1 when both sets come from one distribution; unlike precision it is not
  capped at 1, and it falls with samples off the real manifold);
* coverage: share of real samples whose ball holds at least one generated
  sample (Naeem et al., "Reliable Fidelity and Diversity Metrics for
  Generative Models", ICML 2020; k = 5), robust to the outliers that
  inflate recall.

Distances are Euclidean, balls open (`<`), as in the authors' `prdc`
package, which these functions match (tested). Memory is bounded: distances
are computed in blocks of rows, never as a full `(N, M)` matrix.
"""

import numpy as np

from keras_nest.metrics.features import check_features, check_same_width
from keras_nest.validation import check_int

_BLOCK_ROWS = 1024


def precision_recall(real_features, fake_features, k=3):
    """Improved precision and recall of `fake_features` against `real_features`.

    Args:
        real_features: `(N, D)` features of real images, N >= k + 1.
        fake_features: `(M, D)` features of generated images, M >= k + 1,
            from the same extractor.
        k: int >= 1, the neighbour that sets each ball's radius (the
            paper's 3).

    Returns:
        `{"precision": p, "recall": r}`, floats in [0, 1].

    Raises:
        InvalidValueError: an argument is not 2-D, has NaN or infinite
            values or fewer than k + 1 rows, or the widths differ.

    Example (one distribution against itself):

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 8))
    >>> precision_recall(x, x)
    {'precision': 1.0, 'recall': 1.0}
    """
    k = check_int("k", k, minimum=1)
    real, fake = _checked(real_features, fake_features, k, fake_rows=k + 1)
    real_radii, fake_radii = knn_radii(real, k), knn_radii(fake, k)
    precise = np.zeros(len(fake), bool)
    recalled = np.zeros(len(real), bool)
    for rows, distances in _distance_blocks(fake, real):
        precise[rows] = (distances < real_radii).any(axis=1)
        recalled |= (distances < fake_radii[rows, None]).any(axis=0)
    return {"precision": float(precise.mean()), "recall": float(recalled.mean())}


def density_coverage(real_features, fake_features, k=5):
    """Density and coverage of `fake_features` against `real_features`.

    Args:
        real_features: `(N, D)` features of real images, N >= k + 1.
        fake_features: `(M, D)` features of generated images, M >= 1,
            from the same extractor.
        k: int >= 1, the neighbour that sets each real ball's radius (the
            paper's 5).

    Returns:
        `{"density": d, "coverage": c}`: d >= 0 (about 1 for a generator
        that matches the data), c in [0, 1].

    Raises:
        InvalidValueError: as for `precision_recall` (only the real set
            needs k + 1 rows).

    Example (one set against itself: each ball holds its centre and the
    k - 1 nearer neighbours, so density is 1 up to round-off at the k-th):

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 8))
    >>> {name: round(value, 2) for name, value in density_coverage(x, x).items()}
    {'density': 1.0, 'coverage': 1.0}
    """
    k = check_int("k", k, minimum=1)
    real, fake = _checked(real_features, fake_features, k, fake_rows=1)
    real_radii = knn_radii(real, k)
    inside = 0
    nearest_fake = np.full(len(real), np.inf)
    for _, distances in _distance_blocks(fake, real):
        inside += int((distances < real_radii).sum())
        nearest_fake = np.minimum(nearest_fake, distances.min(axis=0))
    return {"density": inside / (k * len(fake)), "coverage": float((nearest_fake < real_radii).mean())}


def knn_radii(features, k):
    """`(N,)` distance from each row of `(N, D)` `features` to its k-th nearest other row."""
    radii = np.empty(len(features))
    for rows, distances in _distance_blocks(features, features):
        # Column 0 of the sorted row is the row itself (distance 0), so index k is the k-th neighbour.
        radii[rows] = np.partition(distances, k, axis=1)[:, k]
    return radii


def _checked(real_features, fake_features, k, fake_rows):
    purpose = f"to find each row's k={k} nearest neighbours"
    real = check_features(real_features, "real_features", k + 1, purpose)
    fake = check_features(fake_features, "fake_features", fake_rows,
                          purpose if fake_rows > 1 else "to score")
    check_same_width(real, fake, "real_features", "fake_features")
    return real, fake


def _distance_blocks(a, b):
    """Yields `(rows, distances)`: Euclidean distances `(len(rows), len(b))` from blocks of `a`'s rows to `b`."""
    b_squared = np.einsum("ij,ij->i", b, b)
    for start in range(0, len(a), _BLOCK_ROWS):
        rows = slice(start, min(start + _BLOCK_ROWS, len(a)))
        block = a[rows]
        squared = np.einsum("ij,ij->i", block, block)[:, None] + b_squared - 2.0 * block @ b.T
        yield rows, np.sqrt(np.maximum(squared, 0.0))
