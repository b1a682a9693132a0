"""One NesT level: a position embedding and a stack of transformer blocks."""

import keras

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.layers._checks import (
    check_bool,
    check_int,
    check_key_value_heads,
    check_mlp_ratio,
    check_rate,
    check_seed,
)
from keras_nest.layers.position_embedding import PositionEmbedding
from keras_nest.layers.transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="keras_nest")
class NestLevel(keras.layers.Layer):
    """Adds the level's position embedding, then runs its transformer blocks.

    Input and output are `(B, T, n, C)`. Every block of tokens goes through
    the same layers, but no token attends outside its block. Each layer has
    its own stochastic-depth rate (`drop_path_rates`), since NesT spaces the
    rates linearly over the layers of the whole network.

    Args:
        num_layers: int. Transformer blocks in this level.
        num_heads: int. Attention heads.
        num_key_value_heads: int. Key/value heads (1 = multi-query).
        mlp_ratio: float. MLP width over `C`. Defaults to 4.
        drop_path_rates: list of `num_layers` floats. Defaults to zeros.
        dropout: float. Branch dropout. Defaults to 0.
        attention_dropout: float. Attention-weight dropout. Defaults to 0.
        gelu_approximate: bool. Tanh-approximate GELU. Defaults to `True`.
        seed: int or `None`. Base seed for DropPath (layer `i` uses `seed + i`).

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: a count below 1, `num_key_value_heads` not dividing
            `num_heads`, `mlp_ratio <= 0`, a rate outside `[0, 1)`, or not
            one drop-path rate per layer.

    Example:

    >>> level = NestLevel(num_layers=2, num_heads=2)
    >>> tuple(level(keras.ops.ones((2, 4, 16, 32))).shape)
    (2, 4, 16, 32)
    """

    def __init__(
        self,
        num_layers,
        num_heads,
        num_key_value_heads=None,
        mlp_ratio=4.0,
        drop_path_rates=None,
        dropout=0.0,
        attention_dropout=0.0,
        gelu_approximate=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        num_layers = check_int("num_layers", num_layers, minimum=1)
        if drop_path_rates is None:
            rates = [0.0] * num_layers
        elif isinstance(drop_path_rates, (str, bytes)) or not hasattr(drop_path_rates, "__len__"):
            raise InvalidTypeError(
                f"drop_path_rates must be a list of {num_layers} floats in [0, 1) or None, "
                f"got {drop_path_rates!r}."
            )
        else:
            rates = [check_rate(f"drop_path_rates[{i}]", r) for i, r in enumerate(drop_path_rates)]
        if len(rates) != num_layers:
            raise InvalidValueError(
                f"drop_path_rates has {len(rates)} entries for {num_layers} layers; "
                "give one rate per layer."
            )
        self.num_layers = num_layers
        self.num_heads = num_heads = check_int("num_heads", num_heads, minimum=1)
        self.num_key_value_heads = check_key_value_heads(num_heads, num_key_value_heads)
        self.mlp_ratio = mlp_ratio = check_mlp_ratio(mlp_ratio)
        self.drop_path_rates = rates
        self.dropout = dropout = check_rate("dropout", dropout)
        self.attention_dropout = attention_dropout = check_rate("attention_dropout", attention_dropout)
        self.gelu_approximate = gelu_approximate = check_bool("gelu_approximate", gelu_approximate)
        self.seed = seed = check_seed("seed", seed)
        self.position_embedding = PositionEmbedding(name="position_embedding", dtype=self.dtype_policy)
        self.blocks = [
            TransformerBlock(
                num_heads,
                num_key_value_heads=self.num_key_value_heads,
                mlp_ratio=mlp_ratio,
                drop_path_rate=rate,
                dropout=dropout,
                attention_dropout=attention_dropout,
                gelu_approximate=gelu_approximate,
                seed=None if seed is None else seed + i,
                name=f"block_{i}",
                dtype=self.dtype_policy,
            )
            for i, rate in enumerate(rates)
        ]

    def build(self, input_shape):
        self.position_embedding.build(input_shape)
        for block in self.blocks:
            block.build(input_shape)

    def call(self, x, training=None):
        x = self.position_embedding(x)
        for block in self.blocks:
            x = block(x, training=training)
        return x

    def call_with_attention(self, x):
        """The level in inference mode, also returning every layer's attention.

        Args:
            x: blocked tokens `(B, T, n, C)`.

        Returns:
            `(output, weights)`: the output as `call` gives it, and per
            transformer layer (first first) the softmax weights
            `(B, T, heads, n, n)`, rows are queries.
        """
        x = self.position_embedding(x)
        weights = []
        for block in self.blocks:
            weights.append(block.attention.attention_weights(block.norm1(x)))
            x = block(x, training=False)
        return x, weights

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "num_key_value_heads": self.num_key_value_heads,
                "mlp_ratio": self.mlp_ratio,
                "drop_path_rates": list(self.drop_path_rates),
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "gelu_approximate": self.gelu_approximate,
                "seed": self.seed,
            }
        )
        return config
