"""`train` and `evaluate`: the NesT recipe on `model.fit`, in a run folder.

A run folder holds `last.keras` (model and optimizer state, for resuming),
`best.keras`, `state.json`, `history.json`/`history.csv`, TensorBoard logs,
`training_curves.png`, the best model exported as a SavedModel, and
`result.json`. Its lifecycle (lock, one commit per epoch, resume checks) is
`keras_nest.training.run_folder`.

Resuming (`resume=True`) continues the same training: the model, data,
image size, seed, fractions and batch size come from the run and may not
change. The recipe may: the run's recipe is the starting point and every
recipe argument given now (`epochs`, `recipe_overrides`, ...) replaces its
field. The learning-rate schedule is then rebuilt for the new recipe and
continues from the optimizer's step count, so a longer `epochs` extends the
cosine decay to the new end (the rate rises back to where the longer
schedule is at that step) and a new `base_learning_rate` takes effect at
once. Weights, optimizer moments and the data order per epoch are those of
the uninterrupted run, so without augmentation a resumed run ends with the
same weights as one that never stopped.
"""

import contextlib
import dataclasses
import hashlib
import math
import os
import time
import warnings

import keras
import numpy as np

from keras_nest.data import dataset_info, dataset_slug, load_examples
from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.export import can_export, export_model
from keras_nest.io_utils import atomic_write
from keras_nest.models import count_macs, create_model, load_saved_model, preset_config
from keras_nest.models.pretrained import weights_config
from keras_nest.presets import get_preset
from keras_nest.training.augment import make_augmenter
from keras_nest.training.callbacks import EpochCommit, NanGuard
from keras_nest.training.distribute import (
    check_batch_split,
    distribute_dataset,
    pad_batches,
    prebuild_for_multiworker,
    resolve_jit_compile,
    resolve_strategy,
    set_precision,
    worker_shard,
)
from keras_nest.training.plots import plot_history
from keras_nest.training.recipe import Recipe, get_recipe, make_loss, make_optimizer
from keras_nest.training.run_folder import BEST, LAST, RunFolder, RunFolderError, TrainingDiverged
from keras_nest.training.spec import DEFAULT_RECIPE, RunOptions, TrainSpec
from keras_nest.validation import check_bool, check_float, check_int

KIND = "classifier"
# The validation hold-out does not depend on the run's seed, so every run
# (and every resumption) picks the best epoch on the same examples.
VALIDATION_SPLIT_SEED = 12345


