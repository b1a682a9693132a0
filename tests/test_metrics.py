"""Fréchet and kernel distances against closed forms; the offline feature extractors."""

import keras
import numpy as np
import pytest
from scipy import linalg

import keras_nest
from keras_nest.metrics import (
    density_coverage,
    frechet_distance,
    gaussian_statistics,
    kernel_distance,
    precision_recall,
)


def _with_exact_statistics(mean, cov, n, seed):
    """n samples whose sample mean and (unbiased) covariance are exactly `mean`, `cov`."""
    z = np.random.default_rng(seed).normal(size=(n, len(mean)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # whiten exactly
    return z @ np.linalg.cholesky(cov).T + mean


def _random_cov(dim, seed):
    a = np.random.default_rng(seed).normal(size=(dim, dim))
    return a @ a.T + 0.1 * np.eye(dim)


def test_frechet_matches_the_closed_form_for_non_commuting_covariances():
    dim = 6
    mu_a, mu_b = np.zeros(dim), np.linspace(-1, 1, dim)
    cov_a, cov_b = _random_cov(dim, 1), _random_cov(dim, 2)
    assert not np.allclose(cov_a @ cov_b, cov_b @ cov_a)
    exact = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * linalg.sqrtm(cov_a @ cov_b).real)
    a = _with_exact_statistics(mu_a, cov_a, 500, 3)
    b = _with_exact_statistics(mu_b, cov_b, 700, 4)
    np.testing.assert_allclose(gaussian_statistics(a)[1], cov_a, atol=1e-9)
    assert frechet_distance(a, b) == pytest.approx(exact, rel=1e-9)
    assert frechet_distance(b, a) == pytest.approx(exact, rel=1e-9)


def test_frechet_of_diagonal_gaussians_and_identity():
    a = _with_exact_statistics(np.zeros(3), np.diag([1.0, 4.0, 9.0]), 300, 5)
    b = _with_exact_statistics(np.ones(3), np.diag([4.0, 4.0, 1.0]), 300, 6)
    # |mu|^2 = 3; sum (sigma_a - sigma_b)^2 = 1 + 0 + 4
    assert frechet_distance(a, b) == pytest.approx(8.0, rel=1e-9)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(a, a + 2.0) == pytest.approx(12.0, rel=1e-9)


def test_kernel_distance_is_unbiased_near_zero_for_one_distribution():
    rng = np.random.default_rng(0)
    same, std = kernel_distance(rng.normal(size=(4000, 8)), rng.normal(size=(4000, 8)), num_subsets=20,
                                subset_size=1000, return_std=True)
    different = kernel_distance(rng.normal(size=(4000, 8)), rng.normal(0.5, 1.0, size=(4000, 8)),
                                num_subsets=20, subset_size=1000)
    assert abs(same) < 3 * std / np.sqrt(20) + 1e-3
    assert different > 20 * abs(same) and different > 0.1


def test_kernel_distance_matches_the_closed_form_in_one_dimension():
    # k(x, y) = (xy + 1)^3; for N(0,1) vs N(1,1): E_pp = 4, E_qq = 32, E_pq = 7, MMD^2 = 22.
    rng = np.random.default_rng(1)
    kid = kernel_distance(rng.normal(0, 1, (10_000, 1)), rng.normal(1, 1, (10_000, 1)),
                          num_subsets=20, subset_size=2000)
    assert kid == pytest.approx(22.0, rel=0.05)


@pytest.mark.parametrize("metric", [frechet_distance, kernel_distance])
def test_bad_features(metric):
    good = np.zeros((10, 4))
    with pytest.raises(ValueError, match="Feature sizes differ: features_a has 4, features_b has 3"):
        metric(good, np.zeros((10, 3)))
    with pytest.raises(ValueError, match=r"must be an \(N, D\) array"):
        metric(np.zeros(10), good)
    with pytest.raises(ValueError, match="NaN"):
        metric(np.full((10, 4), np.nan), good)
    with pytest.raises(ValueError, match="at least 2 rows"):
        metric(np.zeros((1, 4)), good)


# --- precision, recall, density, coverage ----------------------------------


def _mixture(n, modes, seed, spread=1.0):
    """`n` points of a mixture of unit Gaussians centred on `modes` (rows), equal weights, and their mode."""
    rng = np.random.default_rng(seed)
    which = np.arange(n) % len(modes)
    return modes[which] + spread * rng.normal(size=(n, modes.shape[1])), which


# 10 modes on a 5 x 2 grid in the plane, 20 standard deviations apart: far beyond any k-NN radius.
MODES = 20.0 * np.stack(np.meshgrid(np.arange(5), np.arange(2)), axis=-1).reshape(10, 2)


def test_manifold_metrics_match_the_authors_prdc_package():
    prdc = pytest.importorskip("prdc")  # in the test extra; the reference implementation of Naeem et al.
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(700, 12)), rng.normal(0.3, 1.3, size=(1300, 12))  # > one block of rows
    for k in (3, 5):
        expected = prdc.compute_prdc(real, fake, k)
        ours = {**precision_recall(real, fake, k), **density_coverage(real, fake, k)}
        for name in ("precision", "recall", "density", "coverage"):
            assert ours[name] == pytest.approx(float(expected[name]), abs=1e-12), (k, name)


def test_one_distribution_scores_near_one():
    real, _ = _mixture(2000, MODES, 1)
    same = {**precision_recall(real, real), **density_coverage(real, real)}
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    assert same["density"] == pytest.approx(1.0, abs=0.01)
    fresh, _ = _mixture(2000, MODES, 2)  # another sample of the same mixture
    scores = {**precision_recall(real, fresh), **density_coverage(real, fresh)}
    assert min(scores["precision"], scores["recall"]) > 0.9 and scores["coverage"] > 0.9
    assert 0.85 < scores["density"] < 1.15


