"""NesT generator against the size-matched SAGAN generator, same discriminator and recipe.

Both generators train with `keras_nest.gan.train_gan` (hinge loss, TTUR
Adam(beta_1=0) 1e-4 / 4e-4, EMA 0.999, the SAGAN-style ResNet discriminator
for the image size, the same batch, seed and data). Every `--eval-every`
steps the EMA generator's samples are compared with the held-out real
images: FD and KID in the feature space of a small CNN trained on the same
data set (`FD-<dataset>-cnn`; see `keras_nest.metrics`), precision, recall,
density and coverage in the same space, and the samples' class histogram
by that CNN (`class_counts`, `classes_covered`, `largest_class_share`).
Also measured: generation images/s at batch 64 and training images/s.

Every evaluation is appended to `--out/gan_convergence.jsonl`; a rerun
continues the runs in `--work` and skips points already measured. Prints a
JSON summary and writes `--out/gan_convergence_<dataset>.png` (the curves)
and `--out/gan_samples_<dataset>.png` (64 samples of each generator at its
last step).

    python benchmarks/gan_convergence.py                                  # 32 px, shapes
    python benchmarks/gan_convergence.py --generators nest_gan_tiny sagan_tiny --dataset digits \
        --steps 1500 --eval-every 300 --batch-size 32
    python benchmarks/gan_convergence.py --generators nest_gan_small_32 sagan_small_32 --dataset shapes \
        --steps 3000 --eval-every 500 --batch-size 32 --discriminator-widths 64 64 64 64
    python benchmarks/gan_convergence.py --speed-only          # images/s at batch 64 only
"""

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generators", nargs="+", default=["nest_gan_32", "sagan_32"])
    p.add_argument("--dataset", default="shapes")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--fd-samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--discriminator-widths", type=int, nargs="+", default=None,
                   help="the shared discriminator's block widths (default: its preset's for the image size)")
    p.add_argument("--work", default="runs/gan_study")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    p.add_argument("--speed-only", action="store_true",
                   help="only measure generation and training images/s of the generators (no training run)")
    p.add_argument("--speed-steps", type=int, default=5)
    return p.parse_args(argv)


