"""Wall time of `keras-nest` commands: start-up (`--help`, `models`) and the demo with XLA on and off.

Prints one JSON line per measurement (median of `--repeats` runs for the
start-up commands; one run each for the demo, which takes minutes), then a
summary line. Run from a checkout with keras-nest installed:

    python benchmarks/cli_wall_time.py                      # start-up only
    python benchmarks/cli_wall_time.py --demo               # + the demo, XLA on vs off
    python benchmarks/cli_wall_time.py --demo --epochs 3    # a shorter demo

Results are appended to benchmarks/results/cli_wall_time.jsonl.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "cli_wall_time.jsonl")


def wall_time(argv, cwd):
    start = time.perf_counter()
    proc = subprocess.run(["keras-nest", *argv], cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"keras-nest {' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def record(row):
    print(json.dumps(row), flush=True)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--demo", action="store_true", help="also time the demo with --jit-compile on and off")
    parser.add_argument("--epochs", type=int, default=None, help="demo epochs (default: the recipe's)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="keras_nest_cli_")
    summary = {}
    try:
        for name, argv in (("help", ["--help"]), ("models", ["models"])):
            times = [wall_time(argv, work)[0] for _ in range(args.repeats)]
            summary[name] = record({"command": f"keras-nest {' '.join(argv)}", "median_s": round(
                statistics.median(times), 3), "runs": [round(t, 3) for t in times]})["median_s"]
        if args.demo:
            epochs = ["--epochs", str(args.epochs)] if args.epochs else []
            for jit in ("on", "off", "auto"):
                argv = ["train", "--jit-compile", jit, "--out", f"run-{jit}", "--verbose", "0", *epochs]
                elapsed, out = wall_time(argv, work)
                result = json.loads(out.strip().splitlines()[-1])
                summary[f"demo_xla_{jit}"] = record({
                    "command": "keras-nest " + " ".join(argv), "wall_s": round(elapsed, 1),
                    "test_accuracy": result["test_accuracy"], "epochs": result["epochs"]})["wall_s"]
        print(json.dumps({"summary": summary}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
