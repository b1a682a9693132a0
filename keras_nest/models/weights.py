"""Moving weights between NesT models of different input sizes."""

import os
import zipfile

import keras

from keras_nest.errors import InvalidValueError
from keras_nest.layers.position_embedding import resize_position_embedding


def _position_embedding_block_sizes(model):
    """Maps each position-embedding variable path to its level's block size.

    Empty for models without NesT levels (the ViT baseline): there, a
    resolution change is reported as a shape mismatch.
    """
    if not hasattr(model, "geometry"):
        return {}
    return {
        level.position_embedding.embedding.path: geometry.block_size
        for level, geometry in zip(model.levels, model.geometry)
    }


def transfer_weights(source, target, method="bilinear", skip_mismatch=False):
    """Copies weights from one NesT model into another, by variable path.

    Position embeddings are resized per block with
    `resize_position_embedding` (half-pixel bilinear by default) whenever
    the two models' block sizes differ (`model.geometry`), also when the
    token count is the same (4x16 -> 8x8 blocks). Any other shape difference raises,
    unless `skip_mismatch=True`, which leaves those target variables at
    their initial values (e.g. a new head with another class count).
    Source variables the target lacks (e.g. the head, when
    `include_top=False`) are ignored.

    Returns:
        The list of target variable paths left untouched.
    """
    sources = {v.path: v for v in source.weights}
    source_blocks = _position_embedding_block_sizes(source)
    target_blocks = _position_embedding_block_sizes(target)
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
        if variable.path in target_blocks and src.path in source_blocks:
            old, new = source_blocks[src.path], target_blocks[variable.path]
            if old != new and value.shape[2] == old[0] * old[1]:
                value = resize_position_embedding(value, old, new, method)
        if tuple(value.shape) != tuple(variable.shape):
            if not skip_mismatch:
                raise InvalidValueError(
                    f"Shape mismatch for {variable.path!r}: source {tuple(value.shape)}, "
                    f"target {tuple(variable.shape)}. Pass skip_mismatch=True to keep "
                    "the target's initial value."
                )
            skipped.append(variable.path)
            continue
        variable.assign(value)
    return skipped


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


def load_weights(model, path, make_model=None):
    """Loads a `.keras` or `.weights.h5` file into `model`, resizing if needed.

    A `.keras` file records its input size, so position embeddings are
    resized per block whenever the block layout differs (`transfer_weights`).
    A `.weights.h5` file holds no architecture: when it does not fit
    `model` directly it is loaded into `make_model(input_shape=...)` at the
    file's own size first (only when `make_model` is given; `create_model`
    passes one); when its shapes do fit, it is taken to be of `model`'s own
    block layout, since a 4x16-token block cannot be told from an 8x8 one
    by its 64 stored rows. Use a `.keras` file to move weights between
    layouts of the same token count.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No weights file at {path!r}.")
    if path.endswith(".keras"):
        source = load_saved_model(path)
        transfer_weights(source, model)
        return model
    if not path.endswith(".weights.h5"):
        raise InvalidValueError(
            f"Unsupported weights file {path!r}: use a .keras or .weights.h5 file "
            "(timm checkpoints: keras_nest.convert.load_timm_weights)."
        )
    try:
        model.load_weights(path)
        return model
    except ValueError as error:
        if make_model is None:
            raise
        shapes = _h5_position_embedding_shapes(path)
        if not shapes:
            raise InvalidValueError(f"{path!r} does not fit this model: {error}") from error
        source = make_model(input_shape=_input_shape_from_embedding(model, shapes))
        source.load_weights(path)
        transfer_weights(source, model)
        return model


def _h5_position_embedding_shapes(path):
    import h5py

    shapes = []
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, obj: shapes.append((name, obj.shape))
            if hasattr(obj, "shape") and "position_embedding" in name
            else None
        )
    return [shape for _, shape in sorted(shapes)]


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
