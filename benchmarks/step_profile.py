"""Where a NesT training step spends its time, on each Keras backend.

The same method on every backend (profilers differ per backend; fused XLA
programs hide op boundaries): each part of the model's transformer blocks is
built alone as a small Keras model at the shapes it has inside the real
model, and one compiled SGD training step of it (forward and backward, the
input's gradient included) is timed. Per level, times are multiplied by the
level's depth and summed, so the parts add up to the blocks' share of the
whole step, which is timed too. Parts:

  matmuls        the block's four linear maps (QKV, output, MLP in and out)
  attention      softmax(QK^T)V with its head transposes (explicit), or
                 `keras.ops.dot_product_attention` (fused)
  gelu, norms    the MLP's GELU; the block's two LayerNorms
  layout         cutting the level into blocks and back (reshape + transpose)

The matrix products' rate is reported against the machine's: one large
float32 product timed alone (forward only, `--peak-size`). Compiled with
XLA (TensorFlow), `jax.jit` (JAX); eager on PyTorch, its faster path here.

    python benchmarks/step_profile.py --backends tensorflow jax \\
        --torch-python /path/to/venv-with-torch/bin/python --out benchmarks/results/step_profile.json
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from timing import time_loop  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="nest_tiny_imagenet")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--attention", choices=["multi_head", "multi_query"], default=None)
    p.add_argument("--backends", nargs="+", default=["tensorflow"], choices=["tensorflow", "jax", "torch"])
    p.add_argument("--torch-python", default=sys.executable)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--peak-size", type=int, default=2048)
    p.add_argument("--out", help="write the JSON list here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _jit():
    """Each backend's fastest training path (README, "Speed"): XLA / jax.jit, and eager PyTorch
    (torch.compile's training steps are 1.7-3x slower here)."""
    import keras

    return keras.backend.backend() != "torch"


def _step_seconds(inputs_shape, build, iters, **compile_args):
    """Seconds of one compiled SGD step of `Input -> scale -> build(...)`, gradients reaching the input."""
    import keras
    import numpy as np

    class Scale(keras.layers.Layer):  # a weight before the part, so its input gradient is computed too
        def build(self, shape):
            self.gain = self.add_weight(shape=(), initializer="ones")

        def call(self, x):
            return x * self.gain

    inputs = [keras.Input(shape[1:], batch_size=shape[0]) for shape in inputs_shape]
    outputs = build(*[Scale()(x) for x in inputs])
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(1e-6), loss="mse", jit_compile=_jit(), **compile_args)
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=shape).astype("float32") for shape in inputs_shape]
    y = np.zeros(tuple(model.output.shape), "float32")
    seconds, done = time_loop(lambda: model.train_on_batch(xs, y), iters, warmup=2)
    return seconds / done


def _identity(first, *others):
    """The first input, touching the others (so their gradients are computed too)."""
    import keras

    return first + sum(keras.ops.mean(t) for t in others)


