"""`train` and `evaluate`: the NesT recipe on `model.fit`, with a run folder.

A run folder holds `last.keras` (model and optimizer state, for `resume`),
`best.keras`, `state.json`, `history.json`/`history.csv`, TensorBoard logs,
`training_curves.png`, the best model exported as a SavedModel, and
`result.json`.
"""

import math
import os
import time

import keras
import numpy as np

from keras_nest.data import dataset_info, dataset_slug, held_out_split, load_arrays
from keras_nest.data.pipeline import make_dataset
from keras_nest.models import create_model, load_saved_model, preset_config
from keras_nest.training import checkpoints
from keras_nest.training.augment import make_augmenter
from keras_nest.training.distribute import resolve_jit_compile, resolve_strategy, set_precision
from keras_nest.training.plots import plot_history
from keras_nest.training.recipe import get_recipe, make_loss, make_optimizer


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


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
    scores = model.evaluate(ds, verbose=0, return_dict=True)
    result = {"test_accuracy": float(scores["accuracy"]), "test_loss": float(scores["loss"])}
    if "top5_accuracy" in scores:
        result["test_top5_accuracy"] = float(scores["top5_accuracy"])
    return result


def _stratified_split(labels, fraction, seed):
    """Indices of a stratified `fraction` of the examples (at least one per
    class), and of the rest; both sorted."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"train_fraction must be in (0, 1], got {fraction}.")
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        keep.append(rng.permutation(members)[: max(1, int(round(fraction * len(members))))])
    keep = np.sort(np.concatenate(keep))
    return keep, np.setdiff1d(np.arange(len(labels)), keep)


def _train_and_validation(dataset, size, validation_fraction, seed):
    """Training arrays and validation arrays (for picking the best epoch).

    The test split is never used to pick a checkpoint: a data set's own
    validation split is used when it has one, else a stratified
    `validation_fraction` of the training split is held out (fixed seed, so
    a resumed run holds out the same examples).
    """
    train = load_arrays(dataset, "train", image_size=size)
    if "validation" in dataset_info(dataset).num_examples and held_out_split(dataset) != "validation":
        return train, load_arrays(dataset, "validation", image_size=size)
    held, rest = _stratified_split(train["labels"], validation_fraction, seed=12345)
    pick = lambda idx: {"images": train["images"][idx], "labels": train["labels"][idx]}  # noqa: E731
    return pick(rest), pick(held)


def _prebuild_for_multiworker(net, strategy, num_classes):
    """Works around Keras 3.15 under MultiWorkerMirroredStrategy.

    `fit` builds the compiled metrics by `strategy.reduce`-ing a tuple of
    per-replica batches, which the collective strategy rejects ("unsupported
    type PerReplica"). The same state is built here from symbolic inputs,
    and Keras' step, now redundant, is skipped for this model. Its "mean"
    reduction of the logged scalars across workers also fails (it reduces
    over axis 0, which a scalar lacks), so the steps log 1-vectors instead.
    """
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    images = keras.KerasTensor((None, *net.input_shape[1:]))
    labels = keras.KerasTensor((None, num_classes))
    with strategy.scope():
        net._symbolic_build(data_batch=(images, labels))
    net._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

    def as_vectors(step):
        return lambda data: {k: keras.ops.reshape(v, (1,)) for k, v in step(data).items()}

    net.train_step, net.test_step = as_vectors(net.train_step), as_vectors(net.test_step)


def _distribute(ds, strategy):
    import tensorflow as tf

    if strategy.num_replicas_in_sync > 1 or isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        options = tf.data.Options()
        # In-memory data has no files to shard by: shard by element instead.
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        ds = ds.with_options(options)
    return ds


def train(
    model="nest_nano_16",
    dataset="digits",
    out=None,
    recipe="small",
    epochs=None,
    batch_size=None,
    image_size=None,
    strategy="auto",
    jit_compile="auto",
    precision="float32",
    resume=False,
    seed=0,
    train_fraction=1.0,
    validation_fraction=0.1,
    tensorboard=True,
    export=True,
    verbose="auto",
    model_overrides=None,
    recipe_overrides=None,
    callbacks=(),
    tpu=None,
):
    """Trains a named model on a data set with a recipe; returns a result dict.

    Args:
        model: a name from `keras_nest.list_models()` (NesT or ViT).
        dataset: `"digits"`, `"shapes"`, `"tfds:NAME"`, `"folder:PATH"`.
        out: run folder; defaults to a new `runs/{model}-{dataset}[-N]`.
        recipe: `"small"`, `"cifar"`, `"imagenet"` or a `Recipe`;
            `epochs`, `batch_size` and `recipe_overrides` replace its fields.
        image_size: input side (or `(h, w)`); defaults to the model's.
        strategy, jit_compile, precision: see `keras_nest.training.distribute`.
        resume: continue the run in `out` from its last epoch, with its
            optimizer state. Without it, an existing run is never overwritten.
        seed: seeds weights, shuffling and augmentation.
        train_fraction: stratified fraction of the training split to use.
        validation_fraction: share of the training split held out to pick
            the best epoch, for data sets without a validation split. The
            test split only ever serves the final evaluation.
        model_overrides: extra `create_model` arguments.

    Returns:
        A dict with `test_accuracy` (top-1), `test_top5_accuracy` where there
        are more than 5 classes, `epochs`, `wall_seconds`, paths, and more.

    Raises:
        TrainingDiverged: the loss became NaN; `last.keras` is the last good epoch.
    """
    start = time.time()
    explicit = {"epochs": epochs, "batch_size": batch_size}
    recipe = get_recipe(recipe, **{**(recipe_overrides or {}), **{k: v for k, v in explicit.items() if v}})
    dataset_label = dataset if isinstance(dataset, str) else "arrays"
    if out is None:  # a fresh folder per run, so repeating a command never collides
        stem = os.path.join("runs", f"{model}-{dataset_slug(dataset_label)}")
        out, n = stem, 1
        while os.path.exists(out):
            n += 1
            out = f"{stem}-{n}"
    keras.utils.set_random_seed(seed)
    previous_policy = keras.config.dtype_policy()
    set_precision(precision)
    try:
        return _train(locals(), recipe, out, start)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def _train(args, recipe, out, start):
    name, dataset, seed = args["model"], args["dataset"], args["seed"]
    state = checkpoints.read_json(os.path.join(out, checkpoints.STATE))
    last_path = os.path.join(out, checkpoints.LAST)
    if state and not args["resume"]:
        raise FileExistsError(
            f"{out!r} already holds a run (epoch {state['epoch']}). Pass resume=True "
            "(--resume) to continue it, or choose another output folder."
        )
    info = dataset_info(dataset)
    _, config = preset_config(name, **(args["model_overrides"] or {}))
    if args["image_size"] is not None:
        size = args["image_size"]
        size = (size, size) if isinstance(size, int) else tuple(size)
    else:
        size = tuple(config["input_shape"][:2])
    overrides = dict(args["model_overrides"] or {})
    overrides.update(input_shape=(*size, info.channels), num_classes=info.num_classes)
    if recipe.drop_path_rate is not None:
        overrides["drop_path_rate"] = recipe.drop_path_rate

    strategy = resolve_strategy(args["strategy"], tpu=args["tpu"])
    jit = resolve_jit_compile(args["jit_compile"], strategy)
    with strategy.scope():
        # Built before any data is read, so a bad size or config fails at once.
        net = create_model(name, seed=seed, **overrides)

    train_arrays, val_arrays = _train_and_validation(dataset, size, args["validation_fraction"], seed)
    test_arrays = load_arrays(dataset, held_out_split(dataset), image_size=size)
    keep, _ = _stratified_split(train_arrays["labels"], args["train_fraction"], seed)
    num_train = len(keep)
    replicas = strategy.num_replicas_in_sync
    train_ds = make_dataset(
        train_arrays["images"][keep], train_arrays["labels"][keep], info.num_classes,
        mean=info.mean, std=info.std, batch_size=recipe.batch_size, training=True, seed=seed,
        drop_remainder=replicas > 1 and num_train >= recipe.batch_size,
    )
    augment = make_augmenter(recipe, info.mean, info.std, seed=seed)
    if augment is not None:
        import tensorflow as tf

        train_ds = train_ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    val_ds, test_ds = (
        _distribute(
            make_dataset(arrays["images"], arrays["labels"], info.num_classes,
                         mean=info.mean, std=info.std, batch_size=recipe.batch_size),
            strategy,
        )
        for arrays in (val_arrays, test_arrays)
    )
    train_ds = _distribute(train_ds, strategy)
    steps_per_epoch = (num_train // recipe.batch_size) if replicas > 1 else math.ceil(num_train / recipe.batch_size)

    initial_epoch, history, best = 0, [], None
    with strategy.scope():
        if args["resume"] and state:
            net = keras.saving.load_model(last_path)
            optimizer = net.optimizer
            initial_epoch, best = state["epoch"], state.get("best")
            history = checkpoints.read_json(os.path.join(out, checkpoints.HISTORY), [])
        else:
            optimizer = make_optimizer(recipe, steps_per_epoch, recipe.batch_size)
        net.compile(
            optimizer=optimizer, loss=make_loss(recipe), metrics=_metrics(info.num_classes),
            jit_compile=jit,
        )
        _prebuild_for_multiworker(net, strategy, info.num_classes)

    os.makedirs(out, exist_ok=True)
    guard = checkpoints.NanGuard()
    saver = checkpoints.RunCheckpoint(out, nan_guard=guard, history=history, best=best)
    callbacks = [guard, saver, keras.callbacks.CSVLogger(os.path.join(out, "history.csv"), append=initial_epoch > 0)]
    if args["tensorboard"]:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(out, "tensorboard")))
    callbacks.extend(args["callbacks"])
    if initial_epoch < recipe.epochs:
        net.fit(
            train_ds, validation_data=val_ds, epochs=recipe.epochs, initial_epoch=initial_epoch,
            callbacks=callbacks, verbose=args["verbose"], shuffle=False,  # the dataset shuffles itself
        )
    if guard.tripped_at is not None:
        raise TrainingDiverged(
            f"Training stopped: the loss became {guard.tripped_at['loss']} at epoch "
            f"{guard.tripped_at['epoch']}, batch {guard.tripped_at['batch']}. The last good "
            f"checkpoint is kept in {out!r} (epoch {len(saver.history)}). Lower the learning "
            "rate (recipe field base_learning_rate / --lr) or use float32, then --resume."
        )
    if not saver.chief:
        return {"status": "worker-done", "epochs": len(saver.history)}

    best_path = os.path.join(out, checkpoints.BEST)
    final = keras.saving.load_model(best_path) if os.path.exists(best_path) else net
    scores = _test_scores(final, test_ds, info.num_classes)
    plot_history(saver.history, os.path.join(out, "training_curves.png"), title=f"{name} on {dataset}")
    if args["export"]:
        final.export(os.path.join(out, "saved_model"), verbose=False)
    result = {
        "model": name,
        "dataset": dataset if isinstance(dataset, str) else "arrays",
        **scores,
        "epochs": len(saver.history),
        "best_val_accuracy": saver.best,
        "best_epoch": max(saver.history, key=lambda row: row.get("val_accuracy", -1))["epoch"]
        if saver.history else None,
        "train_examples": num_train,
        "validation_examples": int(len(val_arrays["labels"])),
        "test_examples": int(len(test_arrays["labels"])),
        "image_size": list(size),
        "params": int(final.count_params()),
        "recipe": recipe.name,
        "wall_seconds": round(time.time() - start, 2),
        "out": out,
    }
    checkpoints.write_json(os.path.join(out, "result.json"), result)
    return result


def evaluate(model_path, dataset, split=None, batch_size=128):
    """Top-1 (and top-5 with > 5 classes) of a saved model on a data set split."""
    model = load_saved_model(model_path)
    info = dataset_info(dataset)
    size = tuple(model.input_shape[1:3])
    split = split or held_out_split(dataset)
    if model.output_shape[-1] != info.num_classes:
        raise ValueError(
            f"The model predicts {model.output_shape[-1]} classes but {dataset!r} has {info.num_classes}."
        )
    arrays = load_arrays(dataset, split, image_size=size)
    ds = make_dataset(arrays["images"], arrays["labels"], info.num_classes, mean=info.mean, std=info.std,
                      batch_size=batch_size)
    return {"model_path": model_path, "dataset": dataset, "split": split,
            **_test_scores(model, ds, info.num_classes), "examples": int(len(arrays["labels"]))}
