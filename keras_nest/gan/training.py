"""`train_gan`: a generator against the SAGAN-style discriminator, with a run folder.

The run folder holds `last.keras` (the whole GAN with both optimizers, for
`resume`), `generator.keras` (the EMA generator when there is one, else the
generator), `samples/step_XXXXXXX.png` grids from fixed noise, `state.json`,
`history.json` and `result.json`. The files of each chunk of
`checkpoint_every` steps are committed together (`keras_nest.training.run_folder`);
a NaN loss stops training with the last good chunk kept.
"""

import dataclasses
import os
import time

import keras

from keras_nest.data import dataset_slug, real_images
from keras_nest.errors import InvalidValueError
from keras_nest.gan.gan import GAN
from keras_nest.gan.grids import save_grid
from keras_nest.models import create_discriminator, create_generator, load_saved_model
from keras_nest.training.callbacks import EpochCommit, NanGuard
from keras_nest.training.run_folder import LAST, RunFolder, RunFolderError, TrainingDiverged
from keras_nest.training.spec import GanSettings, GanSpec
from keras_nest.validation import check_int

KIND = "gan"
GENERATOR_FILE = "generator.keras"


def _dataset(images, batch_size, seed):
    # tf.data is the input pipeline on every Keras backend: fit hands JAX and torch its batches as arrays.
    import tensorflow as tf

    if len(images) < batch_size:
        raise InvalidValueError(f"The data set has {len(images)} images, fewer than one batch of {batch_size}; "
                         "lower batch_size.")
    ds = tf.data.Dataset.from_tensor_slices(images)
    return ds.shuffle(min(len(images), 10_000), seed=seed).repeat().batch(batch_size, drop_remainder=True) \
        .prefetch(tf.data.AUTOTUNE)


def _chunk_files(gan, checkpoint_every, num_images=64, seed=1234):
    """The files a GAN adds to each commit: the generator to use and a grid from fixed noise."""

    def files(epoch):
        def grid(path):
            save_grid(keras.ops.convert_to_numpy(gan.sample(num_images, seed=seed)), path)

        generator = gan.ema_generator or gan.generator
        step = (epoch + 1) * checkpoint_every
        return {GENERATOR_FILE: generator.save, os.path.join("samples", f"step_{step:07d}.png"): grid}

    return files