def _images_per_second(step, batch_size, repeats):
    """Calls `step` once to compile, then `repeats` times; batch_size / median seconds."""
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return round(batch_size / sorted(times)[len(times) // 2], 2)


def generation_speed(generator, batch_size=64, repeats=5):
    import keras
    import numpy as np

    noise = np.random.default_rng(0).normal(size=(batch_size, generator.input_shape[-1])).astype("float32")
    return _images_per_second(lambda: keras.ops.convert_to_numpy(generator.predict_on_batch(noise)),
                              batch_size, repeats)


def training_speed(name, batch_size, steps):
    """Images/s of full GAN steps (one D and one G update) on random data, median of `steps`."""
    import keras
    import numpy as np

    import keras_nest
    from keras_nest.gan import GAN

    generator = keras_nest.create_generator(name)
    gan = GAN(generator, keras_nest.create_discriminator(generator.image_size))
    gan.compile()
    real = np.random.default_rng(0).uniform(-1, 1, (batch_size, *generator.output_shape[1:])).astype("float32")
    speed = _images_per_second(lambda: gan.train_on_batch(real), batch_size, steps)
    keras.backend.clear_session()
    return generator, speed


def speed_table(args):
    rows = []
    for name in args.generators:
        generator, train_speed = training_speed(name, args.batch_size, args.speed_steps)
        rows.append({"generator": name, "params": generator.count_params(), "batch_size": args.batch_size,
                     "train_images_per_second": train_speed,
                     "generation_images_per_second": generation_speed(generator, args.batch_size)})
        print(json.dumps(rows[-1]), flush=True)
    with open(os.path.join(args.out, "gan_speed.jsonl"), "a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return rows


def plot(rows, args, fd_key, kd_key):
    """FD, KD, recall and coverage against steps, one line per generator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = ((fd_key, "Fréchet distance", True), (kd_key, "kernel distance", True),
              ("recall", "recall (k = 3)", False), ("coverage", "coverage (k = 5)", False))
    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    for name in args.generators:
        mine = sorted((r for r in rows if r["generator"] == name), key=lambda r: r["step"])
        for ax, (key, _, _) in zip(axes.flat, panels):
            points = [(r["step"], r[key]) for r in mine if key in r]
            if points:
                ax.plot(*zip(*points), marker="o", label=f"{name} ({mine[0]['params']:,} params)")
    for ax, (key, title, log) in zip(axes.flat, panels):
        ax.set(xlabel="generator steps", ylabel=key, title=f"{args.dataset}: {title}")
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, f"gan_convergence_{args.dataset}.png"), dpi=100)
    plt.close(fig)


def sample_grids(rows, args, settings, fd_key, per_side=8):
    """`per_side^2` samples (latent seed 1234) of each generator's run, side by side, titled with its last row."""
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_nest.gan.grids import tile
    from keras_nest.metrics import generate_samples
    from keras_nest.models import load_saved_model

    shown = [(name, os.path.join(run_folder(name, args, settings), "generator.keras"),
              max((r for r in rows if r["generator"] == name), key=lambda r: r["step"]))
             for name in args.generators if any(r["generator"] == name for r in rows)]
    missing = [path for _, path, _ in shown if not os.path.exists(path)]
    if missing:
        print(f"No sample grid: {missing} are gone (a cleaned or other --work).", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, len(shown), figsize=(4.5 * len(shown), 4.9), squeeze=False)
    for ax, (name, path, last) in zip(axes[0], shown):
        mosaic = tile(generate_samples(load_saved_model(path), per_side**2, seed=1234), columns=per_side)
        ax.imshow(mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic, cmap="gray")
        ax.set_axis_off()
        ax.set_title(f"{name}, {last['params']:,} params\nstep {last['step']}: {fd_key} {last[fd_key]:.1f}, "
                     f"recall {last['recall']:.2f}", fontsize=9)
        keras.backend.clear_session()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, f"gan_samples_{args.dataset}.png"), dpi=100)
    plt.close(fig)


def run_folder(name, args, settings):
    """Where a generator's run of this study lives; the recipe is in its name, so another recipe never resumes it."""
    recipe = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    return os.path.join(args.work, f"{name}-{args.dataset}-b{args.batch_size}-s{args.seed}"
                        + "".join(f"-d{w}" for w in args.discriminator_widths or ()) + f"-r{recipe}")


# What every run trained with before rows recorded their settings (frozen: later defaults may change).
_SETTINGS_BEFORE = {"loss": "hinge", "g_learning_rate": 1e-4, "d_learning_rate": 4e-4, "beta_2": 0.999, "d_steps": 1,
                    "ema_decay": 0.999, "ema_warmup": False, "diffaugment": None, "r1_gamma": 0.0}


def _row_key(row):
    """What makes two evaluations the same point.

    Rows from before `discriminator_widths` used the preset's; rows from
    before `settings` were recorded trained with `_SETTINGS_BEFORE`.
    """
    settings = row.get("settings", _SETTINGS_BEFORE)
    return (row["generator"], row["dataset"], row["step"], row["batch_size"], row["seed"],
            tuple(row.get("discriminator_widths", ())), json.dumps(settings, sort_keys=True))


def _point_key(name, step, args, settings):
    """`_row_key` of the evaluation this invocation makes of `name` at `step`."""
    return (name, args.dataset, step, args.batch_size, args.seed, tuple(args.discriminator_widths or ()),
            json.dumps(settings, sort_keys=True))


def main(argv=None):
    args = parse_args(argv)
    from keras_nest.gan.training import train_gan
    from keras_nest.metrics import score_generator
    from keras_nest.models import load_saved_model

    os.makedirs(args.out, exist_ok=True)
    if args.speed_only:
        print(json.dumps({"summary": "images/s", "rows": speed_table(args)}), flush=True)
        return
    log = os.path.join(args.out, "gan_convergence.jsonl")
    rows = []
    if os.path.exists(log):
        with open(log) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    from keras_nest.training.spec import GanSettings

    widths = tuple(args.discriminator_widths or ())
    settings = dataclasses.asdict(GanSettings())  # the recipe's defaults: what every run here trains with
    done = {_row_key(r) for r in rows}
    for name in args.generators:
        out = run_folder(name, args, settings)
        for step in range(args.eval_every, args.steps + 1, args.eval_every):
            if _point_key(name, step, args, settings) in done:
                continue
            result = train_gan(name, args.dataset, steps=step, batch_size=args.batch_size, out=out,
                               checkpoint_every=args.eval_every, resume=os.path.exists(out), seed=args.seed,
                               verbose=0, discriminator_overrides={"widths": widths} if widths else None)
            generator = load_saved_model(result["generator_path"])
            scores = score_generator(generator, args.dataset, num_samples=args.fd_samples, seed=args.seed)
            row = {"generator": name, "dataset": args.dataset, "step": step, "batch_size": args.batch_size,
                   "seed": args.seed, "discriminator_widths": list(widths), "settings": result["settings"],
                   "params": result["params"], **scores,
                   "train_images_per_second": result["images_per_second"],
                   "generation_images_per_second": generation_speed(generator)}
            rows.append(row)
            with open(log, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    wanted = [r for r in rows if r["generator"] in args.generators
              and _row_key(r) == _point_key(r["generator"], r["step"], args, settings)]
    if wanted:
        fd_key = next(k for k in wanted[0] if k.startswith("FD-"))
        kd_key = next(k for k in wanted[0] if k.startswith("KD-") and not k.endswith("-std"))
        plot(wanted, args, fd_key, kd_key)
        sample_grids(wanted, args, settings, fd_key)
    print(json.dumps({"summary": f"{args.dataset}: FD, KID, precision, recall, density, coverage vs steps",
                      "rows": wanted}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
