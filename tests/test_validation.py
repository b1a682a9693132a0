"""Bad arguments to models and layers fail at once, naming the argument (issue 9).

Every check here raises from the constructor, before any graph is built, so
these tests are cheap; the few that build a model check that valid spellings
(numpy ints, lists, `None` where allowed) still work.
"""

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest import layers
from keras_nest.models.nest import NestModel
from keras_nest.models.nest_generator import NestGenerator, ToImage
from keras_nest.models.sagan import ResnetDiscriminator, SaganGenerator
from keras_nest.models.vit import VitModel

NANO = "nest_nano_16"


# --- The faults reported in issue 9 ---------------------------------------------------------------


def test_zero_channels_in_input_shape_raises():
    with pytest.raises(ValueError, match=r"input_shape\[2\] must be an int >= 1, got 0"):
        keras_nest.create_model(NANO, input_shape=(16, 16, 0))


def test_negative_head_count_raises():
    with pytest.raises(ValueError, match=r"num_heads\[0\] must be an int >= 1, got -2"):
        keras_nest.create_model(NANO, num_heads=(-2, 3, 4))


def test_fractional_image_side_raises_type_error():
    with pytest.raises(TypeError, match=r"input_shape\[0\] must be an int >= 1, got 16\.5 \(float\)"):
        keras_nest.create_model(NANO, input_shape=(16.5, 16, 3))


def test_string_include_top_raises_type_error():
    with pytest.raises(TypeError, match=r"include_top must be True or False, got 'False' \(str\)"):
        keras_nest.create_model(NANO, include_top="False")


# --- NestModel through create_model ----------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,error,message",
    [
        (dict(input_shape=16), TypeError, r"input_shape must be \(height, width, channels\).*got 16"),
        (dict(input_shape="16x16"), TypeError, r"input_shape must be \(height, width, channels\)"),
        (dict(input_shape=(16, 16, 3, 1)), ValueError, r"input_shape must be \(height, width, channels\)"),
        (dict(input_shape=(None, 16, 3)), ValueError, r"static image size; got None in input_shape"),
        (dict(input_shape=(16, 16, None)), TypeError, r"input_shape\[2\] must be an int >= 1, got None"),
        (dict(input_shape=(16, -16, 3)), ValueError, r"input_shape\[1\] must be an int >= 1, got -16"),
        (dict(input_shape=(True, 16, 3)), TypeError, r"input_shape\[0\] must be an int"),
        (dict(patch_size=2.0), TypeError, r"patch_size must be an int, got 2\.0 \(float\)"),
        (dict(patch_size=-1), ValueError, r"patch_size must be >= 1, got -1"),
        (dict(embed_dims=64), TypeError, r"embed_dims must be a tuple of ints, got 64"),
        (dict(embed_dims=(64, 96.0, 128)), TypeError, r"embed_dims\[1\] must be an int >= 1, got 96\.0"),
        (dict(embed_dims=(64, 0, 128)), ValueError, r"embed_dims\[1\] must be an int >= 1, got 0"),
        (dict(depths=(1, 0, 2)), ValueError, r"depths\[1\] must be an int >= 1, got 0"),
        (dict(depths=(), embed_dims=(), num_heads=()), ValueError, r"`depths` must list at least one level"),
        (dict(depths="112"), TypeError, r"depths must be a tuple of ints"),
        (dict(num_heads=(2, 3)), ValueError, r"`num_heads` has 2 entries but `depths` has 3 levels"),
        (dict(num_heads=(2, 5, 4)), ValueError, r"Level 1: width 96 is not divisible by 5 heads \(num_heads\)"),
        (dict(num_heads=(2, 3, 256)), ValueError, r"Level 2: width 128 is not divisible by 256 heads"),
        (dict(attention="multi-query"), ValueError, r"attention must be one of 'multi_head', 'multi_query'"),
        (dict(mlp_ratio=0), ValueError, r"mlp_ratio must be a finite number > 0, got 0"),
        (dict(mlp_ratio=-4.0), ValueError, r"mlp_ratio must be a finite number > 0"),
        (dict(mlp_ratio="4"), TypeError, r"mlp_ratio must be a number > 0, got '4' \(str\)"),
        (dict(mlp_ratio=0.01), ValueError, r"mlp_ratio 0\.01 gives a 64-wide layer an MLP of .* = 0 units"),
        (dict(drop_path_rate=-0.1), ValueError, r"drop_path_rate must be in \[0, 1\), got -0\.1"),
        (dict(drop_path_rate=float("nan")), ValueError, r"drop_path_rate must be a finite number"),
        (dict(drop_path_rate="0.1"), TypeError, r"drop_path_rate must be a number"),
        (dict(dropout=1.0), ValueError, r"dropout must be in \[0, 1\), got 1\.0"),
        (dict(attention_dropout=2), ValueError, r"attention_dropout must be in \[0, 1\), got 2\.0"),
        (dict(gelu_approximate="tanh"), TypeError, r"gelu_approximate must be True or False"),
        (dict(gelu_approximate=1), TypeError, r"gelu_approximate must be True or False, got 1 \(int\)"),
        (dict(num_classes=2.5), TypeError, r"num_classes must be an int, got 2\.5"),
        (dict(num_classes=-3), ValueError, r"num_classes must be a positive int \(>= 1\), got -3"),
        (dict(num_classes=None), ValueError, r"num_classes must be a positive int \(>= 1\) when include_top=True"),
        (dict(num_classes=True), TypeError, r"num_classes must be an int, got True \(bool\)"),
        (dict(include_top=0), TypeError, r"include_top must be True or False, got 0 \(int\)"),
        (dict(include_top=False, pooling="mean"), ValueError, r"pooling must be one of None, 'avg', 'max'"),
        (dict(pooling="max"), ValueError, r"`pooling` applies only with include_top=False"),
        (dict(classifier_activation="sofmax"), ValueError, r"classifier_activation must be None, a Keras activation"),
        (dict(feature_pyramid="yes"), TypeError, r"feature_pyramid must be True or False"),
        (dict(seed=1.5), TypeError, r"seed must be an int or None, got 1\.5"),
        (dict(seed="0"), TypeError, r"seed must be an int or None"),
        (dict(dtype="float33"), ValueError, r"dtype must be None, a dtype policy or its name.*'float33'"),
        (dict(head_dtype="half-ish"), ValueError, r"head_dtype must be None, a dtype policy"),
    ],
)
def test_bad_nest_arguments_raise(overrides, error, message):
    with pytest.raises(error, match=message):
        keras_nest.create_model(NANO, **overrides)


