import keras
import numpy as np
import pytest

import keras_nest
from keras_nest.presets import get_preset


@pytest.mark.parametrize("name", keras_nest.list_models("vit"))
def test_vit_is_size_matched_to_its_nest(name):
    vit = keras_nest.create_model(name)
    nest = keras_nest.create_model(get_preset(name).matches)
    assert abs(vit.count_params() / nest.count_params() - 1) <= 0.10
    assert vit.input_shape == nest.input_shape and vit.output_shape == nest.output_shape
    keras.backend.clear_session()


def test_vit_attention_is_global(rng):
    model = keras_nest.create_model("vit_nano_16")
    encoder = model.get_layer("encoder")
    assert tuple(encoder.position_embedding.embedding.shape) == (1, 1, 64, 96)  # one block: all 8x8 patches
    # Changing one corner patch changes the features of the opposite corner.
    features = keras.Model(model.input, encoder.output)
    x = rng.normal(size=(1, 16, 16, 3)).astype("float32")
    y = x.copy()
    y[0, :2, :2] += 3.0
    a, b = (keras.ops.convert_to_numpy(features(v)) for v in (x, y))
    assert np.abs(a[0, 0, -1] - b[0, 0, -1]).max() > 1e-4


def test_vit_class_token_and_round_trip(tmp_path, rng):
    model = keras_nest.create_model("vit_nano_16", global_pool="token", num_classes=4)
    assert tuple(model.get_layer("encoder").position_embedding.embedding.shape) == (1, 1, 65, 96)
    x = rng.normal(size=(2, 16, 16, 3)).astype("float32")
    path = str(tmp_path / "vit.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="global_pool must be one of"):
        keras_nest.create_model("vit_nano_16", global_pool="cls")
    with pytest.raises(ValueError, match="not a multiple of the patch size 2"):
        keras_nest.create_model("vit_nano_16", input_shape=(15, 16, 3))
