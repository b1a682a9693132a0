"""What defines each kind of training run, with every default in one place.

Frozen dataclasses, free of TensorFlow so the CLI can show their defaults
without loading it: `TrainSpec` (what makes two classifier runs the same
training; fixed on resume), `RunOptions` (how a run executes; free to
change on resume), `GanSpec` and `GanSettings` (what makes two GAN runs the
same training, and the adversarial recipe). The classifier
recipe is `keras_nest.training.recipe.Recipe`.
"""

import dataclasses

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.training.distribute import JIT_CHOICES, PRECISIONS, STRATEGIES
from keras_nest.validation import check_bool, check_choice, check_float, check_int

DEFAULT_RECIPE = "small"
GAN_LOSSES = ("hinge", "non_saturating")  # keras_nest.gan.losses.LOSSES has one entry per name


# create_model arguments that training derives from the data set (and the recipe's evaluation crop).
DATA_SET_ARGUMENTS = frozenset({"input_shape", "num_classes", "include_preprocessing", "pixel_mean", "pixel_std",
                                "class_names", "crop_pct"})


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """What makes two runs the same training; stored in `state.json`, fixed on resume.

    `dataset` is a data set name, or `"arrays:<sha1>"` for an
    `(images, labels)` pair; `num_examples` the size of the train split
    used (`None`: all of it; a generated set, `shapes` or
    `cluttered_digits`, draws that many, more than its default if asked,
    any other takes its first N); `image_size` is `None` for the model's own;
    `weights` what the model starts from (`create_model`'s `weights`: a
    published name such as `"imagenet"`, `"hf://ORG/REPO[/FILE]"` or a
    path), `None` for a random initialisation.
    """

    model: str = "nest_nano_16"
    dataset: str = "digits"
    image_size: tuple = None
    seed: int = 0
    train_fraction: float = 1.0
    validation_fraction: float = 0.1
    num_examples: int = None
    model_overrides: dict = dataclasses.field(default_factory=dict)
    weights: str = None

    def __post_init__(self):
        if not isinstance(self.model, str):
            raise InvalidTypeError(f"model must be a model name (see keras_nest.list_models()), got {self.model!r}.")
        if self.weights is not None and not isinstance(self.weights, str):
            raise InvalidTypeError(f"weights must be a name such as 'imagenet', 'hf://ORG/REPO[/FILE]' or a file "
                                   f"path (a string), got {self.weights!r}.")
        object.__setattr__(self, "seed", check_int("seed", self.seed))  # plain Python values: stored as JSON
        object.__setattr__(self, "train_fraction",
                           check_float("train_fraction", self.train_fraction, 0.0, 1.0, min_inclusive=False))
        object.__setattr__(self, "validation_fraction",
                           check_float("validation_fraction", self.validation_fraction, 0.0, 1.0, False, False))
        if self.num_examples is not None:
            object.__setattr__(self, "num_examples", check_int("num_examples", self.num_examples, 1))
        if not isinstance(self.model_overrides, dict):
            raise InvalidTypeError(f"model_overrides must be a dict of create_model arguments, "
                            f"got {self.model_overrides!r}.")
        from_data = sorted(set(self.model_overrides) & DATA_SET_ARGUMENTS)
        if from_data:
            raise InvalidValueError(f"model_overrides may not set {from_data}: training sets them from the data "
                                    "and the recipe (the saved model takes raw pixels, normalised with the data "
                                    "set's mean and std, names its classes and keeps the recipe's crop_pct).")
        if self.image_size is not None:
            size = self.image_size
            size = (size, size) if not isinstance(size, (tuple, list)) else tuple(size)
            if len(size) != 2:
                raise InvalidValueError(f"image_size must be an int or (height, width), got {self.image_size!r}.")
            object.__setattr__(self, "image_size", tuple(check_int("image_size", s, 1) for s in size))


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How a run executes; free to change when it is resumed."""

    strategy: str = "auto"
    jit_compile: str = "auto"
    precision: str = "float32"
    tensorboard: bool = True
    export: bool = True
    verbose: object = "auto"
    callbacks: tuple = ()
    tpu: str = None

    def __post_init__(self):
        check_choice("strategy", self.strategy, STRATEGIES)
        check_choice("jit_compile", self.jit_compile, JIT_CHOICES)
        check_choice("precision", self.precision, PRECISIONS)
        check_bool("tensorboard", self.tensorboard)
        check_bool("export", self.export)
        check_choice("verbose", self.verbose, ("auto", 0, 1, 2))


@dataclasses.dataclass(frozen=True)
class GanSpec:
    """What makes two GAN runs the same training; stored in `state.json`, fixed on resume."""

    generator: str = "nest_gan_32"
    dataset: str = "shapes"
    batch_size: int = 64
    checkpoint_every: int = 100  # steps per commit (a run folder's "epoch")
    seed: int = 0
    num_examples: int = None  # None: the whole train split
    generator_overrides: dict = dataclasses.field(default_factory=dict)  # create_generator arguments
    discriminator_overrides: dict = dataclasses.field(default_factory=dict)  # create_discriminator arguments

    def __post_init__(self):
        for name, value in (("generator", self.generator), ("dataset", self.dataset)):
            if not isinstance(value, str):
                raise InvalidTypeError(f"{name} must be a name (a string), got {value!r}.")
        for name, what in (("generator_overrides", "create_generator"),
                           ("discriminator_overrides", "create_discriminator")):
            if not isinstance(getattr(self, name), dict):
                raise InvalidTypeError(f"{name} must be a dict of {what} arguments, got {getattr(self, name)!r}.")
        object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size, 1))
        object.__setattr__(self, "checkpoint_every", check_int("checkpoint_every", self.checkpoint_every, 1))
        object.__setattr__(self, "seed", check_int("seed", self.seed))
        if self.num_examples is not None:
            object.__setattr__(self, "num_examples", check_int("num_examples", self.num_examples, 1))


@dataclasses.dataclass(frozen=True)
class GanSettings:
    """The adversarial recipe: SAGAN's TTUR defaults (Adam beta_1 = 0, G 1e-4, D 4e-4), EMA 0.999 with warm-up.

    `ema_decay` 0 or `None` keeps no EMA generator; `ema_warmup` caps the
    decay at `(1 + t) / (10 + t)` after t generator updates (see `GAN`;
    `benchmarks/gan_diversity.py` measured it: without it, both generators'
    EMA weights are still 22% their random start after 1,500 steps).
    """

    loss: str = "hinge"
    g_learning_rate: float = 1e-4
    d_learning_rate: float = 4e-4
    beta_2: float = 0.999
    d_steps: int = 1
    ema_decay: float = 0.999
    ema_warmup: bool = True
    diffaugment: str = None
    r1_gamma: float = 0.0

    def __post_init__(self):
        check_choice("loss", self.loss, GAN_LOSSES)
        check_float("g_learning_rate", self.g_learning_rate, 0.0, None, False)
        check_float("d_learning_rate", self.d_learning_rate, 0.0, None, False)
        check_float("beta_2", self.beta_2, 0.0, 1.0, True, False)
        check_int("d_steps", self.d_steps, 1)
        if self.ema_decay is not None:
            check_float("ema_decay", self.ema_decay, 0.0, 1.0, True, False)
        check_bool("ema_warmup", self.ema_warmup)
        check_float("r1_gamma", self.r1_gamma, 0.0)
