"""The NesT model: layers composed into a functional `keras.Model`."""

import dataclasses
from typing import Optional

import keras
import numpy as np
from keras import ops

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.layers import (
    BlockAggregation,
    BlockPartition,
    NestLevel,
    PatchEmbedding,
)
from keras_nest.layers._checks import (
    check_activation,
    check_bool,
    check_int,
    check_mlp_ratio,
    check_positive_int,
    check_rate,
    check_seed,
)
from keras_nest.layers.block_partition import blockify, deblockify
from keras_nest.layers.transformer_block import layer_norm
from keras_nest.models.base import (
    ClassifierModel,
    check_class_names,
    checked_preprocessing,
    classification_head,
    head_logits,
    preprocessing_layer,
    resolve_dtypes,
)
from keras_nest.models.geometry import LevelGeometry, level_geometry  # noqa: F401 (re-exported)
from keras_nest.validation import check_choice, check_int_tuple

ATTENTION_TYPES = ("multi_head", "multi_query")
POOLING_TYPES = (None, "avg", "max")


def drop_path_schedule(drop_path_rate, depths):
    """Per-layer rates, linear in the global layer index (0 ... rate)."""
    rates = np.linspace(0.0, drop_path_rate, sum(depths)).tolist()
    starts = np.cumsum([0, *depths])
    return [rates[starts[i] : starts[i + 1]] for i in range(len(depths))]


def check_input_shape(value, family="NesT"):
    """`input_shape` as a tuple of three ints >= 1 (a static `(H, W, C)`)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise InvalidTypeError(
            f"input_shape must be (height, width, channels), e.g. (32, 32, 3); got {value!r}."
        )
    if len(value) != 3:
        raise InvalidValueError(
            f"input_shape must be (height, width, channels), e.g. (32, 32, 3); got {tuple(value)}."
        )
    if value[0] is None or value[1] is None:
        raise InvalidValueError(
            f"{family} needs a static image size; got None in input_shape {tuple(value)}. "
            "Give the height and width as ints."
        )
    return tuple(check_int(f"input_shape[{i}]", v, minimum=1) for i, v in enumerate(value))


def check_num_classes(num_classes, include_top):
    """`num_classes`: an int >= 1, or `None` when there is no head."""
    if num_classes is None and not include_top:
        return None
    if num_classes is None:
        raise InvalidValueError(
            "num_classes must be a positive int (>= 1) when include_top=True, got None."
        )
    return check_positive_int("num_classes", num_classes)


def _checked_config(
    input_shape, patch_size, embed_dims, num_heads, depths, attention, mlp_ratio,
    drop_path_rate, dropout, attention_dropout, gelu_approximate, num_classes, include_top,
    pooling, classifier_activation, feature_pyramid, head_dtype, seed,
):  # fmt: skip
    """The constructor's arguments checked and normalised (tuples of ints, floats, bools)."""
    input_shape = check_input_shape(input_shape)
    patch_size = check_int("patch_size", patch_size)
    if patch_size < 1:
        raise InvalidValueError(f"patch_size must be >= 1, got {patch_size}.")
    depths = check_int_tuple("depths", depths, minimum=1)
    embed_dims = check_int_tuple("embed_dims", embed_dims, minimum=1)
    num_heads = check_int_tuple("num_heads", num_heads, minimum=1)
    levels = len(depths)
    if levels < 1:
        raise InvalidValueError("`depths` must list at least one level, e.g. (1, 1, 2).")
    for key, value in (("embed_dims", embed_dims), ("num_heads", num_heads)):
        if len(value) != levels:
            raise InvalidValueError(
                f"`{key}` has {len(value)} entries but `depths` has {levels} levels; "
                "give one value per level."
            )
    for level, (dim, head) in enumerate(zip(embed_dims, num_heads)):
        if dim % head:
            raise InvalidValueError(
                f"Level {level}: width {dim} is not divisible by {head} heads (num_heads). "
                f"Pick heads among {[h for h in range(1, dim + 1) if dim % h == 0][:12]}."
            )
    include_top = check_bool("include_top", include_top)
    pooling = check_choice("pooling", pooling, POOLING_TYPES)
    if include_top and pooling is not None:
        raise InvalidValueError("`pooling` applies only with include_top=False (the head averages tokens).")
    return dict(
        input_shape=input_shape,
        patch_size=patch_size,
        embed_dims=embed_dims,
        num_heads=num_heads,
        depths=depths,
        attention=check_choice("attention", attention, ATTENTION_TYPES),
        mlp_ratio=check_mlp_ratio(mlp_ratio, embed_dims),
        drop_path_rate=check_rate("drop_path_rate", drop_path_rate),
        dropout=check_rate("dropout", dropout),
        attention_dropout=check_rate("attention_dropout", attention_dropout),
        gelu_approximate=check_bool("gelu_approximate", gelu_approximate),
        num_classes=check_num_classes(num_classes, include_top),
        include_top=include_top,
        pooling=pooling,
        classifier_activation=check_activation("classifier_activation", classifier_activation),
        feature_pyramid=check_bool("feature_pyramid", feature_pyramid),
        head_dtype=head_dtype,
        seed=check_seed("seed", seed),
    )


