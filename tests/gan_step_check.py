"""Run as a subprocess with KERAS_BACKEND set: the backend is fixed once Keras is imported.

`python tests/gan_step_check.py step INPUTS.npz OUT.npz` loads generator and
discriminator weights, images and noise from INPUTS.npz (written by
`save_inputs`), makes ONE `fit` step (d_steps=2, EMA, R1 as given in the
inputs, no DiffAugment, SGD) and writes the losses and every updated weight
to OUT.npz. `python tests/gan_step_check.py fit DIR` trains a few steps with
d_steps, EMA, DiffAugment and R1 on, round-trips a `.keras` file in DIR and
prints a JSON report.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_nest  # noqa: E402
from keras_nest.gan import GAN  # noqa: E402

GENERATOR, IMAGE_SIZE = "nest_gan_tiny", 16


def tiny_networks(generator=GENERATOR):
    return keras_nest.create_generator(generator), keras_nest.create_discriminator(IMAGE_SIZE)


def save_inputs(path, generator=GENERATOR, batch=4, r1_gamma=1.0, seed=0):
    """Weights, images and noise for `step` (run in the test's own process, any backend)."""
    keras.utils.set_random_seed(seed)
    name = generator
    generator, discriminator = tiny_networks(name)
    rng = np.random.default_rng(seed)
    arrays = {f"g{i}": w for i, w in enumerate(generator.get_weights())}
    arrays.update({f"d{i}": w for i, w in enumerate(discriminator.get_weights())})
    np.savez(path, images=rng.uniform(-1, 1, (batch, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32"),
             noise=rng.normal(size=(batch, generator.input_shape[-1])).astype("float32"),
             r1_gamma=np.float32(r1_gamma), generator=np.array(name), **arrays)


def _weights(inputs, prefix):
    return [inputs[f"{prefix}{i}"] for i in range(sum(k.startswith(prefix) and k[1:].isdigit() for k in inputs))]


def one_step(inputs_path, out_path):
    inputs = dict(np.load(inputs_path))
    generator, discriminator = tiny_networks(str(inputs["generator"]))
    generator.set_weights(_weights(inputs, "g"))
    discriminator.set_weights(_weights(inputs, "d"))
    gan = GAN(generator, discriminator, d_steps=2, ema_decay=0.9, r1_gamma=float(inputs["r1_gamma"]))
    # SGD: an update proportional to the gradient (Adam's first step is about lr * sign(g),
    # which turns float noise in tiny gradients into full-size differences).
    gan.compile(g_optimizer=keras.optimizers.SGD(0.05), d_optimizer=keras.optimizers.SGD(0.05))
    history = gan.fit(inputs["images"], inputs["noise"], batch_size=len(inputs["images"]), epochs=1,
                      shuffle=False, verbose=0).history
    out = {k: np.float32(v[0]) for k, v in history.items()}
    out.update({f"g{i}": w for i, w in enumerate(generator.get_weights())})
    out.update({f"d{i}": w for i, w in enumerate(discriminator.get_weights())})
    out.update({f"ema{i}": w for i, w in enumerate(gan.ema_generator.get_weights())})
    out["iterations"] = np.array([int(gan.g_optimizer.iterations), int(gan.d_optimizer.iterations)])
    np.savez(out_path, **out)


def _max_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def _seed_counter(gan):
    return int(keras.ops.convert_to_numpy(gan.seed_generator.state)[1])


def short_fit(folder):
    keras.utils.set_random_seed(0)
    generator, discriminator = tiny_networks()
    gan = GAN(generator, discriminator, d_steps=2, ema_decay=0.9, diffaugment="color,translation,cutout",
              r1_gamma=1.0)
    gan.compile(loss="non_saturating")
    start = generator.get_weights() + discriminator.get_weights()
    real = np.random.default_rng(0).uniform(-1, 1, (8, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32")
    seeds = [_seed_counter(gan)]
    histories = []
    for steps in (1, 2):  # the seed must advance the same amount on each step, across fit calls too
        histories.append(gan.fit(real, batch_size=8, epochs=steps, shuffle=False, verbose=0).history)
        seeds.append(_seed_counter(gan))
    after = generator.get_weights() + discriminator.get_weights()
    path = os.path.join(folder, "gan.keras")
    gan.save(path)
    revived = keras.saving.load_model(path)
    z = np.ones((2, gan.latent_dim), "float32")
    print(json.dumps({
        "backend": keras.backend.backend(),
        "jit_compile": bool(gan.jit_compile),
        "losses": [v for h in histories for k in ("d_loss", "g_loss") for v in h[k]],
        "seed_counters": seeds,
        "max_update": _max_diff(after, start),
        "ema_moved": _max_diff(gan.ema_generator.get_weights(), start),
        "ema_gap": _max_diff(gan.ema_generator.get_weights(), generator.get_weights()),
        "iterations": [int(gan.g_optimizer.iterations), int(gan.d_optimizer.iterations)],
        "revived_iterations": [int(revived.g_optimizer.iterations), int(revived.d_optimizer.iterations)],
        "revived_optimizer_diff": _max_diff([keras.ops.convert_to_numpy(v) for v in revived.optimizer.variables],
                                            [keras.ops.convert_to_numpy(v) for v in gan.optimizer.variables]),
        "revived_sample_diff": float(np.abs(keras.ops.convert_to_numpy(revived.ema_generator(z))
                                            - keras.ops.convert_to_numpy(gan.ema_generator(z))).max()),
    }))


def main():
    if sys.argv[1] == "step":
        return one_step(sys.argv[2], sys.argv[3])
    return short_fit(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
