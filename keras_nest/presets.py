"""Every named configuration of keras_nest, as plain data: one schema, one lookup.

Each entry is a frozen `Preset`:

- `name`: str, the name given to `create_model`, `create_generator` (or, for
  a discriminator, `discriminator_<size>`; `create_discriminator` finds it by
  image size).
- `kind`: "classifier", "generator" or "discriminator".
- `family`: "nest", "vit" or "sagan" (`list_models(family)` and
  `list_generators(family)` filter on it).
- `class_name`: the model class the factory builds, e.g. "NestModel"
  (resolved to the class in `keras_nest.models.factory`).
- `config`: read-only mapping of the class's constructor arguments.
- `params`: int, `count_params()` of the built model (kept equal to the
  built models by `tests/test_presets.py`).
- `gmacs`: float for classifiers (`keras_nest.count_macs(model) / 1e9`,
  rounded to 3 decimals), None otherwise.
- `description`: one line.
- `matches`: for a baseline, the preset it is size-matched to (a ViT within
  +-10% parameters of its NesT, a SAGAN generator within +-15% of its NesT
  generator; both tested); None otherwise.
- `weights`: read-only mapping of published weights by name (`"imagenet"`)
  to a `PretrainedWeights` record: where the file is, its SHA-256, and the
  constructor arguments it was made for; empty for presets without any.
- `image_size` (derived from `config`): `(height, width)` of the images the
  model reads or makes.

This module imports nothing from Keras, TensorFlow or `keras_nest.models`,
so `import keras_nest.presets` is quick and `preset_rows` lists the sizes
without building a model.

The ImageNet and CIFAR NesT entries follow `models/nest_net.py` of the
official code (the paper's Table A1 lists the ImageNet heads and depths in
the wrong order; the code is right). `nano`/`micro` are ours: small enough to
train on two CPU cores in minutes, for the built-in data and for tests.
Discriminators are SAGAN-style ResNets (StudioGAN layouts, narrowed for CPUs
at 64 px), picked by image size and shared by both generator families.

>>> get_preset("vit_nano_16").matches
'nest_nano_16'
>>> [p.name for p in list_presets(kind="generator", family="sagan")]
['sagan_32', 'sagan_64', 'sagan_small_32', 'sagan_tiny']
>>> preset_rows()[0]
{'name': 'nest_base_cifar', 'params': 89050378, 'input_size': '32x32', 'gmacs': 31.703}
"""

import dataclasses
import types
from typing import Mapping, Optional

from keras_nest.errors import InvalidTypeError, InvalidValueError

KINDS = ("classifier", "generator", "discriminator")
# What error messages call each kind ("Unknown model 'x'. Available models: ...").
_NOUNS = {"classifier": "model", "generator": "generator", "discriminator": "discriminator", None: "preset"}


@dataclasses.dataclass(frozen=True)
class PretrainedWeights:
    """Published weights of a preset: `create_model(name, weights=key)` fetches them.

    - `repo_id`, `filename`, `revision`: the file on the Hugging Face hub.
    - `sha256`: hex digest the downloaded file must have; `None` where it has
      not been recorded yet (the file is then checked against the digest the
      hub declares for it, see `keras_nest.models.pretrained`).
    - `layout`: how the tensors are named and laid out; `"timm"` (PyTorch
      layouts, converted by `keras_nest.models.timm_checkpoint`).
    - `config`: constructor arguments the weights were made for (GELU form,
      preprocessing); `create_model` applies them unless overridden.
    - `labels`: the class names' set (`"imagenet"`: `keras_nest.imagenet_classes`).
    - `source`: one line: who trained them, and the reported accuracy.
    """

    repo_id: str
    filename: str
    sha256: Optional[str]
    layout: str
    config: Mapping = dataclasses.field(hash=False)
    labels: Optional[str]
    source: str
    revision: str = "main"

    def __post_init__(self):
        object.__setattr__(self, "config", types.MappingProxyType(dict(self.config)))


@dataclasses.dataclass(frozen=True)
class Preset:
    """One named configuration; see the module docstring for the fields."""

    name: str
    kind: str
    family: str
    class_name: str
    config: Mapping = dataclasses.field(hash=False)
    params: int
    gmacs: Optional[float]
    description: str
    matches: Optional[str] = None
    weights: Mapping = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InvalidValueError(f"kind must be one of {KINDS}, got {self.kind!r}.")
        # Read-only copies: a caller cannot change the registry through them.
        object.__setattr__(self, "config", types.MappingProxyType(dict(self.config)))
        object.__setattr__(self, "weights", types.MappingProxyType(dict(self.weights)))

    @property
    def image_size(self):
        """`(height, width)` of the images the model reads (classifiers, discriminators) or makes."""
        if "input_shape" in self.config:
            return tuple(self.config["input_shape"][:2])
        return (self.config["image_size"],) * 2