@keras.saving.register_keras_serializable(package="keras_nest")
class NestModel(ClassifierModel):
    """NesT: a hierarchy of local transformers over nested image blocks.

    Zhang et al., "Nested Hierarchical Transformer: Towards Accurate,
    Data-Efficient and Interpretable Visual Understanding", AAAI 2022,
    arXiv:2105.12723.

    Patch embedding -> cut into blocks -> for each level: a `NestLevel`
    (position embedding + transformer blocks inside every block), then
    `BlockAggregation` into the next level (2x2 blocks -> 1) -> LayerNorm
    -> mean over all tokens -> Dense. A functional model whose parts are
    also attributes (as keras-hub backbones keep layer references):

    * `patch_embedding` (`PatchEmbedding`), `block_partition`
      (`BlockPartition`);
    * `levels`, a list of `NestLevel` (level 0 first), and `aggregations`,
      a list of `BlockAggregation`, one per level after the first
      (`aggregations[i - 1]` feeds `levels[i]`);
    * `final_norm` (LayerNorm) and `head` (the Dense `predictions` layer,
      or `None` with `include_top=False`);
    * `geometry`, a tuple of `LevelGeometry` (grid, block and plane size of
      every level).

    `forward_levels` replays the network level by level for explanations.
    Layer names follow keras.applications (`level_{i}`, `aggregation_{i}`,
    `final_norm`, `predictions`, ...), so `get_layer` works too.

    Use `keras_nest.create_model(name, **overrides)` for the named configs.

    Args:
        input_shape: `(H, W, C)`. Any size whose patch grid splits into
            `2**(levels-1)` blocks per side; need not be square.
        patch_size: int. Pixel patch side (4 for ImageNet, 1 for CIFAR).
        embed_dims, num_heads, depths: one int per level (each >= 1; every
            width divisible by its head count).
        attention: `"multi_head"` or `"multi_query"` (one shared key/value
            head, NesT's CIFAR choice).
        mlp_ratio: float. Defaults to 4.
        drop_path_rate: float. Stochastic depth at the last layer; rates grow
            linearly from 0 over the global layer index.
        dropout, attention_dropout: floats. Default 0, as in NesT.
        gelu_approximate: bool. Tanh GELU (official NesT, default) or exact
            erf GELU (timm).
        num_classes: int >= 1. Classes of the head; may be `None` with
            `include_top=False`.
        include_top: bool. Keep the classification head.
        pooling: `None`, `"avg"` or `"max"`; with `include_top=False`, the
            output is the final feature map `(B, H', W', C)` for `None`,
            else the pooled `(B, C)` vector.
        classifier_activation: activation of the head; `None` gives logits.
        feature_pyramid: bool. Return a dict with every level's feature map
            `level_{i}` `(B, H_i, W_i, C_i)` (NHWC, before the final norm)
            and the usual output under `output`.
        head_dtype: dtype of the head. Defaults to `"float32"` under a mixed
            policy, so logits stay float32.
        seed: int or `None`. Seeds DropPath.
        dtype: dtype policy of the model, e.g. `"mixed_bfloat16"`.
        include_preprocessing: bool. Start with a `preprocessing` layer
            (`keras.layers.Rescaling`) that maps raw pixels in `0..255`
            to `(x / 255 - pixel_mean) / pixel_std`, as
            `keras.applications` models with `include_preprocessing=True`.
            The model then takes images as they come (uint8 values, as
            float or int); it cannot tell already-normalised floats apart,
            so do not normalise them again. Default `False`: inputs are
            normalised images.
        pixel_mean, pixel_std: the normalisation inside the model, one number
            per channel in `[0, 1]` pixel units (default ImageNet's, 0.485 /
            0.456 / 0.406 and 0.229 / 0.224 / 0.225); only with
            `include_preprocessing=True`.
        class_names: `None` or one name per class; kept in the config, so
            saved models (`.keras`) label their predictions.
        crop_pct: float in `(0, 1]`, default 1. How images of another size
            are brought to the input for evaluation (resize to
            `size / crop_pct`, centre crop; 1 resizes the whole image). Kept
            in the config for `keras-nest predict` and `evaluate`; the model
            itself does not resize.

    Raises:
        TypeError: an argument of the wrong kind, named in the message: a
            float or bool where an int is meant (`input_shape=(16.5, 16, 3)`,
            `patch_size=True`), a string where a bool is meant
            (`include_top="False"`), a non-sequence for `embed_dims`,
            `num_heads` or `depths`, a non-number rate or `mlp_ratio`, a
            non-int `seed`.
        ValueError: a value out of range or inconsistent, named in the
            message: an `input_shape` that is not `(H, W, C)` with every
            entry >= 1 (or that does not split into blocks, see
            `level_geometry`), `patch_size`, a width, head count or depth
            below 1, `embed_dims`/`num_heads` not one entry per level, a
            width not divisible by its heads, `mlp_ratio <= 0` (or an MLP
            under one unit), `drop_path_rate`, `dropout` or
            `attention_dropout` outside `[0, 1)`, `num_classes` below 1 (or
            `None` with `include_top=True`), an unknown `attention`,
            `pooling` (or `pooling` with `include_top=True`),
            `classifier_activation`, `dtype` or `head_dtype`.

    Example:

    >>> model = keras_nest.create_model("nest_nano_16", num_classes=5)
    >>> tuple(model(keras.ops.ones((2, 16, 16, 3))).shape)
    (2, 5)
    >>> len(model.levels), len(model.aggregations), model.head.name
    (3, 2, 'predictions')
    >>> model.geometry[0].block_size
    (4, 4)
    >>> raw = keras_nest.create_model("nest_nano_16", num_classes=2, include_preprocessing=True,
    ...                               pixel_mean=0.5, pixel_std=0.25, class_names=["cat", "dog"])
    >>> raw.class_names, raw.preprocessing.name
    (('cat', 'dog'), 'preprocessing')
    >>> pixels = np.full((1, 16, 16, 3), 191.25, np.float32)  # 0.75 * 255
    >>> float(keras.ops.max(keras.ops.abs(raw.normalize_inputs(pixels) - 1.0))) < 1e-6
    True
    """

    def __init__(
        self,
        input_shape,
        patch_size,
        embed_dims,
        num_heads,
        depths,
        attention="multi_head",
        mlp_ratio=4.0,
        drop_path_rate=0.0,
        dropout=0.0,
        attention_dropout=0.0,
        gelu_approximate=True,
        num_classes=1000,
        include_top=True,
        pooling=None,
        classifier_activation=None,
        feature_pyramid=False,
        head_dtype=None,
        seed=None,
        dtype=None,
        include_preprocessing=False,
        pixel_mean=None,
        pixel_std=None,
        class_names=None,
        crop_pct=1.0,
        **kwargs,
    ):
        config = _checked_config(
            input_shape, patch_size, embed_dims, num_heads, depths, attention, mlp_ratio,
            drop_path_rate, dropout, attention_dropout, gelu_approximate, num_classes,
            include_top, pooling, classifier_activation, feature_pyramid, head_dtype, seed,
        )  # fmt: skip
        config.update(checked_preprocessing(include_preprocessing, pixel_mean, pixel_std, config["input_shape"][2],
                                            crop_pct))
        config["class_names"] = check_class_names(class_names, config["num_classes"])
        attention, pooling, seed = config["attention"], config["pooling"], config["seed"]
        config["dtype"], policy, head_dtype = resolve_dtypes(dtype, head_dtype)
        levels = len(config["depths"])
        geometry = level_geometry(config["input_shape"][:2], config["patch_size"], levels)

        images = keras.Input(shape=config["input_shape"], name="images")
        preprocessing = preprocessing_layer(config)
        patch_embedding = PatchEmbedding(
            config["embed_dims"][0], config["patch_size"], name="patch_embedding", dtype=policy
        )
        # The grid is given too, so inputs whose size is unknown while tracing
        # (a tf.data pipeline of (None, None, 3) images) take the configured size.
        block_partition = BlockPartition(
            geometry[0].block_size,
            grid_size=geometry[0].grid_size,
            name="block_partition",
            dtype=policy,
        )
        x = images if preprocessing is None else preprocessing(images)
        x = block_partition(patch_embedding(x))
        rates = drop_path_schedule(config["drop_path_rate"], config["depths"])
        nest_levels, aggregations, pyramid = [], [], {}
        for i in range(levels):
            if i > 0:
                aggregations.append(
                    BlockAggregation(
                        config["embed_dims"][i],
                        grid_size=geometry[i - 1].grid_size,
                        block_size=geometry[i - 1].block_size,
                        name=f"aggregation_{i}",
                        dtype=policy,
                    )
                )
                x = aggregations[-1](x)
            nest_levels.append(
                NestLevel(
                    config["depths"][i],
                    config["num_heads"][i],
                    num_key_value_heads=1 if attention == "multi_query" else None,
                    mlp_ratio=config["mlp_ratio"],
                    drop_path_rates=rates[i],
                    dropout=config["dropout"],
                    attention_dropout=config["attention_dropout"],
                    gelu_approximate=config["gelu_approximate"],
                    seed=None if seed is None else seed + 1000 * i,
                    name=f"level_{i}",
                    dtype=policy,
                )
            )
            x = nest_levels[-1](x)
            if config["feature_pyramid"]:
                pyramid[f"level_{i}"] = self._to_plane(x, geometry[i], f"level_{i}_map", policy)

        final_norm = layer_norm("final_norm", dtype=policy)
        x = final_norm(x)
        head = None
        if config["include_top"]:
            # The top level is one block, so this is the mean over its tokens.
            x = keras.layers.GlobalAveragePooling2D(name="avg_pool", dtype=policy)(x)
            head = classification_head(config["num_classes"], classifier_activation, head_dtype)
            x = head(x)
        else:
            x = self._to_plane(x, geometry[-1], "feature_map", policy)
            if pooling == "avg":
                x = keras.layers.GlobalAveragePooling2D(name="avg_pool", dtype=policy)(x)
            elif pooling == "max":
                x = keras.layers.GlobalMaxPooling2D(name="max_pool", dtype=policy)(x)
        outputs = dict(pyramid, output=x) if config["feature_pyramid"] else x
        super().__init__(inputs=images, outputs=outputs, **kwargs)
        self.model_config = config
        self.geometry = geometry
        self.preprocessing = preprocessing
        # Layer references (the keras-hub Backbone pattern): the same layers
        # as in the graph, for code that needs the parts by role.
        self.patch_embedding = patch_embedding
        self.block_partition = block_partition
        self.levels = nest_levels
        self.aggregations = aggregations
        self.final_norm = final_norm
        self.head = head

    def position_embedding_grids(self):
        """`{path of each level's position-embedding table: ((block height, block width), 0)}`.

        What `transfer_weights` needs to resize the tables per block (the 0:
        no leading token before the block's grid).
        """
        return {level.position_embedding.embedding.path: (tuple(g.block_size), 0)
                for level, g in zip(self.levels, self.geometry)}

    def _depth_groups(self):
        groups = [[self.patch_embedding]]
        for i, level in enumerate(self.levels):
            entry = [level.position_embedding] + ([self.aggregations[i - 1]] if i else [])
            groups += [entry + [level.blocks[0]]] + [[block] for block in level.blocks[1:]]
        return groups + [[self.final_norm, self.head]]

    @staticmethod
    def _to_plane(x, level, name, policy):
        return BlockPartition(
            level.block_size, grid_size=level.grid_size, inverse=True, name=name, dtype=policy
        )(x)

    def forward_levels(self, images, training=False, output_offsets=None, normalized_offsets=None,
                       input_offsets=None, with_attention=False):
        """Runs the network level by level and returns what the graph output hides.

        The same layers and numerics as calling the model (in the mode
        `training` selects). The optional offsets are added to the tapped
        features and carried on through the rest of the network; zeros
        there are the handle that explanations differentiate (the gradient
        with respect to an added zero is that with respect to the feature).

        Args:
            images: model inputs `(N, H, W, C)`.
            training: bool. Defaults to `False` (inference).
            output_offsets: optional list, one tensor per level shaped as
                `levels[i]` of the result, added to each level's output.
            normalized_offsets: optional list, one tensor per level shaped
                as `normalized[i]` of the result, added to those features.
            input_offsets: optional list, one tensor per level shaped as
                `inputs[i]` of the result, added to each level's input.
            with_attention: also return every transformer layer's attention
                weights (inference only).

        Returns:
            A `LevelOutputs`.

        Example:

        >>> model = keras_nest.create_model("nest_nano_16", num_classes=3)
        >>> out = model.forward_levels(keras.ops.zeros((2, 16, 16, 3)))
        >>> [tuple(t.shape) for t in out.levels]
        [(2, 16, 16, 64), (2, 4, 16, 96), (2, 1, 16, 128)]
        >>> tuple(out.normalized[0].shape), tuple(out.logits.shape)
        ((2, 16, 16, 96), (2, 3))
        """
        if with_attention and training:
            raise InvalidValueError("forward_levels returns attention weights in inference only; pass training=False.")
        x = self.block_partition(self.patch_embedding(self.normalize_inputs(images), training=training))
        inputs, outputs, normalized, attention = [], [], [], []
        for i, level in enumerate(self.levels):
            if input_offsets is not None:
                x = x + ops.cast(input_offsets[i], x.dtype)
            inputs.append(x)
            if with_attention:
                x, weights = level.call_with_attention(x)
                attention.append(tuple(weights))
            else:
                x = level(x, training=training)
            if output_offsets is not None:
                x = x + ops.cast(output_offsets[i], x.dtype)
            outputs.append(x)
            if i + 1 == len(self.levels):
                break
            aggregation, geometry = self.aggregations[i], self.geometry[i]
            plane = aggregation.normalized(x)
            if normalized_offsets is not None:
                offset = deblockify(normalized_offsets[i], geometry.grid_size, geometry.block_size)
                plane = plane + ops.cast(offset, plane.dtype)
            normalized.append(blockify(plane, geometry.block_size))
            x = aggregation.pool_blocks(plane)
        tokens = self.final_norm(x)
        if normalized_offsets is not None:
            tokens = tokens + ops.cast(normalized_offsets[-1], tokens.dtype)
        normalized.append(tokens)
        logits = None
        if self.head is not None:
            logits = head_logits(self.head, ops.mean(tokens, axis=(1, 2)))
        return LevelOutputs(tuple(outputs), tuple(normalized), tokens, logits, tuple(inputs), tuple(attention))

    @property
    def nest_config(self):
        return self.model_config

    @property
    def num_levels(self):
        return len(self.nest_config["depths"])

    @property
    def image_size(self):
        return self.nest_config["input_shape"][:2]


