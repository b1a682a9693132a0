"""Load timm NesT checkpoints (`nest_*_jx`, `nest_*`) into keras_nest models.

timm stores PyTorch layouts: conv kernels `(O, I, kh, kw)`, dense kernels
`(out, in)`. Two details matter beyond transposes:

* `attn.qkv.weight` rows are ordered `(3, heads, head_dim)`: transposed,
  that is exactly the `[q | k | v]` heads-major layout of
  `LocalSelfAttention.qkv_kernel`.
* `attn.proj.weight` columns are ordered `(head_dim, heads)` (timm kept the
  order of the Flax conversion), while `output_kernel` rows are
  `(heads, head_dim)`: the columns are regrouped, not just transposed.

The `_jx` checkpoints were trained with TF "SAME" max-pooling, which is what
`BlockAggregation` does. timm's plain `nest_*` models pad the pool
symmetrically instead and will not match exactly.
"""

import os

import numpy as np

from keras_nest.errors import InvalidTypeError, InvalidValueError, MissingDependencyError
from keras_nest.layers.position_embedding import resize_position_embedding
from keras_nest.models.weights import stem_hint

TORCH_EXTENSIONS = (".pth", ".pt", ".bin")


def _to_numpy(value):
    if hasattr(value, "detach"):  # a torch tensor; numpy has no bfloat16
        value = value.detach().cpu()
        if str(value.dtype) in ("torch.bfloat16", "torch.float16"):
            value = value.float()
        value = value.numpy()
    return np.asarray(value)


def read_state_dict(source):
    """A `{timm name: numpy array}` dict from a mapping or a checkpoint path.

    Paths may be `.safetensors` (read with safetensors' numpy API) or torch
    files (`.pth`, `.pt`, `.bin`), read with `torch.load(weights_only=True)`
    so that no arbitrary pickled object is ever executed.
    """
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No checkpoint at {path!r}.")
        if path.endswith(".safetensors"):
            try:
                from safetensors.numpy import load_file
            except ImportError as error:
                raise MissingDependencyError(
                    "Reading .safetensors needs the `safetensors` package: pip install safetensors"
                ) from error
            source = load_file(path)
        elif path.endswith(TORCH_EXTENSIONS):
            try:
                import torch
            except ImportError as error:
                raise MissingDependencyError(
                    f"Reading {path!r} needs PyTorch (pip install 'keras-nest[torch]'), "
                    "or convert it to .safetensors first."
                ) from error
            source = torch.load(path, map_location="cpu", weights_only=True)
            for key in ("state_dict", "model"):
                if isinstance(source, dict) and isinstance(source.get(key), dict):
                    source = source[key]
        else:
            raise InvalidValueError(
                f"Unsupported checkpoint {path!r}: expected .safetensors, .pth, .pt or .bin."
            )
    if not hasattr(source, "items"):
        raise InvalidTypeError(f"Expected a mapping of timm names to arrays, got {type(source).__name__}.")
    return {str(k): _to_numpy(v) for k, v in source.items()}


def _conv(w):
    return w.transpose(2, 3, 1, 0)


def _dense(w):
    return w.T


def _norm_pair(timm_prefix, layer):
    return [(f"{timm_prefix}.weight", layer.gamma, None), (f"{timm_prefix}.bias", layer.beta, None)]


def timm_variable_map(model):
    """`[(timm name, keras variable, transform)]` for a `NestModel`."""
    config = model.nest_config
    if config["attention"] != "multi_head":
        raise InvalidValueError(
            "timm's NesT has multi-head attention only; this model uses "
            f"{config['attention']!r}. Build it with attention='multi_head'."
        )
    embed = model.patch_embedding.projection
    pairs = [
        ("patch_embed.proj.weight", embed.kernel, _conv),
        ("patch_embed.proj.bias", embed.bias, None),
    ]
    for i, level in enumerate(model.levels):
        prefix = f"levels.{i}"
        pairs.append((f"{prefix}.pos_embed", level.position_embedding.embedding, "pos"))
        if i > 0:
            pool = model.aggregations[i - 1]
            pairs += [
                (f"{prefix}.pool.conv.weight", pool.conv.kernel, _conv),
                (f"{prefix}.pool.conv.bias", pool.conv.bias, None),
                *_norm_pair(f"{prefix}.pool.norm", pool.norm),
            ]
        for j, block in enumerate(level.blocks):
            p = f"{prefix}.transformer_encoder.{j}"
            attention = block.attention
            heads, head_dim = attention.num_heads, attention.head_dim

            def proj(w, heads=heads, head_dim=head_dim):
                channels = w.shape[0]
                return w.reshape(channels, head_dim, heads).transpose(2, 1, 0).reshape(-1, channels)

            pairs += [
                *_norm_pair(f"{p}.norm1", block.norm1),
                (f"{p}.attn.qkv.weight", attention.qkv_kernel, _dense),
                (f"{p}.attn.qkv.bias", attention.qkv_bias, None),
                (f"{p}.attn.proj.weight", attention.output_kernel, proj),
                (f"{p}.attn.proj.bias", attention.output_bias, None),
                *_norm_pair(f"{p}.norm2", block.norm2),
                (f"{p}.mlp.fc1.weight", block.fc1.kernel, _dense),
                (f"{p}.mlp.fc1.bias", block.fc1.bias, None),
                (f"{p}.mlp.fc2.weight", block.fc2.kernel, _dense),
                (f"{p}.mlp.fc2.bias", block.fc2.bias, None),
            ]
    pairs += _norm_pair("norm", model.final_norm)
    if model.head is not None:
        head = model.head
        pairs += [("head.weight", head.kernel, _dense), ("head.bias", head.bias, None)]
    return pairs