def train_gan(generator=None, dataset=None, steps=1000, batch_size=None, out=None, loss=None,
              g_learning_rate=None, d_learning_rate=None, beta_2=None, d_steps=None, ema_decay=None,
              ema_warmup=None, diffaugment=None, r1_gamma=None, checkpoint_every=None, resume=False, seed=None,
              verbose="auto", callbacks=(), num_examples=None, generator_overrides=None,
              discriminator_overrides=None):
    """Trains a named generator against the matching discriminator with `model.fit`.

    The run folder's lifecycle (lock, one commit per chunk of
    `checkpoint_every` steps, resume checks) is `keras_nest.training.run_folder`.
    Arguments left at `None` take the defaults of `GanSpec` and
    `GanSettings` (`keras_nest.training.spec`) for a new run, and the run's
    own values when resuming; a different value is refused then.

    Args:
        generator: a name from `keras_nest.list_generators()` (default nest_gan_32).
        dataset: `"shapes"` (default), `"digits"`, `"tfds:NAME"`,
            `"folder:PATH"` (the train split, resized to the generator's
            size, as RGB).
        steps: generator updates in total (a multiple of `checkpoint_every`).
        batch_size: real (and generated) images per step (default 64).
        out: run folder (default `runs/gan-GENERATOR-DATASET`; required to resume).
        loss, g_learning_rate, d_learning_rate, beta_2, d_steps, ema_decay,
            ema_warmup, diffaugment, r1_gamma: the `GanSettings`. `ema_decay` 0 keeps
            no EMA generator.
        checkpoint_every: steps between commits (checkpoint, generator,
            sample grid); default 100, or `steps` when that is smaller.
        resume: continue the run in `out` with its optimizer state; `steps`
            is the new total. The data order restarts (it is not the
            uninterrupted run's).
        seed: seeds weights, noise and data order (default 0).
        num_examples: use only the first N training images.
        generator_overrides, discriminator_overrides: extra
            `create_generator` / `create_discriminator` arguments, e.g.
            `{"latent_modulation": True}`, `{"minibatch_std": True}`.

    Returns:
        A dict with `steps`, `wall_seconds`, `images_per_second`, the final
        losses, the settings used and the paths written.

    Raises:
        TrainingDiverged: a loss became NaN; the folder keeps the last good chunk.
        RunFolderError: `out` is busy, holds another run, or is damaged.
        ValueError, TypeError: a bad argument (named in the message).
    """
    start = time.time()
    steps = check_int("steps", steps, 1)
    given_settings = {k: v for k, v in dict(
        loss=loss, g_learning_rate=g_learning_rate, d_learning_rate=d_learning_rate, beta_2=beta_2,
        d_steps=d_steps, ema_decay=ema_decay, ema_warmup=ema_warmup, diffaugment=diffaugment,
        r1_gamma=r1_gamma).items() if v is not None}
    GanSettings(**given_settings)  # checked before any folder is touched
    given = {k: v for k, v in dict(generator=generator, dataset=dataset, batch_size=batch_size,
                                   checkpoint_every=checkpoint_every, seed=seed, num_examples=num_examples,
                                   generator_overrides=generator_overrides,
                                   discriminator_overrides=discriminator_overrides).items()
             if v is not None}
    GanSpec(**given)
    if resume and out is None:
        raise InvalidValueError("resume=True (--resume) needs the run folder to continue: pass out= (--out).")
    if out is None:
        defaults = GanSpec(**given)
        out = os.path.join("runs", f"gan-{defaults.generator}-{dataset_slug(defaults.dataset)}")
    with RunFolder.open(out, kind=KIND, identity=given, resume=resume) as run:
        spec = _resolve_spec(run, given, steps)
        settings = _resolve_settings(run, given_settings)
        chunks = steps // spec.checkpoint_every
        if run.resumed and chunks <= run.state.epoch:
            raise RunFolderError(f"{out!r} has already trained {run.state.epoch * spec.checkpoint_every} steps; "
                                 "pass a larger total --steps to continue it.")
        keras.utils.set_random_seed(spec.seed)
        gan = _build_gan(run, spec, settings)
        images = real_images(spec.dataset, gan.generator.image_size, gan.generator.output_shape[-1],
                             num_examples=spec.num_examples)
        data = _dataset(images, spec.batch_size, spec.seed)
        run.start(settings={"gan": dataclasses.asdict(settings), "steps": steps}, identity=dataclasses.asdict(spec))
        if verbose:
            print(_first_line(run, spec, settings, steps), flush=True)
        return _fit_gan(run, gan, data, chunks, spec, settings, callbacks, verbose, start)


def _resolve_spec(run, given, steps):
    """The run's own spec when resuming; else the defaults with what was given, checkpoints <= steps."""
    if run.resumed:
        spec = GanSpec(**{**run.state.identity, **given})
    else:
        spec = GanSpec(**given)
        spec = dataclasses.replace(spec, checkpoint_every=min(spec.checkpoint_every, steps))
    if steps % spec.checkpoint_every:
        raise InvalidValueError(f"steps ({steps}) must be a multiple of checkpoint_every ({spec.checkpoint_every}).")
    return spec


def _first_line(run, spec, settings, steps):
    status = f"resuming after step {run.state.epoch * spec.checkpoint_every}" if run.resumed else "new run"
    return (f"keras-nest gan train: {spec.generator} on {spec.dataset}, {steps} steps of batch {spec.batch_size}, "
            f"{settings.loss} loss, {status} in {run.path}")


