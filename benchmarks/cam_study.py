"""Why is NesT's head CAM inverted, and which class map localizes? (issue 11)

Trains `nest_micro_64` on `shapes` and `cluttered_digits` at 64x64 (the
`small` recipe, 15 epochs, snapshots along the way; recipe and top-level
variants on `shapes`) and the size-matched `vit_micro_64`, then scores
every class-map variant of each checkpoint on the test split: MaxBoxAccV2
(IoU 0.3/0.5/0.7) and PxAP of the true class's map, and the accuracy,
against the centre baseline (`keras_nest.explain.localization`). Writes
`--out/cam_study.json`, `cam_study.md` (the README table) and
`cam_study.png`. Each checkpoint's scores are kept beside it, so a rerun
only scores what is new.

Hypotheses:
  a. training length and data: snapshots after 3, 5, 10 epochs, and the best
     epoch; a 30-epoch schedule; 20,000 training images instead of 5,000;
  b. the top level's attention moves class evidence off the object: the
     head's read-out of the top level's input (`top_input_cam`) against
     its output (`cam_head`), the CAM moved back along the top level's
     attention rollout (`cam_rollout`), a shallower or deeper top level;
  c. the final LayerNorm removes the token-norm signal (`cam_pre_norm`);
  d. the sign convention (`cam_negated`, `cam_positive`, `cam_softmax`);
  e. the recipe: MixUp + CutMix, no label smoothing.
Gradient maps for comparison: `cam_gradient` (the library's default),
Grad-CAM at the top and the level below, level-0 activation x gradient.

    python benchmarks/cam_study.py                 # train what is missing, then score
    python benchmarks/cam_study.py --train-only    # only train (resumable)
    python benchmarks/cam_study.py --score-only --runs shapes-base digits-base
"""

import argparse
import dataclasses
import json
import os
import sys
import time

import numpy as np


@dataclasses.dataclass(frozen=True)
class StudyRun:
    """One trained model of the study."""

    name: str
    dataset: str
    hypothesis: str
    model: str = "nest_micro_64"
    epochs: int = 15  # the small recipe's
    recipe_overrides: tuple = ()  # (field, value) pairs
    model_overrides: tuple = ()
    snapshots: tuple = ()  # epochs, besides the last, whose weights are kept
    num_examples: int = None  # training images (None: the data set's default)


RUNS = (
    StudyRun("shapes-base", "shapes", "a: small recipe", snapshots=(3, 5, 10)),
    StudyRun("digits-base", "cluttered_digits", "a: small recipe", snapshots=(3, 5, 10)),
    StudyRun("shapes-vit", "shapes", "ViT baseline", model="vit_micro_64"),
    StudyRun("digits-vit", "cluttered_digits", "ViT baseline", model="vit_micro_64"),
    StudyRun("shapes-mix", "shapes", "e: MixUp 0.8 / CutMix 1.0",
             recipe_overrides=(("mixup_alpha", 0.8), ("cutmix_alpha", 1.0))),
    StudyRun("shapes-top-depth-1", "shapes", "b: top level depth 1", model_overrides=(("depths", (1, 2, 1)),)),
    StudyRun("shapes-no-smoothing", "shapes", "e: label smoothing 0", recipe_overrides=(("label_smoothing", 0.0),)),
    StudyRun("shapes-8-epochs", "shapes", "a: small recipe, 8-epoch schedule", epochs=8, snapshots=(2, 4)),
    StudyRun("shapes-top-depth-4", "shapes", "b: top level depth 4", model_overrides=(("depths", (1, 2, 4)),)),
    StudyRun("digits-30-epochs", "cluttered_digits", "a: small recipe, 30-epoch schedule", epochs=30,
             snapshots=(15, 20)),
    StudyRun("digits-top-depth-4", "cluttered_digits", "b: top level depth 4",
             model_overrides=(("depths", (1, 2, 4)),)),
    StudyRun("digits-20k", "cluttered_digits", "a: 20,000 training images, 12-epoch schedule", epochs=12,
             snapshots=(4, 8), num_examples=20000),
    StudyRun("shapes-20k", "shapes", "a: 20,000 training images, 4-epoch schedule", epochs=4,
             snapshots=(2,), num_examples=20000),
    StudyRun("digits-vit-20k", "cluttered_digits", "ViT baseline, 20,000 training images, 12-epoch schedule",
             model="vit_micro_64", epochs=12, num_examples=20000),
)


