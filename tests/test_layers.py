import keras
import numpy as np
import pytest
from keras import ops

from keras_nest import layers
from keras_nest.models.nest_generator import ToImage, TokenNoise
from keras_nest.models.sagan import MinibatchStddev, SelfAttention2D, SumPool
from keras_nest.models.vit import TakeToken
from layer_checks import check_layer, check_serialization, run_layer_test

# --- numpy references, written from the paper/official definitions ---------


def np_blockify(x, bh, bw):
    b, h, w, c = x.shape
    out = []
    for r in range(h // bh):
        for col in range(w // bw):
            out.append(x[:, r * bh : (r + 1) * bh, col * bw : (col + 1) * bw].reshape(b, bh * bw, c))
    return np.stack(out, axis=1)


def np_layer_norm(x, gamma, beta, eps=1e-6):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def np_attention(x, qkv_kernel, qkv_bias, out_kernel, out_bias, heads, kv_heads):
    b, t, n, c = x.shape
    d = out_kernel.shape[0] // heads
    qkv = x @ qkv_kernel + qkv_bias
    q = qkv[..., : heads * d].reshape(b, t, n, heads, d)
    k = qkv[..., heads * d : (heads + kv_heads) * d].reshape(b, t, n, kv_heads, d)
    v = qkv[..., (heads + kv_heads) * d :].reshape(b, t, n, kv_heads, d)
    group = heads // kv_heads
    k = np.repeat(k, group, axis=3)  # head h reads key/value head h // group
    v = np.repeat(v, group, axis=3)
    logits = np.einsum("btqhd,btkhd->bthqk", q / np.sqrt(d), k)
    logits -= logits.max(-1, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(-1, keepdims=True)
    context = np.einsum("bthqk,btkhd->btqhd", weights, v).reshape(b, t, n, heads * d)
    return context @ out_kernel + out_bias


def np_conv3x3_same(x, kernel, bias):
    b, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((b, h, w, kernel.shape[-1]))
    for i in range(3):
        for j in range(3):
            out += padded[:, i : i + h, j : j + w] @ kernel[i, j]
    return out + bias


def np_max_pool_tf_same(x):
    # TF "SAME" for 3x3 stride 2 on an even side: no pad before, one after, -inf.
    b, h, w, c = x.shape
    padded = np.full((b, h + 1, w + 1, c), -np.inf)
    padded[:, :h, :w] = x
    out = np.full((b, h // 2, w // 2, c), -np.inf)
    for i in range(3):
        for j in range(3):
            out = np.maximum(out, padded[:, i : i + h : 2, j : j + w : 2][:, : h // 2, : w // 2])
    return out


# --- BlockPartition and the block tree --------------------------------------


@pytest.mark.parametrize("block", [(2, 2), (2, 3)])
def test_block_partition_matches_reference_and_inverts(rng, block):
    x = rng.normal(size=(2, 4, 6, 3)).astype("float32")
    out = check_layer(layers.BlockPartition(block), x, (2, 24 // (block[0] * block[1]), block[0] * block[1], 3))
    np.testing.assert_array_equal(out, np_blockify(x, *block))
    grid = (4 // block[0], 6 // block[1])
    back = check_layer(layers.BlockPartition(block, grid_size=grid, inverse=True), out, x.shape)
    np.testing.assert_array_equal(back, x)


def test_block_partition_errors():
    with pytest.raises(ValueError, match="multiples of the block side"):
        layers.BlockPartition(3)(np.zeros((1, 4, 4, 1), "float32"))
    with pytest.raises(ValueError, match="needs `grid_size`"):
        layers.BlockPartition(2, inverse=True)
    with pytest.raises(ValueError, match="Expected 4 blocks"):
        layers.deblockify(np.zeros((1, 2, 4, 1), "float32"), 2, 2)


def test_block_tree_helpers():
    # A 2x2 parent grid over a 4x4 child grid: parent 3 (row 1, col 1).
    assert layers.block_children(3, (2, 2)) == [10, 11, 14, 15]
    assert layers.block_children(0, 1) == [0, 1, 2, 3]
    for parent in range(4):
        for child in layers.block_children(parent, 2):
            assert layers.block_parent(child, 4) == parent
    assert layers.block_box(5, (4, 4), (224, 224)) == (56, 56, 112, 112)
    assert layers.block_box(0, 1, (224, 320)) == (0, 0, 320, 224)
    # Children's boxes tile their parent's box.
    parent_box = layers.block_box(1, 2, 64)
    boxes = [layers.block_box(c, 4, 64) for c in layers.block_children(1, 2)]
    assert (min(b[0] for b in boxes), min(b[1] for b in boxes)) == parent_box[:2]
    assert (max(b[2] for b in boxes), max(b[3] for b in boxes)) == parent_box[2:]
    with pytest.raises(ValueError, match="outside a 2x2 grid"):
        layers.block_children(4, 2)


def test_blocks_of_one_level_map_to_their_parent_after_aggregation(rng):
    """Block r,c of level l+1 is made of the 2x2 blocks below it (tree = layout)."""
    x = np.zeros((1, 8, 8, 1), "float32")
    # Inside level-0 block 8 (4x4 grid of 2x2 blocks), at a pixel that only one
    # 3x3/2 pooling window reads (windows straddling blocks would spill over).
    x[0, 5, 1] = 5.0
    blocks = layers.blockify(x, (2, 2))
    assert int(np.argmax(ops.convert_to_numpy(blocks).max(axis=(2, 3))[0])) == 8
    pooled = np_max_pool_tf_same(x)
    up = ops.convert_to_numpy(layers.blockify(pooled, (2, 2)))
    assert int(np.argmax(up.max(axis=(2, 3))[0])) == layers.block_parent(8, 4)


# --- PositionEmbedding ------------------------------------------------------


def test_position_embedding(rng):
    layer = layers.PositionEmbedding()
    x = rng.normal(size=(2, 4, 9, 8)).astype("float32")
    out = check_layer(layer, x, x.shape, expected_weights=1)
    table = ops.convert_to_numpy(layer.embedding)
    assert table.shape == (1, 4, 9, 8)
    assert layer.embedding.path.endswith("pos_embedding")
    np.testing.assert_allclose(out, x + table, rtol=1e-6)
    assert 0.012 < table.std() < 0.022 and np.abs(table).max() <= 0.04 + 1e-6  # truncated at 2 std


def test_resize_position_embedding():
    # A linear ramp is reproduced exactly by bilinear interpolation away from edges.
    grid = np.stack(np.meshgrid(np.arange(4.0), np.arange(4.0), indexing="ij"), -1)
    table = np.stack([grid, grid + 10]).reshape(1, 2, 16, 2)  # two blocks, 4x4, 2 channels
    same = layers.resize_position_embedding(table, (4, 4), (4, 4))
    np.testing.assert_array_equal(same, table)
    big = layers.resize_position_embedding(table, (4, 4), (8, 8))
    assert big.shape == (1, 2, 64, 2)
    big = big.reshape(2, 8, 8, 2)
    np.testing.assert_allclose(big[1] - big[0], 10.0, atol=1e-5)  # blocks resized independently
    np.testing.assert_allclose(big[0, 2:6, 3, 0], [0.75, 1.25, 1.75, 2.25], atol=1e-5)
    wide = layers.resize_position_embedding(table, (4, 4), (4, 6))
    assert wide.shape == (1, 2, 24, 2)
    with pytest.raises(ValueError, match="tokens per block"):
        layers.resize_position_embedding(table, (3, 3), (4, 4))


# --- DropPath ---------------------------------------------------------------


def test_drop_path_is_identity_at_inference_and_per_sample_in_training():
    layer = layers.DropPath(0.25, seed=3)
    x = np.ones((4000, 2, 3), "float32")
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x)), x)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x, training=False)), x)
    out = ops.convert_to_numpy(layer(x, training=True))
    per_sample = out.reshape(len(x), -1)
    assert np.all(per_sample.min(1) == per_sample.max(1))  # whole sample kept or dropped
    np.testing.assert_allclose(np.unique(per_sample), [0.0, 1 / 0.75], rtol=1e-6)
    assert abs((per_sample[:, 0] == 0).mean() - 0.25) < 0.03
    assert abs(out.mean() - 1.0) < 0.05  # expectation preserved
    check_serialization(layer)


def test_drop_path_seeded_is_reproducible():
    x = np.ones((64, 4), "float32")
    a = ops.convert_to_numpy(layers.DropPath(0.5, seed=7)(x, training=True))
    b = ops.convert_to_numpy(layers.DropPath(0.5, seed=7)(x, training=True))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        layers.DropPath(1.0)


# --- LocalSelfAttention -----------------------------------------------------


@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (4, 1), (4, 2)])
def test_local_attention_matches_reference(rng, heads, kv_heads):
    layer = layers.LocalSelfAttention(heads, num_key_value_heads=kv_heads)
    x = rng.normal(size=(2, 3, 5, 16)).astype("float32")
    layer.build(x.shape)
    for w in layer.weights:  # non-zero biases so every term is exercised
        w.assign(rng.normal(scale=0.3, size=w.shape).astype("float32"))
    out = check_layer(layer, x, x.shape, expected_weights=4)
    expected = np_attention(
        x,
        *(ops.convert_to_numpy(v) for v in (layer.qkv_kernel, layer.qkv_bias, layer.output_kernel, layer.output_bias)),
        heads,
        kv_heads,
    )
    np.testing.assert_allclose(out, expected, atol=1e-4, rtol=1e-4)
    assert layer.qkv_kernel.shape == (16, (heads + 2 * kv_heads) * 4)


@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (4, 1), (4, 2)])
def test_fused_and_explicit_attention_agree(rng, monkeypatch, heads, kv_heads):
    """`keras.ops.dot_product_attention` and softmax(QK^T)V: same outputs and input gradients' effect."""
    from keras_nest.layers import local_attention

    layer = layers.LocalSelfAttention(heads, num_key_value_heads=kv_heads)
    x = rng.normal(size=(2, 3, 5, 16)).astype("float32")
    layer.build(x.shape)
    for w in layer.weights:
        w.assign(rng.normal(scale=0.3, size=w.shape).astype("float32"))
    outputs = {}
    for backends in ((keras.backend.backend(),), ()):
        monkeypatch.setattr(local_attention, "FUSED_ATTENTION_BACKENDS", backends)
        outputs[bool(backends)] = ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(outputs[True], outputs[False], atol=1e-5, rtol=1e-5)