def train(
    model=None,
    dataset=None,
    out=None,
    recipe=None,
    epochs=None,
    batch_size=None,
    image_size=None,
    strategy="auto",
    jit_compile="auto",
    precision="float32",
    resume=False,
    seed=None,
    train_fraction=None,
    validation_fraction=None,
    num_examples=None,
    tensorboard=True,
    export=True,
    verbose="auto",
    model_overrides=None,
    weights=None,
    recipe_overrides=None,
    callbacks=(),
    tpu=None,
):
    """Trains a named model on a data set with a recipe; returns a result dict.

    Arguments left at `None` take the defaults of `TrainSpec` and the
    `"small"` recipe for a new run, and the run's own values when resuming.

    Args:
        model: a name from `keras_nest.list_models()` (default `nest_nano_16`).
        dataset: `"digits"` (default), `"shapes"`, `"tfds:NAME"`,
            `"folder:PATH"`, or an `(images, labels)` pair (give it again
            to resume).
        out: run folder; defaults to a new `runs/{model}-{dataset}[-N]`.
        recipe: `"small"`, `"cifar"`, `"imagenet"` or a `Recipe`;
            `epochs`, `batch_size` and `recipe_overrides` replace its fields.
        image_size: input side (or `(h, w)`); defaults to the model's.
        strategy, jit_compile, precision: see `keras_nest.training.distribute`.
        resume: continue the run in `out` (see the module docstring for what
            may change). An empty or missing `out` starts a new run. Without
            it, an existing run is never overwritten.
        seed: seeds weights, data order and augmentation (default 0).
        train_fraction: stratified fraction of the training split to use (default 1).
        num_examples: size of the training split (default: the data set's):
            a generated set (`shapes`, `cluttered_digits`) draws that many
            images, more than its default if asked; another set takes its
            first N and refuses more than it has.
        validation_fraction: share of the training split held out to pick
            the best epoch (default 0.1), for data sets without a validation
            split. The test split only ever serves the final evaluation.
        model_overrides: extra `create_model` arguments.
        weights: what the model starts from: `"imagenet"` (the preset's
            published weights), `"hf://ORG/REPO[/FILE]"` or a file path
            (see `create_model`); every tensor that fits is kept, the head is
            new when the class count differs, the input normalisation is
            the weights' own. Use it with `recipe="finetune"`.

    Returns:
        A dict with `test_accuracy` (top-1), `test_top5_accuracy` where there
        are more than 5 classes, `epochs`, the full `recipe` used,
        `wall_seconds`, paths, and more.

    Raises:
        TrainingDiverged: the loss became NaN; the folder keeps the last good epoch.
        RunFolderError: `out` is busy, holds another run, or is damaged.
        ValueError, TypeError: a bad argument (named in the message).
    """
    start = time.time()
    given = _given_identity(model=model, dataset=dataset, image_size=image_size, seed=seed,
                            train_fraction=train_fraction, validation_fraction=validation_fraction,
                            num_examples=num_examples, model_overrides=model_overrides, weights=weights)
    requested = _recipe_request(recipe, epochs=epochs, batch_size=batch_size, overrides=recipe_overrides)
    options = RunOptions(strategy=strategy, jit_compile=jit_compile, precision=precision,
                         tensorboard=tensorboard, export=export, verbose=verbose,
                         callbacks=tuple(callbacks), tpu=tpu)
    if check_bool("resume", resume) and out is None:
        raise InvalidValueError("resume=True (--resume) needs the run folder to continue: pass out= (--out).")
    out = out or _new_run_folder(TrainSpec(**given))
    # The strategy before anything else: a multi-worker (TF) or multi-host (JAX) one joins its cluster
    # before any op runs, and decides which process writes the run folder.
    strategy = resolve_strategy(options.strategy, tpu=options.tpu)
    with RunFolder.open(out, kind=KIND, identity=given, resume=resume) as run:
        spec = TrainSpec(**{**(run.state.identity if run.resumed else {}), **given})
        recipe = _resolve_recipe(run, requested)
        source = _data_source(spec, dataset)
        previous_policy = keras.config.dtype_policy()
        keras.utils.set_random_seed(spec.seed)
        set_precision(options.precision)
        try:
            return _run(run, spec, recipe, source, options, strategy, start)
        finally:
            keras.config.set_dtype_policy(previous_policy)


def _given_identity(dataset, **values):
    """The `TrainSpec` fields the caller gave (not `None`), checked and as plain Python values."""
    if dataset is not None:
        values["dataset"] = _dataset_label(dataset)
    given = {k: v for k, v in values.items() if v is not None}
    checked = TrainSpec(**given)  # before any folder is touched
    return {name: getattr(checked, name) for name in given}


def _dataset_label(dataset):
    if isinstance(dataset, str):
        return dataset
    try:
        images, labels = dataset
    except (TypeError, ValueError):
        raise InvalidTypeError("dataset must be a data set name (digits, shapes, tfds:NAME, folder:PATH) or an "
                        f"(images, labels) pair of arrays, got {type(dataset).__name__}.") from None
    digest = hashlib.sha1()
    for array in (np.ascontiguousarray(images), np.ascontiguousarray(labels)):
        digest.update(str((array.shape, array.dtype)).encode())
        digest.update(array.tobytes())
    return f"arrays:{digest.hexdigest()[:16]}"


def _data_source(spec, dataset):
    if spec.dataset.startswith("arrays:"):
        if dataset is None:
            raise InvalidValueError("This run was trained on in-memory arrays: pass the same (images, labels) "
                             "as dataset= to resume it.")
        return dataset
    return spec.dataset


def _new_run_folder(spec):
    """A fresh `runs/{model}-{dataset}[-N]`, so repeating a command never collides."""
    label = "arrays" if spec.dataset.startswith("arrays:") else spec.dataset
    stem = os.path.join("runs", f"{spec.model}-{dataset_slug(label)}")
    out, n = stem, 1
    while os.path.exists(out):
        n += 1
        out = f"{stem}-{n}"
    return out


