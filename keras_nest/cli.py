"""The `keras-nest` command line: `train`, `evaluate`, `predict`, `export`, `explain image|evaluate`,
`gan train|sample`, `models`.

Every command ends by printing one JSON line on stdout, so scripts can read
the result. Errors the library raises on purpose for bad input
(`keras_nest.errors.InputError`) and missing or existing files end with a
one-line message on stderr and exit status 2; a diverged training exits
with 3; anything else is a bug and shows its traceback.

Start-up stays light: `--help`, `--version` and `models` never import
TensorFlow, and the other commands import it with its native start-up
logging silenced (a CPU-only machine prints no CUDA lines). Flags left out
take the defaults of the Python functions and dataclasses they feed
(`keras_nest.training.spec`, `keras_nest.training.recipe`).
"""

import argparse
import dataclasses
import json
import os
import sys

from keras_nest import __version__
from keras_nest.backends import select_backend


def _load_tensorflow_quietly():
    """Imports TensorFlow and Keras with stderr closed at the file-descriptor level.

    TensorFlow 2.21 prints absl/CUDA lines while loading, before
    `TF_CPP_MIN_LOG_LEVEL` is read; only the import is silenced, so real
    errors (raised as exceptions) still surface.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _verbose(value):
    """Keras' verbosity: `auto` is a progress bar on a terminal, one line per epoch otherwise."""
    if value == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(value)


def _defaults(module_path, function):
    """The literal keyword defaults of `function` in `keras_nest/<module_path>`, read from the source.

    So the help texts show the Python functions' defaults (the one place they
    live) without importing TensorFlow.
    """
    import ast

    node = next(n for n in _module_tree(module_path).body if isinstance(n, ast.FunctionDef) and n.name == function)
    named = node.args.args[len(node.args.args) - len(node.args.defaults):]
    return {a.arg: ast.literal_eval(d) for a, d in zip(named, node.args.defaults) if isinstance(d, ast.Constant)}


def _constant(module_path, name):
    """The literal value of the module-level constant `name` in `keras_nest/<module_path>`."""
    import ast

    node = next(n for n in _module_tree(module_path).body if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == name for t in n.targets))
    return ast.literal_eval(node.value)


def _module_tree(module_path):
    import ast

    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), module_path)) as f:
        return ast.parse(f.read())


def _given(args, names):
    """The arguments the user gave (not None), for the functions whose defaults apply otherwise."""
    return {target: getattr(args, name) for name, target in names.items() if getattr(args, name) is not None}


def _print_json(data):
    print(json.dumps(data), flush=True)
    return 0


# --- commands ---------------------------------------------------------------


def _cmd_models(args):
    from keras_nest.presets import preset_rows

    kinds = ("classifier", "generator") if args.kind == "all" else (args.kind,)
    if args.json:
        return _print_json([row for kind in kinds for row in preset_rows(kind)])
    for kind in kinds:
        rows = preset_rows(kind)
        size_key = "input_size" if kind == "classifier" else "image_size"
        print(f"{kind + 's':<22}{'params':>14}{'size':>10}{'GMACs':>9}")
        for row in rows:
            gmacs = f"{row['gmacs']:>9.2f}" if row.get("gmacs") is not None else f"{'':>9}"
            print(f"  {row['name']:<20}{row['params']:>14,}{row[size_key]:>10}{gmacs}")
    return 0


def _cmd_train(args):
    from keras_nest.training.recipe import Recipe
    from keras_nest.training.trainer import train

    fields = {f.name for f in dataclasses.fields(Recipe)} & set(vars(args))
    recipe_overrides = {name: getattr(args, name) for name in fields if getattr(args, name) is not None}
    options = {name: getattr(args, name) for name in ("strategy", "jit_compile", "precision", "tpu")
               if getattr(args, name) is not None}
    result = train(
        model=args.model, dataset=args.dataset, out=args.out, recipe=args.recipe, image_size=args.image_size,
        resume=args.resume, seed=args.seed, train_fraction=args.train_fraction, num_examples=args.num_examples,
        weights=args.weights,
        tensorboard=not args.no_tensorboard, export=not args.no_export, verbose=_verbose(args.verbose),
        recipe_overrides=recipe_overrides, **options,
    )
    return _print_json(result)


