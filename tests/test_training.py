import json
import os
import shutil
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest import cli
from keras_nest.data import dataset_info
from keras_nest.training import (
    TrainingDiverged,
    get_recipe,
    make_augmenter,
    make_optimizer,
    resolve_jit_compile,
    train,
)
from keras_nest.training.recipe import learning_rate_schedule

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# XLA compilation costs more than it saves on these few steps.
QUICK = dict(model="nest_nano_16", dataset="digits", train_fraction=0.25, tensorboard=False,
             export=False, verbose=0, jit_compile="off")


def test_recipes_follow_the_official_configs():
    imagenet = get_recipe("imagenet")
    assert (imagenet.weight_decay, imagenet.beta_1, imagenet.beta_2, imagenet.epsilon) == (0.05, 0.9, 0.999, 1e-8)
    assert imagenet.learning_rate(1024) == pytest.approx(1e-3)  # 2.5e-4 x 1024 / 256
    assert (imagenet.label_smoothing, imagenet.mixup_alpha, imagenet.cutmix_alpha) == (0.1, 0.8, 1.0)
    assert (imagenet.randaugment_ops, imagenet.randaugment_magnitude, imagenet.random_erasing) == (2, 9, 0.25)
    assert (imagenet.warmup_epochs, get_recipe("cifar").warmup_epochs) == (20, 5)
    assert get_recipe("cifar", epochs=7, mixup_alpha=0.0).epochs == 7
    with pytest.raises(ValueError, match="Available recipes: cifar, finetune, imagenet, small"):
        get_recipe("fast")
    with pytest.raises(ValueError, match=r"Unknown recipe field\(s\) \['lr'\]"):
        get_recipe("small", lr=1.0)


def test_schedule_warms_up_linearly_then_decays_to_zero():
    recipe = get_recipe("imagenet", epochs=10, warmup_epochs=2)
    schedule = learning_rate_schedule(recipe, steps_per_epoch=100, batch_size=256)
    values = [float(schedule(step)) for step in (0, 100, 200, 600, 1000)]
    assert values[0] == pytest.approx(0.0)
    assert values[1] == pytest.approx(1.25e-4, rel=1e-3)
    assert values[2] == pytest.approx(2.5e-4, rel=1e-3)
    assert values[3] == pytest.approx(1.25e-4, rel=1e-2)  # half-way through the cosine
    assert values[4] == pytest.approx(0.0, abs=1e-9)


def test_weight_decay_skips_position_embeddings():
    model = keras_nest.create_model("nest_nano_16")
    optimizer = make_optimizer(get_recipe("small", warmup_epochs=0, weight_decay=0.5), steps_per_epoch=1)
    variables = model.trainable_variables
    before = {v.path: keras.ops.convert_to_numpy(v).copy() for v in variables}
    optimizer.apply_gradients([(keras.ops.zeros_like(v), v) for v in variables])
    for v in variables:
        changed = not np.allclose(keras.ops.convert_to_numpy(v), before[v.path])
        if "pos_embedding" in v.path:
            assert not changed, v.path
        elif "kernel" in v.path:
            assert changed, v.path


def test_augmenter_mixes_images_and_labels():
    recipe = get_recipe("imagenet")
    augment = make_augmenter(recipe, mean=(0.5,) * 3, std=(0.25,) * 3, seed=1)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(8, 32, 32, 3)).astype("float32")  # raw pixels
    labels = np.eye(4, dtype="float32")[rng.integers(0, 4, 8)]
    out_images, out_labels = augment(images, labels)
    assert tuple(out_images.shape) == images.shape and tuple(out_labels.shape) == labels.shape
    np.testing.assert_allclose(np.sum(out_labels, axis=1), 1.0, rtol=1e-5)
    assert np.abs(out_images.numpy() - images).max() > 25
    assert (out_labels.numpy().max(axis=1) < 1.0).any()  # some labels were mixed
    assert make_augmenter(get_recipe("small"), (0.5,), (0.25,)) is None