@dataclasses.dataclass(frozen=True)
class _RecipeRequest:
    """The recipe named by the caller (or `None`) and the fields given explicitly."""

    recipe: object
    fields: dict


def _recipe_request(recipe, epochs, batch_size, overrides):
    fields = dict(overrides or {})
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value is not None:
            fields[name] = value
    fields = {k: v for k, v in fields.items() if v is not None}
    get_recipe(DEFAULT_RECIPE if recipe is None else recipe, **fields)  # checks names and values now
    return _RecipeRequest(recipe, fields)


def _resolve_recipe(run, request):
    """A new run's recipe, or the run's own with the fields given now replaced."""
    if not run.resumed:
        return get_recipe(DEFAULT_RECIPE if request.recipe is None else request.recipe, **request.fields)
    stored = Recipe(**{k: tuple(v) if isinstance(v, list) else v for k, v in run.state.settings["recipe"].items()})
    fields = dict(request.fields)
    if request.recipe is not None:
        named = request.recipe.name if isinstance(request.recipe, Recipe) else request.recipe
        if named != stored.name:
            raise RunFolderError(f"Cannot resume {run.path} with recipe {named!r}: it was trained with "
                                 f"{stored.name!r}. Override single fields instead (e.g. --base-learning-rate).")
        if isinstance(request.recipe, Recipe):  # its changed fields count as given
            fields = {**_changed_fields(stored, request.recipe), **fields}
    recipe = get_recipe(stored, **fields)
    if recipe.batch_size != stored.batch_size:
        raise RunFolderError(f"Cannot resume {run.path} with batch_size {recipe.batch_size}: its epochs are "
                             f"batches of {stored.batch_size}, and the step count must stay whole epochs. "
                             "Resume with the run's batch size or train into another folder.")
    done = run.state.epoch
    if recipe.epochs < done or (recipe.epochs == done and run.finished):
        raise RunFolderError(f"{run.path} has already trained {done} epoch(s); pass a larger epochs "
                             f"(--epochs) than {done} to train it further.")
    return recipe


def _changed_fields(old, new):
    return {f.name: getattr(new, f.name) for f in dataclasses.fields(Recipe)
            if getattr(new, f.name) != getattr(old, f.name)}


@dataclasses.dataclass(frozen=True)
class _Data:
    """The run's data: pipelines, sizes and the data set's facts."""

    train: object
    validation: object
    test: object
    steps_per_epoch: int
    num_train: int
    num_validation: int
    num_test: int


def _run(run, spec, recipe, source, options, strategy, start):
    size = spec.image_size or tuple(preset_config(spec.model, **spec.model_overrides)[1]["input_shape"][:2])
    spec = dataclasses.replace(spec, image_size=size)  # stored resolved, so resuming may name it
    info = dataset_info(source, image_size=size)
    done = run.state.epoch if run.resumed else 0
    with strategy.scope():  # built before any data is read, so a bad size or config fails at once
        net = _build_model(spec, recipe, size, info, resumed_from=run.file(LAST) if done else None)
    jit = resolve_jit_compile(options.jit_compile, strategy, macs_per_step=count_macs(net) * recipe.batch_size)
    if options.verbose and run.chief:
        print(_first_line(run, spec, recipe, jit), flush=True)
    data = _make_data(source, spec, recipe, size, info, strategy, first_epoch=done)
    with strategy.scope():
        optimizer = make_optimizer(recipe, data.steps_per_epoch, recipe.batch_size, model=net)
        if done:
            _restore(run, net, optimizer, data.steps_per_epoch)
        net.compile(optimizer=optimizer, loss=make_loss(recipe), metrics=_metrics(info.num_classes),
                    jit_compile=jit)
        prebuild_for_multiworker(net, strategy, info.num_classes)
    # Committed only now: a run that fails on its data or checkpoint changes nothing in the folder.
    run.start(settings={"recipe": dataclasses.asdict(recipe), "precision": options.precision,
                        "backend": keras.backend.backend()},
              identity=dataclasses.asdict(spec), monitor="val_accuracy")
    with strategy.scope():  # keras.distribution shards the batches of the fit it encloses
        guard = _fit(run, net, recipe, data, options)
    if guard.tripped_at is not None:
        raise TrainingDiverged(_divergence_message(guard.tripped_at, run))
    if not run.chief:
        return {"status": "worker-done", "epochs": run.state.epoch}
    return _finish(run, spec, recipe, info, data, options, size, start)