def _cmd_evaluate(args):
    from keras_nest.training.trainer import evaluate

    return _print_json(evaluate(args.model_path, args.dataset, **_given(args, {"split": "split",
                                                                                "batch_size": "batch_size"})))


def _run_dataset(model_path, dataset):
    """The data set a run was trained on (its `result.json`), unless given."""
    if dataset:
        return dataset
    from keras_nest.errors import InvalidValueError
    from keras_nest.io_utils import read_json

    if model_path is None:
        raise InvalidValueError("These weights carry no input normalisation: pass --dataset NAME (the data they "
                                "were trained on) so images are normalised as in training.")
    result = read_json(os.path.join(os.path.dirname(os.path.abspath(model_path)), "result.json"))
    if not result or "dataset" not in result:
        raise InvalidValueError(
            "Cannot tell which data set the model was trained on (no result.json beside it); "
            "pass --dataset NAME so the images are normalised as in training."
        )
    return result["dataset"]


def _input_facts(model, model_path, dataset):
    """`(mean, std, class_names)` to feed and label `model`: its own when it normalises inside."""
    raw = getattr(model, "includes_preprocessing", False)
    if raw and not dataset:
        return None, None, model.class_names or tuple(str(c) for c in range(model.output_shape[-1]))
    from keras_nest.data import dataset_info

    info = dataset_info(_run_dataset(model_path, dataset), image_size=tuple(model.input_shape[1:3]),
                        channels=model.input_shape[-1])
    if raw:
        return None, None, model.class_names or info.class_names
    return info.mean, info.std, info.class_names


def _cmd_explain_image(args):
    import warnings

    from keras_nest import explain
    from keras_nest.data.images import read_image
    from keras_nest.models import load_saved_model

    model = load_saved_model(args.model_path)
    mean, std, class_names = _input_facts(model, args.model_path, args.dataset)
    image = read_image(args.image, model.input_shape[-1])
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always")
        found = explain.explain_image(model, image, mean, std, args.class_index, args.cam_method)
    for note in notes:
        print(f"keras-nest explain: note: {note.message}", file=sys.stderr)
    top_k = args.top_k if args.top_k is not None else _defaults("explain/figures.py", "explain_figure")["top_k"]
    figure = explain.explain_figure(model, image, mean, std, class_names,
                                    args.class_index, top_k, explanation=found)
    figure.savefig(args.out, dpi=120)
    probabilities = found["probabilities"]
    top = [int(c) for c in probabilities.argsort()[::-1][:top_k]]
    return _print_json({
        "image": args.image, "out": args.out,
        "class": class_names[found["gradcat"].class_index], "cam_method": found["cam_method"],
        "top_k": [[class_names[c], round(float(probabilities[c]), 4)] for c in top],
        "gradcat_path": [[level, block, list(box)] for level, block, box in found["gradcat"].path],
    })


def _cmd_predict(args):
    from keras_nest.errors import InvalidValueError
    from keras_nest.models import create_model, load_saved_model
    from keras_nest.predict import predict_files

    if (args.model_path is None) == (args.model is None):
        raise InvalidValueError("Give either --model-path FILE or --model NAME (with --weights), not both.")
    if args.model and not args.weights:
        raise InvalidValueError("--model needs --weights (imagenet, hf://ORG/REPO[/FILE] or a file): a model with "
                                "random weights predicts nothing.")
    model = load_saved_model(args.model_path) if args.model_path else create_model(args.model, weights=args.weights)
    mean, std, class_names = _input_facts(model, args.model_path, args.dataset)
    options = _given(args, {"top_k": "top_k", "batch_size": "batch_size", "crop_pct": "crop_pct"})
    predictions = predict_files(model, args.images, mean=mean, std=std, class_names=class_names, **options)
    for prediction in predictions:
        _print_json(prediction.as_json())
    skipped = sum(p.error is not None for p in predictions)
    if skipped:
        print(f"keras-nest predict: note: skipped {skipped} unreadable file(s) of {len(predictions)}", file=sys.stderr)
    return 0


