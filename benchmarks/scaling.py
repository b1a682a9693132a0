"""How a training step's cost grows with the image: NesT-T against the size-matched ViT-T.

For each model and image side, a fresh process builds the model at that
size (`create_model(name, input_shape=(S, S, 3))`: NesT keeps its 16 / 4 / 1
blocks and their tokens grow; the ViT keeps 16-pixel patches, so its token
count grows), runs AdamW `train_on_batch` steps on random images and
reports images/s, pixels/s, multiply-accumulates per pixel and the peak
memory of the process (resident set, `ru_maxrss`) above what it held
before the first step. Writes `--out/scaling.json` and `scaling.png`.

    python benchmarks/scaling.py --backend torch --jit-compile off --python /path/to/venv-with-torch/bin/python
    python benchmarks/scaling.py --sizes 224 320 448 --batch-size 4 --backend tensorflow
"""

import argparse
import json
import os
import resource
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from timing import time_loop  # noqa: E402

MODELS = ("nest_tiny_imagenet", "vit_tiny_imagenet")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--sizes", nargs="+", type=int, default=[224, 320, 448])
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"),
                   choices=["tensorflow", "jax", "torch"])
    p.add_argument("--python", default=sys.executable, help="interpreter for the measurements (e.g. with torch)")
    p.add_argument("--jit-compile", choices=["on", "off"], default="on")
    p.add_argument("--iters", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--child", nargs=2, metavar=("MODEL", "SIZE"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def measure(model_name, size, args):
    """One model at one side, in this (fresh) process."""
    import keras
    import numpy as np

    import keras_nest

    model = keras_nest.create_model(model_name, input_shape=(size, size, 3))
    model.compile(optimizer=keras.optimizers.AdamW(1e-4),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True), jit_compile=args.jit_compile == "on")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch_size, size, size, 3)).astype("float32")
    y = np.eye(model.output_shape[-1], dtype="float32")[rng.integers(0, model.output_shape[-1], args.batch_size)]
    before = peak_rss_mib()
    seconds, done = time_loop(lambda: model.train_on_batch(x, y), args.iters, args.warmup)
    macs = keras_nest.count_macs(model)
    return {
        "backend": keras.backend.backend(), "jit_compile": args.jit_compile, "model": model_name, "size": size,
        "batch_size": args.batch_size,
        "images_per_second": round(args.batch_size * done / seconds, 4),
        "megapixels_per_second": round(args.batch_size * done * size * size / seconds / 1e6, 4),
        "macs_per_pixel": round(macs / (size * size)), "gmacs_per_image": round(macs / 1e9, 3),
        "tokens": _tokens(model), "peak_rss_mib": round(peak_rss_mib()),
        "step_memory_mib": round(peak_rss_mib() - before), "iters": done,
    }


def _tokens(model):
    """Tokens per attention window: NesT's block (level 0), the ViT's whole sequence."""
    ((height, width), _), *_ = model.position_embedding_grids().values()  # NesT: level 0's first
    return height * width


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for model in sorted({r["model"] for r in rows}):
        mine = sorted((r for r in rows if r["model"] == model), key=lambda r: r["size"])
        sizes = [r["size"] for r in mine]
        axes[0].plot(sizes, [r["megapixels_per_second"] for r in mine], "o-", label=model)
        axes[1].plot(sizes, [r["macs_per_pixel"] / 1e3 for r in mine], "o-", label=model)
        axes[2].plot(sizes, [r["step_memory_mib"] for r in mine], "o-", label=model)
    for ax, label in zip(axes, ("training megapixels / s", "kMAC per pixel (forward)",
                                "training-step memory (MiB)")):
        ax.set_xlabel("image side (px)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    backend = rows[0]["backend"]
    fig.suptitle(f"Training step cost vs image size ({backend}, jit {rows[0]['jit_compile']}, "
                 f"batch {rows[0]['batch_size']}, float32, 2 CPU cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        os.environ["KERAS_BACKEND"] = args.backend
        print(json.dumps(measure(args.child[0], int(args.child[1]), args)), flush=True)
        return
    rows = []
    for model in args.models:
        for size in args.sizes:
            command = [args.python, os.path.abspath(__file__), "--child", model, str(size), "--backend",
                       args.backend, "--batch-size", str(args.batch_size), "--iters", str(args.iters),
                       "--jit-compile", args.jit_compile,
                       "--warmup", str(args.warmup)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "scaling.json.tmp"), "w") as f:
        json.dump(rows, f, indent=1)
    os.replace(os.path.join(args.out, "scaling.json.tmp"), os.path.join(args.out, "scaling.json"))
    plot(rows, os.path.join(args.out, "scaling.png"))


if __name__ == "__main__":
    main()