def test_nest_model_constructor_checks_directly():
    base = dict(input_shape=(16, 16, 3), patch_size=1, embed_dims=(8, 8), num_heads=(1, 2), depths=(1, 1))
    with pytest.raises(TypeError, match=r"depths\[0\] must be an int >= 1, got 1\.0"):
        NestModel(**dict(base, depths=(1.0, 1)))
    with pytest.raises(ValueError, match=r"num_heads\[1\] must be an int >= 1, got 0"):
        NestModel(**dict(base, num_heads=(1, 0)))


def test_valid_spellings_still_build(rng):
    model = keras_nest.create_model(
        NANO,
        input_shape=[np.int64(16), np.int32(16), 3],
        num_heads=[np.int64(2), 3, 4],
        depths=np.array([1, 1, 1]),
        mlp_ratio=np.float32(2.0),
        drop_path_rate=np.float64(0.1),
        include_top=np.bool_(False),
        num_classes=None,
        pooling="avg",
        seed=np.int64(3),
    )
    assert model.output_shape == (None, 128)
    config = model.get_config()
    assert config["input_shape"] == (16, 16, 3) and type(config["input_shape"][0]) is int
    assert config["num_heads"] == (2, 3, 4) and config["seed"] == 3 and config["num_classes"] is None
    x = rng.normal(size=(2, 16, 16, 3)).astype("float32")
    assert model(x).shape == (2, 128)
    # (H, W) is completed with 3 channels; include_top=False keeps ignoring num_classes' default.
    assert keras_nest.create_model(NANO, input_shape=(16, 16), include_top=False).output_shape == (None, 4, 4, 128)


# --- Model names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [keras_nest.create_model, keras_nest.create_generator])
@pytest.mark.parametrize("name", [None, 3, ["nest_nano_16"]])
def test_non_string_names_raise_listing_names(factory, name):
    with pytest.raises(TypeError, match=r"name must be a string, one of .*(nest_nano_16|nest_gan_tiny)"):
        factory(name)


