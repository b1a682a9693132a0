"""Training image generators adversarially: the `GAN` model, losses and DiffAugment."""

from keras_nest.gan.diffaugment import diff_augment
from keras_nest.gan.gan import GAN
from keras_nest.gan.losses import LOSSES, get_losses

__all__ = ["GAN", "LOSSES", "diff_augment", "get_losses"]
