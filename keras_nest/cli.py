"""The `keras-nest` command line: `train`, `evaluate`, `explain`, `gan`, `models`.

Every command ends by printing one JSON line on stdout, so scripts can read
the result. Bad input ends with a one-line error on stderr (exit status 2),
not a traceback.
"""

import argparse
import dataclasses
import json
import os
import sys


def _models(args):
    import keras_nest

    rows = []
    for name in keras_nest.list_models():
        model = keras_nest.create_model(name)
        rows.append(
            {
                "name": name,
                "params": model.count_params(),
                "input_size": "x".join(str(s) for s in model.input_shape[1:3]),
                "gmacs": round(keras_nest.count_macs(model) / 1e9, 3),
            }
        )
        del model
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'name':<22}{'params':>14}{'input':>10}{'GMACs':>9}")
    for row in rows:
        print(f"{row['name']:<22}{row['params']:>14,}{row['input_size']:>10}{row['gmacs']:>9.2f}")
    return 0


def _recipe_fields():
    from keras_nest.training.recipe import Recipe

    skip = {"name", "no_weight_decay"}
    return [f for f in dataclasses.fields(Recipe) if f.name not in skip]


def _bool(text):
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _train(args):
    from keras_nest.training import train

    recipe_overrides = {f.name: getattr(args, f.name) for f in _recipe_fields()}
    recipe_overrides = {k: v for k, v in recipe_overrides.items() if v is not None}
    result = train(
        model=args.model,
        dataset=args.dataset,
        out=args.out,
        recipe=args.recipe,
        image_size=args.image_size,
        strategy=args.strategy,
        jit_compile=args.jit_compile,
        precision=args.precision,
        resume=args.resume,
        seed=args.seed,
        train_fraction=args.train_fraction,
        tensorboard=not args.no_tensorboard,
        export=not args.no_export,
        verbose=args.verbose,
        recipe_overrides=recipe_overrides,
        tpu=args.tpu,
    )
    print(json.dumps(result), flush=True)
    return 0


def _evaluate(args):
    from keras_nest.training import evaluate

    print(json.dumps(evaluate(args.model_path, args.dataset, split=args.split, batch_size=args.batch_size)))
    return 0


def _run_dataset(model_path, dataset):
    """The data set a run was trained on (its `result.json`), unless given."""
    if dataset:
        return dataset
    from keras_nest.io_utils import read_json

    result = read_json(os.path.join(os.path.dirname(os.path.abspath(model_path)), "result.json"))
    if not result or "dataset" not in result:
        raise ValueError(
            "Cannot tell which data set the model was trained on (no result.json beside it); "
            "pass --dataset NAME so the images are normalised as in training."
        )
    return result["dataset"]


def _explain(args):
    import warnings

    from keras_nest import explain
    from keras_nest.data import dataset_info
    from keras_nest.models import load_saved_model

    model = load_saved_model(args.model_path)
    vit = load_saved_model(args.vit_model_path) if args.vit_model_path else None
    if args.target == "evaluate":
        table = explain.evaluate_localization(
            model, dataset=args.dataset or "shapes", split=args.split, vit_model=vit,
            num_examples=args.num_examples, batch_size=args.batch_size,
        )
        print(json.dumps(table))
        return 0
    from keras_nest.data.images import read_image

    dataset = _run_dataset(args.model_path, args.dataset)
    info = dataset_info(dataset)
    channels = model.model_config["input_shape"][-1]
    image = read_image(args.target, channels)
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always")
        found = explain.explain_image(model, image, info.mean, info.std, args.class_index)
    for note in notes:
        print(f"keras-nest explain: note: {note.message}", file=sys.stderr)
    figure = explain.explain_figure(model, image, info.mean, info.std, info.class_names,
                                    args.class_index, args.top_k, explanation=found)
    out = args.out or "explain.png"
    figure.savefig(out, dpi=120)
    probabilities = found["probabilities"]
    top = [int(c) for c in probabilities.argsort()[::-1][: args.top_k]]
    print(json.dumps({
        "image": args.target, "out": out,
        "class": info.class_names[found["gradcat"].class_index],
        "top_k": [[info.class_names[c], round(float(probabilities[c]), 4)] for c in top],
        "gradcat_path": [[level, block, list(box)] for level, block, box in found["gradcat"].path],
    }))
    return 0