def test_unknown_names_list_the_names():
    with pytest.raises(ValueError, match=r"Unknown model 'nest_nano'. Available models: .*nest_nano_16"):
        keras_nest.create_model("nest_nano")
    with pytest.raises(ValueError, match=r"Unknown generator 'gan'. Available generators: .*sagan_tiny"):
        keras_nest.create_generator("gan")
    with pytest.raises(TypeError, match=r"weights must be None, 'hf://ORG/REPO\[/FILE\]' or a file path "
                                        r"\(nest_nano_16 has no published weights\); got 3"):
        keras_nest.create_model(NANO, weights=3)


# --- ViT -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,error,message",
    [
        (dict(input_shape=(16, 16, 0)), ValueError, r"input_shape\[2\] must be an int >= 1, got 0"),
        (dict(input_shape=(16.0, 16, 3)), TypeError, r"input_shape\[0\] must be an int"),
        (dict(input_shape=(None, None, 3)), ValueError, r"ViT needs a static image size"),
        (dict(patch_size=0), ValueError, r"patch_size must be an int >= 1, got 0"),
        (dict(input_shape=(15, 16, 3)), ValueError, r"not a multiple of the patch size 2"),
        (dict(embed_dim=-96), ValueError, r"embed_dim must be an int >= 1, got -96"),
        (dict(num_heads=0), ValueError, r"num_heads must be an int >= 1, got 0"),
        (dict(num_heads=5), ValueError, r"embed_dim 96 is not divisible by 5 heads"),
        (dict(depth=0), ValueError, r"depth must be an int >= 1, got 0"),
        (dict(depth=2.5), TypeError, r"depth must be an int >= 1, got 2\.5"),
        (dict(mlp_ratio=0.0), ValueError, r"mlp_ratio must be a finite number > 0"),
        (dict(drop_path_rate=1.0), ValueError, r"drop_path_rate must be in \[0, 1\)"),
        (dict(global_pool="cls"), ValueError, r"global_pool must be one of 'gap', 'token'; got 'cls'"),
        (dict(num_classes=0), ValueError, r"num_classes must be a positive int"),
        (dict(include_top="yes"), TypeError, r"include_top must be True or False"),
        (dict(gelu_approximate=None), TypeError, r"gelu_approximate must be True or False"),
        (dict(seed=[1]), TypeError, r"seed must be an int or None"),
        (dict(classifier_activation=42), ValueError, r"classifier_activation must be None"),
    ],
)
def test_bad_vit_arguments_raise(overrides, error, message):
    with pytest.raises(error, match=message):
        keras_nest.create_model("vit_nano_16", **overrides)


def test_vit_without_top_accepts_no_num_classes():
    model = VitModel((8, 8, 1), patch_size=2, embed_dim=8, depth=1, num_heads=2, num_classes=None,
                     include_top=False)
    assert model.output_shape == (None, 8)


# --- Generators and the discriminator --------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,error,message",
    [
        (dict(image_size=16.5), TypeError, r"image_size must be an int >= 1, got 16\.5"),
        (dict(image_size=24), ValueError, r"cannot make 24x24 images"),
        (dict(latent_dim=0), ValueError, r"latent_dim must be an int >= 1, got 0"),
        (dict(latent_dim="32"), TypeError, r"latent_dim must be an int"),
        (dict(channels=0), ValueError, r"channels must be an int >= 1, got 0"),
        (dict(block_size=-4), ValueError, r"block_size must be an int >= 1, got -4"),
        (dict(patch_size=0), ValueError, r"patch_size must be an int >= 1, got 0"),
        (dict(embed_dims=(63, 32)), ValueError, r"Level 0: width 63 is not divisible by 2 heads"),
        (dict(num_heads=(2, 3)), ValueError, r"Level 1: width 32 is not divisible by 3 heads"),
        (dict(depths=(1,)), ValueError, r"need one entry per level"),
        (dict(depths=(1, -1)), ValueError, r"depths\[1\] must be an int >= 1, got -1"),
        (dict(embed_dims=(), depths=(), num_heads=()), ValueError, r"at least one level"),
        (dict(mlp_ratio=0), ValueError, r"mlp_ratio must be a finite number > 0"),
        (dict(gelu_approximate="no"), TypeError, r"gelu_approximate must be True or False"),
        (dict(seed=0.5), TypeError, r"seed must be an int or None"),
        (dict(dtype="int7"), ValueError, r"dtype must be None, a dtype policy"),
        (dict(widths=(8, 8)), ValueError, r"Unknown argument\(s\) \['widths'\] for 'nest_gan_tiny'"),
    ],
)
def test_bad_nest_generator_arguments_raise(overrides, error, message):
    with pytest.raises(error, match=message):
        keras_nest.create_generator("nest_gan_tiny", **overrides)


