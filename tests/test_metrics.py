"""Fréchet and kernel distances against closed forms; the offline feature extractors."""

import keras
import numpy as np
import pytest
from scipy import linalg

import keras_nest
from keras_nest.metrics import frechet_distance, gaussian_statistics, kernel_distance


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
    with pytest.raises(ValueError, match="Feature sizes differ: 4 vs 3"):
        metric(good, np.zeros((10, 3)))
    with pytest.raises(ValueError, match=r"must be an \(N, D\) array"):
        metric(np.zeros(10), good)
    with pytest.raises(ValueError, match="NaN"):
        metric(np.full((10, 4), np.nan), good)
    with pytest.raises(ValueError, match="at least 2 rows"):
        metric(np.zeros((1, 4)), good)


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
    assert set(scores) == {"FD-digits-cnn", "KD-digits-cnn", "KD-digits-cnn-std"}
    assert scores["FD-digits-cnn"] > 20 * floor
    cached = classifier_extractor("digits", 16, cache_dir=str(tmp_path), epochs=4)  # from disk
    np.testing.assert_allclose(cached.features(test[:5]), extractor.features(test[:5]), atol=1e-5)


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
