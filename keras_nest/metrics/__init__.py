"""Distances between image distributions in a feature space: Fréchet and kernel (KID),
precision and recall, density and coverage (`keras_nest.metrics.manifold`).

The math works on any `(N, D)` feature arrays. Which network produced the
features decides the metric's name: only InceptionV3 pool features with the
reference weights give "FID"; the built-in extractors are reported as
`FD-<extractor>` / `KD-<extractor>`.
"""

from keras_nest.metrics.extractors import (
    FeatureExtractor,
    class_histogram,
    classifier_extractor,
    generate_samples,
    generator_distances,
    inception_extractor,
    score_generator,
)
from keras_nest.metrics.frechet import frechet_distance, gaussian_statistics
from keras_nest.metrics.kernel import kernel_distance
from keras_nest.metrics.manifold import density_coverage, knn_radii, precision_recall

__all__ = [
    "FeatureExtractor",
    "class_histogram",
    "classifier_extractor",
    "density_coverage",
    "generate_samples",
    "frechet_distance",
    "gaussian_statistics",
    "generator_distances",
    "inception_extractor",
    "kernel_distance",
    "knn_radii",
    "precision_recall",
    "score_generator",
]