# NesT classifiers ------------------------------------------------------------

_IMAGENET_TINY = dict(
    input_shape=(224, 224, 3),
    patch_size=4,
    embed_dims=(96, 192, 384),
    num_heads=(3, 6, 12),
    depths=(2, 2, 8),
    attention="multi_head",
    drop_path_rate=0.2,
    num_classes=1000,
)

_CIFAR_TINY = dict(
    input_shape=(32, 32, 3),
    patch_size=1,
    embed_dims=(192, 192, 192, 192),
    num_heads=(3, 3, 3, 3),
    depths=(3, 3, 3, 3),
    attention="multi_query",
    drop_path_rate=0.1,
    num_classes=10,
)


# keras.applications' and timm's ImageNet statistics, in [0, 1] pixel units.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# timm's ports of the official JAX checkpoints, and how timm evaluates them (ImageNet mean/std,
# resize to 224 / 0.875 with bicubic, centre crop; erf GELU, which its reported accuracy used).
_TIMM_IMAGENET_CONFIG = dict(gelu_approximate=False, include_preprocessing=True, pixel_mean=IMAGENET_MEAN,
                             pixel_std=IMAGENET_STD, crop_pct=0.875)


# SHA-256 of each `model.safetensors`, from the hub's file metadata (`python tools/pin_pretrained_weights.py`
# prints them); None until recorded on a machine that reaches the hub: the file is then checked against the
# digest the hub declares for it at download time.
_TIMM_SHA256 = {"tiny": None, "small": None, "base": None}


def _timm_imagenet(size, top1):
    return {"imagenet": PretrainedWeights(
        repo_id=f"timm/nest_{size}_jx.goog_in1k", filename="model.safetensors", sha256=_TIMM_SHA256[size],
        layout="timm",
        config=_TIMM_IMAGENET_CONFIG, labels="imagenet",
        source=f"Official NesT-{size[0].upper()} ImageNet-1k weights (JAX), ported by timm; top-1 {top1}% "
               "in timm's evaluation at 224 px.",
    )}


def _nest(name, description, config, params, gmacs, weights=None):
    return Preset(name, "classifier", "nest", "NestModel", config, params, gmacs, description,
                  weights=weights or {})


def _vit(name, description, matches, config, params, gmacs):
    return Preset(name, "classifier", "vit", "VitModel", config, params, gmacs, description, matches)


def _generator(name, family, description, config, params, matches=None):
    class_name = {"nest": "NestGenerator", "sagan": "SaganGenerator"}[family]
    return Preset(name, "generator", family, class_name, config, params, None, description, matches)


def _discriminator(config, params):
    size = config["image_size"]
    return Preset(
        f"discriminator_{size}", "discriminator", "sagan", "ResnetDiscriminator", config, params, None,
        f"SAGAN-style ResNet discriminator for {size}x{size} images (both generator families).",
    )


