"""NesT and SAGAN generators, the discriminator, the GAN model, losses and DiffAugment."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

import keras_nest
from keras_nest.gan import GAN, diff_augment, get_losses
from keras_nest.layers import BlockDeaggregation, block_children
from keras_nest.models.gan_presets import GENERATOR_PRESETS
from layer_checks import check_layer

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("name", keras_nest.list_generators())
def test_generators_make_images_in_range(name):
    g = keras_nest.create_generator(name)
    side = GENERATOR_PRESETS[name]["config"]["image_size"]
    images = ops.convert_to_numpy(g(np.random.default_rng(0).normal(size=(2, g.latent_dim)).astype("float32")))
    assert images.shape == (2, side, side, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.std() > 0


def test_sagan_baselines_match_nest_capacity():
    for name, preset in GENERATOR_PRESETS.items():
        if "matches" in preset:
            ours = keras_nest.create_generator(preset["matches"]).count_params()
            theirs = keras_nest.create_generator(name).count_params()
            assert abs(theirs / ours - 1) <= 0.15, (name, theirs, ours)
    assert keras_nest.create_generator("nest_gan_32").count_params() == 4_419_203
    assert keras_nest.create_generator("sagan_32").count_params() == 4_369_543


def test_block_deaggregation_turns_one_block_into_its_four_children():
    layer = BlockDeaggregation(8, grid_size=2, block_size=2)
    x = np.zeros((1, 4, 4, 6), np.float32)
    x[0, 1] = np.random.default_rng(0).normal(size=(4, 6))  # only block 1 of a 2x2 grid
    layer.build(x.shape)
    layer.upsample.projection.bias.assign(np.zeros(layer.upsample.projection.bias.shape))
    out = check_layer(layer, x, (1, 16, 4, 8))
    nonzero = sorted(np.flatnonzero(np.abs(out[0]).sum(axis=(1, 2)) > 0).tolist())
    assert nonzero == block_children(1, (2, 2))


def test_generator_bad_configs():
    with pytest.raises(ValueError, match=r"cannot make 48x48 images.*block side x 2\^k x patch size"):
        keras_nest.create_generator("nest_gan_32", image_size=48)
    with pytest.raises(ValueError, match="Unknown generator 'nest_gan_7'"):
        keras_nest.create_generator("nest_gan_7")
    with pytest.raises(ValueError, match="No discriminator for 24x24"):
        keras_nest.create_discriminator(24)
    g, d = keras_nest.create_generator("nest_gan_tiny"), keras_nest.create_discriminator(16)
    with pytest.raises(ValueError, match="latent_dim is 64 but the generator takes 32-d noise"):
        GAN(g, d, latent_dim=64)
    with pytest.raises(ValueError, match=r"makes \(16, 16, 3\) images but the discriminator reads \(32, 32, 3\)"):
        GAN(g, keras_nest.create_discriminator(32))
    with pytest.raises(ValueError, match="Unknown DiffAugment policies"):
        GAN(g, d, diffaugment="color,blur")
    with pytest.raises(ValueError, match="Unknown GAN loss"):
        GAN(g, d).compile(loss="wasserstein")


def test_losses():
    real, fake = np.array([2.0, 0.5, -1.0]), np.array([-2.0, 0.0, 1.0])
    d_hinge, g_hinge = get_losses("hinge")
    np.testing.assert_allclose(ops.convert_to_numpy(d_hinge(real, fake)), [0.0, 1.5, 4.0])
    np.testing.assert_allclose(ops.convert_to_numpy(g_hinge(fake)), [2.0, 0.0, -1.0])
    d_ns, g_ns = get_losses("non_saturating")
    softplus = lambda v: np.log1p(np.exp(v))  # noqa: E731
    np.testing.assert_allclose(ops.convert_to_numpy(d_ns(real, fake)), softplus(-real) + softplus(fake), rtol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(g_ns(fake)), softplus(-fake), rtol=1e-6)


def test_diffaugment_translation_and_cutout():
    from keras_nest.gan.diffaugment import _cutout, _shift_masks

    x = np.random.default_rng(0).uniform(0.1, 1.0, (2, 8, 8, 3)).astype(np.float32)
    shifted = ops.convert_to_numpy(_shift_masks(x, np.array([2, -1]), np.array([0, 3])))
    expected = np.zeros_like(x)
    expected[0, 2:, :] = x[0, :-2, :]
    expected[1, :-1, 3:] = x[1, 1:, :-3]
    np.testing.assert_allclose(shifted, expected)
    cut = ops.convert_to_numpy(_cutout(x, keras.random.SeedGenerator(0)))
    for hole in (cut == 0).all(axis=-1):
        rows, cols = np.nonzero(hole)
        # A 4x4 square (half the side), clipped where its centre is near an edge.
        assert 4 <= hole.sum() <= 16
        assert hole.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1) and np.ptp(rows) < 4 and np.ptp(cols) < 4
    out = diff_augment(x * 2 - 1, "color,translation,cutout", keras.random.SeedGenerator(1))
    assert tuple(out.shape) == x.shape and np.all(np.isfinite(ops.convert_to_numpy(out)))


def test_gan_fit_with_ema_r1_and_diffaugment(tmp_path):
    keras.utils.set_random_seed(0)
    g, d = keras_nest.create_generator("nest_gan_tiny"), keras_nest.create_discriminator(16)
    gan = GAN(g, d, ema_decay=0.9, diffaugment="color,translation,cutout", r1_gamma=1.0, d_steps=2)
    gan.compile(loss="non_saturating")
    start = [w.copy() for w in g.get_weights()]
    real = np.random.default_rng(0).uniform(-1, 1, (32, 16, 16, 3)).astype(np.float32)
    history = gan.fit(real, batch_size=16, epochs=2, verbose=0).history
    assert set(history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v).all() for v in history.values())
    assert int(gan.d_optimizer.iterations) == 2 * int(gan.g_optimizer.iterations) == 8
    # The EMA generator moved from the start towards the trained weights, not all the way.
    moved = [np.abs(e - s).max() for e, s in zip(gan.ema_generator.get_weights(), start)]
    gap = [np.abs(e - w).max() for e, w in zip(gan.ema_generator.get_weights(), g.get_weights())]
    assert max(moved) > 0 and max(gap) > 0
    assert tuple(gan.sample(3).shape) == (3, 16, 16, 3)
    g.save(tmp_path / "g.keras")
    revived = keras.saving.load_model(tmp_path / "g.keras")
    z = np.ones((1, 32), np.float32)
    np.testing.assert_allclose(ops.convert_to_numpy(revived(z)), ops.convert_to_numpy(g(z)), atol=1e-6)


@pytest.mark.slow
def test_gan_step_under_mirrored_strategy_matches_one_device():
    proc = subprocess.run([sys.executable, os.path.join(HERE, "distributed_check.py"), "gan"],
                          capture_output=True, text=True, timeout=600, cwd=os.path.dirname(HERE))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["mirrored_d_loss"] == pytest.approx(report["single_d_loss"], rel=1e-5)
    assert report["mirrored_g_loss"] == pytest.approx(report["single_g_loss"], rel=1e-5)
    assert report["max_update"] > 1e-2  # a real step was taken...
    assert report["max_weight_diff_after_step"] < 1e-4  # ...and it is the same on two replicas