def _gan_train(args):
    from keras_nest.gan.training import train_gan
    from keras_nest.validation import check_int

    check_int("--fd-samples", args.fd_samples, 0)  # before hours of training, not after

    result = train_gan(
        generator=args.generator, dataset=args.dataset, steps=args.steps, batch_size=args.batch_size,
        out=args.out, loss=args.loss, g_learning_rate=args.g_learning_rate,
        d_learning_rate=args.d_learning_rate, beta_2=args.beta_2, d_steps=args.d_steps,
        ema_decay=args.ema_decay, diffaugment=args.diffaugment,
        r1_gamma=args.r1_gamma, checkpoint_every=args.checkpoint_every, resume=args.resume, seed=args.seed,
        verbose=args.verbose,
    )
    if args.fd_samples:
        from keras_nest.metrics import score_generator
        from keras_nest.models import load_saved_model

        generator = load_saved_model(result["generator_path"])
        result.update(score_generator(generator, args.dataset, num_samples=args.fd_samples))
    print(json.dumps(result))
    return 0


def _gan_sample(args):
    from keras_nest.gan.training import sample

    print(json.dumps(sample(args.model_path, num_images=args.n, seed=args.seed, out=args.out)))
    return 0


def build_parser():
    from keras_nest.training.distribute import JIT_CHOICES, PRECISIONS, STRATEGIES

    parser = argparse.ArgumentParser(prog="keras-nest", description="NesT for Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True)

    models = commands.add_parser("models", help="list the named models with sizes and costs")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.set_defaults(run=_models)

    train = commands.add_parser(
        "train",
        help="train a model (no arguments: a small NesT on the bundled digits)",
        description="Train with model.fit and the NesT recipe. Every recipe field can be "
        "overridden with its own flag (e.g. --base-learning-rate 1e-3 --mixup-alpha 0).",
    )
    # None: the default of a new run, or the run's own value with --resume.
    train.add_argument("--model", default=None, help="see `keras-nest models` (default nest_nano_16)")
    train.add_argument("--dataset", default=None,
                       help="digits | shapes | tfds:NAME | folder:PATH (default digits)")
    train.add_argument("--out", default=None, help="run folder (default runs/MODEL-DATASET)")
    train.add_argument("--recipe", default=None, help="small | cifar | imagenet (default small)")
    train.add_argument("--image-size", type=int, default=None, help="input side (default: the model's)")
    train.add_argument("--strategy", default="auto", choices=STRATEGIES)
    train.add_argument("--tpu", default=None, help="TPU name or address for --strategy tpu")
    train.add_argument("--jit-compile", default="auto", choices=JIT_CHOICES)
    train.add_argument("--precision", default="float32", choices=PRECISIONS)
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out; recipe flags given now replace the run's")
    train.add_argument("--seed", type=int, default=None, help="default 0")
    train.add_argument("--train-fraction", type=float, default=None,
                       help="use this fraction of the train split (default 1)")
    train.add_argument("--no-tensorboard", action="store_true")
    train.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    train.add_argument("--verbose", default="auto", type=lambda v: v if v == "auto" else int(v),
                       help="Keras fit verbosity: auto, 0, 1 (progress bar) or 2")
    recipe = train.add_argument_group("recipe fields (default: the recipe's value)")
    for field in _recipe_fields():
        kind = _bool if field.type in (bool, "bool") else (int if field.type in (int, "int") else float)
        recipe.add_argument(f"--{field.name.replace('_', '-')}", dest=field.name, type=kind, default=None)
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="top-1/top-5 of a saved model on a data set")
    evaluate.add_argument("--model-path", required=True, help="a .keras file (e.g. runs/X/best.keras)")
    evaluate.add_argument("--dataset", required=True)
    evaluate.add_argument("--split", default=None, help="default: test (or validation)")
    evaluate.add_argument("--batch-size", type=int, default=128)
    evaluate.set_defaults(run=_evaluate)

    explain = commands.add_parser(
        "explain",
        help="explain a prediction (IMAGE) or score localization (`explain evaluate`)",
        description="`keras-nest explain IMAGE --model-path P --out explain.png` draws the image, its "
        "class attention map and GradCAT path with the top classes. `keras-nest explain evaluate "
        "--model-path P --dataset shapes [--vit-model-path V]` prints the localization table as JSON.",
    )
    explain.add_argument("target", help="an image file, or the word `evaluate`")
    explain.add_argument("--model-path", required=True, help="a NesT classifier .keras file")
    explain.add_argument("--dataset", default=None,
                         help="its training data set (default: from result.json beside the model; "
                         "`evaluate`: shapes)")
    explain.add_argument("--out", default=None, help="PNG to write (default explain.png)")
    explain.add_argument("--class-index", type=int, default=None, help="class to explain (default: predicted)")
    explain.add_argument("--top-k", type=int, default=5)
    explain.add_argument("--vit-model-path", default=None, help="`evaluate`: a ViT baseline .keras file")
    explain.add_argument("--split", default="test", help="`evaluate`: split to score")
    explain.add_argument("--num-examples", type=int, default=None, help="`evaluate`: first N images")
    explain.add_argument("--batch-size", type=int, default=50)
    explain.set_defaults(run=_explain)

    gan = commands.add_parser("gan", help="train a generator (`gan train`) or draw samples (`gan sample`)")
    gan_commands = gan.add_subparsers(dest="gan_command", required=True)
    gan_train = gan_commands.add_parser(
        "train", help="train a NesT (or SAGAN) generator against the ResNet discriminator",
        description="Adversarial training with model.fit: checkpoints, sample grids every "
        "--checkpoint-every steps, --resume, and one JSON line at the end.")
    gan_train.add_argument("--generator", default="nest_gan_32", help="see keras_nest.list_generators()")
    gan_train.add_argument("--dataset", default="shapes", help="shapes | digits | tfds:NAME | folder:PATH")
    gan_train.add_argument("--steps", type=int, default=1000)
    gan_train.add_argument("--batch-size", type=int, default=64)
    gan_train.add_argument("--out", default=None, help="run folder (default runs/gan-GENERATOR-DATASET)")
    # GAN settings: None is GanSettings' default (or the run's own with --resume).
    gan_train.add_argument("--loss", default=None, choices=["hinge", "non_saturating"], help="default hinge")
    gan_train.add_argument("--g-learning-rate", type=float, default=None, help="default 1e-4")
    gan_train.add_argument("--d-learning-rate", type=float, default=None, help="default 4e-4")
    gan_train.add_argument("--beta-2", type=float, default=None, help="default 0.999")
    gan_train.add_argument("--d-steps", type=int, default=None, help="default 1")
    gan_train.add_argument("--ema-decay", type=float, default=None,
                           help="default 0.999; 0 disables the EMA generator")
    gan_train.add_argument("--diffaugment", default=None, help="e.g. color,translation,cutout")
    gan_train.add_argument("--r1-gamma", type=float, default=None, help="default 0")
    gan_train.add_argument("--checkpoint-every", type=int, default=100)
    gan_train.add_argument("--fd-samples", type=int, default=0,
                           help="at the end, FD/KID of this many samples in a <dataset>-cnn feature space")
    gan_train.add_argument("--resume", action="store_true")
    gan_train.add_argument("--seed", type=int, default=0)
    gan_train.add_argument("--verbose", default="auto", type=lambda v: v if v == "auto" else int(v))
    gan_train.set_defaults(run=_gan_train)
    gan_sample = gan_commands.add_parser("sample", help="a PNG grid of samples from a saved generator")
    gan_sample.add_argument("--model-path", required=True, help="generator.keras (or last.keras) of a run")
    gan_sample.add_argument("--n", type=int, default=64)
    gan_sample.add_argument("--seed", type=int, default=0)
    gan_sample.add_argument("--out", default="grid.png")
    gan_sample.set_defaults(run=_gan_sample)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    from keras_nest.training.run_folder import TrainingDiverged

    try:
        return args.run(args)
    except TrainingDiverged as error:
        print(f"keras-nest: {error}", file=sys.stderr)
        return 3
    except (ValueError, FileNotFoundError, FileExistsError, ImportError, TypeError) as error:
        print(f"keras-nest {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
