"""Reference CPU throughput of timm's PyTorch NesT, to compare keras_nest against.

Needs torch + timm, so it runs in a separate virtualenv rather than the
project's own environment, e.g.:

    /work/venv-timm/bin/python benchmarks/timm_reference.py \
        --model nest_tiny_imagenet --batch-size 8 --mode both

Each measurement is printed as one JSON line on stdout (nothing else goes to
stdout), so another script can run this in a subprocess and parse the lines:
backend, model, batch_size, mode, images_per_second, seconds_per_iter, iters,
torch_version, timm_version, num_threads.

Models (random init, nothing downloaded):
  nest_tiny_imagenet  timm ``nest_tiny_jx``: 224x224, 1000 classes.
  nest_tiny_cifar     Nest(img_size=32, patch_size=1, num_levels=4,
                      embed_dims=192 x4, num_heads=3 x4, depths=3 x4,
                      num_classes=10, pad_type='same', drop_path_rate=0.1).
Modes: ``inference`` (model.eval(), torch.no_grad()) and ``train`` (one
AdamW step on cross-entropy loss with model.train()); ``both`` runs the two.
Timing: ``--warmup`` untimed iterations, then at least ``--iters`` timed
iterations and at least ``--min-seconds`` of timed work.
"""

import argparse
import json
import sys

import timm
import torch
from timm.models.nest import Nest

from timing import time_loop

MODELS = {
    "nest_tiny_imagenet": dict(img_size=224, num_classes=1000),
    "nest_tiny_cifar": dict(img_size=32, num_classes=10),
}


def build_model(name):
    if name == "nest_tiny_imagenet":
        return timm.create_model("nest_tiny_jx", pretrained=False, num_classes=1000)
    if name == "nest_tiny_cifar":
        return Nest(img_size=32, patch_size=1, num_levels=4,
                    embed_dims=(192, 192, 192, 192), num_heads=(3, 3, 3, 3),
                    depths=(3, 3, 3, 3), num_classes=10, pad_type="same",
                    drop_path_rate=0.1)
    raise ValueError(f"unknown model {name!r}")


def benchmark(model_name, batch_size, mode, iters=5, warmup=2, min_seconds=0.0, seed=0):
    """Time one mode ('inference' or 'train') and return a result dict."""
    torch.manual_seed(seed)
    spec = MODELS[model_name]
    model = build_model(model_name)
    x = torch.randn(batch_size, 3, spec["img_size"], spec["img_size"])
    y = torch.randint(0, spec["num_classes"], (batch_size,))

    if mode == "inference":
        model.eval()

        def step():
            with torch.no_grad():
                model(x)
    elif mode == "train":
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
    else:
        raise ValueError(f"unknown mode {mode!r}")

    seconds, done = time_loop(step, iters, warmup, min_seconds)
    return {
        "backend": "torch-timm",
        "model": model_name,
        "batch_size": batch_size,
        "mode": mode,
        "images_per_second": batch_size * done / seconds,
        "seconds_per_iter": seconds / done,
        "iters": done,
        "torch_version": torch.__version__,
        "timm_version": timm.__version__,
        "num_threads": torch.get_num_threads(),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description="timm NesT CPU throughput reference")
    p.add_argument("--model", choices=sorted(MODELS), required=True)
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--mode", choices=["inference", "train", "both"], default="both")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--min-seconds", type=float, default=0.0,
                   help="keep timing until at least this many seconds have passed")
    p.add_argument("--num-threads", type=int, default=None,
                   help="torch.set_num_threads (default: torch's default)")
    args = p.parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    modes = ["inference", "train"] if args.mode == "both" else [args.mode]
    for mode in modes:
        result = benchmark(args.model, args.batch_size, mode, args.iters,
                           args.warmup, args.min_seconds)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