def _cmd_export(args):
    import keras

    from keras_nest.export import default_export_path, export_model, run_exported
    from keras_nest.models import load_saved_model

    model = load_saved_model(args.model_path)
    out = args.out or default_export_path(args.model_path, args.format)
    export_model(model, out, args.format)
    # Checked at once with the format's own runtime on random pixels, batch 2.
    images = keras.random.uniform((2, *model.input_shape[1:]), 0, 255, seed=0)
    expected = model(images, training=False)
    difference = None  # a model with several outputs (a feature pyramid) is exported, not compared here
    if not isinstance(expected, (dict, list, tuple)):
        got = run_exported(out, keras.ops.convert_to_numpy(images))
        difference = float(abs(got - keras.ops.convert_to_numpy(expected)).max())
    return _print_json({"model_path": args.model_path, "format": args.format, "out": out,
                        "raw_pixel_input": bool(getattr(model, "includes_preprocessing", False)),
                        "max_abs_difference": difference})


def _cmd_explain_evaluate(args):
    from keras_nest import explain
    from keras_nest.models import load_saved_model

    model = load_saved_model(args.model_path)
    vit = load_saved_model(args.vit_model_path) if args.vit_model_path else None
    given = _given(args, {"dataset": "dataset", "split": "split", "num_examples": "num_examples",
                          "batch_size": "batch_size"})
    return _print_json(explain.evaluate_localization(model, vit_model=vit, **given))


def _cmd_gan_train(args):
    from keras_nest.gan.training import train_gan
    from keras_nest.training.spec import GanSettings
    from keras_nest.validation import check_int

    check_int("--fd-samples", args.fd_samples, 0)  # before hours of training, not after
    settings = {f.name: getattr(args, f.name) for f in dataclasses.fields(GanSettings)}
    result = train_gan(
        generator=args.generator, dataset=args.dataset, batch_size=args.batch_size, out=args.out,
        checkpoint_every=args.checkpoint_every, resume=args.resume, seed=args.seed, verbose=_verbose(args.verbose),
        **_given(args, {"steps": "steps"}), **settings,
    )
    if args.fd_samples:
        from keras_nest.metrics import score_generator
        from keras_nest.models import load_saved_model

        generator = load_saved_model(result["generator_path"])
        result.update(score_generator(generator, result["dataset"], num_samples=args.fd_samples))
    return _print_json(result)


def _cmd_gan_sample(args):
    from keras_nest.gan.training import sample

    return _print_json(sample(args.model_path, **_given(args, {"n": "num_images", "seed": "seed", "out": "out"})))


# --- parser -----------------------------------------------------------------


def _bool(text):
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _verbosity(text):
    if text in ("auto", "0", "1", "2"):
        return text
    raise argparse.ArgumentTypeError(f"expected auto, 0, 1 or 2, got {text!r}")


def _add_backend(parser):
    from keras_nest.backends import BACKENDS

    parser.add_argument("--backend", choices=BACKENDS,
                        help="Keras backend (default: KERAS_BACKEND, else Keras' configured one, tensorflow)")


