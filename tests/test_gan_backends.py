"""`GAN.train_step` on TensorFlow, JAX and torch, each in its own process (`gan_step_check.py`).

One step from the same weights and noise gives the same losses and weights
on every backend; a short `fit` with every feature on trains, and a `.keras`
round trip keeps the optimizers' state. torch is skipped where this
interpreter has no torch.
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import gan_step_check

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "gan_step_check.py")
# float32, same weights and inputs: the backends agree to ~1e-6 (measured); weights hold values up to ~1.
WEIGHT_TOLERANCE = dict(rtol=1e-5, atol=1e-5)
LOSS_RTOL = 2e-5


def run_check(backend, *args):
    if backend == "torch" and importlib.util.find_spec("torch") is None:
        pytest.skip(f"torch is not installed for {sys.executable}; the torch backend is not checked here")
    env = {**os.environ, "KERAS_BACKEND": backend}
    proc = subprocess.run([sys.executable, CHECK, *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=600, cwd=os.path.dirname(HERE))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


# nest_gan_tiny: attention and layer norm; sagan_tiny: batch norm and spectral norm in the generator too.
@pytest.fixture(scope="module", params=["nest_gan_tiny", pytest.param("sagan_tiny", marks=pytest.mark.slow)])
def tensorflow_step(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gan_step")
    gan_step_check.save_inputs(folder / "inputs.npz", generator=request.param, r1_gamma=1.0)
    run_check("tensorflow", "step", folder / "inputs.npz", folder / "tensorflow.npz")
    return folder, dict(np.load(folder / "inputs.npz")), dict(np.load(folder / "tensorflow.npz"))


@pytest.mark.parametrize("backend", [pytest.param("jax", marks=pytest.mark.slow), "torch"])
def test_one_step_matches_tensorflow(backend, tensorflow_step):
    folder, inputs, expected = tensorflow_step
    run_check(backend, "step", folder / "inputs.npz", folder / f"{backend}.npz")
    got = dict(np.load(folder / f"{backend}.npz"))
    assert set(got) == set(expected)
    np.testing.assert_array_equal(got["iterations"], [1, 2])  # d_steps=2
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert got[name] == pytest.approx(expected[name], rel=LOSS_RTOL), name
    for name in sorted(set(expected) - {"d_loss", "g_loss", "d_real", "d_fake", "iterations"}):
        np.testing.assert_allclose(got[name], expected[name], err_msg=name, **WEIGHT_TOLERANCE)
    # Not vacuous: the step moved every network, and the EMA only part of the way.
    g_update = max(np.abs(expected[f"g{i}"] - inputs[f"g{i}"]).max() for i in range(_count(inputs, "g")))
    d_update = max(np.abs(expected[f"d{i}"] - inputs[f"d{i}"]).max() for i in range(_count(inputs, "d")))
    ema_gap = max(np.abs(expected[f"ema{i}"] - expected[f"g{i}"]).max() for i in range(_count(inputs, "g")))
    assert min(g_update, d_update, ema_gap) > 1e-2


def _count(arrays, prefix):
    return sum(1 for k in arrays if k.startswith(prefix) and k[len(prefix):].isdigit())


@pytest.mark.parametrize("backend", [pytest.param("tensorflow", marks=pytest.mark.slow),
                                     pytest.param("jax", marks=pytest.mark.slow), "torch"])
def test_fit_with_every_feature_trains_and_round_trips(backend, tmp_path):
    report = json.loads(run_check(backend, "fit", tmp_path).strip().splitlines()[-1])
    assert report["backend"] == backend
    assert all(np.isfinite(report["losses"]))
    start, one, three = report["seed_counters"]
    assert three - one == 2 * (one - start) > 0  # fresh noise and augmentation on every step
    assert report["max_update"] > 1e-3
    assert report["ema_moved"] > 0 and report["ema_gap"] > 0
    assert report["iterations"] == report["revived_iterations"] == [3, 6]
    assert report["revived_optimizer_diff"] == 0 and report["revived_sample_diff"] < 1e-6
    if backend == "jax":
        assert report["jit_compile"]
