"""timm parity: the converted fixture must reproduce timm's own outputs."""

import json
import os

import keras
import numpy as np
import pytest

import keras_nest
from hub_fixture import nest_arguments
from keras_nest.convert import load_timm_weights, read_state_dict

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
WEIGHTS = os.path.join(FIXTURES, "timm_nest_small.safetensors")


@pytest.fixture(scope="module")
def fixture():
    data = np.load(os.path.join(FIXTURES, "timm_nest_small_io.npz"))
    return {k: data[k] for k in data.files}


def model_for(config, **overrides):
    """The keras_nest model matching a timm `Nest` config (exact GELU, as timm)."""
    return keras_nest.NestModel(**{**nest_arguments(config), "gelu_approximate": False, **overrides})


def test_converted_logits_match_timm(fixture):
    config = json.loads(str(fixture["config_json"]))
    assert config["pad_type"] == "same"
    model = load_timm_weights(model_for(config), WEIGHTS)
    logits = model.predict(fixture["images_nhwc"], verbose=0)
    assert np.abs(fixture["logits"]).max() > 0.1  # not a degenerate fixture
    np.testing.assert_allclose(logits, fixture["logits"], atol=1e-4, rtol=0)
    assert np.abs(logits - fixture["logits"]).max() < 1e-5


def test_converted_features_match_timm(fixture):
    config = json.loads(str(fixture["config_json"]))
    backbone = load_timm_weights(model_for(config, include_top=False), WEIGHTS)
    features = backbone.predict(fixture["images_nhwc"], verbose=0)
    assert features.shape == fixture["features_nhwc"].shape == (4, 4, 4, 64)
    np.testing.assert_allclose(features, fixture["features_nhwc"], atol=1e-4, rtol=0)


def test_tanh_gelu_differs_from_timm_by_a_small_margin(fixture):
    """The GELU choice is visible: official tanh GELU is not timm's erf GELU."""
    config = json.loads(str(fixture["config_json"]))
    model = load_timm_weights(model_for(config, gelu_approximate=True), WEIGHTS)
    diff = np.abs(model.predict(fixture["images_nhwc"], verbose=0) - fixture["logits"]).max()
    assert 1e-6 < diff < 1e-2


def test_naive_projection_copy_would_be_wrong(fixture):
    """Guards the (head_dim, heads) regrouping of timm's attn.proj columns."""
    config = json.loads(str(fixture["config_json"]))
    state = read_state_dict(WEIGHTS)
    model = load_timm_weights(model_for(config), state)
    attention = model.get_layer("level_2").blocks[0].attention
    attention.output_kernel.assign(state["levels.2.transformer_encoder.0.attn.proj.weight"].T)
    diff = np.abs(model.predict(fixture["images_nhwc"], verbose=0) - fixture["logits"]).max()
    assert diff > 1e-2


def test_accepts_torch_style_mappings_and_resizes_position_embeddings(fixture):
    config = json.loads(str(fixture["config_json"]))
    state = read_state_dict(WEIGHTS)
    # A 32x48 model: level-0 blocks become 4x6 tokens, embeddings resized per block.
    wide = load_timm_weights(model_for(config, input_shape=(32, 48, 3)), state)
    table = keras.ops.convert_to_numpy(wide.get_layer("level_0").position_embedding.embedding)
    assert table.shape == (1, 16, 24, 16)
    np.testing.assert_allclose(table.mean(axis=2), state["levels.0.pos_embed"].mean(axis=2), atol=0.02)
    assert wide.predict(np.zeros((1, 32, 48, 3), "float32"), verbose=0).shape == (1, 10)


def test_bad_checkpoints_raise_clear_errors(fixture, tmp_path):
    config = json.loads(str(fixture["config_json"]))
    state = read_state_dict(WEIGHTS)
    model = model_for(config)
    before = [keras.ops.convert_to_numpy(w) for w in model.weights]
    with pytest.raises(ValueError, match="Missing from checkpoint: \\['levels.2.transformer_encoder.1"):
        load_timm_weights(model, {k: v for k, v in state.items() if "encoder.1." not in k})
    expected = r"head.weight: checkpoint \(10, 64\) \(Keras layout \(64, 10\)\) vs model \(64, 3\).*skip_mismatch"
    with pytest.raises(ValueError, match=expected):
        load_timm_weights(model_for(config, num_classes=3), state)
    # Nothing is written when a load fails.
    for w, b in zip(model.weights, before):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(w), b)
    new_head = load_timm_weights(model_for(config, num_classes=3), state, skip_mismatch=True)
    assert new_head.get_layer("predictions").kernel.shape == (64, 3)
    with pytest.raises(ValueError, match="multi-head attention only"):
        load_timm_weights(model_for(config, attention="multi_query"), state)
    with pytest.raises(FileNotFoundError):
        load_timm_weights(model, str(tmp_path / "nope.safetensors"))
    (tmp_path / "w.npz").write_bytes(b"0")
    with pytest.raises(ValueError, match="expected .safetensors, .pth, .pt or .bin"):
        load_timm_weights(model, str(tmp_path / "w.npz"))
    with pytest.raises(TypeError, match="mapping of timm names"):
        load_timm_weights(model, [1, 2])
