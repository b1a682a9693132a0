"""SAGAN-style convolutional GAN parts: the baseline generator and the shared discriminator.

Layouts follow SAGAN (Zhang et al., ICML 2019) at the small resolutions of
PyTorch-StudioGAN's configs: residual up-blocks with batch norm in the
generator, residual down-blocks in the discriminator, one SAGAN self-attention
block (1x1 query/key/value, keys and values 2x2 max-pooled, a learned gate
initialised to 0), spectral normalisation on every convolution and dense
layer of both networks, and an unconditional head (sum-pooling, dense to 1).

Spectral normalisation is Keras' `SpectralNormalization`: on every training
call it runs one power iteration and writes `W / sigma` back into the kernel,
so no gradient flows through `sigma` and the optimizer updates the already
normalised kernel. SAGAN's reference code differentiates through `W / sigma`
instead. We keep the built-in layer (no custom kernel code, `.keras` files
load anywhere) and note the difference: both bound the layer's spectral norm
by about 1 after each step.
"""

import keras
from keras import ops

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.layers._checks import check_bool, check_int
from keras_nest.models.base import ConfiguredModel, GeneratorModel, resolve_dtypes
from keras_nest.validation import check_int_tuple

_INIT = keras.initializers.GlorotUniform


def _sn(layer):
    # The wrapper takes the wrapped layer's policy: left at the global default it would
    # compute in float32 under a mixed policy and break the float16 residual adds.
    return keras.layers.SpectralNormalization(layer, power_iterations=1, name=f"sn_{layer.name}",
                                              dtype=layer.dtype_policy)


def _conv(filters, kernel, name, policy):
    return _sn(keras.layers.Conv2D(filters, kernel, padding="same", kernel_initializer=_INIT(),
                                   name=name, dtype=policy))


