"""Parity of every export format with Keras, on a trained model's real test images.

Exports a `.keras` classifier (default: trains the demo, `nest_nano_16` on
digits, if `--model-path` is not given) as SavedModel, LiteRT and ONNX,
runs each artifact with its own runtime (`keras_nest.export.run_exported`)
on raw test images of the model's data set, and writes one JSON object per
format: max |difference| of the logits against Keras, top-1 agreement,
artifact size and wall time of export and inference.

    pip install -e ".[export]"
    python benchmarks/export_parity.py                                   # train the demo first
    python benchmarks/export_parity.py --model-path runs/x/best.keras --dataset shapes

Writes benchmarks/results/export_parity.json.
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-path", help="a .keras classifier that takes raw pixels (default: train the demo)")
    p.add_argument("--dataset", default="digits", help="its data set, for real test images (default digits)")
    p.add_argument("--num-examples", type=int, default=360, help="test images compared (default 360)")
    p.add_argument("--out", default=os.path.join(HERE, "results", "export_parity.json"))
    return p.parse_args(argv)


def _size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
    return os.path.getsize(path)


def main(argv=None):
    args = parse_args(argv)
    import keras

    from keras_nest.data import load_arrays
    from keras_nest.export import EXPORT_FORMATS, export_model, run_exported
    from keras_nest.models import load_saved_model

    work = tempfile.mkdtemp(prefix="export-parity-")
    model_path = args.model_path
    if model_path is None:
        from keras_nest.training import train

        train(dataset=args.dataset, out=os.path.join(work, "run"), export=False, tensorboard=False, verbose=0)
        model_path = os.path.join(work, "run", "best.keras")
    model = load_saved_model(model_path)
    if not model.includes_preprocessing:
        raise SystemExit(f"{model_path} takes normalised images; this benchmark checks raw-pixel models.")
    arrays = load_arrays(args.dataset, "test", image_size=tuple(model.input_shape[1:3]),
                         num_examples=args.num_examples)
    images, labels = arrays["images"].astype(np.float32), arrays["labels"]
    expected = keras.ops.convert_to_numpy(model.predict(images, verbose=0))
    rows = []
    for format in EXPORT_FORMATS:
        target = os.path.join(work, {"saved_model": "saved", "litert": "m.tflite", "onnx": "m.onnx"}[format])
        start = time.perf_counter()
        export_model(model, target, format)
        exported = time.perf_counter() - start
        start = time.perf_counter()
        got = run_exported(target, images)
        ran = time.perf_counter() - start
        row = {"format": format, "model_path": model_path, "dataset": args.dataset, "images": len(images),
               "max_abs_logit_difference": float(np.abs(got - expected).max()),
               "top1_agreement": float(np.mean(got.argmax(1) == expected.argmax(1))),
               "keras_accuracy": float(np.mean(expected.argmax(1) == labels)),
               "artifact_accuracy": float(np.mean(got.argmax(1) == labels)),
               "artifact_bytes": _size(target), "export_seconds": round(exported, 2),
               "inference_seconds": round(ran, 3)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
