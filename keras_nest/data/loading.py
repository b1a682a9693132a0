"""The entry points: `load_dataset`, `load_arrays`, `dataset_info` and `from_arrays`.

A data set is named by one of:

- `"digits"`: scikit-learn's 8x8 handwritten digits (`keras_nest.data.digits`);
- `"shapes"`: procedurally drawn shapes with boxes and masks
  (`keras_nest.data.shapes_dataset`);
- `"cluttered_digits"`: real handwritten digits pasted into clutter, with
  boxes and masks (`keras_nest.data.cluttered_digits`);
- `"tfds:NAME"`: a TensorFlow Datasets set prepared locally
  (`keras_nest.data.tfds_source`);
- `"folder:PATH"`: one sub-folder of images per class (`keras_nest.data.folder`);
- an `(images, labels)` pair of numpy arrays (`keras_nest.data.arrays`).
"""

import reprlib

import numpy as np

from keras_nest.data import arrays, cluttered_digits, digits, folder, shapes_dataset, tfds_source
from keras_nest.data.examples import ArrayExamples, StreamedExamples
from keras_nest.data.images import check_channels, check_image_size, to_signed_unit
from keras_nest.data.transforms import ImageTransform
from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.validation import check_bool, check_int

_NAMED = {"digits": digits, "shapes": shapes_dataset, "cluttered_digits": cluttered_digits}
_PREFIXED = {"tfds:": tfds_source, "folder:": folder}


