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
from keras_nest.presets import get_preset, list_presets
from layer_checks import check_layer

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("name", keras_nest.list_generators())
def test_generators_make_images_in_range(name):
    g = keras_nest.create_generator(name)
    side = get_preset(name, "generator").config["image_size"]
    images = ops.convert_to_numpy(g(np.random.default_rng(0).normal(size=(2, g.latent_dim)).astype("float32")))
    assert images.shape == (2, side, side, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.std() > 0


def test_sagan_baselines_match_nest_capacity():
    for preset in list_presets("generator"):
        if preset.matches:
            ours = keras_nest.create_generator(preset.matches).count_params()
            theirs = keras_nest.create_generator(preset.name).count_params()
            assert abs(theirs / ours - 1) <= 0.15, (preset.name, theirs, ours)
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


@pytest.mark.parametrize("warmup, decays", [(False, (0.999, 0.999)), (True, (2 / 11, 3 / 12))])
def test_ema_warmup_caps_the_decay_by_the_number_of_updates(warmup, decays):
    keras.utils.set_random_seed(0)
    g, d = keras_nest.create_generator("nest_gan_tiny"), keras_nest.create_discriminator(16)
    gan = GAN(g, d, ema_decay=0.999, ema_warmup=warmup)
    gan.compile()
    assert gan.get_config()["ema_warmup"] is warmup
    real = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype(np.float32)
    ema = [w.copy() for w in g.get_weights()]
    for decay in decays:  # one update at a time: ema <- decay * ema + (1 - decay) * weights
        gan.train_on_batch(real)
        ema = [decay * e + (1 - decay) * w for e, w in zip(ema, g.get_weights())]
        for got, want in zip(gan.ema_generator.get_weights(), ema):
            np.testing.assert_allclose(got, want, atol=1e-6)
    with pytest.raises(TypeError, match="ema_warmup"):
        GAN(g, d, ema_decay=0.999, ema_warmup="yes")


def test_latent_modulation_starts_as_the_plain_generator_and_lets_the_latent_reach_every_level():
    plain = keras_nest.create_generator("nest_gan_tiny", seed=0)
    modulated = keras_nest.create_generator("nest_gan_tiny", seed=0, latent_modulation=True)
    assert modulated.count_params() - plain.count_params() == 2 * (32 * 32 + 32)  # scale and shift of level 1
    by_path = {w.path: w for w in modulated.weights}
    for w in plain.weights:
        by_path[w.path.replace(plain.name, modulated.name, 1)].assign(w)
    z = np.random.default_rng(0).normal(size=(4, 32)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(modulated(z)), ops.convert_to_numpy(plain(z)), atol=1e-6)
    scale = modulated.get_layer("modulation_1_scale")
    scale.kernel.assign(np.random.default_rng(1).normal(0, 0.1, scale.kernel.shape))
    assert np.abs(ops.convert_to_numpy(modulated(z)) - ops.convert_to_numpy(plain(z))).max() > 1e-3
    assert modulated.get_config()["latent_modulation"] is True
    with pytest.raises(TypeError, match="latent_modulation"):
        keras_nest.create_generator("nest_gan_tiny", latent_modulation="yes")


def test_token_noise_starts_as_the_plain_generator_and_varies_the_images_of_one_latent(tmp_path):
    plain = keras_nest.create_generator("nest_gan_tiny", seed=0)
    noisy = keras_nest.create_generator("nest_gan_tiny", seed=0, token_noise=True)
    assert noisy.count_params() - plain.count_params() == 32  # one strength per channel of level 1
    by_path = {w.path: w for w in noisy.weights}
    for w in plain.weights:
        by_path[w.path.replace(plain.name, noisy.name, 1)].assign(w)
    z = np.random.default_rng(0).normal(size=(4, 32)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(noisy(z)), ops.convert_to_numpy(plain(z)), atol=1e-6)
    noisy.get_layer("noise_1").strength.assign(np.random.default_rng(1).normal(0, 0.5, 32).astype("float32"))
    first, second = ops.convert_to_numpy(noisy(z)), ops.convert_to_numpy(noisy(z))
    assert np.abs(first - second).max() > 1e-2  # fresh noise on every call
    assert noisy.get_config()["token_noise"] is True
    # Unseeded, the layer draws its seed once and keeps it: each load of a saved generator draws the same noise.
    unseeded = keras_nest.create_generator("nest_gan_tiny", token_noise=True)
    unseeded.get_layer("noise_1").strength.assign(np.random.default_rng(1).normal(0, 0.5, 32).astype("float32"))
    path = str(tmp_path / "g.keras")
    unseeded.save(path)
    loads = [ops.convert_to_numpy(keras.saving.load_model(path)(z)) for _ in range(2)]
    np.testing.assert_allclose(loads[0], loads[1], atol=1e-4)  # another draw differs by > 1e-2 (above)
    # Generators saved before the option build without noise layers.
    config = noisy.get_config()
    del config["token_noise"]
    assert type(noisy).from_config(config).count_params() == plain.count_params()
    with pytest.raises(TypeError, match="token_noise"):
        keras_nest.create_generator("nest_gan_tiny", token_noise=1)


def test_minibatch_std_tells_the_discriminator_how_alike_a_batch_is():
    from keras_nest.models.sagan import MinibatchStddev

    d = keras_nest.create_discriminator(16, minibatch_std=True)
    assert d.get_config()["minibatch_std"] is True
    # The last block reads 65 channels: its first conv grows, and its shortcut becomes a 1x1 SN-conv (+ u vector).
    grown = 9 * 64 + (65 * 64 + 64) + 64
    assert d.count_params() - keras_nest.create_discriminator(16).count_params() == grown
    varied = np.random.default_rng(0).uniform(-1, 1, (8, 4, 4, 16)).astype("float32")
    same = np.repeat(varied[:1], 8, axis=0)
    layer = MinibatchStddev()
    assert ops.convert_to_numpy(layer(same))[..., -1].max() < 1e-3
    assert ops.convert_to_numpy(layer(varied))[..., -1].min() > 0.3
    with pytest.raises(TypeError, match="minibatch_std"):
        keras_nest.create_discriminator(16, minibatch_std=1)


def test_train_gan_builds_and_keeps_the_generator_and_discriminator_overrides(tmp_path):
    from keras_nest.gan.training import train_gan
    from keras_nest.training import RunFolderError

    out = str(tmp_path / "run")
    train_gan("nest_gan_tiny", "digits", steps=2, batch_size=16, out=out, verbose=0,
              generator_overrides={"latent_modulation": True, "token_noise": True},
              discriminator_overrides={"minibatch_std": True})
    gan = keras.saving.load_model(os.path.join(out, "last.keras"))
    assert gan.generator.get_config()["latent_modulation"] and gan.discriminator.get_config()["minibatch_std"]
    assert gan.generator.get_config()["token_noise"]
    # Two generator updates moved the noise strengths off zero: the noise is learned, not fixed.
    assert np.abs(ops.convert_to_numpy(gan.generator.get_layer("noise_1").strength)).max() > 0
    resumed = train_gan(steps=4, out=out, resume=True, verbose=0)
    assert resumed["steps"] == 4
    with pytest.raises(RunFolderError, match="generator_overrides"):
        train_gan(steps=6, out=out, resume=True, verbose=0, generator_overrides={})
    with pytest.raises(TypeError, match="discriminator_overrides must be a dict of create_discriminator arguments"):
        train_gan("nest_gan_tiny", "digits", steps=2, out=str(tmp_path / "b"), discriminator_overrides=True)


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
    from keras_nest.gan.diffaugment import _cutout, _shift_masks, cutout_square

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
    # Every offset the draw can give (0..8 on an 8-px side): a 4x4 square cut to no less than 2x2 at
    # the edges. (It was 3 rows wide before, |row - offset| < 2, and 1x3 at a corner: JAX's draw hit it.)
    for cy in range(9):
        for cx in range(9):
            hole = ops.convert_to_numpy(cutout_square(8, 8, np.full((1, 1, 1), cy, "float32"),
                                                      np.full((1, 1, 1), cx, "float32"), 4, 4))[0]
            rows, cols = np.nonzero(hole)
            expected_rows = len(set(range(cy - 2, cy + 2)) & set(range(8)))
            assert np.ptp(rows) + 1 == expected_rows and 2 <= expected_rows <= 4
            assert hole.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1), (cy, cx)
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
@pytest.mark.tensorflow_only  # tf.distribute
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


