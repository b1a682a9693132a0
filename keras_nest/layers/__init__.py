"""NesT building blocks as Keras layers (written with `keras.ops`)."""

from keras_nest.layers.block_aggregation import BlockAggregation
from keras_nest.layers.block_deaggregation import BlockDeaggregation
from keras_nest.layers.block_partition import (
    BlockPartition,
    block_box,
    block_children,
    block_parent,
    blockify,
    deblockify,
)
from keras_nest.layers.class_token import ClassToken
from keras_nest.layers.drop_path import DropPath
from keras_nest.layers.local_attention import LocalSelfAttention
from keras_nest.layers.nest_level import NestLevel
from keras_nest.layers.patch_embedding import PatchEmbedding
from keras_nest.layers.pixel_shuffle_upsample import PixelShuffleUpsample
from keras_nest.layers.position_embedding import PositionEmbedding, resize_position_embedding
from keras_nest.layers.transformer_block import TransformerBlock

__all__ = [
    "BlockAggregation",
    "BlockDeaggregation",
    "BlockPartition",
    "ClassToken",
    "DropPath",
    "LocalSelfAttention",
    "NestLevel",
    "PatchEmbedding",
    "PixelShuffleUpsample",
    "PositionEmbedding",
    "TransformerBlock",
    "block_box",
    "block_children",
    "block_parent",
    "blockify",
    "deblockify",
    "resize_position_embedding",
]
