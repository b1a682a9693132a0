"""The Fréchet distance between Gaussians fitted to two feature sets."""

import numpy as np

from keras_nest.metrics.features import check_features, check_same_width


def gaussian_statistics(features):
    """Mean `(D,)` and unbiased covariance `(D, D)` of `(N, D)` features."""
    x = check_features(features, "features", 2, "to estimate a covariance")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two `(N, D)` feature sets.

        d^2 = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

    `Tr (S_a S_b)^(1/2)` is the sum of the square roots of the eigenvalues of
    `S_a S_b`, which are real and non-negative for covariance matrices (tiny
    negative or imaginary round-off is dropped), so no matrix square root is
    formed. Returns the squared distance, as FID does.

    Example (two 1-D Gaussians: `(0 - 3)^2 + (1 - 2)^2 = 10`, up to sampling):

    >>> rng = np.random.default_rng(0)
    >>> d = frechet_distance(rng.normal(0, 1, (200_000, 1)), rng.normal(3, 2, (200_000, 1)))
    >>> round(float(d), 1)
    10.0
    """
    a = check_features(features_a, "features_a", 2, "to estimate a covariance")
    b = check_features(features_b, "features_b", 2, "to estimate a covariance")
    check_same_width(a, b, "features_a", "features_b")
    mu_a, cov_a = gaussian_statistics(a)
    mu_b, cov_b = gaussian_statistics(b)
    eigenvalues = np.linalg.eigvals(cov_a @ cov_b)
    sqrt_trace = np.sqrt(np.clip(eigenvalues.real, 0.0, None)).sum()
    distance = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * sqrt_trace
    return float(max(distance, 0.0))