# --- run folders, CLI and metrics on generators ----------------------------


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    from keras_nest.gan.training import train_gan

    out = tmp_path_factory.mktemp("gan") / "run"
    result = train_gan("nest_gan_tiny", "digits", steps=10, batch_size=16, out=str(out), checkpoint_every=5,
                       verbose=0)
    return out, result


def test_train_gan_writes_a_run_folder(gan_run):
    out, result = gan_run
    assert result["steps"] == 10 and result["params"] == 108_332
    assert np.isfinite(result["d_loss"]) and np.isfinite(result["g_loss"])
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_0000005.png", "step_0000010.png"]
    for name in ("last.keras", "generator.keras", "state.json", "history.json", "result.json"):
        assert (out / name).is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp")]


def test_train_gan_resumes_and_stops_on_nan(gan_run, monkeypatch):
    from keras_nest.gan import losses
    from keras_nest.gan.training import train_gan
    from keras_nest.training.trainer import TrainingDiverged

    out, _ = gan_run
    with pytest.raises(FileExistsError, match="already holds a run"):
        train_gan("nest_gan_tiny", "digits", steps=20, batch_size=16, out=str(out), checkpoint_every=5)
    resumed = train_gan("nest_gan_tiny", "digits", steps=15, batch_size=16, out=str(out), checkpoint_every=5,
                        resume=True, verbose=0)
    gan = keras.saving.load_model(out / "last.keras")
    assert resumed["steps"] == 15 and int(gan.g_optimizer.iterations) == 15
    nan = (lambda real, fake: real * np.nan, lambda fake: fake * np.nan)
    monkeypatch.setitem(losses.LOSSES, "hinge", nan)
    with pytest.raises(TrainingDiverged, match="last good checkpoint"):
        train_gan("nest_gan_tiny", "digits", steps=25, batch_size=16, out=str(out), checkpoint_every=5,
                  resume=True, verbose=0)
    kept = keras.saving.load_model(out / "last.keras", compile=False)
    assert int(json.loads((out / "state.json").read_text())["epoch"]) == 3
    assert all(np.isfinite(w).all() for w in kept.generator.get_weights())