def _add_train(commands):
    from keras_nest.training.distribute import JIT_CHOICES, PRECISIONS, STRATEGIES
    from keras_nest.training.spec import DEFAULT_RECIPE, RunOptions, TrainSpec

    spec, options = TrainSpec(), RunOptions()
    train = commands.add_parser(
        "train", help="train a classifier (no arguments: a small NesT on the bundled digits)",
        description="Train with model.fit and a NesT recipe, in a run folder. Flags left out take the "
        "defaults below for a new run, or the run's own values with --resume.")
    train.add_argument("--model", help=f"a name from `keras-nest models` (default {spec.model})")
    train.add_argument("--dataset", help=f"digits | shapes | tfds:NAME | folder:PATH (default {spec.dataset})")
    train.add_argument("--out", help="run folder (default: a new runs/MODEL-DATASET[-N])")
    train.add_argument("--recipe", help=f"small | cifar | imagenet | finetune (default {DEFAULT_RECIPE}); the "
                       "recipe flags below replace its fields")
    train.add_argument("--weights", help="start from weights: imagenet (the model's published ones, from the "
                       "Hugging Face hub), hf://ORG/REPO[/FILE] or a file; use with --recipe finetune")
    train.add_argument("--image-size", type=int, help="input side in pixels (default: the model's)")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out; recipe flags given now replace the run's")
    train.add_argument("--seed", type=int, help=f"seeds weights, data order, augmentation (default {spec.seed})")
    train.add_argument("--train-fraction", type=float,
                       help=f"stratified fraction of the train split to use (default {spec.train_fraction:g})")
    train.add_argument("--num-examples", type=int,
                       help="training images: shapes and cluttered_digits draw this many (more than their "
                       "default if asked), other sets take their first N (default: the whole train split)")
    train.add_argument("--strategy", choices=STRATEGIES,
                       help=f"tensorflow: mirrored | multiworker | tpu (tf.distribute); jax: data_parallel "
                       f"(keras.distribution); default {options.strategy}: the backend's best for the devices")
    train.add_argument("--tpu", help="TPU name or address for --strategy tpu")
    train.add_argument("--jit-compile", choices=JIT_CHOICES,
                       help=f"XLA (default {options.jit_compile}: see the README's Distribution section)")
    train.add_argument("--precision", choices=PRECISIONS, help=f"dtype policy (default {options.precision})")
    train.add_argument("--no-tensorboard", action="store_true", help="write no TensorBoard logs")
    train.add_argument("--no-export", action="store_true", help="skip the SavedModel export of the best model")
    train.add_argument("--verbose", default="auto", type=_verbosity,
                       help="0, 1 (progress bar) or 2 (a line per epoch); auto: 1 on a terminal, else 2")
    _add_recipe_flags(train.add_argument_group("recipe fields (defaults: small / cifar / imagenet / finetune)"))
    _add_backend(train)
    train.set_defaults(run=_cmd_train)


def _add_recipe_flags(group):
    from keras_nest.training.recipe import RECIPES, Recipe

    for field in dataclasses.fields(Recipe):
        if field.name in ("name", "no_weight_decay"):
            continue
        kind = {"bool": _bool, "int": int}.get(getattr(field.type, "__name__", field.type), float)
        defaults = " / ".join(str(getattr(RECIPES[n], field.name)) for n in ("small", "cifar", "imagenet", "finetune"))
        group.add_argument(f"--{field.name.replace('_', '-')}", dest=field.name, type=kind,
                           help=f"default {defaults}")


def _add_evaluate(commands):
    defaults = _defaults("training/trainer.py", "evaluate")
    evaluate = commands.add_parser("evaluate", help="top-1/top-5 of a saved model on a data set")
    evaluate.add_argument("--model-path", required=True, help="a .keras file (e.g. runs/X/best.keras)")
    evaluate.add_argument("--dataset", required=True, help="digits | shapes | tfds:NAME | folder:PATH")
    evaluate.add_argument("--split", help="default: test (validation where there is no test split)")
    evaluate.add_argument("--batch-size", type=int, help=f"images per batch (default {defaults['batch_size']})")
    _add_backend(evaluate)
    evaluate.set_defaults(run=_cmd_evaluate)


def _add_predict(commands):
    defaults = _defaults("predict.py", "predict_files")
    predict = commands.add_parser("predict", help="top-k classes of image files, one JSON line per image",
                                  description="`keras-nest predict IMAGE_OR_FOLDER... --model-path P` (or --model NAME "
                                  "--weights imagenet): images "
                                  "are brought to the model's input as evaluation does (--crop-pct); unreadable "
                                  "files get an error line and are counted.")
    predict.add_argument("images", nargs="+", help="image files and folders of images")
    predict.add_argument("--model-path", help="a classifier .keras file (e.g. runs/X/best.keras)")
    predict.add_argument("--model", help="or a model name with --weights, e.g. nest_tiny_imagenet --weights imagenet "
                         "(prints ImageNet class names)")
    predict.add_argument("--weights", help="with --model: imagenet, hf://ORG/REPO[/FILE] or a file")
    predict.add_argument("--top-k", type=int, help=f"classes per image (default {defaults['top_k']})")
    predict.add_argument("--batch-size", type=int, help=f"images per batch (default {defaults['batch_size']})")
    predict.add_argument("--crop-pct", type=float, help="evaluation centre crop (default: the model's own, which "
                         "training takes from the recipe: 1 resizes the whole image, 0.875 for imagenet)")
    predict.add_argument("--dataset", help="only for a model without preprocessing: its training data set "
                         "(default: from result.json beside it)")
    _add_backend(predict)
    predict.set_defaults(run=_cmd_predict)


