"""`train_gan`: a generator against the SAGAN-style discriminator, with a run folder.

The run folder holds `last.keras` (the whole GAN with both optimizers, for
`resume`), `generator.keras` (the EMA generator when there is one, else the
generator), `samples/step_XXXXXXX.png` grids from fixed noise, `state.json`,
`history.json` and `result.json`. Every file is written atomically after each
chunk of `checkpoint_every` steps; a NaN loss stops training with the last
good checkpoint kept.
"""

import os
import time

import keras

from keras_nest.data import dataset_slug, real_images
from keras_nest.gan.gan import GAN
from keras_nest.gan.grids import save_grid
from keras_nest.models import create_discriminator, create_generator, load_saved_model
from keras_nest.training.checkpoints import (
    HISTORY,
    LAST,
    STATE,
    NanGuard,
    RunCheckpoint,
    atomic_write,
    read_json,
    write_json,
)
from keras_nest.training.trainer import TrainingDiverged

GENERATOR_FILE = "generator.keras"


def _dataset(images, batch_size, seed):
    import tensorflow as tf

    if len(images) < batch_size:
        raise ValueError(f"The data set has {len(images)} images, fewer than one batch of {batch_size}; "
                         "lower batch_size.")
    ds = tf.data.Dataset.from_tensor_slices(images)
    return ds.shuffle(min(len(images), 10_000), seed=seed).repeat().batch(batch_size, drop_remainder=True) \
        .prefetch(tf.data.AUTOTUNE)


class SampleGrid(keras.callbacks.Callback):
    """Saves a grid of images from fixed noise after each chunk of steps."""

    def __init__(self, folder, steps_per_chunk, nan_guard=None, num_images=64, seed=1234):
        super().__init__()
        self.folder, self.steps_per_chunk, self.num_images, self.seed = folder, steps_per_chunk, num_images, seed
        self.nan_guard = nan_guard

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_guard is not None and self.nan_guard.tripped_at is not None:
            return
        step = (epoch + 1) * self.steps_per_chunk
        images = keras.ops.convert_to_numpy(self.model.sample(self.num_images, seed=self.seed))
        save_grid(images, os.path.join(self.folder, f"step_{step:07d}.png"))


class GeneratorExport(keras.callbacks.Callback):
    """Keeps `generator.keras` (EMA weights when kept) next to the full checkpoint."""

    def __init__(self, path, nan_guard):
        super().__init__()
        self.path, self.nan_guard = path, nan_guard

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_guard.tripped_at is None:
            generator = self.model.ema_generator or self.model.generator
            atomic_write(self.path, generator.save)


