"""Named NesT configurations.

The ImageNet and CIFAR entries follow `models/nest_net.py` of the official
code (the paper's Table A1 lists the ImageNet heads and depths in the wrong
order; the code is right). `nano`/`micro` are ours: small enough to train on
two CPU cores in minutes, for the built-in data and for tests.
"""

IMAGENET_TINY = dict(
    input_shape=(224, 224, 3),
    patch_size=4,
    embed_dims=(96, 192, 384),
    num_heads=(3, 6, 12),
    depths=(2, 2, 8),
    attention="multi_head",
    drop_path_rate=0.2,
    num_classes=1000,
)

CIFAR_TINY = dict(
    input_shape=(32, 32, 3),
    patch_size=1,
    embed_dims=(192, 192, 192, 192),
    num_heads=(3, 3, 3, 3),
    depths=(3, 3, 3, 3),
    attention="multi_query",
    drop_path_rate=0.1,
    num_classes=10,
)

NEST_PRESETS = {
    "nest_tiny_imagenet": {
        "description": "NesT-T, ImageNet layout (224 px, 3 levels, 14x14-token blocks).",
        "config": IMAGENET_TINY,
    },
    "nest_small_imagenet": {
        "description": "NesT-S, ImageNet layout.",
        "config": dict(IMAGENET_TINY, depths=(2, 2, 20), drop_path_rate=0.3),
    },
    "nest_base_imagenet": {
        "description": "NesT-B, ImageNet layout.",
        "config": dict(
            IMAGENET_TINY,
            embed_dims=(128, 256, 512),
            num_heads=(4, 8, 16),
            depths=(2, 2, 20),
            drop_path_rate=0.5,
        ),
    },
    "nest_tiny_cifar": {
        "description": "NesT-T, CIFAR layout (32 px, pixel tokens, 4 levels, multi-query).",
        "config": CIFAR_TINY,
    },
    "nest_small_cifar": {
        "description": "NesT-S, CIFAR layout.",
        "config": dict(CIFAR_TINY, embed_dims=(384,) * 4, num_heads=(6,) * 4),
    },
    "nest_base_cifar": {
        "description": "NesT-B, CIFAR layout.",
        "config": dict(CIFAR_TINY, embed_dims=(768,) * 4, num_heads=(12,) * 4),
    },
    "nest_nano_16": {
        "description": "Small NesT for 16x16 images (tests, 2-core demos).",
        "config": dict(
            input_shape=(16, 16, 3),
            patch_size=1,
            embed_dims=(64, 96, 128),
            num_heads=(2, 3, 4),
            depths=(1, 1, 2),
            attention="multi_head",
            drop_path_rate=0.05,
            num_classes=10,
        ),
    },
    "nest_micro_32": {
        "description": "Small NesT for 32x32 images (2-core demos, benchmarks).",
        "config": dict(
            input_shape=(32, 32, 3),
            patch_size=2,
            embed_dims=(64, 128, 160),
            num_heads=(2, 4, 5),
            depths=(2, 2, 2),
            attention="multi_head",
            drop_path_rate=0.1,
            num_classes=10,
        ),
    },
    "nest_micro_64": {
        "description": "Small NesT for 64x64 images whose top level keeps an 8x8 token map "
        "(class attention maps, localization).",
        "config": dict(
            input_shape=(64, 64, 3),
            patch_size=2,
            embed_dims=(32, 64, 128),
            num_heads=(1, 2, 4),
            depths=(1, 2, 2),
            attention="multi_head",
            drop_path_rate=0.1,
            num_classes=10,
        ),
    },
}