def _resolve_settings(run, given):
    if not run.resumed:
        settings = dict(given)
        if settings.get("ema_decay") == 0:
            settings["ema_decay"] = None
        return GanSettings(**settings)
    # Runs from before the EMA warm-up existed trained without it.
    stored = GanSettings(**{"ema_warmup": False, **run.state.settings["gan"]})
    changed = [f"{k}={getattr(stored, k)!r} (you gave {v!r})" for k, v in given.items()
               if v != getattr(stored, k) and not (k == "ema_decay" and v == 0 and stored.ema_decay is None)]
    if changed:
        raise RunFolderError(f"Cannot resume {run.path} with other GAN settings: it trains with "
                             f"{', '.join(changed)}. Leave them out to keep the run's, or train into another folder.")
    return stored


def _build_gan(run, spec, settings):
    if run.resumed and run.state.epoch:
        gan = run.load_model(LAST)  # with both optimizers and their state
        gan.ema_warmup = settings.ema_warmup  # the run's settings decide (a GAN saved before it existed has none)
        return gan
    net = create_generator(spec.generator, **spec.generator_overrides)
    discriminator = create_discriminator(net.image_size, net.output_shape[-1], **spec.discriminator_overrides)
    gan = GAN(net, discriminator, d_steps=settings.d_steps, ema_decay=settings.ema_decay,
              ema_warmup=settings.ema_warmup,
              diffaugment=settings.diffaugment, r1_gamma=settings.r1_gamma, seed=spec.seed)
    gan.compile(
        g_optimizer=keras.optimizers.Adam(settings.g_learning_rate, beta_1=0.0, beta_2=settings.beta_2),
        d_optimizer=keras.optimizers.Adam(settings.d_learning_rate, beta_1=0.0, beta_2=settings.beta_2),
        loss=settings.loss,
    )
    return gan


def _fit_gan(run, gan, data, chunks, spec, settings, callbacks, verbose, start):
    checkpoint_every, initial_chunk = spec.checkpoint_every, run.state.epoch
    guard = NanGuard(keys=("d_loss", "g_loss"))
    commit = EpochCommit(run, guard, extra_files=_chunk_files(gan, checkpoint_every))
    fit_start = time.time()
    gan.fit(data, epochs=chunks, initial_epoch=initial_chunk, steps_per_epoch=checkpoint_every,
            verbose=verbose, callbacks=[guard, commit, *callbacks], shuffle=False)
    if guard.tripped_at is not None:
        where = guard.tripped_at
        raise TrainingDiverged(
            f"GAN training stopped: {where['key']} became {where['loss']} in chunk {where['epoch']}, step "
            f"{where['batch']}. {run.path!r} keeps the last good checkpoint ({run.state.epoch * checkpoint_every} "
            "steps); lower the "
            "learning rates or add r1_gamma / diffaugment (in a new folder: settings are fixed per run).")
    trained = (run.state.epoch - initial_chunk) * checkpoint_every
    last = run.state.history[-1] if run.state.history else {}
    result = {
        "generator": gan.generator.name, "dataset": spec.dataset,
        "steps": run.state.epoch * checkpoint_every, "batch_size": spec.batch_size,
        "params": int(gan.generator.count_params()), "d_loss": last.get("d_loss"), "g_loss": last.get("g_loss"),
        "images_per_second": round(trained * spec.batch_size / max(time.time() - fit_start, 1e-9), 2),
        "wall_seconds": round(time.time() - start, 2), "settings": dataclasses.asdict(settings),
        "generator_path": run.file(GENERATOR_FILE), "out": run.path,
    }
    run.write_result(result)
    return result


def sample(model_path, num_images=64, seed=0, out="grid.png"):
    """Draws `num_images` (>= 1) from a saved generator (or GAN) into a PNG grid."""
    num_images = check_int("num_images", num_images, 1)
    check_int("seed", seed)
    model = load_saved_model(model_path)
    if isinstance(model, GAN):
        images = model.sample(num_images, seed=seed)
    else:
        if len(model.input_shape) != 2:
            raise InvalidValueError(f"{model_path!r} is not a generator (it takes {model.input_shape} inputs).")
        noise = keras.random.normal((int(num_images), model.input_shape[-1]), seed=seed)
        images = model(noise, training=False)
    save_grid(keras.ops.convert_to_numpy(images), out)
    return {"model_path": model_path, "images": int(num_images), "out": out}
