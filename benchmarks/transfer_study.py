"""Transfer: does a pretrained NesT fine-tune better than one trained from scratch, at another image size?

The shape of the real use (ImageNet weights -> your photos) at a size two CPU
cores can run: pretrain on a large procedural set (`shapes`, 5,000 images of
16x16), save the best model, then fine-tune it with the `finetune` recipe on
a small labelled set of another domain at another size (10% of `digits`, 143
images, at 32x32: every position-embedding table is resized per block and the
head is new), against the same model trained from scratch there with the
`small` recipe (the one tuned for training these models from scratch). The
same for the size-matched ViT baseline. Every run goes through
`keras_nest.training.train` (`weights=` is the pretrained `best.keras`).

Each run appends one JSON line to `--out/transfer_study.jsonl`; a rerun skips
the runs already there. Pretraining runs live in `--runs` (resumable).
At the end: `transfer_study.json` (the table) and `transfer_study.md`.

    python benchmarks/transfer_study.py                     # the README table
    python benchmarks/transfer_study.py --epochs 10 --pretrain-epochs 1   # a quick look
"""

import argparse
import json
import os

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
PAIRS = (("nest", "nest_nano_16"), ("vit", "vit_nano_16"))
# Fine-tuning variants: (label, recipe, recipe overrides).
VARIANTS = (
    ("scratch", "small", {}),
    ("finetune", "finetune", {}),
    ("finetune + layer decay 0.75, 2 frozen epochs", "finetune", {"layer_decay": 0.75, "frozen_epochs": 2.0}),
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pretrain-dataset", default="shapes")
    p.add_argument("--pretrain-size", type=int, default=16)
    p.add_argument("--pretrain-epochs", type=int, default=15)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--fraction", type=float, default=0.1)
    p.add_argument("--epochs", type=int, nargs="+", default=[10, 30])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", default=os.path.join("runs", "transfer_study"))
    p.add_argument("--out", default=RESULTS)
    return p.parse_args(argv)


def pretrain(family, model, args):
    """The pretrained model's `best.keras` (trained, or resumed, in `--runs`)."""
    from keras_nest.training import train

    folder = os.path.join(args.runs, f"pretrain-{family}")
    best = os.path.join(folder, "best.keras")
    if not os.path.exists(best):
        resume = os.path.exists(os.path.join(folder, "state.json"))
        train(model=model, dataset=args.pretrain_dataset, image_size=args.pretrain_size, out=folder,
              recipe="small", epochs=args.pretrain_epochs, seed=args.seed, resume=resume, tensorboard=False,
              export=False, verbose=2)
    with open(os.path.join(folder, "result.json")) as f:
        return best, json.load(f)


def finetune_run(family, model, variant, epochs, weights, args):
    from keras_nest.training import train

    label, recipe, overrides = variant
    folder = os.path.join(args.runs, f"{family}-{label.split()[0]}-{len(overrides)}-{epochs}ep")
    result = train(model=model, dataset=args.dataset, image_size=args.size, out=folder, recipe=recipe,
                   epochs=epochs, seed=args.seed, train_fraction=args.fraction,
                   weights=None if label == "scratch" else weights,
                   recipe_overrides=dict(overrides, horizontal_flip=False),  # digits are not mirror-symmetric
                   tensorboard=False, export=False, verbose=0,
                   resume=os.path.exists(os.path.join(folder, "state.json")))
    return {"family": family, "model": model, "variant": label, "recipe": recipe, "epochs": epochs,
            "test_accuracy": round(result["test_accuracy"], 4), "train_examples": result["train_examples"],
            "wall_seconds": result["wall_seconds"]}


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    log = os.path.join(args.out, "transfer_study.jsonl")
    results = [json.loads(line) for line in open(log)] if os.path.exists(log) else []
    done = {(r["family"], r["variant"], r["epochs"]) for r in results}
    pretrained = {}
    for family, model in PAIRS:
        best, facts = pretrain(family, model, args)
        pretrained[family] = {"model": model, "test_accuracy": round(facts["test_accuracy"], 4),
                              "epochs": facts["epochs"], "dataset": args.pretrain_dataset,
                              "image_size": args.pretrain_size}
        for epochs in args.epochs:
            for variant in VARIANTS:
                if variant[1] == "small" or family == "nest" or not variant[2]:
                    if (family, variant[0], epochs) in done:
                        continue
                    row = finetune_run(family, model, variant, epochs, best, args)
                    results.append(row)
                    with open(log, "a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(json.dumps(row), flush=True)
    summary = {"pretrained": pretrained, "target": {"dataset": args.dataset, "image_size": args.size,
                                                    "fraction": args.fraction}, "runs": results}
    with open(os.path.join(args.out, "transfer_study.json"), "w") as f:
        json.dump(summary, f, indent=1)
    lines = ["| model | start | recipe | " + " | ".join(f"{e} epochs" for e in args.epochs) + " |",
             "|---|---|---|" + "---:|" * len(args.epochs)]
    for family, model in PAIRS:
        for label, recipe, _ in VARIANTS:
            cells = [next((f"{r['test_accuracy']:.1%}" for r in results if (r["family"], r["variant"], r["epochs"])
                           == (family, label, e)), "") for e in args.epochs]
            if any(cells):
                lines.append(f"| {model} | {label} | {recipe} | " + " | ".join(cells) + " |")
    with open(os.path.join(args.out, "transfer_study.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