def train_gan(generator="nest_gan_32", dataset="shapes", steps=1000, batch_size=64, out=None, loss="hinge",
              g_learning_rate=1e-4, d_learning_rate=4e-4, beta_2=0.999, d_steps=1, ema_decay=0.999,
              diffaugment=None, r1_gamma=0.0, checkpoint_every=100, resume=False, seed=0, verbose="auto",
              callbacks=(), num_examples=None):
    """Trains a named generator against the matching discriminator with `model.fit`.

    Args:
        generator: a name from `keras_nest.list_generators()`.
        dataset: `"shapes"`, `"digits"`, `"tfds:NAME"`, `"folder:PATH"` (the
            train split, resized to the generator's size, as RGB).
        steps: generator updates in total.
        batch_size: real (and generated) images per step.
        out: run folder (default `runs/gan-GENERATOR-DATASET`).
        loss, d_steps, ema_decay, diffaugment, r1_gamma: see `GAN`.
        g_learning_rate, d_learning_rate, beta_2: Adam(beta_1=0) settings.
        checkpoint_every: steps between checkpoints and sample grids.
        resume: continue the run in `out` with its optimizer state (the GAN's
            settings then come from the saved run; `steps` is the new total).
        num_examples: use only the first N training images.

    Returns:
        A dict with `steps`, `wall_seconds`, `images_per_second`, the final
        losses and the paths written.
    """
    start = time.time()
    steps, checkpoint_every = int(steps), int(checkpoint_every)
    if steps < 1 or checkpoint_every < 1:
        raise ValueError("steps and checkpoint_every must be positive.")
    checkpoint_every = min(checkpoint_every, steps)
    if steps % checkpoint_every:
        raise ValueError(f"steps ({steps}) must be a multiple of checkpoint_every ({checkpoint_every}).")
    out = out or os.path.join("runs", f"gan-{generator}-{dataset_slug(dataset)}")
    state = read_json(os.path.join(out, STATE))
    if state and not resume:
        raise FileExistsError(f"{out!r} already holds a run (step {state['epoch'] * checkpoint_every}); "
                              "pass resume=True (--resume) to continue it, or choose another folder.")
    keras.utils.set_random_seed(seed)
    if resume and state:
        gan = keras.saving.load_model(os.path.join(out, LAST))
        history = read_json(os.path.join(out, HISTORY), [])
        initial_chunk = int(state["epoch"])
    else:
        net = create_generator(generator)
        discriminator = create_discriminator(net.image_size, net.output_shape[-1])
        gan = GAN(net, discriminator, d_steps=d_steps, ema_decay=ema_decay, diffaugment=diffaugment,
                  r1_gamma=r1_gamma, seed=seed)
        gan.compile(
            g_optimizer=keras.optimizers.Adam(g_learning_rate, beta_1=0.0, beta_2=beta_2),
            d_optimizer=keras.optimizers.Adam(d_learning_rate, beta_1=0.0, beta_2=beta_2),
            loss=loss,
        )
        history, initial_chunk = [], 0
    images = real_images(dataset, gan.generator.image_size, gan.generator.output_shape[-1],
                         num_examples=num_examples)
    guard = NanGuard(keys=("d_loss", "g_loss"))
    checkpoint = RunCheckpoint(out, nan_guard=guard, monitor=None, history=history)
    chunks = steps // checkpoint_every
    if chunks <= initial_chunk:
        raise ValueError(f"{out!r} has already trained {initial_chunk * checkpoint_every} steps; pass a larger "
                         "total --steps to continue it.")
    fit_start = time.time()
    gan.fit(
        _dataset(images, batch_size, seed), epochs=chunks, initial_epoch=initial_chunk,
        steps_per_epoch=checkpoint_every, verbose=verbose,
        callbacks=[guard, checkpoint, GeneratorExport(os.path.join(out, GENERATOR_FILE), guard),
                   SampleGrid(os.path.join(out, "samples"), checkpoint_every, guard), *callbacks],
        shuffle=False,
    )
    if guard.tripped_at is not None:
        where = guard.tripped_at
        raise TrainingDiverged(
            f"GAN training stopped: a loss became non-finite in chunk {where['epoch']}, step "
            f"{where['batch']}. The last good checkpoint is {os.path.join(out, LAST)!r}; lower the "
            "learning rates or add r1_gamma / diffaugment.")
    trained = (chunks - initial_chunk) * checkpoint_every
    last = checkpoint.history[-1] if checkpoint.history else {}
    result = {
        "generator": gan.generator.name, "dataset": dataset, "steps": chunks * checkpoint_every,
        "batch_size": batch_size, "params": int(gan.generator.count_params()),
        "d_loss": last.get("d_loss"), "g_loss": last.get("g_loss"),
        "images_per_second": round(trained * batch_size / max(time.time() - fit_start, 1e-9), 2),
        "wall_seconds": round(time.time() - start, 2),
        "generator_path": os.path.join(out, GENERATOR_FILE), "out": out,
    }
    write_json(os.path.join(out, "result.json"), result)
    return result


def sample(model_path, num_images=64, seed=0, out="grid.png"):
    """Draws `num_images` from a saved generator (or GAN) into a PNG grid."""
    model = load_saved_model(model_path)
    if isinstance(model, GAN):
        images = model.sample(num_images, seed=seed)
    else:
        if len(model.input_shape) != 2:
            raise ValueError(f"{model_path!r} is not a generator (it takes {model.input_shape} inputs).")
        noise = keras.random.normal((int(num_images), model.input_shape[-1]), seed=seed)
        images = model(noise, training=False)
    save_grid(keras.ops.convert_to_numpy(images), out)
    return {"model_path": model_path, "images": int(num_images), "out": out}