_PRESETS = (
    _nest(
        "nest_tiny_imagenet", "NesT-T, ImageNet layout (224 px, 3 levels, 14x14-token blocks).",
        _IMAGENET_TINY, 17_057_608, 5.807, _timm_imagenet("tiny", 81.43),
    ),
    _nest(
        "nest_small_imagenet", "NesT-S, ImageNet layout.",
        dict(_IMAGENET_TINY, depths=(2, 2, 20), drop_path_rate=0.3), 38_351_176, 10.323,
        _timm_imagenet("small", 83.13),
    ),
    _nest(
        "nest_base_imagenet", "NesT-B, ImageNet layout.",
        dict(
            _IMAGENET_TINY,
            embed_dims=(128, 256, 512),
            num_heads=(4, 8, 16),
            depths=(2, 2, 20),
            drop_path_rate=0.5,
        ),
        67_723_368, 17.926, _timm_imagenet("base", 83.55),
    ),
    _nest(
        "nest_tiny_cifar", "NesT-T, CIFAR layout (32 px, pixel tokens, 4 levels, multi-query).",
        _CIFAR_TINY, 6_006_730, 2.076,
    ),
    _nest(
        "nest_small_cifar", "NesT-S, CIFAR layout.",
        dict(_CIFAR_TINY, embed_dims=(384,) * 4, num_heads=(6,) * 4), 22_849_930, 8.052,
    ),
    _nest(
        "nest_base_cifar", "NesT-B, CIFAR layout.",
        dict(_CIFAR_TINY, embed_dims=(768,) * 4, num_heads=(12,) * 4), 89_050_378, 31.703,
    ),
    _nest(
        "nest_nano_16", "Small NesT for 16x16 images (tests, 2-core demos).",
        dict(
            input_shape=(16, 16, 3),
            patch_size=1,
            embed_dims=(64, 96, 128),
            num_heads=(2, 3, 4),
            depths=(1, 1, 2),
            attention="multi_head",
            drop_path_rate=0.05,
            num_classes=10,
        ),
        751_306, 0.048,
    ),
    _nest(
        "nest_micro_32", "Small NesT for 32x32 images (2-core demos, benchmarks).",
        dict(
            input_shape=(32, 32, 3),
            patch_size=2,
            embed_dims=(64, 128, 160),
            num_heads=(2, 4, 5),
            depths=(2, 2, 2),
            attention="multi_head",
            drop_path_rate=0.1,
            num_classes=10,
        ),
        1_403_882, 0.093,
    ),
    _nest(
        "nest_micro_64",
        "Small NesT for 64x64 images whose top level keeps an 8x8 token map "
        "(class attention maps, localization).",
        dict(
            input_shape=(64, 64, 3),
            patch_size=2,
            embed_dims=(32, 64, 128),
            num_heads=(1, 2, 4),
            depths=(1, 2, 2),
            attention="multi_head",
            drop_path_rate=0.1,
            num_classes=10,
        ),
        661_258, 0.112,
    ),
    # ViT baselines (`VitModel`): each within +-10% parameters of the NesT it matches.
    _vit(
        "vit_tiny_imagenet", "ViT size-matched to nest_tiny_imagenet (patch 16, 224 px).", "nest_tiny_imagenet",
        dict(
            input_shape=(224, 224, 3), patch_size=16, embed_dim=384, depth=9, num_heads=6,
            drop_path_rate=0.2, num_classes=1000,
        ),
        16_726_504, 3.445,
    ),
    _vit(
        "vit_tiny_cifar", "ViT size-matched to nest_tiny_cifar (patch 2, 32 px, DeiT-T width).", "nest_tiny_cifar",
        dict(
            input_shape=(32, 32, 3), patch_size=2, embed_dim=192, depth=13, num_heads=3,
            drop_path_rate=0.1, num_classes=10,
        ),
        5_837_194, 1.8,
    ),
    _vit(
        "vit_nano_16", "ViT size-matched to nest_nano_16 (patch 2, 16 px).", "nest_nano_16",
        dict(
            input_shape=(16, 16, 3), patch_size=2, embed_dim=96, depth=7, num_heads=3,
            drop_path_rate=0.05, num_classes=10,
        ),
        791_434, 0.055,
    ),
    _vit(
        "vit_micro_32", "ViT size-matched to nest_micro_32 (patch 2, 32 px).", "nest_micro_32",
        dict(
            input_shape=(32, 32, 3), patch_size=2, embed_dim=128, depth=7, num_heads=4,
            drop_path_rate=0.1, num_classes=10,
        ),
        1_423_882, 0.47,
    ),
    _vit(
        "vit_micro_64", "ViT size-matched to nest_micro_64 (patch 8, 64 px: an 8x8 token map too).", "nest_micro_64",
        dict(
            input_shape=(64, 64, 3), patch_size=8, embed_dim=128, depth=3, num_heads=4,
            drop_path_rate=0.1, num_classes=10,
        ),
        629_258, 0.042,
    ),
    # Generators: each SAGAN generator within +-15% parameters of the NesT generator it matches.
    _generator(
        "nest_gan_tiny", "nest", "2-level NesT generator for 16x16 images (tests).",
        dict(image_size=16, latent_dim=32, block_size=4, embed_dims=(64, 32), depths=(1, 1),
             num_heads=(2, 1), patch_size=2),
        108_332,
    ),
    _generator(
        "nest_gan_32", "nest", "NesT generator for 32x32: 8x8 -> 16x16 -> 32x32 tokens, one pixel each.",
        dict(image_size=32, latent_dim=128, block_size=8, embed_dims=(256, 128, 64),
             depths=(2, 2, 1), num_heads=(4, 4, 2)),
        4_419_203,
    ),
    _generator(
        "nest_gan_small_32", "nest", "Narrow NesT generator for 32x32 (CPU studies): 4x4 -> 8x8 -> 16x16 tokens, "
        "2x2 px each.",
        dict(image_size=32, latent_dim=64, block_size=4, embed_dims=(128, 64, 32), depths=(1, 1, 1),
             num_heads=(4, 2, 1), patch_size=2),
        450_220,
    ),
    _generator(
        "nest_gan_64", "nest", "NesT generator for 64x64: 8x8 -> ... -> 64x64 tokens, one pixel each.",
        dict(image_size=64, latent_dim=128, block_size=8, embed_dims=(256, 128, 64, 32),
             depths=(2, 2, 1, 1), num_heads=(4, 4, 2, 1)),
        4_571_139,
    ),
    _generator(
        "sagan_tiny", "sagan", "SAGAN generator for 16x16, size-matched to nest_gan_tiny (tests).",
        dict(image_size=16, latent_dim=32, base_width=48, widths=(48, 40), attention_resolution=8),
        109_047, matches="nest_gan_tiny",
    ),
    _generator(
        "sagan_small_32", "sagan", "Narrow SAGAN generator for 32x32, size-matched to nest_gan_small_32.",
        dict(image_size=32, latent_dim=64, base_width=96, widths=(96, 64, 48), attention_resolution=16),
        436_183, matches="nest_gan_small_32",
    ),
    _generator(
        "sagan_32", "sagan", "SAGAN generator for 32x32, size-matched to nest_gan_32 (attention at 16x16).",
        dict(image_size=32, latent_dim=128, base_width=256, widths=(256, 256, 256), attention_resolution=16),
        4_369_543, matches="nest_gan_32",
    ),
    _generator(
        "sagan_64", "sagan", "SAGAN generator for 64x64, size-matched to nest_gan_64 (attention at 32x32).",
        dict(image_size=64, latent_dim=128, base_width=512, widths=(320, 160, 80, 40), attention_resolution=32),
        4_619_175, matches="nest_gan_64",
    ),
    # Discriminators (`params` for 3 channels, the default).
    _discriminator(
        dict(image_size=16, widths=(64, 64, 64), downsample=(True, True, False), attention_resolution=8),
        196_771,
    ),
    _discriminator(
        dict(image_size=32, widths=(128, 128, 128, 128), downsample=(True, True, False, False),
             attention_resolution=16),
        1_076_035,
    ),
    _discriminator(
        dict(image_size=64, widths=(32, 64, 128, 256, 256), downsample=(True, True, True, True, False),
             attention_resolution=32),
        2_399_603,
    ),
)

