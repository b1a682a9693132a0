import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_nest
from keras_nest.models import transfer_weights


def _trained_like(model, rng):
    """Random non-default weights, so a round trip that drops any is caught."""
    for w in model.weights:
        w.assign(rng.normal(scale=0.05, size=w.shape).astype("float32") + (1.0 if "gamma" in w.path else 0.0))
    return model


def test_keras_file_round_trip_is_exact(tmp_path, rng):
    model = _trained_like(
        keras_nest.create_model("nest_nano_16", num_classes=5, attention="multi_query", drop_path_rate=0.1), rng
    )
    x = rng.normal(size=(3, 16, 16, 3)).astype("float32")
    path = str(tmp_path / "nest.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, keras_nest.NestModel)
    assert loaded.nest_config == model.nest_config
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_pyramid_model_round_trip(tmp_path, rng):
    model = _trained_like(keras_nest.create_model("nest_nano_16", feature_pyramid=True, include_top=False), rng)
    x = rng.normal(size=(2, 16, 16, 3)).astype("float32")
    path = str(tmp_path / "pyramid.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    a, b = model(x), loaded(x)
    for key in a:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a[key]), keras.ops.convert_to_numpy(b[key]))


@pytest.mark.slow
def test_export_saved_model_reloads_with_identical_outputs(tmp_path, rng):
    model = _trained_like(keras_nest.create_model("nest_nano_16", num_classes=5), rng)
    x = rng.normal(size=(3, 16, 16, 3)).astype("float32")
    path = str(tmp_path / "saved_model")
    model.export(path, verbose=False)
    assert os.path.exists(os.path.join(path, "saved_model.pb"))
    reloaded = tf.saved_model.load(path)  # TensorFlow reads it whichever backend exported it
    np.testing.assert_allclose(reloaded.serve(x).numpy(), model.predict(x, verbose=0), atol=1e-5, rtol=1e-5)


def test_weights_transfer_across_resolutions(tmp_path, rng):
    source = _trained_like(keras_nest.create_model("nest_nano_16"), rng)
    target = keras_nest.create_model("nest_nano_16", input_shape=(32, 48, 3))
    assert transfer_weights(source, target) == []
    src_pos = keras.ops.convert_to_numpy(source.get_layer("level_0").position_embedding.embedding)
    dst_pos = keras.ops.convert_to_numpy(target.get_layer("level_0").position_embedding.embedding)
    assert src_pos.shape == (1, 16, 16, 64) and dst_pos.shape == (1, 16, 96, 64)
    # Per-block resize: each 4x4 table became 8x12 and keeps its mean.
    np.testing.assert_allclose(src_pos.mean(axis=2), dst_pos.mean(axis=2), atol=0.01)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(source.get_layer("predictions").kernel),
        keras.ops.convert_to_numpy(target.get_layer("predictions").kernel),
    )
    # A resized model still computes something close on an upsampled image.
    x = rng.normal(size=(2, 16, 16, 3)).astype("float32")
    big = np.repeat(np.repeat(x, 2, axis=1), 3, axis=2)
    assert target(big).shape == (2, 10)

    # create_model(weights=...) does the same from files, .keras and .weights.h5.
    keras_path, h5_path = str(tmp_path / "m.keras"), str(tmp_path / "m.weights.h5")
    source.save(keras_path)
    source.save_weights(h5_path)
    for path in (keras_path, h5_path):
        loaded = keras_nest.create_model("nest_nano_16", input_shape=(32, 48, 3), weights=path)
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(loaded.get_layer("level_0").position_embedding.embedding), dst_pos, atol=1e-6
        )


def test_transfer_to_new_head_and_bad_files(tmp_path, rng):
    source = keras_nest.create_model("nest_nano_16")
    new_head = keras_nest.create_model("nest_nano_16", num_classes=3)
    with pytest.raises(ValueError, match="Shape mismatch for 'predictions/kernel'"):
        transfer_weights(source, new_head)
    skipped = transfer_weights(source, new_head, skip_mismatch=True)
    assert skipped == ["predictions/kernel", "predictions/bias"]
    backbone = keras_nest.create_model("nest_nano_16", include_top=False)
    assert transfer_weights(source, backbone) == []
    with pytest.raises(ValueError, match="differ in architecture"):
        transfer_weights(backbone, source)
    with pytest.raises(FileNotFoundError, match="No weights file"):
        keras_nest.create_model("nest_nano_16", weights=str(tmp_path / "missing.keras"))
    bad = tmp_path / "weights.npz"
    bad.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"use a timm checkpoint \(.safetensors, .pth, .pt, .bin\) or a "
                                         r"keras_nest file \(.keras, .weights.h5\)"):
        keras_nest.create_model("nest_nano_16", weights=str(bad))
