"""Weakly-supervised localization at 64x64: NesT's class maps and GradCAT
against the size-matched ViT (its CAM and attention rollout) and the
centre baseline, on `shapes` or `cluttered_digits`.

Trains `nest_micro_64` and `vit_micro_64` on the data set with the `small`
recipe (or reuses runs given with --nest-run / --vit-run, or run folders
already in --work), then prints the table of
`keras_nest.explain.evaluate_localization` as JSON, writes it to
`--out/localization_<dataset>.json`, and draws explanations of test images
to `--out/explain_examples_<dataset>.png`.

    python benchmarks/localization.py                 # train 15 epochs each, evaluate
    python benchmarks/localization.py --dataset cluttered_digits \
        --nest-run runs/cam_study/digits-base --vit-run runs/cam_study/digits-vit
"""

import argparse
import json
import os
import sys

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nest-run", default=None, help="a finished run folder of nest_micro_64")
    p.add_argument("--vit-run", default=None, help="a finished run folder of vit_micro_64")
    p.add_argument("--dataset", default="shapes", help="a data set with boxes: shapes or cluttered_digits")
    p.add_argument("--epochs", type=int, default=15, help="training epochs when a run is missing")
    p.add_argument("--work", default="runs/localization", help="where missing runs are trained")
    p.add_argument("--num-examples", type=int, default=None, help="score the first N test images")
    p.add_argument("--examples", type=int, default=6, help="explained test images drawn")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    return p.parse_args(argv)


def trained(model_name, run, args):
    """The best checkpoint of `run`, training it first when needed."""
    from keras_nest.training import train

    run = run or os.path.join(args.work, f"{model_name}-{args.dataset}")
    best = os.path.join(run, "best.keras")
    if not os.path.exists(os.path.join(run, "result.json")):
        train(model=model_name, dataset=args.dataset, out=run, epochs=args.epochs, resume=os.path.exists(run),
              export=False, verbose=2)
    with open(os.path.join(run, "result.json")) as f:
        return best, json.load(f)


def draw_examples(model, count, path, dataset="shapes"):
    """Rows of test images: the GradCAT path (true box dashed), and the gradient, rollout and head class maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_nest import explain
    from keras_nest.data import dataset_info, load_arrays

    info = dataset_info(dataset)
    data = load_arrays(dataset, "test", image_size=model.image_size, num_examples=count)
    methods = ("gradient", "rollout", "head")
    fig, axes = plt.subplots(count, 1 + len(methods), figsize=(3 * (1 + len(methods)), 3 * count), squeeze=False)
    for row, (image, label, box) in enumerate(zip(data["images"], data["labels"], data["boxes"])):
        found = explain.explain_image(model, image, info.mean, info.std)
        shown = image.astype(np.float32) / 255.0
        explain.plot_gradcat(axes[row, 0], shown, found["gradcat"])
        x0, y0, x1, y1 = box
        axes[row, 0].add_patch(matplotlib.patches.Rectangle(
            (x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="white", linestyle="--"))
        predicted = info.class_names[found["gradcat"].class_index]
        axes[row, 0].set_title(f"GradCAT path: {predicted} (true: {info.class_names[label]})", fontsize=9)
        for column, method in enumerate(methods, start=1):
            cam = explain.class_attention_map(model, found["inputs"], found["gradcat"].class_index, method)
            explain.plot_cam(axes[row, column], shown, cam.maps[0], f"class map, method={method!r}")
            axes[row, column].title.set_fontsize(9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    import keras

    import keras_nest  # noqa: F401
    from keras_nest.explain import evaluate_localization

    nest_path, nest_result = trained("nest_micro_64", args.nest_run, args)
    vit_path, vit_result = trained("vit_micro_64", args.vit_run, args)
    nest = keras.saving.load_model(nest_path, compile=False)
    vit = keras.saving.load_model(vit_path, compile=False)
    table = evaluate_localization(nest, args.dataset, vit_model=vit, num_examples=args.num_examples)
    table["training"] = {
        name: {k: result.get(k) for k in ("model", "epochs", "test_accuracy", "wall_seconds", "params")}
        for name, result in (("nest", nest_result), ("vit", vit_result))
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"localization_{args.dataset}.json"), "w") as f:
        json.dump(table, f, indent=1)
    draw_examples(nest, args.examples, os.path.join(args.out, f"explain_examples_{args.dataset}.png"), args.dataset)
    print(json.dumps(table), flush=True)


if __name__ == "__main__":
    sys.exit(main())