def test_nest_generator_constructor_checks_directly():
    base = dict(image_size=8, latent_dim=4, block_size=4, embed_dims=(8, 8), depths=(1, 1), num_heads=(1, 1),
                patch_size=1)
    with pytest.raises(TypeError, match=r"embed_dims must be a tuple of ints"):
        NestGenerator(**dict(base, embed_dims=8))
    with pytest.raises(ValueError, match=r"num_heads\[0\] must be an int >= 1, got 0"):
        NestGenerator(**dict(base, num_heads=(0, 1)))
    with pytest.raises(ValueError, match=r"patch_size must be an int >= 1, got 0"):
        ToImage(grid_size=2, block_size=4, patch_size=0)


@pytest.mark.parametrize(
    "overrides,error,message",
    [
        (dict(image_size=16.0), TypeError, r"image_size must be an int >= 1, got 16\.0"),
        (dict(image_size=32), ValueError, r"2 up-blocks from 4x4 make 16x16 images, not 32"),
        (dict(latent_dim=-1), ValueError, r"latent_dim must be an int >= 1, got -1"),
        (dict(base_width=0), ValueError, r"base_width must be an int >= 1, got 0"),
        (dict(widths=(48, 0)), ValueError, r"widths\[1\] must be an int >= 1, got 0"),
        (dict(widths=48), TypeError, r"widths must be a tuple of ints"),
        (dict(attention_resolution=4), ValueError, r"attention_resolution must be a side .* \[8, 16\]; got 4"),
        (dict(channels=-3), ValueError, r"channels must be an int >= 1, got -3"),
    ],
)
def test_bad_sagan_generator_arguments_raise(overrides, error, message):
    with pytest.raises(error, match=message):
        keras_nest.create_generator("sagan_tiny", **overrides)


@pytest.mark.parametrize(
    "args,kwargs,error,message",
    [
        ((24,), {}, ValueError, r"No discriminator for 24x24 images \(image_size=24\); .*\[16, 32, 64\]"),
        ((16.5,), {}, TypeError, r"image_size must be an int, got 16\.5"),
        ((True,), {}, TypeError, r"image_size must be an int, got True"),
        ((16,), dict(channels=0), ValueError, r"channels must be an int >= 1, got 0"),
        ((16,), dict(channels="3"), TypeError, r"channels must be an int"),
        ((16,), dict(attention_resolution=3), ValueError, r"attention_resolution must be an even side"),
        ((16,), dict(widths=(64, 64)), ValueError, r"widths and downsample need one entry per block"),
        ((16,), dict(unknown=1), ValueError, r"Unknown argument\(s\) \['unknown'\] for create_discriminator"),
    ],
)
def test_bad_discriminator_arguments_raise(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        keras_nest.create_discriminator(*args, **kwargs)


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        (dict(widths=(), downsample=()), ValueError, r"at least one block"),
        (dict(downsample=(False, True, False)), ValueError, r"downsample\[0\] must be True"),
        (dict(downsample=(1, 1, 0)), TypeError, r"downsample\[0\] must be True or False, got 1 \(int\)"),
        (dict(downsample="TTF"), TypeError, r"downsample must be a tuple of bools"),
        (dict(image_size=18), ValueError, r"image_size 18 px cannot be halved 2 times; use a multiple of 4"),
        (dict(image_size=0), ValueError, r"image_size must be an int >= 1, got 0"),
        (dict(widths=(16, -1, 16)), ValueError, r"widths\[1\] must be an int >= 1, got -1"),
        (dict(attention_resolution=2), ValueError, r"one of \[8, 4\]; got 2"),
    ],
)
def test_bad_resnet_discriminator_arguments_raise(kwargs, error, message):
    config = dict(image_size=16, widths=(16, 16, 16), downsample=(True, True, False), attention_resolution=8)
    with pytest.raises(error, match=message):
        ResnetDiscriminator(**dict(config, **kwargs))


def test_sagan_generator_constructor_checks_directly():
    with pytest.raises(ValueError, match=r"attention_resolution must be a side the up-blocks reach"):
        SaganGenerator(16, latent_dim=8, base_width=8, widths=(8, 8), attention_resolution=32)


