"""Why does the NesT generator collapse onto a few digits, and which change stops it? (issue 15)

Trains each candidate on `digits` at 16x16 for the same number of steps
(batch 32, seed 0, the shared SAGAN-style discriminator and recipe of
`keras_nest.gan.train_gan`, each candidate changing one thing against
the recipe before this study, or against the new default) and scores
1,000 samples of its generator (the EMA one where the recipe keeps one)
against the held-out digits in the `digits-cnn` feature space: FD, KD,
precision and recall (k = 3), density and coverage (k = 5), and the class
histogram by the same classifier (how many of the 10 digits appear, and
the largest share). A discriminator change applies to both generators, so
the comparison stays fair.

Writes `--out/gan_diversity.json`, `gan_diversity.md` (the README table)
and `gan_diversity.png` (16 samples of each candidate). Each run's scores
are kept beside it, so a rerun only trains and scores what is new.

    python benchmarks/gan_diversity.py
    python benchmarks/gan_diversity.py --runs nest sagan nest-ema-0.99
"""

import argparse
import dataclasses
import json
import os
import sys

import numpy as np


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One trained generator of the study: a change against its baseline."""

    name: str
    change: str
    generator: str = "nest_gan_tiny"
    settings: tuple = ()  # (GanSettings field, value) pairs
    generator_overrides: tuple = ()
    discriminator_overrides: tuple = ()


DIFFAUGMENT = "color,translation,cutout"
# The recipe before this study: EMA 0.999 from the random start, no warm-up. Each candidate changes one thing.
BEFORE = (("ema_warmup", False),)
WARMUP = (("ema_warmup", True),)
LR_2E4 = (("g_learning_rate", 2e-4), ("d_learning_rate", 2e-4))
CANDIDATES = (
    Candidate("nest", "baseline: the recipe before (EMA 0.999, no warm-up)", settings=BEFORE),
    Candidate("sagan", "baseline: the recipe before (EMA 0.999, no warm-up)", generator="sagan_tiny",
              settings=BEFORE),
    Candidate("nest-ema-0.99", "EMA decay 0.99", settings=(("ema_decay", 0.99), *BEFORE)),
    Candidate("sagan-ema-0.99", "EMA decay 0.99", generator="sagan_tiny", settings=(("ema_decay", 0.99), *BEFORE)),
    Candidate("nest-no-ema", "no EMA generator", settings=(("ema_decay", 0.0), *BEFORE)),
    Candidate("nest-ema-warmup", "EMA 0.999 with warm-up, decay <= (1 + t) / (10 + t) (the new default)",
              settings=WARMUP),
    Candidate("sagan-ema-warmup", "EMA 0.999 with warm-up (the new default)", generator="sagan_tiny",
              settings=WARMUP),
    Candidate("nest-latent-every-level", "latent modulates every level",
              settings=BEFORE, generator_overrides=(("latent_modulation", True),)),
    Candidate("nest-minibatch-std", "minibatch std in D", settings=BEFORE,
              discriminator_overrides=(("minibatch_std", True),)),
    Candidate("sagan-minibatch-std", "minibatch std in D", generator="sagan_tiny", settings=BEFORE,
              discriminator_overrides=(("minibatch_std", True),)),
    Candidate("nest-diffaugment", f"DiffAugment {DIFFAUGMENT}", settings=(("diffaugment", DIFFAUGMENT), *BEFORE)),
    Candidate("nest-r1", "R1 penalty, gamma 1", settings=(("r1_gamma", 1.0), *BEFORE)),
    Candidate("nest-lr-2e-4", "G and D learning rate 2e-4 (TTUR off)", settings=(*LR_2E4, *BEFORE)),
    Candidate("nest-ema-warmup-latent-every-level", "EMA warm-up + latent modulates every level",
              settings=WARMUP, generator_overrides=(("latent_modulation", True),)),
    Candidate("nest-ema-warmup-token-noise", "EMA warm-up + per-token noise at every level",
              settings=WARMUP, generator_overrides=(("token_noise", True),)),
    Candidate("nest-ema-warmup-lr-2e-4", "EMA warm-up + G and D learning rate 2e-4", settings=(*WARMUP, *LR_2E4)),
    Candidate("sagan-ema-warmup-lr-2e-4", "EMA warm-up + G and D learning rate 2e-4", generator="sagan_tiny",
              settings=(*WARMUP, *LR_2E4)),
)
TABLE_METRICS = ("FD-digits-cnn", "KD-digits-cnn", "precision", "recall", "density", "coverage", "classes_covered",
                 "largest_class_share")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", nargs="*", default=None, help="names of the candidates (default all)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--samples", type=int, default=1000, help="generated images scored")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default="runs/gan_diversity")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = p.parse_args(argv)
    if args.steps < 3 or args.steps % 3:
        p.error(f"--steps must be a multiple of 3 (each run commits three times), got {args.steps}")
    return args


def train_and_score(candidate, args):
    """The candidate's row: trains it to `args.steps` (resumable) and scores its generator, cached."""
    from keras_nest.gan.training import train_gan
    from keras_nest.metrics import score_generator
    from keras_nest.models import load_saved_model

    out = os.path.join(args.work, f"{candidate.name}-b{args.batch_size}-s{args.seed}")
    cache = os.path.join(out, f"scores-{args.steps}-{args.samples}.json")
    if os.path.exists(cache):
        with open(cache) as f:
            return json.load(f)
    result = train_gan(candidate.generator, "digits", steps=args.steps, batch_size=args.batch_size, out=out,
                       checkpoint_every=args.steps // 3, resume=os.path.exists(out), seed=args.seed, verbose=0,
                       generator_overrides=dict(candidate.generator_overrides),
                       discriminator_overrides=dict(candidate.discriminator_overrides), **dict(candidate.settings))
    generator = load_saved_model(result["generator_path"])
    row = {"run": candidate.name, "change": candidate.change, "generator": candidate.generator,
           "params": generator.count_params(), "steps": args.steps, "batch_size": args.batch_size,
           "seed": args.seed, "wall_seconds": result["wall_seconds"], "generator_path": result["generator_path"],
           **score_generator(generator, "digits", num_samples=args.samples, seed=args.seed)}
    with open(cache + ".tmp", "w") as f:
        json.dump(row, f, indent=1)
    os.replace(cache + ".tmp", cache)
    return row


