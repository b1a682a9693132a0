import json

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest.models import count_macs, drop_path_schedule, level_geometry

# Counts from the official code (the CIFAR-10 NesT-T one equals the colab log).
EXPECTED_PARAMS = {
    "nest_tiny_imagenet": 17_057_608,
    "nest_small_imagenet": 38_351_176,
    "nest_base_imagenet": 67_723_368,
    "nest_tiny_cifar": 6_006_730,
    "nest_small_cifar": 22_849_930,
    "nest_base_cifar": 89_050_378,
}
EXPECTED_GMACS = {  # analytic counts from the official configs
    "nest_tiny_imagenet": 5.81,
    "nest_small_imagenet": 10.32,
    "nest_base_imagenet": 17.93,
    "nest_tiny_cifar": 2.08,
    "nest_small_cifar": 8.05,
    "nest_base_cifar": 31.7,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_parameter_counts_and_macs(name):
    model = keras_nest.create_model(name)
    assert model.count_params() == EXPECTED_PARAMS[name]
    assert count_macs(model) / 1e9 == pytest.approx(EXPECTED_GMACS[name], abs=0.01)
    keras.backend.clear_session()


def test_small_configs_for_demos():
    for name, size in (("nest_nano_16", 16), ("nest_micro_32", 32)):
        model = keras_nest.create_model(name)
        assert 100_000 <= model.count_params() <= 1_500_000, name
        assert model.input_shape == (None, size, size, 3)


def test_list_models_and_unknown_names():
    assert set(EXPECTED_PARAMS) | {"nest_nano_16", "nest_micro_32"} <= set(keras_nest.list_models())
    with pytest.raises(ValueError, match="Available models: .*nest_tiny_cifar"):
        keras_nest.create_model("nest_huge")
    with pytest.raises(ValueError, match=r"Unknown argument\(s\) \['num_class'\]"):
        keras_nest.create_model("nest_nano_16", num_class=3)


def test_structure_of_the_imagenet_tiny_model():
    model = keras_nest.create_model("nest_tiny_imagenet")
    geometry = model.geometry
    assert [g.grid_size for g in geometry] == [(4, 4), (2, 2), (1, 1)]
    assert all(g.block_size == (14, 14) for g in geometry)
    shapes = [tuple(model.get_layer(f"level_{i}").position_embedding.embedding.shape) for i in range(3)]
    assert shapes == [(1, 16, 196, 96), (1, 4, 196, 192), (1, 1, 196, 384)]
    level2 = model.get_layer("level_2")
    assert len(level2.blocks) == 8 and level2.blocks[0].attention.num_heads == 12
    # Stochastic depth grows linearly over the 12 layers of the whole net.
    rates = [b.drop_path.rate for i in range(3) for b in model.get_layer(f"level_{i}").blocks]
    np.testing.assert_allclose(rates, np.linspace(0, 0.2, 12))
    assert model.get_layer("final_norm").epsilon == 1e-6
    cifar = keras_nest.create_model("nest_tiny_cifar")
    attention = cifar.get_layer("level_0").blocks[0].attention
    assert attention.num_key_value_heads == 1 and attention.head_dim == 64


def test_drop_path_schedule():
    rates = drop_path_schedule(0.3, (1, 2, 1))
    np.testing.assert_allclose(sum(rates, []), [0.0, 0.1, 0.2, 0.3])
    assert [len(r) for r in rates] == [1, 2, 1]


def test_forward_and_keras_applications_arguments(rng):
    x = rng.normal(size=(2, 16, 16, 3)).astype("float32")
    model = keras_nest.create_model("nest_nano_16", classes=7, classifier_activation="softmax")
    probs = model.predict(x, verbose=0)
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)

    features = keras_nest.create_model("nest_nano_16", include_top=False)
    assert features.output_shape == (None, 4, 4, 128)
    assert "predictions" not in [layer.name for layer in features.layers]
    for pooling in ("avg", "max"):
        pooled = keras_nest.create_model("nest_nano_16", include_top=False, pooling=pooling)
        assert pooled(x).shape == (2, 128)
    with pytest.raises(ValueError, match="pooling"):
        keras_nest.create_model("nest_nano_16", pooling="avg")
    with pytest.raises(ValueError, match="pooling must be one of"):
        keras_nest.create_model("nest_nano_16", include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="either `classes` or `num_classes`"):
        keras_nest.create_model("nest_nano_16", classes=3, num_classes=4)


def test_feature_pyramid(rng):
    model = keras_nest.create_model("nest_nano_16", feature_pyramid=True)
    out = model(rng.normal(size=(2, 16, 16, 3)).astype("float32"))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "level_0": (2, 16, 16, 64),
        "level_1": (2, 8, 8, 96),
        "level_2": (2, 4, 4, 128),
        "output": (2, 10),
    }
    # The level maps are the levels' outputs put back on the image plane.
    level0 = keras.Model(model.input, model.get_layer("level_0").output)
    blocks = level0(rng.normal(size=(1, 16, 16, 3)).astype("float32"))
    assert tuple(blocks.shape) == (1, 16, 16, 64)