@dataclasses.dataclass(frozen=True)
class LevelOutputs:
    """What `NestModel.forward_levels` returns; every tensor is blocked `(N, T, n, C)`.

    Attributes:
        levels: per level (level 0 first), the output of its transformer
            stack (with any `output_offsets` added).
        normalized: per level, the features as the next stage reads them
            after its LayerNorm: for level `i` below the top, the next block
            aggregation's Conv2D + LayerNorm plane (before max-pooling) cut
            into level `i`'s blocks, `(N, T_i, n, C_{i+1})`; for the top
            level, `tokens`.
        tokens: the final-normed top-level tokens `(N, 1, n, C)`.
        logits: float32 `(N, num_classes)` before any classifier
            activation, or `None` for a model without its head.
        inputs: per level, what its position embedding and transformer
            stack read: level 0 the blocked patch embedding, level `i > 0`
            the max-pooled output of the block aggregation below,
            `(N, T_i, n, C_i)` (with any `input_offsets` added).
        attention: with `with_attention=True`, per level a tuple with each
            transformer layer's softmax weights `(N, T_i, heads, n, n)`
            (rows are queries, first layer first); else empty.
    """

    levels: tuple
    normalized: tuple
    tokens: object
    logits: Optional[object] = None
    inputs: tuple = ()
    attention: tuple = ()