def markdown(rows):
    lines = ["| run | change | params | FD | KD | precision | recall | density | coverage | digits | largest share |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['change']} | {r['params']:,} | {r['FD-digits-cnn']:.1f} | "
                     f"{r['KD-digits-cnn']:.1f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['density']:.3f} | "
                     f"{r['coverage']:.3f} | {r['classes_covered']} | {100 * r['largest_class_share']:.1f}% |")
    return "\n".join(lines) + "\n"


def plot(rows, path, per_row=16):
    """One row of `per_row` samples (noise seed 1234) per candidate, labelled."""
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_nest.gan.grids import tile
    from keras_nest.metrics import generate_samples
    from keras_nest.models import load_saved_model

    fig, axes = plt.subplots(len(rows), 1, figsize=(per_row * 0.45, len(rows) * 0.75))
    for ax, row in zip(np.atleast_1d(axes), rows):
        images = generate_samples(load_saved_model(row["generator_path"]), per_row, seed=1234)
        ax.imshow(tile(images, columns=per_row))
        ax.set_axis_off()
        ax.set_title(f"{row['run']}: recall {row['recall']:.2f}, coverage {row['coverage']:.2f}, "
                     f"{row['classes_covered']} digits", fontsize=7, loc="left")
        keras.backend.clear_session()
    fig.tight_layout()
    fig.savefig(path + ".tmp.png", dpi=120)
    os.replace(path + ".tmp.png", path)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    chosen = [c for c in CANDIDATES if args.runs is None or c.name in args.runs]
    unknown = set(args.runs or ()) - {c.name for c in CANDIDATES}
    if unknown:
        raise SystemExit(f"Unknown runs {sorted(unknown)}; choose from {[c.name for c in CANDIDATES]}.")
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for candidate in chosen:
        rows.append(dict(train_and_score(candidate, args), change=candidate.change))
        print(json.dumps({k: rows[-1][k] for k in ("run", *TABLE_METRICS)}), flush=True)
    with open(os.path.join(args.out, "gan_diversity.json"), "w") as f:
        json.dump({"steps": args.steps, "batch_size": args.batch_size, "samples": args.samples, "rows": rows}, f,
                  indent=1)
    with open(os.path.join(args.out, "gan_diversity.md"), "w") as f:
        f.write(markdown(rows))
    plot(rows, os.path.join(args.out, "gan_diversity.png"))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