def _first_line(run, spec, recipe, jit):
    """One line that says what this run is, printed before anything slow happens."""
    xla = {True: "on", False: "off"}.get(jit, "Keras' choice")
    start = f"resuming after epoch {run.state.epoch}" if run.resumed else "new run"
    height, width = spec.image_size
    weights = f" from weights {spec.weights}" if spec.weights else ""
    return (f"keras-nest train: {spec.model}{weights} on {spec.dataset} at {height}x{width}, recipe {recipe.name} "
            f"({recipe.epochs} epochs, batch {recipe.batch_size}), {start} in {run.path}, XLA {xla}")


def _build_model(spec, recipe, size, info, resumed_from=None):
    """The run's model: with `spec.weights`, what they bring (their input normalisation) and them.

    `resumed_from` (the run's own checkpoint) replaces the weights: the model
    keeps that checkpoint's normalisation and GELU form (its weights are
    restored from it later), whether or not `spec.weights` is still there.
    """
    source = resumed_from or spec.weights
    carried = weights_config(get_preset(spec.model, "classifier"), source) if source else {}
    overrides = {**carried, **spec.model_overrides}
    # The saved models take raw pixels and name their classes, so they work without the run folder.
    overrides.update(input_shape=(*size, info.channels), num_classes=info.num_classes, include_preprocessing=True,
                     class_names=[str(name) for name in info.class_names], crop_pct=recipe.crop_pct)
    if "pixel_mean" not in carried:  # pretrained features expect the inputs normalised as in pretraining
        overrides.update(pixel_mean=tuple(info.mean), pixel_std=tuple(info.std))
    if recipe.drop_path_rate is not None:
        overrides["drop_path_rate"] = recipe.drop_path_rate
    weights = None if resumed_from else spec.weights
    return create_model(spec.model, weights=weights, seed=spec.seed, **overrides)


def _make_data(source, spec, recipe, size, info, strategy, first_epoch):
    crops = {"train_crop_min_area": recipe.train_crop_min_area, "crop_pct": recipe.crop_pct}
    train, validation = _train_and_validation(source, size, spec, info, crops)
    test, _ = load_examples(source, info.held_out_split, image_size=size, **crops)
    keep, _ = _stratified_split(train.labels, spec.train_fraction, spec.seed, "train_fraction")
    train = train.subset(keep)
    replicas = check_batch_split(recipe.batch_size, strategy)
    drop = replicas > 1 and len(keep) >= recipe.batch_size
    steps = len(keep) // recipe.batch_size if drop else math.ceil(len(keep) / recipe.batch_size)
    # Raw pixels throughout: the model normalises inside.
    train_ds = train.shard(*worker_shard(strategy)).dataset(
        info.num_classes, recipe.batch_size, training=True, seed=spec.seed, epochs=(first_epoch, recipe.epochs),
        drop_remainder=drop)
    augment = make_augmenter(recipe, info.mean, info.std, seed=spec.seed)
    if augment is not None:
        import tensorflow as tf

        train_ds = train_ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    val_ds = distribute_dataset(pad_batches(validation.dataset(info.num_classes, recipe.batch_size), strategy),
                                strategy, sharded=False)
    # The test split is scored after fit, by the best model on one device (no distribution).
    test_ds = test.dataset(info.num_classes, recipe.batch_size)
    return _Data(train=distribute_dataset(train_ds, strategy, sharded=train.streamed), validation=val_ds,
                 test=test_ds, steps_per_epoch=steps, num_train=len(keep), num_validation=len(validation),
                 num_test=len(test))


def _restore(run, net, optimizer, steps_per_epoch):
    """Loads the run's weights and optimizer state into a freshly built model and optimizer.

    The optimizer is the one the recipe makes now (its schedule and weight
    decay exclusions), holding the saved moments and step count: a
    deserialized optimizer would lose the exclusions and keep the old schedule.
    """
    saved = run.load_model(LAST)
    _copy_variables(net.weights, saved.weights, run.file(LAST), "weight")
    optimizer.build(net.trainable_variables)
    if saved.optimizer is None:
        raise RunFolderError(f"{run.file(LAST)} holds no optimizer state; it cannot be resumed.")
    _copy_variables(optimizer.variables, saved.optimizer.variables, run.file(LAST), "optimizer variable")
    steps = int(keras.ops.convert_to_numpy(optimizer.iterations))
    expected = run.state.epoch * steps_per_epoch
    if steps != expected:
        raise RunFolderError(
            f"{run.file(LAST)} has made {steps} optimizer steps but {run.file('state.json')} records "
            f"{run.state.epoch} epoch(s) of {steps_per_epoch} steps ({expected}). The folder does not "
            "describe one run: train into another folder."
        )