def test_a_generator_covering_half_the_modes_keeps_precision_and_halves_recall_and_coverage():
    real, _ = _mixture(2000, MODES, 1)
    fake, _ = _mixture(2000, MODES[:5], 2)
    scores = {**precision_recall(real, fake), **density_coverage(real, fake)}
    assert scores["precision"] > 0.9 and 0.85 < scores["density"] < 1.3
    assert scores["recall"] == pytest.approx(0.5, abs=0.05)
    assert scores["coverage"] == pytest.approx(0.5, abs=0.05)


def test_a_collapsed_generator_is_precise_and_dense_but_recalls_and_covers_almost_nothing():
    real, _ = _mixture(2000, MODES, 1)
    fake = MODES[3] + 0.01 * np.random.default_rng(2).normal(size=(2000, 2))  # one point, barely jittered
    scores = {**precision_recall(real, fake), **density_coverage(real, fake)}
    assert scores["precision"] == 1.0
    assert scores["recall"] < 0.01 and scores["coverage"] < 0.05


@pytest.mark.parametrize("metric, k", [(precision_recall, 3), (density_coverage, 5)])
def test_bad_features_for_the_manifold_metrics(metric, k):
    good = np.zeros((10, 4))
    with pytest.raises(ValueError, match="real_features has 4, fake_features has 3"):
        metric(good, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="fake_features contains NaN"):
        metric(good, np.full((10, 4), np.nan))
    with pytest.raises(ValueError, match=rf"real_features needs at least {k + 1} rows to find each row's k={k} "):
        metric(np.zeros((k, 4)), good)
    with pytest.raises(ValueError, match=r"real_features must be an \(N, D\) array"):
        metric(np.zeros(10), good)
    with pytest.raises(ValueError, match="k must be"):
        metric(good, good, k=0)


def test_precision_recall_needs_k_plus_one_generated_samples_but_density_coverage_does_not():
    real = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(ValueError, match="fake_features needs at least 4 rows"):
        precision_recall(real, real[:3])
    # One sample, a real point: it lies in its own ball and in some neighbours'; density counts those balls
    # over k, coverage over the real set, so the two give the same count.
    one = density_coverage(real, real[:1])
    assert one["density"] * 5 == pytest.approx(one["coverage"] * 50) and one["coverage"] >= 1 / 50


# --- feature extractors (moved from test_gan.py) ----------------------------


def test_classifier_extractor_separates_real_from_noise(tmp_path):
    from keras_nest.data import real_images
    from keras_nest.metrics import classifier_extractor, frechet_distance, generator_distances

    extractor = classifier_extractor("digits", 16, cache_dir=str(tmp_path), epochs=4)
    assert extractor.name == "digits-cnn" and extractor.info["test_accuracy"] > 0.8
    train, test = real_images("digits", 16), real_images("digits", 16, split="test")
    floor = frechet_distance(extractor.features(train), extractor.features(test))
    scores = generator_distances(keras_nest.create_generator("nest_gan_tiny"), test, extractor,
                                 num_samples=300, kid_subset_size=200, kid_subsets=10)
    assert set(scores) == {"FD-digits-cnn", "KD-digits-cnn", "KD-digits-cnn-std", "precision", "recall", "density",
                           "coverage", "class_counts", "classes_covered", "largest_class_share"}
    assert scores["FD-digits-cnn"] > 20 * floor
    assert sum(scores["class_counts"]) == 300 and len(scores["class_counts"]) == 10
    real_labels = keras_nest.data.load_arrays("digits", "test")["labels"]
    assert np.mean(extractor.predict_classes(test) == real_labels) > 0.8
    # Real training images as the "generator", scored against the test images: another sample of the data.
    real_scores = generator_distances(_Replay(train), test, extractor, num_samples=300, kid_subset_size=200,
                                      kid_subsets=10)
    assert real_scores["classes_covered"] == 10 and real_scores["largest_class_share"] < 0.15  # measured 0.123
    assert real_scores["precision"] > 0.8 and real_scores["recall"] > 0.6 and real_scores["coverage"] > 0.8
    assert max(scores["recall"], scores["coverage"]) < 0.1  # the untrained generator: 0.0 and 0.003
    cached = classifier_extractor("digits", 16, cache_dir=str(tmp_path), epochs=4)  # from disk
    np.testing.assert_allclose(cached.features(test[:5]), extractor.features(test[:5]), atol=1e-5)


class _Replay:
    """A stand-in generator that returns real images in order, whatever the noise."""

    def __init__(self, images):
        self.images, self.next = images, 0
        self.input_shape = (None, 8)

    def __call__(self, noise, training=False):
        start, self.next = self.next, self.next + len(noise)
        return self.images[start:self.next]


def test_inception_extractor_reads_only_local_weights(tmp_path):
    from keras_nest.metrics import inception_extractor

    with pytest.raises(FileNotFoundError, match="never downloads"):
        inception_extractor(str(tmp_path / "missing.weights.h5"))


@pytest.mark.slow
def test_inception_extractor_from_a_local_file(tmp_path):
    from keras_nest.metrics import inception_extractor

    path = tmp_path / "inception_notop.weights.h5"
    keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                   input_shape=(299, 299, 3)).save_weights(path)
    extractor = inception_extractor(str(path))
    features = extractor.features(np.zeros((2, 32, 32, 3), np.float32))
    assert extractor.name == "inception" and features.shape == (2, 2048)