_BY_NAME = {p.name: p for p in _PRESETS}
PRESETS = types.MappingProxyType(_BY_NAME)
"""All presets by name (read-only)."""


def _check_kind(kind):
    if kind is not None and kind not in KINDS:
        raise InvalidValueError(f"kind must be None or one of {', '.join(KINDS)}; got {kind!r}.")


def list_presets(kind=None, family=None):
    """The presets of `kind` and `family` (None: any), sorted by name.

    >>> [p.name for p in list_presets("discriminator")]
    ['discriminator_16', 'discriminator_32', 'discriminator_64']
    >>> [p.name for p in list_presets(family="vit")][:2]
    ['vit_micro_32', 'vit_micro_64']
    """
    _check_kind(kind)
    return [
        PRESETS[n] for n in sorted(PRESETS)
        if (kind is None or PRESETS[n].kind == kind) and (family is None or PRESETS[n].family == family)
    ]


def get_preset(name, kind=None):
    """The preset called `name` (of `kind`, when given).

    Raises:
        TypeError: `name` is not a string.
        ValueError: no preset of `kind` is called `name`; the message lists
            the names of that kind, e.g. "Unknown model 'x'. Available
            models: ..." for `kind="classifier"`.

    >>> get_preset("nest_gan_tiny", "generator").class_name
    'NestGenerator'
    >>> get_preset("nest_gan_tiny", "classifier")
    Traceback (most recent call last):
    ...
    keras_nest.errors.InvalidValueError: Unknown model 'nest_gan_tiny'. Available models: nest_base_cifar, ...
    """
    _check_kind(kind)
    noun = _NOUNS[kind]
    names = [p.name for p in list_presets(kind)]
    if not isinstance(name, str):
        raise InvalidTypeError(
            f"{noun} name must be a string, one of {', '.join(names)}; got {name!r} ({type(name).__name__})."
        )
    if name not in names:
        raise InvalidValueError(f"Unknown {noun} {name!r}. Available {noun}s: {', '.join(names)}.")
    return PRESETS[name]


def preset_rows(kind="classifier"):
    """The rows `keras-nest models` prints, from the stored values (nothing is built).

    Classifiers: `{"name", "params", "input_size", "gmacs"}`; generators and
    discriminators: `{"name", "params", "image_size"}`. Sizes read "HxW".
    Sorted by name.

    >>> preset_rows("generator")[0]
    {'name': 'nest_gan_32', 'params': 4419203, 'image_size': '32x32'}
    """
    _check_kind(kind)
    if kind is None:
        raise InvalidValueError("kind must be one of " + ", ".join(KINDS) + "; got None.")
    rows = []
    for preset in list_presets(kind):
        size = "x".join(str(s) for s in preset.image_size)
        if kind == "classifier":
            rows.append({"name": preset.name, "params": preset.params, "input_size": size, "gmacs": preset.gmacs})
        else:
            rows.append({"name": preset.name, "params": preset.params, "image_size": size})
    return rows


__all__ = ["KINDS", "PRESETS", "Preset", "PretrainedWeights", "get_preset", "list_presets", "preset_rows"]
