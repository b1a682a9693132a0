"""GAN losses as per-example `keras.ops` functions of discriminator logits.

Each returns a `(B,)` vector; the GAN averages it over the *global* batch
(see `GAN.train_step`), so replicas under `tf.distribute` add up correctly.
"""

from keras import ops

from keras_nest.errors import InvalidValueError


def hinge_d(real, fake):
    """SAGAN's discriminator hinge: relu(1 - D(x)) + relu(1 + D(G(z)))."""
    return ops.relu(1.0 - real) + ops.relu(1.0 + fake)


def hinge_g(fake):
    return -fake


def non_saturating_d(real, fake):
    """-log sigmoid(D(x)) - log(1 - sigmoid(D(G(z))))."""
    return ops.softplus(-real) + ops.softplus(fake)


def non_saturating_g(fake):
    return ops.softplus(-fake)


LOSSES = {"hinge": (hinge_d, hinge_g), "non_saturating": (non_saturating_d, non_saturating_g)}


def get_losses(name):
    if name not in LOSSES:
        raise InvalidValueError(f"Unknown GAN loss {name!r}; choose one of {sorted(LOSSES)}.")
    return LOSSES[name]
