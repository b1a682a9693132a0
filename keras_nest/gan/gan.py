"""`GAN`: a generator and a discriminator trained together with `model.fit`."""

import functools

import keras
from keras import ops

from keras_nest.errors import InvalidValueError
from keras_nest.gan.diffaugment import check_policy, diff_augment
from keras_nest.gan.losses import get_losses
from keras_nest.gan.optimizer_pair import OptimizerPair
from keras_nest.gan.train_step import jax_train_step, mechanics
from keras_nest.validation import check_bool


def _default_optimizer(learning_rate):
    # SAGAN's two-time-scale update rule: Adam with beta_1 = 0.
    return keras.optimizers.Adam(learning_rate, beta_1=0.0, beta_2=0.999)


@keras.saving.register_keras_serializable(package="keras_nest")
class GAN(keras.Model):
    """Adversarial training of `generator` against `discriminator`, on TensorFlow, JAX or torch.

    Each `train_step` makes `d_steps` discriminator updates on the batch of
    real images (fresh noise each time), then one generator update, then
    moves the EMA generator. The step is written once in `keras.ops`; only
    the gradients are taken per backend (`keras_nest.gan.train_step`):
    `tf.GradientTape` on TensorFlow, `torch.autograd.grad` on torch, and
    `jax.value_and_grad` inside Keras' stateless (jit-compiled) JAX step,
    where `model.optimizer` (an `OptimizerPair`) carries both optimizers'
    variables. From the same weights and noise, one step gives the same
    losses and weights on the three backends (float32, about 1e-6 apart).

    Losses are averaged over the global batch: under a `tf.distribute`
    strategy (TensorFlow only) each replica's mean is divided by the number
    of replicas, because these are not `keras.losses.Loss` objects (which
    would do it themselves).

    Args:
        generator: a model from noise `(B, latent_dim)` to images in [-1, 1].
        discriminator: a model from images to one logit each, `(B, 1)`.
        latent_dim: optional; checked against the generator's input size.
        d_steps: discriminator updates per generator update.
        ema_decay: keep an exponential moving average of the generator's
            weights (`ema_generator`), e.g. 0.999; None disables it.
        ema_warmup: cap the decay at `(1 + t) / (10 + t)` after t
            generator updates (`tf.train.ExponentialMovingAverage`'s
            `num_updates`), so the average forgets its random start: with
            0.999 alone, 22% of it is still the initial weights after 1,500
            updates. Defaults to `False` here (a plain EMA, and how GANs
            saved before the option load); `train_gan`'s recipe turns it on.
        diffaugment: comma-separated DiffAugment policy applied to every
            image the discriminator sees (e.g. `"color,translation"`), or None.
        r1_gamma: weight of the R1 penalty `gamma / 2 * |grad D(x)|^2` on real
            images (0 disables it).
        seed: seed of the noise and augmentation.

    The data set yields real images `(B, H, W, C)` in [-1, 1] (or
    `(images, noise)` pairs, to fix the noise, as the tests do).

    Example:

    >>> gan = GAN(keras_nest.create_generator("nest_gan_tiny"), keras_nest.create_discriminator(16),
    ...           d_steps=2, ema_decay=0.999)
    >>> gan.compile(loss="hinge")
    >>> real = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    >>> history = gan.fit(real, batch_size=8, epochs=1, verbose=0)
    >>> sorted(history.history), int(gan.g_optimizer.iterations), int(gan.d_optimizer.iterations)
    (['d_fake', 'd_loss', 'd_real', 'g_loss'], 1, 2)
    >>> tuple(gan.sample(2).shape)  # from the EMA generator
    (2, 16, 16, 3)
    """

    def __init__(self, generator, discriminator, latent_dim=None, d_steps=1, ema_decay=None, ema_warmup=False,
                 diffaugment=None, r1_gamma=0.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        g_latent = generator.input_shape[-1]
        if latent_dim is not None and int(latent_dim) != g_latent:
            raise InvalidValueError(f"latent_dim is {latent_dim} but the generator takes {g_latent}-d noise; "
                             "build the generator with the same latent_dim.")
        if tuple(generator.output_shape[1:]) != tuple(discriminator.input_shape[1:]):
            raise InvalidValueError(f"The generator makes {tuple(generator.output_shape[1:])} images but the "
                             f"discriminator reads {tuple(discriminator.input_shape[1:])}.")
        if int(d_steps) < 1:
            raise InvalidValueError(f"d_steps must be >= 1; got {d_steps}.")
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise InvalidValueError(f"ema_decay must be in (0, 1); got {ema_decay}.")
        check_policy(diffaugment)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = g_latent
        self.d_steps = int(d_steps)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_warmup = check_bool("ema_warmup", ema_warmup)
        self.diffaugment = diffaugment or None
        self.r1_gamma = float(r1_gamma)
        self.seed = int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.ema_generator = None
        if self.ema_decay is not None:
            # Rebuilt from its config (not clone_model) so it keeps its class, e.g. NestGenerator.
            self.ema_generator = generator.__class__.from_config(generator.get_config())
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_real", "d_fake")}
        self.built = True  # both networks are built functional models

    def compile(self, g_optimizer=None, d_optimizer=None, loss="hinge", **kwargs):
        """Optimizers default to TTUR: Adam(beta_1=0), G 1e-4, D 4e-4."""
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or _default_optimizer(1e-4)
        self.d_optimizer = d_optimizer or _default_optimizer(4e-4)
        # Keras builds `model.optimizer` and, on JAX, carries only its variables through the step.
        self.optimizer = OptimizerPair(self.g_optimizer, self.generator, self.d_optimizer, self.discriminator)
        self.loss_name = loss
        self.d_loss_fn, self.g_loss_fn = get_losses(loss)

    def get_compile_config(self):
        return {
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "loss": self.loss_name,
        }

    def compile_from_config(self, config):
        """Recompiles a loaded GAN; optimizer slots are built so their saved state loads."""
        self.compile(
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
            loss=config["loss"],
        )
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        """Noise `(B, latent_dim)` -> images; images `(B, H, W, C)` -> discriminator logits.

        (Keras calls the model on a data batch, i.e. on images, to build it
        under a distribution strategy.)
        """
        if len(inputs.shape) == 2:
            return self.generator(inputs, training=training)
        return self.discriminator(inputs, training=training)

    def sample(self, num_images, seed=0, use_ema=True):
        """`num_images` generated images in [-1, 1] (from the EMA generator when there is one)."""
        noise = keras.random.normal((int(num_images), self.latent_dim), seed=seed)
        generator = self.ema_generator if use_ema and self.ema_generator is not None else self.generator
        return generator(noise, training=False)

    def build(self, input_shape=None):
        self.built = True

    def _augment(self, images):
        return diff_augment(images, self.diffaugment, self.seed_generator) if self.diffaugment else images

    def _global_mean(self, values):
        return ops.mean(values) / _num_replicas()

    def train_step(self, *args):
        """`d_steps` discriminator updates, one generator update, the EMA and the metrics.

        TensorFlow and torch call `train_step(data)`; Keras' JAX trainer calls
        `train_step(state, data)` and expects `(logs, new_state)`.
        """
        if keras.backend.backend() == "jax":
            return jax_train_step(self, *args, step=self._step)
        return self._step(*args, mechanics())

    def _step(self, data, mech):
        """The step on any backend; `mech` takes the gradients (`keras_nest.gan.train_step`)."""
        # Images alone, or (images, noise) pairs: the noise arrives where labels would.
        real, noise, _ = keras.utils.unpack_x_y_sample_weight(data)
        for _ in range(self.d_steps):
            z = self._noise(real, noise)
            d_loss, (d_real, d_fake) = mech.minimize(self.d_optimizer, functools.partial(self._d_loss, real, z, mech),
                                                     self.discriminator.trainable_variables)
        z = self._noise(real, noise)
        g_loss, _ = mech.minimize(self.g_optimizer, functools.partial(self._g_loss, z),
                                  self.generator.trainable_variables)
        if self.ema_generator is not None:
            decay = self._ema_decay_now()
            for ema, weight in zip(self.ema_generator.weights, self.generator.weights):
                ema.assign(decay * ema + (1.0 - decay) * ops.cast(weight, ema.dtype))
        replicas = _num_replicas()
        self.trackers["d_loss"].update_state(d_loss * replicas)
        self.trackers["g_loss"].update_state(g_loss * replicas)
        self.trackers["d_real"].update_state(ops.mean(d_real))
        self.trackers["d_fake"].update_state(ops.mean(d_fake))
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def _ema_decay_now(self):
        if not self.ema_warmup:
            return self.ema_decay
        updates = ops.cast(self.g_optimizer.iterations, "float32")  # this step's update included
        return ops.minimum(self.ema_decay, (1.0 + updates) / (10.0 + updates))

    def _noise(self, real, noise):
        if noise is not None:
            return noise
        return keras.random.normal((ops.shape(real)[0], self.latent_dim), seed=self.seed_generator)

    def _logits(self, images):
        return self.discriminator(images, training=True)[:, 0]

    def _d_loss(self, real, z, mech):
        # The discriminator's loss does not train the generator.
        fake = ops.stop_gradient(self.generator(z, training=True))
        real_in = self._augment(real)
        if self.r1_gamma > 0:
            d_real, slopes = mech.input_gradient(self._logits, real_in)
            penalty = 0.5 * self.r1_gamma * ops.sum(ops.square(slopes), axis=(1, 2, 3))
        else:
            d_real, penalty = self._logits(real_in), 0.0
        d_fake = self._logits(self._augment(fake))
        return self._global_mean(self.d_loss_fn(d_real, d_fake) + penalty), (d_real, d_fake)

    def _g_loss(self, z):
        d_gen = self._logits(self._augment(self.generator(z, training=True)))
        return self._global_mean(self.g_loss_fn(d_gen)), ()

    def get_config(self):
        return {
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "d_steps": self.d_steps, "ema_decay": self.ema_decay, "ema_warmup": self.ema_warmup,
            "diffaugment": self.diffaugment,
            "r1_gamma": self.r1_gamma, "seed": self.seed, "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)


def _num_replicas():
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync
