"""Moving weights between NesT models of different input sizes."""

import os
import zipfile

import keras
import numpy as np

from keras_nest.errors import InvalidValueError
from keras_nest.layers.position_embedding import resize_position_embedding


def _position_embedding_grids(model):
    """`model.position_embedding_grids()`, or `{}` for models without one (shapes must then match)."""
    return model.position_embedding_grids() if hasattr(model, "position_embedding_grids") else {}


def _head_paths(model):
    head = getattr(model, "head", None)
    return set() if head is None else {v.path for v in head.weights}


def _resized_embedding(value, source_grid, target_grid, method):
    """A `(1, T, n, C)` table on `target_grid`, per block; leading (class) tokens kept as they are."""
    (old, lead), (new, target_lead) = source_grid, target_grid
    if old == new or lead != target_lead or value.shape[2] != lead + old[0] * old[1]:
        return value  # nothing to do, or reported as a shape mismatch by the caller
    resized = resize_position_embedding(value[:, :, lead:], old, new, method)
    return np.concatenate([value[:, :, :lead], resized], axis=2)


def transfer_weights(source, target, method="bilinear", skip_mismatch=False, new_head=False):
    """Copies weights from one NesT (or ViT) model into another, by variable path.

    Position embeddings are resized per block with
    `resize_position_embedding` (half-pixel bilinear by default) whenever
    the two models' blocks differ (`model.position_embedding_grids()`), also
    when the token count is the same (4x16 -> 8x8 blocks); a ViT's table is
    one block over the whole patch grid (its class token kept). With
    `new_head=True` a head of another shape (another class count) keeps its
    initial values: fine-tuning. Any other shape difference raises, naming
    the variable and what to change, unless `skip_mismatch=True`, which
    leaves every such variable at its initial value. Source variables the
    target lacks (e.g. the head, when `include_top=False`) are ignored.

    Returns:
        The list of target variable paths left untouched.

    Raises:
        ValueError: a variable missing from the source or of another shape.
    """
    sources = {v.path: v for v in source.weights}
    source_grids, target_grids = _position_embedding_grids(source), _position_embedding_grids(target)
    head = _head_paths(target) if new_head else set()
    skipped = []
    for variable in target.weights:
        src = sources.get(variable.path)
        if src is None:
            if not skip_mismatch:
                raise InvalidValueError(
                    f"Source model has no variable {variable.path!r}; the two models "
                    "differ in architecture (pass skip_mismatch=True to keep its init)."
                )
            skipped.append(variable.path)
            continue
        value = keras.ops.convert_to_numpy(src.value)
        if variable.path in target_grids and src.path in source_grids:
            value = _resized_embedding(value, source_grids[src.path], target_grids[variable.path], method)
        if tuple(value.shape) != tuple(variable.shape):
            if not (skip_mismatch or variable.path in head):
                raise InvalidValueError(_mismatch_message(target, variable, value.shape))
            skipped.append(variable.path)
            continue
        variable.assign(value)
    return skipped


def _mismatch_message(model, variable, source_shape):
    """What differs, and what to change, for a source value that does not fit `variable`."""
    message = (f"Shape mismatch for {variable.path!r}: source {tuple(source_shape)}, target "
               f"{tuple(variable.shape)}.")
    stem = getattr(getattr(model, "patch_embedding", None), "projection", None)
    if stem is not None and variable.path == stem.kernel.path and len(source_shape) == 4:
        return f"{message} {stem_hint(source_shape, variable.shape)}"
    if variable.path in _head_paths(model):
        return (f"{message} The weights' head predicts {source_shape[-1]} classes: give create_model "
                f"num_classes={source_shape[-1]} to use it, or your own num_classes for a new head to fine-tune "
                "(transfer_weights: new_head=True).")
    return f"{message} Pass skip_mismatch=True to keep the target's initial value."


def stem_hint(kernel_shape, model_kernel_shape):
    """What to change when a checkpoint's patch-embedding kernel `(p, p, channels, width)` does not fit.

    Empty when the patch size and channels agree (the width differs: the
    shapes in the message say so).
    """
    patch, channels = kernel_shape[0], kernel_shape[2]
    if (patch, channels) == (model_kernel_shape[0], model_kernel_shape[2]):
        return ""
    return (f"The weights' stem reads {patch}x{patch}-pixel patches of {channels} channel(s): build the model "
            f"with patch_size={patch} and input_shape=(height, width, {channels})"
            + (" (give grayscale images 3 channels)." if channels == 3 else "."))


def load_saved_model(path, compile=False):
    """Loads a `.keras` file, with a clear error when it is missing, truncated or damaged.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: the file is not a complete `.keras` archive (the message names it).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model at {path!r}.")
    check_keras_archive(path)
    return keras.saving.load_model(path, compile=compile)


def check_keras_archive(path):
    """Raises a `ValueError` naming `path` unless it is a readable zip with intact checksums.

    Keras' own errors for such files are misleading ("File not found" for a
    truncated file, a bare `BadZipFile` for a flipped byte).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError) as error:
        raise InvalidValueError(f"{path} is not a readable .keras file ({error}): it is truncated or damaged. "
                         "Restore it from a backup or save it again.") from None
    if damaged is not None:
        raise InvalidValueError(f"{path} is damaged (bad checksum in {damaged!r}). Restore it from a backup or "
                         "save it again.")


def load_weights(model, weights, make_model=None, new_head=False):
    """Loads a weights file into `model`, resizing position embeddings if needed.

    `weights` is a `keras_nest.models.pretrained.WeightsFile` (what
    `create_model` fetches) or a path: a timm checkpoint (`.safetensors`,
    `.pth`, `.pt`, `.bin`; `load_timm_weights`), or a keras_nest `.keras` or
    `.weights.h5` file. With `new_head=True` (fine-tuning) a head of another
    class count keeps its initial values; every other tensor must fit, or
    the error names it and says what to change.

    A `.keras` file records its input size, so position embeddings are
    resized per block whenever the block layout differs (`transfer_weights`).
    A `.weights.h5` file holds no architecture: when it does not fit
    `model` directly it is loaded into `make_model(input_shape=...,
    num_classes=...)` at the file's own size and class count first (only
    when `make_model` is given; `create_model` passes one); when its shapes
    do fit, it is taken to be of `model`'s own block layout, since a
    4x16-token block cannot be told from an 8x8 one by its 64 stored rows.
    Use a `.keras` file to move weights between layouts of the same token count.

    Raises:
        FileNotFoundError: no file at the path.
        ValueError: an unsupported file, or tensors that do not fit (named).
    """
    from keras_nest.models.pretrained import WeightsFile, layout_of

    if not isinstance(weights, WeightsFile):
        path = os.fspath(weights)
        weights = WeightsFile(path, layout_of(path), path)
    path = weights.path
    if not os.path.exists(path):
        raise FileNotFoundError(f"No weights file at {path!r}.")
    if weights.layout == "timm":
        return _load_timm(model, weights, new_head)
    if path.endswith(".keras"):
        transfer_weights(load_saved_model(path), model, new_head=new_head)
        return model
    try:
        model.load_weights(path)
        return model
    except ValueError as error:
        shapes = _h5_shapes(path)
        embeddings = [shape for name, shape in shapes if "position_embedding" in name]
        if make_model is None or not embeddings or not hasattr(model, "geometry"):
            raise InvalidValueError(f"{path!r} does not fit this model: {error} (a .weights.h5 file of another "
                                    "size or class count loads into a NesT; save a ViT as .keras to resize it)."
                                    ) from error
        # The head is the one 2-D kernel of a top-level layer ("layers/dense/vars/0").
        heads = [shape for name, shape in shapes if name.count("/") == 3 and len(shape) == 2]
        size = {"input_shape": _input_shape_from_embedding(model, embeddings)}
        classes = {"num_classes": heads[0][1], "class_names": None} if heads else {}
        source = make_model(**size, **classes)
        source.load_weights(path)
        transfer_weights(source, model, new_head=new_head)
        return model


def _load_timm(model, weights, new_head):
    from keras_nest.models.timm_checkpoint import load_timm_weights

    if not hasattr(model, "nest_config"):
        raise InvalidValueError(f"{weights.origin} is a timm NesT checkpoint; it loads into a NesT model only, "
                                f"not a {type(model).__name__}.")
    return load_timm_weights(model, weights.path, skip_mismatch=new_head)


def _h5_shapes(path):
    """`[(dataset name, shape)]` of a `.weights.h5` file, sorted by name."""
    import h5py

    shapes = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: shapes.append((name, obj.shape)) if hasattr(obj, "shape") else None)
    return sorted(shapes)


def _input_shape_from_embedding(model, shapes):
    """Input size implied by a level-0 position embedding of `shapes[0]`.

    Only the token count per block is stored, so the block is taken to be
    square when the count is a square, else of the target's aspect ratio.
    """
    tokens = shapes[0][2]
    bh, bw = model.geometry[0].block_size
    side = round(tokens**0.5)
    scale = (tokens / (bh * bw)) ** 0.5
    for block in ((side, side), (round(bh * scale), round(bw * scale))):
        if block[0] * block[1] == tokens:
            break
    else:
        raise InvalidValueError(
            f"Cannot infer the block shape of a {tokens}-token position embedding; "
            "load the weights into a model of their own size and use transfer_weights."
        )
    multiple = model.nest_config["patch_size"] * model.geometry[0].grid_size[0]
    channels = model.nest_config["input_shape"][2]
    return (block[0] * multiple, block[1] * multiple, channels)
