"""NesT training recipes built from core Keras.

The `imagenet` and `cifar` presets are the official configs
(`configs/imagenet_nest.py`, `configs/cifar_nest.py`): AdamW with decoupled
weight decay 0.05 on every variable but the position embeddings, lr =
base x batch / 256 with linear warmup then cosine decay to 0, label smoothing
0.1, RandAugment (2 ops, magnitude 9), MixUp 0.8 or CutMix 1.0 (one of the
two, drawn per batch), random erasing 0.25; images streamed from files are
cropped as the official ImageNet pipeline does (random-resized-crop of
5-100% of the area for training, resize to size / 0.875 and centre crop for
evaluation; `keras_nest.data.transforms`; `cifar` and `small` resize whole
images, in-memory sets are already at size). `small` is ours, tuned for the
built-in 8x8 digits and 32/64-px shapes on two CPU cores: a higher base rate,
a short warmup and lighter augmentation, since tiny data sets trained for a
few epochs underfit under the full regularisation. `finetune` is for runs
that start from pretrained weights (`train(weights=...)`): a quarter of
`small`'s rate, one warmup epoch, no label-mixing augmentation, and the
options `layer_decay` and `frozen_epochs` (`keras_nest.training.layer_decay`).
"""

import dataclasses

from keras_nest.errors import InvalidValueError
from keras_nest.validation import check_bool, check_float, check_int


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Every knob of a training run; `get_recipe(name, **overrides)`."""

    name: str = "custom"
    epochs: int = 300
    batch_size: int = 128
    base_learning_rate: float = 2.5e-4  # per 256 images; scaled linearly with the batch
    warmup_epochs: float = 20.0
    min_learning_rate: float = 0.0
    weight_decay: float = 0.05
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    label_smoothing: float = 0.1
    randaugment_ops: int = 2  # 0 turns RandAugment off
    randaugment_magnitude: float = 9.0  # out of 10
    mixup_alpha: float = 0.8  # 0 turns MixUp off
    cutmix_alpha: float = 1.0  # 0 turns CutMix off
    random_erasing: float = 0.25  # probability; 0 turns it off
    horizontal_flip: bool = True
    # Images streamed from files (folder:, tfds:): random-resized-crop area and evaluation centre crop.
    # 1 resizes the whole image (also what runs saved before these fields existed did).
    train_crop_min_area: float = 1.0
    crop_pct: float = 1.0
    drop_path_rate: float = None  # None keeps the model's own rate
    no_weight_decay: tuple = ("pos_embedding",)
    # Fine-tuning: step of a variable at depth d of D scaled by layer_decay ** (D - d) (1: off), and the
    # backbone frozen (only the head trains) for the first frozen_epochs. See training/layer_decay.py.
    layer_decay: float = 1.0
    frozen_epochs: float = 0.0

    def __post_init__(self):
        """Checks every field; a bad value raises naming the field, the value and the valid range."""
        ints = {"epochs": 1, "batch_size": 1, "randaugment_ops": 0}
        # field: (minimum, maximum, minimum allowed, maximum allowed)
        floats = {
            "base_learning_rate": (0.0, None, False, True),
            "warmup_epochs": (0.0, None, True, True),
            "min_learning_rate": (0.0, None, True, True),
            "weight_decay": (0.0, None, True, True),
            "beta_1": (0.0, 1.0, True, False),
            "beta_2": (0.0, 1.0, True, False),
            "epsilon": (0.0, None, False, True),
            "label_smoothing": (0.0, 1.0, True, False),
            "randaugment_magnitude": (0.0, 10.0, True, True),
            "mixup_alpha": (0.0, None, True, True),
            "cutmix_alpha": (0.0, None, True, True),
            "random_erasing": (0.0, 1.0, True, True),
            "train_crop_min_area": (0.0, 1.0, False, True),
            "crop_pct": (0.0, 1.0, False, True),
            "layer_decay": (0.0, 1.0, False, True),
            "frozen_epochs": (0.0, None, True, True),
        }
        for name, minimum in ints.items():
            object.__setattr__(self, name, check_int(f"Recipe field {name}", getattr(self, name), minimum))
        for name, (low, high, low_ok, high_ok) in floats.items():
            value = check_float(f"Recipe field {name}", getattr(self, name), low, high, low_ok, high_ok)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "horizontal_flip", check_bool("Recipe field horizontal_flip", self.horizontal_flip))
        if self.drop_path_rate is not None:
            rate = check_float("Recipe field drop_path_rate", self.drop_path_rate, 0.0, 1.0, True, False)
            object.__setattr__(self, "drop_path_rate", rate)
        if self.min_learning_rate > self.base_learning_rate:
            raise InvalidValueError(f"Recipe field min_learning_rate ({self.min_learning_rate}) must not exceed "
                             f"base_learning_rate ({self.base_learning_rate}).")
        object.__setattr__(self, "no_weight_decay", tuple(self.no_weight_decay))

    def learning_rate(self, batch_size=None):
        """Peak learning rate for a global batch (linear scaling rule)."""
        return self.base_learning_rate * (batch_size or self.batch_size) / 256.0


RECIPES = {
    "imagenet": Recipe(name="imagenet", epochs=300, batch_size=1024, warmup_epochs=20, train_crop_min_area=0.05,
                       crop_pct=0.875),
    "cifar": Recipe(name="cifar", epochs=300, batch_size=384, warmup_epochs=5),
    "small": Recipe(
        name="small",
        epochs=15,
        batch_size=64,
        base_learning_rate=4e-3,
        warmup_epochs=3,
        weight_decay=0.05,
        randaugment_ops=0,
        mixup_alpha=0.0,
        cutmix_alpha=0.0,
        random_erasing=0.0,
        horizontal_flip=False,  # digits are not mirror-symmetric
        drop_path_rate=0.05,
    ),
    # From pretrained weights (`weights=`): a lower rate, a short warmup, augmentation that keeps
    # whole objects (no MixUp/CutMix, no RandAugment, no erasing: a few epochs on a small set);
    # ImageNet-style crops for images streamed from files, the crop the ImageNet weights saw.
    "finetune": Recipe(
        name="finetune",
        epochs=10,
        batch_size=64,
        base_learning_rate=1e-3,
        warmup_epochs=1,
        weight_decay=0.05,
        randaugment_ops=0,
        mixup_alpha=0.0,
        cutmix_alpha=0.0,
        random_erasing=0.0,
        train_crop_min_area=0.08,
        crop_pct=0.875,
        drop_path_rate=0.1,
    ),
}


def list_recipes():
    return sorted(RECIPES)


def get_recipe(name="small", **overrides):
    """A named recipe with fields replaced; unknown names or fields raise."""
    if isinstance(name, Recipe):
        recipe = name
    elif name not in RECIPES:
        raise InvalidValueError(f"Unknown recipe {name!r}. Available recipes: {', '.join(list_recipes())}.")
    else:
        recipe = RECIPES[name]
    fields = {f.name for f in dataclasses.fields(Recipe)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise InvalidValueError(f"Unknown recipe field(s) {unknown}. Valid: {', '.join(sorted(fields))}.")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(recipe, **overrides)


def learning_rate_schedule(recipe, steps_per_epoch, batch_size=None):
    """Linear warmup from 0 to the peak, then cosine decay to `min_learning_rate`."""
    total = max(1, int(recipe.epochs * steps_per_epoch))
    warmup = min(total - 1, int(round(recipe.warmup_epochs * steps_per_epoch)))
    peak = recipe.learning_rate(batch_size)
    import keras

    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else peak,
        decay_steps=max(1, total - warmup),
        alpha=recipe.min_learning_rate / peak if peak else 0.0,
        warmup_target=peak if warmup else None,
        warmup_steps=warmup,
    )


def make_optimizer(recipe, steps_per_epoch, batch_size=None, model=None):
    """AdamW with NesT's settings; no decay on position embeddings.

    With `recipe.layer_decay < 1` or `recipe.frozen_epochs > 0` (fine-tuning)
    it is a `LayerwiseAdamW` over `model`'s depths (`model` is then required).
    """
    import keras

    arguments = dict(
        learning_rate=learning_rate_schedule(recipe, steps_per_epoch, batch_size),
        weight_decay=recipe.weight_decay,
        beta_1=recipe.beta_1,
        beta_2=recipe.beta_2,
        epsilon=recipe.epsilon,
    )
    if recipe.layer_decay < 1.0 or recipe.frozen_epochs > 0:
        from keras_nest.training.layer_decay import LayerwiseAdamW, layer_scales

        if model is None:
            raise InvalidValueError("layer_decay < 1 or frozen_epochs > 0 needs the model (make_optimizer(model=)).")
        head = [] if model.head is None else [v.path for v in model.head.weights]
        optimizer = LayerwiseAdamW(layer_scales=layer_scales(model, recipe.layer_decay),
                                   frozen_steps=int(round(recipe.frozen_epochs * steps_per_epoch)),
                                   warm_start=head, **arguments)
    else:
        optimizer = keras.optimizers.AdamW(**arguments)
    optimizer.exclude_from_weight_decay(var_names=list(recipe.no_weight_decay))
    return optimizer


def make_loss(recipe):
    # One-hot targets: MixUp/CutMix produce soft labels, and the sparse loss
    # has no label smoothing.
    import keras

    # Averaged over the sample weights: padded evaluation batches (`pad_batches`) weigh their pads 0.
    return keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=recipe.label_smoothing, reduction="mean_with_sample_weight"
    )