def profile(args):
    """This backend's parts, per level and summed, in seconds per training step."""
    import keras
    import numpy as np

    import keras_nest
    from keras_nest.layers import BlockPartition, TransformerBlock, local_attention

    overrides = {"attention": args.attention} if args.attention else {}
    model = keras_nest.create_model(args.model, drop_path_rate=0.0, **overrides)
    model.compile(optimizer=keras.optimizers.AdamW(1e-4),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True), jit_compile=_jit())
    rng = np.random.default_rng(0)
    classes = model.output_shape[-1]
    x = rng.normal(size=(args.batch_size, *model.input_shape[1:])).astype("float32")
    y = np.eye(classes, dtype="float32")[rng.integers(0, classes, args.batch_size)]
    seconds, done = time_loop(lambda: model.train_on_batch(x, y), args.iters, warmup=2)
    row = {"backend": keras.backend.backend(), "model": args.model, "batch_size": args.batch_size,
           "step_seconds": seconds / done, "levels": []}
    config = model.nest_config
    for level, geometry in enumerate(model.geometry):
        width, heads, depth = config["embed_dims"][level], config["num_heads"][level], config["depths"][level]
        kv_heads = 1 if config["attention"] == "multi_query" else heads
        blocks, tokens = geometry.num_blocks, geometry.tokens_per_block
        shape = (args.batch_size, blocks, tokens, width)
        head_dim = width // heads
        qkv_shapes = [(args.batch_size * blocks, tokens, n, head_dim) for n in (heads, kv_heads, kv_heads)]

        def matmuls(t, w=width):
            for units in (3 * w, w, 4 * w, w):  # QKV, output, MLP in, MLP out
                t = keras.layers.Dense(units)(t)
            return t

        def explicit(q, k, v, d=head_dim, g=heads // kv_heads):
            q, k, v = (keras.ops.transpose(t, (0, 2, 1, 3)) for t in (q, k, v))
            k, v = (keras.ops.repeat(t, g, axis=1) for t in (k, v)) if g > 1 else (k, v)
            w = keras.ops.softmax(keras.ops.matmul(q * d**-0.5, keras.ops.transpose(k, (0, 1, 3, 2))), axis=-1)
            return keras.ops.transpose(keras.ops.matmul(w, v), (0, 2, 1, 3))

        def layout(t, geometry=geometry, w=width):
            plane = BlockPartition(geometry.block_size, grid_size=geometry.grid_size, inverse=True)(t)
            return BlockPartition(geometry.block_size)(plane)

        def block(t, h=heads, kv=kv_heads):
            return TransformerBlock(h, num_key_value_heads=kv)(t)

        hidden = (*shape[:3], 4 * width)
        measured = {
            "block": ([shape], block),
            "matmuls": ([shape], matmuls),
            "attention_explicit": (qkv_shapes, explicit),
            "attention_fused": (qkv_shapes, lambda q, k, v: keras.ops.dot_product_attention(q, k, v)),
            "gelu": ([hidden], lambda t: keras.activations.gelu(t, approximate=config["gelu_approximate"])),
            "norms": ([shape], lambda t: keras.layers.LayerNormalization(epsilon=1e-6)(
                keras.layers.LayerNormalization(epsilon=1e-6)(t))),
            "layout": ([shape], layout),
        }
        # Each part's time less that of the same step around an identity (the input scale, the loss).
        overhead = {}
        parts = {}
        for name, (shapes, build) in measured.items():
            key = str(shapes)
            if key not in overhead:
                overhead[key] = _step_seconds(shapes, _identity, args.iters)
            parts[name] = max(0.0, _step_seconds(shapes, build, args.iters) - overhead[key])
        macs = 12 * width * width * args.batch_size * blocks * tokens  # 12 C^2 per token, forward
        row["levels"].append({"level": level, "depth": depth, "blocks": blocks, "tokens": tokens, "width": width,
                              "seconds": parts, "matmul_gflops": round(3 * 2 * macs / parts["matmuls"] / 1e9, 1)})
    attention = "attention_fused" if local_attention.fused_attention() else "attention_explicit"
    totals = {name: sum(lv["depth"] * lv["seconds"][name] for lv in row["levels"])
              for name in ("block", "matmuls", "attention_explicit", "attention_fused", "gelu", "norms", "layout")}
    totals["layout"] = sum(lv["seconds"]["layout"] for lv in row["levels"])  # once per level, not per block
    row["totals_seconds"] = totals
    row["shares_of_step"] = {name: round(value / row["step_seconds"], 3) for name, value in totals.items()}
    row["attention_used"] = attention
    row["peak_matmul_gflops"] = peak_gflops(args.peak_size, args.iters)
    return row


def peak_gflops(n, iters):
    """float32 GFLOP/s of one n x n x n product, forward only, compiled."""
    import keras
    import numpy as np

    a = np.random.default_rng(0).normal(size=(n, n)).astype("float32")
    x = keras.Input((n,), batch_size=n)
    model = keras.Model(x, keras.layers.Dense(n, use_bias=False)(x))
    model.compile(jit_compile=_jit())
    seconds, done = time_loop(lambda: model.predict_on_batch(a), iters, warmup=2)
    return round(2 * n**3 * done / seconds / 1e9, 1)


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        os.environ["KERAS_BACKEND"] = args.child
        print(json.dumps(profile(args)), flush=True)
        return
    rows = []
    for backend in args.backends:
        python = args.torch_python if backend == "torch" else sys.executable
        command = [python, os.path.abspath(__file__), "--child", backend, "--model", args.model,
                   "--batch-size", str(args.batch_size), "--iters", str(args.iters),
                   "--peak-size", str(args.peak_size)] + (["--attention", args.attention] if args.attention else [])
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            json.dump(rows, f, indent=1)
        os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