def test_local_attention_blocks_are_independent(rng):
    layer = layers.LocalSelfAttention(2)
    x = rng.normal(size=(1, 4, 6, 8)).astype("float32")
    y = x.copy()
    y[:, 2] += 10.0  # change block 2 only
    a, b = (ops.convert_to_numpy(layer(v)) for v in (x, y))
    np.testing.assert_allclose(np.delete(a, 2, axis=1), np.delete(b, 2, axis=1), atol=1e-6)
    assert np.abs(a[:, 2] - b[:, 2]).max() > 1e-3


def test_local_attention_errors():
    with pytest.raises(ValueError, match="must divide"):
        layers.LocalSelfAttention(4, num_key_value_heads=3)
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        layers.LocalSelfAttention(3)(np.zeros((1, 1, 4, 8), "float32"))


# --- TransformerBlock and NestLevel -----------------------------------------


@pytest.mark.parametrize("approximate", [True, False])
def test_transformer_block_matches_reference(rng, approximate):
    from scipy.special import erf

    block = layers.TransformerBlock(2, gelu_approximate=approximate)
    x = rng.normal(size=(2, 3, 4, 8)).astype("float32")
    block.build(x.shape)
    for w in block.weights:
        w.assign(rng.normal(scale=0.3, size=w.shape).astype("float32") + (1.0 if "gamma" in w.path else 0.0))
    out = check_layer(block, x, x.shape, expected_weights=12)
    w = {v.path.split("/", 1)[1]: ops.convert_to_numpy(v) for v in block.weights}

    def gelu(v):
        if approximate:
            return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)))
        return 0.5 * v * (1 + erf(v / np.sqrt(2)))

    h = np_layer_norm(x, w["norm1/gamma"], w["norm1/beta"])
    y = x + np_attention(
        h,
        w["attention/qkv_kernel"],
        w["attention/qkv_bias"],
        w["attention/output_kernel"],
        w["attention/output_bias"],
        2,
        2,
    )
    h = np_layer_norm(y, w["norm2/gamma"], w["norm2/beta"])
    y = y + gelu(h @ w["fc1/kernel"] + w["fc1/bias"]) @ w["fc2/kernel"] + w["fc2/bias"]
    np.testing.assert_allclose(out, y, atol=1e-4, rtol=1e-4)
    assert block.norm1.epsilon == 1e-6 and block.fc1.units == 32