def test_jit_compile_resolution():
    import tensorflow as tf

    default = tf.distribute.get_strategy()
    assert resolve_jit_compile("on", default) is True
    assert resolve_jit_compile("off", default) is False
    assert resolve_jit_compile("auto", default) is True  # XLA pays off on CPU for NesT
    assert resolve_jit_compile("auto", default, macs_per_step=3.1e9) is False  # the demo: compile > savings
    assert resolve_jit_compile("auto", default, macs_per_step=133e9) is True  # nest_tiny_cifar, batch 64
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0"])
    with pytest.raises(ValueError, match="keras-team/keras#19005"):
        resolve_jit_compile("on", mirrored)
    assert resolve_jit_compile("auto", mirrored) == "auto"
    with pytest.raises(ValueError, match="jit_compile must be one of"):
        resolve_jit_compile("yes", default)


def test_train_writes_a_complete_run_folder(tmp_path):
    out = str(tmp_path / "run")
    quick = {k: v for k, v in QUICK.items() if k not in ("export", "tensorboard")}
    result = train(out=out, epochs=2, export=True, tensorboard=True, **quick)
    assert result["epochs"] == 2
    # digits: 1,437 train = 142 held out (10% of each class, rounded) + 1,295, of which 25% train.
    assert (result["validation_examples"], result["test_examples"]) == (142, 360)
    assert abs(result["train_examples"] - 0.25 * 1295) <= 10
    assert 0.0 <= result["test_accuracy"] <= 1.0 and "test_top5_accuracy" in result
    for name in ("best.keras", "last.keras", "state.json", "history.json", "history.csv",
                 "training_curves.png", "result.json", "saved_model", "tensorboard"):
        assert os.path.exists(os.path.join(out, name)), name
    history = json.load(open(os.path.join(out, "history.json")))
    assert [row["epoch"] for row in history] == [1, 2] and "val_accuracy" in history[0]
    with pytest.raises(FileExistsError, match="already holds a run"):
        train(out=out, epochs=2, **QUICK)


def test_interrupted_training_resumes_to_the_same_step_count(tmp_path):
    out = str(tmp_path / "run")

    class StopAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    train(out=out, epochs=3, callbacks=[StopAfterFirstEpoch()], **QUICK)
    assert json.load(open(os.path.join(out, "state.json")))["epoch"] == 1
    result = train(out=out, epochs=3, resume=True, **QUICK)
    assert result["epochs"] == 3
    model = keras.saving.load_model(os.path.join(out, "last.keras"))
    steps_per_epoch = int(np.ceil(result["train_examples"] / 64))
    assert int(model.optimizer.iterations.numpy()) == 3 * steps_per_epoch
    rows = json.load(open(os.path.join(out, "history.json")))
    assert [row["epoch"] for row in rows] == [1, 2, 3]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    out = str(tmp_path / "run")

    class PoisonSecondEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                kernel = self.model.get_layer("predictions").kernel
                kernel.assign(np.full(kernel.shape, np.nan, "float32"))

    with pytest.raises(TrainingDiverged, match=r"loss became nan at epoch 2, batch 1.*epoch 1"):
        train(out=out, epochs=3, callbacks=[PoisonSecondEpoch()], **QUICK)
    assert json.load(open(os.path.join(out, "state.json")))["epoch"] == 1
    kept = keras.saving.load_model(os.path.join(out, "last.keras"))
    assert all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in kept.weights)


def test_bad_input_fails_before_training(tmp_path):
    with pytest.raises(ValueError, match="Available models:"):
        train(model="nest_gigantic", out=str(tmp_path / "a"), **{k: v for k, v in QUICK.items() if k != "model"})
    with pytest.raises(ValueError, match="digits"):
        train(dataset="mnist", out=str(tmp_path / "b"), **{k: v for k, v in QUICK.items() if k != "dataset"})
    with pytest.raises(ValueError, match="multiple of 4"):
        train(image_size=18, out=str(tmp_path / "c"), **QUICK)
    assert not os.path.exists(tmp_path / "c")  # nothing was started


def test_num_examples_sizes_the_train_split():
    from keras_nest.data import dataset_info as info_of
    from keras_nest.training.spec import TrainSpec
    from keras_nest.training.trainer import _train_and_validation

    def sizes(dataset, image_size, num_examples):
        spec = TrainSpec(dataset=dataset, num_examples=num_examples)
        train, validation = _train_and_validation(dataset, (image_size, image_size), spec,
                                                  info_of(dataset, image_size=image_size), {})
        return len(train), len(validation)

    default = info_of("shapes", image_size=32).num_examples["train"]
    assert sizes("shapes", 32, default + 500) == (default + 500, 1000)  # a generated set draws more
    assert sizes("digits", 16, 200) == (180, 20)  # others take their first N, then hold out 10%
    with pytest.raises(ValueError, match=r"num_examples=5000 asks for more training examples than digits has "
                                         r"\(1437\); give at most 1437"):
        sizes("digits", 16, 5000)