# --- Layers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,error,message",
    [
        (lambda: layers.PatchEmbedding(0, 4), ValueError, r"embed_dim must be an int >= 1, got 0"),
        (lambda: layers.PatchEmbedding(96, 4.0), TypeError, r"patch_size must be an int >= 1, got 4\.0"),
        (lambda: layers.BlockPartition(0), ValueError, r"block_size must be an int >= 1, got 0"),
        (lambda: layers.BlockPartition((2, 2, 2)), ValueError, r"block_size must be an int or a pair of ints"),
        (lambda: layers.BlockPartition("2"), TypeError, r"block_size must be an int or a pair of ints"),
        (lambda: layers.BlockPartition(2.5), TypeError, r"block_size must be an int or a pair of ints, got 2\.5"),
        (lambda: layers.BlockPartition((2, -1)), ValueError, r"block_size\[1\] must be an int >= 1, got -1"),
        (lambda: layers.BlockPartition(2, grid_size=0, inverse=True), ValueError, r"grid_size must be an int >= 1"),
        (lambda: layers.BlockPartition(2, inverse="yes"), TypeError, r"inverse must be True or False"),
        (lambda: layers.BlockPartition(2, inverse=True), ValueError, r"needs `grid_size`"),
        (lambda: layers.PositionEmbedding("no_such_init"), ValueError, r"initializer must be None.*'no_such_init'"),
        (lambda: layers.LocalSelfAttention(0), ValueError, r"num_heads must be an int >= 1, got 0"),
        (lambda: layers.LocalSelfAttention(4.0), TypeError, r"num_heads must be an int >= 1, got 4\.0"),
        (lambda: layers.LocalSelfAttention(4, key_dim=0), ValueError, r"key_dim must be an int >= 1, got 0"),
        (lambda: layers.LocalSelfAttention(4, num_key_value_heads=3), ValueError, r"must divide num_heads=4"),
        (lambda: layers.LocalSelfAttention(4, num_key_value_heads=0), ValueError,
         r"num_key_value_heads must be an int >= 1, got 0"),
        (lambda: layers.LocalSelfAttention(4, use_bias="False"), TypeError, r"use_bias must be True or False"),
        (lambda: layers.LocalSelfAttention(4, dropout=1.0), ValueError, r"dropout must be in \[0, 1\)"),
        (lambda: layers.TransformerBlock(-1), ValueError, r"num_heads must be an int >= 1, got -1"),
        (lambda: layers.TransformerBlock(2, mlp_ratio=0), ValueError, r"mlp_ratio must be a finite number > 0"),
        (lambda: layers.TransformerBlock(2, mlp_ratio=None), TypeError, r"mlp_ratio must be a number"),
        (lambda: layers.TransformerBlock(2, drop_path_rate=1), ValueError, r"drop_path_rate must be in \[0, 1\)"),
        (lambda: layers.TransformerBlock(2, dropout=-0.5), ValueError, r"dropout must be in \[0, 1\)"),
        (lambda: layers.TransformerBlock(2, attention_dropout="0"), TypeError, r"attention_dropout must be a num"),
        (lambda: layers.TransformerBlock(2, gelu_approximate="True"), TypeError, r"gelu_approximate must be"),
        (lambda: layers.TransformerBlock(2, seed=2.0), TypeError, r"seed must be an int or None"),
        (lambda: layers.TransformerBlock(4, num_key_value_heads=3), ValueError, r"must divide num_heads=4"),
        (lambda: layers.DropPath(1.0), ValueError, r"rate must be in \[0, 1\), got 1\.0"),
        (lambda: layers.DropPath("0.1"), TypeError, r"rate must be a number"),
        (lambda: layers.DropPath(0.1, seed="1"), TypeError, r"seed must be an int or None"),
        (lambda: layers.NestLevel(0, 2), ValueError, r"num_layers must be an int >= 1, got 0"),
        (lambda: layers.NestLevel(2.0, 2), TypeError, r"num_layers must be an int >= 1, got 2\.0"),
        (lambda: layers.NestLevel(2, 0), ValueError, r"num_heads must be an int >= 1, got 0"),
        (lambda: layers.NestLevel(2, 2, drop_path_rates=[0.1]), ValueError, r"1 entries for 2 layers"),
        (lambda: layers.NestLevel(2, 2, drop_path_rates=0.1), TypeError, r"drop_path_rates must be a list"),
        (lambda: layers.NestLevel(2, 2, drop_path_rates=[0.1, 1.5]), ValueError,
         r"drop_path_rates\[1\] must be in \[0, 1\), got 1\.5"),
        (lambda: layers.NestLevel(2, 2, mlp_ratio=-1), ValueError, r"mlp_ratio must be a finite number > 0"),
        (lambda: layers.NestLevel(2, 2, dropout=1), ValueError, r"dropout must be in \[0, 1\)"),
        (lambda: layers.NestLevel(2, 2, attention_dropout=1), ValueError, r"attention_dropout must be in"),
        (lambda: layers.NestLevel(2, 2, gelu_approximate=0), TypeError, r"gelu_approximate must be True or False"),
        (lambda: layers.NestLevel(2, 2, seed="a"), TypeError, r"seed must be an int or None"),
        (lambda: layers.NestLevel(2, 4, num_key_value_heads=3), ValueError, r"must divide num_heads=4"),
        (lambda: layers.BlockAggregation(0, 4, 4), ValueError, r"filters must be an int >= 1, got 0"),
        (lambda: layers.BlockAggregation(8, 3, 4), ValueError, r"grid_size must have even sides"),
        (lambda: layers.BlockAggregation(8, 4, (4, 0)), ValueError, r"block_size\[1\] must be an int >= 1"),
        (lambda: layers.BlockDeaggregation(-8, 1, 4), ValueError, r"filters must be an int >= 1, got -8"),
        (lambda: layers.BlockDeaggregation(8, 1.5, 4), TypeError, r"grid_size must be an int or a pair of ints"),
        (lambda: layers.PixelShuffleUpsample(0), ValueError, r"filters must be a positive int \(>= 1\), got 0"),
        (lambda: layers.PixelShuffleUpsample(8, scale=2.0), TypeError, r"scale must be an int, got 2\.0"),
        (lambda: layers.PixelShuffleUpsample(8, scale=-2), ValueError, r"scale must be a positive int"),
        (lambda: layers.PixelShuffleUpsample(8, use_bias=None), TypeError, r"use_bias must be True or False"),
    ],
)
def test_bad_layer_arguments_raise(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_layer_checks_at_build():
    with pytest.raises(ValueError, match=r"mlp_ratio 0\.1 gives a 8-wide layer an MLP of int\(8 \* 0\.1\) = 0"):
        layers.TransformerBlock(2, mlp_ratio=0.1)(keras.ops.ones((1, 1, 4, 8)))
    with pytest.raises(ValueError, match=r"not divisible by num_heads=3"):
        layers.LocalSelfAttention(3)(keras.ops.ones((1, 1, 4, 8)))


def test_block_tree_helpers_check_their_index():
    with pytest.raises(TypeError, match=r"index must be an int, got 1\.5"):
        layers.block_children(1.5, 2)
    with pytest.raises(TypeError, match=r"index must be an int"):
        layers.block_box("0", 2, 16)
    assert layers.block_parent(np.int64(3), 2) == 0


def test_valid_layer_spellings_still_work():
    x = keras.ops.ones((2, 4, 4, 8))
    assert tuple(layers.BlockPartition([np.int64(2), 2])(x).shape) == (2, 4, 4, 8)
    assert layers.BlockPartition(np.int32(2), grid_size=(2, 2), inverse=np.True_).get_config()["inverse"] is True
    assert tuple(layers.PatchEmbedding(np.int64(4), np.int64(2))(x).shape) == (2, 2, 2, 4)
    level = layers.NestLevel(np.int64(2), np.int64(2), num_key_value_heads=1, drop_path_rates=np.array([0.0, 0.1]))
    assert level.get_config()["drop_path_rates"] == [0.0, 0.1]
    assert type(level.get_config()["num_heads"]) is int
    restored = layers.NestLevel.from_config(level.get_config())
    assert restored.num_key_value_heads == 1 and restored.seed is None
    assert layers.DropPath(np.float32(0.25), seed=np.int64(1)).get_config()["seed"] == 1
    assert layers.LocalSelfAttention(4).num_key_value_heads == 4  # None still means multi-head
    assert layers.PositionEmbedding(None).initializer is not None
    assert tuple(layers.ClassToken()(keras.ops.zeros((2, 1, 4, 8))).shape) == (2, 1, 5, 8)
