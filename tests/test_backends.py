"""Training and saved models on every Keras backend; keras.distribution on JAX.

Keras fixes its backend at import, so other backends run in subprocesses.
PyTorch is not installed in CI (its wheel is gigabytes): its cases run where
`torch` is importable (`/tmp/venv-torch/bin/python -m pytest tests/test_backends.py`
on the development machines) and say so when skipped.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest import cli
from keras_nest.backends import select_backend
from keras_nest.errors import InvalidValueError, MissingDependencyError
from keras_nest.training import train
from keras_nest.training.distribute import resolve_strategy

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BACKEND = keras.backend.backend()
OTHER_BACKENDS = [b for b in ("tensorflow", "jax", "torch") if b != BACKEND]
QUICK = ["--train-fraction", "0.25", "--no-export", "--no-tensorboard", "--verbose", "0"]


def _needs(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed in this interpreter ({sys.executable})")


def _cli(args, env=None, timeout=900):
    proc = subprocess.run([sys.executable, "-m", "keras_nest.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})
    return proc, (json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None)


# --- choosing a backend and a strategy -------------------------------------------------------


def test_select_backend_refuses_what_it_cannot_do(monkeypatch):
    with pytest.raises(InvalidValueError, match="choose one of tensorflow, jax, torch"):
        select_backend("mxnet")
    other = OTHER_BACKENDS[0]
    if importlib.util.find_spec(other) is not None:
        with pytest.raises(InvalidValueError, match=f"already running on {BACKEND}.*KERAS_BACKEND={other}"):
            select_backend(other)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else
                        real_find_spec(name, *a))
    with pytest.raises(MissingDependencyError, match="pip install torch"):
        select_backend("torch")
    assert select_backend(BACKEND) == BACKEND


def test_cli_backend_that_is_not_installed_is_one_line(monkeypatch, capsys):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else
                        real_find_spec(name, *a))
    assert cli.main(["train", "--backend", "jax"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "keras-nest train: error: The jax backend needs the jax package" in err
    assert 'pip install "keras-nest[jax]"' in err


def test_export_on_a_backend_that_cannot_write_the_format_says_where_to(monkeypatch, tmp_path):
    from keras_nest.export import can_export, export_model

    model = keras_nest.create_model("nest_nano_16", num_classes=3)
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    assert not can_export("saved_model")
    with pytest.raises(InvalidValueError, match="saved_model export does not work on the torch backend here; "
                       "run it on tensorflow or jax: keras-nest export --backend tensorflow"):
        export_model(model, str(tmp_path / "sm"))
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert can_export("saved_model") and not can_export("onnx")
    with pytest.raises(InvalidValueError, match="onnx export does not work on the jax backend"):
        export_model(model, str(tmp_path / "m.onnx"), format="onnx")
    assert not (tmp_path / "sm").exists() and not (tmp_path / "m.onnx").exists()


def test_strategy_of_another_backend_names_the_ones_it_has(monkeypatch, tmp_path, capsys):
    if BACKEND == "tensorflow":
        with pytest.raises(InvalidValueError, match="'data_parallel' does not exist on the tensorflow backend; "
                           "it has auto, default, mirrored, multiworker, tpu"):
            resolve_strategy("data_parallel")
        # Refused before a run folder is made.
        assert cli.main(["train", "--strategy", "data_parallel", "--out", str(tmp_path / "run")]) == 2
        assert "it has auto, default, mirrored" in capsys.readouterr().err
        assert not (tmp_path / "run").exists()
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(InvalidValueError, match="'mirrored' does not exist on the jax backend; it has auto, "
                       "default, data_parallel"):
        resolve_strategy("mirrored")
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(InvalidValueError, match="on the torch backend; it has auto, default"):
        resolve_strategy("data_parallel")


def test_helper_scripts_leave_the_environment_alone_when_imported():
    """pytest imports every module under tests/ for doctests; one that set KERAS_BACKEND from its
    argv (pytest's "-q") broke every later subprocess. Imported with pytest's argv, none may change it."""
    helpers = sorted(f[:-3] for f in os.listdir(HERE) if f.endswith(".py") and not f.startswith(("test_", "conftest")))
    code = ("import os, sys; sys.argv = ['pytest', '-q']; sys.path.insert(0, %r); before = dict(os.environ)\n"
            "for name in %r:\n    __import__(name)\n"
            "changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k) "
            "and k != 'TF_CPP_MIN_LOG_LEVEL')\nprint(changed)") % (HERE, helpers)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]", (helpers, proc.stdout)


# --- the same training on every backend ----------------------------------------------------


# Measured: 5 epochs reach 97.8% (TensorFlow), 97.5% (JAX), 97.5% (PyTorch); the full 15-epoch demo's bar.
DEMO_BAR = 0.95


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_digits_demo_trains_on_each_backend(backend, tmp_path):
    """The README's main job in fast mode (5 epochs): the bar TensorFlow's 15-epoch demo passes
    (`test_training.py::test_demo_reaches_95_percent_on_digits`; 5 epochs give 97.8% there)."""
    _needs(backend)
    proc, result = _cli(["train", "--backend", backend, "--epochs", "5", "--out", str(tmp_path / "run"),
                         "--no-tensorboard", "--verbose", "0"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert result["backend"] == backend and result["epochs"] == 5
    # The SavedModel export where the backend can write one (JAX); PyTorch's run ends without it.
    assert (result["saved_model"] is not None) == (backend == "jax")
    assert result["test_accuracy"] >= DEMO_BAR, result
    print(backend, "demo (5 epochs):", result["test_accuracy"], result["wall_seconds"], "s")


@pytest.mark.slow
@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_a_run_resumes_on_another_backend(backend, tmp_path):
    """One epoch here, the second on another backend: the same folder, recipe and step count."""
    _needs(backend)
    out = str(tmp_path / "run")
    first = train(model="nest_nano_16", dataset="digits", out=out, epochs=1, train_fraction=0.25,
                  tensorboard=False, export=False, verbose=0, jit_compile="off")
    assert first["backend"] == BACKEND
    proc, result = _cli(["train", "--backend", backend, "--out", out, "--resume", "--epochs", "2", *QUICK])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert result["backend"] == backend and result["epochs"] == 2
    assert result["recipe"] == {**json.loads(json.dumps(first["recipe"])), "epochs": 2}  # as JSON has it
    with open(os.path.join(out, "state.json")) as f:
        state = json.load(f)
    assert state["epoch"] == 2 and [row["epoch"] for row in state["history"]] == [1, 2]


def _backend_check(backend, *args):
    proc = subprocess.run([sys.executable, os.path.join(HERE, "backend_check.py"), backend, *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
def test_a_keras_file_predicts_the_same_on_every_backend(tmp_path):
    """Saved on one backend, loaded on each: the same logits (float32, 1e-5)."""
    backends = [b for b in ("tensorflow", "jax", "torch") if importlib.util.find_spec(b) is not None]
    assert {"tensorflow", "jax"} <= set(backends)
    images = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3)).astype("float32")
    np.save(tmp_path / "images.npy", images)
    for source in backends:
        saved = str(tmp_path / f"{source}.keras")
        _backend_check(source, "save", saved, str(tmp_path / "images.npy"), str(tmp_path / f"{source}.npy"))
        expected = np.load(tmp_path / f"{source}.npy")
        for target in backends:
            if target != source:
                out = tmp_path / f"{source}-on-{target}.npy"
                _backend_check(target, "predict", saved, str(tmp_path / "images.npy"), str(out))
                np.testing.assert_allclose(np.load(out), expected, atol=1e-5, rtol=1e-5,
                                           err_msg=f"saved on {source}, loaded on {target}")


# --- keras.distribution on JAX ----------------------------------------------------------------


@pytest.mark.slow
def test_jax_data_parallel_step_matches_one_device():
    _needs("jax")
    proc = subprocess.run([sys.executable, os.path.join(HERE, "distributed_check.py"), "jax"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax" and report["replicas"] == 2
    assert abs(report["parallel_loss"] - report["single_loss"]) < 1e-5
    assert report["max_weight_diff_after_step"] < 1e-5
    assert report["later_losses"][-1] < report["later_losses"][0]


def test_data_parallel_batch_must_split_over_the_devices():
    from keras_nest.training.distribute import KerasDistribution, check_batch_split

    class TwoDevices(KerasDistribution):
        num_replicas_in_sync = 2

    with pytest.raises(InvalidValueError, match="batch_size 33 does not split evenly over the 2 devices.*"
                       "multiple of 2"):
        check_batch_split(33, TwoDevices(None))
    assert check_batch_split(32, TwoDevices(None)) == 2


def test_padded_evaluation_batches_weigh_their_pads_zero():
    import tensorflow as tf

    from keras_nest.training.distribute import KerasDistribution, pad_batches

    class FourDevices(KerasDistribution):
        num_replicas_in_sync = 4

    images = np.arange(7 * 2 * 2 * 1, dtype="uint8").reshape(7, 2, 2, 1)
    labels = np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2, 0]]
    ds = pad_batches(tf.data.Dataset.from_tensor_slices((images, labels)).batch(5), FourDevices(None))
    (x1, y1, w1), (x2, y2, w2) = [tuple(t.numpy() for t in batch) for batch in ds]
    assert x1.shape == (8, 2, 2, 1) and x2.shape == (4, 2, 2, 1) and y2.shape == (4, 3)
    np.testing.assert_array_equal(w1, [1, 1, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(w2, [1, 1, 0, 0])
    np.testing.assert_array_equal(x2[:2], images[5:])
    np.testing.assert_array_equal(x2[2:], 0)
    # The accuracy of the real rows only: the padded rows are all-zero labels and count for nothing.
    metric = keras.metrics.CategoricalAccuracy()
    metric.update_state(y1, np.eye(3)[[0, 1, 2, 1, 1, 0, 0, 0]], sample_weight=w1)
    assert float(metric.result()) == pytest.approx(4 / 5)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_jax_two_processes_train_one_run(tmp_path):
    """Multi-host through keras.distribution.initialize: two local processes, one run folder."""
    _needs("jax")
    address = f"127.0.0.1:{_free_port()}"
    procs = []
    for index in range(2):
        env = dict(os.environ, KERAS_DISTRIBUTION_JOB_ADDRESSES=address, KERAS_DISTRIBUTION_NUM_PROCESSES="2",
                   KERAS_DISTRIBUTION_PROCESS_ID=str(index))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "keras_nest.cli", "train", "--backend", "jax", "--strategy", "data_parallel",
             "--epochs", "1", "--batch-size", "32", "--out", str(tmp_path / "run"), *QUICK],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=900) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    chief = json.loads(outputs[0][0].strip().splitlines()[-1])
    worker = json.loads(outputs[1][0].strip().splitlines()[-1])
    assert chief["backend"] == "jax" and chief["epochs"] == 1 and 0.0 <= chief["test_accuracy"] <= 1.0
    assert worker == {"status": "worker-done", "epochs": 1}
    assert os.path.exists(tmp_path / "run" / "best.keras")


# --- the portable tests, on JAX ---------------------------------------------------------------

PORTABLE_TESTS = ["tests/test_layers.py", "tests/test_models.py", "tests/test_saving.py", "tests/test_gan.py"]


@pytest.mark.slow
def test_layer_model_saving_and_gan_tests_pass_on_jax():
    """CI's JAX run: the layer, model, saving and GAN-step test files under KERAS_BACKEND=jax, less
    their slow tests (end-to-end runs whose JAX counterparts are in this file and test_gan_backends.py)."""
    _needs("jax")
    if BACKEND != "tensorflow":
        pytest.skip(f"this suite already runs on {BACKEND}")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfs", "--no-header", "-m", "not slow",
                           *PORTABLE_TESTS],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "KERAS_BACKEND": "jax"})
    summary = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert " passed" in summary and " failed" not in summary, summary
    print("JAX:", summary)