def _add_export(commands):
    formats = _constant("export/artifacts.py", "EXPORT_FORMATS")
    export = commands.add_parser("export", help="write a SavedModel, LiteRT (.tflite) or ONNX copy of a model",
                                 description="Exports a .keras model and checks the artifact with its own "
                                 "runtime against Keras on random pixels (max_abs_difference in the JSON). "
                                 'ONNX needs: pip install "keras-nest[export]".')
    export.add_argument("--model-path", required=True, help="a .keras file")
    export.add_argument("--format", choices=formats, default=formats[0], help=f"default {formats[0]}")
    export.add_argument("--out", help="folder (saved_model) or file (.tflite, .onnx); default: beside the model")
    _add_backend(export)
    export.set_defaults(run=_cmd_export)


def _add_explain(commands):
    explain = commands.add_parser("explain", help="explain a prediction (`explain image`) or score "
                                  "localization (`explain evaluate`)")
    targets = explain.add_subparsers(dest="explain_command", required=True)
    image = targets.add_parser("image", help="draw an image, its class attention map and GradCAT path",
                               description="`keras-nest explain image IMAGE --model-path P` writes a PNG "
                               "and prints the class, top-k and GradCAT path as JSON.")
    image.add_argument("image", help="an image file (resized to the model's input, with a note)")
    image.add_argument("--model-path", required=True, help="a NesT classifier .keras file")
    image.add_argument("--dataset", help="its training data set (default: from result.json beside the model)")
    image.add_argument("--out", default="explain.png", help="PNG to write (default explain.png)")
    image.add_argument("--class-index", type=int, help="class to explain (default: the predicted one)")
    image.add_argument("--cam-method", choices=_constant("explain/cam.py", "CAM_METHODS"),
                       help="class map drawn: gradient (default; the map that localizes), head (the exact "
                       "CAM of the trained head), rollout (that CAM moved along the top level's attention)")
    top_k = _defaults("explain/figures.py", "explain_figure")["top_k"]
    image.add_argument("--top-k", type=int, help=f"classes listed (default {top_k})")
    _add_backend(image)
    image.set_defaults(run=_cmd_explain_image)
    evaluate = targets.add_parser("evaluate", help="weakly supervised localization scores as JSON")
    evaluate.add_argument("--model-path", required=True, help="a NesT classifier .keras file")
    scoring = _defaults("explain/evaluation.py", "evaluate_localization")
    evaluate.add_argument("--dataset", help=f"a data set with boxes and masks (default {scoring['dataset']})")
    evaluate.add_argument("--vit-model-path", help="a ViT baseline .keras file, scored alongside")
    evaluate.add_argument("--split", help=f"split to score (default {scoring['split']})")
    evaluate.add_argument("--num-examples", type=int, help="score the first N images (default: all)")
    evaluate.add_argument("--batch-size", type=int, help=f"images per batch (default {scoring['batch_size']})")
    _add_backend(evaluate)
    evaluate.set_defaults(run=_cmd_explain_evaluate)