def test_non_square_and_other_resolutions(rng):
    model = keras_nest.create_model("nest_tiny_imagenet", input_shape=(224, 320, 3), num_classes=3)
    assert model.geometry[0].block_size == (14, 20)
    assert tuple(model.get_layer("level_2").position_embedding.embedding.shape) == (1, 1, 280, 384)
    small = keras_nest.create_model("nest_nano_16", input_shape=(16, 32, 3), feature_pyramid=True)
    out = small(rng.normal(size=(1, 16, 32, 3)).astype("float32"))
    assert tuple(out["level_2"].shape) == (1, 4, 8, 128)
    assert tuple(out["output"].shape) == (1, 10)


@pytest.mark.parametrize(
    "name,shape,message",
    [
        ("nest_tiny_imagenet", (30, 30, 3), r"30/4 = 7.5 patches.*multiple of 16, e.g. 16 or 32"),
        ("nest_tiny_imagenet", (224, 40, 3), r"width 40 .*10 patches do not split into 4 blocks.*32 or 48"),
        ("nest_tiny_cifar", (36, 36, 3), r"multiple of 8, e.g. 32 or 40"),
        ("nest_nano_16", (18, 16, 3), r"height 18 .*multiple of 4, e.g. 16 or 20"),
    ],
)
def test_impossible_input_sizes_raise(name, shape, message):
    with pytest.raises(ValueError, match=message):
        keras_nest.create_model(name, input_shape=shape)


def test_level_geometry_helper():
    assert level_geometry((384, 384), 4, 3)[0].block_size == (24, 24)
    with pytest.raises(ValueError, match="static image size"):
        level_geometry((None, 32), 1, 3)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (dict(embed_dims=(64, 96)), r"`embed_dims` has 2 entries but `depths` has 3 levels"),
        (dict(num_heads=(3, 3, 4)), r"Level 0: width 64 is not divisible by 3 heads"),
        (dict(attention="linear"), r"attention must be one of"),
        (dict(drop_path_rate=1.5), r"drop_path_rate must be in \[0, 1\)"),
        (dict(num_classes=0), r"num_classes must be a positive int"),
        (dict(input_shape=(16, 16)), None),  # (H, W) is completed with 3 channels
        (dict(input_shape=(16,)), r"input_shape must be \(height, width, channels\)"),
        (dict(patch_size=0), r"patch_size must be >= 1"),
    ],
)
def test_inconsistent_configs_raise(overrides, message):
    if message is None:
        assert keras_nest.create_model("nest_nano_16", **overrides).input_shape == (None, 16, 16, 3)
        return
    with pytest.raises(ValueError, match=message):
        keras_nest.create_model("nest_nano_16", **overrides)


def test_grayscale_input_channels(rng):
    model = keras_nest.create_model("nest_nano_16", input_shape=(16, 16, 1))
    assert model(rng.normal(size=(2, 16, 16, 1)).astype("float32")).shape == (2, 10)


def test_mixed_precision_keeps_logits_float32(rng):
    model = keras_nest.create_model("nest_nano_16", dtype="mixed_bfloat16")
    out = model(rng.normal(size=(2, 16, 16, 3)).astype("float32"))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert model.get_layer("level_0").compute_dtype == "bfloat16"
    assert all(w.dtype == "float32" for w in model.weights)
    reference = keras_nest.create_model("nest_nano_16")
    reference.set_weights(model.get_weights())
    expected = reference(rng.normal(size=(2, 16, 16, 3)).astype("float32"))
    assert keras.backend.standardize_dtype(expected.dtype) == "float32"


def test_config_round_trip():
    model = keras_nest.create_model("nest_nano_16", num_classes=4, drop_path_rate=0.2, seed=3)
    config = model.get_config()
    json.dumps(config)
    clone = keras_nest.NestModel.from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()


def test_dropout_and_drop_path_only_in_training(rng):
    model = keras_nest.create_model("nest_nano_16", drop_path_rate=0.5, dropout=0.2, seed=0)
    x = rng.normal(size=(4, 16, 16, 3)).astype("float32")
    a = keras.ops.convert_to_numpy(model(x, training=False))
    b = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_array_equal(a, b)
    c = keras.ops.convert_to_numpy(model(x, training=True))
    assert np.abs(a - c).max() > 1e-4


def test_fit_reduces_loss_on_a_learnable_task(rng):
    # Class = which quadrant holds a bright square: needs spatial reasoning.
    n = 128
    x = rng.normal(scale=0.1, size=(n, 16, 16, 3)).astype("float32")
    y = rng.integers(0, 4, size=n)
    for i, q in enumerate(y):
        r, c = divmod(int(q), 2)
        x[i, r * 8 + 2 : r * 8 + 6, c * 8 + 2 : c * 8 + 6] += 1.0
    model = keras_nest.create_model("nest_nano_16", num_classes=4, drop_path_rate=0.0)
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9