def load_timm_weights(model, state_dict_or_path, skip_mismatch=False):
    """Loads timm NesT weights into a `NestModel` built by keras_nest.

    Args:
        model: a `NestModel` with `attention="multi_head"` (the timm layout).
            For exact parity with timm build it with `gelu_approximate=False`
            (timm uses erf GELU; official NesT the tanh form).
        state_dict_or_path: a mapping of timm names to numpy arrays or torch
            tensors, or a `.safetensors` / `.pth` / `.bin` path.
        skip_mismatch: keep the model's own head when the class count
            differs (fine-tuning to new classes) instead of raising.

    timm's NesT takes square images only, so a checkpoint's blocks are
    square: `n` tokens per block are `sqrt(n) x sqrt(n)`. Position
    embeddings are resized per block (`resize_position_embedding`,
    bilinear) whenever that block differs from the model's
    (`model.geometry`), even at the same token count (4x4 -> 2x8), so
    224-px weights load into e.g. a 224x320 model. The head is skipped
    when `include_top=False`.

    Returns:
        The model.

    Raises:
        ValueError: names or shapes that do not fit, listed in full.
    """
    state = read_state_dict(state_dict_or_path)
    pairs = timm_variable_map(model)
    wanted = {name for name, _, _ in pairs}
    missing = sorted(wanted - set(state))
    optional_extra = ("head.weight", "head.bias") if not model.nest_config["include_top"] else ()
    unexpected = sorted(set(state) - wanted - set(optional_extra))
    if missing or unexpected:
        raise InvalidValueError(
            "The checkpoint does not fit this model (different depths or levels?). "
            f"Missing from checkpoint: {missing[:10]}{' ...' if len(missing) > 10 else ''}; "
            f"not used by the model: {unexpected[:10]}{' ...' if len(unexpected) > 10 else ''}."
        )
    block_sizes = {
        level.position_embedding.embedding.path: g.block_size
        for level, g in zip(model.levels, model.geometry)
    }
    updates, problems = [], []
    for name, variable, transform in pairs:
        value = original = state[name]
        if transform == "pos":
            value = _fit_position_embedding(value, variable, block_sizes[variable.path], name)
        elif transform is not None:
            value = transform(value)
        if tuple(value.shape) != tuple(variable.shape):
            if skip_mismatch and name.startswith("head."):
                continue
            problems.append(
                f"{name}: checkpoint {original.shape} (Keras layout {value.shape}) "
                f"vs model {tuple(variable.shape)}"
            )
            continue
        updates.append((variable, value))
    if problems:
        hint = (" (give create_model your own num_classes, or load_timm_weights skip_mismatch=True, to keep a "
                "freshly initialised head)") if any(
            p.startswith("head.") for p in problems
        ) else ""
        if any(p.startswith("patch_embed.proj.weight") for p in problems):
            kernel = _conv(state["patch_embed.proj.weight"])
            stem = stem_hint(kernel.shape, model.patch_embedding.projection.kernel.shape)
            hint += f". {stem}" if stem else ""
        raise InvalidValueError("Shape mismatch: " + "; ".join(problems) + hint)
    for variable, value in updates:  # nothing is written unless everything fits
        variable.assign(value.astype(variable.dtype))
    return model


def _fit_position_embedding(value, variable, block_size, name):
    """A checkpoint table `(1, T, n, C)` on the model's `block_size`, resized per block."""
    _, blocks, tokens, channels = value.shape
    if blocks != variable.shape[1] or channels != variable.shape[3]:
        return value  # reported as a shape mismatch by the caller
    side = int(round(tokens**0.5))
    if side * side != tokens:
        raise InvalidValueError(f"{name}: {tokens} tokens per block is not a square block.")
    return resize_position_embedding(value, (side, side), tuple(block_size))