def _add_gan(commands):
    from keras_nest.training.spec import GanSettings, GanSpec

    spec, settings = GanSpec(), GanSettings()
    gan = commands.add_parser("gan", help="train a generator (`gan train`) or draw samples (`gan sample`)")
    gan_commands = gan.add_subparsers(dest="gan_command", required=True)
    train = gan_commands.add_parser(
        "train", help="train a NesT (or SAGAN) generator against the ResNet discriminator",
        description="Adversarial training with model.fit: checkpoints and sample grids every "
        "--checkpoint-every steps, --resume, and one JSON line at the end. Flags left out take the "
        "defaults below for a new run, or the run's own values with --resume.")
    train.add_argument("--generator", help=f"see `keras-nest models` (default {spec.generator})")
    train.add_argument("--dataset", help=f"shapes | digits | tfds:NAME | folder:PATH (default {spec.dataset})")
    steps = _defaults("gan/training.py", "train_gan")["steps"]
    train.add_argument("--steps", type=int, help=f"generator updates in total (default {steps})")
    train.add_argument("--batch-size", type=int, help=f"images per step (default {spec.batch_size})")
    train.add_argument("--out", help="run folder (default runs/gan-GENERATOR-DATASET)")
    train.add_argument("--loss", help=f"hinge | non_saturating (default {settings.loss})")
    for name in ("g_learning_rate", "d_learning_rate", "beta_2", "ema_decay", "r1_gamma"):
        note = "; 0 keeps no EMA generator" if name == "ema_decay" else ""
        train.add_argument(f"--{name.replace('_', '-')}", dest=name, type=float,
                           help=f"default {getattr(settings, name)}{note}")
    train.add_argument("--ema-warmup", action=argparse.BooleanOptionalAction,
                       help=f"cap the EMA decay at (1 + t) / (10 + t) after t steps (default {settings.ema_warmup})")
    train.add_argument("--d-steps", type=int, help=f"discriminator updates per step (default {settings.d_steps})")
    train.add_argument("--diffaugment", help="DiffAugment policy, e.g. color,translation,cutout (default none)")
    train.add_argument("--checkpoint-every", type=int,
                       help=f"steps between commits (default {spec.checkpoint_every}, or --steps if smaller)")
    train.add_argument("--fd-samples", type=int, default=0,
                       help="at the end, FD/KID of this many samples in a <dataset>-cnn feature space")
    train.add_argument("--resume", action="store_true", help="continue the run in --out to a larger --steps")
    train.add_argument("--seed", type=int, help=f"default {spec.seed}")
    train.add_argument("--verbose", default="auto", type=_verbosity, help="0, 1, 2 or auto (as for train)")
    _add_backend(train)
    train.set_defaults(run=_cmd_gan_train)
    drawing = _defaults("gan/training.py", "sample")
    sample = gan_commands.add_parser("sample", help="a PNG grid of samples from a saved generator")
    sample.add_argument("--model-path", required=True, help="generator.keras (or last.keras) of a run")
    sample.add_argument("--n", type=int, help=f"images in the grid (default {drawing['num_images']})")
    sample.add_argument("--seed", type=int, help=f"noise seed (default {drawing['seed']})")
    sample.add_argument("--out", help=f"PNG to write (default {drawing['out']})")
    _add_backend(sample)
    sample.set_defaults(run=_cmd_gan_sample)


def build_parser():
    parser = argparse.ArgumentParser(prog="keras-nest", description="NesT (arXiv 2105.12723) for Keras 3.")
    parser.add_argument("--version", action="version", version=f"keras-nest {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    models = commands.add_parser("models", help="list the named classifiers and generators with their sizes")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.add_argument("--kind", choices=("classifier", "generator", "all"), default=None,
                        help="which presets (default: all in the table, classifiers with --json)")
    models.set_defaults(run=_cmd_models)
    _add_train(commands)
    _add_evaluate(commands)
    _add_predict(commands)
    _add_export(commands)
    _add_explain(commands)
    _add_gan(commands)
    return parser


def _legacy_argv(argv):
    """`keras-nest explain [OPTIONS] IMAGE|evaluate ...` (before `explain image`) still works."""
    argv = list(argv)
    if argv[:1] != ["explain"] or len(argv) < 2 or argv[1] in ("image", "evaluate", "-h", "--help"):
        return argv
    if "evaluate" in argv[1:]:
        argv.remove("evaluate")
        argv.insert(1, "evaluate")
    else:
        argv.insert(1, "image")
    return argv


def main(argv=None):
    from keras_nest.errors import InputError

    args = build_parser().parse_args(_legacy_argv(sys.argv[1:] if argv is None else argv))
    if args.command == "models" and args.kind is None:
        args.kind = "classifier" if args.json else "all"
    from keras_nest.training.run_folder import TrainingDiverged

    try:
        if getattr(args, "backend", None):
            select_backend(args.backend)
        if args.command != "models":
            _load_tensorflow_quietly()
        return args.run(args)
    except TrainingDiverged as error:
        print(f"keras-nest: {error}", file=sys.stderr)
        return 3
    except (InputError, FileNotFoundError, FileExistsError) as error:
        command = " ".join(filter(None, (args.command, getattr(args, "explain_command", None),
                                         getattr(args, "gan_command", None))))
        print(f"keras-nest {command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
