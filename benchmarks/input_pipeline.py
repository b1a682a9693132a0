"""Streaming input pipeline at ImageNet scale on this machine: images/s and peak memory.

Generates folders of JPEGs (sizes 300-500 px, 10 classes; `--files` and
twice that), then measures, each in a fresh process:

1. the training pipeline alone (`folder:` streamed through
   `keras_nest.data.streaming`, the `imagenet` recipe's random-resized-crop
   to 224 px, batches of 64): images/s over one pass (after a 5-batch
   warm-up) and peak resident memory (`ru_maxrss`) of the process, for the
   folder and the doubled folder; and, on the first folder, 40 batches with
   the recipe's flip / RandAugment / erasing / MixUp-CutMix on top;
2. `nest_tiny_imagenet` training (`model.fit`, batch 16, XLA as the trainer
   picks it) fed from the same pipeline: images/s over `--train-steps`
   steps after one warm-up step.

Goals (issue 12): pipeline peak RSS < 1.5 GB at 20,000 files, growing < 10%
for 40,000; pipeline images/s >= 3x training images/s.

    python benchmarks/input_pipeline.py                      # 20,000 and 40,000 files
    python benchmarks/input_pipeline.py --files 2000 --train-steps 3

Writes benchmarks/results/input_pipeline.json.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CLASSES = 10


def make_folder(root, count, seed=0):
    """`count` JPEGs of 300-500 px in `CLASSES` class folders (kept when already there)."""
    import tensorflow as tf

    done = os.path.join(root, ".complete")
    if os.path.exists(done):
        return root
    rng = np.random.default_rng(seed)
    for i in range(count):
        label = i % CLASSES
        folder = os.path.join(root, f"class_{label}")
        os.makedirs(folder, exist_ok=True)
        height, width = rng.integers(300, 501, 2)
        # Smooth colour fields plus detail: JPEGs of realistic size (~30-60 kB), not noise.
        coarse = rng.uniform(0, 255, (6, 6, 3)).astype(np.float32)
        image = tf.image.resize(coarse[None], (int(height), int(width)), method="bicubic")[0]
        image += rng.normal(0, 12, (int(height), int(width), 1)).astype(np.float32)
        encoded = tf.io.encode_jpeg(tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8), quality=90)
        with open(os.path.join(folder, f"{i:06d}.jpg"), "wb") as f:
            f.write(encoded.numpy())
    open(done, "w").close()
    return root


def _pipeline(folder, augment, batch_size=64):
    from keras_nest.data import load_examples
    from keras_nest.training.augment import make_augmenter
    from keras_nest.training.recipe import get_recipe

    recipe = get_recipe("imagenet", batch_size=batch_size)
    examples, info = load_examples(f"folder:{folder}", "train", image_size=224,
                                   train_crop_min_area=recipe.train_crop_min_area, crop_pct=recipe.crop_pct)
    ds = examples.dataset(info.num_classes, recipe.batch_size, training=True, seed=0, epochs=(0, 1))
    if augment:
        import tensorflow as tf

        ds = ds.map(make_augmenter(recipe, info.mean, info.std), num_parallel_calls=tf.data.AUTOTUNE)
    return ds, examples, info


def measure_pipeline(folder, augment):
    """Runs in a child process: one pass of the training pipeline (40 batches with the augmentation, which
    runs at a fraction of the speed); images/s and peak RSS."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ds, examples, _ = _pipeline(folder, augment)
    steps = min(len(examples) // 64, 40) if augment else len(examples) // 64
    warmup = min(5, steps // 4)
    iterator = iter(ds)
    for _ in range(warmup):
        next(iterator)
    start, seen = time.perf_counter(), 0
    for _ in range(steps - warmup):
        x, _ = next(iterator)
        seen += int(x.shape[0])
    elapsed = time.perf_counter() - start
    return {"files": len(examples), "images_per_second": round(seen / elapsed, 1), "augment": augment,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rss_before_pipeline_mb": round(before / 1024, 1)}


def measure_training(folder, steps):
    """Runs in a child process: nest_tiny_imagenet `fit` steps fed by the pipeline; images/s."""

    import keras_nest
    from keras_nest.training.recipe import get_recipe, make_loss, make_optimizer

    batch = 16
    ds, examples, info = _pipeline(folder, augment=False, batch_size=batch)
    model = keras_nest.create_model("nest_tiny_imagenet", num_classes=info.num_classes, include_preprocessing=True,
                                    pixel_mean=info.mean, pixel_std=info.std)
    recipe = get_recipe("imagenet", batch_size=batch)
    model.compile(optimizer=make_optimizer(recipe, steps, batch), loss=make_loss(recipe), jit_compile=True)
    model.fit(ds, steps_per_epoch=1, epochs=1, verbose=0)  # compile
    start = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    elapsed = time.perf_counter() - start
    return {"model": "nest_tiny_imagenet", "batch_size": batch, "steps": steps,
            "images_per_second": round(steps * batch / elapsed, 2)}


def _child(argv):
    """`python input_pipeline.py --child KIND ...`: one measurement, printed as JSON."""
    kind, folder = argv[0], argv[1]
    if kind == "pipeline":
        row = measure_pipeline(folder, augment=argv[2] == "1")
    else:
        row = measure_training(folder, int(argv[2]))
    print(json.dumps(row), flush=True)


def _run_child(*args):
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", *map(str, args)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=20_000, help="JPEGs in the first folder (the second has twice)")
    p.add_argument("--train-steps", type=int, default=10, help="timed nest_tiny_imagenet steps")
    p.add_argument("--work", default="/tmp/keras_nest_input_pipeline", help="where the folders are generated")
    p.add_argument("--out", default=os.path.join(HERE, "results", "input_pipeline.json"))
    args = p.parse_args(argv)
    result = {"cpu_count": os.cpu_count(), "pipeline": [], "training": None}
    for count in (args.files, 2 * args.files):
        start = time.perf_counter()
        folder = make_folder(os.path.join(args.work, f"jpegs_{count}"), count)
        print(f"folder of {count} JPEGs ready ({time.perf_counter() - start:.0f} s)", flush=True)
        for augment in ((False, True) if count == args.files else (False,)):
            row = _run_child("pipeline", folder, int(augment))
            print(json.dumps(row), flush=True)
            result["pipeline"].append(row)
    result["training"] = _run_child("training", os.path.join(args.work, f"jpegs_{args.files}"), args.train_steps)
    print(json.dumps(result["training"]), flush=True)
    small, doubled = result["pipeline"][0], result["pipeline"][-1]
    result["goals"] = {
        "peak_rss_mb_under_1536": small["peak_rss_mb"] < 1536,
        "rss_growth_when_doubled": round(doubled["peak_rss_mb"] / small["peak_rss_mb"] - 1, 4),
        "rss_growth_under_10_percent": doubled["peak_rss_mb"] < 1.1 * small["peak_rss_mb"],
        "pipeline_over_training": round(small["images_per_second"] / result["training"]["images_per_second"], 1),
        "augmented_pipeline_over_training": round(
            result["pipeline"][1]["images_per_second"] / result["training"]["images_per_second"], 1),
    }
    print(json.dumps(result["goals"]), flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
