"""Generate the small timm NesT parity fixture used by keras_nest's tests.

This script is NOT run by the test suite or CI: it needs torch + timm, which the
library itself does not depend on. Run it by hand in a separate virtualenv that
has torch, timm, safetensors and numpy installed:

    /work/venv-timm/bin/python tools/make_timm_fixture.py

It builds ``timm.models.nest.Nest`` with a tiny config, perturbs every weight
deterministically (timm's default init has zero biases and unit LayerNorm
scales, which would hide mapping mistakes for those tensors), runs a fixed input
batch through it in eval mode (float32, no grad) and writes:

* ``tests/fixtures/timm_nest_small.safetensors`` - the timm ``state_dict``
  (timm key -> float32 array), for the Keras weight converter to load.
* ``tests/fixtures/timm_nest_small_io.npz`` - ``images_nhwc`` (4, 32, 32, 3),
  ``logits`` (4, 10), ``features_nhwc`` (4, 4, 4, 64) (``forward_features``,
  i.e. after the final LayerNorm, before pooling), ``config_json`` (the Nest
  kwargs used, as a JSON string) and ``timm_version`` / ``torch_version``.

The tests compare a Keras model, built from ``config_json`` and loaded from the
safetensors file, against ``logits`` and ``features_nhwc``.
"""

import argparse
import json
import os

import numpy as np
import timm
import torch
from safetensors.numpy import save_file
from timm.models.nest import Nest

CONFIG = dict(
    img_size=32,
    in_chans=3,
    patch_size=2,
    num_levels=3,
    embed_dims=[16, 32, 64],
    num_heads=[2, 2, 4],
    depths=[1, 1, 2],
    num_classes=10,
    mlp_ratio=4.0,
    qkv_bias=True,
    drop_rate=0.0,
    proj_drop_rate=0.0,
    attn_drop_rate=0.0,
    drop_path_rate=0.0,
    pad_type="same",
    global_pool="avg",
)

BATCH = 4
WEIGHT_NOISE = 0.05  # additive noise for every tensor ...
LN_SCALE_NOISE = 0.1  # ... except LayerNorm scales, which become 1 + 0.1 * noise


def build_model():
    torch.manual_seed(0)
    model = Nest(**CONFIG)
    model.eval()

    ln_weight_keys = {
        f"{name}.weight"
        for name, mod in model.named_modules()
        if isinstance(mod, torch.nn.LayerNorm)
    }
    gen = torch.Generator().manual_seed(1234)
    state = model.state_dict()
    new_state = {}
    for key in sorted(state):  # fixed order -> deterministic noise per key
        value = state[key]
        noise = torch.randn(value.shape, generator=gen, dtype=torch.float32)
        if key in ln_weight_keys:
            new_state[key] = 1.0 + LN_SCALE_NOISE * noise
        else:
            new_state[key] = value + WEIGHT_NOISE * noise
    model.load_state_dict(new_state)
    return model


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(os.path.dirname(here), "tests", "fixtures")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=default_out)
    args = parser.parse_args()

    print(f"torch {torch.__version__}  timm {timm.__version__}")
    model = build_model()

    gen = torch.Generator().manual_seed(42)
    x = torch.randn((BATCH, CONFIG["in_chans"], CONFIG["img_size"], CONFIG["img_size"]),
                    generator=gen, dtype=torch.float32)
    with torch.no_grad():
        features = model.forward_features(x)
        logits = model(x)
        # Sanity: logits = head(mean over H, W of features).
        check = model.head(features.mean(dim=(2, 3)))
        assert torch.allclose(check, logits, atol=1e-5), "unexpected head structure"

    os.makedirs(args.out_dir, exist_ok=True)
    weights = {k: v.detach().cpu().numpy().astype(np.float32)
               for k, v in model.state_dict().items()}
    st_path = os.path.join(args.out_dir, "timm_nest_small.safetensors")
    # No safetensors metadata: its key order is not stable, and byte-identical
    # output on re-runs keeps the committed fixture diff-free. Versions and
    # config live in the npz.
    save_file(weights, st_path)

    io_path = os.path.join(args.out_dir, "timm_nest_small_io.npz")
    np.savez_compressed(
        io_path,
        images_nhwc=x.permute(0, 2, 3, 1).numpy().astype(np.float32),
        logits=logits.numpy().astype(np.float32),
        features_nhwc=features.permute(0, 2, 3, 1).numpy().astype(np.float32),
        config_json=np.array(json.dumps(CONFIG, sort_keys=True)),
        timm_version=np.array(timm.__version__),
        torch_version=np.array(torch.__version__),
    )

    for key, arr in weights.items():
        print(f"  {key}: {tuple(arr.shape)}")
    print(f"logits[0] = {np.round(logits[0].numpy(), 4).tolist()}")
    for path in (st_path, io_path):
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
