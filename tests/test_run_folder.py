"""The run-folder lifecycle: resume, commit, lock, refusals (issue 9's faults, one test each or more)."""

import csv
import json
import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest

from keras_nest import cli
from keras_nest.io_utils import write_json
from keras_nest.training import RunFolder, RunFolderError, TrainingDiverged, train
from keras_nest.training.run_folder import COMMIT, LOCK, STAGING
from kill_during_training import KILL_CONFIG

HERE = os.path.dirname(os.path.abspath(__file__))

# 1,295 digits after the validation hold-out; 25% = 324 images = 11 batches of 32.
STEPS = 11
CFG = dict(KILL_CONFIG, epochs=3)


def _weights(path):
    model = keras.saving.load_model(path)
    return model, [keras.ops.convert_to_numpy(w) for w in model.weights]


def _max_difference(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def _history(out):
    rows = json.load(open(os.path.join(out, "history.json")))
    with open(os.path.join(out, "history.csv")) as f:
        csv_epochs = [int(float(row["epoch"])) for row in csv.DictReader(f)]
    return [row["epoch"] for row in rows], csv_epochs


def _stop_after(epochs):
    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == epochs:
                self.model.stop_training = True

    return Stop()


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """The uninterrupted 2-epoch kill-test run: its final weights and optimizer state."""
    out = str(tmp_path_factory.mktemp("straight") / "run")
    train(out=out, **KILL_CONFIG)
    return _weights(os.path.join(out, "last.keras"))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("finished") / "run")
    result = train(out=out, **CFG)
    return out, result


# Fault 1: resuming with a longer budget trains at a real learning rate.
def test_resume_with_more_epochs_rebuilds_the_schedule(finished_run, tmp_path):
    source, _ = finished_run
    out = str(tmp_path / "run")
    _copy_run(source, out)
    before, weights_before = _weights(os.path.join(out, "last.keras"))
    result = train(out=out, resume=True, **dict(CFG, epochs=5))
    after, weights_after = _weights(os.path.join(out, "last.keras"))
    assert result["epochs"] == 5 and result["recipe"]["epochs"] == 5
    assert int(after.optimizer.iterations.numpy()) == 5 * STEPS
    assert _max_difference(weights_before, weights_after) > 1e-3  # it trained
    rate = float(after.optimizer.learning_rate)  # the new schedule, read at step 55 = its end
    assert rate == pytest.approx(0.0, abs=1e-9)
    schedule = after.optimizer._learning_rate  # the saved LearningRateSchedule
    assert float(schedule(3 * STEPS)) > 1e-4  # where the resumed epochs started: far from 0
    assert _history(out) == ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    with pytest.raises(RunFolderError, match="already trained 5 epoch"):
        train(out=out, resume=True, **dict(CFG, epochs=5))


# Fault 2: recipe overrides on resume are applied (and recorded), identity changes refused.
def test_resume_applies_recipe_overrides_and_refuses_other_changes(finished_run, tmp_path):
    source, _ = finished_run
    out = str(tmp_path / "run")
    _copy_run(source, out)
    result = train(out=out, resume=True, **dict(CFG, epochs=4, recipe_overrides={
        "drop_path_rate": 0.0, "base_learning_rate": 1e-3}))
    assert result["recipe"]["base_learning_rate"] == 1e-3
    state = json.load(open(os.path.join(out, "state.json")))
    assert state["settings"]["recipe"]["base_learning_rate"] == 1e-3
    with pytest.raises(RunFolderError, match="batch_size 64.*batches of 32"):
        train(out=out, resume=True, **dict(CFG, epochs=6, batch_size=64))
    with pytest.raises(RunFolderError, match="recipe 'cifar'"):
        train(out=out, resume=True, recipe="cifar", **dict(CFG, epochs=6))
    with pytest.raises(RunFolderError, match="model='nest_nano_16'; you asked for model='nest_micro_32'"):
        train(out=out, resume=True, **dict(CFG, epochs=6, model="nest_micro_32"))
    with pytest.raises(RunFolderError, match="dataset='digits'; you asked for dataset='shapes'"):
        train(out=out, resume=True, **dict(CFG, epochs=6, dataset="shapes"))