def load_dataset(name, split="train", image_size=None, batch_size=32, training=None, seed=0,
                 num_examples=None, channels=3, *, mean=None, std=None, normalize=True,
                 drop_remainder=False, **options):
    """A `tf.data.Dataset` of `(images, labels)` batches, ready for `model.fit`.

    Images are float32 `(batch, height, width, channels)`, normalised with
    the data set's per-channel `mean` and `std` (see `dataset_info`; the
    values for `digits` and `shapes` are constants of their modules); labels
    are one-hot float32 `(batch, num_classes)`. In-memory sets are cached;
    `folder:` and `tfds:` sets are streamed (decoded in the pipeline, never
    all in memory; `keras_nest.data.streaming`). Batches are prefetched; in
    training mode they are shuffled, and reshuffled every epoch, under
    `seed`: the same seed (and the same TensorFlow global seed, which TF
    mixes in) gives the same sequence of batches. Without training
    the order is that of `load_arrays`, so its boxes and masks line up.

    Args:
        name: `"digits"`, `"shapes"`, `"tfds:NAME"`, `"folder:PATH"` or an
            `(images, labels)` pair of numpy arrays.
        split: `"train"` or `"test"` (`shapes` also has `"validation"`;
            TFDS takes its own split syntax).
        image_size: int or `(height, width)`; `None` is the data set's
            default (`digits`: 16, `shapes`: 32, others: as stored).
        batch_size: positive int.
        training: bool, shuffle every epoch; defaults to `split == "train"`.
        seed: shuffling seed, an int >= 0.
        num_examples: positive int: use the first `num_examples` of the
            split (fewer if the split is smaller; `shapes` draws that many
            instead of the default split size).
        channels: 3 (grayscale is replicated) or 1 (RGB becomes luma); for
            arrays, `None` keeps theirs.
        mean: override the normalisation mean: one number or one per
            channel, in `[0, 1]` pixel units.
        std: override the normalisation standard deviation (in `(0, 1]`).
        normalize: bool. `False` gives raw pixels (float32 in `0..255`) for
            a model that normalises inside (`include_preprocessing=True`);
            `mean` and `std` must then be left out.
        drop_remainder: bool, drop the last, smaller batch.
        **options: per data set: `data_seed`, `cache_dir` (`shapes`),
            `holdout` (`folder:`), `data_dir` (`tfds:`), `num_classes`,
            `class_names` (arrays).

    Raises:
        TypeError: an argument of the wrong type, or an option the data set
            does not take.
        ValueError: an argument out of range or inconsistent with the data
            (unknown split, labels that do not fit `num_classes`, ...); the
            message names the argument and the value given.

    Example:

    >>> ds = load_dataset("digits", batch_size=8)
    >>> images, labels = next(iter(ds))
    >>> tuple(images.shape), images.dtype.name, tuple(labels.shape)
    ((8, 16, 16, 3), 'float32', (8, 10))
    >>> bool(np.all(np.sum(labels, axis=1) == 1))
    True
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if training is not None:
        training = check_bool("training", training)
    seed = check_int("seed", seed, minimum=0, maximum=2**63 - 1)
    drop_remainder = check_bool("drop_remainder", drop_remainder)
    if not check_bool("normalize", normalize) and (mean is not None or std is not None):
        raise InvalidValueError("normalize=False keeps raw pixels; mean and std would be ignored, so leave them out.")
    if training is None:
        training = isinstance(split, str) and split.split("[")[0] == "train"
    examples, info = _examples(name, split, image_size, num_examples, channels, options)
    pick = lambda given, own: None if not normalize else own if given is None else given  # noqa: E731
    return examples.dataset(info.num_classes, batch_size, training=training, seed=seed,
                            drop_remainder=drop_remainder, mean=pick(mean, info.mean), std=pick(std, info.std))


def load_examples(name, split="train", image_size=None, channels=3, train_crop_min_area=1.0, crop_pct=1.0,
                  num_examples=None, **options):
    """A split's examples for a training loop: `ArrayExamples`, or `StreamedExamples` for streamed sources.

    Nothing is decoded for a streamed source (`folder:`, `tfds:`); its images become
    pixels in the pipeline, with the ImageNet-style crops given here
    (`keras_nest.data.transforms`). `num_examples` as in `load_arrays`.

    Returns:
        `(examples, info)`.

    Example:

    >>> examples, info = load_examples("digits", "test", image_size=16)
    >>> len(examples), examples.streamed, info.num_classes
    (360, False, 10)
    """
    crops = {"train_crop_min_area": train_crop_min_area, "crop_pct": crop_pct}
    return _examples(name, split, image_size, num_examples, channels, options, crops)


def load_arrays(name, split="train", image_size=None, num_examples=None, channels=3, **options):
    """The raw examples of a split as numpy arrays, in `load_dataset`'s unshuffled order.

    Args: as for `load_dataset`.

    Returns:
        A dict with `images` (`(N, H, W, C)`, uint8 `0..255`, or float32 in
        `[0, 1]` for float arrays), `labels` (int64 `(N,)`) and
        `class_names`; for `shapes` also `boxes` (int32 `(N, 4)`,
        `(x0, y0, x1, y1)` pixels, ends exclusive) and `masks` (bool
        `(N, H, W)`), aligned with the images. The arrays are fresh copies.

    Example:

    >>> data = load_arrays("shapes", "test", num_examples=4)
    >>> data["images"].shape, data["masks"].shape, data["boxes"].shape
    ((4, 32, 32, 3), (4, 32, 32), (4, 4))
    """
    data, _ = _load(name, split, image_size, num_examples, channels, options, with_info=False)
    return {k: v.copy() if isinstance(v, np.ndarray) else list(v) for k, v in data.items()}


def dataset_slug(name):
    """A data set name usable in file and folder names.

    Example:

    >>> dataset_slug("folder:/data/cats")
    'folder__data_cats'
    """
    if not isinstance(name, str):
        raise InvalidTypeError(f"dataset_slug needs a data set name (a str), got {type(name).__name__}.")
    return name.replace(":", "_").replace("/", "_")


def held_out_split(name, image_size=None):
    """The split results are reported on: `"test"`, else `"validation"`.

    `image_size` is needed only for a folder whose images differ in size.

    Example:

    >>> held_out_split("digits"), held_out_split("shapes")
    ('test', 'test')
    """
    return dataset_info(name, image_size=image_size).held_out_split


def real_images(name, image_size, channels=3, split="train", num_examples=None):
    """A split's images as float32 in `[-1, 1]` at `image_size x image_size` (for GANs)."""
    image_size = check_int("image_size", image_size, minimum=1)
    images = load_arrays(name, split, image_size=(image_size, image_size), channels=channels,
                         num_examples=num_examples)["images"]
    if len(images) == 0:
        raise InvalidValueError(f"The {split!r} split of {name!r} holds no images.")
    return to_signed_unit(images)


def dataset_info(name, image_size=None, channels=3, **options):
    """Static facts about a data set: classes, sizes, normalisation constants.

    Args: as for `load_dataset` (`image_size` and `channels` matter for
    the statistics of data sets whose statistics are measured).

    Returns:
        A `keras_nest.data.DatasetInfo`.

    Example:

    >>> info = dataset_info("digits")
    >>> info.num_classes, info.image_size, info.num_examples
    (10, (8, 8), {'train': 1437, 'test': 360})
    """
    source, arg, label = _resolve(name)
    _check_options(label, source, options)
    return source.info(arg, check_image_size(image_size), _channels(source, channels), **options)


