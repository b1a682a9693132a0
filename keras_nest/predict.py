"""`predict_files`: top-k classes of image files from a saved classifier; `decode_predictions`: of outputs.

What `keras-nest predict` prints, one JSON line per image. Images are
decoded and brought to the model's input size by the evaluation view of the
training pipeline (`keras_nest.data.transforms.eval_image` with the model's
`crop_pct`: a plain resize, or the resize-and-centre-crop of the `imagenet`
recipe),
and fed as raw pixels to a model that normalises inside (every model
`keras-nest train` saves); an older model without preprocessing needs the
`mean` and `std` of its training.

`decode_predictions` turns a batch of model outputs into the top classes
in the format of `keras.applications.imagenet_utils.decode_predictions`,
with ImageNet-1k names (`keras_nest.imagenet_classes`) by default.
"""

import dataclasses
import os
import pathlib

import numpy as np

from keras_nest.data.folder import IMAGE_EXTENSIONS, image_files_in
from keras_nest.data.images import read_image
from keras_nest.data.labels import check_class_names
from keras_nest.data.transforms import ImageTransform, eval_image
from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.imagenet_classes import NUM_IMAGENET_CLASSES, imagenet_class_names, imagenet_wnids
from keras_nest.validation import check_int, check_normalization, describe

PROBABILITY_ATOL = 1e-3  # a row of non-negative values summing to 1 within this is taken as probabilities


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One image's result: `top_k` `(class name, probability)` pairs, best first, or the `error` that skipped it."""

    image: str
    top_k: tuple = ()
    error: str = None

    def as_json(self):
        if self.error is not None:
            return {"image": self.image, "error": self.error}
        return {"image": self.image, "class": self.top_k[0][0],
                "top_k": [[name, round(p, 6)] for name, p in self.top_k]}