@keras.saving.register_keras_serializable(package="keras_nest")
class SelfAttention2D(keras.layers.Layer):
    """SAGAN's self-attention over an `(B, H, W, C)` feature map.

    Queries from every position attend to keys and values taken on a 2x2
    max-pooled map; the result is projected back to `C` channels and added
    to the input scaled by `gamma`, which starts at 0 (the block is an
    identity at initialisation).

    Example:

    >>> layer = SelfAttention2D()
    >>> tuple(layer(keras.ops.ones((2, 8, 8, 32))).shape)
    (2, 8, 8, 32)
    """

    def build(self, input_shape):
        channels = input_shape[-1]
        policy = self.dtype_policy
        self.query = _conv(max(channels // 8, 1), 1, "query", policy)
        self.key = _conv(max(channels // 8, 1), 1, "key", policy)
        self.value = _conv(max(channels // 2, 1), 1, "value", policy)
        self.output_projection = _conv(channels, 1, "output", policy)
        self.pool = keras.layers.MaxPooling2D(2, dtype=policy)
        for layer in (self.query, self.key, self.value):
            layer.build(input_shape)
        self.output_projection.build((*input_shape[:-1], max(channels // 2, 1)))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")

    def call(self, x, training=None):
        _, height, width, channels = x.shape
        q = ops.reshape(self.query(x, training=training), (-1, height * width, max(channels // 8, 1)))
        k = ops.reshape(self.pool(self.key(x, training=training)), (-1, height * width // 4, max(channels // 8, 1)))
        v = ops.reshape(self.pool(self.value(x, training=training)), (-1, height * width // 4, max(channels // 2, 1)))
        attention = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 2, 1))), axis=-1)
        out = ops.reshape(ops.matmul(attention, v), (-1, height, width, max(channels // 2, 1)))
        return x + ops.cast(self.gamma, x.dtype) * self.output_projection(out, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape


def _up_block(x, filters, name, policy):
    """BN -> ReLU -> 2x nearest -> conv3x3 -> BN -> ReLU -> conv3x3, plus an upsampled 1x1 shortcut."""
    up = keras.layers.UpSampling2D(2, name=f"{name}_up", dtype=policy)
    h = keras.layers.BatchNormalization(name=f"{name}_bn1", dtype=policy)(x)
    h = keras.layers.ReLU(dtype=policy)(h)
    h = _conv(filters, 3, f"{name}_conv1", policy)(up(h))
    h = keras.layers.BatchNormalization(name=f"{name}_bn2", dtype=policy)(h)
    h = keras.layers.ReLU(dtype=policy)(h)
    h = _conv(filters, 3, f"{name}_conv2", policy)(h)
    shortcut = _conv(filters, 1, f"{name}_shortcut", policy)(keras.layers.UpSampling2D(2, dtype=policy)(x))
    return keras.layers.Add(name=name, dtype=policy)([h, shortcut])


def _down_block(x, filters, name, policy, downsample=True, first=False):
    """(ReLU ->) conv3x3 -> ReLU -> conv3x3 (-> 2x2 average pool), plus a 1x1 shortcut."""
    h = x if first else keras.layers.ReLU(dtype=policy)(x)
    h = _conv(filters, 3, f"{name}_conv1", policy)(h)
    h = keras.layers.ReLU(dtype=policy)(h)
    h = _conv(filters, 3, f"{name}_conv2", policy)(h)
    shortcut = x
    if first:  # SAGAN's "optimized" first block: pool, then project
        shortcut = keras.layers.AveragePooling2D(2, dtype=policy)(shortcut)
        shortcut = _conv(filters, 1, f"{name}_shortcut", policy)(shortcut)
    elif downsample or x.shape[-1] != filters:
        shortcut = _conv(filters, 1, f"{name}_shortcut", policy)(shortcut)
        if downsample:
            shortcut = keras.layers.AveragePooling2D(2, dtype=policy)(shortcut)
    if downsample:
        h = keras.layers.AveragePooling2D(2, dtype=policy)(h)
    return keras.layers.Add(name=name, dtype=policy)([h, shortcut])


@keras.saving.register_keras_serializable(package="keras_nest")
class SaganGenerator(GeneratorModel):
    """SAGAN's ResNet generator: noise to `(B, S, S, channels)` images in [-1, 1].

    `z -> SN-Dense -> 4x4 x base_width -> one up-block per entry of
    `widths` (each doubles the side) -> BN -> ReLU -> SN-conv3x3 -> tanh`,
    with self-attention after the block that reaches `attention_resolution`.

    Args:
        image_size: int. Output side, `4 * 2**len(widths)`.
        latent_dim: int. Size of the input noise.
        base_width: int. Channels of the 4x4 map the noise is projected to.
        widths: ints, one per up-block (each doubles the side).
        attention_resolution: int. Side after which self-attention runs;
            one of the sides the up-blocks reach (8, 16, ..., image_size).
        channels: int. Output channels (3 for RGB).
        dtype: dtype policy of the model.

    Raises:
        TypeError: an argument of the wrong kind (a float or bool for an
            int, a non-sequence for `widths`), named in the message.
        ValueError: a size or width below 1, an `image_size` the up-blocks
            do not make, an `attention_resolution` they never reach, or an
            unknown `dtype`.

    Example:

    >>> g = SaganGenerator(16, latent_dim=8, base_width=32, widths=(16, 16), attention_resolution=8)
    >>> tuple(g(keras.ops.ones((2, 8))).shape)
    (2, 16, 16, 3)
    """

    def __init__(self, image_size, latent_dim, base_width, widths, attention_resolution, channels=3,
                 dtype=None, **kwargs):
        config = dict(image_size=check_int("image_size", image_size, minimum=1),
                      latent_dim=check_int("latent_dim", latent_dim, minimum=1),
                      base_width=check_int("base_width", base_width, minimum=1),
                      widths=check_int_tuple("widths", widths, minimum=1),
                      attention_resolution=check_int("attention_resolution", attention_resolution, minimum=1),
                      channels=check_int("channels", channels, minimum=1))
        side = 4 * 2 ** len(config["widths"])
        if side != config["image_size"]:
            raise InvalidValueError(f"{len(config['widths'])} up-blocks from 4x4 make {side}x{side} images, not "
                             f"{config['image_size']}; give one width per doubling (image_size "
                             "4 * 2**len(widths)).")
        reached = [4 * 2 ** (i + 1) for i in range(len(config["widths"]))]
        if config["attention_resolution"] not in reached:
            raise InvalidValueError(f"attention_resolution must be a side the up-blocks reach, one of {reached}; "
                             f"got {config['attention_resolution']}.")
        config["dtype"], policy, _ = resolve_dtypes(dtype, None)
        z = keras.Input(shape=(config["latent_dim"],), name="latent")
        x = _sn(keras.layers.Dense(16 * config["base_width"], kernel_initializer=_INIT(),
                                   name="latent_projection", dtype=policy))(z)
        x = keras.layers.Reshape((4, 4, config["base_width"]), dtype=policy)(x)
        resolution = 4
        for i, width in enumerate(config["widths"]):
            x = _up_block(x, width, f"block_{i}", policy)
            resolution *= 2
            if resolution == config["attention_resolution"]:
                x = SelfAttention2D(name="attention", dtype=policy)(x)
        x = keras.layers.BatchNormalization(name="final_bn", dtype=policy)(x)
        x = keras.layers.ReLU(dtype=policy)(x)
        x = _conv(config["channels"], 3, "to_rgb", "float32")(x)
        images = keras.layers.Activation("tanh", name="to_image", dtype="float32")(x)
        super().__init__(inputs=z, outputs=images, **kwargs)
        self.model_config = config


@keras.saving.register_keras_serializable(package="keras_nest")
class ResnetDiscriminator(ConfiguredModel):
    """SAGAN's ResNet discriminator: `(B, S, S, C)` images to one score each.

    An optimized first block, then one residual block per entry of `widths`
    (`downsample` flags which of them halve the side), self-attention after
    the block that reaches `attention_resolution`, ReLU, sum over positions
    and an SN-Dense to 1 (a real-vs-fake logit, float32). With
    `minibatch_std`, the last block also reads the batch's feature spread
    (`MinibatchStddev`), so a generator whose samples look alike is told so.

    Args:
        image_size: int. Side of the square input images.
        widths: ints, one per residual block.
        downsample: bools, one per block; the first must be `True`.
        attention_resolution: int. Side at which self-attention runs; an
            even side that some block reaches.
        channels: int. Input channels (3 for RGB).
        minibatch_std: bool. Add the minibatch standard deviation feature
            before the last block. Defaults to `False`.
        dtype: dtype policy of the model.

    Raises:
        TypeError: an argument of the wrong kind (a float or bool for an
            int, a non-bool in `downsample` or `minibatch_std`), named in
            the message.
        ValueError: a size or width below 1, `widths` and `downsample` of
            different lengths or empty, a first block that does not
            downsample, an `image_size` that cannot be halved that often, an
            `attention_resolution` that no block reaches (or an odd one), or
            an unknown `dtype`.

    Example:

    >>> d = ResnetDiscriminator(16, widths=(16, 16, 16), downsample=(True, True, False),
    ...                         attention_resolution=8)
    >>> tuple(d(keras.ops.ones((2, 16, 16, 3))).shape)
    (2, 1)
    """

    def __init__(self, image_size, widths, downsample, attention_resolution, channels=3, minibatch_std=False,
                 dtype=None, **kwargs):
        if isinstance(downsample, (str, bytes)) or not hasattr(downsample, "__len__"):
            raise InvalidTypeError(f"downsample must be a tuple of bools, one per block; got {downsample!r}.")
        config = dict(image_size=check_int("image_size", image_size, minimum=1),
                      widths=check_int_tuple("widths", widths, minimum=1),
                      downsample=tuple(check_bool(f"downsample[{i}]", d) for i, d in enumerate(downsample)),
                      attention_resolution=check_int("attention_resolution", attention_resolution, minimum=1),
                      channels=check_int("channels", channels, minimum=1),
                      minibatch_std=check_bool("minibatch_std", minibatch_std))
        if len(config["widths"]) != len(config["downsample"]):
            raise InvalidValueError(f"widths and downsample need one entry per block; got {len(config['widths'])} "
                             f"widths and {len(config['downsample'])} downsample flags.")
        if not config["widths"]:
            raise InvalidValueError("widths and downsample must list at least one block.")
        if not config["downsample"][0]:
            raise InvalidValueError("downsample[0] must be True: the first (optimized) block always halves the image.")
        if config["image_size"] % 2 ** sum(config["downsample"]):
            raise InvalidValueError(
                f"image_size {config['image_size']} px cannot be halved {sum(config['downsample'])} "
                f"times; use a multiple of {2 ** sum(config['downsample'])}.")
        reached, side = [], config["image_size"]
        for down in config["downsample"]:
            side //= 2 if down else 1
            if side % 2 == 0 and side not in reached:
                reached.append(side)
        if config["attention_resolution"] not in reached:
            raise InvalidValueError(
                f"attention_resolution must be an even side that a block reaches, one of {reached}; "
                f"got {config['attention_resolution']}.")
        config["dtype"], policy, _ = resolve_dtypes(dtype, None)
        images = keras.Input(shape=(config["image_size"], config["image_size"], config["channels"]),
                             name="images")
        x, resolution, attended = images, config["image_size"], False
        last = len(config["widths"]) - 1
        for i, (width, down) in enumerate(zip(config["widths"], config["downsample"])):
            if config["minibatch_std"] and i == last:
                x = MinibatchStddev(name="minibatch_std", dtype=policy)(x)
            x = _down_block(x, width, f"block_{i}", policy, downsample=down, first=i == 0)
            resolution //= 2 if down else 1
            if resolution == config["attention_resolution"] and not attended:
                x = SelfAttention2D(name="attention", dtype=policy)(x)
                attended = True
        x = keras.layers.ReLU(dtype=policy)(x)
        x = SumPool(name="sum_pool", dtype=policy)(x)
        score = _sn(keras.layers.Dense(1, kernel_initializer=_INIT(), name="score", dtype="float32"))(x)
        super().__init__(inputs=images, outputs=score, **kwargs)
        self.model_config = config


@keras.saving.register_keras_serializable(package="keras_nest")
class MinibatchStddev(keras.layers.Layer):
    """Appends the batch's mean feature standard deviation as one more channel: `(B, H, W, C) -> (B, H, W, C+1)`.

    The standard deviation of each feature over the batch, averaged over
    features and positions, is one number per batch that every image
    carries (Karras et al., "Progressive Growing of GANs", ICLR 2018, §3;
    over the whole batch, which the discriminator sees real and generated
    images in separately). A batch of near-identical samples has a small
    value, which real batches never show.

    Example:

    >>> x = keras.ops.convert_to_tensor([[[[0.0]]], [[[2.0]]]])  # two 1x1 images, one channel
    >>> keras.ops.convert_to_numpy(MinibatchStddev()(x))[:, 0, 0].tolist()
    [[0.0, 1.0], [2.0, 1.0]]
    """

    def call(self, x):
        centred = x - ops.mean(x, axis=0, keepdims=True)
        spread = ops.mean(ops.sqrt(ops.mean(ops.square(centred), axis=0) + 1e-8))
        return ops.concatenate([x, ops.ones_like(x[..., :1]) * ops.cast(spread, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


@keras.saving.register_keras_serializable(package="keras_nest")
class SumPool(keras.layers.Layer):
    """Sum over the spatial positions: `(B, H, W, C) -> (B, C)` (SAGAN's D pooling)."""

    def call(self, x):
        return ops.sum(x, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