# Fault 3: a resumed run is the uninterrupted run (weight decay exclusions, schedule, data order).
def test_stopped_and_resumed_equals_straight_through(straight_run, tmp_path):
    out = str(tmp_path / "run")
    train(out=out, callbacks=[_stop_after(1)], **KILL_CONFIG)
    train(out=out, resume=True, **KILL_CONFIG)
    model, weights = _weights(os.path.join(out, "last.keras"))
    reference_model, reference = straight_run
    assert int(model.optimizer.iterations.numpy()) == 2 * STEPS
    difference = _max_difference(weights, reference)
    print("resumed vs straight max |weight difference|:", difference)
    assert difference < 1e-5
    moments = _max_difference([keras.ops.convert_to_numpy(v) for v in model.optimizer.variables],
                              [keras.ops.convert_to_numpy(v) for v in reference_model.optimizer.variables])
    assert moments < 1e-5


# Fault 4: checkpoint, state and history commit together, wherever the process is killed.
@pytest.mark.slow
@pytest.mark.parametrize("point", ["batch", "staged", "committed", "moved:history.csv", "moved:last.keras",
                                   "moved:state.json"])
def test_kill_at_each_commit_point_then_resume(point, straight_run, tmp_path):
    out = str(tmp_path / "run")
    proc = subprocess.run([sys.executable, os.path.join(HERE, "kill_during_training.py"), out, point, "2"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -9, proc.stderr[-2000:]
    result = train(out=out, resume=True, **KILL_CONFIG)
    assert result["epochs"] == 2
    model, weights = _weights(os.path.join(out, "last.keras"))
    assert int(model.optimizer.iterations.numpy()) == 2 * STEPS  # no epoch trained twice
    assert _history(out) == ([1, 2], [1, 2])
    difference = _max_difference(weights, straight_run[1])
    print(f"kill at {point}: resumed vs straight max |weight difference| {difference:.3g}")
    assert difference < 1e-5
    leftovers = [n for n in os.listdir(out) if n.startswith(".tmp-") or n in (STAGING, COMMIT)]
    assert leftovers == []


def test_nan_epoch_is_not_committed_and_resume_applies_a_lower_rate(tmp_path):
    out = str(tmp_path / "run")

    class PoisonEpoch(keras.callbacks.Callback):
        def __init__(self, epoch):
            super().__init__()
            self.epoch = epoch

        def on_epoch_begin(self, epoch, logs=None):
            if epoch + 1 == self.epoch:
                kernel = self.model.get_layer("predictions").kernel
                kernel.assign(np.full(kernel.shape, np.nan, "float32"))

    with pytest.raises(TrainingDiverged, match="epoch 1, batch 1. No epoch finished"):
        train(out=out, callbacks=[PoisonEpoch(1)], **CFG)
    with pytest.raises(TrainingDiverged, match="epoch 2, batch 1. The run folder .* keeps epoch 1.*"
                                              "--base-learning-rate"):
        train(out=out, resume=True, callbacks=[PoisonEpoch(2)], **CFG)
    assert _history(out) == ([1], [1])  # the NaN epoch left no row
    result = train(out=out, resume=True, **dict(CFG, recipe_overrides={"drop_path_rate": 0.0,
                                                                        "base_learning_rate": 1e-3}))
    assert _history(out) == ([1, 2, 3], [1, 2, 3]) and np.isfinite(result["test_loss"])
    assert result["recipe"]["base_learning_rate"] == 1e-3


# Fault 5: runs never overwrite each other.
def test_checkpoints_without_state_are_never_replaced(finished_run, tmp_path):
    out = str(tmp_path / "run")
    _copy_run(finished_run[0], out)
    os.remove(os.path.join(out, "state.json"))
    before = open(os.path.join(out, "last.keras"), "rb").read()
    with pytest.raises(RunFolderError, match="no run state.*never replaced"):
        train(out=out, **CFG)
    with pytest.raises(RunFolderError, match="no run state"):
        train(out=out, resume=True, **CFG)
    write_json(os.path.join(out, "state.json"), {})
    with pytest.raises(RunFolderError, match="state.json is not a keras_nest run state"):
        train(out=out, resume=True, **CFG)
    assert open(os.path.join(out, "last.keras"), "rb").read() == before


def test_a_folder_in_use_is_refused(tmp_path):
    out = str(tmp_path / "run")
    with RunFolder.open(out, kind="classifier", identity={}, resume=False):
        with pytest.raises(RunFolderError, match="in use by another training run"):
            train(out=out, **CFG)
    assert os.path.exists(os.path.join(out, LOCK)) or not os.path.exists(out)


def test_lock_is_held_across_processes(tmp_path):
    out = str(tmp_path / "run")
    code = ("import sys, time; from keras_nest.training.run_folder import RunFolder;"
            f"r = RunFolder.open({out!r}, kind='classifier', identity={{}}, resume=False);"
            "print('locked', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert cli.main(["train", "--out", out, "--epochs", "1", "--verbose", "0"]) == 2
    finally:
        holder.kill()
        holder.wait()
    with RunFolder.open(out, kind="classifier", identity={}, resume=False):  # the lock died with it
        pass


# Fault 6: damaged or mismatched files get one clear line naming the file.
def test_damaged_files_are_named(finished_run, tmp_path, capsys):
    out = str(tmp_path / "run")
    _copy_run(finished_run[0], out)
    last = os.path.join(out, "last.keras")
    data = open(last, "rb").read()
    with open(last, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(RunFolderError, match="last.keras is not a readable .keras file.*truncated"):
        train(out=out, resume=True, **dict(CFG, epochs=4))
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF
    with open(last, "wb") as f:
        f.write(bytes(flipped))
    with pytest.raises(RunFolderError, match="last.keras"):
        train(out=out, resume=True, **dict(CFG, epochs=4))
    assert os.path.exists(os.path.join(out, "result.json"))  # a refused resume changes nothing
    state = json.load(open(os.path.join(out, "state.json")))
    write_json(os.path.join(out, "state.json"), dict(state, history="x"))
    with pytest.raises(RunFolderError, match="state.json is damaged: history has the wrong type"):
        train(out=out, resume=True, **dict(CFG, epochs=4))
    with open(os.path.join(out, "state.json"), "w") as f:
        f.write("{not json")
    code = cli.main(["train", "--out", out, "--resume", "--epochs", "4"])
    err = capsys.readouterr().err
    assert code == 2 and "state.json is not valid JSON" in err and "Traceback" not in err


def test_stale_temporaries_are_removed_on_open(tmp_path):
    out = str(tmp_path / "run")
    with RunFolder.open(out, kind="demo", identity={}, resume=False) as run:
        run.start(settings={})
    for name in (".tmp-abc.keras", os.path.join("samples", ".tmp-x.png")):
        os.makedirs(os.path.dirname(os.path.join(out, name)), exist_ok=True)
        open(os.path.join(out, name), "w").close()
    os.makedirs(os.path.join(out, STAGING))
    os.makedirs(os.path.join(out, ".tmp-saved_model", "variables"))  # a killed export
    with RunFolder.open(out, kind="demo", identity={}, resume=True):
        pass
    assert not os.path.exists(os.path.join(out, ".tmp-saved_model"))
    assert not os.path.exists(os.path.join(out, ".tmp-abc.keras"))
    assert not os.path.exists(os.path.join(out, "samples", ".tmp-x.png"))
    assert not os.path.exists(os.path.join(out, STAGING))


def test_run_files_get_the_users_permissions(finished_run):
    umask = os.umask(0)
    os.umask(umask)
    for name in ("last.keras", "state.json", "result.json", "history.csv"):
        mode = os.stat(os.path.join(finished_run[0], name)).st_mode & 0o777
        assert mode == 0o666 & ~umask, (name, oct(mode))


def test_result_records_the_recipe_used(finished_run):
    import dataclasses

    from keras_nest.training import get_recipe

    out, _ = finished_run
    result = json.load(open(os.path.join(out, "result.json")))
    expected = dataclasses.asdict(get_recipe("small", epochs=3, batch_size=32, drop_path_rate=0.0))
    assert result["recipe"] == {k: list(v) if isinstance(v, tuple) else v for k, v in expected.items()}
    assert result["spec"]["train_fraction"] == 0.25 and result["spec"]["image_size"] == [16, 16]


# Fault 8: arguments are checked before anything is built.
@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "epochs must be an int >= 1, got 0"),
    (["--epochs", "-1"], "epochs must be an int >= 1, got -1"),
    (["--base-learning-rate", "-1"], "base_learning_rate must be a finite number > 0, got -1.0"),
    (["--label-smoothing", "5"], "label_smoothing must be a finite number >= 0 and < 1, got 5.0"),
    (["--train-fraction", "0"], "train_fraction must be a finite number > 0 and <= 1, got 0.0"),
    (["--image-size", "-16"], "image_size must be an int >= 1, got -16"),
    (["--num-examples", "0"], "num_examples must be an int >= 1, got 0"),
])
def test_bad_training_arguments_are_one_line_errors(argv, message, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert cli.main(["train", "--out", out, *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert not os.path.exists(out)


def test_numpy_arguments_are_stored_as_plain_values():
    import json as json_module

    from keras_nest.training.trainer import _given_identity

    given = _given_identity(dataset=None, seed=np.int64(3), train_fraction=np.float32(0.5), image_size=np.int64(16),
                            model=None, validation_fraction=None, model_overrides=None)
    assert json_module.loads(json_module.dumps(given)) == {"seed": 3, "train_fraction": 0.5, "image_size": [16, 16]}


def test_resume_needs_the_run_folder():
    with pytest.raises(ValueError, match="resume=True .* needs the run folder"):
        train(resume=True, epochs=20)


def test_python_train_refuses_zero_epochs(tmp_path):
    with pytest.raises(ValueError, match="epochs must be an int >= 1, got 0"):
        train(out=str(tmp_path / "run"), epochs=0)
    with pytest.raises(TypeError, match="epochs must be an int >= 1, got 2.5"):
        train(out=str(tmp_path / "run"), epochs=2.5)


def test_unusable_output_folders_fail_before_the_model_is_built(tmp_path, monkeypatch):
    import keras_nest.training.trainer as trainer

    monkeypatch.setattr(trainer, "create_model", lambda *a, **k: pytest.fail("built a model"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunFolderError, match="Cannot use .*file/run"):
        train(out=str(blocker / "run"), **CFG)
    with pytest.raises(RunFolderError, match="Cannot use '/proc/keras_nest_run'"):
        train(out="/proc/keras_nest_run", **CFG)


# Fault 9: a folder of mixed image sizes trains at the size asked for.
def test_folder_of_mixed_sizes_trains_at_the_given_size(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, (h, w) in (("cat", (20, 24)), ("dog", (30, 18))):
        os.makedirs(tmp_path / "data" / label)
        for i in range(12):
            pixels = rng.integers(0, 255, (h + i % 3, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "data" / label / f"{i}.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a streamed pass of unknown length is not "out of data"
        result = train(out=str(tmp_path / "run"), dataset=f"folder:{tmp_path / 'data'}", image_size=16,
                       **{k: v for k, v in CFG.items() if k not in ("dataset", "train_fraction", "batch_size")},
                       batch_size=8)
    assert result["image_size"] == [16, 16] and result["epochs"] == 3


def _copy_run(source, out):
    import shutil

    shutil.copytree(source, out, ignore=shutil.ignore_patterns(LOCK))