def image_files(paths):
    """The image files named by `paths`: files as given, folders searched recursively (sorted).

    Raises:
        FileNotFoundError: a path does not exist.
        ValueError: a folder holds no image file, or no path was given.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = []
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            found = image_files_in(path)
            if not found:
                raise InvalidValueError(f"No image files ({', '.join(IMAGE_EXTENSIONS)}) in {str(path)!r}.")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"No image or folder at {str(path)!r}.")
    if not files:
        raise InvalidValueError("Give at least one image file or folder.")
    return [str(f) for f in files]


def predict_files(model, paths, top_k=5, batch_size=32, crop_pct=None, mean=None, std=None, class_names=None):
    """Top-k predictions for image files, in the order of `image_files(paths)`.

    Args:
        model: a keras_nest classifier (`keras_nest.models.load_saved_model`).
        paths: image files and folders of images.
        top_k: classes per image, an int >= 1 (clipped to the class count).
        batch_size: images per forward pass.
        crop_pct: the evaluation crop, in `(0, 1]`; default the model's own
            (`model.crop_pct`: what its training recipe evaluated with, 1
            for `small` and `cifar`, 0.875 for `imagenet`).
        mean, std: the training normalisation, only for a model without
            preprocessing (see `keras_nest.explain.prepare_images`).
        class_names: default: the model's own, else the class indices.

    Returns:
        A list of `Prediction`; an unreadable file gives one with `error`
        set instead of stopping the others.

    Example:

    >>> import tempfile, keras, keras_nest
    >>> folder = tempfile.mkdtemp()
    >>> keras.utils.save_img(os.path.join(folder, "a.png"), np.zeros((20, 20, 3), np.uint8))
    >>> model = keras_nest.create_model("nest_nano_16", num_classes=3, include_preprocessing=True,
    ...                                 class_names=["cat", "dog", "fox"])
    >>> [p.as_json()["top_k"][0][0] in ("cat", "dog", "fox") for p in predict_files(model, folder, top_k=2)]
    [True]
    """
    top_k = check_int("top_k", top_k, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    height, width, channels = model.input_shape[1:]
    num_classes = model.output_shape[-1]
    names = _names(model, class_names, num_classes)
    normalize = _input_map(model, mean, std, channels)
    if crop_pct is None:
        crop_pct = getattr(model, "crop_pct", 1.0)
    transform = ImageTransform((height, width), channels, crop_pct=crop_pct)
    files, results = image_files(paths), {}
    for start in range(0, len(files), batch_size):  # decoded a batch at a time: memory does not grow with the files
        readable = []
        for path in files[start:start + batch_size]:
            try:
                readable.append((path, eval_image(read_image(path, channels), transform).numpy()))
            except ValueError as error:
                results[path] = Prediction(path, error=str(error))
        if not readable:
            continue
        batch = normalize(np.stack([image for _, image in readable]).astype(np.float32))
        probabilities = _probabilities(model, model.predict(batch, verbose=0))
        for (path, _), row in zip(readable, probabilities):
            order = np.argsort(-row)[: min(top_k, num_classes)]
            results[path] = Prediction(path, tuple((names[c], float(row[c])) for c in order))
    return [results[path] for path in files]


def _names(model, class_names, num_classes):
    names = class_names if class_names is not None else getattr(model, "class_names", None)
    if names is None:
        return [str(c) for c in range(num_classes)]
    names = [str(n) for n in names]
    if len(names) != num_classes:
        raise InvalidValueError(f"class_names has {len(names)} names; the model predicts {num_classes} classes.")
    return names


def _input_map(model, mean, std, channels):
    """Raw pixels `0..255` to what the model reads."""
    if getattr(model, "includes_preprocessing", False):
        return lambda pixels: pixels
    if mean is None or std is None:
        raise InvalidValueError("This model takes normalised images and has no preprocessing inside: pass the "
                                "data set it was trained on (--dataset), or retrain it with keras-nest train, whose "
                                "models take raw pixels.")
    mean, std = check_normalization(mean, std, channels)
    return lambda pixels: (pixels / 255.0 - mean) / std


def _probabilities(model, outputs):
    if isinstance(outputs, dict):
        raise InvalidTypeError("predict needs a classifier with one output, not a feature pyramid.")
    outputs = np.asarray(outputs, np.float64)
    activation = getattr(model, "model_config", {}).get("classifier_activation")
    if activation == "softmax":
        return outputs
    return _softmax(outputs)


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def decode_predictions(predictions, top=5, class_names=None):
    """The `top` classes of each row of classifier outputs, as `(class_id, class_name, score)` tuples.

    The format of `keras.applications.imagenet_utils.decode_predictions`
    (https://keras.io/api/applications/imagenet_utils/): one list per image of
    `top` tuples sorted by score, highest first. Rows that are already
    probabilities (no negative value, summing to 1 within 1e-3) are kept; any
    other row is taken as logits and goes through a softmax, so a model's raw
    outputs and its softmaxed ones decode alike.

    Args:
        predictions: `(batch, num_classes)` logits or probabilities: a numpy
            array, a tensor or nested lists. For one image pass `outputs[None]`.
        top: classes per image, an int >= 1; clipped to `num_classes`.
        class_names: `None` for ImageNet-1k (`num_classes` must be 1000; the
            names of `keras_nest.imagenet_classes`), or one name per
            class, e.g. a model's `class_names`.

    Returns:
        `batch` lists of `min(top, num_classes)` tuples `(class_id, class_name,
        score)`: `class_id` the WordNet id for ImageNet (`"n01440764"`) and
        the class index as a string (`"2"`) otherwise; `score` the class
        probability, a Python float. Equal scores keep class order.

    Raises:
        InvalidTypeError: `predictions` is not numeric, `top` not an int,
            `class_names` not a list or tuple of names.
        InvalidValueError: `predictions` not 2-D or not finite, `top` < 1,
            or the class count does not match the names.

    Example:

    >>> logits = np.zeros((1, 1000)); logits[0, 1] = 10.0
    >>> [(wnid, name, round(score, 3)) for wnid, name, score in decode_predictions(logits, top=2)[0]]
    [('n01443537', 'goldfish', 0.957), ('n01440764', 'tench', 0.0)]
    >>> decode_predictions([[0.2, 0.7, 0.1]], top=2, class_names=("cat", "dog", "fox"))
    [[('1', 'dog', 0.7), ('0', 'cat', 0.2)]]
    """
    top = check_int("top", top, minimum=1)
    try:
        scores = np.asarray(predictions, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidTypeError("predictions must be a (batch, num_classes) array of numbers (numpy, tensor or "
                               f"nested lists), got {type(predictions).__name__}.") from None
    if scores.ndim != 2:
        hint = " For one image pass predictions[None], a batch of one." if scores.ndim == 1 else ""
        raise InvalidValueError(f"predictions must have shape (batch, num_classes), got shape {scores.shape}.{hint}")
    if not np.all(np.isfinite(scores)):
        raise InvalidValueError("predictions hold NaN or infinite values; decode the outputs of a model that "
                                "predicts finite logits or probabilities.")
    num_classes = scores.shape[1]
    if class_names is None:
        if num_classes != NUM_IMAGENET_CLASSES:
            raise InvalidValueError(
                f"predictions have {num_classes} classes (shape {scores.shape}) but the ImageNet names "
                f"(class_names=None) are for {NUM_IMAGENET_CLASSES}; pass the model's class names, "
                "class_names=model.class_names.")
        ids, names = imagenet_wnids(), imagenet_class_names()
    else:
        if isinstance(class_names, (str, bytes)) or not hasattr(class_names, "__len__"):
            raise InvalidTypeError(f"class_names must be a list or tuple of names, one per class, got "
                                   f"{describe(class_names)}.")
        if len(class_names) != num_classes:
            raise InvalidValueError(
                f"class_names has {len(class_names)} names but predictions have {num_classes} classes "
                f"(shape {scores.shape}); pass one name per class, those of the model that made the predictions.")
        names = [str(name) for name in check_class_names(class_names, num_classes)]
        ids = [str(c) for c in range(num_classes)]
    is_probability = np.all(scores >= 0, axis=1) & (np.abs(scores.sum(axis=1) - 1) <= PROBABILITY_ATOL)
    scores = np.where(is_probability[:, None], scores, _softmax(scores))
    top = min(top, num_classes)
    decoded = []
    for row in scores:
        order = np.argsort(-row, kind="stable")[:top]
        decoded.append([(ids[c], names[c], float(row[c])) for c in order])
    return decoded
