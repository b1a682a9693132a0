"""NesT/ViT parts as attributes, `forward_levels`, `LevelGeometry`, and the
weight-transfer faults that deciding from array shapes caused."""

import dataclasses
import json
import os
import pathlib
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_nest
from keras_nest.convert import load_timm_weights, read_state_dict
from keras_nest.layers import BlockAggregation, BlockPartition, NestLevel
from keras_nest.layers.position_embedding import resize_position_embedding
from keras_nest.models.geometry import LevelGeometry, level_geometry
from keras_nest.models.weights import transfer_weights

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
TIMM_WEIGHTS = os.path.join(FIXTURES, "timm_nest_small.safetensors")
PACKAGE = pathlib.Path(keras_nest.__file__).parent


def tables(model):
    return [keras.ops.convert_to_numpy(level.position_embedding.embedding) for level in model.levels]


def randomize(model, rng):
    for w in model.weights:
        w.assign(rng.normal(0.0, 0.1, size=w.shape).astype("float32"))
    return model


# --- Parts as attributes -------------------------------------------------------


def test_nest_parts_are_the_graph_layers_and_survive_saving(tmp_path):
    model = keras_nest.create_model("nest_nano_16", num_classes=3)
    assert model.patch_embedding is model.get_layer("patch_embedding")
    assert model.block_partition is model.get_layer("block_partition")
    assert [lvl.name for lvl in model.levels] == ["level_0", "level_1", "level_2"]
    assert all(isinstance(lvl, NestLevel) for lvl in model.levels)
    assert [a.name for a in model.aggregations] == ["aggregation_1", "aggregation_2"]
    assert all(isinstance(a, BlockAggregation) for a in model.aggregations)
    assert model.final_norm is model.get_layer("final_norm")
    assert model.head is model.get_layer("predictions")
    assert len(model.weights) == 65  # the references add no weights

    rebuilt = keras_nest.NestModel.from_config(model.get_config())
    assert rebuilt.levels[2] is rebuilt.get_layer("level_2")
    assert rebuilt.aggregations[0] is rebuilt.get_layer("aggregation_1")

    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.head is loaded.get_layer("predictions")
    assert loaded.levels[0] is loaded.get_layer("level_0")
    for a, b in zip(tables(model), tables(loaded)):
        np.testing.assert_array_equal(a, b)

    backbone = keras_nest.create_model("nest_nano_16", include_top=False, pooling="avg")
    assert backbone.head is None and len(backbone.aggregations) == 2


def test_vit_parts_are_attributes(tmp_path):
    gap = keras_nest.create_model("vit_nano_16")
    assert gap.class_token is None
    assert gap.patch_embedding is gap.get_layer("patch_embedding")
    assert gap.tokens is gap.get_layer("tokens")
    assert gap.encoder is gap.get_layer("encoder")
    assert gap.final_norm is gap.get_layer("final_norm")
    assert gap.head is gap.get_layer("predictions")
    token = keras_nest.create_model("vit_nano_16", global_pool="token", include_top=False)
    path = str(tmp_path / "v.keras")
    token.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.class_token is loaded.get_layer("class_token")
    assert loaded.head is None