def test_transformer_block_drop_path_only_in_training(rng):
    block = layers.TransformerBlock(2, drop_path_rate=0.5, seed=1)
    x = rng.normal(size=(16, 1, 4, 8)).astype("float32")
    a = ops.convert_to_numpy(block(x))
    b = ops.convert_to_numpy(block(x, training=False))
    np.testing.assert_array_equal(a, b)
    c = ops.convert_to_numpy(block(x, training=True))
    assert np.abs(c - a).max() > 1e-3


def test_nest_level(rng):
    level = layers.NestLevel(2, 2, num_key_value_heads=1, drop_path_rates=[0.0, 0.1], seed=4)
    x = rng.normal(size=(2, 4, 9, 8)).astype("float32")
    check_layer(level, x, x.shape, expected_weights=1 + 2 * 12)
    assert [b.drop_path.rate for b in level.blocks] == [0.0, 0.1]
    assert level.blocks[0].attention.num_key_value_heads == 1
    with pytest.raises(ValueError, match="2 entries for 3 layers"):
        layers.NestLevel(3, 2, drop_path_rates=[0.1, 0.2])
    out, weights = level.call_with_attention(x)
    np.testing.assert_allclose(ops.convert_to_numpy(out), ops.convert_to_numpy(level(x)), atol=1e-5)
    assert [tuple(w.shape) for w in weights] == [(2, 4, 2, 9, 9)] * 2
    np.testing.assert_allclose(ops.convert_to_numpy(weights[1]).sum(-1), 1.0, atol=1e-5)
    # The second layer's weights are those of its own input, not of the level's input.
    second_input = level.blocks[0](level.position_embedding(x), training=False)
    expected = level.blocks[1].attention.attention_weights(level.blocks[1].norm1(second_input))
    np.testing.assert_allclose(ops.convert_to_numpy(weights[1]), ops.convert_to_numpy(expected), atol=1e-5)


