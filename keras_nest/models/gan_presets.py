"""Named generator and discriminator configs.

Each SAGAN generator matches the NesT generator of the same resolution
within +-15% parameters (tested), so the study compares equal capacity.
Discriminators are picked by image size and shared by both generators.
"""

from keras_nest.models.nest_generator import NestGenerator
from keras_nest.models.sagan import ResnetDiscriminator, SaganGenerator

GENERATOR_PRESETS = {
    "nest_gan_tiny": {
        "description": "2-level NesT generator for 16x16 images (tests).",
        "class": NestGenerator,
        "config": dict(image_size=16, latent_dim=32, block_size=4, embed_dims=(64, 32), depths=(1, 1),
                       num_heads=(2, 1), patch_size=2),
    },
    "nest_gan_32": {
        "description": "NesT generator for 32x32: 8x8 -> 16x16 -> 32x32 tokens, one pixel each.",
        "class": NestGenerator,
        "config": dict(image_size=32, latent_dim=128, block_size=8, embed_dims=(256, 128, 64),
                       depths=(2, 2, 1), num_heads=(4, 4, 2)),
    },
    "nest_gan_64": {
        "description": "NesT generator for 64x64: 8x8 -> ... -> 64x64 tokens, one pixel each.",
        "class": NestGenerator,
        "config": dict(image_size=64, latent_dim=128, block_size=8, embed_dims=(256, 128, 64, 32),
                       depths=(2, 2, 1, 1), num_heads=(4, 4, 2, 1)),
    },
    "sagan_tiny": {
        "description": "SAGAN generator for 16x16, size-matched to nest_gan_tiny (tests).",
        "matches": "nest_gan_tiny",
        "class": SaganGenerator,
        "config": dict(image_size=16, latent_dim=32, base_width=48, widths=(48, 40), attention_resolution=8),
    },
    "sagan_32": {
        "description": "SAGAN generator for 32x32, size-matched to nest_gan_32 (attention at 16x16).",
        "matches": "nest_gan_32",
        "class": SaganGenerator,
        "config": dict(image_size=32, latent_dim=128, base_width=256, widths=(256, 256, 256),
                       attention_resolution=16),
    },
    "sagan_64": {
        "description": "SAGAN generator for 64x64, size-matched to nest_gan_64 (attention at 32x32).",
        "matches": "nest_gan_64",
        "class": SaganGenerator,
        "config": dict(image_size=64, latent_dim=128, base_width=512, widths=(320, 160, 80, 40),
                       attention_resolution=32),
    },
}

# SAGAN-style ResNet discriminators (StudioGAN layouts, narrowed for CPUs at 64 px).
DISCRIMINATOR_CONFIGS = {
    16: dict(image_size=16, widths=(64, 64, 64), downsample=(True, True, False), attention_resolution=8),
    32: dict(image_size=32, widths=(128, 128, 128, 128), downsample=(True, True, False, False),
             attention_resolution=16),
    64: dict(image_size=64, widths=(32, 64, 128, 256, 256), downsample=(True, True, True, True, False),
             attention_resolution=32),
}


def discriminator_config(image_size, channels=3):
    """The `ResnetDiscriminator` arguments for `image_size` (16, 32 or 64) images.

    Raises:
        ValueError: no discriminator is configured for `image_size`.
    """
    if isinstance(image_size, bool) or image_size not in DISCRIMINATOR_CONFIGS:
        raise ValueError(f"No discriminator for {image_size}x{image_size} images (image_size={image_size!r}); "
                         f"available sizes: {sorted(DISCRIMINATOR_CONFIGS)}.")
    return dict(DISCRIMINATOR_CONFIGS[image_size], channels=channels)


__all__ = ["GENERATOR_PRESETS", "DISCRIMINATOR_CONFIGS", "ResnetDiscriminator", "discriminator_config"]