def test_forward_levels_matches_the_functional_graph(rng):
    model = randomize(keras_nest.create_model("nest_nano_16", num_classes=3), rng)
    x = rng.normal(size=(2, 16, 16, 3)).astype("float32")
    out = model.forward_levels(x)
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.logits = None
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(out.logits), model.predict(x, verbose=0), atol=1e-5, rtol=0
    )
    assert [tuple(t.shape) for t in out.levels] == [(2, 16, 16, 64), (2, 4, 16, 96), (2, 1, 16, 128)]
    assert [tuple(t.shape) for t in out.normalized] == [(2, 16, 16, 96), (2, 4, 16, 128), (2, 1, 16, 128)]
    assert out.normalized[-1] is out.tokens
    probe = keras.Model(model.input, model.get_layer("level_1").output)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(out.levels[1]), probe.predict(x, verbose=0), atol=1e-5, rtol=0
    )
    assert [tuple(t.shape) for t in out.inputs] == [(2, 16, 16, 64), (2, 4, 16, 96), (2, 1, 16, 128)]
    top_input = keras.Model(model.input, model.get_layer("level_2").input)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(out.inputs[2]), top_input.predict(x, verbose=0), atol=1e-5, rtol=0
    )
    # An input offset is carried through: it changes the logits as adding it to the input would.
    offset = [np.zeros(tuple(t.shape), "float32") for t in out.inputs]
    offset[2] += rng.normal(size=offset[2].shape).astype("float32")  # not constant: LayerNorm would hide that
    shifted = model.forward_levels(x, input_offsets=offset)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(shifted.inputs[2]),
                               keras.ops.convert_to_numpy(out.inputs[2]) + offset[2], atol=1e-6)
    assert not np.allclose(keras.ops.convert_to_numpy(shifted.logits), keras.ops.convert_to_numpy(out.logits))
    headless = keras_nest.create_model("nest_nano_16", include_top=False)
    assert headless.forward_levels(x).logits is None


def test_no_layer_names_outside_models():
    """Code outside keras_nest/models reaches layers through attributes, not names."""
    names = (
        r"get_layer\(|\"(level_\d|final_norm|predictions|patch_embedding|aggregation_\d"
        r"|block_partition|tokens|class_token|encoder)\""
    )
    hits = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("models/") or rel in ("metrics/extractors.py", "layers/class_token.py"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(names, line):
                hits.append(f"{rel}:{number}: {line.strip()}")
    assert hits == []


def test_nest_docstring_cites_the_paper():
    doc = keras_nest.NestModel.__doc__
    assert "Nested Hierarchical Transformer" in doc and "AAAI 2022" in doc and "2105.12723" in doc


# --- Geometry ------------------------------------------------------------------


def test_level_geometry_is_a_frozen_dataclass():
    geometry = level_geometry((16, 64), 1, 3)
    assert all(isinstance(g, LevelGeometry) for g in geometry)
    assert [g.grid_size for g in geometry] == [(4, 4), (2, 2), (1, 1)]
    assert [g.block_size for g in geometry] == [(4, 16)] * 3
    assert [g.plane_size for g in geometry] == [(16, 64), (8, 32), (4, 16)]
    assert (geometry[0].num_blocks, geometry[0].tokens_per_block) == (16, 64)
    with pytest.raises(dataclasses.FrozenInstanceError):
        geometry[0].block_size = (8, 8)
    with pytest.raises(TypeError):  # attributes only: not a dict of string keys
        geometry[0]["block_size"]
    model = keras_nest.create_model("nest_nano_16", input_shape=(16, 64, 3))
    assert model.geometry == geometry


# --- Faults: weights moved by array shape instead of geometry -----------------


def test_transfer_weights_resizes_per_block_at_equal_token_count(rng):
    """4x16-token blocks (16x64 input) -> 8x8 blocks (32x32): 64 tokens both."""
    source = randomize(keras_nest.create_model("nest_nano_16", input_shape=(16, 64, 3)), rng)
    target = keras_nest.create_model("nest_nano_16", input_shape=(32, 32, 3))
    assert source.geometry[0].block_size == (4, 16) and target.geometry[0].block_size == (8, 8)
    assert transfer_weights(source, target) == []
    for src, dst in zip(tables(source), tables(target)):
        assert src.shape == dst.shape == (1, src.shape[1], 64, src.shape[3])
        expected = resize_position_embedding(src, (4, 16), (8, 8))
        np.testing.assert_allclose(dst, expected, atol=1e-6)
        # A plain copy (the old behaviour) would be far off.
        assert np.abs(dst - src).max() > 0.05
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(target.head.kernel), keras.ops.convert_to_numpy(source.head.kernel)
    )


def test_create_model_weights_path_resizes_16x64_to_64x16(tmp_path, rng):
    source = randomize(keras_nest.create_model("nest_nano_16", input_shape=(16, 64, 3)), rng)
    path = str(tmp_path / "wide.keras")
    source.save(path)
    tall = keras_nest.create_model("nest_nano_16", input_shape=(64, 16, 3), weights=path)
    assert tall.geometry[0].block_size == (16, 4)
    for src, dst in zip(tables(source), tables(tall)):
        np.testing.assert_allclose(dst, resize_position_embedding(src, (4, 16), (16, 4)), atol=1e-6)
        assert np.abs(dst - src).max() > 0.05


