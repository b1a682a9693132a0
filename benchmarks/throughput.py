"""Images/s of a keras_nest model for inference and one training step.

Prints one JSON line per measurement, then (with --compare-timm) a summary
line with keras_nest / timm ratios measured in the same run; `--out FILE`
also appends every line to FILE. Each Keras backend runs in its own
subprocess (Keras fixes its backend at import), one after the other, timm
first. Examples:

    python benchmarks/throughput.py --model nest_tiny_imagenet --batch-size 8
    python benchmarks/throughput.py --model nest_tiny_cifar --batch-size 64 \
        --attention multi_head --backends tensorflow jax torch --jit-compile on off \
        --compare-timm --timm-python /path/to/venv-with-timm/bin/python \
        --torch-python /path/to/venv-with-torch/bin/python

Inference is `model.predict_on_batch`, training is `model.train_on_batch`
with AdamW and categorical cross-entropy, both compiled by Keras with the
requested `jit_compile` (XLA on TensorFlow, `jax.jit` on JAX,
`torch.compile` on PyTorch; "off" is eager on JAX and PyTorch). Inputs are
random; nothing is downloaded.
"""

import argparse
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from timing import time_loop  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="keras_nest throughput benchmark")
    p.add_argument("--model", default="nest_tiny_imagenet")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--backends", nargs="+", default=[os.environ.get("KERAS_BACKEND", "tensorflow")],
                   choices=["tensorflow", "jax", "torch"])
    p.add_argument("--torch-python", default=sys.executable, help="python interpreter for the torch backend")
    p.add_argument("--out", help="also append every JSON line to this file")
    p.add_argument("--child", help=argparse.SUPPRESS)  # the backend a subprocess measures
    p.add_argument("--mode", choices=["inference", "train", "both"], default="both")
    p.add_argument("--jit-compile", nargs="+", choices=["on", "off"], default=["on"])
    p.add_argument("--precision", nargs="+", choices=["float32", "mixed_bfloat16"], default=["float32"])
    p.add_argument("--attention", choices=["multi_head", "multi_query"], default=None,
                   help="override the model's attention (timm has multi-head only)")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--min-seconds", type=float, default=10.0)
    p.add_argument("--compare-timm", action="store_true",
                   help="also run timm's equivalent model (benchmarks/timm_reference.py)")
    p.add_argument("--timm-python", default=sys.executable,
                   help="python interpreter that has torch and timm")
    return p.parse_args(argv)


def measure(args, mode, jit, precision):
    import keras
    import numpy as np

    import keras_nest

    keras.backend.clear_session()
    overrides = {"attention": args.attention} if args.attention else {}
    model = keras_nest.create_model(args.model, dtype=precision, **overrides)
    classes = model.output_shape[-1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch_size, *model.input_shape[1:])).astype("float32")
    y = np.eye(classes, dtype="float32")[rng.integers(0, classes, args.batch_size)]
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-4),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        jit_compile=jit == "on",
    )
    step = (lambda: model.predict_on_batch(x)) if mode == "inference" else (lambda: model.train_on_batch(x, y))
    seconds, done = time_loop(step, args.iters, args.warmup, args.min_seconds)
    return {
        "backend": f"keras-{keras.backend.backend()}",
        "model": args.model,
        "attention": model.nest_config["attention"],
        "batch_size": args.batch_size,
        "mode": mode,
        "jit_compile": jit,
        "precision": precision,
        "images_per_second": args.batch_size * done / seconds,
        "seconds_per_iter": seconds / done,
        "iters": done,
        "keras_version": keras.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }


def run_timm(args, mode):
    if args.attention == "multi_query" or (args.attention is None and "cifar" in args.model):
        raise SystemExit("timm has no multi-query attention: pass --attention multi_head to compare.")
    command = [
        args.timm_python, os.path.join(HERE, "timm_reference.py"), "--model", args.model,
        "--batch-size", str(args.batch_size), "--mode", mode, "--iters", str(args.iters),
        "--warmup", str(args.warmup), "--min-seconds", str(args.min_seconds),
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def child_command(args, backend):
    """This script, measuring `backend` alone in a fresh interpreter."""
    python = args.torch_python if backend == "torch" else sys.executable
    command = [python, os.path.abspath(__file__), "--child", backend, "--model", args.model,
               "--batch-size", str(args.batch_size), "--mode", args.mode, "--jit-compile", *args.jit_compile,
               "--precision", *args.precision, "--iters", str(args.iters), "--warmup", str(args.warmup),
               "--min-seconds", str(args.min_seconds)]
    return command + (["--attention", args.attention] if args.attention else [])


def ratios(results, timm_results):
    return [
        {
            "backend": r["backend"], "mode": r["mode"], "jit_compile": r["jit_compile"],
            "precision": r["precision"], "keras_nest": round(r["images_per_second"], 3),
            "timm": round(timm_results[r["mode"]]["images_per_second"], 3),
            "ratio": round(r["images_per_second"] / timm_results[r["mode"]]["images_per_second"], 3),
        }
        for r in results
    ]


def main(argv=None):
    args = parse_args(argv)
    modes = ["inference", "train"] if args.mode == "both" else [args.mode]
    if args.child:
        os.environ["KERAS_BACKEND"] = args.child
        for mode in modes:
            for precision in args.precision:
                for jit in args.jit_compile:
                    print(json.dumps(measure(args, mode, jit, precision)), flush=True)
        return

    def emit(line):
        print(json.dumps(line), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(line) + "\n")

    # timm first, then each backend, each in its own process: no framework's idle thread pools
    # compete for the cores with another's measurement.
    timm_results = {}
    if args.compare_timm:
        for mode in modes:
            (timm_results[mode],) = run_timm(args, mode)
            emit(timm_results[mode])
    results = []
    for backend in args.backends:
        out = subprocess.run(child_command(args, backend), check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("{"):
                results.append(json.loads(line))
                emit(results[-1])
    if args.compare_timm:
        emit({"summary": "keras_nest / timm images/s, same machine, same run", "model": args.model,
              "batch_size": args.batch_size, "ratios": ratios(results, timm_results)})


if __name__ == "__main__":
    main()
