"""Plain ViT baseline, size-matched to the NesT configs for fair comparisons.

It reuses NesT's own layers: a ViT is a NesT with one level whose single
block covers the whole patch grid, so attention is global. Same patch
embedding, transformer block, LayerNorm epsilon and initialisers, so any
difference measured against NesT comes from the hierarchy.
"""

import keras

from keras_nest.errors import InvalidValueError
from keras_nest.layers import BlockPartition, ClassToken, NestLevel, PatchEmbedding
from keras_nest.layers._checks import (
    check_activation,
    check_bool,
    check_int,
    check_mlp_ratio,
    check_rate,
    check_seed,
)
from keras_nest.layers.transformer_block import layer_norm
from keras_nest.models.base import (
    ClassifierModel,
    check_class_names,
    checked_preprocessing,
    classification_head,
    preprocessing_layer,
    resolve_dtypes,
)
from keras_nest.models.nest import (
    check_input_shape,
    check_num_classes,
    drop_path_schedule,
)
from keras_nest.validation import check_choice

VIT_POOLING = ("gap", "token")


@keras.saving.register_keras_serializable(package="keras_nest")
class VitModel(ClassifierModel):
    """Vision Transformer (global attention over all patches).

    Args:
        input_shape: `(H, W, C)`, sides multiples of `patch_size`.
        patch_size: int. Pixel patch side.
        embed_dim: int. Token width.
        depth: int. Transformer blocks.
        num_heads: int. Attention heads.
        mlp_ratio: float. Defaults to 4.
        drop_path_rate: float. Linear stochastic-depth schedule, as in NesT.
        gelu_approximate: bool. Tanh GELU. Defaults to `True` (as NesT).
        global_pool: `"gap"` (mean over patch tokens, NesT's choice) or
            `"token"` (a learned class token, as in ViT/DeiT).
        num_classes, include_top, classifier_activation, head_dtype, seed,
        dtype, include_preprocessing, pixel_mean, pixel_std, class_names,
        crop_pct: as in `NestModel`.

    Its parts are also attributes, as in `NestModel`: `patch_embedding`,
    `tokens` (the `BlockPartition` into one block), `class_token`
    (`ClassToken`, or `None` with `global_pool="gap"`), `encoder` (the
    `NestLevel`), `final_norm` and `head` (the Dense `predictions` layer,
    or `None` with `include_top=False`).

    Raises:
        TypeError: an argument of the wrong kind, named in the message
            (e.g. a float side in `input_shape`, `include_top="False"`).
        ValueError: a value out of range or inconsistent, named in the
            message: `input_shape` not `(H, W, C)` with entries >= 1, sides
            not multiples of `patch_size`, `patch_size`, `embed_dim`,
            `depth` or `num_heads` below 1, `embed_dim` not divisible by
            `num_heads`, `mlp_ratio <= 0`, `drop_path_rate` outside
            `[0, 1)`, `num_classes` below 1 (or `None` with
            `include_top=True`), an unknown `global_pool`,
            `classifier_activation`, `dtype` or `head_dtype`.

    Example:

    >>> model = keras_nest.create_model("vit_nano_16")
    >>> tuple(model(keras.ops.ones((2, 16, 16, 3))).shape)
    (2, 10)
    """

    def __init__(
        self,
        input_shape,
        patch_size,
        embed_dim,
        depth,
        num_heads,
        mlp_ratio=4.0,
        drop_path_rate=0.0,
        gelu_approximate=True,
        global_pool="gap",
        num_classes=1000,
        include_top=True,
        classifier_activation=None,
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
        height, width, _ = input_shape = check_input_shape(input_shape, family="ViT")
        patch_size = check_int("patch_size", patch_size, minimum=1)
        if height % patch_size or width % patch_size:
            raise InvalidValueError(
                f"Image size {height}x{width} is not a multiple of the patch size {patch_size}; "
                "use an input_shape whose height and width are multiples of patch_size."
            )
        global_pool = check_choice("global_pool", global_pool, VIT_POOLING)
        embed_dim = check_int("embed_dim", embed_dim, minimum=1)
        num_heads = check_int("num_heads", num_heads, minimum=1)
        if embed_dim % num_heads:
            raise InvalidValueError(
                f"embed_dim {embed_dim} is not divisible by {num_heads} heads (num_heads). Pick "
                f"heads among {[h for h in range(1, embed_dim + 1) if embed_dim % h == 0][:12]}."
            )
        include_top = check_bool("include_top", include_top)
        config = dict(
            input_shape=input_shape,
            patch_size=patch_size,
            embed_dim=embed_dim,
            depth=check_int("depth", depth, minimum=1),
            num_heads=num_heads,
            mlp_ratio=check_mlp_ratio(mlp_ratio, [embed_dim]),
            drop_path_rate=check_rate("drop_path_rate", drop_path_rate),
            gelu_approximate=check_bool("gelu_approximate", gelu_approximate),
            global_pool=global_pool,
            num_classes=check_num_classes(num_classes, include_top),
            include_top=include_top,
            classifier_activation=check_activation("classifier_activation", classifier_activation),
            head_dtype=head_dtype,
            seed=check_seed("seed", seed),
        )
        config.update(checked_preprocessing(include_preprocessing, pixel_mean, pixel_std, config["input_shape"][2],
                                            crop_pct))
        config["class_names"] = check_class_names(class_names, config["num_classes"])
        depth, mlp_ratio, drop_path_rate = config["depth"], config["mlp_ratio"], config["drop_path_rate"]
        gelu_approximate, seed = config["gelu_approximate"], config["seed"]
        config["dtype"], policy, head_dtype = resolve_dtypes(dtype, head_dtype)
        grid = (height // patch_size, width // patch_size)

        images = keras.Input(shape=config["input_shape"], name="images")
        preprocessing = preprocessing_layer(config)
        patch_embedding = PatchEmbedding(embed_dim, patch_size, name="patch_embedding", dtype=policy)
        # One block spanning the whole grid: (B, 1, N, C), so attention is global.
        tokens = BlockPartition(grid, grid_size=(1, 1), name="tokens", dtype=policy)
        x = tokens(patch_embedding(images if preprocessing is None else preprocessing(images)))
        class_token = None
        if global_pool == "token":
            class_token = ClassToken(name="class_token", dtype=policy)
            x = class_token(x)
        encoder = NestLevel(
            depth,
            num_heads,
            mlp_ratio=mlp_ratio,
            drop_path_rates=drop_path_schedule(drop_path_rate, [depth])[0],
            gelu_approximate=gelu_approximate,
            seed=seed,
            name="encoder",
            dtype=policy,
        )
        final_norm = layer_norm("final_norm", dtype=policy)
        x = final_norm(encoder(x))
        if global_pool == "token":
            x = TakeToken(name="take_class_token", dtype=policy)(x)
        else:
            x = keras.layers.GlobalAveragePooling2D(name="avg_pool", dtype=policy)(x)
        head = None
        if include_top:
            head = classification_head(config["num_classes"], classifier_activation, head_dtype)
            x = head(x)
        super().__init__(inputs=images, outputs=x, **kwargs)
        self.model_config = config
        # Layer references, as in `NestModel`.
        self.preprocessing = preprocessing
        self.patch_embedding = patch_embedding
        self.tokens = tokens
        self.class_token = class_token
        self.encoder = encoder
        self.final_norm = final_norm
        self.head = head


    def position_embedding_grids(self):
        """`{path of the position-embedding table: (patch grid, leading tokens)}` (1 with a class token)."""
        grid = tuple(self.tokens.block_size)
        return {self.encoder.position_embedding.embedding.path: (grid, int(self.class_token is not None))}

    def _depth_groups(self):
        first = [self.patch_embedding, self.class_token, self.encoder.position_embedding]
        return [first] + [[block] for block in self.encoder.blocks] + [[self.final_norm, self.head]]

@keras.saving.register_keras_serializable(package="keras_nest")
class TakeToken(keras.layers.Layer):
    """Selects the first token of the single block: `(B, 1, n, C) -> (B, C)`."""

    def call(self, x):
        return x[:, 0, 0]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