def test_timm_loader_resizes_square_blocks_to_2x8_at_equal_token_count():
    """The fixture has 4x4-token blocks (32 px, patch 2); a 16x64 model has 2x8."""
    data = np.load(os.path.join(FIXTURES, "timm_nest_small_io.npz"))
    config = json.loads(str(data["config_json"]))
    state = read_state_dict(TIMM_WEIGHTS)

    def model_at(shape):
        return keras_nest.NestModel(
            input_shape=shape, patch_size=config["patch_size"], embed_dims=config["embed_dims"],
            num_heads=config["num_heads"], depths=config["depths"], num_classes=config["num_classes"],
            mlp_ratio=config["mlp_ratio"], gelu_approximate=False,
        )  # fmt: skip

    model = load_timm_weights(model_at((16, 64, 3)), state)
    assert model.geometry[0].block_size == (2, 8)
    for i, table in enumerate(tables(model)):
        raw = state[f"levels.{i}.pos_embed"]
        assert raw.shape[2] == table.shape[2] == 16
        np.testing.assert_allclose(table, resize_position_embedding(raw, (4, 4), (2, 8)), atol=1e-6)
        assert np.abs(table - raw).max() > 0.01

    # The logits follow: a plain copy of the tables gives other predictions.
    images = np.random.default_rng(1).normal(size=(4, 16, 64, 3)).astype("float32")
    plain = load_timm_weights(model_at((16, 64, 3)), state)
    for i, level in enumerate(plain.levels):
        level.position_embedding.embedding.assign(state[f"levels.{i}.pos_embed"])
    diff = np.abs(model.predict(images, verbose=0) - plain.predict(images, verbose=0)).max()
    assert diff > 1e-2


# --- Fault: image size unknown while tracing ----------------------------------


def _unknown_size_dataset(images):
    def generate():
        yield from images

    return tf.data.Dataset.from_generator(
        generate, output_signature=tf.TensorSpec((None, None, 3), tf.float32)
    ).batch(2)


@pytest.mark.tensorflow_only  # a model called inside tf.data's graph
@pytest.mark.parametrize("name", ["nest_nano_16", "vit_nano_16"])
def test_unknown_image_size_in_tf_data_uses_the_configured_geometry(name, rng):
    model = keras_nest.create_model(name, num_classes=3)
    images = rng.normal(size=(4, 16, 16, 3)).astype("float32")
    dataset = _unknown_size_dataset(images)
    assert dataset.element_spec.shape.as_list() == [None, None, None, 3]
    mapped = np.concatenate(list(dataset.map(lambda x: model(x)).as_numpy_iterator()))
    np.testing.assert_allclose(mapped, model.predict(images, verbose=0), atol=1e-5, rtol=0)
    # Another size at run time is refused, not silently reshaped.
    wrong = _unknown_size_dataset(rng.normal(size=(2, 32, 8, 3)).astype("float32"))
    with pytest.raises(tf.errors.InvalidArgumentError):
        list(wrong.map(lambda x: model(x)).as_numpy_iterator())


@pytest.mark.tensorflow_only  # a tf.function with an unknown image size
def test_block_partition_without_grid_asks_for_a_static_size():
    layer = BlockPartition(2)

    @tf.function(input_signature=[tf.TensorSpec((None, None, None, 4), tf.float32)])
    def cut(x):
        return layer(x)

    with pytest.raises(ValueError, match="static image size"):
        cut.get_concrete_function()
    with_grid = BlockPartition(2, grid_size=(2, 3))
    x = np.arange(2 * 4 * 6 * 4, dtype="float32").reshape(2, 4, 6, 4)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(with_grid(x)), keras.ops.convert_to_numpy(layer(x))
    )
    with pytest.raises(ValueError, match="Expected a 4x6 token plane"):
        with_grid(np.zeros((1, 4, 4, 4), "float32"))
