"""Self-attention restricted to the tokens of each block."""

import keras
from keras import ops

from keras_nest.layers._checks import (
    check_bool,
    check_int,
    check_key_value_heads,
    check_optional_int,
    check_rate,
)

# Backends on which `keras.ops.dot_product_attention` (one fused call, no head transposes) is the
# faster training step: on PyTorch it is scaled_dot_product_attention, twice as fast as the explicit
# softmax(QK^T)V; on TensorFlow and JAX Keras' version is 7-40% slower (benchmarks/step_profile.py,
# README "Speed"). Both paths give the same outputs (tests/test_layers.py).
FUSED_ATTENTION_BACKENDS = ("torch",)


def fused_attention():
    """Whether `LocalSelfAttention` uses `keras.ops.dot_product_attention` on the current backend."""
    return keras.backend.backend() in FUSED_ATTENTION_BACKENDS


def _kernel_init():
    return keras.initializers.TruncatedNormal(stddev=0.02)


@keras.saving.register_keras_serializable(package="keras_nest")
class LocalSelfAttention(keras.layers.Layer):
    """Multi-head or multi-query self-attention inside every block.

    Takes `(B, T, n, C)` and attends over the `n` tokens of each of the `T`
    blocks separately; blocks never see each other here (block aggregation
    is what mixes them). With `num_key_value_heads=num_heads` this is
    standard multi-head attention (NesT's ImageNet models); with
    `num_key_value_heads=1`, all query heads share one key and one value
    head: multi-query attention (NesT's CIFAR models). Values in between
    give grouped-query attention.

    Weights: one fused input projection `qkv_kernel` of shape
    `(C, (num_heads + 2 * num_key_value_heads) * key_dim)` laid out as
    `[queries | keys | values]`, heads-major inside each part (timm's
    `qkv` layout, transposed), and `output_kernel` `(num_heads * key_dim, C)`
    with heads-major inputs. The fused projection is one matrix product per
    layer instead of two or three.

    Args:
        num_heads: int. Number of query heads.
        key_dim: int. Size of each head. Defaults to `C // num_heads`.
        num_key_value_heads: int. Key/value heads; must divide `num_heads`.
            Defaults to `num_heads` (multi-head attention).
        use_bias: bool. Biases on the projections. Defaults to `True`.
        dropout: float. Dropout on the attention weights. Defaults to 0.

    Raises:
        TypeError: an argument has the wrong type (e.g. a float head count).
        ValueError: a count is below 1, `num_key_value_heads` does not
            divide `num_heads`, or `dropout` is outside `[0, 1)`; at build,
            a width not divisible by `num_heads` (without `key_dim`).

    Example:

    >>> attention = LocalSelfAttention(num_heads=4, num_key_value_heads=1)
    >>> tuple(attention(keras.ops.ones((2, 4, 16, 32))).shape)
    (2, 4, 16, 32)
    """

    def __init__(
        self,
        num_heads,
        key_dim=None,
        num_key_value_heads=None,
        use_bias=True,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check_int("num_heads", num_heads, minimum=1)
        self.key_dim = check_optional_int("key_dim", key_dim)
        self.num_key_value_heads = check_key_value_heads(self.num_heads, num_key_value_heads)
        self.use_bias = check_bool("use_bias", use_bias)
        self.dropout = check_rate("dropout", dropout)
        self.attention_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        channels = input_shape[-1]
        if self.key_dim is None and channels % self.num_heads:
            raise ValueError(
                f"Width {channels} is not divisible by num_heads={self.num_heads}; "
                "pick a head count that divides it or set key_dim."
            )
        self.head_dim = self.key_dim or channels // self.num_heads
        projected = (self.num_heads + 2 * self.num_key_value_heads) * self.head_dim
        self.qkv_kernel = self.add_weight(
            name="qkv_kernel", shape=(channels, projected), initializer=_kernel_init()
        )
        self.output_kernel = self.add_weight(
            name="output_kernel",
            shape=(self.num_heads * self.head_dim, channels),
            initializer=_kernel_init(),
        )
        if self.use_bias:
            self.qkv_bias = self.add_weight(name="qkv_bias", shape=(projected,), initializer="zeros")
            self.output_bias = self.add_weight(
                name="output_bias", shape=(channels,), initializer="zeros"
            )

    def call(self, x, training=None):
        if fused_attention() and not (training and self.dropout):
            context = self._fused_context(x)
        else:  # the softmax weights themselves, for attention dropout
            context = self._explicit_context(x, training)
        out = ops.matmul(context, ops.cast(self.output_kernel, x.dtype))
        if self.use_bias:
            out = out + ops.cast(self.output_bias, x.dtype)
        return out

    def _fused_context(self, x):
        """`keras.ops.dot_product_attention` over `(B*T, n, heads, d)`: no head transposes."""
        _, blocks, tokens, _ = x.shape
        query, key, value = self._projections(x)
        query, key, value = (ops.reshape(t, (-1, tokens, t.shape[-1] // self.head_dim, self.head_dim))
                             for t in (query, key, value))
        group = self.num_heads // self.num_key_value_heads
        if group > 1 and keras.backend.backend() == "tensorflow":  # Keras 3.15's TF version lacks grouped heads
            key, value = ops.repeat(key, group, axis=2), ops.repeat(value, group, axis=2)
        context = ops.dot_product_attention(query, key, value, scale=self.head_dim**-0.5)
        return ops.reshape(context, (-1, blocks, tokens, self.num_heads * self.head_dim))

    def _explicit_context(self, x, training):
        weights, value = self._weights_and_value(x)
        weights = self.attention_dropout(weights, training=training)
        context = ops.matmul(weights, value)  # (B, T, kv, g*n, d)
        _, blocks, tokens, _ = x.shape
        heads, head_dim = self.num_heads, self.head_dim
        context = ops.reshape(context, (-1, blocks, heads, tokens, head_dim))
        context = ops.transpose(context, (0, 1, 3, 2, 4))
        return ops.reshape(context, (-1, blocks, tokens, heads * head_dim))

    def attention_weights(self, x):
        """The softmax attention of every head: `(B, T, n, C) -> (B, T, heads, n, n)`.

        Rows are queries, columns keys, within each block (what attention
        rollout and attention plots read).
        """
        _, blocks, tokens, _ = x.shape
        weights, _ = self._weights_and_value(x)
        return ops.reshape(weights, (-1, blocks, self.num_heads, tokens, tokens))

    def _projections(self, x):
        """Queries `(B, T, n, heads*d)`, keys and values `(B, T, n, kv_heads*d)` from the fused projection."""
        heads, kv_heads, head_dim = self.num_heads, self.num_key_value_heads, self.head_dim
        qkv = ops.matmul(x, ops.cast(self.qkv_kernel, x.dtype))
        if self.use_bias:
            qkv = qkv + ops.cast(self.qkv_bias, x.dtype)
        return ops.split(qkv, [heads * head_dim, (heads + kv_heads) * head_dim], axis=-1)

    def _weights_and_value(self, x):
        _, blocks, tokens, _ = x.shape
        heads, kv_heads, head_dim = self.num_heads, self.num_key_value_heads, self.head_dim
        group = heads // kv_heads

        query, key, value = self._projections(x)

        def heads_first(t, num):  # (B, T, n, num*d) -> (B, T, num, n, d)
            t = ops.reshape(t, (-1, blocks, tokens, num, head_dim))
            return ops.transpose(t, (0, 1, 3, 2, 4))

        # Query heads that share a key/value head are stacked along the token
        # axis, so one batched matmul covers multi-head, grouped and
        # multi-query attention alike (head = kv_head * group + member).
        query = ops.reshape(
            heads_first(query * (head_dim**-0.5), heads),
            (-1, blocks, kv_heads, group * tokens, head_dim),
        )
        key = heads_first(key, kv_heads)
        value = heads_first(value, kv_heads)
        scores = ops.matmul(query, ops.transpose(key, (0, 1, 2, 4, 3)))
        return ops.softmax(scores, axis=-1), value  # (B, T, kv, g*n, n), (B, T, kv, n, d)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "num_key_value_heads": self.num_key_value_heads,
                "use_bias": self.use_bias,
                "dropout": self.dropout,
            }
        )
        return config