def snapshots_callback(folder, epochs):
    """A Keras callback that saves the model to `folder/epoch_E.keras` after each epoch E in `epochs`."""
    import keras

    class Snapshots(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 in epochs:
                path = os.path.join(folder, f"epoch_{epoch + 1}.keras")
                self.model.save(path + ".tmp.keras")
                os.replace(path + ".tmp.keras", path)

    os.makedirs(folder, exist_ok=True)
    return Snapshots()


def train_run(run, work):
    """Trains `run` into `work/run.name` unless finished; returns the run folder."""
    from keras_nest.training import train

    out = os.path.join(work, run.name)
    if os.path.exists(os.path.join(out, "result.json")):
        return out
    train(model=run.model, dataset=run.dataset, out=out, epochs=run.epochs, resume=os.path.exists(out),
          num_examples=run.num_examples,
          recipe_overrides=dict(run.recipe_overrides) or None, model_overrides=dict(run.model_overrides) or None,
          export=False, tensorboard=False, verbose=2, jit_compile="on",
          callbacks=[snapshots_callback(os.path.join(out, "snapshots"), run.snapshots)])
    return out


# --- class-map variants --------------------------------------------------------------------


def _np(x):
    from keras import ops

    return ops.convert_to_numpy(ops.cast(x, "float32"))


def head_readout(model, tokens):
    """`final_norm` then the head's Dense on every token: `(N, n, K)` class scores."""
    from keras_nest.explain.cam import head_cam

    return head_cam(model, model.final_norm(tokens))


def map_variants(model, images, labels):
    """Maps `(N, H, W)` in `[0, 1]` of each image's class for every NesT variant the study compares."""
    from keras import ops

    from keras_nest.explain import class_attention_map, grad_cam, image_maps
    from keras_nest.explain.forward import level_plane
    from keras_nest.explain.gradients import value_and_gradients

    grid, size, n = model.geometry[-1].block_size, model.image_size, len(images)
    out = model.forward_levels(images)
    logits = _np(out.logits)
    scores = head_readout(model, out.levels[-1][:, 0])  # (N, n, K): the head's CAM of every class
    cam = np.take_along_axis(scores, labels[:, None, None], axis=2)[..., 0]
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    h = _np(out.levels[-1][:, 0])
    kernel = _np(model.head.kernel)[:, labels]  # (C, N)
    # The head's linear part on LayerNorm's centring and gain only: the token's norm is kept.
    pre_norm = np.einsum("ntc,cn->nt", (h - h.mean(-1, keepdims=True)) * _np(model.final_norm.gamma), kernel)
    top_input = head_readout(model, out.inputs[-1][:, 0])

    def target(offsets):  # the class logit, differentiated at level 0's output
        o = model.forward_levels(images, output_offsets=offsets)
        return ops.sum(o.logits * ops.one_hot(labels, logits.shape[1], dtype=o.logits.dtype)), o.levels[0]

    level0, grads = value_and_gradients(target, [np.zeros(tuple(t.shape), np.float32) for t in out.levels])
    contribution = level_plane((level0 * grads[0]).sum(-1), model.geometry[0])  # first-order share per token
    on_grid = {
        "cam_negated": -cam,
        "cam_positive": np.maximum(cam, 0),
        "cam_softmax": cam - np.einsum("ntk,nk->nt", scores, probs),
        "cam_pre_norm": pre_norm,
        "top_input_cam": np.take_along_axis(top_input, labels[:, None, None], axis=2)[..., 0],
    }
    maps = {k: image_maps(v.reshape(n, *grid), size) for k, v in on_grid.items()}
    for method in ("head", "rollout", "gradient"):
        maps[f"cam_{method}"] = class_attention_map(model, images, labels, method).maps
    maps["grad_cam_top"] = grad_cam(model, images, labels, level=-1).maps
    maps["grad_cam_below_top"] = grad_cam(model, images, labels, level=-2).maps
    maps["contribution_level0"] = image_maps(contribution, size)
    maps["contribution_level0_positive"] = image_maps(np.maximum(contribution, 0), size)
    return maps, logits


def vit_maps(model, images, labels):
    """The ViT baseline's CAM (GAP head) and attention rollout."""
    from keras_nest.explain import attention_rollout, class_attention_map

    cam = class_attention_map(model, images, labels)
    return {"vit_cam": cam.maps, "vit_rollout": attention_rollout(model, images).maps}, cam.logits


def score(maps, arrays, thresholds):
    """MaxBoxAccV2 (and per IoU) and PxAP of `(N, H, W)` maps in `[0, 1]` against boxes and masks."""
    from keras_nest.explain import localization as loc

    curve = loc.box_accuracy_curve(maps, arrays["boxes"], loc.IOU_THRESHOLDS, thresholds).max(axis=1)
    return {"max_box_acc_v2": round(100 * float(curve.mean()), 1),
            "per_iou": [round(100 * float(c), 1) for c in curve],
            "pxap": round(100 * loc.pxap(maps, arrays["masks"]), 1)}


def score_model(path, dataset, num_examples, thresholds, batch_size=100):
    """Accuracy and every map's scores for the model saved at `path`, on `dataset`'s test split."""
    import keras

    from keras_nest.data import dataset_info, load_arrays
    from keras_nest.explain import prepare_images
    from keras_nest.models import NestModel

    model = keras.saving.load_model(path, compile=False)
    info = dataset_info(dataset)
    size = tuple(model.model_config["input_shape"][:2])
    arrays = load_arrays(dataset, "test", image_size=size, num_examples=num_examples)
    inputs = prepare_images(arrays["images"], model, info.mean, info.std)
    labels = arrays["labels"].astype(np.int64)
    maps_of = map_variants if isinstance(model, NestModel) else vit_maps
    parts = [maps_of(model, inputs[i:i + batch_size], labels[i:i + batch_size])
             for i in range(0, len(inputs), batch_size)]
    logits = np.concatenate([p[1] for p in parts])
    row = {"accuracy": round(100 * float(np.mean(logits.argmax(1) == labels)), 1), "maps": {}}
    for name in parts[0][0]:
        row["maps"][name] = score(np.concatenate([p[0][name] for p in parts]), arrays, thresholds)
    return row


def object_share(dataset, num_examples):
    """The share of test pixels on the object: the PxAP of a map that knows nothing."""
    from keras_nest.data import load_arrays

    return round(100 * float(load_arrays(dataset, "test", image_size=(64, 64),
                                         num_examples=num_examples)["masks"].mean()), 1)


def centre_row(dataset, num_examples, thresholds):
    from keras_nest.data import load_arrays
    from keras_nest.explain import localization as loc

    arrays = load_arrays(dataset, "test", image_size=(64, 64), num_examples=num_examples)
    return score(loc.centre_maps(len(arrays["boxes"]), (64, 64)), arrays, thresholds)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", nargs="*", default=None, help="names of the runs to train and score (default all)")
    p.add_argument("--work", default="runs/cam_study", help="where runs are trained")
    p.add_argument("--train-only", action="store_true", help="train the missing runs and stop")
    p.add_argument("--score-only", action="store_true", help="score the trained runs, train nothing")
    p.add_argument("--num-examples", type=int, default=500, help="score the first N test images")
    p.add_argument("--threshold-step", type=float, default=0.01, help="step of the box threshold sweep")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    return p.parse_args(argv)


def checkpoints(run, work):
    """`(epochs, path)` of every scored model of a run: its snapshots, then its best checkpoint."""
    folder = os.path.join(work, run.name)
    with open(os.path.join(folder, "result.json")) as f:
        best_epoch = json.load(f).get("best_epoch", run.epochs)
    found = [(e, os.path.join(folder, "snapshots", f"epoch_{e}.keras")) for e in run.snapshots]
    return found + [(best_epoch, os.path.join(folder, "best.keras"))]


def scored(run, epochs, path, args, thresholds):
    """The study's row for one checkpoint, kept beside it so reruns and partial studies reuse it."""
    cache = f"{path}.scores-{args.num_examples}-{args.threshold_step}.json"
    if os.path.exists(cache):
        with open(cache) as f:
            return json.load(f)
    start = time.time()
    row = {"run": run.name, "dataset": run.dataset, "hypothesis": run.hypothesis, "model": run.model,
           "epochs": epochs}
    row.update(score_model(path, run.dataset, args.num_examples, thresholds))
    with open(cache + ".tmp", "w") as f:
        json.dump(row, f)
    os.replace(cache + ".tmp", cache)
    print(json.dumps(row), f"({time.time() - start:.0f} s)", flush=True)
    return row


TABLE_MAPS = (("cam_head", "head CAM"), ("cam_negated", "-head CAM"), ("cam_pre_norm", "CAM before LN"),
              ("top_input_cam", "CAM at top input"), ("cam_softmax", "softmax CAM"), ("cam_rollout", "rollout CAM"),
              ("cam_gradient", "gradient (default)"))


def markdown(table):
    """The study's table: one row per checkpoint, `MaxBoxAccV2 / PxAP` per map."""
    lines = ["| data set | run (hypothesis) | epochs | accuracy | " + " | ".join(t for _, t in TABLE_MAPS) + " |",
             "|---|---|---:|---:|" + "---:|" * len(TABLE_MAPS)]
    for dataset, facts in table["datasets"].items():
        centre = facts["centre"]
        lines.append(f"| {dataset} | centre baseline (object share {facts['object_share']}%) | | | "
                     + " | ".join(f"{centre['max_box_acc_v2']} / {centre['pxap']}" for _ in TABLE_MAPS) + " |")
        for row in (r for r in table["rows"] if r["dataset"] == dataset):
            if row["model"].startswith("vit"):
                vit = row["maps"]
                lines.append(f"| {dataset} | {row['run']} (ViT CAM; rollout: {vit['vit_rollout']['max_box_acc_v2']} / "
                             f"{vit['vit_rollout']['pxap']}) | {row['epochs']} | {row['accuracy']} | "
                             f"{vit['vit_cam']['max_box_acc_v2']} / {vit['vit_cam']['pxap']} |"
                             + " |" * (len(TABLE_MAPS) - 1))
                continue
            cells = [f"{row['maps'][k]['max_box_acc_v2']} / {row['maps'][k]['pxap']}" for k, _ in TABLE_MAPS]
            lines.append(f"| {dataset} | {row['run']} ({row['hypothesis']}) | {row['epochs']} | {row['accuracy']} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(table, path):
    """MaxBoxAccV2 of the main maps per run, one panel per data set, the centre baseline as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ("cam_head", "cam_pre_norm", "top_input_cam", "cam_rollout", "cam_gradient",
             "contribution_level0_positive", "vit_cam", "vit_rollout")
    datasets = list(table["datasets"])
    fig, axes = plt.subplots(1, len(datasets), figsize=(7 * len(datasets), 4.5), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        rows = [r for r in table["rows"] if r["dataset"] == dataset]
        labels = [f"{r['run']}@{r['epochs']}" for r in rows]
        width = 0.8 / len(shown)
        for j, name in enumerate(shown):
            values = [r["maps"].get(name, {}).get("max_box_acc_v2", np.nan) for r in rows]
            ax.bar(np.arange(len(rows)) + j * width, values, width, label=name)
        ax.axhline(table["datasets"][dataset]["centre"]["max_box_acc_v2"], color="k", ls="--", label="centre")
        ax.set_xticks(np.arange(len(rows)) + 0.4 - width / 2, labels, rotation=35, ha="right", fontsize=8)
        ax.set_ylabel("MaxBoxAccV2 (%)")
        ax.set_title(dataset)
    axes[0, 0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    import keras_nest  # noqa: F401  (registers the layers before models load)
    from keras_nest.explain import localization as loc

    runs = [r for r in RUNS if args.runs is None or r.name in args.runs]
    for run in runs if not args.score_only else ():
        start = time.time()
        train_run(run, args.work)
        print(f"{run.name}: trained in {time.time() - start:.0f} s", flush=True)
    if args.train_only:
        return 0
    thresholds = loc.default_thresholds(args.threshold_step)
    table = {"num_examples": args.num_examples, "threshold_step": args.threshold_step, "datasets": {}, "rows": []}
    for dataset in sorted({r.dataset for r in runs}):
        table["datasets"][dataset] = {"object_share": object_share(dataset, args.num_examples),
                                      "centre": centre_row(dataset, args.num_examples, thresholds)}
    for run in runs:
        if not os.path.exists(os.path.join(args.work, run.name, "result.json")):
            print(f"{run.name}: not trained yet, left out", flush=True)
            continue
        for epochs, path in checkpoints(run, args.work):
            table["rows"].append(scored(run, epochs, path, args, thresholds))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "cam_study.json"), "w") as f:
        json.dump(table, f, indent=1)
    plot(table, os.path.join(args.out, "cam_study.png"))
    with open(os.path.join(args.out, "cam_study.md"), "w") as f:
        f.write(markdown(table))
    print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