def _copy_variables(targets, sources, path, what):
    if len(targets) != len(sources):
        raise RunFolderError(f"{path} holds {len(sources)} {what}s; this run's model needs {len(targets)}. "
                             "It was saved by another model: train into another folder.")
    for target, source in zip(targets, sources):
        if tuple(target.shape) != tuple(source.shape):
            raise RunFolderError(f"{path}: {what} {source.path} has shape {tuple(source.shape)}, this run "
                                 f"needs {tuple(target.shape)} for {target.path}.")
        target.assign(source)


def _fit(run, net, recipe, data, options):
    guard = NanGuard()
    callbacks = [guard, EpochCommit(run, guard, monitor="val_accuracy")]
    if options.tensorboard and run.chief:
        callbacks.append(keras.callbacks.TensorBoard(run.file("tensorboard")))
    callbacks.extend(options.callbacks)
    if run.state.epoch < recipe.epochs:
        with _unknown_length_quiet():
            net.fit(
                data.train, validation_data=data.validation, epochs=recipe.epochs, initial_epoch=run.state.epoch,
                steps_per_epoch=data.steps_per_epoch, callbacks=callbacks, verbose=options.verbose,
                shuffle=False,  # the dataset orders each epoch itself
            )
    return guard


@contextlib.contextmanager
def _unknown_length_quiet():
    """Silences Keras' "input ran out of data" at the end of a streamed evaluation pass.

    A streamed split's length is unknown until a pass ends (skipped files are
    only found by reading them), and Keras warns when such a pass ends. The
    training streams never end (files) or hold exactly `steps_per_epoch *
    epochs` batches (arrays), so the warning has nothing else to say here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        yield


def _divergence_message(where, run):
    kept = (f"The run folder {run.path!r} keeps epoch {run.state.epoch} (last.keras)"
            if run.state.epoch else f"No epoch finished, so {run.path!r} holds no checkpoint yet")
    return (
        f"Training stopped: the loss became {where['loss']} at epoch {where['epoch']}, batch "
        f"{where['batch']}. {kept}. Lower the learning rate (--base-learning-rate, the recipe field "
        "base_learning_rate) or use float32, then resume (--resume): the new rate is applied."
    )


def _finish(run, spec, recipe, info, data, options, size, start):
    final = run.load_model(BEST, compile=False)
    if not final.includes_preprocessing:  # a best epoch saved before models carried their preprocessing
        rebuilt = _build_model(spec, recipe, size, info, resumed_from=run.file(LAST))
        rebuilt.set_weights(final.get_weights())  # the preprocessing layer holds no weights
        final = rebuilt
        atomic_write(run.file(BEST), final.save)  # the same weights, now taking raw pixels
    scores = _test_scores(final, data.test, info.num_classes)
    history = list(run.state.history)
    plot_history(history, run.file("training_curves.png"), title=f"{spec.model} on {spec.dataset}")
    exported = options.export and can_export("saved_model")
    if exported:
        export_model(final, run.file("saved_model"))
    elif options.export and options.verbose:
        print(f"No SavedModel export on {keras.backend.backend()}: best.keras holds the model; "
              f"keras-nest export --model-path {run.file(BEST)} --backend tensorflow writes one.", flush=True)
    result = {
        "model": spec.model,
        "dataset": spec.dataset,
        **scores,
        "epochs": run.state.epoch,
        "best_val_accuracy": run.state.best,
        "best_epoch": max(history, key=lambda row: row.get("val_accuracy", -1))["epoch"],
        "train_examples": data.num_train,
        "validation_examples": data.num_validation,
        "test_examples": data.num_test,
        "image_size": list(size),
        # The model's own: the data set's, or those of the weights it started from.
        "normalization": {"mean": final.model_config["pixel_mean"], "std": final.model_config["pixel_std"]},
        "params": int(final.count_params()),
        "recipe": dataclasses.asdict(recipe),
        "spec": dataclasses.asdict(spec),
        "precision": options.precision,
        "backend": keras.backend.backend(),
        "wall_seconds": round(time.time() - start, 2),
        "out": run.path,
        "saved_model": run.file("saved_model") if exported else None,
    }
    run.write_result(result)
    return result


def _evaluation_loss():
    # Plain cross-entropy on hard labels, as the official evaluation; the
    # recipe's label smoothing belongs to training only.
    return keras.losses.CategoricalCrossentropy(from_logits=True)


def _metrics(num_classes):
    metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    if num_classes > 5:
        metrics.append(keras.metrics.TopKCategoricalAccuracy(k=5, name="top5_accuracy"))
    return metrics


def _test_scores(model, ds, num_classes):
    """`test_accuracy`, `test_loss` and, with more than 5 classes, `test_top5_accuracy`."""
    model.compile(loss=_evaluation_loss(), metrics=_metrics(num_classes))
    with _unknown_length_quiet():
        scores = model.evaluate(ds, verbose=0, return_dict=True)
    result = {"test_accuracy": float(scores["accuracy"]), "test_loss": float(scores["loss"])}
    if "top5_accuracy" in scores:
        result["test_top5_accuracy"] = float(scores["top5_accuracy"])
    return result


def _stratified_split(labels, fraction, seed, name):
    """Indices of a stratified `fraction` of the examples (at least one per
    class), and of the rest; both sorted. `name` is the argument `fraction`
    came from, for the error message."""
    fraction = check_float(name, fraction, 0.0, 1.0, min_inclusive=False)
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        keep.append(rng.permutation(members)[: max(1, int(round(fraction * len(members))))])
    keep = np.sort(np.concatenate(keep))
    return keep, np.setdiff1d(np.arange(len(labels)), keep)


def _train_and_validation(dataset, size, spec, info, crops):
    """Training examples and validation examples (for picking the best epoch).

    The test split is never used to pick a checkpoint: a data set's own
    validation split is used when it has one, else a stratified
    `spec.validation_fraction` of the training split is held out (by label,
    so streamed files are not read to choose it).
    """
    train, _ = load_examples(dataset, "train", image_size=size, num_examples=spec.num_examples, **crops)
    if spec.num_examples is not None and len(train) < spec.num_examples:
        raise InvalidValueError(f"num_examples={spec.num_examples} asks for more training examples than "
                                f"{spec.dataset} has ({len(train)}); give at most {len(train)}, or leave it out.")
    if "validation" in info.num_examples and info.held_out_split != "validation":
        return train, load_examples(dataset, "validation", image_size=size, **crops)[0]
    held, rest = _stratified_split(train.labels, spec.validation_fraction, VALIDATION_SPLIT_SEED,
                                   "validation_fraction")
    return train.subset(rest), train.subset(held)


def evaluate(model_path, dataset, split=None, batch_size=128):
    """Top-1 (and top-5 with > 5 classes) of a saved model on a data set split.

    A model that normalises inside (every model `train` saves) reads raw
    pixels; an older one gets the data set's normalisation. Streamed images
    get the evaluation crop the model was trained with (`model.crop_pct`).
    """
    check_int("batch_size", batch_size, minimum=1)
    model = load_saved_model(model_path)
    size, channels = tuple(model.input_shape[1:3]), model.input_shape[-1]
    info = dataset_info(dataset, image_size=size, channels=channels)
    split = split or info.held_out_split
    if model.output_shape[-1] != info.num_classes:
        raise InvalidValueError(
            f"The model predicts {model.output_shape[-1]} classes but {dataset!r} has {info.num_classes}."
        )
    raw = getattr(model, "includes_preprocessing", False)
    examples, _ = load_examples(dataset, split, image_size=size, channels=channels,
                                crop_pct=getattr(model, "crop_pct", 1.0))
    ds = examples.dataset(info.num_classes, batch_size, mean=None if raw else info.mean,
                          std=None if raw else info.std)
    return {"model_path": model_path, "dataset": dataset, "split": split,
            **_test_scores(model, ds, info.num_classes), "examples": len(examples)}