def from_arrays(x, y, num_classes=None, *, batch_size=32, training=False, seed=0,
                image_size=None, channels=None, num_examples=None, mean=None, std=None,
                class_names=None, drop_remainder=False):
    """`load_dataset` for numpy arrays: `(x, y)` to normalised, one-hot batches.

    Args:
        x: images `(N, H, W)` or `(N, H, W, C)`, uint8 `0..255` or float in
            `[0, 1]`.
        y: `N` integer labels in `0 .. num_classes - 1`.
        num_classes: the number of classes, an int in `1 .. 1,000,000`;
            default `len(class_names)`, else `max(y) + 1`, which is only
            inferred when every class `0 .. max(y)` occurs in `y` (otherwise
            pass `num_classes` or `class_names`; see `keras_nest.data.arrays`).
        training: shuffle every epoch (default False: keep the order).
        mean, std: normalisation; default: the statistics of `x`. Pass the
            train set's values when `x` is a test set.
        Others: as for `load_dataset` (`channels=None` keeps `x`'s).

    Example:

    >>> x = np.random.default_rng(0).integers(0, 256, (10, 8, 8), dtype=np.uint8)
    >>> ds = from_arrays(x, np.arange(10) % 4, batch_size=4)
    >>> images, labels = next(iter(ds))
    >>> tuple(images.shape), tuple(labels.shape)
    ((4, 8, 8, 1), (4, 4))
    """
    return load_dataset(
        (x, y), split="all", image_size=image_size, batch_size=batch_size, training=training,
        seed=seed, num_examples=num_examples, channels=channels, mean=mean, std=std,
        drop_remainder=drop_remainder, num_classes=num_classes, class_names=class_names,
    )


def _examples(name, split, image_size, num_examples, channels, options, crops=None):
    source, arg, _ = _resolve(name)
    if not hasattr(source, "stream"):  # decoded in memory
        data, info = _load(name, split, image_size, num_examples, channels, options)
        return ArrayExamples(data["images"], data["labels"]), info
    _check_split(source, split, repr(name))
    _check_options(repr(name), source, options)
    channels = _channels(source, channels)
    if num_examples is not None:
        num_examples = check_int("num_examples", num_examples, minimum=1)
    files, size = source.stream(arg, split, check_image_size(image_size), channels, num_examples, **options)
    info = source.info(arg, size, channels, **options)
    return StreamedExamples(files, ImageTransform(size, channels, **(crops or {}))), info


def _check_split(source, split, label):
    if not isinstance(split, str):
        raise InvalidTypeError(f"split must be a split name (a str), got {split!r} ({type(split).__name__}).")
    if source.SPLITS is not None and split not in source.SPLITS:
        raise InvalidValueError(
            f"Unknown split {split!r} for {label}; valid splits: {', '.join(source.SPLITS)}."
        )


def _load(name, split, image_size, num_examples, channels, options, with_info=True):
    source, arg, label = _resolve(name)
    _check_options(label, source, options)
    _check_split(source, split, label)
    size = check_image_size(image_size)
    channels = _channels(source, channels)
    if num_examples is not None:
        num_examples = check_int("num_examples", num_examples, minimum=1)
    data = source.load(arg, split, size, channels, num_examples=num_examples, **options)
    if num_examples is not None:
        data = {k: v[:num_examples] if isinstance(v, np.ndarray) else v for k, v in data.items()}
    info = source.info(arg, size, channels, **options) if with_info else None
    return data, info


def _resolve(name):
    """The source module, its argument and a printable label for `name`."""
    if isinstance(name, (tuple, list)):
        return arrays, name, "array data"
    if isinstance(name, str):
        if name in _NAMED:
            return _NAMED[name], None, repr(name)
        for prefix, source in _PREFIXED.items():
            if name.startswith(prefix) and len(name) > len(prefix):
                return source, name[len(prefix):], repr(name)
    valid = (f"Valid: {', '.join(repr(n) for n in _NAMED)}, 'tfds:NAME' (e.g. 'tfds:cifar10'), "
             "'folder:PATH', or an (images, labels) pair of numpy arrays.")
    if not isinstance(name, str):
        raise InvalidTypeError(f"Unknown dataset {reprlib.repr(name)} ({type(name).__name__}). {valid}")
    raise InvalidValueError(f"Unknown dataset {name!r}. {valid}")


def _check_options(label, source, options):
    unknown = sorted(set(options) - source.OPTIONS)
    if unknown:
        valid = ", ".join(sorted(source.OPTIONS)) or "none"
        raise InvalidTypeError(f"Unknown option(s) {unknown} for {label}; its options: {valid}.")


def _channels(source, channels):
    if channels is None and source is arrays:
        return None
    return check_channels(3 if channels is None else channels)
