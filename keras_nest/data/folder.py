"""`folder:PATH` data sets: one sub-folder of images per class.

Class names are the sorted sub-folder names (hidden ones skipped) and label
`i` is the `i`-th name. Files ending in .png, .jpg, .jpeg, .bmp or .gif are
read (in nested folders too; other files are ignored) and decoded with
`tf.io.decode_image`; unreadable ones are skipped and counted. If `PATH`
has `train/` and `test/` sub-folders, they are the splits; otherwise a file
goes to `test` when a hash of its path relative to `PATH` falls in the
`holdout` fraction (a number in `[0, 1)`, default 0.2), which is stable
when files are added, removed or the folder moves.

The files are listed once per process (again when a class folder changes).
`load_dataset` and training stream them (`keras_nest.data.streaming`):
read, decoded and resized on the fly, never all in memory. `load_arrays`
decodes a split into memory (for small folders), cached by the files'
paths, sizes and modification times. Images are resized bilinearly to
`image_size`; without it they must all share one size. Normalisation uses
the per-channel mean and std of up to `STATS_FILES` train images, evenly
spread over the listing, at the requested size (each at its own size when
none is given).
"""

import functools
import os
import pathlib
import warnings
import zlib

import numpy as np

from keras_nest.data.images import channel_stats, read_image, read_only, resize_images
from keras_nest.data.info import DatasetInfo
from keras_nest.data.streaming import FileList
from keras_nest.errors import InvalidValueError
from keras_nest.validation import check_float

SPLITS = ("train", "test")
OPTIONS = frozenset({"holdout"})
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
STATS_FILES = 1000  # train images the normalisation statistics are measured on


def info(arg, image_size, channels, holdout=0.2):
    root = _root(arg)
    holdout = _check_holdout(holdout)
    class_names, files = file_lists(arg, holdout)
    mean, std, native = _train_stats(root, holdout, _stamp(root), image_size, channels)
    return DatasetInfo(
        name=f"folder:{arg}",
        num_classes=len(class_names),
        class_names=tuple(class_names),
        image_size=native,
        default_image_size=None,
        num_examples={split: len(files[split]) for split in SPLITS},
        channels=channels,
        mean=mean,
        std=std,
    )


def stream(arg, split, image_size, channels, num_examples=None, holdout=0.2):
    """The split's `FileList` and the size to decode to (the native one if `image_size` is None).

    Raises:
        ValueError: `image_size` is None and the images differ in size.
    """
    _, lists = file_lists(arg, holdout)
    files = lists[split]
    if num_examples is not None:
        files = files.subset(np.arange(min(num_examples, len(files))))
    if image_size is None:
        image_size = info(arg, None, channels, holdout).image_size
        if image_size is None:
            raise InvalidValueError(f"Images in {_root(arg)} have different sizes; pass image_size to resize them "
                                    "to one size.")
    return files, tuple(image_size)


def file_lists(arg, holdout=0.2):
    """Class names and a `FileList` per split, listed once (again when a class folder changes).

    Raises:
        ValueError: not a folder, no class sub-folders, no image files, or
            a class folder without image files (named).
    """
    root = _root(arg)
    return _listing(root, _check_holdout(holdout), _stamp(root))


def load(arg, split, image_size, channels, num_examples=None, holdout=0.2):
    root = _root(arg)
    holdout = _check_holdout(holdout)
    class_names, files = _files(root, holdout)
    data = _decoded(root, split, image_size, channels, tuple(class_names), _fingerprint(files))
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


def image_files_in(folder):
    """The image files under `folder` (nested folders too; hidden ones skipped), sorted."""
    return sorted(
        p for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _files(root, holdout):
    """Class names and, per split, a list of `(path, label)` in label-then-path order."""
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
    empty = []
    for label, name in enumerate(class_names):
        if presplit:
            found = {split: image_files_in(per_split[split][name]) if name in per_split[split] else []
                     for split in SPLITS}
            for split in SPLITS:
                files[split] += [(p, label) for p in found[split]]
            if not found["train"]:
                empty.append(name)
        else:
            found = image_files_in(classes[name])
            for path in found:
                bucket = zlib.crc32(path.relative_to(root).as_posix().encode()) % 10_000
                files["test" if bucket < holdout * 10_000 else "train"].append((path, label))
            if not found:
                empty.append(name)
    if not any(files.values()):
        raise InvalidValueError(
            f"No image files ({', '.join(IMAGE_EXTENSIONS)}) in the class folders of {root}."
        )
    if empty:
        raise InvalidValueError(
            f"Class folder(s) {empty} of {root} hold no training image files ({', '.join(IMAGE_EXTENSIONS)}): "
            "add images or remove the folder(s)."
        )
    return class_names, files


def _stamp(root):
    """Modification times of the folder and its (split and) class folders: what adding a file changes."""
    folders = [root] + [p for p in root.iterdir() if p.is_dir()]
    folders += [c for split in SPLITS if (root / split).is_dir() for c in (root / split).iterdir() if c.is_dir()]
    return tuple(sorted((str(p), os.stat(p).st_mtime_ns) for p in folders))


@functools.lru_cache(maxsize=8)
def _listing(root, holdout, stamp):
    class_names, files = _files(root, holdout)
    lists = {split: FileList(tuple(str(p) for p, _ in pairs), np.array([lab for _, lab in pairs], np.int64),
                             root=str(root)) for split, pairs in files.items()}
    return tuple(class_names), lists


@functools.lru_cache(maxsize=8)
def _train_stats(root, holdout, stamp, image_size, channels):
    """`(mean, std, native size or None)` from up to `STATS_FILES` train images spread over the listing.

    Accumulated image by image (at `image_size`, else at each image's own
    size), so memory stays that of one image.
    """
    _, lists = _listing(root, holdout, stamp)
    train = lists["train"]
    picked = np.unique(np.linspace(0, len(train) - 1, min(len(train), STATS_FILES)).round().astype(np.int64))
    sizes = set()

    def readable():
        for path in (train.paths[i] for i in picked):
            try:
                image = read_image(path, channels)
            except ValueError:
                continue
            sizes.add(image.shape[:2])
            yield resize_images(image[None], image_size)

    try:
        mean, std = channel_stats(readable())
    except InvalidValueError:
        raise InvalidValueError(f"None of the {len(picked)} train image files sampled in {root} is readable.") from None
    return mean, std, next(iter(sizes)) if len(sizes) == 1 else None


def _fingerprint(files):
    """What the decoded cache depends on: every file's split, path, label, size and mtime."""
    stamp = []
    for split in SPLITS:
        for path, label in files[split]:
            stat = path.stat()
            stamp.append((split, str(path), label, stat.st_size, stat.st_mtime_ns))
    return tuple(stamp)


@functools.lru_cache(maxsize=8)
def _decoded(root, split, image_size, channels, class_names, fingerprint):
    files = [(pathlib.Path(path), label) for where, path, label, _, _ in fingerprint if where == split]
    images, labels, skipped, sizes = [], [], [], set()
    for path, label in files:
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
            f"({len(files)} image file(s) found, {len(skipped)} unreadable)."
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
