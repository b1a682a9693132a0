"""Distances between image distributions in a feature space: Fréchet and kernel (KID).

The math works on any `(N, D)` feature arrays. Which network produced the
features decides the metric's name: only InceptionV3 pool features with the
reference weights give "FID"; the built-in extractors are reported as
`FD-<extractor>` / `KD-<extractor>`.
"""

from keras_nest.metrics.extractors import (
    FeatureExtractor,
    classifier_extractor,
    generator_distances,
    inception_extractor,
    score_generator,
)
from keras_nest.metrics.frechet import frechet_distance, gaussian_statistics
from keras_nest.metrics.kernel import kernel_distance

__all__ = [
    "FeatureExtractor",
    "classifier_extractor",
    "frechet_distance",
    "gaussian_statistics",
    "generator_distances",
    "inception_extractor",
    "kernel_distance",
    "score_generator",
]