def test_cli_train_prints_one_json_line_and_evaluate(tmp_path, capsys):
    out = str(tmp_path / "run")
    code = cli.main(["train", "--epochs", "1", "--train-fraction", "0.2", "--out", out,
                     "--no-export", "--no-tensorboard", "--verbose", "0", "--base-learning-rate", "2e-3",
                     "--jit-compile", "off"])
    assert code == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1])
    assert {"test_accuracy", "epochs", "wall_seconds"} <= set(result) and result["epochs"] == 1
    # The saved model stands alone: it takes raw pixels and names the classes.
    alone = str(tmp_path / "alone.keras")
    shutil.copy(os.path.join(out, "best.keras"), alone)
    assert cli.main(["evaluate", "--model-path", alone, "--dataset", "digits"]) == 0
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert scores["test_accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-6)
    assert scores["examples"] == 360
    model = keras.saving.load_model(alone)
    assert model.includes_preprocessing and model.class_names == tuple(str(d) for d in range(10))
    info = dataset_info("digits", image_size=16)
    assert model.model_config["pixel_mean"] == pytest.approx(list(info.mean), abs=1e-6)


def test_cli_errors_are_one_line(capsys):
    assert cli.main(["train", "--model", "nope", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-nest train: error: Unknown model 'nope'. Available models:")
    assert "Traceback" not in err
    assert cli.main(["evaluate", "--model-path", "missing.keras", "--dataset", "digits"]) == 2
    assert "No model at 'missing.keras'" in capsys.readouterr().err


def test_mixed_bfloat16_training_runs(tmp_path):
    result = train(out=str(tmp_path / "run"), epochs=1, precision="mixed_bfloat16", **QUICK)
    assert np.isfinite(result["test_loss"])
    assert keras.config.dtype_policy().name == "float32"  # restored afterwards


@pytest.mark.slow
def test_demo_reaches_95_percent_on_digits(tmp_path):
    """`keras-nest train` with no arguments: the README's main job."""
    proc = subprocess.run([sys.executable, "-m", "keras_nest.cli", "train", "--verbose", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["test_accuracy"] >= 0.95, result
    assert os.path.exists(tmp_path / "runs" / "nest_nano_16-digits" / "best.keras")
    print("demo:", result)


@pytest.mark.slow
def test_mirrored_strategy_matches_one_device():
    proc = subprocess.run([sys.executable, os.path.join(HERE, "distributed_check.py")],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["parallel_loss"] == pytest.approx(report["single_loss"], rel=1e-4)
    assert report["max_weight_diff_after_step"] < 1e-5  # same update, not 2x
    assert report["later_losses"][-1] < report["later_losses"][0]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("source", ["digits", "folder"])
def test_multi_worker_training_completes(tmp_path, source):
    dataset = "digits"
    if source == "folder":  # streamed: each worker reads its own share of the files
        rng = np.random.default_rng(0)
        for label in ("a", "b"):
            (tmp_path / "data" / label).mkdir(parents=True)
            for i in range(40):
                keras.utils.save_img(tmp_path / "data" / label / f"{i}.png", rng.integers(0, 256, (16, 16, 3)))
        dataset = f"folder:{tmp_path / 'data'}"
    workers = [f"127.0.0.1:{_free_port()}" for _ in range(2)]
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "keras_nest.cli", "train", "--strategy", "multiworker", "--epochs", "1",
             "--dataset", dataset, "--train-fraction", "0.2" if source == "digits" else "1",
             "--batch-size", "32" if source == "digits" else "8", "--out", str(tmp_path / "run"),
             "--no-export", "--no-tensorboard", "--verbose", "0"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=900) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    chief = json.loads(outputs[0][0].strip().splitlines()[-1])
    assert chief["epochs"] == 1 and 0.0 <= chief["test_accuracy"] <= 1.0
    assert os.path.exists(tmp_path / "run" / "best.keras")
