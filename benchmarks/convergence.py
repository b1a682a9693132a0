"""Convergence and data efficiency: NesT against a size-matched ViT.

Both models train with the same recipe, data, seed and batch size through
`keras_nest.training.train`. Two sweeps per data set:

* epoch budgets (each budget is its own run, so the cosine schedule ends at
  the budget, as in a real training of that length);
* fractions of the training split (stratified) at a fixed budget.

Every run prints one JSON line and is appended to `--out/convergence.jsonl`;
a rerun skips the runs already there, so an interrupted study continues.
At the end it prints a JSON summary and writes
`convergence_epochs.png` and `data_efficiency.png` to `--out`.

    python benchmarks/convergence.py                      # the README study
    python benchmarks/convergence.py --datasets digits --budgets 1 3 --fractions 0.5 1.0
"""

import argparse
import json
import os
import sys
import tempfile

PAIRS = {"digits": ("nest_nano_16", "vit_nano_16"), "shapes": ("nest_micro_32", "vit_micro_32")}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["digits", "shapes"], choices=sorted(PAIRS))
    p.add_argument("--budgets", nargs="+", type=int, default=[1, 3, 10, 30])
    p.add_argument("--shapes-budgets", nargs="+", type=int, default=[1, 3, 10],
                   help="epoch budgets for shapes (its ViT is ~5x costlier per epoch)")
    p.add_argument("--fractions", nargs="+", type=float, default=[0.1, 0.25, 0.5, 1.0])
    p.add_argument("--fraction-epochs", type=int, default=10)
    p.add_argument("--shapes-fraction-epochs", type=int, default=3,
                   help="budget of the shapes data-efficiency runs (kept short for the same reason)")
    p.add_argument("--recipe", default="small")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    return p.parse_args(argv)


def run_key(run):
    return (run["dataset"], run["model"], run["epochs_budget"], run["fraction"], run["seed"])


def schedule(dataset, args):
    """(epoch budgets, budget of the data-fraction runs) for one data set."""
    if dataset == "shapes":
        return args.shapes_budgets, args.shapes_fraction_epochs
    return args.budgets, args.fraction_epochs


def planned_runs(args):
    for dataset in args.datasets:
        budgets, fraction_epochs = schedule(dataset, args)
        for model in PAIRS[dataset]:
            for epochs in budgets:
                yield dict(dataset=dataset, model=model, epochs_budget=epochs, fraction=1.0, seed=args.seed)
            for fraction in args.fractions:
                yield dict(dataset=dataset, model=model, epochs_budget=fraction_epochs,
                           fraction=fraction, seed=args.seed)


def execute(run, args):
    from keras_nest.training import train

    with tempfile.TemporaryDirectory() as folder:
        result = train(
            model=run["model"], dataset=run["dataset"], out=os.path.join(folder, "run"),
            recipe=args.recipe, epochs=run["epochs_budget"], batch_size=args.batch_size,
            seed=run["seed"], train_fraction=run["fraction"], tensorboard=False, export=False, verbose=0,
        )
    return dict(run, test_accuracy=result["test_accuracy"], params=result["params"],
                train_examples=result["train_examples"], wall_seconds=result["wall_seconds"])


def summarize(results, args):
    table = {}
    for r in results:
        family = r["model"].split("_")[0]
        table.setdefault(r["dataset"], {}).setdefault(family, {"epochs": {}, "fraction": {}})
        entry = table[r["dataset"]][family]
        entry["model"], entry["params"] = r["model"], r["params"]
        if r["fraction"] == 1.0:
            entry["epochs"][r["epochs_budget"]] = round(r["test_accuracy"], 4)
        if r["epochs_budget"] == schedule(r["dataset"], args)[1]:
            entry["fraction"][r["fraction"]] = round(r["test_accuracy"], 4)
    return table


def plot(table, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for key, xlabel, name, log in (("epochs", "training epochs (budget)", "convergence_epochs.png", True),
                                   ("fraction", "fraction of training data", "data_efficiency.png", True)):
        fig, axes = plt.subplots(1, len(table), figsize=(5 * len(table), 4), squeeze=False)
        for ax, (dataset, families) in zip(axes[0], sorted(table.items())):
            for _family, entry in sorted(families.items()):
                points = sorted((float(x), y) for x, y in entry[key].items())
                if points:
                    ax.plot(*zip(*points), marker="o", label=f"{entry['model']} ({entry['params']:,} params)")
            title = dataset if key == "epochs" else f"{dataset}, {schedule(dataset, args)[1]} epochs"
            ax.set(title=title, xlabel=xlabel, ylabel="test top-1 accuracy", ylim=(0, 1))
            if log:
                ax.set_xscale("log")
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, name), dpi=100)
        plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, "convergence.jsonl")
    results = []
    if os.path.exists(log_path):
        with open(log_path) as f:
            results = [json.loads(line) for line in f if line.strip()]
    done = {run_key(r) for r in results}
    for run in planned_runs(args):
        if run_key(run) in done:
            continue
        result = execute(run, args)
        results.append(result)
        done.add(run_key(result))
        with open(log_path, "a") as f:
            f.write(json.dumps(result) + "\n")
        print(json.dumps(result), flush=True)
    wanted = {run_key(r) for r in planned_runs(args)}
    table = summarize([r for r in results if run_key(r) in wanted], args)
    plot(table, args)
    print(json.dumps({"summary": "test top-1 accuracy", "table": table}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
