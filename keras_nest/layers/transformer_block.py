"""Pre-norm transformer block, run on every block of tokens independently."""

import keras
from keras import ops

from keras_nest.layers._checks import (
    check_bool,
    check_int,
    check_key_value_heads,
    check_mlp_ratio,
    check_mlp_width,
    check_rate,
    check_seed,
)
from keras_nest.layers.drop_path import DropPath
from keras_nest.layers.local_attention import LocalSelfAttention

LAYER_NORM_EPSILON = 1e-6


def layer_norm(name, dtype=None):
    """LayerNorm with NesT's epsilon (Keras' default of 1e-3 is off by 1000x)."""
    return keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="keras_nest")
class TransformerBlock(keras.layers.Layer):
    """ViT encoder layer: `x + DropPath(Attn(LN(x)))`, then `x + DropPath(MLP(LN(x)))`.

    Works on `(B, T, n, C)` (NesT blocks) and on `(B, n, C)` (a plain ViT,
    by giving it one block). The MLP is `Dense(mlp_ratio * C) -> GELU ->
    Dense(C)`. GELU is the tanh approximation by default, as in the official
    Flax code; `gelu_approximate=False` gives the exact erf form that timm
    uses.

    Args:
        num_heads: int. Attention heads.
        num_key_value_heads: int. Key/value heads (1 = multi-query).
            Defaults to `num_heads`.
        mlp_ratio: float. Hidden width of the MLP over `C`. Defaults to 4.
        drop_path_rate: float. Stochastic-depth rate of both branches.
        dropout: float. Dropout after the attention projection and in the
            MLP. Defaults to 0.
        attention_dropout: float. Dropout on attention weights. Defaults to 0.
        gelu_approximate: bool. Tanh-approximate GELU. Defaults to `True`.
        seed: int or `None`. Seed for DropPath.

    Raises:
        TypeError: an argument has the wrong type (e.g. `"True"` for a bool).
        ValueError: `num_heads` below 1, `num_key_value_heads` not dividing
            it, `mlp_ratio <= 0`, or a rate outside `[0, 1)`; at build, an
            MLP narrower than one unit or a width not divisible by the heads.

    Example:

    >>> block = TransformerBlock(num_heads=2)
    >>> tuple(block(keras.ops.ones((2, 4, 16, 32))).shape)
    (2, 4, 16, 32)
    """

    def __init__(
        self,
        num_heads,
        num_key_value_heads=None,
        mlp_ratio=4.0,
        drop_path_rate=0.0,
        dropout=0.0,
        attention_dropout=0.0,
        gelu_approximate=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check_int("num_heads", num_heads, minimum=1)
        self.num_key_value_heads = check_key_value_heads(self.num_heads, num_key_value_heads)
        self.mlp_ratio = check_mlp_ratio(mlp_ratio)
        self.drop_path_rate = check_rate("drop_path_rate", drop_path_rate)
        self.dropout = check_rate("dropout", dropout)
        self.attention_dropout = check_rate("attention_dropout", attention_dropout)
        self.gelu_approximate = check_bool("gelu_approximate", gelu_approximate)
        self.seed = seed = check_seed("seed", seed)
        policy = self.dtype_policy
        self.norm1 = layer_norm("norm1", dtype=policy)
        self.attention = LocalSelfAttention(
            self.num_heads,
            num_key_value_heads=self.num_key_value_heads,
            dropout=self.attention_dropout,
            name="attention",
            dtype=policy,
        )
        self.norm2 = layer_norm("norm2", dtype=policy)
        self.drop_path = DropPath(self.drop_path_rate, seed=seed, name="drop_path", dtype=policy)
        self.branch_dropout = keras.layers.Dropout(self.dropout, dtype=policy)

    def build(self, input_shape):
        channels = input_shape[-1]
        check_mlp_width(self.mlp_ratio, channels)
        dense = dict(
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            bias_initializer="zeros",
            dtype=self.dtype_policy,
        )
        self.fc1 = keras.layers.Dense(int(channels * self.mlp_ratio), name="fc1", **dense)
        self.fc2 = keras.layers.Dense(channels, name="fc2", **dense)
        self.norm1.build(input_shape)
        self.attention.build(input_shape)
        self.norm2.build(input_shape)
        self.fc1.build(input_shape)
        self.fc2.build((*input_shape[:-1], self.fc1.units))

    def call(self, x, training=None):
        y = self.attention(self.norm1(x), training=training)
        y = self.branch_dropout(y, training=training)
        x = x + self.drop_path(y, training=training)
        y = self.fc1(self.norm2(x))
        y = ops.gelu(y, approximate=self.gelu_approximate)
        y = self.branch_dropout(y, training=training)
        y = self.branch_dropout(self.fc2(y), training=training)
        return x + self.drop_path(y, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "num_key_value_heads": self.num_key_value_heads,
                "mlp_ratio": self.mlp_ratio,
                "drop_path_rate": self.drop_path_rate,
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "gelu_approximate": self.gelu_approximate,
                "seed": self.seed,
            }
        )
        return config