def test_train_gan_bad_input(tmp_path):
    from keras_nest.gan.training import train_gan

    with pytest.raises(ValueError, match="multiple of checkpoint_every"):
        train_gan("nest_gan_tiny", "digits", steps=12, checkpoint_every=5, out=str(tmp_path / "a"))
    with pytest.raises(ValueError, match="fewer than one batch"):
        train_gan("nest_gan_tiny", "digits", steps=5, batch_size=4096, checkpoint_every=5,
                  out=str(tmp_path / "b"))
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="[Nn]o .*image"):
        train_gan("nest_gan_tiny", f"folder:{tmp_path / 'empty'}", steps=5, checkpoint_every=5,
                  out=str(tmp_path / "c"))


def test_train_gan_resume_keeps_the_runs_steps_and_settings(gan_run, tmp_path):
    import shutil

    from keras_nest.gan.training import train_gan
    from keras_nest.training import RunFolderError

    out = tmp_path / "run"
    shutil.copytree(gan_run[0], out, ignore=shutil.ignore_patterns(".lock"))
    done = json.loads((out / "state.json").read_text())["epoch"] * 5
    # Was: "9 steps after 7 updates" when checkpoint_every changed on resume.
    with pytest.raises(RunFolderError, match="checkpoint_every=5; you asked for checkpoint_every=3"):
        train_gan("nest_gan_tiny", "digits", steps=done + 6, batch_size=16, out=str(out), checkpoint_every=3,
                  resume=True, verbose=0)
    with pytest.raises(RunFolderError, match=r"g_learning_rate=0.0001 \(you gave 0.001\)"):
        train_gan("nest_gan_tiny", "digits", steps=done + 5, batch_size=16, out=str(out), checkpoint_every=5,
                  resume=True, verbose=0, g_learning_rate=1e-3)
    with pytest.raises(RunFolderError, match="batch_size=16; you asked for batch_size=8"):
        train_gan("nest_gan_tiny", "digits", steps=done + 5, batch_size=8, out=str(out), checkpoint_every=5,
                  resume=True, verbose=0)
    # A run from before the EMA warm-up existed (no such setting stored) keeps training without it.
    state = json.loads((out / "state.json").read_text())
    del state["settings"]["gan"]["ema_warmup"]
    (out / "state.json").write_text(json.dumps(state))
    resumed = train_gan(steps=done + 5, out=str(out), resume=True, verbose=0)
    assert resumed["settings"]["ema_warmup"] is False
    assert keras.saving.load_model(out / "last.keras").get_config()["ema_warmup"] is False