# --- BlockAggregation -------------------------------------------------------


def test_block_aggregation_matches_reference(rng):
    layer = layers.BlockAggregation(6, grid_size=(2, 4), block_size=(2, 3))
    x = rng.normal(size=(2, 8, 6, 4)).astype("float32")  # 2x4 grid of 2x3 blocks on a 4x12 plane
    layer.build(x.shape)
    for w in layer.weights:
        w.assign(rng.normal(scale=0.5, size=w.shape).astype("float32"))
    out = check_layer(layer, x, (2, 2, 6, 6), expected_weights=4)
    plane = ops.convert_to_numpy(layers.deblockify(x, (2, 4), (2, 3)))
    w = [ops.convert_to_numpy(v) for v in layer.weights]
    y = np_layer_norm(np_conv3x3_same(plane, w[0], w[1]), w[2], w[3])
    y = np_max_pool_tf_same(y)
    np.testing.assert_allclose(out, np_blockify(y, 2, 3), atol=1e-4, rtol=1e-4)


def test_block_aggregation_pads_max_pool_with_minus_infinity():
    """Border outputs must ignore padding even when every value is negative."""
    layer = layers.BlockAggregation(1, grid_size=2, block_size=2)
    x = np.full((1, 4, 4, 1), -3.0, "float32")
    layer.build(x.shape)
    layer.conv.kernel.assign(np.zeros((3, 3, 1, 1), "float32"))
    layer.conv.bias.assign(np.array([-3.0], "float32"))
    layer.norm.center = False  # LN of a constant is 0: check the pool on raw conv output instead
    pooled = ops.convert_to_numpy(layer.pool(-np.abs(np.arange(16.0, dtype="float32")).reshape(1, 4, 4, 1) - 1))
    expected = np_max_pool_tf_same(-np.abs(np.arange(16.0)).reshape(1, 4, 4, 1) - 1)
    np.testing.assert_allclose(pooled, expected)
    assert pooled.max() < 0


