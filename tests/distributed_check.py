"""Run as a subprocess: the devices must be set before the backend starts.

`python tests/distributed_check.py` prints a JSON line comparing the first
training step on one device and under MirroredStrategy over two logical CPU
devices, then a few more mirrored steps. `python tests/distributed_check.py
jax` does the same on JAX with `keras.distribution.DataParallel` over two
host devices. `python tests/distributed_check.py gan` compares one GAN step
(discriminator and generator updates) under MirroredStrategy.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if __name__ == "__main__" and sys.argv[1:] == ["jax"]:  # not when pytest imports it for doctests
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_nest  # noqa: E402
from keras_nest.training import get_recipe, make_loss, make_optimizer  # noqa: E402
from keras_nest.training.distribute import resolve_strategy  # noqa: E402


def first_step_loss(strategy, weights, x, y):
    recipe = get_recipe("small", base_learning_rate=1e-3, warmup_epochs=0)
    with strategy.scope():
        model = keras_nest.create_model("nest_nano_16", num_classes=10, drop_path_rate=0.0)
        model.set_weights(weights)
        model.compile(optimizer=make_optimizer(recipe, steps_per_epoch=10), loss=make_loss(recipe))
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(len(x))
    with strategy.scope():  # keras.distribution shards the fit it encloses (a no-op for tf.distribute)
        history = model.fit(ds, epochs=1, verbose=0)
    after = [np.asarray(w) for w in model.get_weights()]
    return float(history.history["loss"][0]), after, model


def gan_step(strategy, weights, images, noise):
    from keras_nest.gan import GAN

    with strategy.scope():
        generator = keras_nest.create_generator("nest_gan_tiny")
        discriminator = keras_nest.create_discriminator(16)
        generator.set_weights(weights[0])
        discriminator.set_weights(weights[1])
        gan = GAN(generator, discriminator)
        gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    ds = tf.data.Dataset.from_tensor_slices((images, noise)).batch(len(images))
    history = gan.fit(ds, epochs=1, verbose=0).history
    return history, [np.asarray(w) for w in generator.get_weights() + discriminator.get_weights()]


def gan_check():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    noise = rng.normal(size=(8, 32)).astype("float32")
    keras.utils.set_random_seed(0)
    weights = (keras_nest.create_generator("nest_gan_tiny").get_weights(),
               keras_nest.create_discriminator(16).get_weights())
    before = weights[0] + weights[1]
    single, single_after = gan_step(tf.distribute.get_strategy(), weights, images, noise)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    multi, multi_after = gan_step(mirrored, weights, images, noise)
    print(json.dumps({
        "replicas": mirrored.num_replicas_in_sync,
        "single_d_loss": single["d_loss"][0], "mirrored_d_loss": multi["d_loss"][0],
        "single_g_loss": single["g_loss"][0], "mirrored_g_loss": multi["g_loss"][0],
        "max_update": max(float(np.abs(a - b).max()) for a, b in zip(single_after, before)),
        "max_weight_diff_after_step": max(float(np.abs(a - b).max()) for a, b in zip(single_after, multi_after)),
    }))


def main():
    if sys.argv[1:] == ["jax"]:
        single, parallel = resolve_strategy("default"), resolve_strategy("data_parallel")
    else:
        # Must run before TensorFlow touches a device (hence a subprocess).
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        if sys.argv[1:] == ["gan"]:
            return gan_check()
        single, parallel = tf.distribute.get_strategy(), tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 16, 16, 3)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, 16)]
    keras.utils.set_random_seed(0)
    weights = keras_nest.create_model("nest_nano_16", num_classes=10).get_weights()
    single_loss, single_after, _ = first_step_loss(single, weights, x, y)
    parallel_loss, parallel_after, model = first_step_loss(parallel, weights, x, y)
    update_diff = max(float(np.abs(a - b).max()) for a, b in zip(single_after, parallel_after))
    ds = tf.data.Dataset.from_tensor_slices((np.repeat(x, 4, 0), np.repeat(y, 4, 0))).batch(16)
    with parallel.scope():
        losses = model.fit(ds, epochs=3, verbose=0).history["loss"]
    print(json.dumps({
        "backend": keras.backend.backend(),
        "replicas": parallel.num_replicas_in_sync,
        "single_loss": single_loss,
        "parallel_loss": parallel_loss,
        "max_weight_diff_after_step": update_diff,
        "later_losses": losses,
    }))


if __name__ == "__main__":
    sys.exit(main())
