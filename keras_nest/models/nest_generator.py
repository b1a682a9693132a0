"""NesT run in reverse as an image generator: one block in, an RGB image out.

    z (latent_dim)
    -> Dense -> the top level: one block of `block_size^2` tokens (width d_0)
    -> NestLevel (position embedding + transformer layers inside the block)
    -> BlockDeaggregation: un-blockify, PixelShuffleUpsample x2, blockify
       (each block becomes its four children; width d_1)
       [-> latent modulation: x * (1 + Dense(z)) + Dense(z), if asked]
       [-> token noise: x + strength * N(0, 1) per token, if asked]
    -> NestLevel -> ... (one level per entry of `embed_dims`)
    -> LayerNorm -> Dense to `patch_size^2 * channels` per token
    -> depth-to-space (`patch_size`) -> tanh, in [-1, 1].

Design decisions where the NesT paper is silent (its generator code was
never released):

* The latent vector is mapped by one Dense layer to all top-level tokens, as
  in HiT-GAN (whose low-resolution stages follow NesT's decoder); the
  top-level position embedding then adds a learned spatial prior.
* De-aggregation projects with a Dense to `4 * d_next` channels *before*
  depth-to-space, so the channel change and the 2x upsampling are one
  learned step with no checkerboard overlap.
* Block size stays constant (as in the classifier), so the number of blocks
  quadruples per level and attention cost grows only linearly with pixels.
* Tokens become pixels through LayerNorm and a per-token Dense, optionally
  onto `patch_size x patch_size` pixels (depth-to-space), with tanh.
* No dropout or drop-path (GAN generators are not regularised that way).
* `latent_modulation=True` lets the latent reach every level, not only the
  first: after each de-aggregation the tokens are scaled and shifted per
  channel by two Dense maps of z (FiLM, Perez et al. 2018; the role of
  HiT-GAN's latent cross-attention and StyleGAN's per-level styles),
  initialised to zero so training starts from the plain generator.
* `token_noise=True` adds fresh Gaussian noise to every token after each
  de-aggregation, one value per token scaled by a learned per-channel
  strength (StyleGAN's per-pixel noise inputs, Karras et al. 2019, §2 and §3.2),
  the strengths zero-initialised; the noise is drawn at sampling too, so
  one latent gives slightly different images.
"""

import random

import keras
from keras import ops

from keras_nest.errors import InvalidValueError
from keras_nest.layers._checks import check_bool, check_int, check_mlp_ratio, check_seed
from keras_nest.layers.block_deaggregation import BlockDeaggregation
from keras_nest.layers.block_partition import deblockify
from keras_nest.layers.nest_level import NestLevel
from keras_nest.layers.transformer_block import layer_norm
from keras_nest.models.base import GeneratorModel, resolve_dtypes
from keras_nest.validation import check_int_tuple


def reachable_sizes(block_size, num_levels, patch_size):
    """The image side a config produces: `block_size * 2^(levels - 1) * patch_size`."""
    return block_size * 2 ** (num_levels - 1) * patch_size