def test_train_gan_prints_a_first_line_and_resumes_a_short_run(tmp_path, capsys):
    from keras_nest.gan.training import train_gan

    out = str(tmp_path / "run")
    # steps < the default checkpoint_every (100): the run commits every 2 steps
    result = train_gan("nest_gan_tiny", "digits", steps=2, batch_size=16, out=out, verbose=2)
    first = [line for line in capsys.readouterr().out.splitlines() if line.startswith("keras-nest")][0]
    assert first.startswith("keras-nest gan train: nest_gan_tiny on digits, 2 steps of batch 16, hinge loss, new run")
    assert result["steps"] == 2 and os.path.exists(os.path.join(out, "result.json"))
    resumed = train_gan(steps=4, out=out, resume=True, verbose=0)  # the run's own generator, data, batch
    assert resumed["steps"] == 4 and resumed["batch_size"] == 16
    with pytest.raises(ValueError, match="needs the run folder"):
        train_gan(steps=4, resume=True)


@pytest.mark.parametrize("argv, message", [
    (["gan", "sample", "--n", "0"], "num_images must be an int >= 1, got 0"),
    (["gan", "sample", "--n", "-3"], "num_images must be an int >= 1, got -3"),
    (["gan", "train", "--generator", "nest_gan_tiny", "--batch-size", "0"], "batch_size must be an int >= 1, got 0"),
    (["gan", "train", "--generator", "nest_gan_tiny", "--steps", "0"], "steps must be an int >= 1, got 0"),
    (["gan", "train", "--generator", "nest_gan_tiny", "--d-learning-rate", "-1"],
     "d_learning_rate must be a finite number > 0"),
    (["gan", "train", "--generator", "nest_gan_tiny", "--fd-samples", "-3"], "--fd-samples must be an int >= 0"),
])
def test_cli_gan_bad_numbers_are_one_line_errors(argv, message, gan_run, tmp_path, capsys):
    from keras_nest import cli

    if argv[1] == "sample":
        argv = [*argv, "--model-path", str(gan_run[0] / "generator.keras"), "--out", str(tmp_path / "g.png")]
    else:
        argv = [*argv, "--out", str(tmp_path / "run")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists() and not (tmp_path / "g.png").exists()


def test_cli_gan_sample(gan_run, tmp_path, capsys):
    from keras_nest import cli

    out, _ = gan_run
    grid = tmp_path / "grid.png"
    assert cli.main(["gan", "sample", "--model-path", str(out / "generator.keras"), "--n", "9",
                     "--out", str(grid)]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 9
    image = keras.utils.load_img(grid)
    assert image.size == (3 * 17 + 1, 3 * 17 + 1)  # 3x3 tiles of 16 px with 1-px gaps
    assert cli.main(["gan", "sample", "--model-path", str(tmp_path / "missing.keras")]) == 2


def test_cli_gan_train_with_scores(tmp_path, capsys, monkeypatch):
    from keras_nest import cli

    monkeypatch.setenv("KERAS_NEST_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    code = cli.main(["gan", "train", "--generator", "nest_gan_tiny", "--dataset", "digits", "--steps", "4",
                     "--checkpoint-every", "2", "--batch-size", "16", "--out", str(out), "--fd-samples", "100",
                     "--verbose", "0", "--no-ema-warmup"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["settings"]["ema_warmup"] is False  # the default is True
    assert result["steps"] == 4 and result["FD-digits-cnn"] > 0 and "KD-digits-cnn" in result
    assert 0 <= result["recall"] <= 1 and 0 <= result["coverage"] <= 1 and sum(result["class_counts"]) == 100
    assert cli.main(["gan", "train", "--generator", "nest_gan_tiny", "--dataset", "digits", "--steps", "4",
                     "--out", str(out)]) == 2
    assert "already holds a run" in capsys.readouterr().err
