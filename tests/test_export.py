"""Exported artifacts, each run by its own runtime, against Keras on raw pixels."""

import json
import os
import sys

import numpy as np
import pytest

import keras_nest
from keras_nest import cli
from keras_nest.errors import MissingDependencyError
from keras_nest.export import export_model, run_exported

MEAN, STD = (0.45, 0.5, 0.55), (0.2, 0.25, 0.3)


@pytest.fixture(scope="module")
def raw_model():
    return keras_nest.create_model("nest_nano_16", num_classes=4, include_preprocessing=True, pixel_mean=MEAN,
                                   pixel_std=STD, class_names=["a", "b", "c", "d"], seed=0)


def _pixels(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 16, 16, 3)).astype(np.float32)


@pytest.mark.parametrize("format, name", [("saved_model", "nest"), ("litert", "nest.tflite"), ("onnx", "nest.onnx")])
def test_each_format_matches_keras_on_raw_pixels_at_any_batch_size(raw_model, tmp_path, format, name):
    path = export_model(raw_model, tmp_path / name, format)
    for batch in (1, 5):  # the batch dimension stays dynamic
        images = _pixels(batch, seed=batch)
        expected = raw_model.predict(images, verbose=0)
        got = run_exported(path, images)
        assert got.shape == (batch, 4)
        np.testing.assert_allclose(got, expected, atol=1e-4)
    # The artifact normalises inside: on raw pixels it equals the same network fed normalised ones.
    plain = keras_nest.create_model("nest_nano_16", num_classes=4, seed=0)
    plain.set_weights(raw_model.get_weights())
    normalised = (_pixels(2) / 255 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    np.testing.assert_allclose(run_exported(path, _pixels(2)), plain.predict(normalised, verbose=0), atol=1e-4)


def test_savedmodel_reloads_as_a_keras_layer(raw_model, tmp_path):
    import keras

    path = export_model(raw_model, tmp_path / "served", "saved_model")
    layer = keras.layers.TFSMLayer(path, call_endpoint="serve")
    images = _pixels(3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(images)), raw_model.predict(images, verbose=0),
                               atol=1e-4)


def test_export_errors_say_what_to_do(raw_model, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"ending in \.onnx.*'.*model\.onnx'"):
        export_model(raw_model, tmp_path / "model.tflite", "onnx")
    with pytest.raises(ValueError, match="saved_model export is a folder"):
        export_model(raw_model, tmp_path / "model.onnx", "saved_model")
    with pytest.raises(ValueError, match="format must be one of"):
        export_model(raw_model, tmp_path / "m", "tflite")
    import keras

    with pytest.raises(ValueError, match="never built"):
        export_model(keras.Sequential([keras.layers.Dense(2)]), tmp_path / "m", "saved_model")
    with pytest.raises(FileNotFoundError, match="No model at"):
        export_model(str(tmp_path / "missing.keras"), tmp_path / "m", "saved_model")
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # what an environment without it imports
    with pytest.raises(MissingDependencyError, match=r'pip install "keras-nest\[export\]"'):
        export_model(raw_model, tmp_path / "m.onnx", "onnx")
    assert not os.path.exists(tmp_path / "m.onnx")


def test_failed_export_keeps_the_earlier_artifact(raw_model, tmp_path, monkeypatch):
    path = export_model(raw_model, tmp_path / "m.tflite", "litert")
    before = open(path, "rb").read()

    def broken(*args, **kwargs):
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(type(raw_model), "export", broken)
    with pytest.raises(RuntimeError, match="converter crashed"):
        export_model(raw_model, path, "litert")
    assert open(path, "rb").read() == before
    assert [f for f in os.listdir(tmp_path) if f != "m.tflite"] == []  # no temporary left behind


def test_cli_export_prints_the_parity_it_measured(raw_model, tmp_path, capsys):
    model_path = str(tmp_path / "best.keras")
    raw_model.save(model_path)
    assert cli.main(["export", "--model-path", model_path, "--format", "onnx"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["out"] == str(tmp_path / "best.onnx") and os.path.isfile(result["out"])
    assert result["raw_pixel_input"] is True and result["max_abs_difference"] < 1e-4
    assert cli.main(["export", "--model-path", model_path, "--format", "onnx", "--out", str(tmp_path / "x")]) == 2
    assert "ending in .onnx" in capsys.readouterr().err