@keras.saving.register_keras_serializable(package="keras_nest")
class NestGenerator(GeneratorModel):
    """NesT generator: `(B, latent_dim)` noise to `(B, H, W, channels)` images in [-1, 1].

    Args:
        image_size: int. Output side; must equal
            `block_size * 2^(len(embed_dims) - 1) * patch_size`.
        latent_dim: int. Size of the input vector.
        block_size: int. Tokens per block side, at every level.
        embed_dims: widths per level, coarsest (the single top block) first.
        depths: transformer layers per level.
        num_heads: attention heads per level.
        mlp_ratio: MLP hidden width over the embedding width.
        patch_size: int. Pixels per token side at the output.
        channels: int. Output channels (3 for RGB).
        gelu_approximate: bool. Tanh-approximate GELU. Defaults to `True`.
        latent_modulation: bool. Modulate every level below the top by the
            latent (see the module docstring). Defaults to `False`.
        token_noise: bool. Add per-token noise to every level below the top
            (`TokenNoise`). Defaults to `False`.
        seed: int or `None`. Base seed of the levels and of the noise layers
            (`token_noise`; with it, `None` draws a seed kept in the config).
        dtype: dtype policy of the model.

    Raises:
        TypeError: an argument of the wrong kind, named in the message (a
            float or bool for an int, a non-sequence for `embed_dims`,
            `depths` or `num_heads`, a non-bool `gelu_approximate`,
            `latent_modulation` or `token_noise`).
        ValueError: a value out of range or inconsistent, named in the
            message: `image_size`, `latent_dim`, `block_size`, `patch_size`,
            `channels`, a width, depth or head count below 1; not one entry
            per level; a width not divisible by its heads; `mlp_ratio <= 0`;
            an `image_size` the levels cannot reach; an unknown `dtype`.

    Example:

    >>> g = NestGenerator(16, latent_dim=8, block_size=4, embed_dims=(32, 16), depths=(1, 1),
    ...                   num_heads=(2, 1), patch_size=2)
    >>> tuple(g(keras.ops.ones((2, 8))).shape)
    (2, 16, 16, 3)
    """

    def __init__(self, image_size, latent_dim, block_size, embed_dims, depths, num_heads, mlp_ratio=4.0,
                 patch_size=1, channels=3, gelu_approximate=True, latent_modulation=False, token_noise=False,
                 seed=None, dtype=None, **kwargs):
        config = dict(
            image_size=check_int("image_size", image_size, minimum=1),
            latent_dim=check_int("latent_dim", latent_dim, minimum=1),
            block_size=check_int("block_size", block_size, minimum=1),
            embed_dims=check_int_tuple("embed_dims", embed_dims, minimum=1),
            depths=check_int_tuple("depths", depths, minimum=1),
            num_heads=check_int_tuple("num_heads", num_heads, minimum=1),
            mlp_ratio=check_mlp_ratio(mlp_ratio),
            patch_size=check_int("patch_size", patch_size, minimum=1),
            channels=check_int("channels", channels, minimum=1),
            gelu_approximate=check_bool("gelu_approximate", gelu_approximate),
            latent_modulation=check_bool("latent_modulation", latent_modulation),
            token_noise=check_bool("token_noise", token_noise),
            seed=check_seed("seed", seed),
        )
        _validate(config)
        if config["token_noise"] and config["seed"] is None:
            # The noise is drawn at sampling too: keep the seed, so a saved generator reloads with the same noise.
            config["seed"] = random.randrange(2**31)
        seed = config["seed"]
        config["dtype"], policy, _ = resolve_dtypes(dtype, None)
        levels, side = len(config["embed_dims"]), config["block_size"]
        tokens = side * side

        z = keras.Input(shape=(config["latent_dim"],), name="latent")
        x = keras.layers.Dense(tokens * config["embed_dims"][0], name="latent_projection", dtype=policy,
                               kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))(z)
        x = keras.layers.Reshape((1, tokens, config["embed_dims"][0]), name="top_block", dtype=policy)(x)
        for i in range(levels):
            if i > 0:
                x = BlockDeaggregation(config["embed_dims"][i], grid_size=2 ** (i - 1), block_size=side,
                                       name=f"deaggregation_{i}", dtype=policy)(x)
                if config["latent_modulation"]:
                    x = modulate_by_latent(x, z, config["embed_dims"][i], f"modulation_{i}", policy)
                if config["token_noise"]:
                    x = TokenNoise(seed=seed + 1000 * i + 500, name=f"noise_{i}", dtype=policy)(x)
            x = NestLevel(config["depths"][i], config["num_heads"][i], mlp_ratio=config["mlp_ratio"],
                          gelu_approximate=config["gelu_approximate"],
                          seed=None if seed is None else seed + 1000 * i, name=f"level_{i}", dtype=policy)(x)
        x = layer_norm("final_norm", dtype=policy)(x)
        x = keras.layers.Dense(config["patch_size"] ** 2 * config["channels"], name="to_pixels",
                               dtype="float32")(x)
        images = ToImage(grid_size=2 ** (levels - 1), block_size=side, patch_size=config["patch_size"],
                         name="to_image", dtype="float32")(x)
        super().__init__(inputs=z, outputs=images, **kwargs)
        self.model_config = config


def modulate_by_latent(tokens, z, width, name, policy):
    """`tokens * (1 + Dense(z)) + Dense(z)`, per channel, the Dense maps zero-initialised (functional API)."""
    def per_channel(part):
        x = keras.layers.Dense(width, kernel_initializer="zeros", name=f"{name}_{part}", dtype=policy)(z)
        return keras.layers.Reshape((1, 1, width), name=f"{name}_{part}_broadcast", dtype=policy)(x)

    scale, shift = per_channel("scale"), per_channel("shift")
    scaled = keras.layers.Multiply(name=f"{name}_scaled", dtype=policy)([tokens, scale])
    return keras.layers.Add(name=name, dtype=policy)([tokens, scaled, shift])