def test_block_aggregation_errors():
    with pytest.raises(ValueError, match="odd side"):
        layers.BlockAggregation(4, grid_size=(3, 2), block_size=2)


# --- PatchEmbedding, PixelShuffleUpsample -----------------------------------


def test_patch_embedding(rng):
    layer = layers.PatchEmbedding(5, patch_size=2)
    x = rng.normal(size=(2, 4, 6, 3)).astype("float32")
    out = check_layer(layer, x, (2, 2, 3, 5), expected_weights=2)
    kernel, bias = (ops.convert_to_numpy(w) for w in layer.weights)
    patch = x[:, 2:4, 4:6, :]  # patch (1, 2)
    expected = np.einsum("bhwc,hwco->bo", patch, kernel) + bias
    np.testing.assert_allclose(out[:, 1, 2], expected, atol=1e-5)
    with pytest.raises(ValueError, match="not a multiple of the patch size"):
        layers.PatchEmbedding(5, patch_size=4)(np.zeros((1, 6, 8, 3), "float32"))


def test_pixel_shuffle_upsample(rng):
    layer = layers.PixelShuffleUpsample(3)
    x = rng.normal(size=(2, 2, 3, 4)).astype("float32")
    out = check_layer(layer, x, (2, 4, 6, 3), expected_weights=2)
    kernel, bias = (ops.convert_to_numpy(w) for w in layer.weights)
    projected = x @ kernel + bias  # (2, 2, 3, 12)
    # depth-to-space: output pixel (2i + a, 2j + b) takes channels [(a*2 + b)*3 : +3].
    for a in range(2):
        for b in range(2):
            start = (a * 2 + b) * 3
            np.testing.assert_allclose(out[:, a::2, b::2], projected[..., start : start + 3], atol=1e-5)
    assert tuple(layers.PixelShuffleUpsample(2, scale=4)(x).shape) == (2, 8, 12, 2)
    with pytest.raises(ValueError, match="positive int"):
        layers.PixelShuffleUpsample(2, scale=0)


def test_layers_run_under_mixed_precision(rng):
    keras.config.set_dtype_policy("mixed_bfloat16")
    level = layers.NestLevel(1, 2)
    out = level(rng.normal(size=(1, 4, 4, 8)).astype("float32"))
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert all(w.dtype == "float32" for w in level.weights)


# --- run_layer_test: the shared contract, for every layer -------------------
# Config and serialization round trips, .keras save/load in a functional model,
# eager vs XLA-compiled predict, mixed_float16/mixed_bfloat16, output shapes.
# Columns: layer class, constructor kwargs, input shape, output shape, trainable weights.

