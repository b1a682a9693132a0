"""In-memory data sets: an `(images, labels)` pair of numpy arrays.

Images are `(N, H, W)` or `(N, H, W, C)`, uint8 in `0..255` or float in
`[0, 1]`; labels are `N` integer class indices below `num_classes`.
Normalisation uses the per-channel mean and std of the given images unless
`mean` / `std` are passed, which is what a test set should do with its
train set's values.

The number of classes is `num_classes` if given, else `len(class_names)`,
else inferred as `max(labels) + 1`, but only when every class
`0 .. max(labels)` occurs in the labels. Labels that leave a class out (a
test subset, one stray label of `10**9`, ids that are not indices) are
refused with a request to pass `num_classes=` or `class_names=`, instead of
inventing classes that never occur. An explicit count is capped at
`keras_nest.data.labels.MAX_CLASSES` (one million); see
`keras_nest.data.labels` for the reasons.
"""

from keras_nest.data.images import as_image_batch, channel_stats, convert_channels, resize_images
from keras_nest.data.info import DatasetInfo
from keras_nest.data.labels import check_class_names, check_labels, check_num_classes
from keras_nest.errors import InvalidValueError

SPLITS = None  # the arrays are one split; the name only sets the training default
OPTIONS = frozenset({"num_classes", "class_names"})


def _prepare(arg, image_size, channels, num_classes, class_names):
    if isinstance(arg, (str, bytes)) or not hasattr(arg, "__len__") or len(arg) != 2:
        raise InvalidValueError("Array data must be an (images, labels) pair.")
    x, y = arg
    if num_classes is not None:
        num_classes = check_num_classes(num_classes)
    class_names = check_class_names(class_names, num_classes)
    if num_classes is None and class_names is not None:
        num_classes = len(class_names)
    images = as_image_batch(x)
    labels, num_classes = check_labels(y, num_classes, num_images=len(images))
    if class_names is None:
        class_names = [str(i) for i in range(num_classes)]
    native = tuple(images.shape[1:3])
    if channels is not None:
        images = convert_channels(images, channels)
    images = resize_images(images, image_size)
    return {"images": images, "labels": labels, "class_names": list(class_names)}, native


def info(arg, image_size, channels, num_classes=None, class_names=None):
    data, native = _prepare(arg, image_size, channels, num_classes, class_names)
    mean, std = channel_stats(data["images"])
    return DatasetInfo(
        name="arrays",
        num_classes=len(data["class_names"]),
        class_names=tuple(data["class_names"]),
        image_size=native,
        default_image_size=None,
        num_examples={"all": len(data["labels"])},
        channels=data["images"].shape[-1],
        mean=mean,
        std=std,
    )


def load(arg, split, image_size, channels, num_examples=None, num_classes=None,
         class_names=None):
    return _prepare(arg, image_size, channels, num_classes, class_names)[0]
