"""`folder:PATH` data sets: one sub-folder of images per class.

Class names are the sorted sub-folder names (hidden ones skipped) and label
`i` is the `i`-th name. Files ending in .png, .jpg, .jpeg, .bmp or .gif are
read (in nested folders too; other files are ignored) and decoded with
`tf.io.decode_image`; unreadable ones are skipped and reported in one
warning. If `PATH` has `train/` and `test/` sub-folders, they are the
splits; otherwise a file goes to `test` when a hash of its path relative to
`PATH` falls in the `holdout` fraction (a number in `[0, 1)`, default 0.2),
which is stable when files are added, removed or the folder moves.

Images are resized bilinearly to `image_size`; without it they must all
share one size. Normalisation uses the per-channel mean and std of the train
split at the requested size. Decoded splits are cached in memory, keyed by
the files' paths, sizes and modification times.
"""

import functools
import pathlib
import warnings
import zlib

import numpy as np

from keras_nest.data.images import channel_stats, read_image, read_only, resize_images
from keras_nest.data.info import DatasetInfo
from keras_nest.errors import InvalidValueError
from keras_nest.validation import check_float

SPLITS = ("train", "test")
OPTIONS = frozenset({"holdout"})
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def info(arg, image_size, channels, holdout=0.2):
    root = _root(arg)
    holdout = _check_holdout(holdout)
    class_names, files = _files(root, holdout)
    train = _decoded(root, "train", image_size, channels, holdout, _fingerprint(root, files))
    mean, std = channel_stats(train["images"])
    return DatasetInfo(
        name=f"folder:{arg}",
        num_classes=len(class_names),
        class_names=tuple(class_names),
        image_size=train["native_size"],
        default_image_size=None,
        num_examples={split: len(files[split]) for split in SPLITS},
        channels=channels,
        mean=mean,
        std=std,
    )


def load(arg, split, image_size, channels, num_examples=None, holdout=0.2):
    root = _root(arg)
    holdout = _check_holdout(holdout)
    _, files = _files(root, holdout)
    data = _decoded(root, split, image_size, channels, holdout, _fingerprint(root, files))
    if data["skipped"]:
        shown = ", ".join(data["skipped"][:3]) + (", ..." if len(data["skipped"]) > 3 else "")
        warnings.warn(
            f"Skipped {len(data['skipped'])} unreadable image file(s) in the {split!r} split "
            f"of {root}: {shown}",
            stacklevel=4,  # the caller of load_dataset / load_arrays
        )
    return {key: data[key] for key in ("images", "labels", "class_names")}


def _check_holdout(holdout):
    return check_float("holdout", holdout, minimum=0.0, maximum=1.0, max_inclusive=False)


def _root(arg):
    root = pathlib.Path(arg).expanduser()
    if not root.is_dir():
        raise InvalidValueError(f"folder:{arg} is not a directory.")
    return root.resolve()


def _class_dirs(folder):
    return {p.name: p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}


def _image_files(folder):
    return sorted(
        p for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _files(root, holdout):
    """Class names and, per split, a list of `(path, label)` in label-then-path order."""
    holdout = _check_holdout(holdout)
    split_dirs = {s: root / s for s in SPLITS}
    presplit = all(d.is_dir() for d in split_dirs.values())
    if presplit:
        per_split = {s: _class_dirs(d) for s, d in split_dirs.items()}
        class_names = sorted(set().union(*per_split.values()))
    else:
        classes = _class_dirs(root)
        class_names = sorted(classes)
    if not class_names:
        raise InvalidValueError(
            f"No class sub-folders in {root}: expected one folder of images per class "
            "(optionally inside train/ and test/)."
        )
    files = {s: [] for s in SPLITS}
    for label, name in enumerate(class_names):
        if presplit:
            for split in SPLITS:
                if name in per_split[split]:
                    files[split] += [(p, label) for p in _image_files(per_split[split][name])]
        else:
            for path in _image_files(classes[name]):
                bucket = zlib.crc32(path.relative_to(root).as_posix().encode()) % 10_000
                files["test" if bucket < holdout * 10_000 else "train"].append((path, label))
    if not any(files.values()):
        raise InvalidValueError(
            f"No image files ({', '.join(IMAGE_EXTENSIONS)}) in the class folders of {root}."
        )
    return class_names, files


def _fingerprint(root, files):
    """What the decoded cache depends on: every file's path, size and mtime."""
    stamp = []
    for split in SPLITS:
        for path, label in files[split]:
            stat = path.stat()
            stamp.append((split, str(path), label, stat.st_size, stat.st_mtime_ns))
    return tuple(stamp)


@functools.lru_cache(maxsize=8)
def _decoded(root, split, image_size, channels, holdout, fingerprint):
    class_names, files = _files(root, holdout)
    images, labels, skipped, sizes = [], [], [], set()
    for path, label in files[split]:
        try:
            image = read_image(path, channels)
        except ValueError:
            skipped.append(path.relative_to(root).as_posix())
            continue
        sizes.add(image.shape[:2])
        if image_size is not None:
            image = resize_images(image[None], image_size)[0]
        images.append(image)
        labels.append(label)
    if not images:
        raise InvalidValueError(
            f"No readable images in the {split!r} split of {root} "
            f"({len(files[split])} image file(s) found, {len(skipped)} unreadable)."
        )
    if image_size is None and len(sizes) > 1:
        examples = ", ".join(f"{h}x{w}" for h, w in sorted(sizes)[:3])
        raise InvalidValueError(
            f"Images in {root} have different sizes ({examples}, ...); pass image_size to "
            "resize them to one size."
        )
    return read_only({
        "images": np.stack(images),
        "labels": np.array(labels, np.int64),
        "class_names": list(class_names),
        "native_size": next(iter(sizes)) if len(sizes) == 1 else None,
        "skipped": skipped,
    })