@keras.saving.register_keras_serializable(package="keras_nest")
class TokenNoise(keras.layers.Layer):
    """Adds per-token Gaussian noise with a learned per-channel strength: `(..., d) -> (..., d)`.

    `x + strength * noise`, `noise` one N(0, 1) value per token shared by its
    `d` channels, `strength` of shape `(d,)` starting at zero (StyleGAN's
    noise inputs, Karras et al., CVPR 2019, §2 and §3.2, on tokens instead
    of pixels). Drawn in training and inference alike, from a
    `SeedGenerator`: samples depend on `seed` and on how many batches the
    layer has drawn, not only on the latent.

    Args:
        seed: int or `None`. Seed of the noise; `None` draws one now and
            keeps it in the config, so a saved generator reloads with it.

    Raises:
        TypeError: `seed` is not an int or `None`.

    Example:

    >>> layer = TokenNoise(seed=0)
    >>> x = keras.ops.ones((2, 1, 4, 3))
    >>> bool(keras.ops.all(layer(x) == x))  # zero strength at the start
    True
    >>> _ = layer.strength.assign(keras.ops.ones((3,)))
    >>> noisy = keras.ops.convert_to_numpy(layer(x)) - 1.0
    >>> bool((noisy[..., 0] == noisy[..., 2]).all() and noisy.std() > 0.1)  # one value per token
    True
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        seed = check_seed("seed", seed)
        self.seed = random.randrange(2**31) if seed is None else seed
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def build(self, input_shape):
        self.strength = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="strength")

    def call(self, x):
        noise = keras.random.normal((*ops.shape(x)[:-1], 1), seed=self.seed_generator, dtype=x.dtype)
        return x + noise * ops.cast(self.strength, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="keras_nest")
class ToImage(keras.layers.Layer):
    """Blocked pixel tokens `(B, T, n, p*p*C)` to a tanh image `(B, H, W, C)`."""

    def __init__(self, grid_size, block_size, patch_size, **kwargs):
        super().__init__(**kwargs)
        self.grid_size = check_int("grid_size", grid_size, minimum=1)
        self.block_size = check_int("block_size", block_size, minimum=1)
        self.patch_size = check_int("patch_size", patch_size, minimum=1)

    def call(self, x):
        plane = deblockify(x, self.grid_size, self.block_size)
        if self.patch_size > 1:
            plane = ops.depth_to_space(plane, self.patch_size)
        return ops.tanh(plane)

    def compute_output_shape(self, input_shape):
        side = self.grid_size * self.block_size * self.patch_size
        return (input_shape[0], side, side, input_shape[-1] // self.patch_size**2)

    def get_config(self):
        config = super().get_config()
        config.update(grid_size=self.grid_size, block_size=self.block_size, patch_size=self.patch_size)
        return config


def _validate(config):
    lengths = {k: len(config[k]) for k in ("embed_dims", "depths", "num_heads")}
    if len(set(lengths.values())) != 1:
        raise InvalidValueError(f"embed_dims, depths and num_heads need one entry per level; got lengths {lengths}.")
    if lengths["embed_dims"] < 1:
        raise InvalidValueError("embed_dims, depths and num_heads must list at least one level, e.g. (64, 32).")
    for level, (dim, heads) in enumerate(zip(config["embed_dims"], config["num_heads"])):
        if dim % heads:
            raise InvalidValueError(f"Level {level}: width {dim} is not divisible by {heads} heads (num_heads). "
                             f"Pick heads among {[h for h in range(1, dim + 1) if dim % h == 0][:12]}.")
    check_mlp_ratio(config["mlp_ratio"], config["embed_dims"])
    levels = lengths["embed_dims"]
    size = reachable_sizes(config["block_size"], levels, config["patch_size"])
    if config["image_size"] != size:
        raise InvalidValueError(
            f"This generator cannot make {config['image_size']}x{config['image_size']} images: "
            f"block side {config['block_size']} x 2^{levels - 1} levels x patch {config['patch_size']} = "
            f"{size}. The image side must be block side x 2^k x patch size; change image_size, "
            "block_size, patch_size or the number of levels."
        )
