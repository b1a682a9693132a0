"""Live parity check: timm `nest_tiny_jx` against keras_nest `nest_tiny_imagenet`.

Needs torch and timm besides keras_nest (`pip install 'keras-nest[torch]'`).
Both models start from timm's random init (no download), timm's weights are
converted with `keras_nest.convert.load_timm_weights`, and both run in eval
mode on the same random batch. Prints one JSON line with the max absolute
logit difference; exits non-zero above the tolerance.

    python tools/timm_parity.py [--model nest_tiny_jx] [--batch-size 4] [--tolerance 1e-4]
"""

import argparse
import json
import sys

import numpy as np

TIMM_TO_KERAS = {
    "nest_tiny_jx": "nest_tiny_imagenet",
    "nest_small_jx": "nest_small_imagenet",
    "nest_base_jx": "nest_base_imagenet",
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nest_tiny_jx", choices=sorted(TIMM_TO_KERAS))
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args(argv)

    import timm
    import torch

    import keras_nest
    from keras_nest.convert import load_timm_weights

    torch.manual_seed(args.seed)
    reference = timm.create_model(args.model, pretrained=False).eval()
    images = np.random.default_rng(args.seed).normal(size=(args.batch_size, 224, 224, 3)).astype("float32")
    with torch.no_grad():
        expected = reference(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()

    model = keras_nest.create_model(TIMM_TO_KERAS[args.model], gelu_approximate=False)
    load_timm_weights(model, reference.state_dict())
    logits = model.predict(images, verbose=0)
    error = float(np.abs(logits - expected).max())
    result = {
        "timm_model": args.model,
        "keras_nest_model": TIMM_TO_KERAS[args.model],
        "batch_size": args.batch_size,
        "max_abs_logit_diff": error,
        "logit_scale": float(np.abs(expected).max()),
        "tolerance": args.tolerance,
        "passed": error <= args.tolerance,
        "timm_version": timm.__version__,
        "torch_version": torch.__version__,
    }
    print(json.dumps(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