LAYER_CASES = {
    "PatchEmbedding": (layers.PatchEmbedding, dict(embed_dim=5, patch_size=2), (2, 4, 6, 3), (2, 2, 3, 5), 2),
    "BlockPartition": (layers.BlockPartition, dict(block_size=(2, 2)), (2, 4, 6, 3), (2, 6, 4, 3), 0),
    "BlockPartition_inverse": (
        layers.BlockPartition,
        dict(block_size=(2, 2), grid_size=(2, 3), inverse=True),
        (2, 6, 4, 3),
        (2, 4, 6, 3),
        0,
    ),
    "PositionEmbedding": (layers.PositionEmbedding, {}, (2, 4, 9, 8), (2, 4, 9, 8), 1),
    "LocalSelfAttention": (
        layers.LocalSelfAttention,
        dict(num_heads=2, num_key_value_heads=1, dropout=0.1),
        (2, 3, 5, 8),
        (2, 3, 5, 8),
        4,
    ),
    "TransformerBlock": (
        layers.TransformerBlock,
        dict(num_heads=2, drop_path_rate=0.1, dropout=0.1, seed=1),
        (2, 3, 4, 8),
        (2, 3, 4, 8),
        12,
    ),
    "DropPath": (layers.DropPath, dict(rate=0.25, seed=3), (4, 2, 3), (4, 2, 3), 0),
    "NestLevel": (
        layers.NestLevel,
        dict(num_layers=2, num_heads=2, num_key_value_heads=1, drop_path_rates=[0.0, 0.1], seed=4),
        (2, 4, 9, 8),
        (2, 4, 9, 8),
        1 + 2 * 12,
    ),
    "BlockAggregation": (
        layers.BlockAggregation,
        dict(filters=6, grid_size=(2, 2), block_size=(2, 3)),
        (2, 4, 6, 4),
        (2, 1, 6, 6),
        4,
    ),
    "BlockDeaggregation": (
        layers.BlockDeaggregation,
        dict(filters=8, grid_size=2, block_size=2),
        (2, 4, 4, 6),
        (2, 16, 4, 8),
        2,
    ),
    "PixelShuffleUpsample": (layers.PixelShuffleUpsample, dict(filters=3), (2, 2, 3, 4), (2, 4, 6, 3), 2),
    "ClassToken": (layers.ClassToken, {}, (2, 2, 4, 8), (2, 2, 5, 8), 1),
    # Layers private to the models (ViT head, NesT generator output, SAGAN).
    "TakeToken": (TakeToken, {}, (2, 1, 5, 8), (2, 8), 0),
    # Zero strength at the start: the contract sees the identity; the noise itself is tested in test_gan.
    "TokenNoise": (TokenNoise, dict(seed=0), (2, 2, 4, 8), (2, 2, 4, 8), 1),
    "ToImage": (ToImage, dict(grid_size=2, block_size=2, patch_size=2), (2, 4, 4, 12), (2, 8, 8, 3), 0),
    "SumPool": (SumPool, {}, (2, 4, 4, 3), (2, 3), 0),
    "MinibatchStddev": (MinibatchStddev, {}, (2, 4, 4, 3), (2, 4, 4, 4), 0),
    "SelfAttention2D": (SelfAttention2D, {}, (2, 4, 4, 16), (2, 4, 4, 16), 9),
}


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_contract(name, rng):
    layer_cls, kwargs, input_shape, output_shape, trainable = LAYER_CASES[name]
    x = rng.normal(size=input_shape).astype("float32")
    run_layer_test(
        layer_cls,
        kwargs,
        x,
        output_shape,
        expected_num_trainable_weights=trainable,
    )


def test_every_layer_has_a_contract_case():
    """A new public layer must join LAYER_CASES."""
    public = {name for name in layers.__all__ if isinstance(getattr(layers, name), type)}
    covered = {case[0].__name__ for case in LAYER_CASES.values()}
    assert public <= covered, public - covered
    assert {"TakeToken", "ToImage", "TokenNoise", "SumPool", "SelfAttention2D", "MinibatchStddev"} <= covered


class _ForgetsItsConfig(keras.layers.Layer):
    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        return x * self.scale


class _IgnoresItsPolicy(keras.layers.Layer):
    def call(self, x):
        return ops.cast(x, "float32") * 2.0


@pytest.mark.parametrize("layer_cls, kwargs", [(_ForgetsItsConfig, dict(scale=2.0)), (_IgnoresItsPolicy, {})])
def test_run_layer_test_catches_broken_layers(layer_cls, kwargs):
    x = np.ones((2, 3), "float32")
    with pytest.raises((AssertionError, TypeError)):
        run_layer_test(layer_cls, kwargs, x, (2, 3), run_saving_check=False, run_compiled_check=False)
